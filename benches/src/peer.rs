//! The interface every compared MLS implementation offers to the harness.
//!
//! A [`Peer`] is a thin adapter over one library: each method is one protocol
//! operation, with everything the harness must not time (key generation for
//! clients that merely get added, copying a member state) split into separate
//! methods. The scenario in [`crate::scenario`] decides what is timed; an
//! adapter never reads a clock.
//!
//! Messages cross this interface as encoded bytes (`MLSMessage`, RFC 9420 §6),
//! as they would cross a network: creating a commit includes encoding it, and
//! processing one includes decoding it. All adapters use cipher suite 1
//! (`MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519`), basic credentials,
//! handshake messages as `PublicMessage`, the ratchet tree delivered out of
//! band (not in a GroupInfo extension) and an UpdatePath in every commit,
//! including add-only commits (RFC 9420 §12.4 leaves it optional there; one
//! rule for all keeps the figures comparable).

use std::error::Error;

/// What an adapter returns when the library refuses an operation.
pub type PeerError = Box<dyn Error + Send + Sync>;

/// Result of a [`Peer`] operation.
pub type PeerResult<T> = Result<T, PeerError>;

/// One MLS implementation, seen by the comparison harness.
///
/// Leaf indices follow RFC 9420 §7.7: the creator is leaf 0 and the `i`-th
/// key package given to [`Peer::build`] lands in leaf `i + 1`.
pub trait Peer {
    /// A client that is not yet in a group: its credential, signature key
    /// pair and the private keys of the one key package it published.
    type Client;
    /// One member's complete state in one group (including whatever the
    /// library keeps next to the group object, e.g. a storage provider).
    type Member;
    /// A delivery service's view of one group: the public state it follows
    /// from handshake messages, with no member's secrets (RFC 9420 §16.1).
    type Server;

    /// Name used in the output (`"openmls"`).
    fn name(&self) -> &'static str;

    /// Untimed. A new client whose identity is `identity` (unique within the
    /// run), and its encoded key package (`MLSMessage`, §10).
    fn client(&mut self, identity: u32) -> PeerResult<(Self::Client, Vec<u8>)>;

    /// Timed as `build`: `creator` creates a group and commits adding every
    /// key package in one commit (with a path), merges it, and encodes the
    /// Welcome (`MLSMessage`, §12.4.3.1), which is returned.
    fn build(&mut self, creator: Self::Client, key_packages: &[Vec<u8>]) -> PeerResult<(Self::Member, Vec<u8>)>;

    /// Untimed. Groups created from now on send the ratchet tree in their
    /// Welcomes (the `ratchet_tree` extension of the GroupInfo, §12.4.3.3)
    /// rather than out of band; clients made from now on may be needed to
    /// create such groups.
    fn tree_in_welcome(&mut self);

    /// Untimed. The encoded ratchet tree (§12.4.3.3) of `member`'s group,
    /// as a joiner receives it out of band.
    fn ratchet_tree(&mut self, member: &Self::Member) -> PeerResult<Vec<u8>>;

    /// Timed as `join`: `client` processes `welcome` with `ratchet_tree`,
    /// with every check the library makes by default on a Welcome and a tree.
    fn join(&mut self, client: Self::Client, welcome: &[u8], ratchet_tree: &[u8]) -> PeerResult<Self::Member>;

    /// Timed as `commit`: an empty commit with a path (a self-update),
    /// created, merged by `member`, and returned encoded.
    fn commit_update(&mut self, member: &mut Self::Member) -> PeerResult<Vec<u8>>;

    /// Timed as `add_one`: a commit adding the member of `key_package` (its
    /// Welcome is built, encoded and discarded), merged, returned encoded.
    fn commit_add(&mut self, member: &mut Self::Member, key_package: &[u8]) -> PeerResult<Vec<u8>>;

    /// Timed as `remove_one`: a commit removing the member at `leaf`, merged,
    /// returned encoded.
    fn commit_remove(&mut self, member: &mut Self::Member, leaf: u32) -> PeerResult<Vec<u8>>;

    /// Timed as `process*`: `member` decodes, validates and merges `commit`.
    fn process(&mut self, member: &mut Self::Member, commit: &[u8]) -> PeerResult<()>;

    /// Untimed. A delivery service starts following `member`'s group at its
    /// current epoch, from the GroupInfo the member signs (§12.4.3) and the
    /// ratchet tree out of band, validated as the library validates them.
    fn observe(&mut self, member: &Self::Member) -> PeerResult<Self::Server>;

    /// Untimed. `creator` creates a group, a delivery service starts
    /// following it ([`Peer::observe`]), and the creator commits adding
    /// every key package in one commit with a path, as in [`Peer::build`];
    /// returns the service's view (of the epoch before the commit) and the
    /// encoded commit.
    fn build_commit(&mut self, creator: Self::Client, key_packages: &[Vec<u8>]) -> PeerResult<(Self::Server, Vec<u8>)>;

    /// Timed as `server_*`: the delivery service decodes `commit`, validates
    /// it as far as a non-member can (§12.4.2: signature, proposals, leaf
    /// nodes and KeyPackages, the UpdatePath's parent hashes and the tree
    /// hash; not the confirmation tag, which needs the epoch's secrets) and
    /// applies it.
    fn server_process(&mut self, server: &mut Self::Server, commit: &[u8]) -> PeerResult<()>;

    /// Untimed. An independent copy of `server`, as [`Peer::fork`].
    fn fork_server(&mut self, server: &Self::Server) -> PeerResult<Self::Server>;

    /// Untimed. An independent copy of `member`, so that one state can serve
    /// several measured operations that each advance the epoch.
    fn fork(&mut self, member: &Self::Member) -> PeerResult<Self::Member>;

    /// Untimed. A copy of `client` that can join the same Welcome again
    /// (for repeated `join` samples in one worker), where the library
    /// allows it; `None` by default (the key package's private keys are
    /// consumed by a join).
    fn rejoin(&self, client: &Self::Client) -> Option<Self::Client> {
        let _ = client;
        None
    }

    /// Untimed, for `annotate_commit` (Partial MLS, draft-ietf-mls-partial;
    /// throng only): a server following `member`'s group, in the epoch
    /// `commit` was made in, validates and merges `commit`, keeping what
    /// the annotations take from the tree before it. Unsupported by default.
    fn prepare_annotations(&mut self, member: &Self::Member, commit: &[u8]) -> PeerResult<()> {
        let _ = (member, commit);
        Err("Partial MLS annotations are not supported".into())
    }

    /// Timed as `annotate_commit`: the server prepared by
    /// [`Peer::prepare_annotations`] makes one AnnotatedCommit for each leaf
    /// of `recipients`; returns how many it made.
    fn annotate_commit(&mut self, recipients: &[u32]) -> PeerResult<usize> {
        let _ = recipients;
        Err("Partial MLS annotations are not supported".into())
    }

    /// Untimed, for `join_partial` (Partial MLS; throng only): a copy of
    /// `creator` adds the member of `key_package` alone (an attendee joining
    /// the webinar) and makes its AnnotatedWelcome from its view of the
    /// tree. Returns the encoded AnnotatedWelcome and the epoch
    /// authenticator the joiner must reach.
    fn add_for_partial_join(&mut self, creator: &Self::Member, key_package: &[u8]) -> PeerResult<(Vec<u8>, Vec<u8>)> {
        let _ = (creator, key_package);
        Err("Partial MLS is not supported".into())
    }

    /// Timed as `join_partial`: `client` joins as a partial member from the
    /// encoded AnnotatedWelcome; the adapter keeps the partial member (its
    /// heap is `state_bytes_partial`) and returns its epoch authenticator.
    fn join_partial(&mut self, client: Self::Client, annotated_welcome: &[u8]) -> PeerResult<Vec<u8>> {
        let _ = (client, annotated_welcome);
        Err("Partial MLS is not supported".into())
    }

    /// Untimed. Drops the partial member [`Peer::join_partial`] kept.
    fn drop_partial(&mut self) {}

    /// Untimed, for `process_partial`, after [`Peer::prepare_annotations`]:
    /// `member` (in the epoch before the prepared commit) becomes a partial
    /// member of its own copy, and the prepared server annotates the commit
    /// for it.
    fn prepare_partial_process(&mut self, member: &Self::Member) -> PeerResult<()> {
        let _ = member;
        Err("Partial MLS is not supported".into())
    }

    /// Timed as `process_partial`: the prepared partial member processes
    /// its AnnotatedCommit; returns its new epoch authenticator.
    fn process_partial(&mut self) -> PeerResult<Vec<u8>> {
        Err("Partial MLS is not supported".into())
    }

    /// Untimed. `member`'s own leaf index.
    fn leaf_index(&self, member: &Self::Member) -> u32;

    /// Untimed. The epoch authenticator (§8.7) of `member`'s current epoch;
    /// the harness compares it across members to check that each operation
    /// really took effect.
    fn epoch_authenticator(&self, member: &Self::Member) -> PeerResult<Vec<u8>>;
}

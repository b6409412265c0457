//! A member's [`Group`] as exported state (format: the parent module).

use std::collections::VecDeque;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::codec::{Encode, Reader, write_bytes};
use crate::crypto::{
    CryptoProvider, HpkeKeyPair, HpkePrivateKey, HpkePublicKey, Secret, SignatureKeyPair, SignaturePrivateKey,
    SignaturePublicKey, Suite,
};
use crate::error::{Error, StateError};
use crate::group::{Group, GroupConfig, Identity, PskStore};
use crate::messages::{Credential, GroupContext, Proposal, ProposalRef, ProtocolVersion, ReInit, Sender};
use crate::public_group::{CachedProposal, ProposalCache, PublicGroup, PublicGroupConfig};
use crate::schedule::transcript::{interim_transcript_hash, verify_confirmation_tag};
use crate::schedule::{EpochSecrets, TranscriptHashes};
use crate::secret_tree::SecretTree;
use crate::tree::{RatchetTree, TreeView};
use crate::treekem::PrivateTree;

use super::{HEADER_LEN, StateKind, open, read, seal, write_header};

/// The part of a group's state that a member and a server share: the
/// GroupContext, the tree, the transcript and the cached proposals.
pub(crate) struct PublicPart {
    pub(crate) context: GroupContext,
    pub(crate) tree: RatchetTree,
    pub(crate) transcript: TranscriptHashes,
    pub(crate) confirmation_tag: Vec<u8>,
    pub(crate) proposals: Vec<CachedProposal>,
    pub(crate) reinit: Option<ReInit>,
}

impl PublicPart {
    /// The public group these parts make.
    pub(crate) fn into_group(self, provider: Arc<dyn CryptoProvider>, config: PublicGroupConfig) -> PublicGroup {
        let mut group =
            PublicGroup::from_parts(provider, config, self.context, self.tree, self.transcript, self.confirmation_tag);
        group.proposals = ProposalCache::restore(self.proposals);
        group.reinit = self.reinit;
        group
    }
}

/// Writes the public part (the tree straight from its node arrays).
pub(crate) fn encode_public_part(out: &mut Vec<u8>, group: &PublicGroup) {
    group.context.encode(out);
    group.tree.encode_state(out);
    write_bytes(out, group.transcript.confirmed());
    write_bytes(out, group.transcript.interim());
    write_bytes(out, &group.confirmation_tag);
    (group.proposals.len() as u32).encode(out);
    for p in group.proposals.iter() {
        p.reference.encode(out);
        p.proposal.encode(out);
        p.sender.encode(out);
    }
    match &group.reinit {
        None => out.push(0),
        Some(r) => {
            out.push(1);
            r.encode(out);
        }
    }
}

/// Reads the public part and checks what it can on its own: the suite,
/// the tree hash against the GroupContext, the transcript hashes.
pub(crate) fn decode_public_part(suite: &Suite<'_>, r: &mut Reader<'_>) -> Result<PublicPart, StateError> {
    let context: GroupContext = read(r)?;
    if context.cipher_suite != suite.cipher_suite() || context.version != ProtocolVersion::MLS10 {
        return Err(StateError::Inconsistent("GroupContext version or cipher suite differs from the header's"));
    }
    let tree = RatchetTree::decode_state(suite, r)?;
    if tree.root_hash() != context.tree_hash.as_slice() {
        return Err(StateError::Inconsistent(
            "recomputed tree hash differs from the GroupContext's tree_hash (RFC 9420 §7.8)",
        ));
    }
    let confirmed: Vec<u8> = read(r)?;
    let interim: Vec<u8> = read(r)?;
    let confirmation_tag: Vec<u8> = read(r)?;
    if confirmed != context.confirmed_transcript_hash
        || interim != interim_transcript_hash(suite, &confirmed, &confirmation_tag)
    {
        return Err(StateError::Inconsistent(
            "transcript hashes do not follow from the GroupContext and tag (RFC 9420 §8.2)",
        ));
    }
    let count = r.read_count(4).map_err(StateError::Corrupt)?;
    let mut proposals = Vec::with_capacity(count);
    for _ in 0..count {
        let reference: ProposalRef = read(r)?;
        let proposal: Proposal = read(r)?;
        let sender: Sender = read(r)?;
        proposals.push(CachedProposal { reference, proposal, sender });
    }
    let reinit: Option<ReInit> = read(r)?;
    Ok(PublicPart {
        context,
        tree,
        transcript: TranscriptHashes::from_parts(confirmed, interim),
        confirmation_tag,
        proposals,
        reinit,
    })
}

fn inconsistent(why: &'static str) -> Error {
    StateError::Inconsistent(why).into()
}

impl Group {
    /// Exports this member's complete state as versioned bytes (format and
    /// security notes: [`crate::state`]). **The bytes are secret**: store
    /// them encrypted at rest. Linear in the tree; the tree is written
    /// from its node arrays, not cloned. [`Group::import`] reads it back.
    pub fn export(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let suite = self.suite()?;
        let secret_bound = self.secret_part_bound() + suite.hash_len();
        let mut out = Vec::with_capacity(HEADER_LEN + 1024 + self.public.tree.state_len_hint() + secret_bound);
        write_header(&mut out, StateKind::Member, &suite);
        encode_public_part(&mut out, &self.public);
        out.push(u8::from(self.active));
        self.identity.credential.encode(&mut out);
        self.identity.signer.public.encode(&mut out);

        // Everything below is secret. Reserve it all now (a no-op when the
        // estimate above held): a reallocation would copy secrets into
        // memory that is freed without zeroizing.
        out.reserve_exact(secret_bound);
        let mut out = Zeroizing::new(out);
        let capacity = out.capacity();

        self.identity.signer.private.0.encode(&mut out);
        self.private.encode_state(&mut out);
        self.epoch.encode_state(&mut out);
        self.secret_tree.encode_state(&mut out);
        (self.resumption_psks.len() as u32).encode(&mut out);
        for (epoch, psk) in &self.resumption_psks {
            epoch.encode(&mut out);
            psk.encode(&mut out);
        }
        let mut psks: Vec<_> = self.psks.entries().collect();
        psks.sort_unstable_by(|a, b| a.0.cmp(b.0));
        (psks.len() as u32).encode(&mut out);
        for (id, psk) in psks {
            write_bytes(&mut out, id);
            psk.encode(&mut out);
        }
        (self.pending_leaf_keys.len() as u32).encode(&mut out);
        for pair in &self.pending_leaf_keys {
            pair.private.0.encode(&mut out);
            pair.public.encode(&mut out);
        }
        seal(&mut out, &suite);
        debug_assert_eq!(out.capacity(), capacity, "the secret part outgrew its reservation");
        Ok(out)
    }

    /// Upper bound of the bytes of the secret part of [`Group::export`].
    pub(crate) fn secret_part_bound(&self) -> usize {
        4 + self.identity.signer.private.0.len()
            + self.private.state_len_bound()
            + self.epoch.state_len_bound()
            + self.secret_tree.state_len_bound()
            + 4
            + self.resumption_psks.iter().map(|(_, s)| 12 + s.len()).sum::<usize>()
            + 4
            + self.psks.entries().map(|(id, s)| 8 + id.len() + s.len()).sum::<usize>()
            + 4
            + self.pending_leaf_keys.iter().map(|p| 8 + p.private.0.len() + p.public.as_bytes().len()).sum::<usize>()
    }

    /// Imports state written by [`Group::export`], with the provider and
    /// configuration to run it with (neither is part of the state). Bytes
    /// of another format version, kind or damaged bytes are a
    /// [`StateError`]; nothing here panics on any input.
    pub fn import(bytes: &[u8], provider: Arc<dyn CryptoProvider>, config: GroupConfig) -> Result<Self, Error> {
        let pool = config.clone();
        pool.on_pool(|| import_member(bytes, provider, config))
    }
}

fn import_member(bytes: &[u8], provider: Arc<dyn CryptoProvider>, config: GroupConfig) -> Result<Group, Error> {
    let (suite, mut r) = open(bytes, StateKind::Member, &*provider)?;
    let r = &mut r;
    let part = decode_public_part(&suite, r)?;
    let active = match read::<u8>(r)? {
        0 => false,
        1 => true,
        v => {
            return Err(StateError::Corrupt(crate::codec::DecodeError::InvalidValue {
                field: "active",
                value: u64::from(v),
            })
            .into());
        }
    };
    let credential: Credential = read(r)?;
    let signature_public: SignaturePublicKey = read(r)?;

    let signature_private = SignaturePrivateKey(read::<Secret>(r)?);
    let private = PrivateTree::decode_state(r)?;
    let epoch = EpochSecrets::decode_state(&suite, r)?;
    let secret_tree = SecretTree::decode_state(&suite, r)?;
    let count = r.read_count(9).map_err(StateError::Corrupt)?;
    let mut resumption_psks = VecDeque::with_capacity(count);
    for _ in 0..count {
        let epoch: u64 = read(r)?;
        let psk: Secret = read(r)?;
        if psk.len() != suite.hash_len() || epoch >= part.context.epoch {
            return Err(inconsistent("a resumption PSK is not KDF.Nh bytes of a past epoch"));
        }
        resumption_psks.push_back((epoch, psk));
    }
    let count = r.read_count(2).map_err(StateError::Corrupt)?;
    let mut psks = PskStore::default();
    let mut last_id: Option<Vec<u8>> = None;
    for _ in 0..count {
        let id: Vec<u8> = read(r)?;
        let psk: Secret = read(r)?;
        // Written in ascending id order, which also rules out duplicates.
        if last_id.as_ref().is_some_and(|last| *last >= id) {
            return Err(inconsistent("external PSK ids are not ascending"));
        }
        last_id = Some(id.clone());
        psks.insert(id, psk);
    }
    let count = r.read_count(2).map_err(StateError::Corrupt)?;
    let mut pending_leaf_keys = Vec::with_capacity(count);
    for _ in 0..count {
        let private = HpkePrivateKey(read::<Secret>(r)?);
        let public: HpkePublicKey = read(r)?;
        pending_leaf_keys.push(HpkeKeyPair { private, public });
    }
    if !r.is_empty() {
        return Err(StateError::Corrupt(crate::codec::DecodeError::TrailingBytes(r.remaining())).into());
    }

    // Cross-checks between the parts, cheapest first.
    verify_confirmation_tag(
        &suite,
        epoch.confirmation_key(),
        &part.context.confirmed_transcript_hash,
        &part.confirmation_tag,
    )
    .map_err(|_| inconsistent("confirmation tag does not match the epoch's confirmation_key (RFC 9420 §6.1)"))?;
    let tree = &part.tree;
    if secret_tree.n_leaves() != tree.leaf_count() {
        return Err(inconsistent("secret tree and ratchet tree differ in width (RFC 9420 §9)"));
    }
    let own = private.own_leaf;
    if own.0 >= tree.leaf_count() || !private.is_consistent(tree) {
        return Err(inconsistent("private keys do not match the tree's public keys (RFC 9420 §4.2)"));
    }
    if active {
        let leaf = tree.leaf(own).ok_or_else(|| inconsistent("an active member's own leaf is blank"))?;
        if leaf.signature_key() != signature_public.as_bytes()
            || leaf.credential != credential
            || private.key(own.node()).is_none()
        {
            return Err(inconsistent("own leaf does not carry this member's keys"));
        }
    }
    // The signature key pair must match: a damaged private key would only
    // show at the next signature, as the peers' rejection.
    let probe = suite
        .sign_with_label(&signature_private, "state probe", b"")
        .map_err(|_| inconsistent("signature private key is unusable"))?;
    suite
        .verify_with_label(signature_public.as_bytes(), "state probe", b"", &probe)
        .map_err(|_| inconsistent("signature private key does not match its public key"))?;

    let identity =
        Identity { credential, signer: SignatureKeyPair { private: signature_private, public: signature_public } };
    let public = part.into_group(provider, config.public());
    let mut group = Group::from_public(public, config, private, identity, epoch, secret_tree, psks);
    group.resumption_psks = resumption_psks;
    group.active = active;
    group.pending_leaf_keys = pending_leaf_keys;
    Ok(group)
}

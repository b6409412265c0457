//! The adapter layer: what every library is configured with ([`Setup`]),
//! what the scenarios ask of it ([`Change`], [`Propose`]) and the two
//! traits each library implements, [`Client`] before joining and
//! [`Member`] after. Members only ever exchange `MLSMessage` bytes.

use std::fmt::{self, Debug, Display};

/// How members send proposals and commits (RFC 9420 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handshake {
    Public,
    Private,
}

/// How joiners get the ratchet tree (RFC 9420 §12.4.3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TreeDelivery {
    /// In the `ratchet_tree` extension of the (Welcome's) GroupInfo.
    InGroupInfo,
    /// Out of band, from a member; GroupInfos go without it.
    OutOfBand,
}

/// What every client of one scenario run is configured with.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    pub suite: u16,
    pub handshake: Handshake,
    pub tree: TreeDelivery,
}

impl Setup {
    /// Whether GroupInfos (of Welcomes and for external joins) carry the
    /// ratchet tree.
    pub fn tree_in_group_info(self) -> bool {
        self.tree == TreeDelivery::InGroupInfo
    }
}

/// `authenticated_data` of every application message (RFC 9420 §6.3: it is
/// part of the AEAD's associated data, so receivers decrypt only if they
/// frame it the same way).
pub const APPLICATION_AAD: &[u8] = b"interop aad";

/// An external PSK every client holds (RFC 9420 §8.4: agreed out of band).
pub const EXTERNAL_PSK_ID: &[u8] = b"interop psk";
pub const EXTERNAL_PSK: [u8; 32] = [0x5a; 32];

/// What one commit does.
#[derive(Clone, Copy)]
pub enum Change<'a> {
    /// A commit with an UpdatePath that refreshes the committer's leaf
    /// (and commits whatever proposals are pending).
    Update,
    /// Adds the members whose KeyPackages (MLSMessage bytes) are given, in a
    /// commit with an UpdatePath where the library does so by default
    /// (throng, OpenMLS; mls-rs sends none, RFC 9420 §12.4 does not require it).
    Add(&'a [Vec<u8>]),
    /// Adds members in a commit without an UpdatePath.
    AddWithoutPath(&'a [Vec<u8>]),
    /// Removes the members at these leaves.
    Remove(&'a [u32]),
    /// Removes and adds in one commit (RFC 9420 §12.3: removes are applied
    /// first, so the new members may take the freed leaves).
    Replace(&'a [u32], &'a [Vec<u8>]),
    /// Commits the pending proposals by reference.
    Pending,
    /// Injects the external PSK [`EXTERNAL_PSK_ID`] (RFC 9420 §8.4, §12.1.4)
    /// and adds these members, whose Welcome then names the PSK.
    Psk(&'a [Vec<u8>]),
}

impl<'a> Change<'a> {
    /// Whether the commit carries a PreSharedKey proposal for the external PSK.
    pub fn injects_psk(self) -> bool {
        matches!(self, Change::Psk(_))
    }

    /// The leaves whose members the commit removes by value.
    pub fn removed(self) -> &'a [u32] {
        match self {
            Change::Remove(leaves) | Change::Replace(leaves, _) => leaves,
            _ => &[],
        }
    }

    /// The KeyPackages of the members the commit adds by value.
    pub fn added(self) -> &'a [Vec<u8>] {
        match self {
            Change::Add(kps) | Change::AddWithoutPath(kps) | Change::Replace(_, kps) | Change::Psk(kps) => kps,
            Change::Update | Change::Remove(_) | Change::Pending => &[],
        }
    }
}

impl Display for Change<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Update => write!(f, "Update"),
            Change::Add(kps) => write!(f, "Add of {} members", kps.len()),
            Change::AddWithoutPath(kps) => write!(f, "Add of {} members without path", kps.len()),
            Change::Remove(leaves) => write!(f, "Remove of leaves {leaves:?}"),
            Change::Replace(leaves, kps) => write!(f, "Remove of leaves {leaves:?} and Add of {} members", kps.len()),
            Change::Pending => write!(f, "commit of pending proposals"),
            Change::Psk(kps) => write!(f, "PreSharedKey and Add of {} members", kps.len()),
        }
    }
}

/// A proposal sent on its own, to be committed by reference (§12.1).
#[derive(Clone, Copy, Debug)]
pub enum Propose<'a> {
    /// Replace the proposer's leaf with fresh keys.
    Update,
    /// Add the member with this KeyPackage (MLSMessage bytes).
    Add(&'a [u8]),
    /// Remove the member at this leaf.
    Remove(u32),
    /// Remove the proposer (draft-ietf-mls-extensions, SelfRemove), sent as
    /// a PublicMessage whatever the handshake format.
    SelfRemove,
}

/// A commit as it goes on the wire.
pub struct Committed {
    pub commit: Vec<u8>,
    pub welcome: Option<Vec<u8>>,
}

/// What a member made of a message it received.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    Application(Vec<u8>),
    Proposal,
    /// A commit, merged: the member is in the next epoch.
    Commit,
    /// A commit that removed this member.
    Removed,
}

/// Application data received with `aad` as its `authenticated_data`, which
/// must be [`APPLICATION_AAD`] (where the library shows it).
pub fn application(data: Vec<u8>, aad: &[u8]) -> Outcome<Received> {
    if aad != APPLICATION_AAD {
        return Err(Failure::new(format!("authenticated_data {aad:?}, want {APPLICATION_AAD:?}")));
    }
    Ok(Received::Application(data))
}

/// Why a library refused something. Any library error converts into it with
/// `?` (which is why it is not `Debug` itself).
pub struct Failure(String);

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl<E: Debug> From<E> for Failure {
    fn from(e: E) -> Self {
        Self(format!("{e:?}"))
    }
}

impl Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub type Outcome<T> = Result<T, Failure>;

/// The value, or a panic that says what failed and why.
#[track_caller]
pub fn must<T>(outcome: Outcome<T>, what: impl Display) -> T {
    outcome.unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// A member of a group, whichever library implements it.
pub trait Member {
    fn leaf(&self) -> u32;
    fn epoch(&self) -> u64;
    /// Creates a commit and merges it at once (the delivery service is
    /// assumed to accept it).
    fn commit(&mut self, change: Change<'_>) -> Outcome<Committed>;
    fn propose(&mut self, proposal: Propose<'_>) -> Outcome<Vec<u8>>;
    /// An application message with [`APPLICATION_AAD`].
    fn send(&mut self, data: &[u8]) -> Outcome<Vec<u8>>;
    /// Processes a message; a commit is merged.
    fn process(&mut self, message: &[u8]) -> Outcome<Received>;
    /// A signed GroupInfo with the external public key, and with the
    /// ratchet tree unless it goes out of band.
    fn group_info(&mut self) -> Outcome<Vec<u8>>;
    /// The ratchet tree, encoded as in the `ratchet_tree` extension.
    fn ratchet_tree(&self) -> Outcome<Vec<u8>>;
    /// Rejoins by external commit, removing its own old leaf in the same
    /// commit (RFC 9420 §12.4.3.2 allows one such Remove); returns the commit.
    /// `None` where the library has no API for it.
    fn rejoin(&mut self, group_info: &[u8], tree: Option<&[u8]>) -> Option<Outcome<Vec<u8>>>;
    fn epoch_authenticator(&self) -> Outcome<Vec<u8>>;
    fn export(&self, label: &str, context: &[u8], length: u16) -> Outcome<Vec<u8>>;
}

/// A client that has published a KeyPackage and is not in the group yet.
pub trait Client {
    /// Its KeyPackage as MLSMessage bytes.
    fn key_package(&self) -> Vec<u8>;
    /// Creates a one-member group.
    fn create(self: Box<Self>) -> Outcome<Box<dyn Member>>;
    /// Joins from a Welcome (MLSMessage bytes), with the ratchet tree when
    /// it comes out of band.
    fn join(self: Box<Self>, welcome: &[u8], tree: Option<&[u8]>) -> Outcome<Box<dyn Member>>;
    /// Joins by external commit from a GroupInfo (MLSMessage bytes), with
    /// the ratchet tree when it comes out of band; returns the member and
    /// its commit.
    fn join_external(self: Box<Self>, group_info: &[u8], tree: Option<&[u8]>) -> Outcome<(Box<dyn Member>, Vec<u8>)>;
}

/// A client or member under its name in the scenario, `library:name` (the
/// library's adapter knows it only as its credential).
pub struct Named<T: ?Sized> {
    pub name: String,
    pub peer: Box<T>,
}

impl<T: ?Sized> std::ops::Deref for Named<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.peer
    }
}

impl<T: ?Sized> std::ops::DerefMut for Named<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.peer
    }
}

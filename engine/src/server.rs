//! A Delivery Service's registry of many groups (RFC 9750; RFC 9420 §12,
//! §16.x): it follows each group as a [`PublicGroup`], orders the commits of
//! each epoch (the first valid one wins), queues proposals, tells the caller
//! whom to fan each message out to, and serves what joiners need.
//!
//! # Concurrency
//!
//! A [`Registry`] is `Send + Sync` and meant to be shared (`Arc<Registry>`)
//! by many threads and tokio tasks. Groups live in a [`DashMap`], whose
//! shard lock is held only to find a group's slot, never while a message is
//! processed; each group has its own lock, so work on different groups
//! never waits on each other, and there is no global lock.
//!
//! Within one group, handshake messages are processed one at a time under
//! the group's write lock: that is what orders commits. Every slot also
//! carries its epoch in an atomic, so a commit for an epoch another commit
//! already closed is rejected ([`Rejected::LostRace`]) before the lock is
//! taken and before any signature work; the check is repeated under the
//! lock, which is authoritative.
//!
//! # Embedding in an async service
//!
//! Validating a commit is CPU work (signatures, hashing, at 10,000 members
//! milliseconds), so an async server must not run [`Registry::handle`] on its
//! executor threads. The pattern (engine/examples/server.rs):
//!
//! 1. own one `Arc<Registry>`; receive messages on async tasks (network,
//!    channels);
//! 2. run `handle` off the async threads, with `tokio::task::spawn_blocking`
//!    or on a rayon pool ([`PublicGroupConfig::pool`] then also runs the
//!    parallel parts there, docs/ARCHITECTURE.md, performance design 4);
//! 3. on [`Accepted`], send the message to each leaf of
//!    [`Accepted::fanout`] (a leaf index names a member of the epoch the
//!    message was sent in); on [`Rejected`], tell the sender: `LostRace`
//!    means "process the winning commit, then retry".
//!
//! Each `handle` call is independent, so tasks of different groups run in
//! parallel on the blocking pool, and tasks of one group serialize on its
//! lock in arrival order.
//!
//! # What is not checked
//!
//! What a [`PublicGroup`] cannot check without the group's secrets (notably
//! the confirmation tag) is listed in its module documentation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;

use crate::crypto::{CryptoProvider, Secret, SignatureKeyPair};
use crate::error::{Error, UsageError, ValidationError};
use crate::messages::RatchetTreeExtension;
use crate::messages::content::{ContentType, MlsMessage, MlsMessageBody, Sender};
use crate::messages::{Credential, GroupContext, GroupInfo, Proposal};
use crate::public_group::{PublicGroup, PublicGroupConfig, PublicProcessed};
use crate::tree_math::LeafIndex;

/// What kind of message was accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AcceptedKind {
    /// A commit: it won its epoch, and the group moved to the next.
    Commit,
    /// A proposal, queued for the epoch's commits.
    Proposal,
    /// Application data (a PrivateMessage of content type application for
    /// the current epoch): the server cannot read it, only route it.
    Application,
}

/// A message the registry accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The group's epoch after the message: for a commit, the epoch it
    /// started.
    pub epoch: u64,
    /// What it was.
    pub kind: AcceptedKind,
    /// The members to deliver it to, as leaves of the epoch it was sent in:
    /// every member but its sender (for a commit, removed members included,
    /// so that they learn of their removal, §12.4.2; members it adds get the
    /// Welcome instead).
    pub fanout: Vec<LeafIndex>,
}

/// Why the registry refused a message. A refused message changed nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// No group with that id is registered.
    #[error("unknown group")]
    UnknownGroup,
    /// The message is for another epoch than the current one (§6: a message
    /// is processed with its epoch's keys only).
    #[error("message is for epoch {got}, the group is in epoch {current}")]
    WrongEpoch {
        /// The group's epoch.
        current: u64,
        /// The message's epoch.
        got: u64,
    },
    /// A commit for an epoch that another commit already closed: the sender
    /// lost the race, and should process the winner and try again.
    #[error("another commit already closed this epoch; the group is in epoch {current}")]
    LostRace {
        /// The group's epoch.
        current: u64,
    },
    /// The message breaks a rule of RFC 9420 (or cannot be followed by a
    /// server, such as a handshake in a PrivateMessage).
    #[error("invalid: {0}")]
    Invalid(Error),
}

impl From<Error> for Rejected {
    fn from(e: Error) -> Self {
        Self::Invalid(e)
    }
}

/// What a registry serves to joiners for the current epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedGroupInfo {
    /// The current GroupContext.
    pub group_context: GroupContext,
    /// The confirmation tag of the epoch (unverified by the server).
    pub confirmation_tag: Vec<u8>,
    /// The ratchet tree (§12.4.3.3).
    pub ratchet_tree: RatchetTreeExtension,
    /// The latest GroupInfo a member signed for this epoch, if one was
    /// published ([`Registry::publish_group_info`]): what an external joiner
    /// needs (§12.4.3.2), since a server cannot sign one.
    pub signed: Option<GroupInfo>,
}

/// One group's state and the signed GroupInfo of its epoch.
#[derive(Debug)]
struct SlotState {
    group: PublicGroup,
    signed: Option<GroupInfo>,
}

#[derive(Debug)]
struct Slot {
    /// Mirrors `state.group.epoch()`; written under the write lock after a
    /// merge, read without any lock to reject late commits cheaply.
    epoch: AtomicU64,
    state: RwLock<SlotState>,
}

impl Slot {
    // A panic while a lock was held cannot leave a half-written group: a
    // group changes only in `merge_staged_commit`, whose steps do not panic
    // on peer input (docs/STYLE.md 7). So a poisoned lock is used as is.
    fn read(&self) -> RwLockReadGuard<'_, SlotState> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, SlotState> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The group id, epoch and kind of a message, read without any crypto.
struct Peeked<'m> {
    group_id: &'m [u8],
    epoch: u64,
    content_type: ContentType,
    public: bool,
}

fn peek(message: &MlsMessage) -> Result<Peeked<'_>, Error> {
    match &message.body {
        MlsMessageBody::PublicMessage(m) => Ok(Peeked {
            group_id: &m.content.group_id,
            epoch: m.content.epoch,
            content_type: m.content.content_type(),
            public: true,
        }),
        MlsMessageBody::PrivateMessage(m) => {
            Ok(Peeked { group_id: &m.group_id, epoch: m.epoch, content_type: m.content_type, public: false })
        }
        // A Delivery Service orders only PublicMessages and PrivateMessages (§6).
        _ => Err(UsageError::WrongMessageKind("a Welcome, GroupInfo or KeyPackage").into()),
    }
}

/// The epoch rule of `handle`, shared by the lock-free pre-check and the
/// authoritative check under the lock.
fn check_epoch(current: u64, got: u64, content_type: ContentType) -> Result<(), Rejected> {
    if got == current {
        Ok(())
    } else if got < current && content_type == ContentType::Commit {
        Err(Rejected::LostRace { current })
    } else {
        Err(Rejected::WrongEpoch { current, got })
    }
}

/// Many public groups, safe to share across threads and tasks (see the
/// module documentation).
#[derive(Debug)]
pub struct Registry {
    provider: Arc<dyn CryptoProvider>,
    config: PublicGroupConfig,
    groups: DashMap<Vec<u8>, Arc<Slot>>,
}

impl Registry {
    /// An empty registry whose groups validate with `provider` and the
    /// default [`PublicGroupConfig`].
    pub fn new(provider: Arc<dyn CryptoProvider>) -> Self {
        Self::with_config(provider, PublicGroupConfig::default())
    }

    /// An empty registry with a configuration for every group (e.g. a rayon
    /// pool for the parallel parts).
    pub fn with_config(provider: Arc<dyn CryptoProvider>, config: PublicGroupConfig) -> Self {
        Self { provider, config, groups: DashMap::new() }
    }

    fn slot(&self, group_id: &[u8]) -> Option<Arc<Slot>> {
        // Clone the slot out so that the map's shard lock is released at
        // once, before any per-group work.
        self.groups.get(group_id).map(|e| Arc::clone(e.value()))
    }

    /// Starts following a group from a member's signed GroupInfo and its
    /// ratchet tree (or the tree in the GroupInfo's extension), validated as
    /// a joiner validates them (§12.4.3.1). The GroupInfo is kept as the
    /// epoch's signed GroupInfo. A group id already registered is refused.
    pub fn create_group(&self, group_info: &GroupInfo, tree: Option<&RatchetTreeExtension>) -> Result<(), Error> {
        let group_id = &group_info.group_context.group_id;
        if self.groups.contains_key(group_id) {
            return Err(UsageError::GroupExists.into());
        }
        // The expensive validation runs with no lock held.
        let group = PublicGroup::from_group_info(self.provider.clone(), self.config.clone(), group_info, tree)?;
        let slot = Slot {
            epoch: AtomicU64::new(group.epoch()),
            state: RwLock::new(SlotState { group, signed: Some(group_info.clone()) }),
        };
        match self.groups.entry(group_id.clone()) {
            Entry::Occupied(_) => Err(UsageError::GroupExists.into()),
            Entry::Vacant(v) => {
                v.insert(Arc::new(slot));
                Ok(())
            }
        }
    }

    /// Stops following a group; whether it was registered.
    pub fn remove_group(&self, group_id: &[u8]) -> bool {
        self.groups.remove(group_id).is_some()
    }

    /// Number of groups followed.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Orders and validates one message for `group_id`.
    ///
    /// - A commit for the current epoch is validated (everything a member
    ///   checks but the confirmation tag, see [`PublicGroup`]); the first
    ///   valid one wins and the group enters the next epoch. Commits for an
    ///   older epoch are [`Rejected::LostRace`], found before any signature
    ///   work.
    /// - A proposal for the current epoch is validated and queued.
    /// - A PrivateMessage of application data for the current epoch, or a
    ///   past one within [`PublicGroupConfig::retention`], is routed unread; a handshake in a PrivateMessage cannot be followed
    ///   and is refused.
    ///
    /// A rejected message changes nothing.
    pub fn handle(&self, group_id: &[u8], message: &MlsMessage) -> Result<Accepted, Rejected> {
        let slot = self.slot(group_id).ok_or(Rejected::UnknownGroup)?;
        let peeked = peek(message)?;
        if peeked.group_id != group_id {
            return Err(Rejected::Invalid(ValidationError::WrongGroup.into()));
        }
        // Application data of a past epoch may still be routed (retention);
        // that is decided under the lock.
        let past_application = !peeked.public
            && peeked.content_type == ContentType::Application
            && peeked.epoch < slot.epoch.load(Ordering::Acquire);
        if !past_application {
            // Lock-free: a late commit never waits for the winner's validation.
            check_epoch(slot.epoch.load(Ordering::Acquire), peeked.epoch, peeked.content_type)?;
        }

        if !peeked.public {
            if peeked.content_type != ContentType::Application {
                return Err(Rejected::Invalid(UsageError::PrivateHandshake.into()));
            }
            let state = slot.read();
            if !state.group.routes_epoch(peeked.epoch, Instant::now()) {
                check_epoch(state.group.epoch(), peeked.epoch, peeked.content_type)?;
            }
            // The sender is encrypted (§6.3.2): every member gets it, and
            // the sender drops its own. A message of a retained epoch goes
            // to the current members (those who left are not served; those
            // who joined since cannot decrypt it and drop it).
            return Ok(Accepted {
                epoch: state.group.epoch(),
                kind: AcceptedKind::Application,
                fanout: state.group.member_leaves(),
            });
        }

        // The copy the group consumes is made before the lock is taken.
        let owned = message.clone();
        let mut state = slot.write();
        check_epoch(state.group.epoch(), peeked.epoch, peeked.content_type)?;
        match state.group.process_message(owned)? {
            PublicProcessed::Proposal { sender, .. } => {
                let fanout = fanout_without(&state.group, &sender);
                Ok(Accepted { epoch: state.group.epoch(), kind: AcceptedKind::Proposal, fanout })
            }
            PublicProcessed::Commit(staged) => {
                let fanout = fanout_without(&state.group, staged.committer());
                state.group.merge_staged_commit(*staged)?;
                state.signed = None;
                let epoch = state.group.epoch();
                slot.epoch.store(epoch, Ordering::Release);
                Ok(Accepted { epoch, kind: AcceptedKind::Commit, fanout })
            }
        }
    }

    /// What joiners need of the current epoch: GroupContext, confirmation
    /// tag, ratchet tree, and the latest signed GroupInfo a member
    /// published for it.
    pub fn group_info(&self, group_id: &[u8]) -> Option<ServedGroupInfo> {
        let slot = self.slot(group_id)?;
        let state = slot.read();
        let view = state.group.group_info_view();
        Some(ServedGroupInfo {
            group_context: view.group_context,
            confirmation_tag: view.confirmation_tag,
            ratchet_tree: view.ratchet_tree,
            signed: state.signed.clone(),
        })
    }

    /// The latest signed GroupInfo of the current epoch, if a member
    /// published one (cheaper than [`group_info`](Self::group_info), which
    /// exports the tree).
    pub fn signed_group_info(&self, group_id: &[u8]) -> Option<GroupInfo> {
        self.slot(group_id)?.read().signed.clone()
    }

    /// Stores a GroupInfo a member signed for the current epoch, after
    /// checking it matches the group ([`PublicGroup::verify_group_info`]:
    /// GroupContext, confirmation tag, signer's signature, tree).
    pub fn publish_group_info(&self, group_id: &[u8], group_info: GroupInfo) -> Result<(), Rejected> {
        let slot = self.slot(group_id).ok_or(Rejected::UnknownGroup)?;
        let mut state = slot.write();
        let current = state.group.epoch();
        if group_info.group_context.epoch != current {
            return Err(Rejected::WrongEpoch { current, got: group_info.group_context.epoch });
        }
        state.group.verify_group_info(&group_info)?;
        state.signed = Some(group_info);
        Ok(())
    }

    /// The current ratchet tree, for joiners (§12.4.3.3).
    pub fn ratchet_tree(&self, group_id: &[u8]) -> Option<RatchetTreeExtension> {
        Some(self.slot(group_id)?.read().group.export_tree())
    }

    /// Every member's leaf and credential, in leaf order.
    pub fn roster(&self, group_id: &[u8]) -> Option<Vec<(LeafIndex, Credential)>> {
        Some(self.slot(group_id)?.read().group.roster())
    }

    /// The current epoch, read without taking the group's lock.
    pub fn epoch(&self, group_id: &[u8]) -> Option<u64> {
        Some(self.slot(group_id)?.epoch.load(Ordering::Acquire))
    }

    /// Runs `f` on the group's public state under its read lock (for
    /// questions the other methods do not answer: tree hash, one member's
    /// leaf, pending proposals). `f` must not call back into the registry
    /// for the same group: it would wait on the lock it holds.
    pub fn with_group<R>(&self, group_id: &[u8], f: impl FnOnce(&PublicGroup) -> R) -> Option<R> {
        Some(f(&self.slot(group_id)?.read().group))
    }

    /// Gives the server the `membership_key` of `epoch` (§6.2), so that
    /// member PublicMessages of that epoch have their membership tag
    /// verified too. Refused if the group is no longer in that epoch.
    pub fn set_membership_key(&self, group_id: &[u8], epoch: u64, membership_key: Secret) -> Result<(), Rejected> {
        let slot = self.slot(group_id).ok_or(Rejected::UnknownGroup)?;
        let mut state = slot.write();
        let current = state.group.epoch();
        if epoch != current {
            return Err(Rejected::WrongEpoch { current, got: epoch });
        }
        state.group.set_membership_key(membership_key);
        Ok(())
    }

    /// Signs `proposal` (an Add or Remove, typically) as the group's external
    /// sender `sender_index` (§12.1.8.1) and queues it, so that members'
    /// commits can reference it. Returns the PublicMessage to send to every
    /// member (the roster).
    pub fn propose_external(
        &self,
        group_id: &[u8],
        sender_index: u32,
        signer: &SignatureKeyPair,
        proposal: Proposal,
    ) -> Result<MlsMessage, Error> {
        let slot = self.slot(group_id).ok_or(UsageError::UnknownGroup)?;
        let mut state = slot.write();
        state.group.propose_external(sender_index, signer, proposal)
    }
}

/// Every member of the current epoch but `sender`.
fn fanout_without(group: &PublicGroup, sender: &Sender) -> Vec<LeafIndex> {
    let mut leaves = group.member_leaves();
    if let Sender::Member(l) = sender {
        leaves.retain(|x| x != l);
    }
    leaves
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Registry>();
        check::<Accepted>();
        check::<Rejected>();
    }

    #[test]
    fn epoch_rule() {
        assert_eq!(check_epoch(3, 3, ContentType::Commit), Ok(()));
        assert_eq!(check_epoch(3, 2, ContentType::Commit), Err(Rejected::LostRace { current: 3 }));
        assert_eq!(check_epoch(3, 2, ContentType::Proposal), Err(Rejected::WrongEpoch { current: 3, got: 2 }));
        assert_eq!(check_epoch(3, 4, ContentType::Commit), Err(Rejected::WrongEpoch { current: 3, got: 4 }));
    }
}

//! A Delivery Service's registry of many groups (RFC 9750; RFC 9420 §12,
//! §16.x): it follows each group as a [`PublicGroup`], orders the commits of
//! each epoch (the first valid one wins), queues proposals, tells the caller
//! whom to fan each message out to, and serves what joiners need. It keeps
//! every group in a [`Store`] (module [`store`]): in memory by default, in
//! SQLite or PostgreSQL with the `throng-store` crate, so that groups
//! survive restarts and several registries (DS nodes) can share them.
//!
//! # Ordering: validate on a snapshot, decide in the store
//!
//! Accepting a handshake message is two steps:
//!
//! 1. **validate** it against a snapshot of the group's public state, an
//!    `Arc` taken with no lock held afterwards, so validations of one group
//!    run in parallel, and a commit's own parallel work (its Adds'
//!    KeyPackages, on the configured rayon pool) never runs under a lock;
//! 2. **append** it to the group's log in the store at the position after
//!    the snapshot's, a compare-and-set ([`Store::append`]): if another
//!    writer, in this process or another node, appended first, a commit for
//!    an epoch that is now closed is [`Rejected::LostRace`]; a message that
//!    only lost to a proposal is validated again on the new state.
//!
//! Only then is the in-memory state advanced, under the group's lock, with
//! sequential work only (the staged tree diff is written; nothing waits on
//! the pool or the store while holding it). So a store error is
//! [`Rejected::Store`] and changes nothing, and what a registry answered
//! `Accepted` is in the store. The atomic epoch of each group still turns
//! away commits for a closed epoch before any signature work.
//!
//! A registry that finds the store ahead of it (another node appended)
//! replays the new entries; a group not in memory is loaded lazily from its
//! latest snapshot and the entries after it. Entries are replayed with the
//! same validation as peer messages, except the time and credential
//! policies ([`PublicGroupConfig::check_lifetimes`],
//! [`PublicGroupConfig::identity`]), which were applied when they were
//! accepted. The membership key ([`Registry::set_membership_key`]) is never
//! stored: each node is given it.
//!
//! # Concurrency
//!
//! A [`Registry`] is `Send + Sync` and meant to be shared (`Arc<Registry>`)
//! by many threads and tokio tasks. Groups live in a [`DashMap`], whose
//! shard lock is held only to find a group's slot, never while a message is
//! processed; each group has its own lock, held only to take a snapshot or
//! install a new state, so work on different groups never waits on each
//! other, and there is no global lock.
//!
//! # Embedding in an async service
//!
//! Validating a commit is CPU work (signatures, hashing, at 10,000 members
//! milliseconds), and a durable store blocks on I/O, so an async server
//! must not run [`Registry::handle`] on its executor threads. The pattern
//! (store/examples/server.rs):
//!
//! 1. own one `Arc<Registry>`; receive messages on async tasks (network,
//!    channels);
//! 2. run `handle` off the async threads, with `tokio::task::spawn_blocking`
//!    or on a rayon pool ([`PublicGroupConfig::pool`] then also runs the
//!    parallel parts there, docs/ARCHITECTURE.md, performance design 4);
//! 3. on [`Accepted`], send the message to each leaf of
//!    [`Accepted::fanout`] (a leaf index names a member of the epoch the
//!    message was sent in); on [`Rejected`], tell the sender: `LostRace`
//!    means "process the winning commit, then retry"; a member that missed
//!    epochs catches up with [`Registry::messages_since`].
//!
//! # What is not checked
//!
//! What a [`PublicGroup`] cannot check without the group's secrets (notably
//! the confirmation tag) is listed in its module documentation.

pub mod store;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;

use crate::codec::Encode;
use crate::crypto::{CryptoProvider, Secret, SignatureKeyPair, Suite};
use crate::error::{Error, UsageError, ValidationError};
use crate::identity::AcceptAnyCredential;
use crate::messages::RatchetTreeExtension;
use crate::messages::content::{ContentType, MlsMessage, MlsMessageBody, Sender};
use crate::messages::{Credential, GroupContext, GroupInfo, Proposal};
use crate::partial::{AnnotatedCommit, CommitAnnotator};
use crate::public_group::{PublicGroup, PublicGroupConfig, Validated, sign_external_proposal};
use crate::tree_math::LeafIndex;

pub use store::{
    Append, Compaction, EntryKind, LogEntry, MemoryStore, Snapshot, Store, StoreError, StoreOptions, StoredGroup,
};

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
    /// The store failed: the message was not accepted and the group did
    /// not change (the sender may retry).
    #[error("store: {0}")]
    Store(StoreError),
}

impl From<Error> for Rejected {
    fn from(e: Error) -> Self {
        match e {
            Error::Store(e) => Self::Store(e),
            e => Self::Invalid(e),
        }
    }
}

impl From<StoreError> for Rejected {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
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

/// One group's state as this registry holds it.
#[derive(Debug)]
struct SlotState {
    /// The public state; validations hold clones of the `Arc`, never the lock.
    group: Arc<PublicGroup>,
    /// The signed GroupInfo of the epoch, if this node has it.
    signed: Option<GroupInfo>,
    /// The log position `group` includes.
    seq: u64,
    /// The position of the latest snapshot this node knows of.
    snapshot_seq: u64,
    /// Bytes of the entries after that snapshot.
    bytes_since_snapshot: u64,
}

#[derive(Debug)]
struct Slot {
    /// Mirrors `state.group.epoch()`; written under the write lock after a
    /// merge, read without any lock to reject late commits cheaply.
    epoch: AtomicU64,
    state: RwLock<SlotState>,
}

impl Slot {
    fn new(state: SlotState) -> Self {
        Self { epoch: AtomicU64::new(state.group.epoch()), state: RwLock::new(state) }
    }

    // Nothing done under the lock panics on peer or store input
    // (docs/STYLE.md 7), and each change is a few assignments after the
    // fallible work: a poisoned lock holds a consistent state.
    fn read(&self) -> RwLockReadGuard<'_, SlotState> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, SlotState> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state to validate against, and its log position.
    fn view(&self) -> (Arc<PublicGroup>, u64) {
        let s = self.read();
        (Arc::clone(&s.group), s.seq)
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

/// Many public groups, safe to share across threads and tasks, kept in a
/// [`Store`] (see the module documentation).
#[derive(Debug)]
pub struct Registry {
    provider: Arc<dyn CryptoProvider>,
    config: PublicGroupConfig,
    groups: DashMap<Vec<u8>, Arc<Slot>>,
    store: Arc<dyn Store>,
    options: StoreOptions,
}

impl Registry {
    /// An empty registry in memory ([`MemoryStore`]) whose groups validate
    /// with `provider` and the default [`PublicGroupConfig`].
    pub fn new(provider: Arc<dyn CryptoProvider>) -> Self {
        Self::with_config(provider, PublicGroupConfig::default())
    }

    /// An empty registry in memory with a configuration for every group
    /// (e.g. a rayon pool for the parallel parts).
    pub fn with_config(provider: Arc<dyn CryptoProvider>, config: PublicGroupConfig) -> Self {
        Self::with_store(provider, config, Arc::new(MemoryStore::new()), StoreOptions::default())
    }

    /// A registry over `store`: the groups already in it are loaded when
    /// first used.
    pub fn with_store(
        provider: Arc<dyn CryptoProvider>,
        config: PublicGroupConfig,
        store: Arc<dyn Store>,
        options: StoreOptions,
    ) -> Self {
        Self { provider, config, groups: DashMap::new(), store, options }
    }

    /// The store this registry writes to.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    fn slot(&self, group_id: &[u8]) -> Option<Arc<Slot>> {
        // Clone the slot out so that the map's shard lock is released at
        // once, before any per-group work.
        self.groups.get(group_id).map(|e| Arc::clone(e.value()))
    }

    /// The group's slot, loaded from the store if it is not in memory.
    fn load(&self, group_id: &[u8]) -> Result<Option<Arc<Slot>>, StoreError> {
        if let Some(slot) = self.slot(group_id) {
            return Ok(Some(slot));
        }
        let Some(stored) = self.store.load_group(group_id)? else { return Ok(None) };
        // Replayed with no lock held; a concurrent loader's copy is the same.
        let slot = Arc::new(Slot::new(self.rebuild(group_id, stored)?));
        Ok(Some(match self.groups.entry(group_id.to_vec()) {
            Entry::Occupied(o) => Arc::clone(o.get()),
            Entry::Vacant(v) => {
                v.insert(Arc::clone(&slot));
                slot
            }
        }))
    }

    /// The configuration stored entries are replayed with: the group's, but
    /// for the policies that were applied when they were accepted and may
    /// have changed since (time, credentials).
    fn replay_config(&self) -> PublicGroupConfig {
        PublicGroupConfig { check_lifetimes: false, identity: Arc::new(AcceptAnyCredential), ..self.config.clone() }
    }

    /// A group's state from what the store holds: its snapshot, then every
    /// entry after it, validated again.
    fn rebuild(&self, group_id: &[u8], stored: StoredGroup) -> Result<SlotState, StoreError> {
        let snapshot_seq = stored.snapshot.seq;
        let mut group = PublicGroup::import(&stored.snapshot.state, self.provider.clone(), self.replay_config())
            .map_err(|e| corrupt(format!("snapshot at {snapshot_seq}: {e}")))?;
        if group.group_id() != group_id || group.epoch() != stored.snapshot.epoch {
            return Err(corrupt(format!("snapshot at {snapshot_seq} is of another group or epoch")));
        }
        let mut seq = snapshot_seq;
        let mut bytes = 0u64;
        for entry in &stored.entries {
            match self.validate_entry(&group, seq, entry)? {
                Validated::Proposal { cached, new } => {
                    if new {
                        group.insert_proposal(*cached).map_err(|e| corrupt(format!("entry {}: {e}", entry.seq)))?;
                    }
                }
                Validated::Commit(staged) => {
                    group.merge_staged_commit(*staged).map_err(|e| corrupt(format!("entry {}: {e}", entry.seq)))?;
                }
            }
            seq = entry.seq;
            bytes = bytes.saturating_add(entry.message.len() as u64);
        }
        if seq != stored.head || group.epoch() != stored.epoch {
            return Err(corrupt(format!(
                "the log ends at {seq} in epoch {}, the group row says {} in epoch {}",
                group.epoch(),
                stored.head,
                stored.epoch
            )));
        }
        group.config = self.config.clone();
        let signed = match stored.group_info {
            Some(bytes) => Some(self.decode_group_info(&group, &bytes)?),
            None => None,
        };
        Ok(SlotState { group: Arc::new(group), signed, seq, snapshot_seq, bytes_since_snapshot: bytes })
    }

    /// A stored GroupInfo, checked against the group like an upload.
    fn decode_group_info(&self, group: &PublicGroup, bytes: &[u8]) -> Result<GroupInfo, StoreError> {
        let info: GroupInfo =
            self.config.limits.decode(bytes).map_err(|e| corrupt(format!("stored GroupInfo: {e}")))?;
        group.verify_group_info(&info).map_err(|e| corrupt(format!("stored GroupInfo: {e}")))?;
        Ok(info)
    }

    /// Validates the stored entry that follows position `seq` of `group`.
    fn validate_entry(&self, group: &PublicGroup, seq: u64, entry: &LogEntry) -> Result<Validated, StoreError> {
        if Some(entry.seq) != seq.checked_add(1) {
            return Err(corrupt(format!("entry {} follows position {seq}", entry.seq)));
        }
        if entry.epoch != group.epoch() {
            return Err(corrupt(format!(
                "entry {} claims epoch {}, the group is in {}",
                entry.seq,
                entry.epoch,
                group.epoch()
            )));
        }
        let message: MlsMessage =
            self.config.limits.decode(&entry.message).map_err(|e| corrupt(format!("entry {}: {e}", entry.seq)))?;
        let validated = group
            .validate_message(message, true)
            .map_err(|e| corrupt(format!("entry {} does not replay: {e}", entry.seq)))?;
        let kind = match validated {
            Validated::Proposal { .. } => EntryKind::Proposal,
            Validated::Commit(_) => EntryKind::Commit,
        };
        if kind != entry.kind {
            return Err(corrupt(format!("entry {} is a {kind:?}, stored as a {:?}", entry.seq, entry.kind)));
        }
        Ok(validated)
    }

    /// Brings a loaded group up to the store's head (entries other nodes
    /// appended); whether it moved.
    fn sync(&self, group_id: &[u8], slot: &Slot) -> Result<bool, StoreError> {
        loop {
            let (base, seq) = slot.view();
            let entries = self.store.entries_after(group_id, seq)?;
            if entries.is_empty() {
                return Ok(false);
            }
            // Replayed on a copy with no lock held (the first merge copies
            // the tree), installed if nobody moved the slot meanwhile.
            let mut group = (*base).clone();
            drop(base);
            let membership_key = group.membership_key.take();
            group.config = self.replay_config();
            let mut at = seq;
            let mut bytes = 0u64;
            for entry in &entries {
                match self.validate_entry(&group, at, entry)? {
                    Validated::Proposal { cached, new } => {
                        if new {
                            group.insert_proposal(*cached).map_err(|e| corrupt(format!("entry {}: {e}", entry.seq)))?;
                        }
                    }
                    Validated::Commit(staged) => {
                        group.merge_staged_commit(*staged).map_err(|e| corrupt(format!("entry {}: {e}", entry.seq)))?;
                    }
                }
                at = entry.seq;
                bytes = bytes.saturating_add(entry.message.len() as u64);
            }
            group.config = self.config.clone();
            let mut s = slot.write();
            if s.seq != seq {
                continue;
            }
            if group.epoch() == s.group.epoch() {
                group.membership_key = membership_key;
            } else {
                s.signed = None;
            }
            s.group = Arc::new(group);
            s.seq = at;
            s.bytes_since_snapshot = s.bytes_since_snapshot.saturating_add(bytes);
            slot.epoch.store(s.group.epoch(), Ordering::Release);
            return Ok(true);
        }
    }

    /// Starts following a group from a member's signed GroupInfo and its
    /// ratchet tree (or the tree in the GroupInfo's extension), validated as
    /// a joiner validates them (§12.4.3.1), and stores it with the GroupInfo
    /// as the epoch's signed GroupInfo. A group id already registered, here
    /// or in the store, is refused.
    pub fn create_group(&self, group_info: &GroupInfo, tree: Option<&RatchetTreeExtension>) -> Result<(), Error> {
        let group_id = &group_info.group_context.group_id;
        if self.groups.contains_key(group_id) {
            return Err(UsageError::GroupExists.into());
        }
        // The expensive validation runs with no lock held.
        let group = PublicGroup::from_group_info(self.provider.clone(), self.config.clone(), group_info, tree)?;
        let snapshot = Snapshot { seq: 0, epoch: group.epoch(), state: group.export()?.to_vec() };
        if !self.store.create_group(group_id, &snapshot, &group_info.to_bytes())? {
            return Err(UsageError::GroupExists.into());
        }
        let slot = Slot::new(SlotState {
            group: Arc::new(group),
            signed: Some(group_info.clone()),
            seq: 0,
            snapshot_seq: 0,
            bytes_since_snapshot: 0,
        });
        // A concurrent `load` may have found the group in the store first:
        // its state is this one.
        self.groups.entry(group_id.clone()).or_insert_with(|| Arc::new(slot));
        Ok(())
    }

    /// Stops following a group and deletes it from the store; whether it
    /// was stored.
    pub fn remove_group(&self, group_id: &[u8]) -> Result<bool, StoreError> {
        let stored = self.store.remove_group(group_id)?;
        let here = self.groups.remove(group_id).is_some();
        Ok(stored || here)
    }

    /// Drops the group from this registry's memory, not from the store (it
    /// is loaded again when next used); whether it was in memory.
    pub fn evict(&self, group_id: &[u8]) -> bool {
        self.groups.remove(group_id).is_some()
    }

    /// Number of groups in memory (loaded or created here; the store may
    /// hold more).
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Brings the group up to date with the store (after another node
    /// accepted messages); whether it changed. Handling a message does this
    /// by itself when the message is from a later epoch than the one in
    /// memory, or when its validation fails.
    pub fn refresh(&self, group_id: &[u8]) -> Result<bool, StoreError> {
        match self.load(group_id)? {
            Some(slot) => self.sync(group_id, &slot),
            None => Ok(false),
        }
    }

    /// Orders and validates one message for `group_id`.
    ///
    /// - A commit for the current epoch is validated (everything a member
    ///   checks but the confirmation tag, see [`PublicGroup`]); the first
    ///   valid one to reach the store wins and the group enters the next
    ///   epoch. Commits for an older epoch are [`Rejected::LostRace`], found
    ///   before any signature work when this node already knows.
    /// - A proposal for the current epoch is validated, stored and queued.
    /// - A PrivateMessage of application data for the current epoch, or a
    ///   past one within [`PublicGroupConfig::retention`], is routed unread
    ///   and not stored; a handshake in a PrivateMessage
    ///   cannot be followed and is refused.
    ///
    /// A rejected message changes nothing, here or in the store.
    pub fn handle(&self, group_id: &[u8], message: &MlsMessage) -> Result<Accepted, Rejected> {
        self.handle_inner(group_id, message, None).map(|(accepted, _)| accepted)
    }

    /// [`handle`](Self::handle), and for an accepted commit one
    /// AnnotatedCommit per leaf of `partial` (the group's partial members,
    /// as leaves of the epoch the commit starts; draft-ietf-mls-partial
    /// §"Annotated Commit"), in their order; empty for other messages.
    ///
    /// The committer's proof in the tree before is taken from the state the
    /// commit was validated on, the rest from the state it starts, once
    /// installed, with no lock held ([`CommitAnnotator`] says what is
    /// computed once and what per recipient; recipients run on the
    /// configured pool). A recipient that gets none has a typed error in
    /// its place ([`CommitAnnotator::annotate`]); every one has
    /// [`UsageError::StaleCommit`] if another commit was installed before
    /// the annotations were made (the registry no longer holds the tree
    /// they need).
    pub fn handle_annotating(
        &self,
        group_id: &[u8],
        message: &MlsMessage,
        partial: &[LeafIndex],
    ) -> Result<(Accepted, Vec<Result<AnnotatedCommit, Error>>), Rejected> {
        self.handle_inner(group_id, message, Some(partial))
    }

    fn handle_inner(
        &self,
        group_id: &[u8],
        message: &MlsMessage,
        partial: Option<&[LeafIndex]>,
    ) -> Result<(Accepted, Vec<Result<AnnotatedCommit, Error>>), Rejected> {
        let slot = self.load(group_id)?.ok_or(Rejected::UnknownGroup)?;
        let peeked = peek(message)?;
        if peeked.group_id != group_id {
            return Err(Rejected::Invalid(ValidationError::WrongGroup.into()));
        }
        // Lock-free: a late commit never waits for the winner's validation.
        // A message from a later epoch may mean another node moved on.
        if peeked.epoch > slot.epoch.load(Ordering::Acquire) {
            self.sync(group_id, &slot)?;
        }
        // Application data of a past epoch may still be routed (retention);
        // that is decided on the group's view below.
        let past_application = !peeked.public
            && peeked.content_type == ContentType::Application
            && peeked.epoch < slot.epoch.load(Ordering::Acquire);
        if !past_application {
            check_epoch(slot.epoch.load(Ordering::Acquire), peeked.epoch, peeked.content_type)?;
        }

        if !peeked.public {
            if peeked.content_type != ContentType::Application {
                return Err(Rejected::Invalid(UsageError::PrivateHandshake.into()));
            }
            let (group, _) = slot.view();
            if !group.routes_epoch(peeked.epoch, std::time::Instant::now()) {
                check_epoch(group.epoch(), peeked.epoch, peeked.content_type)?;
            }
            // The sender is encrypted (§6.3.2): every member gets it, and
            // the sender drops its own. A message of a retained epoch goes
            // to the current members (those who left are not served; those
            // who joined since cannot decrypt it and drop it).
            let accepted =
                Accepted { epoch: group.epoch(), kind: AcceptedKind::Application, fanout: group.member_leaves() };
            return Ok((accepted, Vec::new()));
        }

        let mut synced = false;
        for _ in 0..self.options.max_append_attempts.max(1) {
            let (group, seq) = slot.view();
            check_epoch(group.epoch(), peeked.epoch, peeked.content_type)?;
            // No lock is held: validations of one group run in parallel,
            // and the commit's own parallel work with them.
            let validated = match group.validate_message(message.clone(), true) {
                Ok(v) => v,
                Err(e) => {
                    // This node may lag the store (a proposal another node
                    // accepted, which the commit references): validate
                    // again once on the store's state, whether this sync
                    // moved the slot or a concurrent one (another message
                    // failing on the same lag) already had.
                    if !synced {
                        synced = true;
                        self.sync(group_id, &slot)?;
                        if slot.read().seq != seq {
                            continue;
                        }
                    }
                    return Err(Rejected::Invalid(e));
                }
            };
            let (kind, new_epoch, fanout) = match &validated {
                Validated::Proposal { cached, new } => {
                    let fanout = fanout_without(&group, &cached.sender);
                    if !new {
                        // Queued (and stored) already: deliver it again.
                        return Ok((
                            Accepted { epoch: group.epoch(), kind: AcceptedKind::Proposal, fanout },
                            Vec::new(),
                        ));
                    }
                    (AcceptedKind::Proposal, group.epoch(), fanout)
                }
                Validated::Commit(staged) => {
                    (AcceptedKind::Commit, staged.new_epoch(), fanout_without(&group, staged.committer()))
                }
            };
            // Taken from the state the commit was validated on, which the
            // install below may overwrite in place.
            let annotator = match (&validated, partial) {
                (Validated::Commit(staged), Some(_)) => Some(CommitAnnotator::new(&group, staged, message)?),
                _ => None,
            };
            let entry = LogEntry {
                seq: seq.checked_add(1).ok_or_else(|| corrupt("log position overflow".into()))?,
                epoch: group.epoch(),
                kind: match kind {
                    AcceptedKind::Commit => EntryKind::Commit,
                    _ => EntryKind::Proposal,
                },
                message: message.to_bytes(),
                created_at_ms: store::now_ms(),
            };
            match self.store.append(group_id, seq, new_epoch, &entry)? {
                Append::Appended => {
                    // The view's share of the tree goes first, so that the
                    // merge can write it in place.
                    drop(group);
                    self.install(group_id, &slot, seq, validated, entry.message.len() as u64);
                    let accepted = Accepted { epoch: new_epoch, kind, fanout };
                    let annotated = match (annotator, partial) {
                        (Some(annotator), Some(recipients)) => {
                            // Later proposals leave the tree as the commit
                            // made it; a later commit fails the check.
                            let (after, _) = slot.view();
                            annotator
                                .annotate(&after, recipients)
                                .unwrap_or_else(|e| recipients.iter().map(|_| Err(e.clone())).collect())
                        }
                        _ => Vec::new(),
                    };
                    return Ok((accepted, annotated));
                }
                Append::Conflict { head, epoch } => {
                    if head < seq {
                        return Err(corrupt(format!("the store's head went back from {seq} to {head}")).into());
                    }
                    if epoch != peeked.epoch {
                        // Another writer closed the epoch: catch up (best
                        // effort; the answer does not depend on it).
                        let _ = self.sync(group_id, &slot);
                        check_epoch(epoch, peeked.epoch, peeked.content_type)?;
                    }
                    // Only proposals came first: validate on the new state.
                    self.sync(group_id, &slot)?;
                }
            }
        }
        Err(StoreError::Contention(self.options.max_append_attempts).into())
    }

    /// Advances the slot by a message the store accepted at `seq + 1`. If
    /// another thread already did (a `sync`), nothing happens; if the merge
    /// fails (a bug), the slot is evicted so that the next use reloads the
    /// stored truth.
    fn install(&self, group_id: &[u8], slot: &Slot, seq: u64, validated: Validated, bytes: u64) {
        let installed = match validated {
            Validated::Proposal { cached, .. } => {
                let mut s = slot.write();
                if s.seq != seq {
                    Ok(false)
                } else {
                    let r = Arc::make_mut(&mut s.group).insert_proposal(*cached);
                    if r.is_ok() {
                        s.seq = seq + 1;
                        s.bytes_since_snapshot = s.bytes_since_snapshot.saturating_add(bytes);
                    }
                    r.map(|()| true)
                }
            }
            Validated::Commit(staged) => Self::install_commit(slot, seq, *staged, bytes),
        };
        match installed {
            Ok(true) => self.snapshot_if_due(group_id, slot),
            Ok(false) => {}
            Err(_) => {
                self.groups.remove(group_id);
            }
        }
    }

    fn install_commit(
        slot: &Slot,
        seq: u64,
        staged: crate::public_group::StagedPublicCommit,
        bytes: u64,
    ) -> Result<bool, Error> {
        let finish = |s: &mut SlotState| {
            s.seq = seq + 1;
            s.signed = None;
            s.bytes_since_snapshot = s.bytes_since_snapshot.saturating_add(bytes);
            slot.epoch.store(s.group.epoch(), Ordering::Release);
        };
        let mut s = slot.write();
        if s.seq != seq {
            return Ok(false);
        }
        // In place when no validation holds this state (the usual case):
        // the merge writes only the changed nodes.
        let unique = Arc::get_mut(&mut s.group).is_some_and(|g| Arc::get_mut(&mut g.tree).is_some());
        if unique {
            Arc::make_mut(&mut s.group).merge_on_this_thread(staged)?;
            finish(&mut s);
            return Ok(true);
        }
        // Other validations still read this state: the tree is copied,
        // outside the lock.
        let mut next = (*s.group).clone();
        drop(s);
        next.merge_on_this_thread(staged)?;
        let mut s = slot.write();
        if s.seq != seq {
            return Ok(false);
        }
        s.group = Arc::new(next);
        finish(&mut s);
        Ok(true)
    }

    fn snapshot_if_due(&self, group_id: &[u8], slot: &Slot) {
        let due = {
            let s = slot.read();
            s.seq.saturating_sub(s.snapshot_seq) >= self.options.snapshot_every
                || s.bytes_since_snapshot >= self.options.snapshot_bytes
        };
        if due {
            // The message is stored already: a failed snapshot only delays
            // compaction, and is tried again after the next message.
            let _ = self.write_snapshot(group_id, slot);
        }
    }

    fn write_snapshot(&self, group_id: &[u8], slot: &Slot) -> Result<(), StoreError> {
        let (group, seq) = slot.view();
        let state = if group.membership_key.is_some() {
            let mut g = (*group).clone();
            g.membership_key = None;
            g.export()
        } else {
            group.export()
        }
        .map_err(|e| StoreError::Unavailable(format!("exporting the state: {e}")))?;
        let epoch = group.epoch();
        drop(group);
        self.store.put_snapshot(group_id, &Snapshot { seq, epoch, state: state.to_vec() })?;
        {
            let mut s = slot.write();
            if s.snapshot_seq < seq {
                s.snapshot_seq = seq;
                s.bytes_since_snapshot = 0;
            }
        }
        let keep_ms = u64::try_from(self.options.keep_for.as_millis()).unwrap_or(u64::MAX);
        self.store.compact(
            group_id,
            &Compaction {
                covered_seq: seq,
                before_epoch: epoch.saturating_sub(self.options.keep_epochs),
                before_ms: store::now_ms().saturating_sub(keep_ms),
            },
        )?;
        Ok(())
    }

    /// Writes a snapshot of the group now and compacts what the retention
    /// policy lets go ([`StoreOptions`]); the registry does it by itself
    /// every [`StoreOptions::snapshot_every`] entries.
    pub fn snapshot(&self, group_id: &[u8]) -> Result<(), StoreError> {
        match self.load(group_id)? {
            Some(slot) => self.write_snapshot(group_id, &slot),
            None => Ok(()),
        }
    }

    /// The handshake messages sent in epoch `epoch` and later, in order (the
    /// proposals of each epoch, then the commit that closed it): what a
    /// member that last processed epoch `epoch - 1`'s commit needs to catch
    /// up. [`StoreError::Compacted`] if the log no longer reaches back that
    /// far.
    pub fn messages_since(&self, group_id: &[u8], epoch: u64) -> Result<Vec<LogEntry>, StoreError> {
        let current = match self.load(group_id)? {
            Some(slot) => {
                self.sync(group_id, &slot)?;
                slot.epoch.load(Ordering::Acquire)
            }
            None => return Ok(Vec::new()),
        };
        let entries = self.store.entries_since_epoch(group_id, epoch)?;
        // Every epoch before the current one ends with a stored commit.
        if epoch < current && entries.first().is_none_or(|e| e.epoch != epoch) {
            let oldest = entries.first().map_or(current, |e| e.epoch);
            return Err(StoreError::Compacted { requested: epoch, oldest });
        }
        Ok(entries)
    }

    /// What joiners need of the current epoch: GroupContext, confirmation
    /// tag, ratchet tree, and the latest signed GroupInfo a member
    /// published for it.
    pub fn group_info(&self, group_id: &[u8]) -> Option<ServedGroupInfo> {
        let slot = self.load(group_id).ok()??;
        let (group, _) = slot.view();
        let view = group.group_info_view();
        Some(ServedGroupInfo {
            group_context: view.group_context,
            confirmation_tag: view.confirmation_tag,
            ratchet_tree: view.ratchet_tree,
            signed: self.signed_of(group_id, &slot),
        })
    }

    /// The signed GroupInfo of the slot's epoch: this node's, or one
    /// another node stored.
    fn signed_of(&self, group_id: &[u8], slot: &Slot) -> Option<GroupInfo> {
        let (group, seq) = {
            let s = slot.read();
            if s.signed.is_some() {
                return s.signed.clone();
            }
            (Arc::clone(&s.group), s.seq)
        };
        let bytes = self.store.group_info(group_id, group.epoch()).ok()??;
        let info = self.decode_group_info(&group, &bytes).ok()?;
        let mut s = slot.write();
        if s.seq == seq {
            s.signed = Some(info.clone());
        }
        Some(info)
    }

    /// The latest signed GroupInfo of the current epoch, if a member
    /// published one (cheaper than [`group_info`](Self::group_info), which
    /// exports the tree).
    pub fn signed_group_info(&self, group_id: &[u8]) -> Option<GroupInfo> {
        let slot = self.load(group_id).ok()??;
        self.signed_of(group_id, &slot)
    }

    /// Stores a GroupInfo a member signed for the current epoch, after
    /// checking it matches the group ([`PublicGroup::verify_group_info`]:
    /// GroupContext, confirmation tag, signer's signature, tree).
    pub fn publish_group_info(&self, group_id: &[u8], group_info: GroupInfo) -> Result<(), Rejected> {
        let slot = self.load(group_id)?.ok_or(Rejected::UnknownGroup)?;
        let got = group_info.group_context.epoch;
        if got > slot.epoch.load(Ordering::Acquire) {
            self.sync(group_id, &slot)?;
        }
        let (group, seq) = slot.view();
        let current = group.epoch();
        if got != current {
            return Err(Rejected::WrongEpoch { current, got });
        }
        group.verify_group_info(&group_info)?;
        self.store.put_group_info(group_id, current, &group_info.to_bytes())?;
        let mut s = slot.write();
        if s.seq == seq || s.group.epoch() == current {
            s.signed = Some(group_info);
        }
        Ok(())
    }

    /// The current ratchet tree, for joiners (§12.4.3.3).
    pub fn ratchet_tree(&self, group_id: &[u8]) -> Option<RatchetTreeExtension> {
        Some(self.load(group_id).ok()??.view().0.export_tree())
    }

    /// Every member's leaf and credential, in leaf order.
    pub fn roster(&self, group_id: &[u8]) -> Option<Vec<(LeafIndex, Credential)>> {
        Some(self.load(group_id).ok()??.view().0.roster())
    }

    /// The current epoch as this node knows it, read without taking the
    /// group's lock (the group is loaded from the store if needed).
    pub fn epoch(&self, group_id: &[u8]) -> Option<u64> {
        Some(self.load(group_id).ok()??.epoch.load(Ordering::Acquire))
    }

    /// Runs `f` on a snapshot of the group's public state (for questions
    /// the other methods do not answer: tree hash, one member's leaf,
    /// pending proposals). No lock is held while `f` runs.
    pub fn with_group<R>(&self, group_id: &[u8], f: impl FnOnce(&PublicGroup) -> R) -> Option<R> {
        let (group, _) = self.load(group_id).ok()??.view();
        Some(f(&group))
    }

    /// Gives the server the `membership_key` of `epoch` (§6.2), so that
    /// member PublicMessages of that epoch have their membership tag
    /// verified too. Refused if the group is no longer in that epoch. The
    /// key stays in this node's memory: it is never stored.
    pub fn set_membership_key(&self, group_id: &[u8], epoch: u64, membership_key: Secret) -> Result<(), Rejected> {
        let slot = self.load(group_id)?.ok_or(Rejected::UnknownGroup)?;
        if epoch > slot.epoch.load(Ordering::Acquire) {
            self.sync(group_id, &slot)?;
        }
        let mut s = slot.write();
        let current = s.group.epoch();
        if epoch != current {
            return Err(Rejected::WrongEpoch { current, got: epoch });
        }
        Arc::make_mut(&mut s.group).set_membership_key(membership_key);
        Ok(())
    }

    /// Signs `proposal` (an Add or Remove, typically) as the group's external
    /// sender `sender_index` (§12.1.8.1), stores and queues it, so that
    /// members' commits can reference it. Returns the PublicMessage to send
    /// to every member (the roster).
    pub fn propose_external(
        &self,
        group_id: &[u8],
        sender_index: u32,
        signer: &SignatureKeyPair,
        proposal: Proposal,
    ) -> Result<MlsMessage, Error> {
        let slot = self.load(group_id)?.ok_or(UsageError::UnknownGroup)?;
        // A commit may close the epoch between signing and storing: sign
        // again for the new one.
        for _ in 0..self.options.max_append_attempts.max(1) {
            let (group, _) = slot.view();
            if crate::public_group::external_sender_key(group.context(), sender_index).as_deref()
                != Some(signer.public.as_bytes())
            {
                return Err(UsageError::NotExternalSender(sender_index).into());
            }
            let message = {
                let suite = Suite::new(&*self.provider, group.cipher_suite())?;
                sign_external_proposal(&suite, group.context(), sender_index, signer, proposal.clone())?
            };
            drop(group);
            match self.handle(group_id, &message) {
                Ok(_) => return Ok(message),
                Err(Rejected::WrongEpoch { .. } | Rejected::LostRace { .. }) => {}
                Err(Rejected::Invalid(e)) => return Err(e),
                Err(Rejected::Store(e)) => return Err(e.into()),
                Err(Rejected::UnknownGroup) => return Err(UsageError::UnknownGroup.into()),
            }
        }
        Err(StoreError::Contention(self.options.max_append_attempts).into())
    }
}

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt(what)
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

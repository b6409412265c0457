//! Where a [`Registry`](super::Registry) keeps its groups: the [`Store`]
//! trait, and [`MemoryStore`], the in-process store that is the default.
//! Durable stores (SQLite for one node, PostgreSQL for several) live in the
//! `throng-store` crate, so that an embedder who wants none of them links
//! no database client.
//!
//! # Model
//!
//! A group in a store is
//!
//! - a row with its **head** (the position of the last entry of its log)
//!   and its current epoch;
//! - its **log**: every handshake message the registry accepted, in order,
//!   at positions 1, 2, 3, … ([`LogEntry`]): the proposals of each epoch and
//!   the one commit that closed it. The log is the group's history and the
//!   delta a commit writes: accepting a warm commit writes its message and
//!   moves the head, nothing else (the tree is never rewritten);
//! - **snapshots**: the group's public state ([`PublicGroup::export`]) at
//!   some position, written at creation and then every so often
//!   ([`StoreOptions`]), so that loading a group imports the latest snapshot
//!   and replays only the entries after it;
//! - the signed **GroupInfo** members published, per epoch.
//!
//! [`Store::append`] is the one write that orders a group: it adds the
//! entry at `expected_head + 1` only if the head is still `expected_head`
//! (compare-and-set, in one transaction), and otherwise reports the head
//! and epoch that beat it. Everything else the registry derives.
//!
//! Bytes read back from a store are untrusted: the registry decodes them
//! within its [`Limits`](crate::Limits), checks that positions follow each
//! other, and replays every entry through the same validation as a message
//! from a peer; a store that breaks any of it is [`StoreError::Corrupt`].
//!
//! [`PublicGroup::export`]: crate::PublicGroup::export

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What an entry of a group's log holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A proposal, queued for its epoch's commits.
    Proposal,
    /// The commit that closed its epoch.
    Commit,
}

impl EntryKind {
    /// The code stores write (1: proposal, 2: commit).
    pub fn code(self) -> i16 {
        match self {
            Self::Proposal => 1,
            Self::Commit => 2,
        }
    }

    /// The kind of a stored code; `None` for anything else (a damaged store).
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            1 => Some(Self::Proposal),
            2 => Some(Self::Commit),
            _ => None,
        }
    }
}

/// One accepted handshake message of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Its position in the group's log, from 1.
    pub seq: u64,
    /// The epoch it was sent in (a commit closes this epoch).
    pub epoch: u64,
    /// Proposal or commit.
    pub kind: EntryKind,
    /// The `MLSMessage` as received (RFC 9420 §6 encoding).
    pub message: Vec<u8>,
    /// When the registry accepted it, in milliseconds since the Unix epoch.
    pub created_at_ms: u64,
}

/// A group's public state at one position of its log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The log position the state includes (0: the group's creation).
    pub seq: u64,
    /// The state's epoch.
    pub epoch: u64,
    /// [`PublicGroup::export`](crate::PublicGroup::export) of the state,
    /// without the membership key (which never leaves the node).
    pub state: Vec<u8>,
}

/// What [`Store::load_group`] returns: one consistent read of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredGroup {
    /// The log's head (its last position).
    pub head: u64,
    /// The group's current epoch.
    pub epoch: u64,
    /// The latest snapshot.
    pub snapshot: Snapshot,
    /// Every entry after the snapshot, in order.
    pub entries: Vec<LogEntry>,
    /// The signed GroupInfo published for the current epoch, if any (its
    /// RFC 9420 §12.4.3 encoding).
    pub group_info: Option<Vec<u8>>,
}

/// The outcome of [`Store::append`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Append {
    /// The entry is stored at `expected_head + 1` (durably, for a durable
    /// store) and the group is in the new epoch.
    Appended,
    /// The head had moved: another writer appended first. Nothing was
    /// written.
    Conflict {
        /// The group's head.
        head: u64,
        /// The group's epoch.
        epoch: u64,
    },
}

/// What [`Store::compact`] may drop. Entries and GroupInfos are dropped
/// only when all three say so; snapshots older than the latest always.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compaction {
    /// Entries at or before this position are covered by a snapshot.
    pub covered_seq: u64,
    /// Entries and GroupInfos of epochs before this one may go.
    pub before_epoch: u64,
    /// Entries and GroupInfos created before this time (ms since the Unix
    /// epoch) may go.
    pub before_ms: u64,
}

/// How many rows [`Store::compact`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Compacted {
    /// Log entries.
    pub entries: u64,
    /// Snapshots.
    pub snapshots: u64,
    /// GroupInfos.
    pub group_infos: u64,
}

/// A store failed; the registry's in-memory state did not change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be reached or refused the operation (connection
    /// refused or lost, I/O error, database error). For an append, whether
    /// it was written is unknown only if the connection broke while the
    /// transaction was committing; the registry did not acknowledge it.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// What the store holds for the group does not decode, does not follow
    /// on itself, or does not replay: the store was damaged or written by
    /// someone else.
    #[error("store holds corrupt data for the group: {0}")]
    Corrupt(String),
    /// The entries asked for were compacted away: the log starts at a
    /// later epoch (the member must join again, e.g. by external commit).
    #[error("the log of epoch {requested} was compacted; it starts at epoch {oldest}")]
    Compacted {
        /// The epoch asked for.
        requested: u64,
        /// The oldest epoch whose commit the log still holds.
        oldest: u64,
    },
    /// Other writers kept appending to the group between this registry's
    /// validation and its append, the given number of times in a row.
    #[error("gave up after {0} appends lost to other writers of the group")]
    Contention(u32),
}

/// Where a registry keeps its groups (see the module documentation). Calls
/// block; the registry makes them from the threads `Registry::handle` runs
/// on (blocking threads, never an async executor's). Implementations must
/// make [`append`](Self::append) atomic and ordered per group across every
/// process that shares the store.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Registers a group at position 0 with its first snapshot and the
    /// GroupInfo it was created from; `false` (and nothing written) if the
    /// group exists.
    fn create_group(&self, group_id: &[u8], snapshot: &Snapshot, group_info: &[u8]) -> Result<bool, StoreError>;

    /// The group's head, epoch, latest snapshot, the entries after it and
    /// the current epoch's GroupInfo, read consistently; `None` if the
    /// group is not stored.
    fn load_group(&self, group_id: &[u8]) -> Result<Option<StoredGroup>, StoreError>;

    /// Appends `entry` (whose `seq` is `expected_head + 1`) and sets the
    /// group's epoch to `new_epoch`, if the head is still `expected_head`:
    /// one transaction.
    fn append(
        &self,
        group_id: &[u8],
        expected_head: u64,
        new_epoch: u64,
        entry: &LogEntry,
    ) -> Result<Append, StoreError>;

    /// The entries after position `seq`, in order (empty when none, or when
    /// the group is not stored).
    fn entries_after(&self, group_id: &[u8], seq: u64) -> Result<Vec<LogEntry>, StoreError>;

    /// The entries sent in epoch `epoch` or later, in order.
    fn entries_since_epoch(&self, group_id: &[u8], epoch: u64) -> Result<Vec<LogEntry>, StoreError>;

    /// Stores a snapshot (a second one at the same position is ignored: the
    /// state at a position is the same whoever writes it).
    fn put_snapshot(&self, group_id: &[u8], snapshot: &Snapshot) -> Result<(), StoreError>;

    /// Stores the signed GroupInfo of `epoch`, replacing an earlier one of
    /// that epoch.
    fn put_group_info(&self, group_id: &[u8], epoch: u64, group_info: &[u8]) -> Result<(), StoreError>;

    /// The signed GroupInfo stored for `epoch`.
    fn group_info(&self, group_id: &[u8], epoch: u64) -> Result<Option<Vec<u8>>, StoreError>;

    /// Drops what the retention policy lets go (see [`Compaction`]).
    fn compact(&self, group_id: &[u8], compaction: &Compaction) -> Result<Compacted, StoreError>;

    /// Deletes the group and everything stored of it; whether it was stored.
    fn remove_group(&self, group_id: &[u8]) -> Result<bool, StoreError>;
}

/// How long a registry keeps what it stored, and how often it snapshots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// Write a snapshot once this many entries follow the last one.
    pub snapshot_every: u64,
    /// Or once the entries after the last snapshot hold this many bytes (a
    /// commit adding thousands of members is costly to replay: snapshot
    /// after it).
    pub snapshot_bytes: u64,
    /// Keep the log and GroupInfos of this many epochs before the current…
    pub keep_epochs: u64,
    /// …and of this recent a past, whichever keeps more. Older entries are
    /// dropped once a snapshot covers them. By default 256 epochs and no
    /// time: a busy group's log stays bounded in memory and in the store.
    pub keep_for: Duration,
    /// How many times in a row an append may lose to another writer that
    /// did not close the epoch (a proposal elsewhere) before
    /// [`StoreError::Contention`].
    pub max_append_attempts: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            snapshot_every: 256,
            snapshot_bytes: 1 << 20,
            keep_epochs: 256,
            keep_for: Duration::ZERO,
            max_append_attempts: 16,
        }
    }
}

/// Milliseconds since the Unix epoch (0 for a clock before it).
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[derive(Debug, Default)]
struct MemoryGroup {
    head: u64,
    epoch: u64,
    log: BTreeMap<u64, LogEntry>,
    snapshots: BTreeMap<u64, Snapshot>,
    group_infos: BTreeMap<u64, (Vec<u8>, u64)>,
}

/// The in-process [`Store`]: today's behaviour, and the default of
/// [`Registry::new`](super::Registry::new). Nothing survives the process;
/// the log still serves members that missed epochs, and the registry still
/// evicts and reloads groups through it.
#[derive(Debug, Default)]
pub struct MemoryStore {
    groups: Mutex<HashMap<Vec<u8>, MemoryGroup>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut HashMap<Vec<u8>, MemoryGroup>) -> R) -> R {
        // Every mutation below completes or changes nothing before it can
        // panic, so a poisoned lock holds a consistent map.
        f(&mut self.groups.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Store for MemoryStore {
    fn create_group(&self, group_id: &[u8], snapshot: &Snapshot, group_info: &[u8]) -> Result<bool, StoreError> {
        self.with(|groups| {
            if groups.contains_key(group_id) {
                return Ok(false);
            }
            let mut g = MemoryGroup { head: snapshot.seq, epoch: snapshot.epoch, ..MemoryGroup::default() };
            g.snapshots.insert(snapshot.seq, snapshot.clone());
            g.group_infos.insert(snapshot.epoch, (group_info.to_vec(), now_ms()));
            groups.insert(group_id.to_vec(), g);
            Ok(true)
        })
    }

    fn load_group(&self, group_id: &[u8]) -> Result<Option<StoredGroup>, StoreError> {
        self.with(|groups| {
            let Some(g) = groups.get(group_id) else { return Ok(None) };
            let Some(snapshot) = g.snapshots.values().next_back().cloned() else {
                return Err(StoreError::Corrupt("no snapshot".into()));
            };
            let entries = g.log.range(snapshot.seq.saturating_add(1)..).map(|(_, e)| e.clone()).collect();
            Ok(Some(StoredGroup {
                head: g.head,
                epoch: g.epoch,
                snapshot,
                entries,
                group_info: g.group_infos.get(&g.epoch).map(|(gi, _)| gi.clone()),
            }))
        })
    }

    fn append(
        &self,
        group_id: &[u8],
        expected_head: u64,
        new_epoch: u64,
        entry: &LogEntry,
    ) -> Result<Append, StoreError> {
        self.with(|groups| {
            let Some(g) = groups.get_mut(group_id) else {
                return Err(StoreError::Unavailable("the group is not stored".into()));
            };
            if g.head != expected_head {
                return Ok(Append::Conflict { head: g.head, epoch: g.epoch });
            }
            g.head = entry.seq;
            g.epoch = new_epoch;
            g.log.insert(entry.seq, entry.clone());
            Ok(Append::Appended)
        })
    }

    fn entries_after(&self, group_id: &[u8], seq: u64) -> Result<Vec<LogEntry>, StoreError> {
        self.with(|groups| {
            Ok(groups
                .get(group_id)
                .map(|g| g.log.range(seq.saturating_add(1)..).map(|(_, e)| e.clone()).collect())
                .unwrap_or_default())
        })
    }

    fn entries_since_epoch(&self, group_id: &[u8], epoch: u64) -> Result<Vec<LogEntry>, StoreError> {
        self.with(|groups| {
            Ok(groups
                .get(group_id)
                .map(|g| g.log.values().filter(|e| e.epoch >= epoch).cloned().collect())
                .unwrap_or_default())
        })
    }

    fn put_snapshot(&self, group_id: &[u8], snapshot: &Snapshot) -> Result<(), StoreError> {
        self.with(|groups| {
            if let Some(g) = groups.get_mut(group_id) {
                g.snapshots.entry(snapshot.seq).or_insert_with(|| snapshot.clone());
            }
            Ok(())
        })
    }

    fn put_group_info(&self, group_id: &[u8], epoch: u64, group_info: &[u8]) -> Result<(), StoreError> {
        self.with(|groups| {
            if let Some(g) = groups.get_mut(group_id) {
                g.group_infos.insert(epoch, (group_info.to_vec(), now_ms()));
            }
            Ok(())
        })
    }

    fn group_info(&self, group_id: &[u8], epoch: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|groups| Ok(groups.get(group_id).and_then(|g| g.group_infos.get(&epoch)).map(|(gi, _)| gi.clone())))
    }

    fn compact(&self, group_id: &[u8], c: &Compaction) -> Result<Compacted, StoreError> {
        self.with(|groups| {
            let Some(g) = groups.get_mut(group_id) else { return Ok(Compacted::default()) };
            let mut done = Compacted::default();
            let latest = g.snapshots.keys().next_back().copied().unwrap_or(0);
            let before = g.snapshots.len();
            g.snapshots.retain(|&seq, _| seq >= latest);
            done.snapshots = (before - g.snapshots.len()) as u64;
            let covered = c.covered_seq.min(latest);
            let before = g.log.len();
            g.log.retain(|&seq, e| !(seq <= covered && e.epoch < c.before_epoch && e.created_at_ms < c.before_ms));
            done.entries = (before - g.log.len()) as u64;
            let before = g.group_infos.len();
            g.group_infos.retain(|&epoch, (_, at)| !(epoch < c.before_epoch && *at < c.before_ms));
            done.group_infos = (before - g.group_infos.len()) as u64;
            Ok(done)
        })
    }

    fn remove_group(&self, group_id: &[u8]) -> Result<bool, StoreError> {
        self.with(|groups| Ok(groups.remove(group_id).is_some()))
    }
}

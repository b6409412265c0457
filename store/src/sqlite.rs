//! [`SqliteStore`]: a registry's groups in one SQLite file, durable at
//! every acknowledged message (WAL, `synchronous = FULL`).

use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use throng::store::{Append, Compacted, Compaction, LogEntry, Snapshot, Store, StoreError, StoredGroup, now_ms};

use crate::{entry_from_row, to_i64, to_u64};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS throng_groups (
    group_id      BLOB    PRIMARY KEY,
    head          INTEGER NOT NULL,
    epoch         INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS throng_log (
    group_id      BLOB    NOT NULL,
    seq           INTEGER NOT NULL,
    epoch         INTEGER NOT NULL,
    kind          INTEGER NOT NULL,
    message       BLOB    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (group_id, seq)
);
CREATE INDEX IF NOT EXISTS throng_log_by_epoch ON throng_log (group_id, epoch);
CREATE TABLE IF NOT EXISTS throng_snapshots (
    group_id      BLOB    NOT NULL,
    seq           INTEGER NOT NULL,
    epoch         INTEGER NOT NULL,
    state         BLOB    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (group_id, seq)
);
CREATE TABLE IF NOT EXISTS throng_group_infos (
    group_id      BLOB    NOT NULL,
    epoch         INTEGER NOT NULL,
    group_info    BLOB    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (group_id, epoch)
);
";

/// A [`Store`] in a SQLite file: the durable default for one node. Every
/// write is one transaction, committed to the write-ahead log with
/// `synchronous = FULL` before the registry acknowledges anything, so a
/// crash (or power loss) loses nothing acknowledged. Several processes may
/// open the same file: `append` takes SQLite's write lock
/// (`BEGIN IMMEDIATE`) for its compare-and-set.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// WAL: readers do not block the writer; FULL: the WAL is synced at every
/// commit, so an acknowledged message survives power loss too. The schema
/// is created under the write lock (`BEGIN IMMEDIATE`), so that a second
/// process waits for the first instead of failing.
fn setup(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(SCHEMA)?;
    tx.commit()
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}

fn unavailable(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(format!("sqlite: {e}"))
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::with_connection(Connection::open(path).map_err(unavailable)?)
    }

    /// A database in memory (for tests: nothing survives the process).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::with_connection(Connection::open_in_memory().map_err(unavailable)?)
    }

    fn with_connection(mut conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT).map_err(unavailable)?;
        // Several processes opening one new file race to switch it to WAL
        // and create the schema. Where waiting could deadlock (a read lock
        // to be upgraded), SQLite returns SQLITE_BUSY without calling the
        // busy handler, so the setup itself is retried for as long as the
        // busy timeout.
        let deadline = Instant::now() + BUSY_TIMEOUT;
        loop {
            match setup(&mut conn) {
                Ok(()) => return Ok(Self { conn: Mutex::new(conn) }),
                Err(e) if is_busy(&e) && Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(unavailable(e)),
            }
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Connection) -> Result<R, StoreError>) -> Result<R, StoreError> {
        // A panic inside `f` leaves at most an open transaction, which
        // rusqlite rolls back when it is dropped.
        f(&mut self.conn.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

fn read_entries(conn: &Connection, sql: &str, group_id: &[u8], from: u64) -> Result<Vec<LogEntry>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(unavailable)?;
    let rows = stmt
        .query_map(params![group_id, to_i64(from)?], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })
        .map_err(unavailable)?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, epoch, kind, message, at) = row.map_err(unavailable)?;
        out.push(entry_from_row(seq, epoch, kind, message, at)?);
    }
    Ok(out)
}

const ENTRIES_AFTER: &str = "SELECT seq, epoch, kind, message, created_at_ms FROM throng_log \
                             WHERE group_id = ?1 AND seq > ?2 ORDER BY seq";
const ENTRIES_SINCE_EPOCH: &str = "SELECT seq, epoch, kind, message, created_at_ms FROM throng_log \
                                   WHERE group_id = ?1 AND epoch >= ?2 ORDER BY seq";

impl Store for SqliteStore {
    fn create_group(&self, group_id: &[u8], snapshot: &Snapshot, group_info: &[u8]) -> Result<bool, StoreError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            let now = to_i64(now_ms())?;
            let created = tx
                .execute(
                    "INSERT INTO throng_groups (group_id, head, epoch, updated_at_ms) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (group_id) DO NOTHING",
                    params![group_id, to_i64(snapshot.seq)?, to_i64(snapshot.epoch)?, now],
                )
                .map_err(unavailable)?;
            if created == 0 {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO throng_snapshots (group_id, seq, epoch, state, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![group_id, to_i64(snapshot.seq)?, to_i64(snapshot.epoch)?, snapshot.state, now],
            )
            .map_err(unavailable)?;
            tx.execute(
                "INSERT INTO throng_group_infos (group_id, epoch, group_info, created_at_ms) VALUES (?1, ?2, ?3, ?4)",
                params![group_id, to_i64(snapshot.epoch)?, group_info, now],
            )
            .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            Ok(true)
        })
    }

    fn load_group(&self, group_id: &[u8]) -> Result<Option<StoredGroup>, StoreError> {
        self.with(|conn| {
            // One read transaction: a consistent picture while writers go on.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred).map_err(unavailable)?;
            let row = tx
                .query_row("SELECT head, epoch FROM throng_groups WHERE group_id = ?1", params![group_id], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
                })
                .optional()
                .map_err(unavailable)?;
            let Some((head, epoch)) = row else { return Ok(None) };
            let (head, epoch) = (to_u64(head)?, to_u64(epoch)?);
            let snapshot = tx
                .query_row(
                    "SELECT seq, epoch, state FROM throng_snapshots WHERE group_id = ?1 ORDER BY seq DESC LIMIT 1",
                    params![group_id],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Vec<u8>>(2)?)),
                )
                .optional()
                .map_err(unavailable)?
                .ok_or_else(|| StoreError::Corrupt("the group has no snapshot".into()))?;
            let snapshot = Snapshot { seq: to_u64(snapshot.0)?, epoch: to_u64(snapshot.1)?, state: snapshot.2 };
            let entries = read_entries(&tx, ENTRIES_AFTER, group_id, snapshot.seq)?;
            let group_info = tx
                .query_row(
                    "SELECT group_info FROM throng_group_infos WHERE group_id = ?1 AND epoch = ?2",
                    params![group_id, to_i64(epoch)?],
                    |r| r.get::<_, Vec<u8>>(0),
                )
                .optional()
                .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            Ok(Some(StoredGroup { head, epoch, snapshot, entries, group_info }))
        })
    }

    fn append(
        &self,
        group_id: &[u8],
        expected_head: u64,
        new_epoch: u64,
        entry: &LogEntry,
    ) -> Result<Append, StoreError> {
        self.with(|conn| {
            // IMMEDIATE: the write lock first, so that the compare-and-set
            // and the insert are one step for every process on the file.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            let moved = tx
                .execute(
                    "UPDATE throng_groups SET head = ?3, epoch = ?4, updated_at_ms = ?5 \
                     WHERE group_id = ?1 AND head = ?2",
                    params![
                        group_id,
                        to_i64(expected_head)?,
                        to_i64(entry.seq)?,
                        to_i64(new_epoch)?,
                        to_i64(now_ms())?
                    ],
                )
                .map_err(unavailable)?;
            if moved == 0 {
                let row = tx
                    .query_row("SELECT head, epoch FROM throng_groups WHERE group_id = ?1", params![group_id], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
                    })
                    .optional()
                    .map_err(unavailable)?;
                let Some((head, epoch)) = row else {
                    return Err(StoreError::Unavailable("the group is not stored".into()));
                };
                return Ok(Append::Conflict { head: to_u64(head)?, epoch: to_u64(epoch)? });
            }
            tx.execute(
                "INSERT INTO throng_log (group_id, seq, epoch, kind, message, created_at_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    group_id,
                    to_i64(entry.seq)?,
                    to_i64(entry.epoch)?,
                    entry.kind.code(),
                    entry.message,
                    to_i64(entry.created_at_ms)?
                ],
            )
            .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            Ok(Append::Appended)
        })
    }

    fn entries_after(&self, group_id: &[u8], seq: u64) -> Result<Vec<LogEntry>, StoreError> {
        self.with(|conn| read_entries(conn, ENTRIES_AFTER, group_id, seq))
    }

    fn entries_since_epoch(&self, group_id: &[u8], epoch: u64) -> Result<Vec<LogEntry>, StoreError> {
        self.with(|conn| read_entries(conn, ENTRIES_SINCE_EPOCH, group_id, epoch))
    }

    fn put_snapshot(&self, group_id: &[u8], snapshot: &Snapshot) -> Result<(), StoreError> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO throng_snapshots (group_id, seq, epoch, state, created_at_ms) \
                 SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM throng_groups WHERE group_id = ?1) \
                 ON CONFLICT (group_id, seq) DO NOTHING",
                params![group_id, to_i64(snapshot.seq)?, to_i64(snapshot.epoch)?, snapshot.state, to_i64(now_ms())?],
            )
            .map_err(unavailable)?;
            Ok(())
        })
    }

    fn put_group_info(&self, group_id: &[u8], epoch: u64, group_info: &[u8]) -> Result<(), StoreError> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO throng_group_infos (group_id, epoch, group_info, created_at_ms) \
                 SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM throng_groups WHERE group_id = ?1) \
                 ON CONFLICT (group_id, epoch) DO UPDATE SET group_info = excluded.group_info, \
                 created_at_ms = excluded.created_at_ms",
                params![group_id, to_i64(epoch)?, group_info, to_i64(now_ms())?],
            )
            .map_err(unavailable)?;
            Ok(())
        })
    }

    fn group_info(&self, group_id: &[u8], epoch: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|conn| {
            conn.query_row(
                "SELECT group_info FROM throng_group_infos WHERE group_id = ?1 AND epoch = ?2",
                params![group_id, to_i64(epoch)?],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .optional()
            .map_err(unavailable)
        })
    }

    fn compact(&self, group_id: &[u8], c: &Compaction) -> Result<Compacted, StoreError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            let latest: Option<i64> = tx
                .query_row("SELECT MAX(seq) FROM throng_snapshots WHERE group_id = ?1", params![group_id], |r| r.get(0))
                .map_err(unavailable)?;
            let Some(latest) = latest else { return Ok(Compacted::default()) };
            let covered = to_i64(c.covered_seq)?.min(latest);
            let (before_epoch, before_ms) = (to_i64(c.before_epoch)?, to_i64(c.before_ms)?);
            let snapshots = tx
                .execute("DELETE FROM throng_snapshots WHERE group_id = ?1 AND seq < ?2", params![group_id, latest])
                .map_err(unavailable)?;
            let entries = tx
                .execute(
                    "DELETE FROM throng_log WHERE group_id = ?1 AND seq <= ?2 AND epoch < ?3 AND created_at_ms < ?4",
                    params![group_id, covered, before_epoch, before_ms],
                )
                .map_err(unavailable)?;
            let group_infos = tx
                .execute(
                    "DELETE FROM throng_group_infos WHERE group_id = ?1 AND epoch < ?2 AND created_at_ms < ?3",
                    params![group_id, before_epoch, before_ms],
                )
                .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            Ok(Compacted { entries: entries as u64, snapshots: snapshots as u64, group_infos: group_infos as u64 })
        })
    }

    fn remove_group(&self, group_id: &[u8]) -> Result<bool, StoreError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            let removed =
                tx.execute("DELETE FROM throng_groups WHERE group_id = ?1", params![group_id]).map_err(unavailable)?;
            for table in ["throng_log", "throng_snapshots", "throng_group_infos"] {
                tx.execute(&format!("DELETE FROM {table} WHERE group_id = ?1"), params![group_id])
                    .map_err(unavailable)?;
            }
            tx.commit().map_err(unavailable)?;
            Ok(removed > 0)
        })
    }
}

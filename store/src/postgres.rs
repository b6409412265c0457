//! [`PgStore`]: a registry's groups in PostgreSQL (or a database that
//! speaks its protocol and SQL: CockroachDB, YugabyteDB), shared by several
//! DS nodes.
//!
//! The [`Store`] trait is blocking (the registry runs on blocking threads
//! and rayon, never on an executor), so the store owns a small tokio
//! runtime that drives tokio-postgres and its pool (deadpool-postgres); a
//! call spawns its future there and waits on a channel, which works from
//! any thread, an async executor's included.

use std::future::Future;
use std::str::FromStr;
use std::sync::mpsc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::{IsolationLevel, NoTls, Row};

use throng::store::{Append, Compacted, Compaction, LogEntry, Snapshot, Store, StoreError, StoredGroup, now_ms};

use crate::{entry_from_row, to_i64, to_u64};

/// The tables; `IF NOT EXISTS` so that every node may run it at start.
const SCHEMA: [&str; 5] = [
    "CREATE TABLE IF NOT EXISTS throng_groups (
        group_id      BYTEA    PRIMARY KEY,
        head          BIGINT   NOT NULL,
        epoch         BIGINT   NOT NULL,
        updated_at_ms BIGINT   NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS throng_log (
        group_id      BYTEA    NOT NULL,
        seq           BIGINT   NOT NULL,
        epoch         BIGINT   NOT NULL,
        kind          SMALLINT NOT NULL,
        message       BYTEA    NOT NULL,
        created_at_ms BIGINT   NOT NULL,
        PRIMARY KEY (group_id, seq)
    )",
    "CREATE INDEX IF NOT EXISTS throng_log_by_epoch ON throng_log (group_id, epoch)",
    "CREATE TABLE IF NOT EXISTS throng_snapshots (
        group_id      BYTEA    NOT NULL,
        seq           BIGINT   NOT NULL,
        epoch         BIGINT   NOT NULL,
        state         BYTEA    NOT NULL,
        created_at_ms BIGINT   NOT NULL,
        PRIMARY KEY (group_id, seq)
    )",
    "CREATE TABLE IF NOT EXISTS throng_group_infos (
        group_id      BYTEA    NOT NULL,
        epoch         BIGINT   NOT NULL,
        group_info    BYTEA    NOT NULL,
        created_at_ms BIGINT   NOT NULL,
        PRIMARY KEY (group_id, epoch)
    )",
];

/// The compare-and-set append, one statement (so one implicit transaction
/// and one round trip): the group row moves only if its head is still the
/// expected one, and the entry is inserted only if it moved. Data-modifying
/// statements in `WITH` are PostgreSQL's, also accepted by CockroachDB and
/// YugabyteDB.
const APPEND: &str = "WITH moved AS (
        UPDATE throng_groups SET head = $3, epoch = $4, updated_at_ms = $7
        WHERE group_id = $1 AND head = $2
        RETURNING group_id
    )
    INSERT INTO throng_log (group_id, seq, epoch, kind, message, created_at_ms)
    SELECT group_id, $3::BIGINT, $5::BIGINT, $6::SMALLINT, $8::BYTEA, $7::BIGINT FROM moved";

/// How a [`PgStore`] connects.
#[derive(Clone, Debug)]
pub struct PgOptions {
    /// Connections in the pool.
    pub pool_size: usize,
    /// Threads of the store's runtime (they only move bytes).
    pub runtime_threads: usize,
    /// Bound on each operation: connecting, waiting for a pooled
    /// connection, and the statements. Past it the call is
    /// [`StoreError::Unavailable`].
    pub timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self { pool_size: 16, runtime_threads: 2, timeout: Duration::from_secs(10) }
    }
}

/// A [`Store`] in PostgreSQL, for several DS nodes sharing groups. Each
/// append is one atomic statement (see the crate documentation for the SQL
/// features relied on); every acknowledged message is committed.
pub struct PgStore {
    pool: Pool,
    runtime: Option<tokio::runtime::Runtime>,
    timeout: Duration,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("pool", &self.pool.status()).finish_non_exhaustive()
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which tokio refuses inside another
        // runtime (a registry dropped on an async task): let it wind down
        // in the background instead.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("postgres: {e}"))
}

fn pg(e: tokio_postgres::Error) -> StoreError {
    unavailable(e)
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`, or
    /// `host=/socket/dir user=… dbname=…`) with the default [`PgOptions`]
    /// and creates the tables if they are missing.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PgOptions::default())
    }

    /// [`connect`](Self::connect) with options.
    pub fn connect_with(url: &str, options: PgOptions) -> Result<Self, StoreError> {
        let mut config = tokio_postgres::Config::from_str(url).map_err(pg)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.timeout);
        }
        config.application_name("throng");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.runtime_threads.max(1))
            .thread_name("throng-pg")
            .enable_all()
            .build()
            .map_err(unavailable)?;
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.timeout))
            .create_timeout(Some(options.timeout))
            .recycle_timeout(Some(options.timeout))
            .build()
            .map_err(unavailable)?;
        let store = Self { pool, runtime: Some(runtime), timeout: options.timeout };
        store.migrate()?;
        Ok(store)
    }

    /// Runs `f` on the store's runtime and waits for it, within the timeout.
    fn run<T, F>(&self, f: impl FnOnce(Pool) -> F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let runtime = self.runtime.as_ref().ok_or_else(|| unavailable("the store is shut down"))?;
        let (tx, rx) = mpsc::sync_channel(1);
        let fut = f(self.pool.clone());
        let timeout = self.timeout;
        runtime.spawn(async move {
            let r = match tokio::time::timeout(timeout, fut).await {
                Ok(r) => r,
                Err(_) => Err(unavailable(format!("no answer within {timeout:?}"))),
            };
            let _ = tx.send(r);
        });
        rx.recv().map_err(|_| unavailable("the store's runtime stopped"))?
    }

    /// Creates the tables. Nodes starting together may race on `IF NOT
    /// EXISTS` (PostgreSQL checks it before its catalog insert), so a
    /// failure is retried.
    fn migrate(&self) -> Result<(), StoreError> {
        let mut last = None;
        for attempt in 0..5u64 {
            let r = self.run(|pool| async move {
                let client = pool.get().await.map_err(unavailable)?;
                for statement in SCHEMA {
                    client.batch_execute(statement).await.map_err(pg)?;
                }
                Ok(())
            });
            match r {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
            std::thread::sleep(Duration::from_millis(50 * (attempt + 1)));
        }
        Err(last.unwrap_or_else(|| unavailable("migration failed")))
    }
}

fn entries_from(rows: Vec<Row>) -> Result<Vec<LogEntry>, StoreError> {
    rows.into_iter()
        .map(|r| {
            entry_from_row(
                r.try_get(0).map_err(pg)?,
                r.try_get(1).map_err(pg)?,
                i64::from(r.try_get::<_, i16>(2).map_err(pg)?),
                r.try_get(3).map_err(pg)?,
                r.try_get(4).map_err(pg)?,
            )
        })
        .collect()
}

const ENTRIES_AFTER: &str = "SELECT seq, epoch, kind, message, created_at_ms FROM throng_log \
                             WHERE group_id = $1 AND seq > $2 ORDER BY seq";
const ENTRIES_SINCE_EPOCH: &str = "SELECT seq, epoch, kind, message, created_at_ms FROM throng_log \
                                   WHERE group_id = $1 AND epoch >= $2 ORDER BY seq";

fn is_retryable(e: &tokio_postgres::Error) -> bool {
    // CockroachDB (serializable) and PostgreSQL under contention ask the
    // client to retry a transaction that did not commit.
    matches!(e.code(), Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED)
}

impl Store for PgStore {
    fn create_group(&self, group_id: &[u8], snapshot: &Snapshot, group_info: &[u8]) -> Result<bool, StoreError> {
        let (gid, gi, snap) = (group_id.to_vec(), group_info.to_vec(), snapshot.clone());
        self.run(|pool| async move {
            let mut client = pool.get().await.map_err(unavailable)?;
            let tx = client.transaction().await.map_err(pg)?;
            let now = to_i64(now_ms())?;
            let (seq, epoch) = (to_i64(snap.seq)?, to_i64(snap.epoch)?);
            let created = tx
                .execute(
                    "INSERT INTO throng_groups (group_id, head, epoch, updated_at_ms) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (group_id) DO NOTHING",
                    &[&gid, &seq, &epoch, &now],
                )
                .await
                .map_err(pg)?;
            if created == 0 {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO throng_snapshots (group_id, seq, epoch, state, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
                &[&gid, &seq, &epoch, &snap.state, &now],
            )
            .await
            .map_err(pg)?;
            tx.execute(
                "INSERT INTO throng_group_infos (group_id, epoch, group_info, created_at_ms) VALUES ($1, $2, $3, $4)",
                &[&gid, &epoch, &gi, &now],
            )
            .await
            .map_err(pg)?;
            tx.commit().await.map_err(pg)?;
            Ok(true)
        })
    }

    fn load_group(&self, group_id: &[u8]) -> Result<Option<StoredGroup>, StoreError> {
        let gid = group_id.to_vec();
        self.run(|pool| async move {
            let mut client = pool.get().await.map_err(unavailable)?;
            // One snapshot of the database for the row, the snapshot and
            // the entries after it.
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await
                .map_err(pg)?;
            let Some(row) =
                tx.query_opt("SELECT head, epoch FROM throng_groups WHERE group_id = $1", &[&gid]).await.map_err(pg)?
            else {
                return Ok(None);
            };
            let head = to_u64(row.try_get(0).map_err(pg)?)?;
            let epoch_i: i64 = row.try_get(1).map_err(pg)?;
            let epoch = to_u64(epoch_i)?;
            let snap = tx
                .query_opt(
                    "SELECT seq, epoch, state FROM throng_snapshots WHERE group_id = $1 ORDER BY seq DESC LIMIT 1",
                    &[&gid],
                )
                .await
                .map_err(pg)?
                .ok_or_else(|| StoreError::Corrupt("the group has no snapshot".into()))?;
            let snapshot = Snapshot {
                seq: to_u64(snap.try_get(0).map_err(pg)?)?,
                epoch: to_u64(snap.try_get(1).map_err(pg)?)?,
                state: snap.try_get(2).map_err(pg)?,
            };
            let entries = entries_from(tx.query(ENTRIES_AFTER, &[&gid, &to_i64(snapshot.seq)?]).await.map_err(pg)?)?;
            let group_info = tx
                .query_opt(
                    "SELECT group_info FROM throng_group_infos WHERE group_id = $1 AND epoch = $2",
                    &[&gid, &epoch_i],
                )
                .await
                .map_err(pg)?
                .map(|r| r.try_get::<_, Vec<u8>>(0))
                .transpose()
                .map_err(pg)?;
            tx.commit().await.map_err(pg)?;
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
        let (gid, entry) = (group_id.to_vec(), entry.clone());
        self.run(move |pool| async move {
            let client = pool.get().await.map_err(unavailable)?;
            let append = client.prepare_cached(APPEND).await.map_err(pg)?;
            let (expected, seq, new_epoch, epoch) =
                (to_i64(expected_head)?, to_i64(entry.seq)?, to_i64(new_epoch)?, to_i64(entry.epoch)?);
            let (kind, at) = (entry.kind.code(), to_i64(entry.created_at_ms)?);
            let mut attempt = 0;
            let appended = loop {
                match client
                    .execute(&append, &[&gid, &expected, &seq, &new_epoch, &epoch, &kind, &at, &entry.message])
                    .await
                {
                    Ok(n) => break n,
                    // Not committed: the compare-and-set may run again.
                    Err(e) if is_retryable(&e) && attempt < 5 => attempt += 1,
                    Err(e) => return Err(pg(e)),
                }
            };
            if appended == 1 {
                return Ok(Append::Appended);
            }
            let row = client
                .query_opt("SELECT head, epoch FROM throng_groups WHERE group_id = $1", &[&gid])
                .await
                .map_err(pg)?
                .ok_or_else(|| unavailable("the group is not stored"))?;
            Ok(Append::Conflict {
                head: to_u64(row.try_get(0).map_err(pg)?)?,
                epoch: to_u64(row.try_get(1).map_err(pg)?)?,
            })
        })
    }

    fn entries_after(&self, group_id: &[u8], seq: u64) -> Result<Vec<LogEntry>, StoreError> {
        let gid = group_id.to_vec();
        self.run(move |pool| async move {
            let client = pool.get().await.map_err(unavailable)?;
            let stmt = client.prepare_cached(ENTRIES_AFTER).await.map_err(pg)?;
            entries_from(client.query(&stmt, &[&gid, &to_i64(seq)?]).await.map_err(pg)?)
        })
    }

    fn entries_since_epoch(&self, group_id: &[u8], epoch: u64) -> Result<Vec<LogEntry>, StoreError> {
        let gid = group_id.to_vec();
        self.run(move |pool| async move {
            let client = pool.get().await.map_err(unavailable)?;
            let stmt = client.prepare_cached(ENTRIES_SINCE_EPOCH).await.map_err(pg)?;
            entries_from(client.query(&stmt, &[&gid, &to_i64(epoch)?]).await.map_err(pg)?)
        })
    }

    fn put_snapshot(&self, group_id: &[u8], snapshot: &Snapshot) -> Result<(), StoreError> {
        let (gid, snap) = (group_id.to_vec(), snapshot.clone());
        self.run(move |pool| async move {
            let client = pool.get().await.map_err(unavailable)?;
            client
                .execute(
                    "INSERT INTO throng_snapshots (group_id, seq, epoch, state, created_at_ms) \
                     SELECT $1::BYTEA, $2::BIGINT, $3::BIGINT, $4::BYTEA, $5::BIGINT \
                     WHERE EXISTS (SELECT 1 FROM throng_groups WHERE group_id = $1) \
                     ON CONFLICT (group_id, seq) DO NOTHING",
                    &[&gid, &to_i64(snap.seq)?, &to_i64(snap.epoch)?, &snap.state, &to_i64(now_ms())?],
                )
                .await
                .map_err(pg)?;
            Ok(())
        })
    }

    fn put_group_info(&self, group_id: &[u8], epoch: u64, group_info: &[u8]) -> Result<(), StoreError> {
        let (gid, gi) = (group_id.to_vec(), group_info.to_vec());
        self.run(move |pool| async move {
            let client = pool.get().await.map_err(unavailable)?;
            client
                .execute(
                    "INSERT INTO throng_group_infos (group_id, epoch, group_info, created_at_ms) \
                     SELECT $1::BYTEA, $2::BIGINT, $3::BYTEA, $4::BIGINT \
                     WHERE EXISTS (SELECT 1 FROM throng_groups WHERE group_id = $1) \
                     ON CONFLICT (group_id, epoch) DO UPDATE SET group_info = excluded.group_info, \
                     created_at_ms = excluded.created_at_ms",
                    &[&gid, &to_i64(epoch)?, &gi, &to_i64(now_ms())?],
                )
                .await
                .map_err(pg)?;
            Ok(())
        })
    }

    fn group_info(&self, group_id: &[u8], epoch: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let gid = group_id.to_vec();
        self.run(move |pool| async move {
            let client = pool.get().await.map_err(unavailable)?;
            client
                .query_opt(
                    "SELECT group_info FROM throng_group_infos WHERE group_id = $1 AND epoch = $2",
                    &[&gid, &to_i64(epoch)?],
                )
                .await
                .map_err(pg)?
                .map(|r| r.try_get::<_, Vec<u8>>(0))
                .transpose()
                .map_err(pg)
        })
    }

    fn compact(&self, group_id: &[u8], c: &Compaction) -> Result<Compacted, StoreError> {
        let (gid, c) = (group_id.to_vec(), *c);
        self.run(move |pool| async move {
            let mut client = pool.get().await.map_err(unavailable)?;
            let tx = client.transaction().await.map_err(pg)?;
            let latest: Option<i64> = tx
                .query_one("SELECT MAX(seq) FROM throng_snapshots WHERE group_id = $1", &[&gid])
                .await
                .map_err(pg)?
                .try_get(0)
                .map_err(pg)?;
            let Some(latest) = latest else { return Ok(Compacted::default()) };
            let covered = to_i64(c.covered_seq)?.min(latest);
            let (before_epoch, before_ms) = (to_i64(c.before_epoch)?, to_i64(c.before_ms)?);
            let snapshots = tx
                .execute("DELETE FROM throng_snapshots WHERE group_id = $1 AND seq < $2", &[&gid, &latest])
                .await
                .map_err(pg)?;
            let entries = tx
                .execute(
                    "DELETE FROM throng_log WHERE group_id = $1 AND seq <= $2 AND epoch < $3 AND created_at_ms < $4",
                    &[&gid, &covered, &before_epoch, &before_ms],
                )
                .await
                .map_err(pg)?;
            let group_infos = tx
                .execute(
                    "DELETE FROM throng_group_infos WHERE group_id = $1 AND epoch < $2 AND created_at_ms < $3",
                    &[&gid, &before_epoch, &before_ms],
                )
                .await
                .map_err(pg)?;
            tx.commit().await.map_err(pg)?;
            Ok(Compacted { entries, snapshots, group_infos })
        })
    }

    fn remove_group(&self, group_id: &[u8]) -> Result<bool, StoreError> {
        let gid = group_id.to_vec();
        self.run(move |pool| async move {
            let mut client = pool.get().await.map_err(unavailable)?;
            let tx = client.transaction().await.map_err(pg)?;
            let removed = tx.execute("DELETE FROM throng_groups WHERE group_id = $1", &[&gid]).await.map_err(pg)?;
            for table in ["throng_log", "throng_snapshots", "throng_group_infos"] {
                tx.execute(&format!("DELETE FROM {table} WHERE group_id = $1"), &[&gid]).await.map_err(pg)?;
            }
            tx.commit().await.map_err(pg)?;
            Ok(removed > 0)
        })
    }
}

//! Durable stores for throng's delivery-service [`Registry`](throng::Registry)
//! (the [`Store`](throng::store::Store) trait of `throng::store`):
//!
//! - [`SqliteStore`] (feature `sqlite`): one SQLite file, the durable
//!   default for a single node (rusqlite with its bundled SQLite, so no
//!   system library is needed);
//! - [`PgStore`] (feature `postgres`): PostgreSQL, for several DS nodes
//!   that share groups (tokio-postgres with a deadpool-postgres pool).
//!
//! They live outside the engine so that an embedder who keeps groups in
//! memory, or writes its own store, links no database client.
//!
//! # Choices
//!
//! - **A blocking trait.** The registry validates on rayon and on blocking
//!   threads, and installs a new state under a lock with sequential work
//!   only; an async trait would put an executor inside the registry. The
//!   PostgreSQL store drives its async client on a runtime of its own and
//!   waits on a channel, which works from any thread.
//! - **tokio-postgres with deadpool-postgres** rather than sqlx: the store
//!   runs a dozen fixed statements, so sqlx's query macros and its own
//!   driver add build time and dependencies for nothing; tokio-postgres is
//!   the most used native PostgreSQL client for tokio, and deadpool a small
//!   pool over it with connect and wait timeouts.
//! - **rusqlite with `bundled`**: SQLite compiled in, no system library.
//!
//! # SQL relied on
//!
//! Four tables (`throng_groups`, `throng_log`, `throng_snapshots`,
//! `throng_group_infos`) of `BYTEA`/`BIGINT`/`SMALLINT` columns with
//! composite primary keys and one secondary index, created with
//! `CREATE TABLE IF NOT EXISTS`. Statements use `INSERT … ON CONFLICT DO
//! NOTHING / DO UPDATE`, `INSERT … SELECT … WHERE EXISTS`, a data-modifying
//! `WITH … UPDATE … RETURNING` feeding an `INSERT` (the compare-and-set
//! append, one statement), `REPEATABLE READ READ ONLY` transactions for
//! loading a group, and `SELECT MAX`/`ORDER BY … LIMIT`. No stored
//! procedures, advisory locks, `LISTEN/NOTIFY`, sequences or extensions:
//! CockroachDB and YugabyteDB accept all of it (CockroachDB runs it
//! serializable and may ask for a retry, SQLSTATE 40001, which the append
//! does).

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "postgres")]
pub use postgres::{PgOptions, PgStore};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

use std::sync::Arc;

use throng::store::{EntryKind, LogEntry, MemoryStore, Store, StoreError};

/// Opens the store a URL names: `postgres://…` or `postgresql://…`
/// ([`PgStore`]), `sqlite:PATH` or a plain path ([`SqliteStore`]), and
/// `memory:` ([`MemoryStore`]).
pub fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url == "memory:" {
        return Ok(Arc::new(MemoryStore::new()));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        return Ok(Arc::new(PgStore::connect(url)?));
        #[cfg(not(feature = "postgres"))]
        return Err(StoreError::Unavailable("built without the `postgres` feature".into()));
    }
    let path = url.strip_prefix("sqlite:").unwrap_or(url);
    #[cfg(feature = "sqlite")]
    return Ok(Arc::new(SqliteStore::open(path)?));
    #[cfg(not(feature = "sqlite"))]
    {
        let _ = path;
        Err(StoreError::Unavailable("built without the `sqlite` feature".into()))
    }
}

/// A `u64` as the `BIGINT` both databases store (values past `i64::MAX`
/// are refused, never wrapped).
pub(crate) fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Unavailable(format!("{v} does not fit a BIGINT")))
}

/// A stored `BIGINT` read back: negative is a damaged store.
pub(crate) fn to_u64(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative value {v} where a count is stored")))
}

/// A log row read back, checked.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn entry_from_row(
    seq: i64,
    epoch: i64,
    kind: i64,
    message: Vec<u8>,
    at: i64,
) -> Result<LogEntry, StoreError> {
    Ok(LogEntry {
        seq: to_u64(seq)?,
        epoch: to_u64(epoch)?,
        kind: EntryKind::from_code(kind).ok_or_else(|| StoreError::Corrupt(format!("unknown entry kind {kind}")))?,
        message,
        created_at_ms: to_u64(at)?,
    })
}

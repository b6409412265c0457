//! The delivery service's nodes and their store (scenarios with
//! `[backend]`): each node is its own `Registry` over its own store handle
//! (for PostgreSQL its own `PgStore`, so its own connection pool), all on
//! one store, so that the commits of one group sent to different nodes are
//! ordered by the store's compare-and-set append (engine/src/server/mod.rs,
//! "Ordering: validate on a snapshot, decide in the store").
//!
//! A PostgreSQL run works in a schema of its own, created at the start and
//! dropped at the end, so that runs never see each other's groups and leave
//! nothing behind.

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use throng::crypto::CryptoProvider;
use throng::store::{
    Append, Compacted, Compaction, LogEntry, MemoryStore, Snapshot, Store, StoreError, StoreOptions, StoredGroup,
};
use throng::{PublicGroupConfig, Registry};

use crate::metrics::Metrics;
use crate::scenario::{Backend, StoreKind};

/// A node's store, timing each compare-and-set append (the store's part of
/// accepting a handshake message) into the run's metrics.
#[derive(Debug)]
pub struct TimedStore {
    inner: Arc<dyn Store>,
    node: usize,
    /// Where appends are recorded: the churn phase's metrics once it
    /// starts (build commits are not in the figures).
    record: Mutex<Option<Arc<Metrics>>>,
}

impl TimedStore {
    /// Records the appends from now on into `metrics`.
    pub fn record_into(&self, metrics: Arc<Metrics>) {
        *crate::metrics::lock(&self.record) = Some(metrics);
    }
}

impl Store for TimedStore {
    fn create_group(&self, group_id: &[u8], snapshot: &Snapshot, group_info: &[u8]) -> Result<bool, StoreError> {
        self.inner.create_group(group_id, snapshot, group_info)
    }

    fn load_group(&self, group_id: &[u8]) -> Result<Option<StoredGroup>, StoreError> {
        self.inner.load_group(group_id)
    }

    fn append(
        &self,
        group_id: &[u8],
        expected_head: u64,
        new_epoch: u64,
        entry: &LogEntry,
    ) -> Result<Append, StoreError> {
        let t = Instant::now();
        let out = self.inner.append(group_id, expected_head, new_epoch, entry);
        let elapsed = t.elapsed();
        if let Some(m) = crate::metrics::lock(&self.record).as_ref() {
            m.node_append(self.node, elapsed, matches!(out, Ok(Append::Conflict { .. })));
        }
        out
    }

    fn entries_after(&self, group_id: &[u8], seq: u64) -> Result<Vec<LogEntry>, StoreError> {
        self.inner.entries_after(group_id, seq)
    }

    fn entries_since_epoch(&self, group_id: &[u8], epoch: u64) -> Result<Vec<LogEntry>, StoreError> {
        self.inner.entries_since_epoch(group_id, epoch)
    }

    fn put_snapshot(&self, group_id: &[u8], snapshot: &Snapshot) -> Result<(), StoreError> {
        self.inner.put_snapshot(group_id, snapshot)
    }

    fn put_group_info(&self, group_id: &[u8], epoch: u64, group_info: &[u8]) -> Result<(), StoreError> {
        self.inner.put_group_info(group_id, epoch, group_info)
    }

    fn group_info(&self, group_id: &[u8], epoch: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.group_info(group_id, epoch)
    }

    fn compact(&self, group_id: &[u8], compaction: &Compaction) -> Result<Compacted, StoreError> {
        self.inner.compact(group_id, compaction)
    }

    fn remove_group(&self, group_id: &[u8]) -> Result<bool, StoreError> {
        self.inner.remove_group(group_id)
    }
}

/// The DS nodes of a run.
pub struct Nodes {
    /// One registry per node.
    pub registries: Vec<Arc<Registry>>,
    /// Their stores (empty without `[backend]`: the registry's own memory
    /// store, not timed).
    pub stores: Vec<Arc<TimedStore>>,
    /// What the report says of the store.
    pub description: String,
    schema: Option<PgSchema>,
}

impl Nodes {
    /// The nodes of `backend` (one node in memory when `None`); `pg_url`
    /// is the database of a PostgreSQL backend.
    pub fn open(
        backend: Option<&Backend>,
        pg_url: Option<&str>,
        provider: Arc<dyn CryptoProvider>,
    ) -> Result<Self, String> {
        let Some(backend) = backend else {
            return Ok(Self {
                registries: vec![Arc::new(Registry::new(provider))],
                stores: Vec::new(),
                description: "memory (one node)".into(),
                schema: None,
            });
        };
        let n = backend.nodes.max(1) as usize;
        let (inner, description, schema): (Vec<Arc<dyn Store>>, String, Option<PgSchema>) = match backend.store {
            StoreKind::Memory => {
                let shared: Arc<dyn Store> = Arc::new(MemoryStore::new());
                (vec![shared; n], "one in-process MemoryStore shared by the nodes".into(), None)
            }
            StoreKind::Postgres => {
                let url = pg_url.ok_or("the backend is PostgreSQL and no database URL was given")?;
                let schema = PgSchema::create(url)?;
                let options = throng_store::PgOptions::default();
                let stores = (0..n)
                    .map(|_| {
                        throng_store::PgStore::connect_with(&schema.url, options.clone())
                            .map(|s| Arc::new(s) as Arc<dyn Store>)
                            .map_err(|e| format!("PostgreSQL store: {e}"))
                    })
                    .collect::<Result<Vec<_>, _>>();
                let stores = match stores {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = schema.drop_schema();
                        return Err(e);
                    }
                };
                let description = format!(
                    "PostgreSQL {} (schema {}, dropped after the run), a PgStore per node with a pool of {} connections",
                    schema.server_version, schema.name, options.pool_size
                );
                (stores, description, Some(schema))
            }
        };
        let stores: Vec<Arc<TimedStore>> = inner
            .into_iter()
            .enumerate()
            .map(|(node, inner)| Arc::new(TimedStore { inner, node, record: Mutex::new(None) }))
            .collect();
        let registries = stores
            .iter()
            .map(|s| {
                Arc::new(Registry::with_store(
                    provider.clone(),
                    PublicGroupConfig::default(),
                    s.clone(),
                    StoreOptions::default(),
                ))
            })
            .collect();
        Ok(Self { registries, stores, description, schema })
    }

    /// Closes the nodes' stores, then drops the run's schema.
    pub fn close(self) -> Result<(), String> {
        let Self { registries, stores, schema, .. } = self;
        drop(registries);
        drop(stores);
        match schema {
            Some(s) => s.drop_schema(),
            None => Ok(()),
        }
    }
}

/// The run's own schema in PostgreSQL.
struct PgSchema {
    /// The database URL as given.
    base: String,
    /// The schema.
    name: String,
    /// The URL whose connections work in the schema (`search_path`).
    url: String,
    /// `SHOW server_version`.
    server_version: String,
}

/// Runs `f` with a client of `url` on a runtime of its own (the store's
/// clients have theirs; this one only creates and drops the schema).
fn with_client<T>(
    url: &str,
    f: impl AsyncFnOnce(&tokio_postgres::Client) -> Result<T, tokio_postgres::Error>,
) -> Result<T, String> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let (client, connection) = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            tokio_postgres::connect(url, tokio_postgres::NoTls),
        )
        .await
        .map_err(|_| format!("PostgreSQL at {url}: no answer within 10 s"))?
        .map_err(|e| format!("PostgreSQL at {url}: {e}"))?;
        let driver = tokio::spawn(connection);
        let out = f(&client).await.map_err(|e| format!("PostgreSQL at {url}: {e}"));
        drop(client);
        let _ = driver.await;
        out
    })
}

impl PgSchema {
    fn create(url: &str) -> Result<Self, String> {
        let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let name = format!("throng_loadgen_{stamp}_{}", std::process::id());
        let statement = format!("CREATE SCHEMA \"{name}\"");
        let server_version = with_client(url, async |c| {
            c.batch_execute(&statement).await?;
            c.query_one("SHOW server_version", &[]).await?.try_get::<_, String>(0)
        })?;
        let url_in_schema = in_schema(url, &name)?;
        Ok(Self { base: url.to_string(), name, url: url_in_schema, server_version })
    }

    fn drop_schema(&self) -> Result<(), String> {
        let statement = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name);
        with_client(&self.base, async |c| c.batch_execute(&statement).await)
    }
}

/// `url` with its connections' `search_path` set to `schema` (the
/// connection parameter `options`, in either form tokio-postgres reads).
fn in_schema(url: &str, schema: &str) -> Result<String, String> {
    if url.contains("options") {
        return Err("the PostgreSQL URL sets `options`; the run sets its own (search_path), remove them".into());
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let sep = if url.contains('?') { '&' } else { '?' };
        Ok(format!("{url}{sep}options=-c%20search_path%3D{schema}"))
    } else {
        Ok(format!("{url} options='-c search_path={schema}'"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::in_schema;

    #[test]
    fn schema_in_url() {
        assert_eq!(in_schema("postgres://u@h:1/db", "s").unwrap(), "postgres://u@h:1/db?options=-c%20search_path%3Ds");
        assert_eq!(
            in_schema("postgresql://u@h/db?connect_timeout=3", "s").unwrap(),
            "postgresql://u@h/db?connect_timeout=3&options=-c%20search_path%3Ds"
        );
        assert_eq!(in_schema("host=/tmp dbname=d", "s").unwrap(), "host=/tmp dbname=d options='-c search_path=s'");
        assert!(in_schema("postgres://h/db?options=x", "s").is_err());
    }
}

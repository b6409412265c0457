//! What the store adds to a commit at 10,000 members: bytes written per
//! warm commit (log entry and group row; snapshots apart, amortized), and
//! the latency of `Registry::handle` and of the store's append alone
//! (p50/p99), for the memory store, SQLite and PostgreSQL.
//!
//! `cargo run --release -p throng-store --example overhead -- [MEMBERS] [COMMITS]`
//! (PostgreSQL when `THRONG_TEST_PG_URL` is set; defaults 10000 and 100).
//! The committer's copath is warmed first (one commit per copath subtree),
//! so the measured commits are those of a group in steady state.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use throng::crypto::{AwsLcProvider, CipherSuite, CryptoProvider};
use throng::messages::content::MlsMessageBody;
use throng::messages::{Add, Proposal};
use throng::store::{
    Append, Compacted, Compaction, LogEntry, MemoryStore, Snapshot, Store, StoreError, StoreOptions, StoredGroup,
};
use throng::{CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle, PublicGroupConfig, Registry};

/// Counts what goes to the inner store and times the appends.
#[derive(Debug)]
struct Measured {
    inner: Arc<dyn Store>,
    append_bytes: AtomicU64,
    snapshot_bytes: AtomicU64,
    snapshots: AtomicU64,
    appends: Mutex<Vec<Duration>>,
}

/// Bytes of a group row update (group_id, head, epoch, time) beside the entry's message
/// and its five fixed columns.
fn row_bytes(group_id: &[u8]) -> u64 {
    (group_id.len() + 8 * 3) as u64 + (group_id.len() + 8 * 3 + 2) as u64
}

impl Store for Measured {
    fn create_group(&self, g: &[u8], s: &Snapshot, gi: &[u8]) -> Result<bool, StoreError> {
        self.inner.create_group(g, s, gi)
    }
    fn load_group(&self, g: &[u8]) -> Result<Option<StoredGroup>, StoreError> {
        self.inner.load_group(g)
    }
    fn append(&self, g: &[u8], h: u64, e: u64, entry: &LogEntry) -> Result<Append, StoreError> {
        let t = Instant::now();
        let r = self.inner.append(g, h, e, entry);
        self.appends.lock().unwrap().push(t.elapsed());
        self.append_bytes.fetch_add(entry.message.len() as u64 + row_bytes(g), Ordering::Relaxed);
        r
    }
    fn entries_after(&self, g: &[u8], seq: u64) -> Result<Vec<LogEntry>, StoreError> {
        self.inner.entries_after(g, seq)
    }
    fn entries_since_epoch(&self, g: &[u8], e: u64) -> Result<Vec<LogEntry>, StoreError> {
        self.inner.entries_since_epoch(g, e)
    }
    fn put_snapshot(&self, g: &[u8], s: &Snapshot) -> Result<(), StoreError> {
        self.snapshot_bytes.fetch_add(s.state.len() as u64, Ordering::Relaxed);
        self.snapshots.fetch_add(1, Ordering::Relaxed);
        self.inner.put_snapshot(g, s)
    }
    fn put_group_info(&self, g: &[u8], e: u64, gi: &[u8]) -> Result<(), StoreError> {
        self.inner.put_group_info(g, e, gi)
    }
    fn group_info(&self, g: &[u8], e: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.group_info(g, e)
    }
    fn compact(&self, g: &[u8], c: &Compaction) -> Result<Compacted, StoreError> {
        self.inner.compact(g, c)
    }
    fn remove_group(&self, g: &[u8]) -> Result<bool, StoreError> {
        self.inner.remove_group(g)
    }
}

/// The leftmost leaf of each copath subtree of `committer` (as in the
/// benches' `scenario::warmers`).
fn warmers_of(n: u32, committer: u32) -> Vec<u32> {
    let levels = n.next_power_of_two().trailing_zeros();
    (1..levels)
        .rev()
        .filter_map(|k| {
            let size = 1u32 << k;
            let base = committer & !(2 * size - 1);
            let sibling = if committer & size != 0 { base } else { base + size };
            (sibling != 0 && sibling < n).then_some(sibling)
        })
        .collect()
}

fn process(group: &mut Group, message: &throng::messages::content::MlsMessage) {
    match group.process_message(message.clone()).unwrap() {
        throng::Processed::Commit(staged) => group.merge_staged_commit(*staged).unwrap(),
        other => panic!("expected a commit, got {other:?}"),
    }
}

fn pct(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(10_000, |a| a.parse().unwrap());
    let commits: usize = args.next().map_or(100, |a| a.parse().unwrap());
    let cs = CipherSuite(1);
    let p: Arc<dyn CryptoProvider> = Arc::new(AwsLcProvider);
    let t = Instant::now();
    let mut alice =
        Group::create(cs, &Identity::basic(&*p, cs, "m0").unwrap(), b"big".to_vec(), vec![], GroupConfig::default())
            .unwrap();
    let creator_info = alice.group_info(true, false).unwrap();
    let bundles: Vec<KeyPackageBundle> = (1..n)
        .into_par_iter()
        .map(|i| {
            let p = AwsLcProvider;
            KeyPackageBundle::generate(&p, cs, &Identity::basic(&p, cs, format!("m{i}")).unwrap()).unwrap()
        })
        .collect();
    let adds = bundles.iter().map(|b| Proposal::Add(Add { key_package: b.key_package.clone() })).collect();
    let pending = alice.commit(CommitOptions::with_proposals(adds)).unwrap();
    let add_commit = pending.message.clone();
    let MlsMessageBody::Welcome(welcome) = pending.welcome.clone().unwrap().body else { panic!() };
    alice.merge_pending_commit(pending).unwrap();
    let join = |leaf: u32| {
        Group::join(p.clone(), GroupConfig::default(), &welcome, &bundles[leaf as usize - 1], None, Default::default())
            .unwrap()
    };
    let committer_leaf = (n / 2) as u32 + 1;
    let mut joiner = join(committer_leaf);
    eprintln!("{n}-member group built in {:?}", t.elapsed());
    // Warm the committer's copath: the leftmost member of each copath
    // subtree commits once, so that every copath node has a key and a
    // commit encrypts to one node per level (a group in steady state).
    let mut warm_up = Vec::new();
    let mut warmers: Vec<Group> = Vec::new();
    for leaf in warmers_of(n as u32, committer_leaf) {
        let mut w = join(leaf);
        for m in &warm_up {
            process(&mut w, m);
        }
        let pending = w.commit(CommitOptions::default()).unwrap();
        warm_up.push(pending.message.clone());
        w.merge_pending_commit(pending).unwrap();
        warmers.push(w);
    }
    for m in &warm_up {
        process(&mut joiner, m);
    }
    eprintln!("{} warm-up commits, done at {:?}", warm_up.len(), t.elapsed());

    let mut stores: Vec<(&str, Arc<dyn Store>)> = vec![("memory", Arc::new(MemoryStore::new()))];
    let dir = std::env::temp_dir().join(format!("throng-overhead-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    stores.push(("sqlite", Arc::new(throng_store::SqliteStore::open(dir.join("ds.sqlite")).unwrap())));
    match std::env::var("THRONG_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => {
            stores.push(("postgres", Arc::new(throng_store::PgStore::connect(&url).unwrap())))
        }
        _ => eprintln!("skipped: no THRONG_TEST_PG_URL (PostgreSQL column)"),
    }
    // More PostgreSQL rows, `label=url` separated by spaces: the same
    // server with other session settings (e.g. `synchronous_commit = off`
    // through the URL's `options`), to separate the disk's flush from the
    // rest of the store's cost.
    let extra: Vec<(String, String)> = std::env::var("THRONG_OVERHEAD_EXTRA_PG")
        .unwrap_or_default()
        .split_whitespace()
        .map(|e| e.split_once('=').map(|(l, u)| (l.to_string(), u.to_string())).expect("label=url"))
        .collect();
    for (label, url) in &extra {
        stores.push((label.as_str(), Arc::new(throng_store::PgStore::connect(url).unwrap())));
    }

    println!(
        "| store | server_build (9,999-Add commit, handle) | handle p50 | handle p99 | append p50 | append p99 | bytes per warm commit | snapshots (bytes each) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, inner) in stores {
        let measured = Arc::new(Measured {
            inner,
            append_bytes: AtomicU64::new(0),
            snapshot_bytes: AtomicU64::new(0),
            snapshots: AtomicU64::new(0),
            appends: Mutex::new(Vec::new()),
        });
        let registry =
            Registry::with_store(p.clone(), PublicGroupConfig::default(), measured.clone(), StoreOptions::default());
        registry.remove_group(b"big").unwrap(); // a previous run's, in a shared database
        registry.create_group(&creator_info, None).unwrap();
        let t = Instant::now();
        registry.handle(b"big", &add_commit).unwrap();
        let build = t.elapsed();
        for m in &warm_up {
            registry.handle(b"big", m).unwrap();
        }
        measured.appends.lock().unwrap().clear();
        measured.append_bytes.store(0, Ordering::Relaxed);
        let (snap_before, snap_bytes_before) =
            (measured.snapshots.load(Ordering::Relaxed), measured.snapshot_bytes.load(Ordering::Relaxed));
        let mut member = joiner.clone();
        let mut handle = Vec::new();
        for _ in 0..commits {
            let pending = member.commit(CommitOptions::default()).unwrap();
            let t = Instant::now();
            registry.handle(b"big", &pending.message).unwrap();
            handle.push(t.elapsed());
            member.merge_pending_commit(pending).unwrap();
        }
        let mut appends = measured.appends.lock().unwrap().clone();
        let bytes = measured.append_bytes.load(Ordering::Relaxed) / commits as u64;
        let snaps = measured.snapshots.load(Ordering::Relaxed) - snap_before;
        let snap_bytes = measured.snapshot_bytes.load(Ordering::Relaxed) - snap_bytes_before;
        println!(
            "| {name} | {:.1} ms | {:.2} ms | {:.2} ms | {:.3} ms | {:.3} ms | {bytes} B | {snaps} ({} B) |",
            build.as_secs_f64() * 1e3,
            pct(&mut handle, 0.5).as_secs_f64() * 1e3,
            pct(&mut handle, 0.99).as_secs_f64() * 1e3,
            pct(&mut appends, 0.5).as_secs_f64() * 1e3,
            pct(&mut appends, 0.99).as_secs_f64() * 1e3,
            snap_bytes.checked_div(snaps).unwrap_or(0),
        );
        registry.remove_group(b"big").unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

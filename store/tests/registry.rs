//! A registry over a store, in one process: SQLite survives a restart with
//! identical state; a store that fails is a typed error and changes
//! nothing; two registries sharing one store (two nodes) agree; members
//! catch up from the log; compaction keeps what the retention policy says.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::*;
use throng::messages::{Add, Proposal};
use throng::store::{
    Append, Compacted, Compaction, LogEntry, MemoryStore, Snapshot, Store, StoreError, StoreOptions, StoredGroup,
};
use throng::{CommitOptions, Identity, KeyPackageBundle, PublicGroupConfig, Registry, Rejected};
use throng_store::SqliteStore;

fn registry(store: Arc<dyn Store>, options: StoreOptions) -> Registry {
    Registry::with_store(provider(), PublicGroupConfig::default(), store, options)
}

fn exported(r: &Registry, gid: &[u8]) -> Vec<u8> {
    r.with_group(gid, |g| g.export().unwrap().to_vec()).unwrap()
}

#[test]
fn sqlite_survives_a_restart_with_identical_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ds.sqlite");
    let gid = b"restart".to_vec();
    let options = StoreOptions { snapshot_every: 3, ..StoreOptions::default() };
    let mut s = setup(&gid, 3);
    let (before, signed) = {
        let r = registry(Arc::new(SqliteStore::open(&path).unwrap()), options);
        r.create_group(&s.creator_info, None).unwrap();
        r.handle(&gid, &s.add_commit).unwrap();
        for round in 0..7 {
            let c = round % s.members.len();
            let pending = s.members[c].commit(CommitOptions::default()).unwrap();
            r.handle(&gid, &pending.message).unwrap();
            let msg = pending.message.clone();
            s.members[c].merge_pending_commit(pending).unwrap();
            deliver(&mut s.members, Some(c), &msg);
        }
        // A proposal left pending in the last epoch, and a published GroupInfo.
        let kp =
            KeyPackageBundle::generate(&*provider(), CS, &Identity::basic(&*provider(), CS, "late").unwrap()).unwrap();
        let (proposal, _) = s.members[1].propose(Proposal::Add(Add { key_package: kp.key_package.clone() })).unwrap();
        r.handle(&gid, &proposal).unwrap();
        let info = s.members[0].group_info(true, false).unwrap();
        r.publish_group_info(&gid, info.clone()).unwrap();
        (exported(&r, &gid), info)
    };
    // A new process: the group is loaded from the file when first used.
    let r = registry(Arc::new(SqliteStore::open(&path).unwrap()), options);
    assert_eq!(r.group_count(), 0);
    assert_eq!(exported(&r, &gid), before, "the reloaded public state is byte for byte the same");
    assert_eq!(r.epoch(&gid), Some(s.members[0].epoch()));
    assert_eq!(r.signed_group_info(&gid), Some(signed));
    assert_eq!(r.with_group(&gid, |g| g.pending_proposals().count()), Some(1));
    // And it goes on: a commit that references the stored proposal.
    let pending = s.members[0].commit(CommitOptions::default()).unwrap();
    assert_eq!(r.handle(&gid, &pending.message).unwrap().epoch, s.members[0].epoch() + 1);
    let msg = pending.message.clone();
    s.members[0].merge_pending_commit(pending).unwrap();
    deliver(&mut s.members, Some(0), &msg);
    assert_same_authenticator(&s.members);
    assert_eq!(r.with_group(&gid, |g| g.tree_hash().to_vec()).unwrap(), s.members[0].tree().root_hash());
}

/// A store that can be switched off: every call fails while it is down.
#[derive(Debug)]
struct Switch<S> {
    inner: S,
    down: AtomicBool,
}

impl<S: Store> Switch<S> {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable("connection refused (test switch)".into()))
        } else {
            Ok(())
        }
    }
}

impl<S: Store> Store for Switch<S> {
    fn create_group(&self, g: &[u8], s: &Snapshot, gi: &[u8]) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.create_group(g, s, gi)
    }
    fn load_group(&self, g: &[u8]) -> Result<Option<StoredGroup>, StoreError> {
        self.check()?;
        self.inner.load_group(g)
    }
    fn append(&self, g: &[u8], h: u64, e: u64, entry: &LogEntry) -> Result<Append, StoreError> {
        self.check()?;
        self.inner.append(g, h, e, entry)
    }
    fn entries_after(&self, g: &[u8], seq: u64) -> Result<Vec<LogEntry>, StoreError> {
        self.check()?;
        self.inner.entries_after(g, seq)
    }
    fn entries_since_epoch(&self, g: &[u8], e: u64) -> Result<Vec<LogEntry>, StoreError> {
        self.check()?;
        self.inner.entries_since_epoch(g, e)
    }
    fn put_snapshot(&self, g: &[u8], s: &Snapshot) -> Result<(), StoreError> {
        self.check()?;
        self.inner.put_snapshot(g, s)
    }
    fn put_group_info(&self, g: &[u8], e: u64, gi: &[u8]) -> Result<(), StoreError> {
        self.check()?;
        self.inner.put_group_info(g, e, gi)
    }
    fn group_info(&self, g: &[u8], e: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.check()?;
        self.inner.group_info(g, e)
    }
    fn compact(&self, g: &[u8], c: &Compaction) -> Result<Compacted, StoreError> {
        self.check()?;
        self.inner.compact(g, c)
    }
    fn remove_group(&self, g: &[u8]) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.remove_group(g)
    }
}

#[test]
fn a_store_that_is_down_is_a_typed_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(Switch { inner: SqliteStore::open(dir.path().join("ds.sqlite")).unwrap(), down: false.into() });
    let r = registry(store.clone(), StoreOptions::default());
    let gid = b"down".to_vec();
    let mut s = setup(&gid, 2);
    r.create_group(&s.creator_info, None).unwrap();
    r.handle(&gid, &s.add_commit).unwrap();
    let before = exported(&r, &gid);
    let epoch = r.epoch(&gid).unwrap();

    store.down.store(true, Ordering::SeqCst);
    let pending = s.members[0].commit(CommitOptions::default()).unwrap();
    match r.handle(&gid, &pending.message) {
        Err(Rejected::Store(StoreError::Unavailable(_))) => {}
        other => panic!("expected a store error, got {other:?}"),
    }
    assert_eq!(r.epoch(&gid), Some(epoch), "the epoch did not move");
    assert_eq!(exported(&r, &gid), before, "the in-memory state did not move");
    // Creating a group and publishing a GroupInfo fail the same way.
    let other = setup(b"down-2", 1);
    assert!(matches!(r.create_group(&other.creator_info, None), Err(throng::Error::Store(StoreError::Unavailable(_)))));
    assert!(matches!(
        r.publish_group_info(&gid, s.members[0].group_info(true, false).unwrap()),
        Err(Rejected::Store(_))
    ));
    // A group not in memory cannot be loaded.
    assert!(r.evict(&gid));
    assert!(matches!(r.handle(&gid, &pending.message), Err(Rejected::Store(_))));

    // Back up: the same commit is accepted, from the stored state.
    store.down.store(false, Ordering::SeqCst);
    assert_eq!(r.handle(&gid, &pending.message).unwrap().epoch, epoch + 1);
    let msg = pending.message.clone();
    s.members[0].merge_pending_commit(pending).unwrap();
    deliver(&mut s.members, Some(0), &msg);
    assert_eq!(r.with_group(&gid, |g| g.context().clone()).unwrap(), *s.members[1].context());
}

#[test]
fn two_registries_sharing_a_store_agree() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ds.sqlite");
    // Two nodes: two connections to one file (SQLite locks across them).
    let a = registry(Arc::new(SqliteStore::open(&path).unwrap()), StoreOptions::default());
    let b = registry(Arc::new(SqliteStore::open(&path).unwrap()), StoreOptions::default());
    let gid = b"shared".to_vec();
    let mut s = setup(&gid, 3);
    a.create_group(&s.creator_info, None).unwrap();
    b.handle(&gid, &s.add_commit).unwrap(); // b loads the group from the store
    assert_eq!(a.handle(&gid, &s.add_commit), Err(Rejected::LostRace { current: 1 }));
    for round in 0..6u64 {
        // Both nodes get a commit for the same epoch: one wins.
        let c1 = s.members[0].commit(CommitOptions::default()).unwrap();
        let c2 = s.members[1].commit(CommitOptions::default()).unwrap();
        let (first, second) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let won = first.handle(&gid, &c1.message).unwrap();
        assert_eq!(won.epoch, round + 2);
        assert_eq!(second.handle(&gid, &c2.message), Err(Rejected::LostRace { current: round + 2 }));
        let msg = c1.message.clone();
        s.members[0].merge_pending_commit(c1).unwrap();
        deliver(&mut s.members, Some(0), &msg);
    }
    // A proposal accepted by one node, committed by reference through the other.
    let kp = KeyPackageBundle::generate(&*provider(), CS, &Identity::basic(&*provider(), CS, "x").unwrap()).unwrap();
    let (proposal, _) = s.members[2].propose(Proposal::Add(Add { key_package: kp.key_package.clone() })).unwrap();
    a.handle(&gid, &proposal).unwrap();
    for m in s.members.iter_mut().take(2) {
        m.process_message(proposal.clone()).unwrap();
    }
    let commit = s.members[0].commit(CommitOptions::default()).unwrap();
    b.handle(&gid, &commit.message).unwrap();
    let msg = commit.message.clone();
    s.members[0].merge_pending_commit(commit).unwrap();
    deliver(&mut s.members, Some(0), &msg);
    b.refresh(&gid).unwrap();
    a.refresh(&gid).unwrap();
    assert_same_authenticator(&s.members);
    for r in [&a, &b] {
        assert_eq!(r.with_group(&gid, |g| g.context().clone()).unwrap(), *s.members[0].context());
        assert_eq!(r.roster(&gid).unwrap().len(), 4);
    }
    assert_eq!(exported(&a, &gid), exported(&b, &gid));
}

#[test]
fn members_catch_up_from_the_log_and_compaction_keeps_the_window() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let options = StoreOptions {
        snapshot_every: 4,
        keep_epochs: 5,
        keep_for: std::time::Duration::ZERO,
        ..StoreOptions::default()
    };
    let r = registry(store.clone(), options);
    let gid = b"catch-up".to_vec();
    let mut s = setup(&gid, 3);
    r.create_group(&s.creator_info, None).unwrap();
    r.handle(&gid, &s.add_commit).unwrap();
    // Member 2 goes offline at epoch 1; the others move on 20 epochs.
    let mut away = s.members.pop().unwrap();
    for _ in 0..20 {
        let pending = s.members[0].commit(CommitOptions::default()).unwrap();
        r.handle(&gid, &pending.message).unwrap();
        let msg = pending.message.clone();
        s.members[0].merge_pending_commit(pending).unwrap();
        deliver(&mut s.members, Some(0), &msg);
    }
    let current = r.epoch(&gid).unwrap();
    assert_eq!(current, 21);
    // The log keeps the last 5 epochs (and whatever the latest snapshot
    // does not cover); epoch 1 is gone.
    match r.messages_since(&gid, away.epoch()) {
        Err(StoreError::Compacted { requested: 1, oldest }) => assert!(oldest > 1 && oldest <= current - 5),
        other => panic!("expected Compacted, got {other:?}"),
    }
    // A member that missed the last 4 epochs catches up from the log.
    let recent = r.messages_since(&gid, current - 4).unwrap();
    assert_eq!(recent.len(), 4);
    assert!(recent.windows(2).all(|w| w[1].seq == w[0].seq + 1));
    // The away member's log is gone; it rejoins from the GroupInfo (not in
    // scope here), so just check the window holds what it claims.
    for e in &recent {
        let _: throng::messages::content::MlsMessage = throng::Limits::default().decode(&e.message).unwrap();
    }
    let _ = &mut away;
    // The evicted group reloads from the latest snapshot and the entries after it.
    let before = exported(&r, &gid);
    assert!(r.evict(&gid));
    assert_eq!(exported(&r, &gid), before);
}

#[test]
fn racing_commits_on_a_lagging_node_catch_up_and_one_wins() {
    // Node b accepts a proposal node a has not seen; two commits that
    // reference it reach node a at once. Each fails on a's stale state and
    // brings a up to the store; whichever thread synced, both must then be
    // validated again: one wins, the other lost the race (never `Invalid`,
    // which the loser was told when the other thread's sync had already
    // moved the node: loadgen backend-pg-2nodes saw it).
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let a = registry(store.clone(), StoreOptions::default());
    let b = registry(store, StoreOptions::default());
    let gid = b"lagging".to_vec();
    let mut s = setup(&gid, 3);
    a.create_group(&s.creator_info, None).unwrap();
    a.handle(&gid, &s.add_commit).unwrap();
    // A race: the second sync finds the node moved about once in 20 rounds.
    for round in 0..100u64 {
        let (proposal, _) = s.members[2].propose_update().unwrap();
        b.handle(&gid, &proposal).unwrap();
        for m in s.members.iter_mut().take(2) {
            m.process_message(proposal.clone()).unwrap();
        }
        let c0 = s.members[0].commit(CommitOptions::default()).unwrap();
        let c1 = s.members[1].commit(CommitOptions::default()).unwrap();
        let (r0, r1) = std::thread::scope(|t| {
            let h0 = t.spawn(|| a.handle(&gid, &c0.message));
            let h1 = t.spawn(|| a.handle(&gid, &c1.message));
            (h0.join().unwrap(), h1.join().unwrap())
        });
        let epoch = round + 2;
        let (winner, pending) = match (&r0, &r1) {
            (Ok(_), Err(Rejected::LostRace { current })) if *current == epoch => (0, c0),
            (Err(Rejected::LostRace { current }), Ok(_)) if *current == epoch => (1, c1),
            _ => panic!("round {round}: one winner and one LostRace expected, got {r0:?} and {r1:?}"),
        };
        let msg = pending.message.clone();
        s.members[winner].merge_pending_commit(pending).unwrap();
        deliver(&mut s.members, Some(winner), &msg);
    }
    assert_same_authenticator(&s.members);
}

/// The CI failure of 2026-11-30: two nodes opening one new file at once,
/// the second got "database is locked" from the schema setup, where
/// SQLite does not wait (a read lock to be upgraded). Every opener must
/// succeed.
#[test]
fn many_openers_of_one_new_sqlite_file_all_succeed() {
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("ds-{round}.sqlite"));
        let start = Arc::new(std::sync::Barrier::new(8));
        let openers: Vec<_> = (0..8)
            .map(|_| {
                let (path, start) = (path.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    SqliteStore::open(&path).map(|_| ())
                })
            })
            .collect();
        for o in openers {
            o.join().unwrap().unwrap_or_else(|e| panic!("round {round}: {e}"));
        }
    }
}

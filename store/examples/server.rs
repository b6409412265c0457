//! A Delivery Service on tokio that owns a [`Registry`] and serves many
//! groups at once (see the `server` module documentation for the pattern).
//!
//! 50 groups of 4 members run in this process; every member is a task with
//! a real [`Group`] that talks to the service through channels only. Each
//! round, every member of a group tries to commit a self-update at the same
//! time: the service lets the first valid commit win the epoch, answers the
//! others `LostRace`, and fans the winner out; losers process it and try
//! again. CPU work (the registry's validation, the members' commits) runs on
//! tokio's blocking pool, never on the async worker threads.
//!
//! The registry keeps its groups in a store: a SQLite file by default, or
//! PostgreSQL when given a URL. At the end a second registry opens the same
//! store, as a restarted node would, and finds every group where the first
//! left it.
//!
//! Run: `cargo run --release -p throng-store --example server` (SQLite in a
//! temporary directory), `… --example server -- sqlite:ds.sqlite`, or
//! `… --example server -- postgres://user@localhost/db`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::{JoinSet, spawn_blocking};

use throng::crypto::{AwsLcProvider, CipherSuite, CryptoProvider};
use throng::internals::group::{
    CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle, PendingCommit, Processed, PskStore,
};
use throng::internals::tree_math::LeafIndex;
use throng::messages::content::{MlsMessage, MlsMessageBody};
use throng::messages::{Add, Proposal};
use throng::store::{Store, StoreOptions};
use throng::{Accepted, PublicGroupConfig, Registry, Rejected};

const GROUPS: usize = 50;
const MEMBERS: usize = 4;
/// Every group commits until it reaches this epoch (epoch 1 is the setup).
const TARGET_EPOCH: u64 = 9;

/// What a member sends to the service.
struct Envelope {
    group_id: Vec<u8>,
    message: MlsMessage,
    /// Where the verdict goes.
    reply: UnboundedSender<ToClient>,
}

/// What the service sends to a member.
enum ToClient {
    /// A message another member sent to the group (boxed: a commit is far
    /// larger than a verdict).
    Deliver(Box<MlsMessage>),
    /// The service's verdict on this member's own message.
    Verdict(Result<Accepted, Rejected>),
}

/// Leaf → mailbox of each group's members: how the service finds the
/// recipients of a fan-out.
type Directory = HashMap<(Vec<u8>, LeafIndex), UnboundedSender<ToClient>>;

#[derive(Default)]
struct Stats {
    accepted: AtomicUsize,
    lost: AtomicUsize,
}

fn provider() -> Arc<dyn CryptoProvider> {
    Arc::new(AwsLcProvider)
}

/// Creates one group with `MEMBERS` members (CPU work: run it blocking) and
/// registers it; the add commit goes through the registry like any other.
fn setup_group(registry: &Registry, run: &str, index: usize) -> Vec<Group> {
    let cs = CipherSuite(1);
    let p = provider();
    let group_id = format!("{run}-group-{index}").into_bytes();
    let creator = Identity::basic(&*p, cs, format!("g{index}-m0")).unwrap();
    let mut creator = Group::create(cs, &creator, group_id.clone(), vec![], GroupConfig::default()).unwrap();
    registry.create_group(&creator.group_info(true, false).unwrap(), None).unwrap();
    let bundles: Vec<KeyPackageBundle> = (1..MEMBERS)
        .map(|i| {
            KeyPackageBundle::generate(&*p, cs, &Identity::basic(&*p, cs, format!("g{index}-m{i}")).unwrap()).unwrap()
        })
        .collect();
    let adds = bundles.iter().map(|b| Proposal::Add(Add { key_package: b.key_package.clone() })).collect();
    let pending = creator.commit(CommitOptions::with_proposals(adds)).unwrap();
    registry.handle(&group_id, &pending.message).unwrap();
    let welcome = pending.welcome.clone().unwrap();
    creator.merge_pending_commit(pending).unwrap();
    let MlsMessageBody::Welcome(welcome) = &welcome.body else { unreachable!() };
    let mut members = vec![creator];
    for b in &bundles {
        members.push(Group::join(p.clone(), GroupConfig::default(), welcome, b, None, PskStore::default()).unwrap());
    }
    members
}

/// The service: one async loop receives envelopes; each is validated on the
/// blocking pool, then answered and fanned out from an async task.
async fn serve(
    registry: Arc<Registry>,
    directory: Arc<Directory>,
    stats: Arc<Stats>,
    mut inbox: UnboundedReceiver<Envelope>,
) {
    let mut tasks = JoinSet::new();
    while let Some(Envelope { group_id, message, reply }) = inbox.recv().await {
        let (registry, directory, stats) = (registry.clone(), directory.clone(), stats.clone());
        tasks.spawn(async move {
            // Signature checks and tree hashing: off the async threads.
            let (group_id, message, verdict) = spawn_blocking(move || {
                let verdict = registry.handle(&group_id, &message);
                (group_id, message, verdict)
            })
            .await
            .unwrap();
            match &verdict {
                Ok(accepted) => {
                    stats.accepted.fetch_add(1, Ordering::Relaxed);
                    for leaf in &accepted.fanout {
                        if let Some(mailbox) = directory.get(&(group_id.clone(), *leaf)) {
                            let _ = mailbox.send(ToClient::Deliver(Box::new(message.clone())));
                        }
                    }
                }
                Err(Rejected::LostRace { .. }) => {
                    stats.lost.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => panic!("unexpected rejection: {e}"),
            }
            let _ = reply.send(ToClient::Verdict(verdict));
        });
        // Reap finished tasks as we go.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

/// The epoch a commit was sent in.
fn epoch_of(message: &MlsMessage) -> u64 {
    match &message.body {
        MlsMessageBody::PublicMessage(m) => m.content.epoch,
        _ => u64::MAX,
    }
}

/// A member: commits until its group reaches `TARGET_EPOCH`, processing the
/// commits the service delivers in epoch order.
async fn member(
    mut group: Group,
    outbox: UnboundedSender<Envelope>,
    reply: UnboundedSender<ToClient>,
    mut mailbox: UnboundedReceiver<ToClient>,
) -> Group {
    // Commits delivered ahead of this member's epoch wait here (the service
    // fans out from concurrent tasks, so two epochs' commits may overtake
    // each other on the way).
    let mut backlog: BTreeMap<u64, MlsMessage> = BTreeMap::new();
    let mut pending: Option<PendingCommit> = None;
    let mut awaiting_verdict = false;
    loop {
        if !awaiting_verdict && group.epoch() < TARGET_EPOCH {
            let (g, commit) = spawn_blocking(move || {
                let commit = group.commit(CommitOptions::default());
                (group, commit)
            })
            .await
            .unwrap();
            group = g;
            let commit = commit.unwrap();
            outbox
                .send(Envelope {
                    group_id: group.group_id().to_vec(),
                    message: commit.message.clone(),
                    reply: reply.clone(),
                })
                .unwrap();
            pending = Some(commit);
            awaiting_verdict = true;
        }
        if !awaiting_verdict && group.epoch() >= TARGET_EPOCH {
            return group;
        }
        match mailbox.recv().await.expect("service gone") {
            ToClient::Verdict(Ok(_)) => {
                awaiting_verdict = false;
                // Won the epoch: enter it.
                if let Some(p) = pending.take() {
                    group.merge_pending_commit(p).unwrap();
                }
            }
            ToClient::Verdict(Err(Rejected::LostRace { .. })) => {
                awaiting_verdict = false;
                pending = None;
            }
            ToClient::Verdict(Err(e)) => panic!("rejected: {e}"),
            ToClient::Deliver(message) => {
                backlog.insert(epoch_of(&message), *message);
            }
        }
        while let Some(message) = backlog.remove(&group.epoch()) {
            // Another member won this epoch, so this member's own commit (if
            // any) lost: its verdict will say so.
            pending = None;
            let (g, ()) = spawn_blocking(move || {
                match group.process_message(message).unwrap() {
                    Processed::Commit(staged) => group.merge_staged_commit(*staged).unwrap(),
                    other => panic!("expected a commit, got {other:?}"),
                }
                (group, ())
            })
            .await
            .unwrap();
            group = g;
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let start = Instant::now();
    let dir = std::env::temp_dir().join(format!("throng-server-{}", std::process::id()));
    let url = std::env::args().nth(1).unwrap_or_else(|| {
        std::fs::create_dir_all(&dir).unwrap();
        format!("sqlite:{}", dir.join("ds.sqlite").display())
    });
    // Opening a store blocks (connecting, creating tables): off the async threads.
    let store: Arc<dyn Store> = {
        let url = url.clone();
        spawn_blocking(move || throng_store::open(&url)).await.unwrap().unwrap()
    };
    println!("store: {url}");
    let registry = Arc::new(Registry::with_store(
        provider(),
        PublicGroupConfig::default(),
        store.clone(),
        StoreOptions::default(),
    ));
    // Group ids of this run, so that a store shared with earlier runs works.
    let run = format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis());

    // Create the groups in parallel on the blocking pool.
    let mut setups = JoinSet::new();
    for i in 0..GROUPS {
        let (registry, run) = (registry.clone(), run.clone());
        setups.spawn_blocking(move || setup_group(&registry, &run, i));
    }
    let mut groups = Vec::new();
    while let Some(members) = setups.join_next().await {
        groups.push(members.unwrap());
    }
    println!("{} groups of {MEMBERS} set up in {:?}", registry.group_count(), start.elapsed());

    // Mailboxes, and the directory the service fans out with.
    let (outbox, inbox) = unbounded_channel();
    let mut directory = Directory::new();
    let mut clients = Vec::new();
    for members in groups {
        for group in members {
            let (tx, rx) = unbounded_channel();
            directory.insert((group.group_id().to_vec(), group.own_leaf()), tx.clone());
            clients.push((group, tx, rx));
        }
    }
    let stats = Arc::new(Stats::default());
    let service = tokio::spawn(serve(registry.clone(), Arc::new(directory), stats.clone(), inbox));

    let rounds = Instant::now();
    let mut running = JoinSet::new();
    for (group, tx, rx) in clients {
        running.spawn(member(group, outbox.clone(), tx, rx));
    }
    drop(outbox);
    let mut finished: HashMap<Vec<u8>, Vec<Group>> = HashMap::new();
    while let Some(group) = running.join_next().await {
        let group = group.unwrap();
        finished.entry(group.group_id().to_vec()).or_default().push(group);
    }
    let elapsed = rounds.elapsed();
    // Every member has hung up its outbox clone: the service drains and ends.
    service.await.unwrap();

    // Every member of every group agrees with the others and the registry.
    for (group_id, members) in &finished {
        let tree_hash = registry.with_group(group_id, |g| g.tree_hash().to_vec()).unwrap();
        let authenticator = members[0].epoch_authenticator().to_vec();
        for m in members {
            assert_eq!(m.epoch(), TARGET_EPOCH);
            assert_eq!(m.tree().root_hash(), tree_hash.as_slice());
            assert_eq!(m.epoch_authenticator(), authenticator.as_slice());
        }
    }
    let accepted = stats.accepted.load(Ordering::Relaxed);
    let lost = stats.lost.load(Ordering::Relaxed);
    println!(
        "{GROUPS} groups reached epoch {TARGET_EPOCH}: {accepted} commits won their epoch, {lost} lost the race, in {elapsed:?}; \
         members and server agree on every group's tree hash"
    );

    // A restarted node: a new registry on the same store loads each group
    // (latest snapshot, then the log after it) when first asked.
    let restarted = spawn_blocking(move || {
        let restarted = Registry::with_store(provider(), PublicGroupConfig::default(), store, StoreOptions::default());
        finished.iter().all(|(group_id, members)| {
            restarted.with_group(group_id, |g| g.tree_hash().to_vec()).as_deref() == Some(members[0].tree().root_hash())
        })
    })
    .await
    .unwrap();
    assert!(restarted);
    println!("a new registry on the same store reloaded all {GROUPS} groups at the same tree hash");
    println!("total {:?}", start.elapsed());
    let _ = std::fs::remove_dir_all(&dir);
}

//! The crypto floor counts the primitives RFC 9420 requires from a model of
//! the tree written independently of the engine (`floor/shape.rs`). This
//! test runs throng's real commits and processing over a provider that
//! counts every call (`floor/counting.rs`) and checks that the floor asks
//! for exactly as many signatures, verifications, HPKE seals and opens,
//! key pairs and hashes (tree hashes, parent hashes, transcript hashes,
//! KeyPackageRefs) — at every committer position, on the cold and on the
//! warm tree, for self-updates, adds and removes.
//!
//! The same holds for a delivery service (throng's `PublicGroup`)
//! processing the self-update and the build commit.
//!
//! One difference is expected and checked: a commit that adds members
//! also derives the external key pair (`external_pub`, §8, §12.4.3.1) for
//! the Welcome's GroupInfo in throng, an optional extension the floor leaves
//! out — throng does one key pair more there, never fewer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use throng_benches::floor::counting::{Counted, CountingProvider, Counts};
use throng_benches::floor::work;
use throng_benches::metric::Scenario;
use throng_benches::peer::Peer as _;
use throng_benches::peers::throng::Throng;
use throng_benches::scenario::{Committer, PROCESSOR, neighbour, warmers};

/// [signs, verifies, seals, opens, key pairs, hashes], as `Work::counts`.
fn as_array(c: Counted) -> [u64; 6] {
    [c.signs, c.verifies, c.seals, c.opens, c.key_pairs, c.hashes]
}

/// Signatures, verifications, seals, opens, key pairs, hashes.
type Ops = [u64; 6];

/// Throng's counts for (commit, process) of update, add and remove, B at
/// `position`, on the cold or warm tree of `n`, and a delivery service's
/// (`PublicGroup`) processing the update.
fn throng_counts(n: u32, position: Committer, warm: bool) -> (Vec<(Ops, Ops)>, Ops) {
    let provider = CountingProvider::default();
    let counts: Arc<Counts> = provider.counts.clone();
    let mut peer = Throng::with_provider(Arc::new(provider));
    let b = position.leaf(n);
    let warmer_leaves = if warm { warmers(n, b) } else { Vec::new() };
    let (creator, _) = peer.client(0).unwrap();
    let mut key_packages = Vec::new();
    let mut kept = Vec::new();
    for leaf in 1..n {
        let (client, kp) = peer.client(leaf).unwrap();
        key_packages.push(kp);
        if leaf == b || leaf == PROCESSOR || warmer_leaves.contains(&leaf) {
            kept.push((leaf, client));
        }
    }
    let mut take = |leaf: u32| {
        let at = kept.iter().position(|(l, _)| *l == leaf).unwrap();
        kept.swap_remove(at).1
    };
    let (a, welcome) = peer.build(creator, &key_packages).unwrap();
    let tree = peer.ratchet_tree(&a).unwrap();
    let mut bm = peer.join(take(b), &welcome, &tree).unwrap();
    let mut cm = peer.join(take(PROCESSOR), &welcome, &tree).unwrap();
    if warm {
        let mut commits: Vec<Vec<u8>> = Vec::new();
        for leaf in warmer_leaves {
            let mut w = peer.join(take(leaf), &welcome, &tree).unwrap();
            for commit in &commits {
                peer.process(&mut w, commit).unwrap();
            }
            let commit = peer.commit_update(&mut w).unwrap();
            peer.process(&mut bm, &commit).unwrap();
            peer.process(&mut cm, &commit).unwrap();
            commits.push(commit);
        }
        let commit = peer.commit_update(&mut bm).unwrap();
        peer.process(&mut cm, &commit).unwrap();
    }
    let (_, newcomer) = peer.client(n).unwrap();
    let server = peer.observe(&bm).unwrap();
    let mut served = [0; 6];
    let mut out = Vec::new();
    for kind in 0..3 {
        let mut bf = peer.fork(&bm).unwrap();
        let mut cf = peer.fork(&cm).unwrap();
        counts.take();
        let commit = match kind {
            0 => peer.commit_update(&mut bf).unwrap(),
            1 => peer.commit_add(&mut bf, &newcomer).unwrap(),
            _ => peer.commit_remove(&mut bf, neighbour(b, n)).unwrap(),
        };
        let committed = counts.take();
        peer.process(&mut cf, &commit).unwrap();
        let processed = counts.take();
        out.push((as_array(committed), as_array(processed)));
        if kind == 0 {
            let mut server = peer.fork_server(&server).unwrap();
            counts.take();
            peer.server_process(&mut server, &commit).unwrap();
            served = as_array(counts.take());
        }
    }
    (out, served)
}

/// Lower copath hashes throng may compute beyond the floor: the tree caches
/// tree hashes from level 2 up (the member-state work of issue 16), so the
/// two lowest copath nodes of a path are rehashed on demand from their
/// leaves (1 and 3 hashes), where the floor assumes every hash cached.
const REHASHED: u64 = 8;

/// `got` equals the floor's `want`, except that its hashes may exceed the
/// floor's by at most [`REHASHED`].
fn assert_counts(want: Ops, got: Ops, what: &str) {
    assert_eq!(want[..5], got[..5], "{what}: [signs, verifies, seals, opens, key pairs]");
    assert!(
        want[5] <= got[5] && got[5] - want[5] <= REHASHED,
        "{what}: hashes {} against the floor's {}",
        got[5],
        want[5]
    );
}

#[test]
fn the_floor_counts_what_throng_does() {
    // Sizes whose Add does not widen the tree (a widening is modelled, but
    // the scenarios at 1,000, 10,000 and 100,000 members never widen).
    // 1,000 is the smallest size `compare` reports (about 5 s here).
    for n in [37, 100, 1000] {
        for position in Committer::ALL {
            for warm in [false, true] {
                let scenario = if warm { Scenario::Warm } else { Scenario::Cold };
                let floor = work(scenario, n, position);
                let (throng, served) = throng_counts(n, position, warm);
                let at = format!("n = {n}, committer {position}");
                let (server_metric, server_work) = &floor[6];
                assert_counts(server_work.counts(), served, &format!("{server_metric} at {at}"));
                for (kind, (committed, processed)) in throng.iter().enumerate() {
                    let (commit_metric, commit_work) = &floor[2 * kind];
                    let (process_metric, process_work) = &floor[2 * kind + 1];
                    let mut expected = commit_work.counts();
                    if kind == 1 {
                        expected[4] += 1; // external_pub in the Welcome's GroupInfo
                    }
                    assert_counts(expected, *committed, &format!("{commit_metric} at {at}"));
                    assert_counts(process_work.counts(), *processed, &format!("{process_metric} at {at}"));
                }
            }
        }
    }
}

#[test]
fn the_floor_counts_what_a_throng_server_does_on_the_build() {
    for n in [37, 100] {
        let provider = CountingProvider::default();
        let counts: Arc<Counts> = provider.counts.clone();
        let mut peer = Throng::with_provider(Arc::new(provider));
        let (creator, _) = peer.client(0).unwrap();
        let key_packages: Vec<Vec<u8>> = (1..n).map(|leaf| peer.client(leaf).unwrap().1).collect();
        let (server, commit) = peer.build_commit(creator, &key_packages).unwrap();
        let mut server = peer.fork_server(&server).unwrap();
        counts.take();
        peer.server_process(&mut server, &commit).unwrap();
        let served = as_array(counts.take());
        let floor = work(Scenario::Join, n, Committer::Last);
        let (metric, server_work) = &floor[3];
        assert_counts(server_work.counts(), served, &format!("{metric} at n = {n}"));
    }
}

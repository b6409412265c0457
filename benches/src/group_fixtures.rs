//! A real throng group of `n` members, built once through the comparison's
//! [`Throng`] adapter, for the group benches (`benches/group.rs`) and the
//! flame graphs of `examples/profile_ops.rs`.
//!
//! It holds what the scenarios of [`crate::scenario`] start from: the key
//! packages `build` adds, the Welcome and ratchet tree, and B (the
//! committer) and C (the processor) both as they join the freshly built
//! group (cold) and after warming B's copath the way the warm scenario does.

// A fixture that cannot be built is a broken benchmark, never peer input.
#![allow(clippy::expect_used)]

use std::time::{Duration, Instant};

use rayon::prelude::*;
use throng::internals::group::Group;

use crate::peer::Peer;
use crate::peers::throng::{Client, Throng};
pub use crate::scenario::Op;
use crate::scenario::{Committer, PROCESSOR, committer, removed, warmers};

/// B and C in one epoch.
pub struct Pair {
    /// The committer, leaf `n - 1`.
    pub b: Group,
    /// The processor, leaf 1.
    pub c: Group,
}

/// One group size's fixture.
pub struct GroupFixture {
    /// Group size `n`.
    pub members: u32,
    /// Key packages of leaves `1..n`, in leaf order, as `build` adds them.
    pub key_packages: Vec<Vec<u8>>,
    /// The encoded Welcome of the build commit.
    pub welcome: Vec<u8>,
    /// The encoded ratchet tree right after the build.
    pub tree: Vec<u8>,
    /// C's client: clone it to join again with the same key package.
    pub joiner: Client,
    /// The key package `add_one` adds.
    pub newcomer: Vec<u8>,
    /// B and C on the freshly built tree.
    pub cold: Pair,
    /// B and C on the warmed tree.
    pub warm: Pair,
    /// B at the first position (leaf 2) on the freshly built tree, whose
    /// copath is blank almost everywhere: its commit encrypts to about n
    /// leaves (`commit_cold@first`, `process_cold@first`).
    pub cold_first: Group,
    /// Wall time of building the fixture.
    pub build_time: Duration,
}

impl Op {
    /// B's commit for this operation, merged into `b` and returned encoded.
    pub fn commit(self, peer: &mut Throng, b: &mut Group, f: &GroupFixture) -> Vec<u8> {
        match self {
            Op::Update => peer.commit_update(b),
            Op::Add => peer.commit_add(b, &f.newcomer),
            Op::Remove => peer.commit_remove(b, removed(f.members)),
        }
        .expect("commit")
    }
}

impl GroupFixture {
    /// B and C, warm or cold.
    pub fn pair(&self, warm: bool) -> &Pair {
        if warm { &self.warm } else { &self.cold }
    }

    /// Builds the fixture for `n` members (at least [`crate::scenario::MIN_MEMBERS`]).
    pub fn build(n: u32) -> Self {
        let start = Instant::now();
        let mut peer = Throng::default();
        let b_leaf = committer(n);
        let (creator, _) = peer.client(0).expect("creator");
        // Key packages are independent, so they are made on every core.
        let clients: Vec<(Client, Vec<u8>)> =
            (1..n).into_par_iter().map_init(Throng::default, |p, leaf| p.client(leaf).expect("client")).collect();
        let (_, newcomer) = peer.client(n).expect("newcomer");
        let key_packages: Vec<Vec<u8>> = clients.iter().map(|(_, kp)| kp.clone()).collect();
        let client = |leaf: u32| clients[leaf as usize - 1].0.clone();

        let (a, welcome) = peer.build(creator, &key_packages).expect("build");
        let tree = peer.ratchet_tree(&a).expect("ratchet tree");
        drop(a);
        let mut b = peer.join(client(b_leaf), &welcome, &tree).expect("join of B");
        let mut c = peer.join(client(PROCESSOR), &welcome, &tree).expect("join of C");
        assert_eq!(peer.leaf_index(&b), b_leaf);
        let cold = Pair { b: peer.fork(&b).expect("fork"), c: peer.fork(&c).expect("fork") };
        let cold_first = peer.join(client(Committer::First.leaf(n)), &welcome, &tree).expect("join of B at first");

        // Warming as the warm scenario does it: the leftmost member of each
        // of B's copath subtrees joins, catches up and commits, B and C
        // process each; then B commits once and C processes it.
        let mut commits: Vec<Vec<u8>> = Vec::new();
        for leaf in warmers(n, b_leaf) {
            let mut warmer = peer.join(client(leaf), &welcome, &tree).expect("join of a warmer");
            for commit in &commits {
                peer.process(&mut warmer, commit).expect("warmer catches up");
            }
            let commit = peer.commit_update(&mut warmer).expect("warming commit");
            peer.process(&mut b, &commit).expect("B processes");
            peer.process(&mut c, &commit).expect("C processes");
            commits.push(commit);
        }
        let commit = peer.commit_update(&mut b).expect("B commits");
        peer.process(&mut c, &commit).expect("C processes");
        assert_eq!(peer.epoch_authenticator(&b).ok(), peer.epoch_authenticator(&c).ok());

        GroupFixture {
            members: n,
            key_packages,
            welcome,
            tree,
            joiner: client(PROCESSOR),
            newcomer,
            cold,
            warm: Pair { b, c },
            cold_first,
            build_time: start.elapsed(),
        }
    }
}

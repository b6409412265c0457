//! Interoperability with OpenMLS and mls-rs.
//!
//! Every library sits behind one small adapter ([`peer::Client`] before
//! joining, [`peer::Member`] after; one file each in `peers/`), and the
//! members of a group only ever exchange `MLSMessage` bytes, so the
//! scenarios below read as scenarios: who creates
//! the group, who joins how, who commits what. After every epoch change all
//! members must agree on the epoch, the epoch authenticator (RFC 9420 §8.7)
//! and an exporter value (§8.5); every application message reaches every
//! other member intact.
//!
//! Configuration shared by all three libraries: basic credentials,
//! application data as PrivateMessage (with authenticated data, delivered
//! out of order), an external PSK every client holds, and per run
//! ([`peer::Setup`]):
//! - the cipher suite: 1, 2 and 3;
//! - handshake messages as PublicMessage (throng's default; OpenMLS "mixed
//!   plaintext" policy; mls-rs without control-message encryption) or as
//!   PrivateMessage (every sender pads); external commits are PublicMessages
//!   either way (RFC 9420 §12.4.3.2);
//! - the ratchet tree in the GroupInfo (of the Welcome and of external
//!   joins), or out of band (suite 1).
//!
//! `cargo test --release -p throng --test interop` runs every scenario in
//! every setup.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod net;
mod peer;
mod peers;
mod wire;

use net::Net;
use peer::{Change, Client, Handshake, Named, Propose, Setup, TreeDelivery};
use peers::Lib;

/// The cipher suites every library here implements: 1
/// (X25519/AES-128-GCM/Ed25519), 2 (P-256/AES-128-GCM/P-256) and 3
/// (X25519/ChaCha20-Poly1305/Ed25519).
const SUITES: [u16; 3] = [1, 2, 3];

/// A throng member creates the group with members of both peers; members
/// of every library commit adds, updates (by path and by proposal) and
/// removes; everyone processes everything and chats.
fn throng_creates(setup: Setup) {
    use Lib::*;
    let c = |lib: Lib, name: &str| lib.client(setup, name);
    let mut net = Net::create(setup, c(Throng, "t0"));

    // One commit adds a member of each library; one Welcome for all.
    net.add("t0", vec![c(OpenMls, "o1"), c(MlsRs, "r1"), c(Throng, "t1")]);
    net.chat();

    // Full-path commits by members of every library.
    for by in ["o1", "r1", "t1", "t0"] {
        net.commit(by, Change::Update);
    }

    // Update proposals committed by reference, across libraries.
    for (proposer, committer) in [("o1", "t0"), ("r1", "t1"), ("t0", "o1"), ("t1", "r1"), ("r1", "o1"), ("o1", "r1")] {
        net.propose_update(proposer);
        net.commit(committer, Change::Pending);
    }
    // Several proposals from several libraries in one commit.
    for proposer in ["o1", "r1", "t1"] {
        net.propose_update(proposer);
    }
    net.commit("t0", Change::Pending);
    net.chat();

    // An external PSK injected by each library (RFC 9420 §8.4).
    for by in ["t0", "o1", "r1"] {
        net.commit(by, Change::Psk(&[]));
    }
    net.add_with_psk("t0", vec![c(OpenMls, "o20"), c(MlsRs, "r20"), c(Throng, "t20")]);
    net.add_with_psk("o1", vec![c(Throng, "t21"), c(MlsRs, "r21")]);
    net.add_with_psk("r1", vec![c(Throng, "t22"), c(OpenMls, "o22")]);
    net.chat();

    // Peers add members of every library; throng adds peers.
    net.add("o1", vec![c(Throng, "t2"), c(OpenMls, "o2"), c(MlsRs, "r2")]);
    net.add("r1", vec![c(Throng, "t3"), c(OpenMls, "o3"), c(MlsRs, "r3")]);
    net.add("t2", vec![c(OpenMls, "o4"), c(MlsRs, "r4")]);
    net.chat();

    // Peers join a throng-made group by external commit.
    net.join_external("t0", c(OpenMls, "o5"));
    net.join_external("t3", c(MlsRs, "r5"));
    net.commit("o5", Change::Update);
    net.commit("r5", Change::Update);
    // Peers resync by external commit that removes their old leaf.
    net.rejoin("o5", "t0");
    net.rejoin("r5", "t3");
    net.commit("t0", Change::Update);
    // Throng resyncs from peers' GroupInfos; the peers process it.
    net.rejoin("t1", "o1");
    net.rejoin("t2", "r1");
    net.commit("o5", Change::Update);
    // mls-rs members do not list SelfRemove (0x000a): the group is not
    // self-remove-capable, and throng will not send one.
    net.propose_refused("t0", Propose::SelfRemove);

    // Removes by every library, of every library.
    let leaves = [net.leaf_of("o2"), net.leaf_of("r2")];
    net.commit("t0", Change::Remove(&leaves));
    let leaves = [net.leaf_of("t2"), net.leaf_of("r3")];
    net.commit("o1", Change::Remove(&leaves));
    let leaves = [net.leaf_of("t3"), net.leaf_of("o3")];
    net.commit("r1", Change::Remove(&leaves));
    let leaves = [net.leaf_of("t0")];
    net.commit("t1", Change::Remove(&leaves));
    net.chat();

    // Blank leaves are filled again; commits without a path leave unmerged
    // leaves and keep the old path keys.
    net.add("r4", vec![c(Throng, "t4"), c(OpenMls, "o6")]);
    net.add("t4", vec![c(MlsRs, "r6"), c(Throng, "t5")]);
    net.add_without_path("t1", vec![c(OpenMls, "o7")]);
    net.add_without_path("o7", vec![c(MlsRs, "r7"), c(Throng, "t7")]);
    for by in ["t4", "o6", "o4", "r4", "t1"] {
        net.commit(by, Change::Update);
    }
    net.chat();

    // Adds and Removes proposed by members of one library, committed by
    // reference by another; the committer's Welcome serves the new members.
    let (t6, r8, o8) = (c(Throng, "t6"), c(MlsRs, "r8"), c(OpenMls, "o8"));
    net.propose("o1", Propose::Add(&t6.key_package()));
    net.propose("t1", Propose::Add(&r8.key_package()));
    net.propose("r1", Propose::Add(&o8.key_package()));
    let leaf = net.leaf_of("o7");
    net.propose("t4", Propose::Remove(leaf));
    let leaf = net.leaf_of("t7");
    net.propose("r7", Propose::Remove(leaf));
    net.commit_pending_adds("r4", vec![t6, r8, o8]);
    let (t8, o9) = (c(Throng, "t8"), c(OpenMls, "o9"));
    net.propose("t6", Propose::Add(&t8.key_package()));
    net.propose("r8", Propose::Add(&o9.key_package()));
    let leaf = net.leaf_of("r7");
    net.propose("o8", Propose::Remove(leaf));
    net.commit_pending_adds("t1", vec![t8, o9]);
    let r9 = c(MlsRs, "r9");
    net.propose("t8", Propose::Add(&r9.key_package()));
    net.commit_pending_adds("o6", vec![r9]);
    net.chat();

    // Removes and Adds in one commit: the new members take freed leaves.
    let leaves = [net.leaf_of("t6")];
    net.replace("o1", &leaves, vec![c(MlsRs, "r10"), c(Throng, "t10")]);
    let leaves = [net.leaf_of("o8"), net.leaf_of("t10")];
    net.replace("r1", &leaves, vec![c(Throng, "t11")]);
    let leaves = [net.leaf_of("r10"), net.leaf_of("o9")];
    net.replace("t11", &leaves, vec![c(OpenMls, "o10"), c(MlsRs, "r11"), c(Throng, "t12")]);
    net.chat();

    // A bigger group: a dozen members in one commit, then removes of many,
    // including the rightmost leaf (the tree shrinks, RFC 9420 §7.7).
    let batch: Vec<Named<dyn Client>> = (0..12).map(|i| c([Throng, OpenMls, MlsRs][i % 3], &format!("b{i}"))).collect();
    net.add("o6", batch);
    for by in ["b0", "b1", "b2", "t5"] {
        net.commit(by, Change::Update);
    }
    let leaves: Vec<u32> = ["b11", "b10", "b3", "b4", "b5", "r6"].iter().map(|n| net.leaf_of(n)).collect();
    net.commit("b6", Change::Remove(&leaves));
    net.commit("r4", Change::Update);
    net.chat();
}

/// A peer creates the group; a throng client joins by Welcome and another
/// by external commit; throng processes the peer's commits and commits
/// itself (updates, adds, removes).
fn peer_creates(peer: Lib, setup: Setup) {
    use Lib::*;
    let c = |lib: Lib, name: &str| lib.client(setup, name);
    let other = if peer == OpenMls { MlsRs } else { OpenMls };
    let mut net = Net::create(setup, c(peer, "p0"));

    net.add("p0", vec![c(Throng, "t1"), c(peer, "p1"), c(other, "x1")]);
    net.chat();
    net.join_external("p0", c(Throng, "t2"));
    net.chat();

    // The peer commits; throng processes; throng commits; the peer processes.
    for by in ["p0", "t1", "p1", "t2", "x1"] {
        net.commit(by, Change::Update);
    }
    for (proposer, committer) in [("p0", "t1"), ("t1", "p0"), ("t2", "p1")] {
        net.propose_update(proposer);
        net.commit(committer, Change::Pending);
    }

    // External PSKs, injected by the peer and by throng.
    net.commit("p0", Change::Psk(&[]));
    net.commit("t2", Change::Psk(&[]));
    net.add_with_psk("p0", vec![c(Throng, "t9")]);
    net.add_with_psk("t9", vec![c(peer, "p9"), c(other, "x9")]);

    // Adds without a path by the peer and by throng.
    net.add_without_path("p0", vec![c(Throng, "t5"), c(peer, "p5")]);
    net.add_without_path("t5", vec![c(peer, "p6")]);
    net.commit("p6", Change::Update);

    // Throng adds members of both peers and a throng member.
    net.add("t1", vec![c(peer, "p2"), c(other, "x2"), c(Throng, "t3")]);
    net.chat();
    net.commit("p2", Change::Update);

    // Proposals across libraries, committed by reference.
    let t6 = c(Throng, "t6");
    net.propose("p0", Propose::Add(&t6.key_package()));
    let leaf = net.leaf_of("p5");
    net.propose("t2", Propose::Remove(leaf));
    net.commit_pending_adds("t1", vec![t6]);
    let p7 = c(peer, "p7");
    net.propose("t6", Propose::Add(&p7.key_package()));
    let leaf = net.leaf_of("t5");
    net.propose("t1", Propose::Remove(leaf));
    net.commit_pending_adds("p0", vec![p7]);

    // Removes and Adds in one commit, by the peer and by throng.
    let leaves = [net.leaf_of("p6")];
    net.replace("p0", &leaves, vec![c(Throng, "t7")]);
    let leaves = [net.leaf_of("p7")];
    net.replace("t7", &leaves, vec![c(peer, "p8"), c(other, "x8")]);
    net.chat();

    // A second external join, from a throng member's GroupInfo, and peers
    // resyncing by external commit.
    net.join_external("t3", c(Throng, "t4"));
    net.rejoin("p0", "t3");
    net.rejoin("x1", "p0");
    // Throng resyncs into the peer's group from the peer's GroupInfo.
    net.rejoin("t3", "p0");
    net.rejoin("t2", "x1");

    // Removes: throng removes peers, the peer removes throng members.
    let leaves = [net.leaf_of("p1"), net.leaf_of("x2")];
    net.commit("t2", Change::Remove(&leaves));
    let leaves = [net.leaf_of("t1"), net.leaf_of("t4")];
    net.commit("p0", Change::Remove(&leaves));
    net.commit("t3", Change::Update);
    net.chat();
}

/// SelfRemove (draft-ietf-mls-extensions) between throng and OpenMLS, in a
/// group `creator` makes: each leaves by SelfRemove and a member of the
/// other library (or its own) commits it by reference. mls-rs 0.57 cannot
/// take part: its SelfRemove (feature `self_remove_proposal`) has the
/// private-use code 0xF003, and without the feature it reads a 0x000a
/// proposal as a custom one with an `opaque<V>` body, which the draft's
/// empty SelfRemove does not have.
fn self_remove(creator: Lib, setup: Setup) {
    use Lib::*;
    let c = |lib: Lib, name: &str| lib.client(setup, name);
    let mut net = Net::create(setup, c(creator, "c0"));
    net.add("c0", vec![c(Throng, "t1"), c(OpenMls, "o1"), c(Throng, "t2"), c(OpenMls, "o2"), c(Throng, "t3")]);
    // Throng leaves, OpenMLS commits.
    net.propose("t1", Propose::SelfRemove);
    net.commit("o1", Change::Pending);
    // Throng leaves, throng commits.
    net.propose("t2", Propose::SelfRemove);
    net.commit("t3", Change::Pending);
    // OpenMLS leaves, throng commits. OpenMLS sends a SelfRemove only under
    // a wire-format policy that lets it send PublicMessages
    // (`leave_group_via_self_remove` refuses `AlwaysCiphertext`, the
    // outgoing half of its mixed-ciphertext policy).
    if setup.handshake == Handshake::Public {
        net.propose("o2", Propose::SelfRemove);
        net.commit("t3", Change::Pending);
    }
    net.chat();
    net.commit("c0", Change::Update);
}

/// Every scenario runs once per suite and handshake wire format, with the
/// tree in GroupInfos, and once more (suite 1) with the tree out of band.
fn setups() -> impl Iterator<Item = Setup> {
    [Handshake::Public, Handshake::Private]
        .into_iter()
        .flat_map(|handshake| {
            SUITES.into_iter().map(move |suite| Setup { suite, handshake, tree: TreeDelivery::InGroupInfo })
        })
        .chain([Setup { suite: SUITES[0], handshake: Handshake::Public, tree: TreeDelivery::OutOfBand }])
}

#[test]
fn throng_creates_public_handshakes() {
    setups().filter(|s| s.handshake == Handshake::Public).for_each(throng_creates);
}

#[test]
fn throng_creates_private_handshakes() {
    setups().filter(|s| s.handshake == Handshake::Private).for_each(throng_creates);
}

#[test]
fn openmls_creates() {
    setups().for_each(|setup| peer_creates(Lib::OpenMls, setup));
}

#[test]
fn mls_rs_creates() {
    setups().for_each(|setup| peer_creates(Lib::MlsRs, setup));
}

#[test]
fn self_remove_with_openmls() {
    for setup in setups() {
        self_remove(Lib::Throng, setup);
        self_remove(Lib::OpenMls, setup);
    }
}

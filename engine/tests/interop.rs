//! Interoperability with OpenMLS and mls-rs (issue 4, item 4).
//!
//! Every library sits behind one small adapter ([`Client`] before joining,
//! [`Member`] after), and the members of a group only ever exchange
//! `MLSMessage` bytes, so the scenarios below read as scenarios: who creates
//! the group, who joins how, who commits what. After every epoch change all
//! members must agree on the epoch, the epoch authenticator (RFC 9420 §8.7)
//! and an exporter value (§8.5); every application message reaches every
//! other member intact.
//!
//! Configuration shared by all three libraries: basic credentials,
//! application data as PrivateMessage (with authenticated data, delivered
//! out of order), an external PSK every client holds, and per run ([`Setup`]):
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

use std::fmt::Debug;

/// The cipher suites every library here implements: 1
/// (X25519/AES-128-GCM/Ed25519), 2 (P-256/AES-128-GCM/P-256) and 3
/// (X25519/ChaCha20-Poly1305/Ed25519).
const SUITES: [u16; 3] = [1, 2, 3];

/// How members send proposals and commits (RFC 9420 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Handshake {
    Public,
    Private,
}

/// How joiners get the ratchet tree (RFC 9420 §12.4.3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TreeDelivery {
    /// In the `ratchet_tree` extension of the (Welcome's) GroupInfo.
    InGroupInfo,
    /// Out of band, from a member; GroupInfos go without it.
    OutOfBand,
}

/// What every client of one scenario run is configured with.
#[derive(Clone, Copy, Debug)]
struct Setup {
    suite: u16,
    handshake: Handshake,
    tree: TreeDelivery,
}

/// `authenticated_data` of every application message (RFC 9420 §6.3: it is
/// part of the AEAD's associated data, so receivers decrypt only if they
/// frame it the same way).
const APPLICATION_AAD: &[u8] = b"interop aad";

/// An external PSK every client holds (RFC 9420 §8.4: agreed out of band).
const EXTERNAL_PSK_ID: &[u8] = b"interop psk";
const EXTERNAL_PSK: [u8; 32] = [0x5a; 32];

/// The exporter every member evaluates at every epoch.
const EXPORTER_LABEL: &str = "throng interop";

/// What one commit does.
#[derive(Clone, Copy)]
enum Change<'a> {
    /// A commit with an UpdatePath that refreshes the committer's leaf
    /// (and commits whatever proposals are pending).
    Update,
    /// Adds the members whose KeyPackages (MLSMessage bytes) are given, in a
    /// commit with an UpdatePath where the library does so by default
    /// (throng, OpenMLS; mls-rs sends none, RFC 9420 §12.4 does not require it).
    Add(&'a [Vec<u8>]),
    /// Adds members in a commit without an UpdatePath.
    AddWithoutPath(&'a [Vec<u8>]),
    /// Removes the members at these leaves.
    Remove(&'a [u32]),
    /// Removes and adds in one commit (RFC 9420 §12.3: removes are applied
    /// first, so the new members may take the freed leaves).
    Replace(&'a [u32], &'a [Vec<u8>]),
    /// Commits the pending proposals by reference.
    Pending,
    /// Injects the external PSK [`EXTERNAL_PSK_ID`] (RFC 9420 §8.4, §12.1.4)
    /// and adds these members, whose Welcome then names the PSK.
    Psk(&'a [Vec<u8>]),
}

impl std::fmt::Display for Change<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Update => write!(f, "Update"),
            Change::Add(kps) => write!(f, "Add of {} members", kps.len()),
            Change::AddWithoutPath(kps) => write!(f, "Add of {} members without path", kps.len()),
            Change::Remove(leaves) => write!(f, "Remove of leaves {leaves:?}"),
            Change::Replace(leaves, kps) => write!(f, "Remove of leaves {leaves:?} and Add of {} members", kps.len()),
            Change::Pending => write!(f, "commit of pending proposals"),
            Change::Psk(kps) => write!(f, "PreSharedKey and Add of {} members", kps.len()),
        }
    }
}

/// A proposal sent on its own, to be committed by reference (§12.1).
#[derive(Clone, Copy, Debug)]
enum Propose<'a> {
    /// Replace the proposer's leaf with fresh keys.
    Update,
    /// Add the member with this KeyPackage (MLSMessage bytes).
    Add(&'a [u8]),
    /// Remove the member at this leaf.
    Remove(u32),
}

/// A commit as it goes on the wire.
struct Committed {
    commit: Vec<u8>,
    welcome: Option<Vec<u8>>,
}

/// What a member made of a message it received.
#[derive(Debug, PartialEq, Eq)]
enum Received {
    Application(Vec<u8>),
    Proposal,
    /// A commit, merged: the member is in the next epoch.
    Commit,
    /// A commit that removed this member.
    Removed,
}

type Outcome<T> = Result<T, String>;

fn fail(e: impl Debug) -> String {
    format!("{e:?}")
}

/// A member of a group, whichever library implements it.
trait Member {
    fn name(&self) -> &str;
    fn leaf(&self) -> u32;
    fn epoch(&self) -> u64;
    /// Creates a commit and merges it at once (the delivery service is
    /// assumed to accept it).
    fn commit(&mut self, change: Change<'_>) -> Committed;
    fn propose(&mut self, proposal: Propose<'_>) -> Vec<u8>;
    fn send(&mut self, data: &[u8]) -> Vec<u8>;
    /// Processes a message; a commit is merged.
    fn process(&mut self, message: &[u8]) -> Outcome<Received>;
    /// A signed GroupInfo with the external public key, and with the
    /// ratchet tree unless it goes out of band.
    fn group_info(&mut self) -> Vec<u8>;
    /// The ratchet tree, encoded as in the `ratchet_tree` extension.
    fn ratchet_tree(&self) -> Vec<u8>;
    /// Rejoins by external commit, removing its own old leaf in the same
    /// commit (RFC 9420 §12.4.3.2 allows one such Remove); returns the commit.
    /// `None` where the library has no API for it.
    fn rejoin(&mut self, group_info: &[u8], tree: Option<&[u8]>) -> Option<Outcome<Vec<u8>>>;
    fn epoch_authenticator(&self) -> Vec<u8>;
    fn export(&self, label: &str, context: &[u8], length: u16) -> Vec<u8>;
}

/// A client that has published a KeyPackage and is not in the group yet.
trait Client {
    fn name(&self) -> &str;
    /// Its KeyPackage as MLSMessage bytes.
    fn key_package(&self) -> Vec<u8>;
    /// Creates a one-member group.
    fn create(self: Box<Self>) -> Box<dyn Member>;
    /// Joins from a Welcome (MLSMessage bytes), with the ratchet tree when
    /// it comes out of band.
    fn join(self: Box<Self>, welcome: &[u8], tree: Option<&[u8]>) -> Outcome<Box<dyn Member>>;
    /// Joins by external commit from a GroupInfo (MLSMessage bytes), with
    /// the ratchet tree when it comes out of band; returns the member and
    /// its commit.
    fn join_external(self: Box<Self>, group_info: &[u8], tree: Option<&[u8]>) -> Outcome<(Box<dyn Member>, Vec<u8>)>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lib {
    Throng,
    OpenMls,
    MlsRs,
}

impl Lib {
    fn client(self, setup: Setup, name: &str) -> Box<dyn Client> {
        let name = format!("{}:{name}", self.tag());
        match self {
            Lib::Throng => Box::new(throng_adapter::ThrongClient::new(setup, name)),
            Lib::OpenMls => Box::new(openmls_adapter::OpenMlsClient::new(setup, name)),
            Lib::MlsRs => Box::new(mls_rs_adapter::MlsRsClient::new(setup, name)),
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Lib::Throng => "throng",
            Lib::OpenMls => "openmls",
            Lib::MlsRs => "mls-rs",
        }
    }
}

// ---------------------------------------------------------------------------
// The group as the test drives it: a perfect delivery service.
// ---------------------------------------------------------------------------

/// Members of one group; message delivery is in order and to everyone.
struct Net {
    setup: Setup,
    members: Vec<Box<dyn Member>>,
}

impl Net {
    fn new(setup: Setup, creator: Box<dyn Member>) -> Self {
        Self { setup, members: vec![creator] }
    }

    fn index_of(&self, name: &str) -> usize {
        self.members
            .iter()
            .position(|m| m.name().split_once(':').is_some_and(|(_, n)| n == name))
            .unwrap_or_else(|| panic!("no member {name}"))
    }

    fn leaf_of(&self, name: &str) -> u32 {
        self.members[self.index_of(name)].leaf()
    }

    /// Delivers `message` from member `from` to every other member and
    /// returns what each made of it.
    fn deliver(&mut self, from: usize, message: &[u8]) -> Vec<(usize, Received)> {
        let sender = self.members[from].name().to_owned();
        let epoch = self.members[from].epoch();
        let mut out = Vec::new();
        for (i, m) in self.members.iter_mut().enumerate() {
            if i == from {
                continue;
            }
            let received = m.process(message).unwrap_or_else(|e| {
                panic!("{:?}: {} rejected a message of {sender} (epoch {epoch}): {e}", self.setup, m.name())
            });
            out.push((i, received));
        }
        out
    }

    /// Member `by` commits `change`; every other member processes the
    /// commit; removed members leave; everyone left agrees. Returns the
    /// Welcome, if any.
    fn commit(&mut self, by: &str, change: Change<'_>) -> Option<Vec<u8>> {
        let from = self.index_of(by);
        let committed = self.members[from].commit(change);
        self.check_handshake_format(&committed.commit);
        if self.setup.handshake == Handshake::Public {
            // The adapters did what the scenario asked (RFC 9420 §12.4).
            let has_path = wire::commit_has_path(&committed.commit);
            match change {
                Change::AddWithoutPath(_) => assert!(!has_path, "{by}: {change} has a path"),
                // Adds alone need no path; pending proposals may be Adds only.
                Change::Add(_) | Change::Pending => {}
                Change::Psk(_) => assert_eq!(wire::commit_psks(&committed.commit), 1, "{by}: {change}"),
                Change::Update | Change::Remove(_) | Change::Replace(..) => {
                    assert!(has_path, "{by}: {change} has no path")
                }
            }
        }
        let received = self.deliver(from, &committed.commit);
        let mut removed: Vec<usize> = Vec::new();
        for (i, r) in received {
            match r {
                Received::Commit => {}
                Received::Removed => removed.push(i),
                other => panic!("{} got {other:?} for a commit", self.members[i].name()),
            }
        }
        match change {
            Change::Remove(leaves) | Change::Replace(leaves, _) => {
                assert_eq!(removed.len(), leaves.len(), "every removed member learns it was removed");
            }
            Change::Pending => {} // may commit Remove proposals
            _ => assert!(removed.is_empty(), "{change} removed someone"),
        }
        for i in removed.into_iter().rev() {
            self.members.remove(i);
        }
        self.check_agreement(&format!("{by} committed {change}"));
        committed.welcome
    }

    /// The tree a joiner gets out of band, from member `from`, if the setup
    /// says so.
    fn tree_from(&self, from: &str) -> Option<Vec<u8>> {
        (self.setup.tree == TreeDelivery::OutOfBand).then(|| self.members[self.index_of(from)].ratchet_tree())
    }

    /// New members join from a Welcome that `by` sent.
    fn welcome(&mut self, by: &str, clients: Vec<Box<dyn Client>>, welcome: &[u8]) {
        let tree = self.tree_from(by);
        for c in clients {
            let name = c.name().to_owned();
            let member = c
                .join(welcome, tree.as_deref())
                .unwrap_or_else(|e| panic!("{:?}: {name} could not join from the Welcome: {e}", self.setup));
            self.members.push(member);
        }
        self.check_agreement("Welcome");
    }

    /// Member `by` adds `clients` in one commit; they join from its Welcome.
    fn add(&mut self, by: &str, clients: Vec<Box<dyn Client>>) {
        let key_packages: Vec<Vec<u8>> = clients.iter().map(|c| c.key_package()).collect();
        let welcome = self.commit(by, Change::Add(&key_packages)).expect("an Add commit has a Welcome");
        self.welcome(by, clients, &welcome);
    }

    /// As [`Net::add`], in a commit without an UpdatePath.
    fn add_without_path(&mut self, by: &str, clients: Vec<Box<dyn Client>>) {
        let key_packages: Vec<Vec<u8>> = clients.iter().map(|c| c.key_package()).collect();
        let welcome = self.commit(by, Change::AddWithoutPath(&key_packages)).expect("an Add commit has a Welcome");
        self.welcome(by, clients, &welcome);
    }

    /// Member `by` injects the external PSK and adds `clients` in one
    /// commit; they join from its Welcome, which names the PSK.
    fn add_with_psk(&mut self, by: &str, clients: Vec<Box<dyn Client>>) {
        let key_packages: Vec<Vec<u8>> = clients.iter().map(|c| c.key_package()).collect();
        let welcome = self.commit(by, Change::Psk(&key_packages)).expect("an Add commit has a Welcome");
        self.welcome(by, clients, &welcome);
    }

    /// Member `by` removes the members at `leaves` and adds `clients` in one
    /// commit; they join from its Welcome.
    fn replace(&mut self, by: &str, leaves: &[u32], clients: Vec<Box<dyn Client>>) {
        let key_packages: Vec<Vec<u8>> = clients.iter().map(|c| c.key_package()).collect();
        let welcome = self.commit(by, Change::Replace(leaves, &key_packages)).expect("an Add commit has a Welcome");
        self.welcome(by, clients, &welcome);
    }

    /// Member `by` commits the pending proposals, which add `clients`; they
    /// join from its Welcome.
    fn commit_pending_adds(&mut self, by: &str, clients: Vec<Box<dyn Client>>) {
        let welcome = self.commit(by, Change::Pending).expect("an Add commit has a Welcome");
        self.welcome(by, clients, &welcome);
    }

    /// `client` joins by external commit from member `from`'s GroupInfo.
    fn join_external(&mut self, from: &str, client: Box<dyn Client>) {
        let at = self.index_of(from);
        let info = self.members[at].group_info();
        let expect_tree = self.setup.tree == TreeDelivery::InGroupInfo;
        assert_eq!(wire::group_info_has_tree(&info), expect_tree, "{from}: ratchet_tree in the GroupInfo");
        let tree = self.tree_from(from);
        let name = client.name().to_owned();
        let (member, commit) = client
            .join_external(&info, tree.as_deref())
            .unwrap_or_else(|e| panic!("{:?}: {name} could not join externally: {e}", self.setup));
        self.members.push(member);
        let joiner = self.members.len() - 1;
        for (i, r) in self.deliver(joiner, &commit) {
            assert_eq!(r, Received::Commit, "{} on the external commit", self.members[i].name());
        }
        self.check_agreement(&format!("{name} joined by external commit"));
    }

    /// Member `who` rejoins by external commit from `from`'s GroupInfo,
    /// removing its old leaf (a client that lost its state resyncs this way).
    fn rejoin(&mut self, who: &str, from: &str) {
        let at = self.index_of(from);
        let info = self.members[at].group_info();
        let tree = self.tree_from(from);
        let joiner = self.index_of(who);
        let commit = self.members[joiner]
            .rejoin(&info, tree.as_deref())
            .unwrap_or_else(|| panic!("{who}: the library cannot rejoin by external commit"))
            .unwrap_or_else(|e| panic!("{:?}: {who} could not rejoin: {e}", self.setup));
        assert_eq!(wire::commit_removes(&commit), 1, "{who}'s rejoin removes its old leaf");
        for (i, r) in self.deliver(joiner, &commit) {
            assert_eq!(r, Received::Commit, "{} on {who}'s external rejoin", self.members[i].name());
        }
        self.check_agreement(&format!("{who} rejoined by external commit"));
    }

    /// Member `by` sends a proposal; everyone else caches it.
    fn propose(&mut self, by: &str, proposal: Propose<'_>) {
        let from = self.index_of(by);
        let message = self.members[from].propose(proposal);
        self.check_handshake_format(&message);
        for (i, r) in self.deliver(from, &message) {
            assert_eq!(r, Received::Proposal, "{} on {by}'s {proposal:?} proposal", self.members[i].name());
        }
    }

    fn propose_update(&mut self, by: &str) {
        self.propose(by, Propose::Update);
    }

    /// Every member sends application messages that every other member
    /// decrypts intact, though delivered out of order.
    fn chat(&mut self) {
        for from in 0..self.members.len() {
            let texts: Vec<Vec<u8>> = (0..3)
                .map(|k| {
                    format!("{} in epoch {}, message {k}", self.members[from].name(), self.members[from].epoch())
                        .into_bytes()
                })
                .collect();
            let messages: Vec<Vec<u8>> = texts.iter().map(|t| self.members[from].send(t)).collect();
            // The last one first: receivers keep the keys of the generations
            // skipped (RFC 9420 §9.2), and use each once.
            for k in [2, 0, 1] {
                assert_eq!(wire::format(&messages[k]), wire::PRIVATE_MESSAGE, "application data is a PrivateMessage");
                for (i, r) in self.deliver(from, &messages[k]) {
                    let text = texts[k].clone();
                    assert_eq!(
                        r,
                        Received::Application(text),
                        "{} on {}'s message",
                        self.members[i].name(),
                        self.members[from].name()
                    );
                }
            }
        }
    }

    /// The members' configuration took: handshakes go as the setup says.
    fn check_handshake_format(&self, message: &[u8]) {
        let expected = match self.setup.handshake {
            Handshake::Public => wire::PUBLIC_MESSAGE,
            Handshake::Private => wire::PRIVATE_MESSAGE,
        };
        assert_eq!(wire::format(message), expected, "{:?}: handshake wire format", self.setup);
    }

    /// RFC 9420 §8.5, §8.7: one epoch, one authenticator, one exporter.
    fn check_agreement(&self, after: &str) {
        let first = &self.members[0];
        let epoch = first.epoch();
        let context = epoch.to_be_bytes();
        let authenticator = first.epoch_authenticator();
        let exported = first.export(EXPORTER_LABEL, &context, 32);
        assert_eq!(exported.len(), 32);
        for m in &self.members[1..] {
            let at = format!("{:?}, after {after}: {} vs {}", self.setup, m.name(), first.name());
            assert_eq!(m.epoch(), epoch, "epoch, {at}");
            assert_eq!(m.epoch_authenticator(), authenticator, "epoch authenticator, {at}");
            assert_eq!(m.export(EXPORTER_LABEL, &context, 32), exported, "exporter, {at}");
        }
    }
}

/// A look at the bytes on the wire, to check what the adapters configured.
mod wire {
    use throng::codec::Decode;
    use throng::messages::content::{FramedContentBody, MlsMessage, MlsMessageBody};
    use throng::messages::{Commit, ExtensionType, Proposal, ProposalOrRef};

    pub const PUBLIC_MESSAGE: u16 = 1;
    pub const PRIVATE_MESSAGE: u16 = 2;

    /// `MLSMessage.wire_format` (RFC 9420 §6): the two bytes after the version.
    pub fn format(message: &[u8]) -> u16 {
        u16::from_be_bytes([message[2], message[3]])
    }

    /// Whether a GroupInfo carries the `ratchet_tree` extension.
    pub fn group_info_has_tree(message: &[u8]) -> bool {
        match MlsMessage::from_bytes(message).unwrap().body {
            MlsMessageBody::GroupInfo(info) => {
                info.extensions.iter().any(|e| e.extension_type == ExtensionType::RATCHET_TREE)
            }
            _ => panic!("not a GroupInfo"),
        }
    }

    fn commit(message: &[u8]) -> Commit {
        match MlsMessage::from_bytes(message).unwrap().body {
            MlsMessageBody::PublicMessage(m) => match m.content.body {
                FramedContentBody::Commit(commit) => commit,
                _ => panic!("not a commit"),
            },
            _ => panic!("not a PublicMessage"),
        }
    }

    /// Whether a commit sent as a PublicMessage carries an UpdatePath.
    pub fn commit_has_path(message: &[u8]) -> bool {
        commit(message).path.is_some()
    }

    /// How many Remove proposals a commit sent as a PublicMessage carries by
    /// value.
    pub fn commit_removes(message: &[u8]) -> usize {
        by_value(message, |p| matches!(p, Proposal::Remove(_)))
    }

    /// How many PreSharedKey proposals a commit sent as a PublicMessage
    /// carries by value.
    pub fn commit_psks(message: &[u8]) -> usize {
        by_value(message, |p| matches!(p, Proposal::PreSharedKey(_)))
    }

    fn by_value(message: &[u8], f: impl Fn(&Proposal) -> bool) -> usize {
        commit(message).proposals.iter().filter(|p| matches!(p, ProposalOrRef::Proposal(p) if f(p))).count()
    }
}

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

/// A throng member creates the group with members of both peers; members
/// of every library commit adds, updates (by path and by proposal) and
/// removes; everyone processes everything and chats.
fn throng_creates(setup: Setup) {
    use Lib::*;
    let c = |lib: Lib, name: &str| lib.client(setup, name);
    let mut net = Net::new(setup, c(Throng, "t0").create());

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
    let batch: Vec<Box<dyn Client>> = (0..12).map(|i| c([Throng, OpenMls, MlsRs][i % 3], &format!("b{i}"))).collect();
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
    let mut net = Net::new(setup, c(peer, "p0").create());

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

    // Removes: throng removes peers, the peer removes throng members.
    let leaves = [net.leaf_of("p1"), net.leaf_of("x2")];
    net.commit("t2", Change::Remove(&leaves));
    let leaves = [net.leaf_of("t1"), net.leaf_of("t4")];
    net.commit("p0", Change::Remove(&leaves));
    net.commit("t3", Change::Update);
    net.chat();
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

// ---------------------------------------------------------------------------
// throng
// ---------------------------------------------------------------------------

mod throng_adapter {
    use std::num::NonZeroU16;
    use std::sync::Arc;

    use super::{
        APPLICATION_AAD, Change, Client, Committed, EXTERNAL_PSK, EXTERNAL_PSK_ID, Handshake, Member, Outcome, Propose,
        Received, Setup, TreeDelivery, fail,
    };
    use throng::codec::{Decode, Encode};
    use throng::crypto::{AwsLcProvider, CipherSuite, CryptoProvider, Secret};
    use throng::framing::PaddingPolicy;
    use throng::group::{CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle, Processed, PskStore};
    use throng::messages::content::{MlsMessage, MlsMessageBody, WireFormat};
    use throng::messages::{Add, PreSharedKey, PreSharedKeyId, Proposal, Psk, RatchetTree, Remove};
    use throng::tree::math::LeafIndex;

    fn provider() -> Arc<dyn CryptoProvider> {
        Arc::new(AwsLcProvider)
    }

    fn decode(bytes: &[u8]) -> Outcome<MlsMessageBody> {
        Ok(MlsMessage::from_bytes(bytes).map_err(fail)?.body)
    }

    pub struct ThrongClient {
        name: String,
        suite: CipherSuite,
        config: GroupConfig,
        identity: Identity,
        bundle: KeyPackageBundle,
    }

    impl ThrongClient {
        pub fn new(setup: Setup, name: String) -> Self {
            let p = provider();
            let suite = CipherSuite(setup.suite);
            let identity = Identity::basic(&*p, suite, name.clone()).unwrap();
            let bundle = KeyPackageBundle::generate(&*p, suite, &identity).unwrap();
            let handshake_wire_format = match setup.handshake {
                Handshake::Public => WireFormat::PUBLIC_MESSAGE,
                Handshake::Private => WireFormat::PRIVATE_MESSAGE,
            };
            // With encrypted handshakes, throng pads its PrivateMessages too
            // (mls-rs pads by default; OpenMLS is told to below).
            let padding = match setup.handshake {
                Handshake::Public => PaddingPolicy::None,
                Handshake::Private => PaddingPolicy::ToMultipleOf(NonZeroU16::new(64).unwrap()),
            };
            let ratchet_tree_in_welcome = setup.tree == TreeDelivery::InGroupInfo;
            let config =
                GroupConfig { handshake_wire_format, padding, ratchet_tree_in_welcome, ..GroupConfig::default() };
            Self { name, suite, config, identity, bundle }
        }
    }

    impl Client for ThrongClient {
        fn name(&self) -> &str {
            &self.name
        }

        fn key_package(&self) -> Vec<u8> {
            MlsMessage::new(MlsMessageBody::KeyPackage(self.bundle.key_package.clone())).to_bytes()
        }

        fn create(self: Box<Self>) -> Box<dyn Member> {
            let group_id = format!("group of {}", self.name).into_bytes();
            let tree_in_group_info = self.config.ratchet_tree_in_welcome;
            let group = Group::create(self.suite, &self.identity, group_id, vec![], self.config).unwrap();
            ThrongMember::boxed(self.name, tree_in_group_info, group)
        }

        fn join(self: Box<Self>, welcome: &[u8], tree: Option<&[u8]>) -> Outcome<Box<dyn Member>> {
            let MlsMessageBody::Welcome(welcome) = decode(welcome)? else { return Err("not a Welcome".into()) };
            let tree = tree.map(RatchetTree::from_bytes).transpose().map_err(fail)?;
            let tree_in_group_info = self.config.ratchet_tree_in_welcome;
            let group = Group::join(provider(), self.config, &welcome, &self.bundle, tree.as_ref(), psk_store())
                .map_err(fail)?;
            Ok(ThrongMember::boxed(self.name, tree_in_group_info, group))
        }

        fn join_external(
            self: Box<Self>,
            group_info: &[u8],
            tree: Option<&[u8]>,
        ) -> Outcome<(Box<dyn Member>, Vec<u8>)> {
            let MlsMessageBody::GroupInfo(info) = decode(group_info)? else { return Err("not a GroupInfo".into()) };
            let tree = tree.map(RatchetTree::from_bytes).transpose().map_err(fail)?;
            let tree_in_group_info = self.config.ratchet_tree_in_welcome;
            let (group, commit) =
                Group::join_by_external_commit(provider(), self.config, &self.identity, &info, tree.as_ref())
                    .map_err(fail)?;
            Ok((ThrongMember::boxed(self.name, tree_in_group_info, group), commit.to_bytes()))
        }
    }

    fn psk_store() -> PskStore {
        let mut store = PskStore::default();
        store.insert(EXTERNAL_PSK_ID.to_vec(), Secret::new(EXTERNAL_PSK.to_vec()));
        store
    }

    struct ThrongMember {
        name: String,
        tree_in_group_info: bool,
        group: Group,
    }

    impl ThrongMember {
        fn boxed(name: String, tree_in_group_info: bool, mut group: Group) -> Box<dyn Member> {
            *group.psk_store_mut() = psk_store();
            Box::new(Self { name, tree_in_group_info, group })
        }
    }

    impl Member for ThrongMember {
        fn name(&self) -> &str {
            &self.name
        }

        fn leaf(&self) -> u32 {
            self.group.own_leaf().0
        }

        fn epoch(&self) -> u64 {
            self.group.epoch()
        }

        fn commit(&mut self, change: Change<'_>) -> Committed {
            let adds = |key_packages: &[Vec<u8>]| -> Vec<Proposal> {
                key_packages
                    .iter()
                    .map(|kp| match decode(kp).unwrap() {
                        MlsMessageBody::KeyPackage(key_package) => Proposal::Add(Add { key_package }),
                        _ => panic!("not a KeyPackage"),
                    })
                    .collect()
            };
            let removes = |leaves: &[u32]| -> Vec<Proposal> {
                leaves.iter().map(|l| Proposal::Remove(Remove { removed: LeafIndex(*l) })).collect()
            };
            let options = match change {
                Change::Update | Change::Pending => CommitOptions::default(),
                Change::Psk(key_packages) => {
                    // A fresh Nh-byte nonce (RFC 9420 §8.4); the exporter
                    // gives one without another source of randomness.
                    let psk_nonce = self.group.export_secret("psk nonce", b"", 32).unwrap().as_bytes().to_vec();
                    let psk = PreSharedKeyId { psk: Psk::External { psk_id: EXTERNAL_PSK_ID.to_vec() }, psk_nonce };
                    let psk = Proposal::PreSharedKey(PreSharedKey { psk });
                    CommitOptions::with_proposals([vec![psk], adds(key_packages)].concat())
                }
                Change::Add(key_packages) => CommitOptions::with_proposals(adds(key_packages)),
                Change::AddWithoutPath(key_packages) => {
                    CommitOptions { force_path: false, ..CommitOptions::with_proposals(adds(key_packages)) }
                }
                Change::Remove(leaves) => CommitOptions::with_proposals(removes(leaves)),
                Change::Replace(leaves, key_packages) => {
                    CommitOptions::with_proposals([removes(leaves), adds(key_packages)].concat())
                }
            };
            let pending =
                self.group.commit(options).unwrap_or_else(|e| panic!("{}: commit {change}: {e:?}", self.name));
            let commit = pending.message.to_bytes();
            let welcome = pending.welcome.as_ref().map(Encode::to_bytes);
            self.group.merge_pending_commit(pending).unwrap();
            Committed { commit, welcome }
        }

        fn propose(&mut self, proposal: Propose<'_>) -> Vec<u8> {
            let sent = match proposal {
                Propose::Update => self.group.propose_update(),
                Propose::Add(kp) => match decode(kp).unwrap() {
                    MlsMessageBody::KeyPackage(key_package) => self.group.propose(Proposal::Add(Add { key_package })),
                    _ => panic!("not a KeyPackage"),
                },
                Propose::Remove(leaf) => self.group.propose(Proposal::Remove(Remove { removed: LeafIndex(leaf) })),
            };
            sent.unwrap_or_else(|e| panic!("{}: {proposal:?}: {e:?}", self.name)).0.to_bytes()
        }

        fn send(&mut self, data: &[u8]) -> Vec<u8> {
            self.group.encrypt_application(data, APPLICATION_AAD.to_vec()).unwrap().to_bytes()
        }

        fn process(&mut self, message: &[u8]) -> Outcome<Received> {
            let message = MlsMessage::from_bytes(message).map_err(fail)?;
            match self.group.process_message(message).map_err(fail)? {
                Processed::Application { data, .. } => Ok(Received::Application(data)),
                Processed::Proposal { .. } => Ok(Received::Proposal),
                Processed::Commit(staged) => {
                    let removed = staged.removes_self();
                    self.group.merge_staged_commit(*staged).map_err(fail)?;
                    Ok(if removed { Received::Removed } else { Received::Commit })
                }
            }
        }

        fn group_info(&mut self) -> Vec<u8> {
            MlsMessage::new(MlsMessageBody::GroupInfo(self.group.group_info(self.tree_in_group_info, true).unwrap()))
                .to_bytes()
        }

        fn ratchet_tree(&self) -> Vec<u8> {
            self.group.tree().export().to_bytes()
        }

        fn rejoin(&mut self, _: &[u8], _: Option<&[u8]>) -> Option<Outcome<Vec<u8>>> {
            // `Group::join_by_external_commit` takes no Remove of an old leaf.
            None
        }

        fn epoch_authenticator(&self) -> Vec<u8> {
            self.group.epoch_authenticator().to_vec()
        }

        fn export(&self, label: &str, context: &[u8], length: u16) -> Vec<u8> {
            self.group.export_secret(label, context, length).unwrap().as_bytes().to_vec()
        }
    }
}

// ---------------------------------------------------------------------------
// OpenMLS (RustCrypto provider, in-memory storage)
// ---------------------------------------------------------------------------

mod openmls_adapter {
    use super::{
        APPLICATION_AAD, Change, Client, Committed, EXTERNAL_PSK, EXTERNAL_PSK_ID, Handshake, Member, Outcome, Propose,
        Received, Setup, TreeDelivery, fail,
    };
    use openmls::prelude::tls_codec::Deserialize as _;
    use openmls::prelude::*;
    use openmls::schedule::{ExternalPsk, PreSharedKeyId, Psk};
    use openmls_basic_credential::SignatureKeyPair;
    use openmls_rust_crypto::OpenMlsRustCrypto;

    /// Handshakes out as configured, either format in: external commits
    /// are always PublicMessages (application data is always a
    /// PrivateMessage in OpenMLS).
    fn wire_format_policy(handshake: Handshake) -> WireFormatPolicy {
        match handshake {
            Handshake::Public => MIXED_PLAINTEXT_WIRE_FORMAT_POLICY,
            Handshake::Private => MIXED_CIPHERTEXT_WIRE_FORMAT_POLICY,
        }
    }

    /// Padding of PrivateMessages: with encrypted handshakes, everyone pads.
    fn padding_size(handshake: Handshake) -> usize {
        match handshake {
            Handshake::Public => 0,
            Handshake::Private => 32,
        }
    }

    fn join_config(setup: Setup) -> MlsGroupJoinConfig {
        MlsGroupJoinConfig::builder()
            .wire_format_policy(wire_format_policy(setup.handshake))
            .padding_size(padding_size(setup.handshake))
            .use_ratchet_tree_extension(setup.tree == TreeDelivery::InGroupInfo)
            .build()
    }

    fn tree(bytes: Option<&[u8]>) -> Outcome<Option<RatchetTreeIn>> {
        bytes.map(|b| RatchetTreeIn::tls_deserialize_exact(b).map_err(fail)).transpose()
    }

    fn decode(bytes: &[u8]) -> Outcome<MlsMessageBodyIn> {
        Ok(MlsMessageIn::tls_deserialize_exact(bytes).map_err(fail)?.extract())
    }

    /// A provider (crypto and storage) that holds the external PSK.
    fn provider() -> OpenMlsRustCrypto {
        let provider = OpenMlsRustCrypto::default();
        PreSharedKeyId::external(EXTERNAL_PSK_ID.to_vec(), Vec::new()).store(&provider, &EXTERNAL_PSK).unwrap();
        provider
    }

    fn bytes(message: MlsMessageOut) -> Vec<u8> {
        message.to_bytes().unwrap()
    }

    fn key_package(provider: &OpenMlsRustCrypto, bytes: &[u8]) -> KeyPackage {
        match decode(bytes).unwrap() {
            MlsMessageBodyIn::KeyPackage(kp) => kp.validate(provider.crypto(), ProtocolVersion::Mls10).unwrap(),
            _ => panic!("not a KeyPackage"),
        }
    }

    pub struct OpenMlsClient {
        name: String,
        suite: Ciphersuite,
        setup: Setup,
        provider: OpenMlsRustCrypto,
        signer: SignatureKeyPair,
        credential: CredentialWithKey,
        key_package: KeyPackage,
    }

    impl OpenMlsClient {
        pub fn new(setup: Setup, name: String) -> Self {
            let suite = Ciphersuite::try_from(setup.suite).unwrap();
            let provider = provider();
            let signer = SignatureKeyPair::new(suite.signature_algorithm()).unwrap();
            let credential = CredentialWithKey {
                credential: BasicCredential::new(name.clone().into_bytes()).into(),
                signature_key: signer.to_public_vec().into(),
            };
            // The bundle's private keys go to the provider's storage.
            let bundle = KeyPackage::builder().build(suite, &provider, &signer, credential.clone()).unwrap();
            let key_package = bundle.key_package().clone();
            Self { name, suite, setup, provider, signer, credential, key_package }
        }

        fn member(self, group: MlsGroup) -> Box<dyn Member> {
            Box::new(OpenMlsMember {
                name: self.name,
                setup: self.setup,
                provider: self.provider,
                signer: self.signer,
                credential: self.credential,
                group,
            })
        }
    }

    impl Client for OpenMlsClient {
        fn name(&self) -> &str {
            &self.name
        }

        fn key_package(&self) -> Vec<u8> {
            bytes(MlsMessageOut::from(self.key_package.clone()))
        }

        fn create(self: Box<Self>) -> Box<dyn Member> {
            let config = MlsGroupCreateConfig::builder()
                .ciphersuite(self.suite)
                .wire_format_policy(wire_format_policy(self.setup.handshake))
                .padding_size(padding_size(self.setup.handshake))
                .use_ratchet_tree_extension(self.setup.tree == TreeDelivery::InGroupInfo)
                .build();
            let group = MlsGroup::new(&self.provider, &self.signer, &config, self.credential.clone()).unwrap();
            self.member(group)
        }

        fn join(self: Box<Self>, welcome: &[u8], tree_bytes: Option<&[u8]>) -> Outcome<Box<dyn Member>> {
            let MlsMessageBodyIn::Welcome(welcome) = decode(welcome)? else { return Err("not a Welcome".into()) };
            let group =
                StagedWelcome::new_from_welcome(&self.provider, &join_config(self.setup), welcome, tree(tree_bytes)?)
                    .map_err(fail)?
                    .into_group(&self.provider)
                    .map_err(fail)?;
            Ok(self.member(group))
        }

        fn join_external(
            self: Box<Self>,
            group_info: &[u8],
            tree_bytes: Option<&[u8]>,
        ) -> Outcome<(Box<dyn Member>, Vec<u8>)> {
            let MlsMessageBodyIn::GroupInfo(info) = decode(group_info)? else { return Err("not a GroupInfo".into()) };
            let (group, commit) =
                external_commit(self.setup, &self.provider, &self.signer, self.credential.clone(), info, tree_bytes)?;
            Ok((self.member(group), commit))
        }
    }

    /// An external commit from `info` (and the tree, if out of band); if a
    /// member has the same signature key, OpenMLS removes it in the commit.
    fn external_commit(
        setup: Setup,
        provider: &OpenMlsRustCrypto,
        signer: &SignatureKeyPair,
        credential: CredentialWithKey,
        info: openmls::messages::group_info::VerifiableGroupInfo,
        tree_bytes: Option<&[u8]>,
    ) -> Outcome<(MlsGroup, Vec<u8>)> {
        let mut builder = MlsGroup::external_commit_builder().with_config(join_config(setup));
        if let Some(tree) = tree(tree_bytes)? {
            builder = builder.with_ratchet_tree(tree);
        }
        let (group, bundle) = builder
            .build_group(provider, info, credential)
            .map_err(fail)?
            .load_psks(provider.storage())
            .map_err(fail)?
            .build(provider.rand(), provider.crypto(), signer, |_| true)
            .map_err(fail)?
            .finalize(provider)
            .map_err(fail)?;
        Ok((group, bytes(bundle.into_commit())))
    }

    struct OpenMlsMember {
        name: String,
        setup: Setup,
        provider: OpenMlsRustCrypto,
        signer: SignatureKeyPair,
        credential: CredentialWithKey,
        group: MlsGroup,
    }

    impl Member for OpenMlsMember {
        fn name(&self) -> &str {
            &self.name
        }

        fn leaf(&self) -> u32 {
            self.group.own_leaf_index().u32()
        }

        fn epoch(&self) -> u64 {
            self.group.epoch().as_u64()
        }

        fn commit(&mut self, change: Change<'_>) -> Committed {
            let (p, s) = (&self.provider, &self.signer);
            let (commit, welcome) = match change {
                Change::Update => {
                    let bundle = self.group.self_update(p, s, LeafNodeParameters::default()).unwrap();
                    (bundle.into_commit(), None)
                }
                Change::Psk(key_packages) => {
                    let key_packages: Vec<KeyPackage> = key_packages.iter().map(|kp| key_package(p, kp)).collect();
                    let suite = self.group.ciphersuite();
                    let psk = Psk::External(ExternalPsk::new(EXTERNAL_PSK_ID.to_vec()));
                    let psk = PreSharedKeyId::new(suite, p.rand(), psk).unwrap();
                    let (commit, welcome, _) = self
                        .group
                        .commit_builder()
                        .add_proposal(Proposal::PreSharedKey(Box::new(PreSharedKeyProposal::new(psk))))
                        .propose_adds(key_packages)
                        .load_psks(p.storage())
                        .unwrap()
                        .build(p.rand(), p.crypto(), s, |_| true)
                        .unwrap()
                        .stage_commit(p)
                        .unwrap()
                        .into_messages();
                    (commit, welcome)
                }
                Change::Pending => {
                    let (commit, welcome, _) = self.group.commit_to_pending_proposals(p, s).unwrap();
                    (commit, welcome)
                }
                Change::Add(key_packages) | Change::AddWithoutPath(key_packages) => {
                    let key_packages: Vec<KeyPackage> = key_packages.iter().map(|kp| key_package(p, kp)).collect();
                    let (commit, welcome, _) = if matches!(change, Change::Add(_)) {
                        self.group.add_members(p, s, &key_packages)
                    } else {
                        self.group.add_members_without_update(p, s, &key_packages)
                    }
                    .unwrap_or_else(|e| panic!("{}: {change}: {e:?}", self.name));
                    (commit, Some(welcome))
                }
                Change::Remove(leaves) => {
                    let leaves: Vec<LeafNodeIndex> = leaves.iter().map(|l| LeafNodeIndex::new(*l)).collect();
                    let (commit, welcome, _) = self.group.remove_members(p, s, &leaves).unwrap();
                    (commit, welcome)
                }
                Change::Replace(leaves, key_packages) => {
                    let leaves: Vec<LeafNodeIndex> = leaves.iter().map(|l| LeafNodeIndex::new(*l)).collect();
                    let key_packages: Vec<KeyPackage> = key_packages.iter().map(|kp| key_package(p, kp)).collect();
                    // `swap_members` wants as many adds as removes; the
                    // commit builder takes any mix.
                    let (commit, welcome, _) = self
                        .group
                        .commit_builder()
                        .propose_removals(leaves)
                        .propose_adds(key_packages)
                        .load_psks(p.storage())
                        .unwrap()
                        .build(p.rand(), p.crypto(), s, |_| true)
                        .unwrap()
                        .stage_commit(p)
                        .unwrap()
                        .into_messages();
                    (commit, welcome)
                }
            };
            self.group.merge_pending_commit(p).unwrap();
            Committed { commit: bytes(commit), welcome: welcome.map(bytes) }
        }

        fn propose(&mut self, proposal: Propose<'_>) -> Vec<u8> {
            let (p, s) = (&self.provider, &self.signer);
            let (message, _) = match proposal {
                Propose::Update => self.group.propose_self_update(p, s, LeafNodeParameters::default()).map_err(fail),
                Propose::Add(kp) => self.group.propose_add_member(p, s, &key_package(p, kp)).map_err(fail),
                Propose::Remove(leaf) => self.group.propose_remove_member(p, s, LeafNodeIndex::new(leaf)).map_err(fail),
            }
            .unwrap_or_else(|e| panic!("{}: {proposal:?}: {e}", self.name));
            bytes(message)
        }

        fn send(&mut self, data: &[u8]) -> Vec<u8> {
            self.group.set_aad(APPLICATION_AAD.to_vec());
            bytes(self.group.create_message(&self.provider, &self.signer, data).unwrap())
        }

        fn process(&mut self, message: &[u8]) -> Outcome<Received> {
            let message = MlsMessageIn::tls_deserialize_exact(message)
                .map_err(fail)?
                .try_into_protocol_message()
                .map_err(fail)?;
            let processed = self.group.process_message(&self.provider, message).map_err(fail)?;
            let processed_aad = processed.aad().to_vec();
            match processed.into_content() {
                ProcessedMessageContent::ApplicationMessage(m) => {
                    assert_eq!(processed_aad, APPLICATION_AAD, "{}: authenticated_data", self.name);
                    Ok(Received::Application(m.into_bytes()))
                }
                ProcessedMessageContent::ProposalMessage(p) => {
                    self.group.store_pending_proposal(self.provider.storage(), *p).map_err(fail)?;
                    Ok(Received::Proposal)
                }
                ProcessedMessageContent::StagedCommitMessage(staged) => {
                    let removed = staged.self_removed();
                    self.group.merge_staged_commit(&self.provider, *staged).map_err(fail)?;
                    Ok(if removed { Received::Removed } else { Received::Commit })
                }
                other => Err(format!("unexpected {other:?}")),
            }
        }

        fn group_info(&mut self) -> Vec<u8> {
            let with_tree = self.setup.tree == TreeDelivery::InGroupInfo;
            bytes(self.group.export_group_info(self.provider.crypto(), &self.signer, with_tree).unwrap())
        }

        fn ratchet_tree(&self) -> Vec<u8> {
            use openmls::prelude::tls_codec::Serialize as _;
            self.group.export_ratchet_tree().tls_serialize_detached().unwrap()
        }

        fn rejoin(&mut self, group_info: &[u8], tree_bytes: Option<&[u8]>) -> Option<Outcome<Vec<u8>>> {
            let MlsMessageBodyIn::GroupInfo(info) = decode(group_info).unwrap() else { panic!("not a GroupInfo") };
            // The old state is gone: a fresh provider (storage) for the new one.
            let provider = provider();
            let joined =
                external_commit(self.setup, &provider, &self.signer, self.credential.clone(), info, tree_bytes);
            Some(joined.map(|(group, commit)| {
                (self.provider, self.group) = (provider, group);
                commit
            }))
        }

        fn epoch_authenticator(&self) -> Vec<u8> {
            self.group.epoch_authenticator().as_slice().to_vec()
        }

        fn export(&self, label: &str, context: &[u8], length: u16) -> Vec<u8> {
            self.group.export_secret(self.provider.crypto(), label, context, length.into()).unwrap()
        }
    }
}

// ---------------------------------------------------------------------------
// mls-rs (aws-lc crypto provider, in-memory storage)
// ---------------------------------------------------------------------------

mod mls_rs_adapter {
    use super::{
        APPLICATION_AAD, Change, Client, Committed, EXTERNAL_PSK, EXTERNAL_PSK_ID, Handshake, Member, Outcome, Propose,
        Received, Setup, TreeDelivery, fail,
    };
    use mls_rs::client_builder::{
        BaseConfig, IntoConfigOutput, WithCryptoProvider, WithIdentityProvider, WithMlsRules,
    };
    use mls_rs::group::{CommitEffect, ExportedTree, ReceivedMessage};
    use mls_rs::identity::SigningIdentity;
    use mls_rs::identity::basic::{BasicCredential, BasicIdentityProvider};
    use mls_rs::mls_rules::{CommitOptions, DefaultMlsRules, EncryptionOptions};
    use mls_rs::psk::{ExternalPskId, PreSharedKey};
    use mls_rs::{CipherSuite, CipherSuiteProvider, CryptoProvider, ExtensionList, MlsMessage};
    use mls_rs_crypto_awslc::AwsLcCryptoProvider;

    type Config = IntoConfigOutput<
        WithMlsRules<
            DefaultMlsRules,
            WithCryptoProvider<AwsLcCryptoProvider, WithIdentityProvider<BasicIdentityProvider, BaseConfig>>,
        >,
    >;

    fn decode(bytes: &[u8]) -> Outcome<MlsMessage> {
        MlsMessage::from_bytes(bytes).map_err(fail)
    }

    pub struct MlsRsClient {
        name: String,
        tree_in_group_info: bool,
        client: mls_rs::Client<Config>,
        key_package: Vec<u8>,
    }

    impl MlsRsClient {
        pub fn new(setup: Setup, name: String) -> Self {
            let crypto = AwsLcCryptoProvider::default();
            let suite = CipherSuite::from(setup.suite);
            let (secret, public) = crypto.cipher_suite_provider(suite).unwrap().signature_key_generate().unwrap();
            let identity =
                SigningIdentity::new(BasicCredential::new(name.clone().into_bytes()).into_credential(), public);
            // mls-rs's defaults: a path only where RFC 9420 §12.4 requires
            // one (so its Adds go without), the tree in the Welcome, one
            // Welcome for all new members.
            let tree_in_group_info = setup.tree == TreeDelivery::InGroupInfo;
            let commit_options =
                CommitOptions::new().with_ratchet_tree_extension(tree_in_group_info).with_single_welcome_message(true);
            // `EncryptionOptions` is non-exhaustive and its padding type
            // private: set the one field on the default.
            let mut encryption_options = EncryptionOptions::default();
            encryption_options.encrypt_control_messages = setup.handshake == Handshake::Private;
            let rules =
                DefaultMlsRules::new().with_commit_options(commit_options).with_encryption_options(encryption_options);
            let client = mls_rs::Client::builder()
                .identity_provider(BasicIdentityProvider)
                .crypto_provider(crypto)
                .mls_rules(rules)
                .signing_identity(identity, secret, suite)
                .build();
            client
                .secret_store()
                .insert(ExternalPskId::new(EXTERNAL_PSK_ID.to_vec()), PreSharedKey::new(EXTERNAL_PSK.to_vec()));
            let key_package = client
                .generate_key_package_message(ExtensionList::default(), ExtensionList::default(), None)
                .unwrap()
                .to_bytes()
                .unwrap();
            Self { name, tree_in_group_info, client, key_package }
        }
    }

    impl Client for MlsRsClient {
        fn name(&self) -> &str {
            &self.name
        }

        fn key_package(&self) -> Vec<u8> {
            self.key_package.clone()
        }

        fn create(self: Box<Self>) -> Box<dyn Member> {
            let group = self.client.create_group(ExtensionList::default(), ExtensionList::default(), None).unwrap();
            self.member(group)
        }

        fn join(self: Box<Self>, welcome: &[u8], tree: Option<&[u8]>) -> Outcome<Box<dyn Member>> {
            let tree = tree.map(ExportedTree::from_bytes).transpose().map_err(fail)?;
            let (group, _) = self.client.join_group(tree, &decode(welcome)?, None).map_err(fail)?;
            Ok(self.member(group))
        }

        fn join_external(
            self: Box<Self>,
            group_info: &[u8],
            tree: Option<&[u8]>,
        ) -> Outcome<(Box<dyn Member>, Vec<u8>)> {
            let (group, commit) = external_commit(&self.client, group_info, tree, None)?;
            Ok((self.member(group), commit))
        }
    }

    /// An external commit from `group_info` (and the tree, if out of band),
    /// removing the member at `remove` in the same commit.
    fn external_commit(
        client: &mls_rs::Client<Config>,
        group_info: &[u8],
        tree: Option<&[u8]>,
        remove: Option<u32>,
    ) -> Outcome<(mls_rs::Group<Config>, Vec<u8>)> {
        let mut builder = client.external_commit_builder().map_err(fail)?;
        if let Some(leaf) = remove {
            builder = builder.with_removal(leaf);
        }
        if let Some(tree) = tree {
            builder = builder.with_tree_data(ExportedTree::from_bytes(tree).map_err(fail)?.into_owned());
        }
        let (group, commit) = builder.build(decode(group_info)?).map_err(fail)?;
        Ok((group, commit.to_bytes().map_err(fail)?))
    }

    impl MlsRsClient {
        fn member(self, group: mls_rs::Group<Config>) -> Box<dyn Member> {
            Box::new(MlsRsMember {
                name: self.name,
                tree_in_group_info: self.tree_in_group_info,
                client: self.client,
                group,
            })
        }
    }

    struct MlsRsMember {
        name: String,
        tree_in_group_info: bool,
        /// Kept to rejoin with the same identity.
        client: mls_rs::Client<Config>,
        group: mls_rs::Group<Config>,
    }

    impl Member for MlsRsMember {
        fn name(&self) -> &str {
            &self.name
        }

        fn leaf(&self) -> u32 {
            self.group.current_member_index()
        }

        fn epoch(&self) -> u64 {
            self.group.current_epoch()
        }

        fn commit(&mut self, change: Change<'_>) -> Committed {
            let output = match change {
                // An empty commit carries a path (RFC 9420 §12.4); pending
                // proposals are committed by reference.
                Change::Update | Change::Pending => self.group.commit(Vec::new()),
                Change::Psk(key_packages) => self
                    .group
                    .commit_builder()
                    .add_external_psk(ExternalPskId::new(EXTERNAL_PSK_ID.to_vec()))
                    .and_then(|b| key_packages.iter().try_fold(b, |b, kp| b.add_member(decode(kp).unwrap())))
                    .and_then(|b| b.build()),
                Change::Add(key_packages) | Change::AddWithoutPath(key_packages) => key_packages
                    .iter()
                    .try_fold(self.group.commit_builder(), |b, kp| b.add_member(decode(kp).unwrap()))
                    .and_then(|b| b.build()),
                Change::Remove(leaves) => leaves
                    .iter()
                    .try_fold(self.group.commit_builder(), |b, l| b.remove_member(*l))
                    .and_then(|b| b.build()),
                Change::Replace(leaves, key_packages) => leaves
                    .iter()
                    .try_fold(self.group.commit_builder(), |b, l| b.remove_member(*l))
                    .and_then(|b| key_packages.iter().try_fold(b, |b, kp| b.add_member(decode(kp).unwrap())))
                    .and_then(|b| b.build()),
            }
            .unwrap_or_else(|e| panic!("{}: commit {change}: {e:?}", self.name));
            self.group.apply_pending_commit().unwrap();
            let welcome = match output.welcome_messages.as_slice() {
                [] => None,
                [welcome] => Some(welcome.to_bytes().unwrap()),
                _ => panic!("one Welcome for all new members was configured"),
            };
            Committed { commit: output.commit_message.to_bytes().unwrap(), welcome }
        }

        fn propose(&mut self, proposal: Propose<'_>) -> Vec<u8> {
            match proposal {
                Propose::Update => self.group.propose_update(Vec::new()),
                Propose::Add(kp) => self.group.propose_add(decode(kp).unwrap(), Vec::new()),
                Propose::Remove(leaf) => self.group.propose_remove(leaf, Vec::new()),
            }
            .unwrap_or_else(|e| panic!("{}: {proposal:?}: {e:?}", self.name))
            .to_bytes()
            .unwrap()
        }

        fn send(&mut self, data: &[u8]) -> Vec<u8> {
            self.group.encrypt_application_message(data, APPLICATION_AAD.to_vec()).unwrap().to_bytes().unwrap()
        }

        fn process(&mut self, message: &[u8]) -> Outcome<Received> {
            match self.group.process_incoming_message(decode(message)?).map_err(fail)? {
                ReceivedMessage::ApplicationMessage(m) => {
                    assert_eq!(m.authenticated_data, APPLICATION_AAD, "{}: authenticated_data", self.name);
                    Ok(Received::Application(m.data().to_vec()))
                }
                ReceivedMessage::Proposal(_) => Ok(Received::Proposal),
                ReceivedMessage::Commit(c) => match c.effect {
                    CommitEffect::Removed { .. } => Ok(Received::Removed),
                    _ => Ok(Received::Commit),
                },
                other => Err(format!("unexpected {other:?}")),
            }
        }

        fn group_info(&mut self) -> Vec<u8> {
            self.group.group_info_message_allowing_ext_commit(self.tree_in_group_info).unwrap().to_bytes().unwrap()
        }

        fn ratchet_tree(&self) -> Vec<u8> {
            self.group.export_tree().to_bytes().unwrap()
        }

        fn rejoin(&mut self, group_info: &[u8], tree: Option<&[u8]>) -> Option<Outcome<Vec<u8>>> {
            let joined = external_commit(&self.client, group_info, tree, Some(self.leaf()));
            Some(joined.map(|(group, commit)| {
                self.group = group;
                commit
            }))
        }

        fn epoch_authenticator(&self) -> Vec<u8> {
            self.group.epoch_authenticator().unwrap().to_vec()
        }

        fn export(&self, label: &str, context: &[u8], length: u16) -> Vec<u8> {
            self.group.export_secret(label.as_bytes(), context, length.into()).unwrap().as_bytes().to_vec()
        }
    }
}

//! The group as the scenarios drive it: a perfect delivery service, and the
//! checks that every member agrees after every epoch change.

use crate::peer::{Change, Client, Handshake, Member, Named, Propose, Received, Setup, TreeDelivery, must};
use crate::wire;

/// The exporter every member evaluates at every epoch.
const EXPORTER_LABEL: &str = "throng interop";

/// Members of one group; message delivery is in order and to everyone.
pub struct Net {
    setup: Setup,
    members: Vec<Named<dyn Member>>,
}

impl Net {
    /// `creator` creates the group.
    pub fn create(setup: Setup, creator: Named<dyn Client>) -> Self {
        let member = must(creator.peer.create(), format_args!("{setup:?}: {} could not create a group", creator.name));
        Self { setup, members: vec![Named { name: creator.name, peer: member }] }
    }

    fn index_of(&self, name: &str) -> usize {
        self.members
            .iter()
            .position(|m| m.name.split_once(':').is_some_and(|(_, n)| n == name))
            .unwrap_or_else(|| panic!("no member {name}"))
    }

    pub fn leaf_of(&self, name: &str) -> u32 {
        self.members[self.index_of(name)].leaf()
    }

    /// Delivers `message` from member `from` to every other member and
    /// returns what each made of it.
    fn deliver(&mut self, from: usize, message: &[u8]) -> Vec<(usize, Received)> {
        let sender = self.members[from].name.clone();
        let epoch = self.members[from].epoch();
        let mut out = Vec::new();
        for (i, m) in self.members.iter_mut().enumerate() {
            if i == from {
                continue;
            }
            let received = must(
                m.process(message),
                format_args!("{:?}: {} rejected a message of {sender} (epoch {epoch})", self.setup, m.name),
            );
            out.push((i, received));
        }
        out
    }

    /// Delivers `message` from member `from`, which every other member must
    /// take as `expected`.
    fn deliver_all(&mut self, from: usize, message: &[u8], expected: Received, what: &str) {
        for (i, r) in self.deliver(from, message) {
            assert_eq!(r, expected, "{} on {}'s {what}", self.members[i].name, self.members[from].name);
        }
    }

    /// Member `by` commits `change`; every other member processes the
    /// commit; removed members leave; everyone left agrees. Returns the
    /// Welcome, if any.
    pub fn commit(&mut self, by: &str, change: Change<'_>) -> Option<Vec<u8>> {
        let from = self.index_of(by);
        let m = &mut self.members[from];
        let committed = must(m.commit(change), format_args!("{:?}: {}: commit {change}", self.setup, m.name));
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
                other => panic!("{} got {other:?} for a commit", self.members[i].name),
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
        (self.setup.tree == TreeDelivery::OutOfBand).then(|| {
            let m = &self.members[self.index_of(from)];
            must(m.ratchet_tree(), format_args!("{:?}: {}: ratchet tree", self.setup, m.name))
        })
    }

    /// Member `by` commits `change`, which adds `clients`; they join from
    /// its Welcome.
    fn commit_adding(&mut self, by: &str, change: Change<'_>, clients: Vec<Named<dyn Client>>) {
        let welcome = self.commit(by, change).expect("an Add commit has a Welcome");
        let tree = self.tree_from(by);
        for c in clients {
            let member = must(
                c.peer.join(&welcome, tree.as_deref()),
                format_args!("{:?}: {} could not join from the Welcome", self.setup, c.name),
            );
            self.members.push(Named { name: c.name, peer: member });
        }
        self.check_agreement("Welcome");
    }

    /// Member `by` adds `clients` in one commit; they join from its Welcome.
    pub fn add(&mut self, by: &str, clients: Vec<Named<dyn Client>>) {
        self.commit_adding(by, Change::Add(&key_packages(&clients)), clients);
    }

    /// As [`Net::add`], in a commit without an UpdatePath.
    pub fn add_without_path(&mut self, by: &str, clients: Vec<Named<dyn Client>>) {
        self.commit_adding(by, Change::AddWithoutPath(&key_packages(&clients)), clients);
    }

    /// Member `by` injects the external PSK and adds `clients` in one
    /// commit; they join from its Welcome, which names the PSK.
    pub fn add_with_psk(&mut self, by: &str, clients: Vec<Named<dyn Client>>) {
        self.commit_adding(by, Change::Psk(&key_packages(&clients)), clients);
    }

    /// Member `by` removes the members at `leaves` and adds `clients` in one
    /// commit; they join from its Welcome.
    pub fn replace(&mut self, by: &str, leaves: &[u32], clients: Vec<Named<dyn Client>>) {
        self.commit_adding(by, Change::Replace(leaves, &key_packages(&clients)), clients);
    }

    /// Member `by` commits the pending proposals, which add `clients`; they
    /// join from its Welcome.
    pub fn commit_pending_adds(&mut self, by: &str, clients: Vec<Named<dyn Client>>) {
        self.commit_adding(by, Change::Pending, clients);
    }

    /// Member `from`'s GroupInfo and, if out of band, its ratchet tree.
    fn group_info(&mut self, from: &str) -> (Vec<u8>, Option<Vec<u8>>) {
        let at = self.index_of(from);
        let m = &mut self.members[at];
        let info = must(m.group_info(), format_args!("{:?}: {}: GroupInfo", self.setup, m.name));
        let expect_tree = self.setup.tree == TreeDelivery::InGroupInfo;
        assert_eq!(wire::group_info_has_tree(&info), expect_tree, "{from}: ratchet_tree in the GroupInfo");
        (info, self.tree_from(from))
    }

    /// `client` joins by external commit from member `from`'s GroupInfo.
    pub fn join_external(&mut self, from: &str, client: Named<dyn Client>) {
        let (info, tree) = self.group_info(from);
        let (member, commit) = must(
            client.peer.join_external(&info, tree.as_deref()),
            format_args!("{:?}: {} could not join externally", self.setup, client.name),
        );
        let name = client.name;
        self.members.push(Named { name: name.clone(), peer: member });
        self.deliver_all(self.members.len() - 1, &commit, Received::Commit, "external commit");
        self.check_agreement(&format!("{name} joined by external commit"));
    }

    /// Member `who` rejoins by external commit from `from`'s GroupInfo,
    /// removing its old leaf (a client that lost its state resyncs this way).
    pub fn rejoin(&mut self, who: &str, from: &str) {
        let (info, tree) = self.group_info(from);
        let joiner = self.index_of(who);
        let rejoined = self.members[joiner]
            .rejoin(&info, tree.as_deref())
            .unwrap_or_else(|| panic!("{who}: the library cannot rejoin by external commit"));
        let commit = must(rejoined, format_args!("{:?}: {who} could not rejoin", self.setup));
        assert_eq!(wire::commit_removes(&commit), 1, "{who}'s rejoin removes its old leaf");
        self.deliver_all(joiner, &commit, Received::Commit, "external rejoin");
        self.check_agreement(&format!("{who} rejoined by external commit"));
    }

    /// Member `by` sends a proposal; everyone else caches it.
    pub fn propose(&mut self, by: &str, proposal: Propose<'_>) {
        let from = self.index_of(by);
        let m = &mut self.members[from];
        let message = must(m.propose(proposal), format_args!("{:?}: {}: {proposal:?}", self.setup, m.name));
        if matches!(proposal, Propose::SelfRemove) {
            // draft-ietf-mls-extensions: always a PublicMessage.
            assert_eq!(wire::format(&message), wire::PUBLIC_MESSAGE, "{by}: SelfRemove wire format");
        } else {
            self.check_handshake_format(&message);
        }
        self.deliver_all(from, &message, Received::Proposal, &format!("{proposal:?} proposal"));
    }

    /// Member `by` cannot send this proposal (and nothing is sent).
    pub fn propose_refused(&mut self, by: &str, proposal: Propose<'_>) {
        let from = self.index_of(by);
        let m = &mut self.members[from];
        assert!(m.propose(proposal).is_err(), "{:?}: {by} could send {proposal:?}", self.setup);
    }

    pub fn propose_update(&mut self, by: &str) {
        self.propose(by, Propose::Update);
    }

    /// Every member sends application messages that every other member
    /// decrypts intact, though delivered out of order.
    pub fn chat(&mut self) {
        for from in 0..self.members.len() {
            let m = &mut self.members[from];
            let texts: Vec<Vec<u8>> =
                (0..3).map(|k| format!("{} in epoch {}, message {k}", m.name, m.epoch()).into_bytes()).collect();
            let messages: Vec<Vec<u8>> =
                texts.iter().map(|t| must(m.send(t), format_args!("{:?}: {}: send", self.setup, m.name))).collect();
            // The last one first: receivers keep the keys of the generations
            // skipped (RFC 9420 §9.2), and use each once.
            for k in [2, 0, 1] {
                assert_eq!(wire::format(&messages[k]), wire::PRIVATE_MESSAGE, "application data is a PrivateMessage");
                self.deliver_all(from, &messages[k], Received::Application(texts[k].clone()), "message");
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
        // Each member's epoch authenticator and exporter value.
        let secrets = |m: &Named<dyn Member>| {
            let authenticator = must(
                m.epoch_authenticator(),
                format_args!("{:?}, after {after}: {}: epoch authenticator", self.setup, m.name),
            );
            let exported = must(
                m.export(EXPORTER_LABEL, &context, 32),
                format_args!("{:?}, after {after}: {}: exporter", self.setup, m.name),
            );
            (authenticator, exported)
        };
        let (authenticator, exported) = secrets(first);
        assert_eq!(exported.len(), 32);
        for m in &self.members[1..] {
            let at = format!("{:?}, after {after}: {} vs {}", self.setup, m.name, first.name);
            assert_eq!(m.epoch(), epoch, "epoch, {at}");
            let (m_authenticator, m_exported) = secrets(m);
            assert_eq!(m_authenticator, authenticator, "epoch authenticator, {at}");
            assert_eq!(m_exported, exported, "exporter, {at}");
        }
    }
}

/// The KeyPackages of `clients`.
fn key_packages(clients: &[Named<dyn Client>]) -> Vec<Vec<u8>> {
    clients.iter().map(|c| c.key_package()).collect()
}

//! Leaving and rejoining (issue 13): SelfRemove (draft-ietf-mls-extensions)
//! proposed by a member and committed by another, members and a server
//! following; last-resort KeyPackages; application-defined proposal types
//! with the application's validator; resync by external commit
//! (RFC 9420 §12.4.3.2). Every refusal is typed and changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use throng::crypto::{AwsLcProvider, CipherSuite, CryptoProvider};
use throng::error::{CredentialError, CustomProposalError, Error, ProposalError, UsageError, ValidationError};
use throng::internals::group::{CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle, Processed, PskStore};
use throng::internals::tree_math::LeafIndex;
use throng::messages::content::{MlsMessage, MlsMessageBody, Sender, WireFormat};
use throng::messages::registered_extensions::{ExtensionData, RequiredCapabilities};
use throng::messages::{Add, Credential, Extension, Proposal, ProposalType, Remove};
use throng::{
    CustomProposalCheck, CustomProposalRejected, CustomProposalValidator, ProposalStage, PublicGroupConfig, Registry,
    Rejected, default_capabilities,
};

const GROUP: &[u8] = b"membership";

fn provider() -> Arc<dyn CryptoProvider> {
    Arc::new(AwsLcProvider)
}

fn bundle(p: &Arc<dyn CryptoProvider>, cs: CipherSuite, name: &str) -> KeyPackageBundle {
    KeyPackageBundle::generate(&**p, cs, &Identity::basic(&**p, cs, name).unwrap()).unwrap()
}

fn add(b: &KeyPackageBundle) -> Proposal {
    Proposal::Add(Add { key_package: b.key_package.clone() })
}

fn welcome_of(msg: &MlsMessage) -> &throng::messages::Welcome {
    match &msg.body {
        MlsMessageBody::Welcome(w) => w,
        _ => panic!("not a welcome"),
    }
}

fn proposal_error(e: &Error) -> ProposalError {
    match e {
        Error::Invalid(ValidationError::Proposal(p)) => *p,
        other => panic!("expected a proposal error, got {other:?}"),
    }
}

/// A group created by members[0] with the others added, followed by a
/// server.
struct World {
    p: Arc<dyn CryptoProvider>,
    cs: CipherSuite,
    members: Vec<Group>,
    registry: Registry,
}

fn world_with(
    cs: CipherSuite,
    names: &[&str],
    config: GroupConfig,
    server: PublicGroupConfig,
    extensions: Vec<Extension>,
) -> World {
    let p = provider();
    let first = Identity::basic(&*p, cs, names[0]).unwrap();
    let mut creator = Group::create(cs, &first, GROUP.to_vec(), extensions, config.clone()).unwrap();
    let bundles: Vec<_> = names[1..].iter().map(|n| bundle(&p, cs, n)).collect();
    let pending = creator.commit(CommitOptions::with_proposals(bundles.iter().map(add).collect())).unwrap();
    let welcome = welcome_of(pending.welcome.as_ref().unwrap()).clone();
    creator.merge_pending_commit(pending).unwrap();
    let mut members = vec![creator];
    for b in &bundles {
        members.push(Group::join(p.clone(), config.clone(), &welcome, b, None, PskStore::default()).unwrap());
    }
    let registry = Registry::with_config(p.clone(), server);
    registry.create_group(&members[0].group_info(true, false).unwrap(), None).unwrap();
    World { p, cs, members, registry }
}

fn world(names: &[&str]) -> World {
    world_with(CipherSuite(1), names, GroupConfig::default(), PublicGroupConfig::default(), vec![])
}

impl World {
    /// Everyone but `sender` (and the server) processes `msg`; commits are
    /// merged. Returns what each member's staged commit removed.
    fn deliver(&mut self, sender: Option<usize>, msg: &MlsMessage) -> Vec<Vec<u32>> {
        self.registry.handle(GROUP, msg).unwrap();
        let mut removed = Vec::new();
        for (i, m) in self.members.iter_mut().enumerate() {
            if Some(i) == sender || !m.is_active() {
                continue;
            }
            match m.process_message(msg.clone()).unwrap() {
                Processed::Commit(staged) => {
                    removed.push(staged.removed().iter().map(|(l, _)| l.0).collect());
                    m.merge_staged_commit(*staged).unwrap();
                }
                Processed::Proposal { .. } => {}
                other => panic!("{other:?}"),
            }
        }
        removed
    }

    /// `who` commits what is pending and everyone follows.
    fn commit(&mut self, who: usize, options: CommitOptions) -> Vec<Vec<u32>> {
        let pending = self.members[who].commit(options).unwrap();
        let removed = self.deliver(Some(who), &pending.message);
        self.members[who].merge_pending_commit(pending).unwrap();
        removed
    }

    /// Every active member and the server refuse `msg` with `check`, and
    /// none of them changes.
    fn refused(&mut self, sender: usize, msg: &MlsMessage, check: impl Fn(&Error)) {
        for (i, m) in self.members.iter_mut().enumerate() {
            if i == sender || !m.is_active() {
                continue;
            }
            let before = m.export().unwrap();
            check(&m.process_message(msg.clone()).unwrap_err());
            assert_eq!(*m.export().unwrap(), *before, "member {i} changed");
        }
        let before = self.registry.with_group(GROUP, |g| g.export().unwrap()).unwrap();
        match self.registry.handle(GROUP, msg) {
            Err(Rejected::Invalid(e)) => check(&e),
            other => panic!("the server should refuse: {other:?}"),
        }
        assert_eq!(*self.registry.with_group(GROUP, |g| g.export().unwrap()).unwrap(), *before, "server changed");
    }

    fn assert_agree(&self) {
        let active: Vec<_> = self.members.iter().filter(|m| m.is_active()).collect();
        for m in &active {
            assert_eq!(m.epoch_authenticator(), active[0].epoch_authenticator());
        }
        assert_eq!(self.registry.epoch(GROUP), Some(active[0].epoch()));
        assert_eq!(
            self.registry.with_group(GROUP, |g| g.tree_hash().to_vec()),
            Some(active[0].public().tree_hash().to_vec())
        );
    }
}

// ---------------------------------------------------------------- SelfRemove

#[test]
fn a_self_remove_committed_by_another_member_and_followed_by_the_server() {
    for private in [false, true] {
        let config = GroupConfig {
            handshake_wire_format: if private { WireFormat::PRIVATE_MESSAGE } else { WireFormat::PUBLIC_MESSAGE },
            ..GroupConfig::default()
        };
        let mut w = world_with(CipherSuite(1), &["alice", "bob", "carol"], config, Default::default(), vec![]);
        let bob = w.members[1].own_leaf();
        let (proposal, reference) = w.members[1].propose_self_remove().unwrap();
        // Always a PublicMessage (draft-ietf-mls-extensions), so the server sees it.
        assert!(matches!(proposal.body, MlsMessageBody::PublicMessage(_)));
        if private {
            // The server cannot follow private commits: it sees the proposal only.
            let accepted = w.registry.handle(GROUP, &proposal).unwrap();
            assert!(!accepted.fanout.contains(&bob));
            for i in [0, 2] {
                assert!(matches!(w.members[i].process_message(proposal.clone()).unwrap(), Processed::Proposal { .. }));
            }
            let pending = w.members[2].commit(CommitOptions::default()).unwrap();
            let staged = match w.members[0].process_message(pending.message.clone()).unwrap() {
                Processed::Commit(s) => s,
                other => panic!("{other:?}"),
            };
            assert_eq!(staged.applied().self_removed, vec![bob]);
            w.members[0].merge_staged_commit(*staged).unwrap();
            match w.members[1].process_message(pending.message.clone()).unwrap() {
                Processed::Commit(s) => assert!(s.removes_self()),
                other => panic!("{other:?}"),
            }
            w.members[2].merge_pending_commit(pending).unwrap();
            assert_eq!(w.members[0].epoch_authenticator(), w.members[2].epoch_authenticator());
            assert_eq!(w.members[0].member_count(), 2);
            continue;
        }
        w.deliver(Some(1), &proposal);
        assert!(w.registry.with_group(GROUP, |g| g.pending_proposals().any(|(r, _, _)| *r == reference)).unwrap());
        // Carol commits it by reference; Alice, Bob and the server follow.
        let pending = w.members[2].commit(CommitOptions::default()).unwrap();
        assert_eq!(pending.applied().self_removed, vec![bob]);
        assert!(pending.applied().path_required, "SelfRemove requires a path");
        w.registry.handle(GROUP, &pending.message).unwrap();
        match w.members[1].process_message(pending.message.clone()).unwrap() {
            Processed::Commit(s) => {
                assert!(s.removes_self());
                w.members[1].merge_staged_commit(*s).unwrap();
            }
            other => panic!("{other:?}"),
        }
        assert!(!w.members[1].is_active());
        match w.members[0].process_message(pending.message.clone()).unwrap() {
            Processed::Commit(s) => {
                assert_eq!(s.removed().iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![bob]);
                w.members[0].merge_staged_commit(*s).unwrap();
            }
            other => panic!("{other:?}"),
        }
        w.members[2].merge_pending_commit(pending).unwrap();
        w.assert_agree();
        assert_eq!(w.registry.with_group(GROUP, |g| g.member_count()), Some(2));
    }
}

#[test]
fn a_self_remove_inline_in_a_commit_is_refused() {
    let mut w = world(&["alice", "bob", "carol"]);
    let before = w.members[2].export().unwrap();
    let e = w.members[2]
        .commit(CommitOptions { include_pending: false, ..CommitOptions::with_proposals(vec![Proposal::SelfRemove]) })
        .unwrap_err();
    assert_eq!(proposal_error(&e), ProposalError::SelfRemoveByValue);
    assert_eq!(*w.members[2].export().unwrap(), *before);
    // The group goes on.
    let (proposal, _) = w.members[1].propose_self_remove().unwrap();
    w.deliver(Some(1), &proposal);
    w.commit(2, CommitOptions::default());
    w.assert_agree();
}

#[test]
fn a_self_remove_wins_over_a_remove_of_the_same_leaf() {
    let mut w = world(&["alice", "bob", "carol", "dave"]);
    let bob = w.members[1].own_leaf();
    let (self_remove, _) = w.members[1].propose_self_remove().unwrap();
    w.deliver(Some(1), &self_remove);
    let (remove, _) = w.members[3].propose(Proposal::Remove(Remove { removed: bob })).unwrap();
    w.deliver(Some(3), &remove);
    let pending = w.members[2].commit(CommitOptions::default()).unwrap();
    // draft-ietf-mls-extensions: the Remove of a self-removing leaf is the
    // invalid one, so the committer leaves it out.
    assert_eq!(pending.applied().self_removed, vec![bob]);
    assert_eq!(pending.applied().removed.len(), 1);
    let removed = w.deliver(Some(2), &pending.message);
    w.members[2].merge_pending_commit(pending).unwrap();
    assert!(removed.iter().all(|r| r == &vec![bob.0]));
    w.assert_agree();
}

#[test]
fn a_self_remove_in_a_group_not_capable_of_it_is_refused() {
    let mut w = world(&["alice", "bob"]);
    // Erin's client does not support SelfRemove.
    let mut caps = default_capabilities(w.cs);
    caps.proposals.clear();
    let erin_id = Identity::basic(&*w.p, w.cs, "erin").unwrap();
    let erin = KeyPackageBundle::generate_with(&*w.p, w.cs, &erin_id, caps.clone(), vec![], vec![]).unwrap();
    let pending = w.members[0].commit(CommitOptions::with_proposals(vec![add(&erin)])).unwrap();
    let welcome = welcome_of(pending.welcome.as_ref().unwrap()).clone();
    w.deliver(Some(0), &pending.message);
    w.members[0].merge_pending_commit(pending).unwrap();
    w.members
        .push(Group::join(w.p.clone(), GroupConfig::default(), &welcome, &erin, None, PskStore::default()).unwrap());
    w.assert_agree();

    let before = w.members[1].export().unwrap();
    let e = w.members[1].propose_self_remove().unwrap_err();
    assert_eq!(proposal_error(&e), ProposalError::UnsupportedProposalType { proposal_type: 0x000a, leaf: 2 });
    assert_eq!(*w.members[1].export().unwrap(), *before);

    // When the group requires SelfRemove, such a client cannot be added.
    let required =
        RequiredCapabilities { proposal_types: vec![ProposalType::SELF_REMOVE], ..RequiredCapabilities::default() };
    let mut w = world_with(
        CipherSuite(1),
        &["alice", "bob"],
        GroupConfig::default(),
        Default::default(),
        vec![required.to_extension()],
    );
    let frank_id = Identity::basic(&*w.p, w.cs, "frank").unwrap();
    let frank = KeyPackageBundle::generate_with(&*w.p, w.cs, &frank_id, caps, vec![], vec![]).unwrap();
    let e = w.members[0].commit(CommitOptions::with_proposals(vec![add(&frank)])).unwrap_err();
    assert!(matches!(e, Error::Invalid(ValidationError::LeafNode(_))), "{e:?}");
    // With the type required, no member needs to be looked at, and it works.
    let (proposal, _) = w.members[1].propose_self_remove().unwrap();
    w.deliver(Some(1), &proposal);
    w.commit(0, CommitOptions::default());
    assert_eq!(w.members[0].member_count(), 1);
    w.assert_agree();
}

#[test]
fn a_second_self_remove_in_an_epoch_is_refused() {
    // Suite 2 signs with ECDSA, which is randomized: a second SelfRemove
    // from a copy of Bob's state has another reference.
    let mut w = world_with(CipherSuite(2), &["alice", "bob", "carol"], Default::default(), Default::default(), vec![]);
    let copy = w.members[1].export().unwrap();
    let (first, _) = w.members[1].propose_self_remove().unwrap();
    assert!(matches!(w.members[1].propose_self_remove().unwrap_err(), Error::Usage(UsageError::SelfRemoveAlreadySent)));
    w.deliver(Some(1), &first);
    let mut bob_again = Group::import(&copy, w.p.clone(), GroupConfig::default()).unwrap();
    let (second, _) = bob_again.propose_self_remove().unwrap();
    assert_ne!(first, second);
    let bob = w.members[1].own_leaf().0;
    w.refused(1, &second, |e| assert_eq!(proposal_error(e), ProposalError::SelfRemoveTwice(bob)));
    // The first still gets committed.
    w.commit(0, CommitOptions::default());
    assert_eq!(w.members[0].member_count(), 2);
    w.assert_agree();
}

#[test]
fn a_self_remove_from_an_external_sender_is_refused() {
    use throng::crypto::Suite;
    use throng::messages::{ExternalSender, ExternalSenders};
    let (p, cs) = (provider(), CipherSuite(1));
    let ds = Suite::new(&*p, cs).unwrap().generate_signature_key_pair().unwrap();
    let senders =
        ExternalSenders(vec![ExternalSender { signature_key: ds.public.clone(), credential: Credential::basic("ds") }]);
    let w = world_with(cs, &["alice", "bob"], Default::default(), Default::default(), vec![senders.to_extension()]);
    let e = w.registry.propose_external(GROUP, 0, &ds, Proposal::SelfRemove).unwrap_err();
    assert!(matches!(e, Error::Invalid(ValidationError::SenderNotAllowed { .. })), "{e:?}");
    assert_eq!(w.registry.with_group(GROUP, |g| g.pending_proposals().count()), Some(0));
}

// ------------------------------------------------------ last-resort KeyPackages

#[test]
fn a_last_resort_key_package_is_marked_and_may_be_used_twice() {
    use throng::internals::codec::{Decode, Encode};
    use throng::messages::{AppDataDictionary, ExtensionType, KeyPackage, LAST_RESORT_KEY_PACKAGE};

    let (p, cs) = (provider(), CipherSuite(1));
    let zoe = Identity::basic(&*p, cs, "zoe").unwrap();
    let last_resort = KeyPackageBundle::generate_last_resort(&*p, cs, &zoe).unwrap();
    // What a delivery service sees in the published bytes.
    let published = KeyPackage::from_bytes(&last_resort.key_package.to_bytes()).unwrap();
    assert!(published.is_last_resort());
    let dictionary = AppDataDictionary::find_in(&published.extensions).unwrap().unwrap();
    assert_eq!(dictionary.get(LAST_RESORT_KEY_PACKAGE), Some(&[][..]));
    assert!(published.leaf_node.capabilities.extensions.contains(&ExtensionType::APP_DATA_DICTIONARY));
    assert!(!bundle(&p, cs, "zoe").key_package.is_last_resort());
    // The mark of earlier drafts, which OpenMLS and mls-rs send.
    let mut caps = default_capabilities(cs);
    caps.extensions.push(ExtensionType::LAST_RESORT);
    let legacy = Extension { extension_type: ExtensionType::LAST_RESORT, extension_data: vec![] };
    let old_style = KeyPackageBundle::generate_with(&*p, cs, &zoe, caps, vec![], vec![legacy]).unwrap();
    assert!(old_style.key_package.is_last_resort());

    // Two groups add Zoe through the same KeyPackage; she joins both, and
    // a member of each sees that it was a last-resort one.
    for group_id in [b"first".to_vec(), b"second".to_vec()] {
        let mut alice = Group::create(
            cs,
            &Identity::basic(&*p, cs, "alice").unwrap(),
            group_id.clone(),
            vec![],
            GroupConfig::default(),
        )
        .unwrap();
        let pending = alice.commit(CommitOptions::with_proposals(vec![add(&last_resort)])).unwrap();
        assert!(pending.applied().added[0].1.is_last_resort());
        let welcome = welcome_of(pending.welcome.as_ref().unwrap()).clone();
        alice.merge_pending_commit(pending).unwrap();
        let zoe_group =
            Group::join(p.clone(), GroupConfig::default(), &welcome, &last_resort, None, PskStore::default()).unwrap();
        assert_eq!(zoe_group.group_id(), group_id.as_slice());
        assert_eq!(zoe_group.epoch_authenticator(), alice.epoch_authenticator());
    }
}

// ------------------------------------------------- application-defined proposals

/// The application's proposal type in these tests: a topic change.
const TOPIC: ProposalType = ProposalType(0xf0a1);

/// The application's rules: a topic is at most 16 bytes and never
/// "forbidden" (unless `lenient`); commits of topics need no path. Records
/// each call.
#[derive(Debug, Default)]
struct TopicRules {
    lenient: bool,
    seen: std::sync::Mutex<Vec<(ProposalStage, Sender, Vec<u8>)>>,
}

impl CustomProposalValidator for TopicRules {
    fn validate(&self, check: &CustomProposalCheck<'_>) -> Result<(), CustomProposalRejected> {
        assert_eq!(check.group_id, GROUP);
        self.seen.lock().unwrap().push((check.stage, check.sender, check.proposal.data.clone()));
        if check.proposal.proposal_type != TOPIC {
            return Err(CustomProposalRejected::new("unknown type"));
        }
        if !self.lenient && (check.proposal.data.len() > 16 || check.proposal.data == b"forbidden") {
            return Err(CustomProposalRejected::new("not a topic"));
        }
        Ok(())
    }

    fn path_required(&self, proposal_type: ProposalType) -> bool {
        proposal_type != TOPIC
    }
}

fn topic(data: &[u8]) -> Proposal {
    Proposal::Custom(throng::messages::CustomProposal { proposal_type: TOPIC, data: data.to_vec() })
}

/// Alice (lenient: she sends what the others refuse), Bob and Carol, each
/// listing TOPIC in their capabilities unless named in `without`, and a
/// server with the strict rules.
fn topic_world(without: &[&str]) -> (World, Arc<TopicRules>) {
    let (p, cs) = (provider(), CipherSuite(1));
    let rules = Arc::new(TopicRules::default());
    let strict = GroupConfig { custom_proposals: rules.clone(), ..GroupConfig::default() };
    let lenient = GroupConfig {
        custom_proposals: Arc::new(TopicRules { lenient: true, ..TopicRules::default() }),
        ..GroupConfig::default()
    };
    let bundle_of = |name: &str| {
        let mut caps = default_capabilities(cs);
        if !without.contains(&name) {
            caps.proposals.push(TOPIC);
        }
        KeyPackageBundle::generate_with(&*p, cs, &Identity::basic(&*p, cs, name).unwrap(), caps, vec![], vec![])
            .unwrap()
    };
    let mut alice = Group::create_from_bundle(p.clone(), &bundle_of("alice"), GROUP.to_vec(), vec![], lenient).unwrap();
    let others = [bundle_of("bob"), bundle_of("carol")];
    let pending = alice.commit(CommitOptions::with_proposals(others.iter().map(add).collect())).unwrap();
    let welcome = welcome_of(pending.welcome.as_ref().unwrap()).clone();
    alice.merge_pending_commit(pending).unwrap();
    let mut members = vec![alice];
    for b in &others {
        members.push(Group::join(p.clone(), strict.clone(), &welcome, b, None, PskStore::default()).unwrap());
    }
    let server = PublicGroupConfig { custom_proposals: rules.clone(), ..PublicGroupConfig::default() };
    let registry = Registry::with_config(p.clone(), server);
    registry.create_group(&members[0].group_info(true, false).unwrap(), None).unwrap();
    (World { p, cs, members, registry }, rules)
}

fn custom_refusal(e: &Error, expected: ProposalStage) {
    match e {
        Error::Invalid(ValidationError::CustomProposal(CustomProposalError::Refused {
            proposal_type,
            stage,
            reason,
        })) => {
            assert_eq!((*proposal_type, *stage), (TOPIC.0, expected));
            assert!(!reason.is_empty());
        }
        other => panic!("expected a custom proposal refusal, got {other:?}"),
    }
}

#[test]
fn a_custom_proposal_is_proposed_committed_and_exposed() {
    let (mut w, rules) = topic_world(&[]);
    let bob = w.members[1].own_leaf();
    let (proposal, _) = w.members[1].propose(topic(b"release 1.0")).unwrap();
    w.deliver(Some(1), &proposal);
    assert!(rules.seen.lock().unwrap().iter().all(|(stage, sender, data)| {
        *stage == ProposalStage::Received && *sender == Sender::Member(bob) && data == b"release 1.0"
    }));
    // Carol commits it by reference, without a path (the application says
    // none is needed); Alice sees what to act on.
    let pending = w.members[2].commit(CommitOptions { force_path: false, ..CommitOptions::default() }).unwrap();
    assert!(!pending.applied().path_required);
    w.registry.handle(GROUP, &pending.message).unwrap();
    for i in [0, 1] {
        let Processed::Commit(staged) = w.members[i].process_message(pending.message.clone()).unwrap() else {
            panic!("a commit")
        };
        let custom = staged.custom_proposals();
        assert_eq!(custom.len(), 1);
        assert_eq!((custom[0].sender, &custom[0].proposal), (Sender::Member(bob), &topic(b"release 1.0")));
        assert!(custom[0].reference.is_some());
        w.members[i].merge_staged_commit(*staged).unwrap();
    }
    w.members[2].merge_pending_commit(pending).unwrap();
    w.assert_agree();
    assert!(rules.seen.lock().unwrap().iter().any(|(stage, _, _)| *stage == ProposalStage::Committed));

    // Inline, by the committer: allowed for custom types.
    let pending = w.members[1].commit(CommitOptions::with_proposals(vec![topic(b"release 1.1")])).unwrap();
    assert_eq!(pending.applied().custom[0].sender, Sender::Member(bob));
    w.deliver(Some(1), &pending.message);
    w.members[1].merge_pending_commit(pending).unwrap();
    w.assert_agree();
}

#[test]
fn a_custom_proposal_the_application_refuses_changes_nothing() {
    let (mut w, _) = topic_world(&[]);
    // Received: refused by Bob, Carol and the server.
    let (proposal, _) = w.members[0].propose(topic(b"forbidden")).unwrap();
    w.refused(0, &proposal, |e| custom_refusal(e, ProposalStage::Received));
    // Committed inline by lenient Alice: refused at the commit.
    let pending = w.members[0]
        .commit(CommitOptions { include_pending: false, ..CommitOptions::with_proposals(vec![topic(b"forbidden")]) })
        .unwrap();
    w.refused(0, &pending.message, |e| custom_refusal(e, ProposalStage::Committed));
    // Bob will neither send nor commit one.
    let before = w.members[1].export().unwrap();
    custom_refusal(&w.members[1].propose(topic(b"forbidden")).unwrap_err(), ProposalStage::Received);
    custom_refusal(
        &w.members[1].commit(CommitOptions::with_proposals(vec![topic(b"forbidden")])).unwrap_err(),
        ProposalStage::Committed,
    );
    assert_eq!(*w.members[1].export().unwrap(), *before);
    // A member without a validator refuses every custom proposal.
    let mut plain = Group::import(&before, w.p.clone(), GroupConfig::default()).unwrap();
    let (fine, _) = w.members[2].propose(topic(b"fine")).unwrap();
    let e = plain.process_message(fine.clone()).unwrap_err();
    assert!(matches!(e, Error::Invalid(ValidationError::CustomProposal(_))), "{e:?}");
    // The group goes on: the next genuine one processes.
    w.deliver(Some(2), &fine);
    w.commit(1, CommitOptions::default());
    w.assert_agree();
}

#[test]
fn a_custom_proposal_needs_every_member_to_support_its_type() {
    let (mut w, _) = topic_world(&["carol"]);
    let carol = w.members[2].own_leaf().0;
    let before = w.members[1].export().unwrap();
    let unsupported = ProposalError::UnsupportedProposalType { proposal_type: TOPIC.0, leaf: carol };
    assert_eq!(proposal_error(&w.members[1].propose(topic(b"x")).unwrap_err()), unsupported);
    assert_eq!(
        proposal_error(&w.members[1].commit(CommitOptions::with_proposals(vec![topic(b"x")])).unwrap_err()),
        unsupported
    );
    // Received from lenient Alice, whose own check is the same: she cannot
    // send it either, and a commit removing Carol may carry it (§12.2:
    // members removed by the commit need not support it).
    assert_eq!(proposal_error(&w.members[0].propose(topic(b"x")).unwrap_err()), unsupported);
    assert_eq!(*w.members[1].export().unwrap(), *before);
    let options =
        CommitOptions::with_proposals(vec![Proposal::Remove(Remove { removed: LeafIndex(carol) }), topic(b"x")]);
    let pending = w.members[1].commit(options).unwrap();
    assert_eq!(pending.applied().custom.len(), 1);
    w.deliver(Some(1), &pending.message);
    w.members[1].merge_pending_commit(pending).unwrap();
    w.assert_agree();
    // A custom proposal may not name a type throng defines.
    let fake = Proposal::Custom(throng::messages::CustomProposal { proposal_type: ProposalType::REMOVE, data: vec![] });
    assert_eq!(proposal_error(&w.members[1].propose(fake).unwrap_err()), ProposalError::CustomProposalOfKnownType(3));
}

// ------------------------------------------------------ resync by external commit

/// Names every basic credential "someone": the joiner's own check passes
/// whatever leaf it removes, so receivers' checks are what is tested.
#[derive(Debug)]
struct EveryoneIsSomeone;

impl throng::IdentityValidator for EveryoneIsSomeone {
    fn validate(&self, _: &throng::CredentialCheck<'_>) -> Result<(), throng::CredentialRejected> {
        Ok(())
    }

    fn identity(&self, _: &Credential) -> Result<Vec<u8>, throng::CredentialRejected> {
        Ok(b"someone".to_vec())
    }
}

#[test]
fn a_member_that_lost_its_state_resyncs_by_external_commit() {
    use throng::{ExternalJoinOptions, Resync};
    for resync in [Resync::SameIdentity, Resync::Leaf(LeafIndex(1))] {
        let mut w = world(&["alice", "bob", "carol"]);
        let old_bob = w.members[1].own_leaf();
        assert_eq!(old_bob, LeafIndex(1));
        // Bob's state is gone; he still has his identity (a new signature
        // key would do as well: only the credential's identity counts).
        let bob_id = Identity::basic(&*w.p, w.cs, "bob").unwrap();
        let info = w.members[0].group_info(true, true).unwrap();
        let options = ExternalJoinOptions { resync: Some(resync), ..ExternalJoinOptions::default() };
        let (bob, commit) =
            Group::join_by_external_commit_with(w.p.clone(), GroupConfig::default(), &bob_id, &info, None, options)
                .unwrap();
        w.registry.handle(GROUP, &commit).unwrap();
        for i in [0, 2] {
            let Processed::Commit(staged) = w.members[i].process_message(commit.clone()).unwrap() else {
                panic!("a commit")
            };
            assert_eq!(staged.removed().iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![old_bob]);
            assert_eq!(*staged.committer(), Sender::NewMemberCommit);
            w.members[i].merge_staged_commit(*staged).unwrap();
        }
        // The old leaf is the leftmost blank: Bob takes it again.
        assert_eq!(bob.own_leaf(), old_bob);
        w.members[1] = bob;
        w.assert_agree();
        assert_eq!(w.members[0].member_count(), 3);
        w.commit(1, CommitOptions::default());
        w.assert_agree();
    }
}

#[test]
fn a_resync_that_removes_another_identity_is_refused() {
    use throng::{ExternalJoinOptions, Resync};
    let mut w = world(&["alice", "bob", "carol"]);
    let info = w.members[0].group_info(true, true).unwrap();
    let mallory = Identity::basic(&*w.p, w.cs, "mallory").unwrap();
    let resync_bob = || ExternalJoinOptions { resync: Some(Resync::Leaf(LeafIndex(1))), ..Default::default() };
    // The joiner's own check.
    let e =
        Group::join_by_external_commit_with(w.p.clone(), GroupConfig::default(), &mallory, &info, None, resync_bob())
            .unwrap_err();
    assert!(matches!(
        e,
        Error::Invalid(ValidationError::Credential(CredentialError::ResyncIdentityMismatch { leaf: 1 }))
    ));
    let no_leaf = ExternalJoinOptions { resync: Some(Resync::SameIdentity), ..Default::default() };
    let e = Group::join_by_external_commit_with(w.p.clone(), GroupConfig::default(), &mallory, &info, None, no_leaf)
        .unwrap_err();
    assert!(matches!(e, Error::Usage(UsageError::NoLeafToResync)), "{e:?}");
    // Receivers' and the server's: a joiner whose validator sees no
    // difference sends it; members and the server refuse it, naming the leaf.
    let careless = GroupConfig { identity: Arc::new(EveryoneIsSomeone), ..GroupConfig::default() };
    let (_, commit) =
        Group::join_by_external_commit_with(w.p.clone(), careless, &mallory, &info, None, resync_bob()).unwrap();
    w.refused(usize::MAX, &commit, |e| {
        assert!(
            matches!(
                e,
                Error::Invalid(ValidationError::Credential(CredentialError::ResyncIdentityMismatch { leaf: 1 }))
            ),
            "{e:?}"
        )
    });
    // The group goes on.
    w.commit(2, CommitOptions::default());
    w.assert_agree();
}

#[test]
fn an_external_commit_includes_the_pending_self_removes() {
    use throng::ExternalJoinOptions;
    let mut w = world(&["alice", "bob", "carol"]);
    let bob = w.members[1].own_leaf();
    let (self_remove, _) = w.members[1].propose_self_remove().unwrap();
    w.deliver(Some(1), &self_remove);
    let info = w.members[0].group_info(true, true).unwrap();
    let dave = Identity::basic(&*w.p, w.cs, "dave").unwrap();
    // Anything but a SelfRemove is refused.
    let (update, _) = w.members[2].propose_update().unwrap();
    let wrong = ExternalJoinOptions { self_removes: vec![update], ..Default::default() };
    assert!(
        Group::join_by_external_commit_with(w.p.clone(), GroupConfig::default(), &dave, &info, None, wrong).is_err()
    );
    let options = ExternalJoinOptions { self_removes: vec![self_remove], ..Default::default() };
    let (dave, commit) =
        Group::join_by_external_commit_with(w.p.clone(), GroupConfig::default(), &dave, &info, None, options).unwrap();
    w.registry.handle(GROUP, &commit).unwrap();
    for i in [0, 1, 2] {
        let Processed::Commit(staged) = w.members[i].process_message(commit.clone()).unwrap() else {
            panic!("a commit")
        };
        assert_eq!(staged.applied().self_removed, vec![bob]);
        assert_eq!(staged.removes_self(), i == 1);
        w.members[i].merge_staged_commit(*staged).unwrap();
    }
    // Dave takes Bob's blank leaf.
    assert_eq!(dave.own_leaf(), bob);
    w.members[1] = dave;
    w.assert_agree();
}

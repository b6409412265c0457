//! The application's credential validation (RFC 9420 §5.3.1): at every
//! point the RFC lists, a credential the validator refuses is refused, by a
//! member and by a server, with the point named and nothing changed (the
//! next genuine message still processes); a changed credential must be a
//! valid successor of the old one; and the built-in validators.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use throng::crypto::{AwsLcProvider, CipherSuite, CryptoProvider, Suite};
use throng::error::{CredentialError, Error, ValidationError};
use throng::internals::group::{CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle, Processed, PskStore};
use throng::internals::tree_math::LeafIndex;
use throng::messages::content::{MlsMessage, MlsMessageBody};
use throng::messages::registered_extensions::ExtensionData;
use throng::messages::{
    Add, Certificate, Credential, Extension, ExternalSender, ExternalSenders, GroupContextExtensions, Proposal, Remove,
};
use throng::{
    AcceptAnyBasic, AcceptAnyCredential, BasicAllowList, CredentialCheck, CredentialRejected, IdentityValidator,
    PublicGroupConfig, Registry, Rejected, ValidationPoint,
};

const GROUP: &[u8] = b"identity";
const ALICE: usize = 0;
const BOB: usize = 1;
const CAROL: usize = 2;

fn provider() -> Arc<dyn CryptoProvider> {
    Arc::new(AwsLcProvider)
}

/// The test's policy: refuses "mallory" (and her devices); a member's
/// identity is its name up to the first '-', so "bob-phone" is a valid
/// successor of "bob" and "robert" is not (by the trait's default
/// `valid_successor`).
#[derive(Debug)]
struct Policy;

impl IdentityValidator for Policy {
    fn validate(&self, check: &CredentialCheck<'_>) -> Result<(), CredentialRejected> {
        assert_eq!(check.group_id, GROUP);
        assert!(check.now > 1_700_000_000, "the time is given");
        if self.identity(check.credential)? == b"mallory" {
            return Err(CredentialRejected::new("mallory is not welcome"));
        }
        Ok(())
    }

    fn identity(&self, credential: &Credential) -> Result<Vec<u8>, CredentialRejected> {
        match credential {
            Credential::Basic { identity } => Ok(identity.split(|&b| b == b'-').next().unwrap_or_default().to_vec()),
            _ => Err(CredentialRejected::new("not a basic credential")),
        }
    }
}

/// Accepts every credential, with the identities of [`Policy`]: Alice's,
/// so that she sends what the others must refuse.
#[derive(Debug)]
struct Lenient;

impl IdentityValidator for Lenient {
    fn validate(&self, _: &CredentialCheck<'_>) -> Result<(), CredentialRejected> {
        Ok(())
    }

    fn identity(&self, credential: &Credential) -> Result<Vec<u8>, CredentialRejected> {
        Policy.identity(credential)
    }
}

fn strict() -> GroupConfig {
    GroupConfig { identity: Arc::new(Policy), ..GroupConfig::default() }
}

fn strict_registry(p: &Arc<dyn CryptoProvider>) -> Registry {
    Registry::with_config(p.clone(), PublicGroupConfig { identity: Arc::new(Policy), ..PublicGroupConfig::default() })
}

fn welcome_of(msg: &MlsMessage) -> &throng::messages::Welcome {
    match &msg.body {
        MlsMessageBody::Welcome(w) => w,
        _ => panic!("not a welcome"),
    }
}

/// The credential error inside `e`, with its point and leaf.
fn credential_error(e: &Error) -> &CredentialError {
    match e {
        Error::Invalid(ValidationError::Credential(c)) => c,
        other => panic!("expected a credential error, got {other:?}"),
    }
}

fn assert_refused(e: &Error, point: ValidationPoint, leaf: Option<u32>) {
    match credential_error(e) {
        CredentialError::Refused { point: p, leaf: l, reason } => {
            assert_eq!((*p, *l), (point, leaf), "{e}");
            assert!(!reason.is_empty());
        }
        other => panic!("expected a refusal at {point}, got {other:?}"),
    }
}

fn assert_not_successor(e: &Error, point: ValidationPoint, leaf: u32) {
    match credential_error(e) {
        CredentialError::NotSuccessor { point: p, leaf: l, .. } => assert_eq!((*p, *l), (point, leaf), "{e}"),
        other => panic!("expected a refused successor at {point}, got {other:?}"),
    }
}

/// Alice ([`Lenient`]: she sends what the others must refuse), Bob
/// and Carol (the test's policy), and a server with the test's policy.
struct World {
    p: Arc<dyn CryptoProvider>,
    cs: CipherSuite,
    members: Vec<Group>,
    registry: Registry,
}

fn bundle(p: &Arc<dyn CryptoProvider>, cs: CipherSuite, name: &str) -> KeyPackageBundle {
    KeyPackageBundle::generate(&**p, cs, &Identity::basic(&**p, cs, name).unwrap()).unwrap()
}

fn world(extensions: Vec<Extension>) -> World {
    let (p, cs) = (provider(), CipherSuite(1));
    let alice_id = Identity::basic(&*p, cs, "alice").unwrap();
    let lenient = GroupConfig { identity: Arc::new(Lenient), ..GroupConfig::default() };
    let mut alice = Group::create(cs, &alice_id, GROUP.to_vec(), extensions, lenient).unwrap();
    let (bob, carol) = (bundle(&p, cs, "bob"), bundle(&p, cs, "carol"));
    let adds = [&bob, &carol].map(|b| Proposal::Add(Add { key_package: b.key_package.clone() })).to_vec();
    let pending = alice.commit(CommitOptions::with_proposals(adds)).unwrap();
    let welcome = welcome_of(pending.welcome.as_ref().unwrap()).clone();
    alice.merge_pending_commit(pending).unwrap();
    let mut members = vec![alice];
    for b in [&bob, &carol] {
        members.push(Group::join(p.clone(), strict(), &welcome, b, None, PskStore::default()).unwrap());
    }
    let registry = strict_registry(&p);
    registry.create_group(&members[ALICE].group_info(true, false).unwrap(), None).unwrap();
    World { p, cs, members, registry }
}

impl World {
    /// Every receiver with the test's policy (Bob, Carol, unless `sender`)
    /// and the server refuse `msg` with this error, and are unchanged.
    fn refused(&mut self, sender: usize, msg: &MlsMessage, check: impl Fn(&Error)) {
        for (i, m) in self.members.iter_mut().enumerate() {
            if i == ALICE || i == sender {
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

    /// Everyone but `sender` and the server accept `msg`; commits are merged
    /// (the sender merges its own).
    fn accepted(&mut self, sender: Option<usize>, msg: &MlsMessage) {
        self.registry.handle(GROUP, msg).unwrap();
        for (i, m) in self.members.iter_mut().enumerate() {
            if Some(i) == sender {
                continue;
            }
            match m.process_message(msg.clone()).unwrap() {
                Processed::Commit(staged) => m.merge_staged_commit(*staged).unwrap(),
                Processed::Proposal { .. } => {}
                other => panic!("{other:?}"),
            }
        }
    }

    /// `who` commits `options` and everyone accepts it.
    fn commit_accepted(&mut self, who: usize, options: CommitOptions) {
        let pending = self.members[who].commit(options).unwrap();
        self.accepted(Some(who), &pending.message);
        self.members[who].merge_pending_commit(pending).unwrap();
        let epoch = self.members[who].epoch();
        assert!(self.members.iter().all(|m| m.epoch() == epoch));
        assert_eq!(self.registry.epoch(GROUP), Some(epoch));
    }
}

fn add(b: &KeyPackageBundle) -> Proposal {
    Proposal::Add(Add { key_package: b.key_package.clone() })
}

fn by_value(proposals: Vec<Proposal>) -> CommitOptions {
    CommitOptions { include_pending: false, ..CommitOptions::with_proposals(proposals) }
}

#[test]
fn an_add_of_a_refused_key_package() {
    let mut w = world(vec![]);
    let mallory = bundle(&w.p, w.cs, "mallory");
    let at_add = |e: &Error| assert_refused(e, ValidationPoint::AddKeyPackage, None);

    // Proposed: refused on receipt.
    let (proposal, _) = w.members[ALICE].propose(add(&mallory)).unwrap();
    w.refused(ALICE, &proposal, at_add);
    // Committed by value.
    let pending = w.members[ALICE].commit(by_value(vec![add(&mallory)])).unwrap();
    w.refused(ALICE, &pending.message, at_add);
    // A member with the policy will not commit it either, and is unchanged.
    let before = w.members[BOB].export().unwrap();
    at_add(&w.members[BOB].commit(by_value(vec![add(&mallory)])).unwrap_err());
    assert_eq!(*w.members[BOB].export().unwrap(), *before);

    // The next genuine Add still goes through, proposed then committed.
    let dave = bundle(&w.p, w.cs, "dave");
    let (proposal, _) = w.members[CAROL].propose(add(&dave)).unwrap();
    w.accepted(Some(CAROL), &proposal);
    let pending = w.members[BOB].commit(CommitOptions::default()).unwrap();
    w.accepted(Some(BOB), &pending.message);
    w.members[BOB].merge_pending_commit(pending).unwrap();
    assert_eq!(w.members[BOB].member_count(), 4);
    assert_eq!(w.registry.with_group(GROUP, |g| g.member_count()), Some(4));
}

#[test]
fn an_update_to_a_refused_or_unrelated_credential() {
    let mut w = world(vec![]);
    let bob_leaf = w.members[BOB].own_leaf().0;

    let (update, _) = w.members[BOB].propose_update_with(Some(Credential::basic("mallory"))).unwrap();
    w.refused(BOB, &update, |e| assert_refused(e, ValidationPoint::Update, Some(bob_leaf)));
    let (update, _) = w.members[BOB].propose_update_with(Some(Credential::basic("robert"))).unwrap();
    w.refused(BOB, &update, |e| assert_not_successor(e, ValidationPoint::Update, bob_leaf));

    // A new device of the same identity is a valid successor: the Update
    // goes through, and a commit applies it.
    let (update, _) = w.members[BOB].propose_update_with(Some(Credential::basic("bob-laptop"))).unwrap();
    w.accepted(Some(BOB), &update);
    w.commit_accepted(CAROL, CommitOptions::default());
    assert_eq!(w.members[ALICE].public().credential(LeafIndex(bob_leaf)), Some(&Credential::basic("bob-laptop")));
    // Roster lookups by identity, as the validator extracts it.
    assert_eq!(w.members[CAROL].public().find_identity(b"bob"), vec![LeafIndex(bob_leaf)]);
    assert_eq!(w.members[CAROL].public().member_identity(LeafIndex(bob_leaf)), Some(b"bob".to_vec()));
    assert_eq!(w.registry.with_group(GROUP, |g| g.find_identity(b"bob")), Some(vec![LeafIndex(bob_leaf)]));
}

#[test]
fn a_commit_path_with_a_refused_or_unrelated_credential() {
    let mut w = world(vec![]);
    let bob_leaf = w.members[BOB].own_leaf().0;
    let with_credential =
        |name: &str| CommitOptions { credential: Some(Credential::basic(name)), ..CommitOptions::default() };

    let pending = w.members[BOB].commit(with_credential("mallory")).unwrap();
    w.refused(BOB, &pending.message, |e| assert_refused(e, ValidationPoint::CommitPath, Some(bob_leaf)));
    let pending = w.members[BOB].commit(with_credential("robert")).unwrap();
    w.refused(BOB, &pending.message, |e| assert_not_successor(e, ValidationPoint::CommitPath, bob_leaf));

    // A valid successor is accepted, and Bob's own state follows it.
    w.commit_accepted(BOB, with_credential("bob-phone"));
    for m in &w.members {
        assert_eq!(m.public().credential(LeafIndex(bob_leaf)), Some(&Credential::basic("bob-phone")));
    }
    w.commit_accepted(BOB, CommitOptions::default());
    assert_eq!(w.members[ALICE].public().credential(LeafIndex(bob_leaf)), Some(&Credential::basic("bob-phone")));
}

#[test]
fn by_default_a_member_cannot_change_identity() {
    let (p, cs) = (provider(), CipherSuite(1));
    let alice_id = Identity::basic(&*p, cs, "alice").unwrap();
    let mut alice = Group::create(cs, &alice_id, GROUP.to_vec(), vec![], GroupConfig::default()).unwrap();
    let bob = bundle(&p, cs, "bob");
    let pending = alice.commit(CommitOptions::with_proposals(vec![add(&bob)])).unwrap();
    let welcome = welcome_of(pending.welcome.as_ref().unwrap()).clone();
    alice.merge_pending_commit(pending).unwrap();
    let mut bob = Group::join(p.clone(), GroupConfig::default(), &welcome, &bob, None, PskStore::default()).unwrap();

    let (update, _) = bob.propose_update_with(Some(Credential::basic("robert"))).unwrap();
    assert_not_successor(&alice.process_message(update).unwrap_err(), ValidationPoint::Update, 1);
    // The same identity in a new credential of the same bytes is no change.
    let (update, _) = bob.propose_update_with(Some(Credential::basic("bob"))).unwrap();
    assert!(matches!(alice.process_message(update).unwrap(), Processed::Proposal { .. }));
}

#[test]
fn a_joined_tree_with_a_refused_leaf() {
    let (p, cs) = (provider(), CipherSuite(1));
    let alice_id = Identity::basic(&*p, cs, "alice").unwrap();
    let mut alice = Group::create(cs, &alice_id, GROUP.to_vec(), vec![], GroupConfig::default()).unwrap();
    let (mallory, dave) = (bundle(&p, cs, "mallory"), bundle(&p, cs, "dave"));
    let pending = alice.commit(CommitOptions::with_proposals(vec![add(&mallory), add(&dave)])).unwrap();
    let welcome = welcome_of(pending.welcome.as_ref().unwrap()).clone();
    alice.merge_pending_commit(pending).unwrap();

    // Dave, with the policy, will not join a group holding Mallory; nor will
    // the server follow it.
    let e = Group::join(p.clone(), strict(), &welcome, &dave, None, PskStore::default()).unwrap_err();
    assert_refused(&e, ValidationPoint::TreeLeaf, Some(1));
    let registry = strict_registry(&p);
    let e = registry.create_group(&alice.group_info(true, false).unwrap(), None).unwrap_err();
    assert_refused(&e, ValidationPoint::TreeLeaf, Some(1));
    assert_eq!(registry.group_count(), 0);

    // Once Mallory is removed, a new member joins and the server follows.
    let erin = bundle(&p, cs, "erin");
    let options = CommitOptions::with_proposals(vec![Proposal::Remove(Remove { removed: LeafIndex(1) }), add(&erin)]);
    let pending = alice.commit(options).unwrap();
    let welcome = welcome_of(pending.welcome.as_ref().unwrap()).clone();
    alice.merge_pending_commit(pending).unwrap();
    let erin = Group::join(p.clone(), strict(), &welcome, &erin, None, PskStore::default()).unwrap();
    assert_eq!(erin.epoch_authenticator(), alice.epoch_authenticator());
    registry.create_group(&alice.group_info(true, false).unwrap(), None).unwrap();
    assert_eq!(registry.epoch(GROUP), Some(alice.epoch()));
}

#[test]
fn an_external_commit_by_a_refused_joiner() {
    let mut w = world(vec![]);
    let info = w.members[ALICE].group_info(true, true).unwrap();
    let mallory = Identity::basic(&*w.p, w.cs, "mallory").unwrap();
    let (_, commit) =
        Group::join_by_external_commit(w.p.clone(), GroupConfig::default(), &mallory, &info, None).unwrap();
    // Mallory would take the first blank leaf: 3.
    w.refused(usize::MAX, &commit, |e| assert_refused(e, ValidationPoint::ExternalJoiner, Some(3)));

    // A joiner with the policy refuses to join a group whose tree the
    // policy refuses: covered by the tree-leaf test. Erin joins.
    let erin = Identity::basic(&*w.p, w.cs, "erin").unwrap();
    let (erin, commit) = Group::join_by_external_commit(w.p.clone(), strict(), &erin, &info, None).unwrap();
    w.accepted(None, &commit);
    w.members.push(erin);
    w.commit_accepted(CAROL, CommitOptions::default());
}

fn external_senders(p: &Arc<dyn CryptoProvider>, cs: CipherSuite, name: &str) -> Extension {
    let key = Suite::new(&**p, cs).unwrap().generate_signature_key_pair().unwrap();
    ExternalSenders(vec![ExternalSender { signature_key: key.public, credential: Credential::basic(name) }])
        .to_extension()
}

#[test]
fn external_senders_set_by_group_context_extensions() {
    let mut w = world(vec![]);
    let gce = |ext: Extension| Proposal::GroupContextExtensions(GroupContextExtensions { extensions: vec![ext] });
    let at_sender = |e: &Error| assert_refused(e, ValidationPoint::ExternalSender, None);

    let bad = gce(external_senders(&w.p, w.cs, "mallory"));
    let (proposal, _) = w.members[ALICE].propose(bad.clone()).unwrap();
    w.refused(ALICE, &proposal, at_sender);
    let pending = w.members[ALICE].commit(by_value(vec![bad])).unwrap();
    w.refused(ALICE, &pending.message, at_sender);

    let good = gce(external_senders(&w.p, w.cs, "delivery-service"));
    w.commit_accepted(ALICE, by_value(vec![good]));
    assert!(w.registry.with_group(GROUP, |g| g.external_senders().unwrap().is_some()).unwrap());
}

#[test]
fn external_senders_of_a_joined_group() {
    let (p, cs) = (provider(), CipherSuite(1));
    let alice_id = Identity::basic(&*p, cs, "alice").unwrap();
    let extensions = vec![external_senders(&p, cs, "mallory")];
    let mut alice = Group::create(cs, &alice_id, GROUP.to_vec(), extensions, GroupConfig::default()).unwrap();
    let bob = bundle(&p, cs, "bob");
    let pending = alice.commit(CommitOptions::with_proposals(vec![add(&bob)])).unwrap();
    let welcome = welcome_of(pending.welcome.as_ref().unwrap()).clone();
    alice.merge_pending_commit(pending).unwrap();

    let e = Group::join(p.clone(), strict(), &welcome, &bob, None, PskStore::default()).unwrap_err();
    assert_refused(&e, ValidationPoint::ExternalSender, None);
    let registry = strict_registry(&p);
    let e = registry.create_group(&alice.group_info(true, false).unwrap(), None).unwrap_err();
    assert_refused(&e, ValidationPoint::ExternalSender, None);
    assert_eq!(registry.group_count(), 0);

    // With the external sender replaced, joining and following work.
    let carol = bundle(&p, cs, "carol");
    let gce = Proposal::GroupContextExtensions(GroupContextExtensions {
        extensions: vec![external_senders(&p, cs, "delivery-service")],
    });
    let pending = alice.commit(CommitOptions::with_proposals(vec![gce, add(&carol)])).unwrap();
    let welcome = welcome_of(pending.welcome.as_ref().unwrap()).clone();
    alice.merge_pending_commit(pending).unwrap();
    Group::join(p.clone(), strict(), &welcome, &carol, None, PskStore::default()).unwrap();
    registry.create_group(&alice.group_info(true, false).unwrap(), None).unwrap();
}

#[test]
fn an_allow_list_changed_at_run_time() {
    let (p, cs) = (provider(), CipherSuite(1));
    let list = Arc::new(BasicAllowList::new(["alice", "bob"]));
    let config = GroupConfig { identity: list.clone(), ..GroupConfig::default() };
    let alice_id = Identity::basic(&*p, cs, "alice").unwrap();
    let mut alice = Group::create(cs, &alice_id, GROUP.to_vec(), vec![], config.clone()).unwrap();
    let (bob, carol) = (bundle(&p, cs, "bob"), bundle(&p, cs, "carol"));

    // Carol is not on the list: Alice will not add her.
    let before = alice.export().unwrap();
    let e = alice.commit(CommitOptions::with_proposals(vec![add(&bob), add(&carol)])).unwrap_err();
    assert_refused(&e, ValidationPoint::AddKeyPackage, None);
    assert_eq!(*alice.export().unwrap(), *before);
    list.allow("carol");
    let pending = alice.commit(CommitOptions::with_proposals(vec![add(&bob), add(&carol)])).unwrap();
    let welcome = welcome_of(pending.welcome.as_ref().unwrap()).clone();
    alice.merge_pending_commit(pending).unwrap();
    let mut bob = Group::join(p.clone(), config.clone(), &welcome, &bob, None, PskStore::default()).unwrap();

    // Bob is revoked: his next commit is refused at its path leaf.
    assert!(list.revoke(b"bob"));
    let pending = bob.commit(CommitOptions::default()).unwrap();
    assert_refused(&alice.process_message(pending.message).unwrap_err(), ValidationPoint::CommitPath, Some(1));
    assert!(!list.is_allowed(b"bob"));
}

#[test]
fn the_built_in_validators() {
    let x509 = Credential::X509 { certificates: vec![Certificate { cert_data: vec![0x30, 0x00] }].into() };
    let (basic, bob) = (Credential::basic("alice"), Credential::basic("bob"));
    let check = |credential| CredentialCheck {
        point: ValidationPoint::TreeLeaf,
        group_id: GROUP,
        epoch: 3,
        cipher_suite: throng::CipherSuite(1),
        credential,
        signature_key: &[1; 32],
        leaf_index: Some(LeafIndex(0)),
        now: 0,
    };
    assert!(AcceptAnyCredential.validate(&check(&x509)).is_ok());
    assert!(AcceptAnyCredential.validate(&check(&basic)).is_ok());
    assert_eq!(AcceptAnyCredential.identity(&basic).unwrap(), b"alice");
    assert!(AcceptAnyBasic.validate(&check(&basic)).is_ok());
    assert!(AcceptAnyBasic.validate(&check(&x509)).is_err());
    assert!(AcceptAnyBasic.valid_successor(&basic, &bob).is_err());
    assert!(AcceptAnyBasic.valid_successor(&basic, &basic).is_ok());
    let list = BasicAllowList::new(["alice"]);
    assert!(list.validate(&check(&basic)).is_ok());
    assert!(list.validate(&check(&bob)).is_err());
    assert!(list.validate(&check(&x509)).is_err());
}

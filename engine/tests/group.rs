//! End to end: members create, join, commit, process, exchange messages and
//! agree on every epoch's authenticator and exporter, for every suite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use throng::crypto::{AwsLcProvider, CipherSuite, CryptoProvider};
use throng::internals::group::{CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle, Processed, PskStore};
use throng::internals::tree_math::LeafIndex;
use throng::messages::content::{MlsMessage, MlsMessageBody};
use throng::messages::{Add, Proposal, Remove};

const SUITES: [u16; 7] = [1, 2, 3, 4, 5, 6, 7];

fn provider() -> Arc<dyn CryptoProvider> {
    Arc::new(AwsLcProvider)
}

fn welcome_of(msg: &MlsMessage) -> &throng::messages::Welcome {
    match &msg.body {
        MlsMessageBody::Welcome(w) => w,
        _ => panic!("not a welcome"),
    }
}

/// Every member processes `commit` (except `committer`) and merges it.
fn deliver(members: &mut [Group], committer: usize, commit: &MlsMessage) {
    for (i, m) in members.iter_mut().enumerate() {
        if i == committer {
            continue;
        }
        match m.process_message(commit.clone()).unwrap() {
            Processed::Commit(staged) => m.merge_staged_commit(*staged).unwrap(),
            other => panic!("expected commit, got {other:?}"),
        }
    }
}

fn assert_agree(members: &[Group]) {
    let first = &members[0];
    for m in members.iter().filter(|m| m.is_active()) {
        assert_eq!(m.epoch(), first.epoch());
        assert_eq!(m.epoch_authenticator(), first.epoch_authenticator());
        assert_eq!(m.tree().root_hash(), first.tree().root_hash());
        assert_eq!(
            m.export_secret("test", b"ctx", 32).unwrap().as_bytes(),
            first.export_secret("test", b"ctx", 32).unwrap().as_bytes()
        );
    }
}

fn scenario(cs: CipherSuite) {
    let p = provider();
    let alice_id = Identity::basic(&*p, cs, "alice").unwrap();
    let mut alice = Group::create(cs, &alice_id, b"group".to_vec(), vec![], GroupConfig::default()).unwrap();

    // Alice adds four members in one commit.
    let bundles: Vec<KeyPackageBundle> = (0..4)
        .map(|i| KeyPackageBundle::generate(&*p, cs, &Identity::basic(&*p, cs, format!("m{i}")).unwrap()).unwrap())
        .collect();
    let adds = bundles.iter().map(|b| Proposal::Add(Add { key_package: b.key_package.clone() })).collect();
    let pending = alice.commit(CommitOptions::with_proposals(adds)).unwrap();
    let welcome = pending.welcome.clone().unwrap();
    alice.merge_pending_commit(pending).unwrap();
    let mut members = vec![alice];
    members.extend(bundles.iter().map(|b| join(&p, &welcome, b)));
    assert_agree(&members);
    assert_eq!(members[0].member_count(), 5);

    // Member 2 commits an empty commit (a full path update).
    let pending = members[2].commit(CommitOptions::default()).unwrap();
    let msg = pending.message.clone();
    members[2].merge_pending_commit(pending).unwrap();
    deliver(&mut members, 2, &msg);
    assert_agree(&members);

    // Member 3 proposes an update; member 1 commits it by reference.
    let (proposal, _) = members[3].propose_update().unwrap();
    for (i, m) in members.iter_mut().enumerate() {
        if i != 3 {
            assert!(matches!(m.process_message(proposal.clone()).unwrap(), Processed::Proposal { .. }));
        }
    }
    let pending = members[1].commit(CommitOptions::default()).unwrap();
    assert_eq!(pending.applied().updated, vec![LeafIndex(3)]);
    let msg = pending.message.clone();
    members[1].merge_pending_commit(pending).unwrap();
    deliver(&mut members, 1, &msg);
    assert_agree(&members);

    // Member 4 removes member 2.
    let pending = members[4]
        .commit(CommitOptions::with_proposals(vec![Proposal::Remove(Remove { removed: LeafIndex(2) })]))
        .unwrap();
    let msg = pending.message.clone();
    members[4].merge_pending_commit(pending).unwrap();
    deliver(&mut members, 4, &msg);
    assert!(!members[2].is_active());
    members.remove(2);
    assert_agree(&members);
    assert_eq!(members[0].member_count(), 4);

    // Application messages in both directions.
    let ct = members[0].encrypt_application(b"hello", vec![]).unwrap();
    for m in members.iter_mut().skip(1) {
        match m.process_message(ct.clone()).unwrap() {
            Processed::Application { data, sender, .. } => {
                assert_eq!(data, b"hello");
                assert_eq!(sender, LeafIndex(0));
            }
            other => panic!("{other:?}"),
        }
    }
    // A replay is rejected and changes nothing.
    assert!(members[1].process_message(ct).is_err());

    // An outsider joins by external commit.
    let info = members[0].group_info(true, true).unwrap();
    let eve_id = Identity::basic(&*p, cs, "eve").unwrap();
    let (eve, commit) =
        Group::join_by_external_commit(p.clone(), GroupConfig::default(), &eve_id, &info, None).unwrap();
    let n = members.len();
    members.push(eve);
    deliver(&mut members, n, &commit);
    assert_agree(&members);
    assert_eq!(members[0].member_count(), 5);

    // The external joiner commits too.
    let pending = members[n].commit(CommitOptions::default()).unwrap();
    let msg = pending.message.clone();
    members[n].merge_pending_commit(pending).unwrap();
    deliver(&mut members, n, &msg);
    assert_agree(&members);
}

#[test]
fn members_agree_in_every_suite() {
    for cs in SUITES {
        scenario(CipherSuite(cs));
    }
}

#[test]
fn rejected_commit_changes_nothing() {
    let cs = CipherSuite(1);
    let p = provider();
    let mut alice =
        Group::create(cs, &Identity::basic(&*p, cs, "a").unwrap(), b"g".to_vec(), vec![], GroupConfig::default())
            .unwrap();
    let bob_kp = KeyPackageBundle::generate(&*p, cs, &Identity::basic(&*p, cs, "b").unwrap()).unwrap();
    let pending = alice
        .commit(CommitOptions::with_proposals(vec![Proposal::Add(Add { key_package: bob_kp.key_package.clone() })]))
        .unwrap();
    let welcome = pending.welcome.clone().unwrap();
    alice.merge_pending_commit(pending).unwrap();
    let mut bob = join(&p, &welcome, &bob_kp);

    let pending = alice.commit(CommitOptions::default()).unwrap();
    let mut msg = pending.message.clone();
    // Corrupt the signature of the commit.
    if let MlsMessageBody::PublicMessage(pm) = &mut msg.body {
        pm.auth.signature[3] ^= 1;
    }
    let before = (bob.epoch(), bob.epoch_authenticator().to_vec(), bob.tree().root_hash().to_vec());
    assert!(bob.process_message(msg).is_err());
    assert_eq!(before, (bob.epoch(), bob.epoch_authenticator().to_vec(), bob.tree().root_hash().to_vec()));
    // The genuine commit still works afterwards.
    let good = pending.message.clone();
    alice.merge_pending_commit(pending).unwrap();
    match bob.process_message(good).unwrap() {
        Processed::Commit(s) => bob.merge_staged_commit(*s).unwrap(),
        _ => panic!(),
    }
    assert_eq!(bob.epoch_authenticator(), alice.epoch_authenticator());
}

/// Alice creates a group and adds `n - 1` members in one commit: her
/// state, the members' bundles (leaf `i + 1` for bundle `i`) and the Welcome.
fn create_and_add(
    p: &Arc<dyn CryptoProvider>,
    cs: CipherSuite,
    n: usize,
) -> (Group, Vec<KeyPackageBundle>, MlsMessage) {
    let alice_id = Identity::basic(&**p, cs, "alice").unwrap();
    let mut alice = Group::create(cs, &alice_id, b"old".to_vec(), vec![], GroupConfig::default()).unwrap();
    let bundles: Vec<KeyPackageBundle> = (1..n)
        .map(|i| KeyPackageBundle::generate(&**p, cs, &Identity::basic(&**p, cs, format!("m{i}")).unwrap()).unwrap())
        .collect();
    let adds = bundles.iter().map(|b| Proposal::Add(Add { key_package: b.key_package.clone() })).collect();
    let pending = alice.commit(CommitOptions::with_proposals(adds)).unwrap();
    let welcome = pending.welcome.clone().unwrap();
    alice.merge_pending_commit(pending).unwrap();
    (alice, bundles, welcome)
}

fn join(p: &Arc<dyn CryptoProvider>, welcome: &MlsMessage, bundle: &KeyPackageBundle) -> Group {
    Group::join(p.clone(), GroupConfig::default(), welcome_of(welcome), bundle, None, PskStore::default()).unwrap()
}

fn add_all(p: &Arc<dyn CryptoProvider>, cs: CipherSuite, n: usize) -> Vec<Group> {
    let (alice, bundles, welcome) = create_and_add(p, cs, n);
    let mut members = vec![alice];
    members.extend(bundles.iter().map(|b| join(p, &welcome, b)));
    members
}

#[test]
fn external_psk_and_reinit_to_another_suite() {
    let p = provider();
    let cs = CipherSuite(1);
    let mut members = add_all(&p, cs, 3);

    // An external PSK injected by a commit (§8.4) must be known to all.
    for m in members.iter_mut() {
        m.psk_store_mut().insert(b"shared".to_vec(), throng::crypto::Secret::from_slice(&[7; 32]));
    }
    let psk = throng::messages::PreSharedKeyId {
        psk: throng::messages::Psk::External { psk_id: b"shared".to_vec() },
        psk_nonce: vec![1; 32],
    };
    let pending = members[1]
        .commit(CommitOptions::with_proposals(vec![Proposal::PreSharedKey(throng::messages::PreSharedKey { psk })]))
        .unwrap();
    let msg = pending.message.clone();
    members[1].merge_pending_commit(pending).unwrap();
    deliver(&mut members, 1, &msg);
    assert_agree(&members);

    // A ReInit to suite 3 under a new group id (§11.2).
    let reinit = throng::messages::ReInit {
        group_id: b"new".to_vec(),
        version: throng::messages::ProtocolVersion::MLS10,
        cipher_suite: CipherSuite(3),
        extensions: vec![],
    };
    let pending = members[2].commit(CommitOptions::with_proposals(vec![Proposal::ReInit(reinit)])).unwrap();
    let msg = pending.message.clone();
    members[2].merge_pending_commit(pending).unwrap();
    deliver(&mut members, 2, &msg);
    assert!(members.iter().all(|m| m.pending_reinit().is_some() && !m.is_active()));
    assert!(members[0].encrypt_application(b"x", vec![]).is_err());

    // Member 2 starts the new group with everyone's new-suite KeyPackages.
    let new_cs = CipherSuite(3);
    let bundles: Vec<KeyPackageBundle> = [0, 1]
        .iter()
        .map(|i| {
            KeyPackageBundle::generate(&*p, new_cs, &Identity::basic(&*p, new_cs, format!("n{i}")).unwrap()).unwrap()
        })
        .collect();
    let creator_id = Identity::basic(&*p, new_cs, "n2").unwrap();
    let (mut fresh, pending) = members[2]
        .start_reinit(&creator_id, bundles.iter().map(|b| b.key_package.clone()).collect(), GroupConfig::default())
        .unwrap();
    let welcome = pending.welcome.clone().unwrap();
    fresh.merge_pending_commit(pending).unwrap();
    let mut new_members = vec![fresh];
    for (i, b) in bundles.iter().enumerate() {
        new_members
            .push(members[i].join_reinit(p.clone(), GroupConfig::default(), welcome_of(&welcome), b, None).unwrap());
    }
    assert_agree(&new_members);
    assert_eq!(new_members[1].cipher_suite(), new_cs);
    assert_eq!(new_members[1].group_id(), b"new");
    // Without the old group's resumption PSK the Welcome cannot be opened.
    assert!(
        Group::join(p.clone(), GroupConfig::default(), welcome_of(&welcome), &bundles[0], None, PskStore::default())
            .is_err()
    );
}

/// A commit big enough to have its signature checked on a second thread
/// (a path to a freshly built tree of 1,000) is refused, with the group
/// unchanged, when its signature or its membership tag is broken, and
/// accepted intact.
#[test]
fn a_large_commit_is_checked_in_full() {
    use throng::internals::codec::{Decode as _, Encode as _};

    let p = provider();
    let (_alice, bundles, welcome) = create_and_add(&p, CipherSuite(1), 1000);
    let mut committer = join(&p, &welcome, &bundles[998]);
    let receiver = join(&p, &welcome, &bundles[0]);

    let pending = committer.commit(CommitOptions::default()).unwrap();
    let bytes = pending.message.to_bytes();
    assert!(bytes.len() > 32 * 1024, "{} bytes: not large enough to take the parallel path", bytes.len());
    // The signature sits just before the confirmation and membership tags
    // (each a 32-byte MAC with a length octet) at the end.
    let tail = 2 * 33;
    for (what, at) in
        [("signature", bytes.len() - tail - 10), ("membership tag", bytes.len() - 5), ("path", bytes.len() / 2)]
    {
        let mut tampered = bytes.clone();
        tampered[at] ^= 1;
        let mut copy = receiver.clone();
        let before = copy.epoch_authenticator().to_vec();
        let result =
            MlsMessage::from_bytes(&tampered).map_err(throng::Error::from).and_then(|m| copy.process_message(m));
        assert!(result.is_err(), "a commit with a broken {what} was accepted");
        assert_eq!(copy.epoch_authenticator(), &before[..], "{what}: the group changed");
        assert_eq!(copy.epoch(), receiver.epoch());
    }
    let mut copy = receiver.clone();
    let Processed::Commit(staged) = copy.process_message(MlsMessage::from_bytes(&bytes).unwrap()).unwrap() else {
        panic!("not a commit")
    };
    copy.merge_staged_commit(*staged).unwrap();
    committer.merge_pending_commit(pending).unwrap();
    assert_eq!(copy.epoch_authenticator(), committer.epoch_authenticator());
}

/// A commit's own Remove of a member supersedes that member's cached
/// Update (§12.2: one Update or Remove per leaf): the commit goes through
/// without it, and the others agree on the result.
#[test]
fn a_remove_by_value_supersedes_a_cached_update() {
    let [mut a, mut bob, mut carol]: [Group; 3] = add_all(&provider(), CipherSuite(1), 3).try_into().unwrap();

    let (update, _) = bob.propose_update().unwrap();
    for member in [&mut a, &mut carol] {
        assert!(matches!(member.process_message(update.clone()).unwrap(), Processed::Proposal { .. }));
    }
    let remove = Proposal::Remove(Remove { removed: bob.own_leaf() });
    let pending = a.commit(CommitOptions::with_proposals(vec![remove])).unwrap();
    assert!(pending.applied().updated.is_empty(), "the superseded Update was committed");
    let commit = pending.message.clone();
    a.merge_pending_commit(pending).unwrap();
    let Processed::Commit(staged) = carol.process_message(commit).unwrap() else { panic!("not a commit") };
    assert_eq!(staged.removed().iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![LeafIndex(1)]);
    carol.merge_staged_commit(*staged).unwrap();
    assert_eq!(a.epoch_authenticator(), carol.epoch_authenticator());
    assert_eq!(a.member_count(), 2);
}

/// Issue 12, class 3: a member used to cache an Add proposal without
/// validating its KeyPackage, and its next commit including pending
/// proposals then failed. Members now run the server's proposal checks on
/// receipt: the bad proposal is refused, nothing is cached, and the next
/// commit goes through.
#[test]
fn a_proposal_that_could_never_be_committed_is_refused_on_receipt() {
    let p = provider();
    let cs = CipherSuite(1);
    let mut members = add_all(&p, cs, 3);
    let mut bad = KeyPackageBundle::generate(&*p, cs, &Identity::basic(&*p, cs, "mallory").unwrap()).unwrap();
    bad.key_package.signature[0] ^= 1;
    let (proposal, _) = members[1].propose(Proposal::Add(Add { key_package: bad.key_package })).unwrap();

    let before = members[0].export().unwrap();
    assert!(matches!(members[0].process_message(proposal), Err(throng::Error::Crypto(_))));
    assert_eq!(members[0].pending_proposals().count(), 0);
    assert_eq!(*members[0].export().unwrap(), *before, "a refused proposal changes nothing");

    // Alice's next commit, pending proposals included, goes through.
    let pending = members[0].commit(CommitOptions::default()).unwrap();
    let commit = pending.message.clone();
    members[0].merge_pending_commit(pending).unwrap();
    // Bob cached his own proposal; the commit does not reference it, and he
    // and Carol follow Alice into the next epoch.
    deliver(&mut members, 0, &commit);
    assert_agree(&members);
}

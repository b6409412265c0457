//! Sealed state (`throng::state`, "Sealed state"): a member's state sealed
//! under a `StateKey` and bound to its record imports back in the middle
//! of a session, in every suite, and follows its group; a server's too;
//! and a sealed state moved to another record does not open there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use throng::crypto::{AwsLcProvider, CipherSuite, CryptoProvider};
use throng::error::{Error, StateError};
use throng::messages::content::{MlsMessage, MlsMessageBody};
use throng::messages::{Add, Proposal};
use throng::state::{SEALED_OVERHEAD, StateKey, peek_sealed_header};
use throng::{
    CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle, Processed, PskStore, PublicGroup, PublicGroupConfig,
    PublicProcessed,
};

const SUITES: [u16; 7] = [1, 2, 3, 4, 5, 6, 7];

fn provider() -> Arc<dyn CryptoProvider> {
    Arc::new(AwsLcProvider)
}

/// The record a member's state is stored under, used as the context.
fn record(group: &Group, member: &str) -> Vec<u8> {
    let mut context = b"groups/".to_vec();
    context.extend_from_slice(&group.context().group_id);
    context.extend_from_slice(b"/members/");
    context.extend_from_slice(member.as_bytes());
    context
}

fn commit_and_merge(committer: &mut Group, options: CommitOptions) -> MlsMessage {
    let pending = committer.commit(options).unwrap();
    let msg = pending.message.clone();
    committer.merge_pending_commit(pending).unwrap();
    msg
}

fn process_commit(g: &mut Group, msg: &MlsMessage) {
    match g.process_message(msg.clone()).unwrap() {
        Processed::Commit(staged) => g.merge_staged_commit(*staged).unwrap(),
        other => panic!("expected a commit, got {other:?}"),
    }
}

fn application(g: &mut Group, msg: &MlsMessage) -> Vec<u8> {
    match g.process_message(msg.clone()).unwrap() {
        Processed::Application { data, .. } => data,
        other => panic!("expected application data, got {other:?}"),
    }
}

fn agree(a: &Group, b: &Group) {
    assert_eq!(a.epoch(), b.epoch());
    assert_eq!(a.epoch_authenticator(), b.epoch_authenticator());
    assert_eq!(
        a.export_secret("sealed test", b"", 32).unwrap().as_bytes(),
        b.export_secret("sealed test", b"", 32).unwrap().as_bytes()
    );
}

/// Alice, Bob and Carol after a full-path commit by Carol; Alice has sent
/// three messages, Bob has read the last one (the skipped keys are kept).
fn session(cs: CipherSuite) -> (Group, Group, Group, Vec<MlsMessage>) {
    let p = provider();
    let ids: Vec<Identity> = ["alice", "bob", "carol"].iter().map(|n| Identity::basic(&*p, cs, *n).unwrap()).collect();
    let mut alice = Group::create(cs, &ids[0], b"sealed group".to_vec(), vec![], GroupConfig::default()).unwrap();
    let bundles: Vec<KeyPackageBundle> =
        ids[1..].iter().map(|id| KeyPackageBundle::generate(&*p, cs, id).unwrap()).collect();
    let adds = bundles.iter().map(|b| Proposal::Add(Add { key_package: b.key_package.clone() })).collect();
    let pending = alice.commit(CommitOptions::with_proposals(adds)).unwrap();
    let MlsMessageBody::Welcome(welcome) = pending.welcome.clone().unwrap().body else { panic!("not a Welcome") };
    alice.merge_pending_commit(pending).unwrap();
    let mut joined = bundles
        .iter()
        .map(|b| Group::join(p.clone(), GroupConfig::default(), &welcome, b, None, PskStore::default()).unwrap());
    let (mut bob, mut carol) = (joined.next().unwrap(), joined.next().unwrap());
    let msg = commit_and_merge(&mut carol, CommitOptions::default());
    process_commit(&mut alice, &msg);
    process_commit(&mut bob, &msg);
    let messages: Vec<MlsMessage> =
        (0..3).map(|i| alice.encrypt_application(format!("m{i}").as_bytes(), vec![]).unwrap()).collect();
    assert_eq!(application(&mut bob, &messages[2]), b"m2");
    (alice, bob, carol, messages)
}

fn sealed_round_trip(cs: CipherSuite) {
    let (mut alice, bob, mut carol, messages) = session(cs);
    let key = StateKey::generate(1).unwrap();
    let context = record(&bob, "bob");
    let sealed = bob.export_sealed(&key, &context).unwrap();
    assert_eq!(sealed.len(), bob.export().unwrap().len() + SEALED_OVERHEAD);
    assert_eq!(peek_sealed_header(&sealed).unwrap().cipher_suite, cs);
    drop(bob);

    // After the "restart": the imported Bob reads the messages he skipped,
    // follows Carol's next commit, and commits himself.
    let mut bob = Group::import_sealed(&sealed, &key, &context, provider(), GroupConfig::default()).unwrap();
    agree(&bob, &alice);
    assert_eq!(application(&mut bob, &messages[0]), b"m0");
    assert_eq!(application(&mut bob, &messages[1]), b"m1");
    let msg = commit_and_merge(&mut carol, CommitOptions::default());
    process_commit(&mut alice, &msg);
    process_commit(&mut bob, &msg);
    agree(&bob, &carol);
    let hello = bob.encrypt_application(b"from the sealed bob", vec![]).unwrap();
    assert_eq!(application(&mut alice, &hello), b"from the sealed bob");
    let msg = commit_and_merge(&mut bob, CommitOptions::default());
    process_commit(&mut alice, &msg);
    process_commit(&mut carol, &msg);
    agree(&alice, &bob);
    agree(&carol, &bob);

    // Sealed again at the new epoch, under the same key and record.
    let again = bob.export_sealed(&key, &context).unwrap();
    let bob2 = Group::import_sealed(&again, &key, &context, provider(), GroupConfig::default()).unwrap();
    assert_eq!(*bob2.export().unwrap(), *bob.export().unwrap());
}

#[test]
fn sealed_member_state_follows_its_group_in_every_suite() {
    for cs in SUITES {
        sealed_round_trip(CipherSuite(cs));
    }
}

#[test]
fn sealed_state_moved_to_another_record_does_not_open() {
    let (_alice, bob, carol, _) = session(CipherSuite(1));
    let key = StateKey::new(1, &[0x5a; 32]);
    let bobs = bob.export_sealed(&key, &record(&bob, "bob")).unwrap();
    let carols = carol.export_sealed(&key, &record(&carol, "carol")).unwrap();
    // A store that swaps the two records (same key, same group) is caught.
    for (bytes, context) in [(&bobs, record(&carol, "carol")), (&carols, record(&bob, "bob"))] {
        let result = Group::import_sealed(bytes, &key, &context, provider(), GroupConfig::default());
        assert_eq!(result.unwrap_err(), Error::State(StateError::SealBroken));
    }
    // Each opens where it belongs.
    let bob2 = Group::import_sealed(&bobs, &key, &record(&bob, "bob"), provider(), GroupConfig::default()).unwrap();
    assert_eq!(bob2.own_leaf(), bob.own_leaf());
}

#[test]
fn sealed_public_state_follows_its_group() {
    let (mut alice, _bob, mut carol, _) = session(CipherSuite(3));
    let mut server = PublicGroup::from_group_info(
        provider(),
        PublicGroupConfig::default(),
        &alice.group_info(true, false).unwrap(),
        None,
    )
    .unwrap();
    let key = StateKey::new(9, &[0x77; 32]);
    let context = b"servers/sealed group";
    let sealed = server.export_sealed(&key, context).unwrap();
    let mut server2 =
        PublicGroup::import_sealed(&sealed, &key, context, provider(), PublicGroupConfig::default()).unwrap();
    assert_eq!(*server2.export().unwrap(), *server.export().unwrap());
    assert_eq!(
        Group::import_sealed(&sealed, &key, context, provider(), GroupConfig::default()).unwrap_err(),
        Error::State(StateError::WrongKind { found: 2, expected: 1 })
    );

    // The imported server follows Carol's commit like the original.
    let msg = commit_and_merge(&mut carol, CommitOptions::default());
    process_commit(&mut alice, &msg);
    for s in [&mut server, &mut server2] {
        match s.process_message(msg.clone()).unwrap() {
            PublicProcessed::Commit(staged) => s.merge_staged_commit(*staged).unwrap(),
            other => panic!("expected a commit, got {other:?}"),
        }
        assert_eq!(s.epoch(), carol.epoch());
        assert_eq!(s.tree_hash(), carol.tree().root_hash());
    }
    assert_eq!(*server2.export().unwrap(), *server.export().unwrap());

    // A membership key, the public state's one secret, does not show.
    server2.set_membership_key(throng::crypto::Secret::new(vec![3; 32]));
    let sealed = server2.export_sealed(&key, context).unwrap();
    assert!(server2.export().unwrap().windows(32).any(|w| w == [3; 32]));
    assert!(!sealed.windows(32).any(|w| w == [3; 32]), "membership key in the clear");
    let server3 = PublicGroup::import_sealed(&sealed, &key, context, provider(), PublicGroupConfig::default()).unwrap();
    assert_eq!(*server3.export().unwrap(), *server2.export().unwrap());
}

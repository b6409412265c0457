//! A partial member (draft-ietf-mls-partial) beside full throng members:
//! joining from an AnnotatedWelcome made from a real group, reading
//! sender-authenticated application messages, downgrading from and
//! upgrading to a full member. Every refusal leaves the partial member
//! able to process the next valid message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use throng::crypto::CipherSuite;
use throng::error::{PartialError, ValidationError};
use throng::internals::codec::{Decode, Encode};
use throng::internals::group::{CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle, Processed, PskStore};
use throng::internals::tree_math::LeafIndex;
use throng::messages::content::{MlsMessage, MlsMessageBody};
use throng::messages::{Add, Proposal, Welcome};
use throng::partial::{AnnotatedWelcome, MembershipProof, PartialGroup, SenderAuthenticatedMessage};
use throng::{Error, TreeView};

const CS: CipherSuite = CipherSuite(1);

fn bundle(name: &str) -> KeyPackageBundle {
    let p = throng::default_provider();
    KeyPackageBundle::generate(p, CS, &Identity::basic(p, CS, name).unwrap()).unwrap()
}

fn leaf_of(group: &Group, kp: &KeyPackageBundle) -> LeafIndex {
    let tree = group.tree();
    (0..tree.leaf_count())
        .map(LeafIndex)
        .find(|l| tree.leaf(*l) == Some(&kp.key_package.leaf_node))
        .expect("the added leaf")
}

/// A group of `members` made by `m0`, then one commit adding `joiners`;
/// returns the creator, the Welcome and the joiners' bundles.
fn group_with(members: usize, joiners: usize) -> (Group, Welcome, Vec<KeyPackageBundle>) {
    let p = throng::default_provider();
    let mut a =
        Group::create(CS, &Identity::basic(p, CS, "m0").unwrap(), b"partial".to_vec(), vec![], GroupConfig::default())
            .unwrap();
    let adds = (1..members).map(|i| Proposal::Add(Add { key_package: bundle(&format!("m{i}")).key_package })).collect();
    let pending = a.commit(CommitOptions::with_proposals(adds)).unwrap();
    a.merge_pending_commit(pending).unwrap();
    let bundles: Vec<_> = (0..joiners).map(|i| bundle(&format!("j{i}"))).collect();
    let adds = bundles.iter().map(|b| Proposal::Add(Add { key_package: b.key_package.clone() })).collect();
    let pending = a.commit(CommitOptions::with_proposals(adds)).unwrap();
    let MlsMessageBody::Welcome(welcome) = pending.welcome.clone().unwrap().body else { panic!("a Welcome") };
    a.merge_pending_commit(pending).unwrap();
    (a, welcome, bundles)
}

fn annotate(a: &Group, welcome: &Welcome, joiner: LeafIndex) -> AnnotatedWelcome {
    AnnotatedWelcome {
        welcome: SenderAuthenticatedMessage {
            message: welcome.clone(),
            sender_membership_proof: MembershipProof::new(a.tree(), a.own_leaf()).unwrap(),
        },
        joiner_membership_proof: MembershipProof::new(a.tree(), joiner).unwrap(),
    }
}

fn partial_join(welcome: &AnnotatedWelcome, b: &KeyPackageBundle) -> Result<PartialGroup, Error> {
    PartialGroup::join(Arc::new(throng::AwsLcProvider), GroupConfig::default(), welcome, b, PskStore::default())
}

fn partial_error<T: std::fmt::Debug>(result: Result<T, Error>) -> PartialError {
    match result {
        Err(Error::Invalid(ValidationError::Partial(e))) => e,
        other => panic!("expected a Partial MLS error, got {other:?}"),
    }
}

fn private(message: MlsMessage) -> throng::messages::content::PrivateMessage {
    match message.body {
        MlsMessageBody::PrivateMessage(m) => m,
        _ => panic!("not a PrivateMessage"),
    }
}

#[test]
fn a_partial_member_joins_from_an_annotated_welcome_with_a_fraction_of_the_state() {
    let (a, welcome, bundles) = group_with(200, 2);
    let b = &bundles[0];
    let me = leaf_of(&a, b);
    let annotated = annotate(&a, &welcome, me);
    // The annotated Welcome's wire form round-trips.
    assert_eq!(AnnotatedWelcome::from_bytes(&annotated.to_bytes()).unwrap(), annotated);

    // Refusals first; each leaves nothing behind to corrupt the real join.
    let mut other_tree = annotated.clone();
    other_tree.joiner_membership_proof.copath_hashes[0].hash_value[0] ^= 1;
    assert_eq!(partial_error(partial_join(&other_tree, b)), PartialError::ProofsDiffer);
    let mut wrong_signer = annotated.clone();
    wrong_signer.welcome.sender_membership_proof = MembershipProof::new(a.tree(), LeafIndex(1)).unwrap();
    assert!(matches!(partial_error(partial_join(&wrong_signer, b)), PartialError::WrongLeaf { .. }));
    // The other joiner's proof: not this KeyPackage's leaf.
    let mut not_mine = annotated.clone();
    not_mine.joiner_membership_proof = MembershipProof::new(a.tree(), leaf_of(&a, &bundles[1])).unwrap();
    assert!(partial_join(&not_mine, b).is_err());

    let partial = partial_join(&annotated, b).unwrap();
    assert_eq!(partial.own_leaf(), me);
    assert_eq!(partial.epoch(), a.epoch());
    assert_eq!(partial.epoch_authenticator(), a.epoch_authenticator());
    assert_eq!(
        partial.export_secret(b"media", b"", 32).unwrap().as_bytes(),
        a.export_secret("media", b"", 32).unwrap().as_bytes()
    );
    // O(log n): a proof, a few keys, the epoch's secrets.
    assert!(partial.state_bytes() < 8 * 1024, "{} bytes", partial.state_bytes());
    assert!(partial.held_keys() <= 1 + 8);
}

#[test]
fn application_messages_need_the_senders_proof_and_a_bad_one_changes_nothing() {
    let (mut a, welcome, bundles) = group_with(40, 1);
    let b = &bundles[0];
    let mut partial = partial_join(&annotate(&a, &welcome, leaf_of(&a, b)), b).unwrap();
    let proof_a = MembershipProof::new(a.tree(), a.own_leaf()).unwrap();

    let m1 = private(a.encrypt_application(b"first", vec![]).unwrap());
    // Another member's proof: refused before any key is used.
    let wrong = SenderAuthenticatedMessage {
        message: m1.clone(),
        sender_membership_proof: MembershipProof::new(a.tree(), LeafIndex(7)).unwrap(),
    };
    assert!(matches!(partial_error(partial.process_application(wrong)), PartialError::WrongLeaf { .. }));
    // A proof that does not lead to the tree hash.
    let mut forged = proof_a.clone();
    forged.copath_hashes[1].hash_value[3] ^= 0x40;
    let forged = SenderAuthenticatedMessage { message: m1.clone(), sender_membership_proof: forged };
    assert_eq!(partial_error(partial.process_application(forged)), PartialError::ProofTreeHash);

    let ok = SenderAuthenticatedMessage { message: m1.clone(), sender_membership_proof: proof_a.clone() };
    assert_eq!(partial.process_application(ok).unwrap(), (a.own_leaf(), b"first".to_vec()));
    // A replay is refused (its key is consumed, RFC 9420 §9.2).
    let replay = SenderAuthenticatedMessage { message: m1, sender_membership_proof: proof_a.clone() };
    assert!(partial.process_application(replay).is_err());
    let m2 = private(a.encrypt_application(b"second", vec![]).unwrap());
    let ok = SenderAuthenticatedMessage { message: m2, sender_membership_proof: proof_a };
    assert_eq!(partial.process_application(ok).unwrap().1, b"second".to_vec());
}

#[test]
fn a_full_member_downgrades_and_upgrades_again() {
    let (mut a, welcome, bundles) = group_with(30, 1);
    let b = &bundles[0];
    let tree = a.tree().export();
    let full = Group::join(
        Arc::new(throng::AwsLcProvider),
        GroupConfig::default(),
        &welcome,
        b,
        Some(&tree),
        PskStore::default(),
    )
    .unwrap();
    let mut partial = PartialGroup::downgrade(full).unwrap();
    assert_eq!(partial.epoch_authenticator(), a.epoch_authenticator());

    // The partial member reads A's message with A's proof.
    let m = private(a.encrypt_application(b"while partial", vec![]).unwrap());
    let proof_a = MembershipProof::new(a.tree(), a.own_leaf()).unwrap();
    let read = partial.process_application(SenderAuthenticatedMessage { message: m, sender_membership_proof: proof_a });
    assert_eq!(read.unwrap().1, b"while partial".to_vec());

    let mut upgraded = partial.upgrade(&a.tree().export()).unwrap();
    assert_eq!(upgraded.epoch_authenticator(), a.epoch_authenticator());

    // Full again: it processes A's next commit as any member.
    let pending = a.commit(CommitOptions::default()).unwrap();
    let commit = pending.message.clone();
    a.merge_pending_commit(pending).unwrap();
    let Processed::Commit(staged) = upgraded.process_message(commit).unwrap() else { panic!("a commit") };
    upgraded.merge_staged_commit(*staged).unwrap();
    assert_eq!(upgraded.epoch_authenticator(), a.epoch_authenticator());
}

#[test]
fn an_upgrade_refuses_a_tree_of_another_epoch() {
    let (a, welcome, bundles) = group_with(20, 1);
    let b = &bundles[0];
    let partial = partial_join(&annotate(&a, &welcome, leaf_of(&a, b)), b).unwrap();
    let mut wrong = a.tree().export();
    let blank = wrong.0.iter().position(|n| n.as_ref().is_some_and(|n| n.as_leaf().is_some())).unwrap() + 2;
    wrong.0[blank] = None;
    assert!(partial.upgrade(&wrong).is_err());
}

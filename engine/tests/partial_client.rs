//! A partial member (draft-ietf-mls-partial) beside full throng members:
//! joining from an AnnotatedWelcome made from a real group, reading
//! sender-authenticated application messages, downgrading from and
//! upgrading to a full member. Every refusal leaves the partial member
//! able to process the next valid message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use throng::crypto::{CipherSuite, Suite};
use throng::error::{PartialError, ValidationError};
use throng::internals::codec::{Decode, Encode};
use throng::internals::group::{CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle, Processed, PskStore};
use throng::internals::tree_math::LeafIndex;
use throng::messages::Remove;
use throng::messages::content::{MlsMessage, MlsMessageBody};
use throng::messages::{Add, Proposal, Welcome};
use throng::partial::{
    AnnotatedWelcome, CommitAnnotator, MembershipProof, PartialCommitOutcome, PartialGroup, SenderAuthenticatedMessage,
};
use throng::{Error, TreeView};

const CS: CipherSuite = CipherSuite(1);

fn suite() -> Suite<'static> {
    Suite::new(throng::default_provider(), CS).unwrap()
}

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
            sender_membership_proof: MembershipProof::new(&suite(), a.tree(), a.own_leaf()).unwrap(),
        },
        joiner_membership_proof: MembershipProof::new(&suite(), a.tree(), joiner).unwrap(),
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
    wrong_signer.welcome.sender_membership_proof = MembershipProof::new(&suite(), a.tree(), LeafIndex(1)).unwrap();
    assert!(matches!(partial_error(partial_join(&wrong_signer, b)), PartialError::WrongLeaf { .. }));
    // The other joiner's proof: not this KeyPackage's leaf.
    let mut not_mine = annotated.clone();
    not_mine.joiner_membership_proof = MembershipProof::new(&suite(), a.tree(), leaf_of(&a, &bundles[1])).unwrap();
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
    let proof_a = MembershipProof::new(&suite(), a.tree(), a.own_leaf()).unwrap();

    let m1 = private(a.encrypt_application(b"first", vec![]).unwrap());
    // Another member's proof: refused before any key is used.
    let wrong = SenderAuthenticatedMessage {
        message: m1.clone(),
        sender_membership_proof: MembershipProof::new(&suite(), a.tree(), LeafIndex(7)).unwrap(),
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
    let proof_a = MembershipProof::new(&suite(), a.tree(), a.own_leaf()).unwrap();
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

/// Commits `options` as `member`, annotates it for `partial` leaves the
/// way a committer (or a server with the same view) does, merges it, and
/// returns the message and the annotations.
fn commit_annotated(
    member: &mut Group,
    options: CommitOptions,
    partial: &[LeafIndex],
) -> (MlsMessage, Vec<throng::partial::AnnotatedCommit>, Option<MlsMessage>) {
    let pending = member.commit(options).unwrap();
    let message = pending.message.clone();
    let annotator = CommitAnnotator::new(member.public(), pending.public(), &message).unwrap();
    let welcome = pending.welcome.clone();
    member.merge_pending_commit(pending).unwrap();
    let annotated = annotator.annotate(member.public(), partial).unwrap().into_iter().map(Result::unwrap).collect();
    (message, annotated, welcome)
}

fn process_full(member: &mut Group, message: MlsMessage) {
    let Processed::Commit(staged) = member.process_message(message).unwrap() else { panic!("a commit") };
    member.merge_staged_commit(*staged).unwrap();
}

#[test]
fn partial_members_follow_every_kind_of_commit_and_agree_with_full_members() {
    let (mut a, welcome, bundles) = group_with(33, 4);
    // Four partial members; one of them later gets removed.
    let leaves: Vec<LeafIndex> = bundles.iter().map(|b| leaf_of(&a, b)).collect();
    let mut partials: Vec<PartialGroup> =
        bundles.iter().zip(&leaves).map(|(b, l)| partial_join(&annotate(&a, &welcome, *l), b).unwrap()).collect();
    // A full member F beside A, joined by the same Welcome would be one of
    // the bundles; instead A adds F now (an add with a path), and the
    // partial members follow that commit too.
    let f_bundle = bundle("full");
    let (_, annotated, f_welcome) = commit_annotated(
        &mut a,
        CommitOptions::with_proposals(vec![Proposal::Add(Add { key_package: f_bundle.key_package.clone() })]),
        &leaves,
    );
    for (p, ac) in partials.iter_mut().zip(&annotated) {
        p.process_commit(ac).unwrap();
        assert_eq!(p.epoch_authenticator(), a.epoch_authenticator());
    }
    let MlsMessageBody::Welcome(f_welcome) = f_welcome.unwrap().body else { panic!("a Welcome") };
    let mut f = Group::join(
        Arc::new(throng::AwsLcProvider),
        GroupConfig::default(),
        &f_welcome,
        &f_bundle,
        Some(&a.tree().export()),
        PskStore::default(),
    )
    .unwrap();

    // F commits a self-update (a path from another part of the tree); A
    // processes it as a full member; every partial member follows.
    let (message, annotated, _) = commit_annotated(&mut f, CommitOptions::default(), &leaves);
    process_full(&mut a, message);
    // A hostile annotation first: another ciphertext index, then another
    // tree hash. Each is refused and changes nothing.
    let mut bad = annotated[0].clone();
    bad.resolution_index = bad.resolution_index.map(|i| i + 1);
    assert!(partials[0].process_commit(&bad).is_err());
    let mut bad = annotated[0].clone();
    bad.tree_hash_after[0] ^= 1;
    assert!(partials[0].process_commit(&bad).is_err());
    for (p, ac) in partials.iter_mut().zip(&annotated) {
        p.process_commit(ac).unwrap();
        assert_eq!(p.epoch_authenticator(), a.epoch_authenticator());
    }

    // A commit without a path: an Add (an empty commit would need one,
    // RFC 9420 §12.4).
    let add = Proposal::Add(Add { key_package: bundle("pathless").key_package });
    let options = CommitOptions { force_path: false, ..CommitOptions::with_proposals(vec![add]) };
    let (message, annotated, _) = commit_annotated(&mut a, options, &leaves);
    process_full(&mut f, message);
    for (p, ac) in partials.iter_mut().zip(&annotated) {
        assert_eq!(
            p.process_commit(ac).unwrap(),
            PartialCommitOutcome::Advanced { epoch: a.epoch(), with_path: false }
        );
        assert_eq!(p.epoch_authenticator(), f.epoch_authenticator());
    }

    // A removes the last partial member and a full one, with a path.
    let removed = leaves[3];
    let removes = vec![Proposal::Remove(Remove { removed }), Proposal::Remove(Remove { removed: LeafIndex(5) })];
    let pending = a.commit(CommitOptions::with_proposals(removes)).unwrap();
    let message = pending.message.clone();
    let annotator = CommitAnnotator::new(a.public(), pending.public(), &message).unwrap();
    a.merge_pending_commit(pending).unwrap();
    process_full(&mut f, message.clone());
    let annotated: Vec<_> =
        annotator.annotate(a.public(), &leaves[..3]).unwrap().into_iter().map(Result::unwrap).collect();
    for (p, ac) in partials.iter_mut().zip(&annotated) {
        p.process_commit(ac).unwrap();
        assert_eq!(p.epoch_authenticator(), a.epoch_authenticator());
    }
    // The removed one learns it from the commit alone (the server has no
    // proof for it after): an annotation for another member will do.
    assert_eq!(partials[3].process_commit(&annotated[0]).unwrap(), PartialCommitOutcome::Removed);

    // An application message from F, with F's proof made by A's view.
    let data = private(f.encrypt_application(b"to everyone", vec![]).unwrap());
    let proof = a.public().sender_authenticate(data, f.own_leaf()).unwrap();
    for p in &mut partials[..3] {
        assert_eq!(p.process_application(proof.clone()).unwrap(), (f.own_leaf(), b"to everyone".to_vec()));
    }

    // More path commits by A.
    let remaining = &leaves[..3];
    for _ in 0..2 {
        let (message, annotated, _) = commit_annotated(&mut a, CommitOptions::default(), remaining);
        process_full(&mut f, message);
        for (p, ac) in partials.iter_mut().zip(&annotated) {
            p.process_commit(ac).unwrap();
            assert_eq!(p.epoch_authenticator(), a.epoch_authenticator());
        }
    }
    for p in &partials[..3] {
        assert!(p.state_bytes() < 8 * 1024);
    }
}

#[test]
fn partial_members_follow_an_external_commit_and_private_message_commits() {
    let (mut a, welcome, bundles) = group_with(20, 2);
    let leaves: Vec<LeafIndex> = bundles.iter().map(|b| leaf_of(&a, b)).collect();
    let mut partials: Vec<PartialGroup> =
        bundles.iter().zip(&leaves).map(|(b, l)| partial_join(&annotate(&a, &welcome, *l), b).unwrap()).collect();

    // A newcomer joins by external commit; A (full) and the partial
    // members process it. The annotations come from A's view: staged, not
    // yet merged.
    let p = throng::default_provider();
    let info = a.group_info(true, true).unwrap();
    // Its later commits are PrivateMessages (its external commit itself is
    // a PublicMessage, §12.4.3.2).
    let private_handshakes = GroupConfig {
        handshake_wire_format: throng::messages::content::WireFormat::PRIVATE_MESSAGE,
        ..GroupConfig::default()
    };
    let (mut newcomer, commit) = Group::join_by_external_commit(
        Arc::new(throng::AwsLcProvider),
        private_handshakes,
        &Identity::basic(p, CS, "newcomer").unwrap(),
        &info,
        None,
    )
    .unwrap();
    let Processed::Commit(staged) = a.process_message(commit.clone()).unwrap() else { panic!("a commit") };
    let annotator = CommitAnnotator::new(a.public(), staged.public(), &commit).unwrap();
    a.merge_staged_commit(*staged).unwrap();
    let annotated = annotator.annotate(a.public(), &leaves).unwrap();
    for (p, ac) in partials.iter_mut().zip(annotated) {
        let ac = ac.unwrap();
        assert!(ac.sender_membership_proof.is_none());
        p.process_commit(&ac).unwrap();
        assert_eq!(p.epoch_authenticator(), a.epoch_authenticator());
    }
    assert_eq!(newcomer.epoch_authenticator(), a.epoch_authenticator());

    // The newcomer's PrivateMessage commits: it annotates them itself (a
    // server cannot read them).
    for _ in 0..2 {
        let (message, annotated, _) = commit_annotated(&mut newcomer, CommitOptions::default(), &leaves);
        assert!(matches!(message.body, MlsMessageBody::PrivateMessage(_)));
        process_full(&mut a, message);
        for (p, ac) in partials.iter_mut().zip(&annotated) {
            p.process_commit(ac).unwrap();
            assert_eq!(p.epoch_authenticator(), a.epoch_authenticator());
        }
    }
}

/// Deterministic xorshift for the mutants.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// `count` mutants of `bytes`: a flipped byte, a truncation, or a byte
/// inserted, at random places.
fn mutants(bytes: &[u8], count: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut state = seed;
    (0..count)
        .map(|_| {
            let mut m = bytes.to_vec();
            let at = (next(&mut state) as usize) % m.len();
            match next(&mut state) % 3 {
                0 => m[at] ^= 1 << (next(&mut state) % 8),
                1 => m.truncate(at),
                _ => m.insert(at, next(&mut state) as u8),
            }
            m
        })
        .collect()
}

#[test]
fn mutated_annotations_are_refused_without_a_panic_or_a_change() {
    let (mut a, welcome, bundles) = group_with(50, 1);
    let b = &bundles[0];
    let me = leaf_of(&a, b);
    let annotated_welcome = annotate(&a, &welcome, me);
    // Mutated Welcomes: every one that decodes is refused or, if only
    // unauthenticated padding changed, lands on the same epoch.
    for m in mutants(&annotated_welcome.to_bytes(), 300, 0x9e37_79b9_7f4a_7c15) {
        if let Ok(w) = AnnotatedWelcome::from_bytes(&m) {
            if let Ok(p) = partial_join(&w, b) {
                assert_eq!(p.epoch_authenticator(), a.epoch_authenticator());
            }
        }
    }
    let mut partial = partial_join(&annotated_welcome, b).unwrap();

    for round in 0..3u64 {
        let (_, annotated, _) = commit_annotated(&mut a, CommitOptions::default(), &[me]);
        let good = &annotated[0];
        let before = partial.epoch_authenticator().to_vec();
        for m in mutants(&good.to_bytes(), 300, 0x2545_f491_4f6c_dd1d ^ round) {
            let Ok(ac) = throng::partial::AnnotatedCommit::from_bytes(&m) else { continue };
            if ac == *good {
                continue;
            }
            // Anything accepted must be the same commit's result (a change
            // that no check covers would be a bug): compare with A.
            if partial.process_commit(&ac).is_ok() {
                panic!("a mutated AnnotatedCommit was accepted: {:?}", m.len());
            }
            assert_eq!(partial.epoch_authenticator(), &before[..], "a refused annotation changed the state");
        }
        partial.process_commit(good).unwrap();
        assert_eq!(partial.epoch_authenticator(), a.epoch_authenticator());
    }
}

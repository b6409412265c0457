//! A server following groups without their secrets (`public_group`) and a
//! registry of many groups (`server`): it agrees with the members at every
//! epoch, orders racing commits, refuses bad or late handshakes without
//! changing anything, and proposes as an external sender.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Barrier};

use throng::crypto::{AwsLcProvider, CipherSuite, CryptoProvider, SignatureKeyPair, Suite};
use throng::error::{CommitError, CryptoError, Error, ProposalError, UpdatePathError, ValidationError};
use throng::internals::framing;
use throng::internals::group::{CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle, Processed, PskStore};
use throng::internals::tree_math::LeafIndex;
use throng::messages::content::{FramedContent, FramedContentBody, MlsMessage, MlsMessageBody, Sender, WireFormat};
use throng::messages::registered_extensions::ExtensionData;
use throng::messages::{
    Add, Commit, ExternalSender, ExternalSenders, Proposal, ProposalOrRef, ProposalRef, PublicMessage, Remove,
};
use throng::{AcceptedKind, Registry, Rejected};
use throng::{PublicGroup, PublicGroupConfig, PublicProcessed};

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

/// Every member but `committer` processes `commit` and merges it.
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

/// The server and every active member agree on the epoch's GroupContext
/// (epoch, tree hash, confirmed transcript hash, extensions), on the
/// confirmation tag, and on the roster.
fn assert_server_agrees(registry: &Registry, members: &[Group]) {
    let gid = members[0].group_id().to_vec();
    let (context, tag, tree_hash) = registry
        .with_group(&gid, |g| (g.context().clone(), g.confirmation_tag().to_vec(), g.tree_hash().to_vec()))
        .unwrap();
    for m in members.iter().filter(|m| m.is_active()) {
        assert_eq!(m.context(), &context, "GroupContext at epoch {}", m.epoch());
        assert_eq!(m.tree().root_hash(), tree_hash.as_slice());
        assert_eq!(m.group_info(false, false).unwrap().confirmation_tag, tag);
    }
    assert_eq!(registry.epoch(&gid), Some(context.epoch));
    let roster = registry.roster(&gid).unwrap();
    let expected: Vec<_> = members[0].members().into_iter().map(|m| (m.leaf_index, m.credential)).collect();
    assert_eq!(roster, expected);
}

/// Sends a commit through the registry; it must win, with every other
/// member of the old epoch in the fan-out.
fn accept_commit(registry: &Registry, members: &[Group], committer: Option<usize>, msg: &MlsMessage) {
    let gid = members[0].group_id().to_vec();
    let before = registry.with_group(&gid, |g| g.member_leaves()).unwrap();
    let old_epoch = registry.epoch(&gid).unwrap();
    let accepted = registry.handle(&gid, msg).unwrap();
    assert_eq!(accepted.kind, AcceptedKind::Commit);
    assert_eq!(accepted.epoch, old_epoch + 1);
    let committer_leaf = committer.map(|c| members[c].own_leaf());
    let expected: Vec<LeafIndex> = before.into_iter().filter(|&l| Some(l) != committer_leaf).collect();
    assert_eq!(accepted.fanout, expected);
}

fn scenario(cs: CipherSuite) {
    let p = provider();
    let registry = Registry::new(p.clone());
    let alice_id = Identity::basic(&*p, cs, "alice").unwrap();
    let mut alice = Group::create(cs, &alice_id, b"group".to_vec(), vec![], GroupConfig::default()).unwrap();
    // The server starts from the creator's GroupInfo at epoch 0.
    registry.create_group(&alice.group_info(true, false).unwrap(), None).unwrap();
    assert_eq!(registry.group_count(), 1);
    assert_server_agrees(&registry, std::slice::from_ref(&alice));

    // Alice adds four members in one commit.
    let bundles: Vec<KeyPackageBundle> = (0..4)
        .map(|i| KeyPackageBundle::generate(&*p, cs, &Identity::basic(&*p, cs, format!("m{i}")).unwrap()).unwrap())
        .collect();
    let adds = bundles.iter().map(|b| Proposal::Add(Add { key_package: b.key_package.clone() })).collect();
    let pending = alice.commit(CommitOptions::with_proposals(adds)).unwrap();
    accept_commit(&registry, std::slice::from_ref(&alice), Some(0), &pending.message);
    let welcome = pending.welcome.clone().unwrap();
    alice.merge_pending_commit(pending).unwrap();
    let mut members = vec![alice];
    for b in &bundles {
        members.push(
            Group::join(p.clone(), GroupConfig::default(), welcome_of(&welcome), b, None, PskStore::default()).unwrap(),
        );
    }
    assert_server_agrees(&registry, &members);

    // A joiner can start from the server's tree instead of the Welcome's.
    let served = registry.group_info(b"group").unwrap();
    assert_eq!(served.ratchet_tree, members[0].tree().export());
    assert!(served.signed.is_none(), "the epoch-0 GroupInfo no longer applies");

    // Member 2 commits an empty commit (a full path update).
    let pending = members[2].commit(CommitOptions::default()).unwrap();
    let msg = pending.message.clone();
    accept_commit(&registry, &members, Some(2), &msg);
    members[2].merge_pending_commit(pending).unwrap();
    deliver(&mut members, 2, &msg);
    assert_server_agrees(&registry, &members);

    // Member 3 proposes an update; member 1 commits it by reference.
    let (proposal, reference) = members[3].propose_update().unwrap();
    let accepted = registry.handle(b"group", &proposal).unwrap();
    assert_eq!(accepted.kind, AcceptedKind::Proposal);
    assert!(!accepted.fanout.contains(&members[3].own_leaf()));
    assert_eq!(accepted.fanout.len(), 4);
    let queued: Vec<ProposalRef> =
        registry.with_group(b"group", |g| g.pending_proposals().map(|(r, _, _)| r.clone()).collect()).unwrap();
    assert_eq!(queued, vec![reference]);
    for (i, m) in members.iter_mut().enumerate() {
        if i != 3 {
            assert!(matches!(m.process_message(proposal.clone()).unwrap(), Processed::Proposal { .. }));
        }
    }
    let pending = members[1].commit(CommitOptions::default()).unwrap();
    let msg = pending.message.clone();
    accept_commit(&registry, &members, Some(1), &msg);
    members[1].merge_pending_commit(pending).unwrap();
    deliver(&mut members, 1, &msg);
    assert_server_agrees(&registry, &members);
    assert_eq!(registry.with_group(b"group", |g| g.pending_proposals().count()), Some(0));

    // Member 4 removes member 2; member 2 is in the fan-out (it learns of
    // its removal).
    let pending = members[4]
        .commit(CommitOptions::with_proposals(vec![Proposal::Remove(Remove { removed: LeafIndex(2) })]))
        .unwrap();
    let msg = pending.message.clone();
    accept_commit(&registry, &members, Some(4), &msg);
    members[4].merge_pending_commit(pending).unwrap();
    deliver(&mut members, 4, &msg);
    assert!(!members[2].is_active());
    members.remove(2);
    assert_server_agrees(&registry, &members);
    assert_eq!(registry.roster(b"group").unwrap().len(), 4);

    // Application data is routed, unread, to every member.
    let ct = members[0].encrypt_application(b"hello", vec![]).unwrap();
    let accepted = registry.handle(b"group", &ct).unwrap();
    assert_eq!(accepted.kind, AcceptedKind::Application);
    assert_eq!(accepted.fanout.len(), 4);

    // A member publishes a signed GroupInfo; an outsider joins by external
    // commit from what the server serves.
    let info = members[0].group_info(false, true).unwrap();
    registry.publish_group_info(b"group", info).unwrap();
    let served = registry.group_info(b"group").unwrap();
    let signed = served.signed.clone().unwrap();
    let eve_id = Identity::basic(&*p, cs, "eve").unwrap();
    let (eve, commit) =
        Group::join_by_external_commit(p.clone(), GroupConfig::default(), &eve_id, &signed, Some(&served.ratchet_tree))
            .unwrap();
    accept_commit(&registry, &members, None, &commit);
    let n = members.len();
    members.push(eve);
    deliver(&mut members, n, &commit);
    assert_server_agrees(&registry, &members);
    assert_eq!(registry.roster(b"group").unwrap().len(), 5);

    // The external joiner commits too.
    let pending = members[n].commit(CommitOptions::default()).unwrap();
    let msg = pending.message.clone();
    accept_commit(&registry, &members, Some(n), &msg);
    members[n].merge_pending_commit(pending).unwrap();
    deliver(&mut members, n, &msg);
    assert_server_agrees(&registry, &members);

    // A commit without a path (adds only), then one by a member holding an
    // UpdatePath over unmerged leaves.
    let frank = KeyPackageBundle::generate(&*p, cs, &Identity::basic(&*p, cs, "frank").unwrap()).unwrap();
    let options = CommitOptions {
        force_path: false,
        ..CommitOptions::with_proposals(vec![Proposal::Add(Add { key_package: frank.key_package.clone() })])
    };
    let pending = members[0].commit(options).unwrap();
    let msg = pending.message.clone();
    accept_commit(&registry, &members, Some(0), &msg);
    let welcome = pending.welcome.clone().unwrap();
    members[0].merge_pending_commit(pending).unwrap();
    deliver(&mut members, 0, &msg);
    let tree = registry.ratchet_tree(b"group").unwrap();
    members.push(
        Group::join(p.clone(), GroupConfig::default(), welcome_of(&welcome), &frank, Some(&tree), PskStore::default())
            .unwrap(),
    );
    assert_server_agrees(&registry, &members);
    let last = members.len() - 1;
    let pending = members[last].commit(CommitOptions::default()).unwrap();
    let msg = pending.message.clone();
    accept_commit(&registry, &members, Some(last), &msg);
    members[last].merge_pending_commit(pending).unwrap();
    deliver(&mut members, last, &msg);
    assert_server_agrees(&registry, &members);
}

#[test]
fn server_follows_every_epoch_in_every_suite() {
    for cs in SUITES {
        scenario(CipherSuite(cs));
    }
}

/// A group of `n` members (alice at leaf 0), all joined through one
/// Welcome, and a registry following it.
fn group_of(n: usize, group_id: &[u8], extensions: Vec<throng::messages::Extension>) -> (Registry, Vec<Group>) {
    let cs = CipherSuite(1);
    let p = provider();
    let registry = Registry::new(p.clone());
    let mut alice = Group::create(
        cs,
        &Identity::basic(&*p, cs, "alice").unwrap(),
        group_id.to_vec(),
        extensions,
        GroupConfig::default(),
    )
    .unwrap();
    registry.create_group(&alice.group_info(true, false).unwrap(), None).unwrap();
    let bundles: Vec<KeyPackageBundle> = (1..n)
        .map(|i| KeyPackageBundle::generate(&*p, cs, &Identity::basic(&*p, cs, format!("m{i}")).unwrap()).unwrap())
        .collect();
    let adds = bundles.iter().map(|b| Proposal::Add(Add { key_package: b.key_package.clone() })).collect();
    let pending = alice.commit(CommitOptions::with_proposals(adds)).unwrap();
    registry.handle(group_id, &pending.message).unwrap();
    let welcome = pending.welcome.clone().unwrap();
    alice.merge_pending_commit(pending).unwrap();
    let mut members = vec![alice];
    for b in &bundles {
        members.push(
            Group::join(p.clone(), GroupConfig::default(), welcome_of(&welcome), b, None, PskStore::default()).unwrap(),
        );
    }
    (registry, members)
}

#[test]
fn racing_commits_have_exactly_one_winner() {
    let (registry, mut members) = group_of(6, b"race", vec![]);
    let registry = Arc::new(registry);
    for round in 0..3 {
        let epoch = members[0].epoch();
        let pendings: Vec<_> = members.iter_mut().map(|m| m.commit(CommitOptions::default()).unwrap()).collect();
        let barrier = Arc::new(Barrier::new(pendings.len()));
        let handles: Vec<_> = pendings
            .iter()
            .map(|p| {
                let (registry, barrier, msg) = (registry.clone(), barrier.clone(), p.message.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    registry.handle(b"race", &msg)
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let winners: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.is_ok()).map(|(i, _)| i).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let winner = winners[0];
        for (i, r) in results.iter().enumerate() {
            if i != winner {
                assert!(
                    matches!(r, Err(Rejected::LostRace { current }) if *current == epoch + 1)
                        || matches!(r, Err(Rejected::WrongEpoch { .. })),
                    "round {round}: loser {i} got {r:?}"
                );
            }
        }
        assert_eq!(results[winner].as_ref().unwrap().epoch, epoch + 1);

        // The winner merges its commit; the others drop theirs and process it.
        let msg = pendings[winner].message.clone();
        let mut pendings = pendings;
        members[winner].merge_pending_commit(pendings.swap_remove(winner)).unwrap();
        drop(pendings);
        deliver(&mut members, winner, &msg);
        assert_server_agrees(&registry, &members);
        // A loser's commit arriving later is still a lost race.
    }
}

/// The public state that must not move when a message is refused.
fn snapshot(registry: &Registry, gid: &[u8]) -> (u64, Vec<u8>, Vec<u8>, usize, usize) {
    registry
        .with_group(gid, |g| {
            (
                g.epoch(),
                g.tree_hash().to_vec(),
                g.transcript().interim().to_vec(),
                g.pending_proposals().count(),
                g.member_leaves().len(),
            )
        })
        .unwrap()
}

/// Re-signs `commit` as the member holding `signer` would (a well-signed
/// commit with chosen content), keeping the original membership and
/// confirmation tags (which a server without the epoch's keys cannot check).
fn resign_commit(member: &Group, signer: &SignatureKeyPair, original: &MlsMessage, commit: Commit) -> MlsMessage {
    let MlsMessageBody::PublicMessage(pm) = &original.body else { panic!("not public") };
    let p = provider();
    let suite = Suite::new(&*p, member.cipher_suite()).unwrap();
    let content = FramedContent { body: FramedContentBody::Commit(commit), ..pm.content.clone() };
    let signed =
        framing::sign_content(&suite, &signer.private, WireFormat::PUBLIC_MESSAGE, content, Some(member.context()))
            .unwrap();
    let auth = signed.confirm(pm.auth.confirmation_tag.clone().unwrap()).unwrap();
    MlsMessage::new(MlsMessageBody::PublicMessage(PublicMessage {
        content: auth.content,
        auth: auth.auth,
        membership_tag: pm.membership_tag.clone(),
    }))
}

fn commit_of(msg: &MlsMessage) -> Commit {
    match &msg.body {
        MlsMessageBody::PublicMessage(PublicMessage {
            content: FramedContent { body: FramedContentBody::Commit(c), .. },
            ..
        }) => c.clone(),
        _ => panic!("not a commit"),
    }
}

#[test]
fn invalid_and_late_handshakes_are_refused_and_change_nothing() {
    let cs = CipherSuite(1);
    let p = provider();
    let registry = Registry::new(p.clone());
    let ids: Vec<Identity> = (0..3).map(|i| Identity::basic(&*p, cs, format!("m{i}")).unwrap()).collect();
    let mut alice = Group::create(cs, &ids[0], b"g1".to_vec(), vec![], GroupConfig::default()).unwrap();
    let mut other = Group::create(cs, &ids[2], b"g2".to_vec(), vec![], GroupConfig::default()).unwrap();
    registry.create_group(&alice.group_info(true, false).unwrap(), None).unwrap();
    registry.create_group(&other.group_info(true, false).unwrap(), None).unwrap();
    assert!(registry.create_group(&alice.group_info(true, false).unwrap(), None).is_err(), "registered twice");
    let bob_kp = KeyPackageBundle::generate(&*p, cs, &ids[1]).unwrap();
    let pending = alice
        .commit(CommitOptions::with_proposals(vec![Proposal::Add(Add { key_package: bob_kp.key_package.clone() })]))
        .unwrap();
    registry.handle(b"g1", &pending.message).unwrap();
    let welcome = pending.welcome.clone().unwrap();
    alice.merge_pending_commit(pending).unwrap();
    let mut bob =
        Group::join(p.clone(), GroupConfig::default(), welcome_of(&welcome), &bob_kp, None, PskStore::default())
            .unwrap();

    let good = alice.commit(CommitOptions::default()).unwrap();
    let before = snapshot(&registry, b"g1");
    let refused = |msg: &MlsMessage| {
        let r = registry.handle(b"g1", msg);
        assert_eq!(snapshot(&registry, b"g1"), before, "a refused message changed the group: {r:?}");
        r.expect_err("must be refused")
    };

    // Unknown group.
    assert_eq!(registry.handle(b"nope", &good.message), Err(Rejected::UnknownGroup));

    // Bad signature.
    let mut bad = good.message.clone();
    if let MlsMessageBody::PublicMessage(pm) = &mut bad.body {
        pm.auth.signature[3] ^= 1;
    }
    assert_eq!(refused(&bad), Rejected::Invalid(Error::Crypto(CryptoError::VerificationFailed)));

    // Routed to the wrong group: g2's commit sent to g1, and g1's to g2.
    let other_commit = other.commit(CommitOptions::default()).unwrap();
    assert_eq!(refused(&other_commit.message), Rejected::Invalid(ValidationError::WrongGroup.into()));
    let g2_before = snapshot(&registry, b"g2");
    assert_eq!(registry.handle(b"g2", &good.message), Err(Rejected::Invalid(ValidationError::WrongGroup.into())));
    assert_eq!(snapshot(&registry, b"g2"), g2_before);

    // Garbage proposal lists, each well signed by the committer.
    let base = commit_of(&good.message);
    let unknown_ref =
        Commit { proposals: vec![ProposalOrRef::Reference(ProposalRef(vec![7; 32]))], path: base.path.clone() };
    assert_eq!(
        refused(&resign_commit(&alice, &ids[0].signer, &good.message, unknown_ref)),
        Rejected::Invalid(CommitError::UnknownProposalReference.into())
    );
    let removes_self = Commit {
        proposals: vec![ProposalOrRef::Proposal(Box::new(Proposal::Remove(Remove { removed: alice.own_leaf() })))],
        path: base.path.clone(),
    };
    assert_eq!(
        refused(&resign_commit(&alice, &ids[0].signer, &good.message, removes_self)),
        Rejected::Invalid(ProposalError::CommitterRemoved.into())
    );
    let mut bad_kp = KeyPackageBundle::generate(&*p, cs, &Identity::basic(&*p, cs, "x").unwrap()).unwrap().key_package;
    bad_kp.signature[0] ^= 1;
    let bad_add = Commit {
        proposals: vec![ProposalOrRef::Proposal(Box::new(Proposal::Add(Add { key_package: bad_kp.clone() })))],
        path: base.path.clone(),
    };
    assert!(matches!(refused(&resign_commit(&alice, &ids[0].signer, &good.message, bad_add)), Rejected::Invalid(_)));
    // The same KeyPackage in a proposal: refused on receipt, never queued
    // (a committer that cached it could not commit).
    let (bad_proposal, _) = bob.propose(Proposal::Add(Add { key_package: bad_kp })).unwrap();
    assert!(matches!(refused(&bad_proposal), Rejected::Invalid(Error::Crypto(_))));
    // A path missing one ciphertext.
    let mut short = base.clone();
    if let Some(path) = &mut short.path {
        let ciphertexts = &path.nodes[0].encrypted_path_secret;
        path.nodes[0].encrypted_path_secret = ciphertexts.iter().take(ciphertexts.len().saturating_sub(1)).collect();
    }
    assert_eq!(
        refused(&resign_commit(&alice, &ids[0].signer, &good.message, short)),
        Rejected::Invalid(UpdatePathError::CiphertextCount.into())
    );
    // A path whose leaf parent hash does not match (another key at the root).
    let mut swapped = base.clone();
    if let Some(path) = &mut swapped.path {
        let last = path.nodes.len() - 1;
        path.nodes[last].encryption_key = throng::crypto::HpkePublicKey(
            Suite::new(&*p, cs).unwrap().generate_hpke_key_pair().unwrap().public.as_bytes().into(),
        );
    }
    assert_eq!(
        refused(&resign_commit(&alice, &ids[0].signer, &good.message, swapped)),
        Rejected::Invalid(UpdatePathError::ParentHashMismatch.into())
    );
    // No path where one is required (an empty commit).
    let no_path = Commit { proposals: vec![], path: None };
    assert_eq!(
        refused(&resign_commit(&alice, &ids[0].signer, &good.message, no_path)),
        Rejected::Invalid(CommitError::MissingPath.into())
    );
    // A member's message without its membership tag.
    let mut untagged = good.message.clone();
    if let MlsMessageBody::PublicMessage(pm) = &mut untagged.body {
        pm.membership_tag = None;
    }
    assert_eq!(refused(&untagged), Rejected::Invalid(ValidationError::MembershipTagPresence.into()));
    // A future epoch.
    let mut future = good.message.clone();
    if let MlsMessageBody::PublicMessage(pm) = &mut future.body {
        pm.content.epoch += 5;
    }
    assert_eq!(refused(&future), Rejected::WrongEpoch { current: before.0, got: before.0 + 5 });
    // A handshake in a PrivateMessage cannot be followed.
    // (A PrivateMessage header naming a proposal stands in for one.)
    let app = alice.encrypt_application(b"x", vec![]).unwrap();
    let mut private_proposal = app.clone();
    if let MlsMessageBody::PrivateMessage(m) = &mut private_proposal.body {
        m.content_type = throng::messages::ContentType::Proposal;
    }
    assert!(matches!(refused(&private_proposal), Rejected::Invalid(Error::Usage(_))));

    // The genuine commit still wins after all that.
    let proposal_before = bob.propose_update().unwrap().0;
    registry.handle(b"g1", &proposal_before).unwrap();
    let accepted = registry.handle(b"g1", &good.message).unwrap();
    assert_eq!(accepted.epoch, before.0 + 1);
    let msg = good.message.clone();
    alice.merge_pending_commit(good).unwrap();
    match bob.process_message(msg.clone()).unwrap() {
        Processed::Commit(s) => bob.merge_staged_commit(*s).unwrap(),
        _ => panic!(),
    }
    let after = snapshot(&registry, b"g1");
    assert_eq!(after.1, alice.tree().root_hash());

    // Late messages: the same commit again is a lost race; a proposal of the
    // old epoch is for the wrong epoch. Neither changes anything.
    let late = |msg: &MlsMessage| {
        let r = registry.handle(b"g1", msg);
        assert_eq!(snapshot(&registry, b"g1"), after);
        r.expect_err("late")
    };
    assert_eq!(late(&msg), Rejected::LostRace { current: after.0 });
    assert_eq!(late(&proposal_before), Rejected::WrongEpoch { current: after.0, got: after.0 - 1 });
    // A late commit with a broken signature is refused as late, before any
    // signature work.
    assert_eq!(late(&bad), Rejected::LostRace { current: after.0 });

    // A GroupInfo for another epoch or with a bad signature is not published.
    let stale_info = other.group_info(false, false).unwrap();
    assert!(registry.publish_group_info(b"g1", stale_info).is_err());
    let mut forged = alice.group_info(false, true).unwrap();
    forged.signature[0] ^= 1;
    assert!(registry.publish_group_info(b"g1", forged).is_err());
    assert!(registry.signed_group_info(b"g1").is_none());
    registry.publish_group_info(b"g1", alice.group_info(true, true).unwrap()).unwrap();
    assert!(registry.signed_group_info(b"g1").is_some());
    other.merge_pending_commit(other_commit).unwrap();
}

#[test]
fn staged_public_commit_is_not_merged_until_asked() {
    let cs = CipherSuite(2);
    let p = provider();
    let id = Identity::basic(&*p, cs, "alice").unwrap();
    let mut alice = Group::create(cs, &id, b"s".to_vec(), vec![], GroupConfig::default()).unwrap();
    let mut public = PublicGroup::from_group_info(
        p.clone(),
        PublicGroupConfig::default(),
        &alice.group_info(true, false).unwrap(),
        None,
    )
    .unwrap();
    let bob = KeyPackageBundle::generate(&*p, cs, &Identity::basic(&*p, cs, "bob").unwrap()).unwrap();
    let pending = alice
        .commit(CommitOptions::with_proposals(vec![Proposal::Add(Add { key_package: bob.key_package.clone() })]))
        .unwrap();
    let hash_before = public.tree_hash().to_vec();
    let PublicProcessed::Commit(staged) = public.process_message(pending.message.clone()).unwrap() else { panic!() };
    assert_eq!(public.tree_hash(), hash_before.as_slice(), "staging changes nothing");
    assert_eq!(public.epoch(), 0);
    assert_eq!(staged.added().len(), 1);
    assert_eq!(staged.new_epoch(), 1);
    // Stage the same commit twice; merging the first makes the second stale.
    let PublicProcessed::Commit(again) = public.process_message(pending.message.clone()).unwrap() else { panic!() };
    public.merge_staged_commit(*staged).unwrap();
    assert!(public.merge_staged_commit(*again).is_err());
    alice.merge_pending_commit(pending).unwrap();
    assert_eq!(public.context(), alice.context());
    assert_eq!(public.member_count(), 2);
    // O(1) roster lookups.
    let bob_leaf = public.find_member(bob.key_package.leaf_node.signature_key()).unwrap();
    assert_eq!(bob_leaf, LeafIndex(1));
    assert_eq!(public.credential(bob_leaf), Some(&bob.key_package.leaf_node.credential));
    assert_eq!(public.find_credential(&id.credential), vec![LeafIndex(0)]);
    assert_eq!(public.members().len(), 2);
}

#[test]
fn server_as_external_sender_adds_and_removes() {
    let cs = CipherSuite(1);
    let p = provider();
    let suite = Suite::new(&*p, cs).unwrap();
    let server_key = suite.generate_signature_key_pair().unwrap();
    let senders = ExternalSenders(vec![ExternalSender {
        signature_key: server_key.public.clone(),
        credential: throng::messages::Credential::basic(b"delivery-service".to_vec()),
    }]);
    let (registry, mut members) = group_of(4, b"ext", vec![senders.to_extension()]);
    assert_server_agrees(&registry, &members);

    // The wrong key, or an index with no sender, is refused.
    let stranger = suite.generate_signature_key_pair().unwrap();
    assert!(
        registry.propose_external(b"ext", 0, &stranger, Proposal::Remove(Remove { removed: LeafIndex(3) })).is_err()
    );
    assert!(
        registry.propose_external(b"ext", 1, &server_key, Proposal::Remove(Remove { removed: LeafIndex(3) })).is_err()
    );

    // The server proposes Remove(leaf 3) and Add(dave).
    let dave = KeyPackageBundle::generate(&*p, cs, &Identity::basic(&*p, cs, "dave").unwrap()).unwrap();
    let remove =
        registry.propose_external(b"ext", 0, &server_key, Proposal::Remove(Remove { removed: LeafIndex(3) })).unwrap();
    let add = registry
        .propose_external(b"ext", 0, &server_key, Proposal::Add(Add { key_package: dave.key_package.clone() }))
        .unwrap();
    assert_eq!(registry.with_group(b"ext", |g| g.pending_proposals().count()), Some(2));
    // Handing the server its own proposal again is harmless.
    assert_eq!(registry.handle(b"ext", &add).unwrap().kind, AcceptedKind::Proposal);
    assert_eq!(registry.with_group(b"ext", |g| g.pending_proposals().count()), Some(2));
    for m in members.iter_mut() {
        for msg in [&remove, &add] {
            match m.process_message(msg.clone()).unwrap() {
                Processed::Proposal { sender, .. } => assert_eq!(sender, Sender::External(0)),
                other => panic!("{other:?}"),
            }
        }
    }

    // Member 1 commits both by reference.
    let pending = members[1].commit(CommitOptions::default()).unwrap();
    let commit = commit_of(&pending.message);
    assert_eq!(commit.proposals.len(), 2);
    assert!(commit.proposals.iter().all(|p| matches!(p, ProposalOrRef::Reference(_))));
    let msg = pending.message.clone();
    accept_commit(&registry, &members, Some(1), &msg);
    let welcome = pending.welcome.clone().unwrap();
    members[1].merge_pending_commit(pending).unwrap();
    deliver(&mut members, 1, &msg);
    assert!(!members[3].is_active());
    members.remove(3);
    members.push(
        Group::join(p.clone(), GroupConfig::default(), welcome_of(&welcome), &dave, None, PskStore::default()).unwrap(),
    );
    assert_server_agrees(&registry, &members);
    let roster = registry.roster(b"ext").unwrap();
    assert_eq!(roster.len(), 4);
    assert_eq!(roster[3], (LeafIndex(3), dave.key_package.leaf_node.credential.clone()));
    // Everyone agrees on the new epoch's secrets too.
    let auth = members[0].epoch_authenticator().to_vec();
    assert!(members.iter().all(|m| m.epoch_authenticator() == auth.as_slice()));
}

#[test]
fn many_groups_from_many_threads() {
    let p = provider();
    let registry = Arc::new(Registry::new(p.clone()));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let registry = registry.clone();
            std::thread::spawn(move || {
                let cs = CipherSuite(1);
                let p = provider();
                let gid = format!("group-{t}").into_bytes();
                let mut a = Group::create(
                    cs,
                    &Identity::basic(&*p, cs, "a").unwrap(),
                    gid.clone(),
                    vec![],
                    GroupConfig::default(),
                )
                .unwrap();
                registry.create_group(&a.group_info(true, false).unwrap(), None).unwrap();
                for _ in 0..5 {
                    let pending = a.commit(CommitOptions::default()).unwrap();
                    let accepted = registry.handle(&gid, &pending.message).unwrap();
                    a.merge_pending_commit(pending).unwrap();
                    assert_eq!(accepted.epoch, a.epoch());
                    assert!(accepted.fanout.is_empty());
                }
                assert_eq!(registry.with_group(&gid, |g| g.context().clone()).unwrap(), *a.context());
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(registry.group_count(), 8);
    assert!(registry.remove_group(b"group-0").unwrap());
    assert_eq!(registry.group_count(), 7);
    assert!(registry.roster(b"group-0").is_none());
}

/// The cost of validating one commit (a self-update with path) in a
/// 10,000-member public group. Run with
/// `cargo test --release -p throng --test server -- --ignored --nocapture`.
#[test]
#[ignore = "builds a 10,000-member group (tens of seconds); prints timings"]
fn cost_of_validating_a_commit_at_10k_members() {
    use std::time::Instant;
    const N: usize = 10_000;
    let cs = CipherSuite(1);
    let p = provider();
    let t = Instant::now();
    let alice_id = Identity::basic(&*p, cs, "alice").unwrap();
    let mut alice = Group::create(cs, &alice_id, b"big".to_vec(), vec![], GroupConfig::default()).unwrap();
    let mut public = PublicGroup::from_group_info(
        p.clone(),
        PublicGroupConfig::default(),
        &alice.group_info(true, false).unwrap(),
        None,
    )
    .unwrap();
    let bundles: Vec<KeyPackageBundle> = {
        use rayon::prelude::*;
        (1..N)
            .into_par_iter()
            .map(|i| {
                KeyPackageBundle::generate(
                    &*provider(),
                    cs,
                    &Identity::basic(&*provider(), cs, format!("m{i}")).unwrap(),
                )
                .unwrap()
            })
            .collect()
    };
    eprintln!("{} key packages: {:?}", N - 1, t.elapsed());
    let t = Instant::now();
    let adds = bundles.iter().map(|b| Proposal::Add(Add { key_package: b.key_package.clone() })).collect();
    let pending = alice.commit(CommitOptions::with_proposals(adds)).unwrap();
    eprintln!("commit of {} adds: {:?}", N - 1, t.elapsed());
    let t = Instant::now();
    let PublicProcessed::Commit(staged) = public.process_message(pending.message.clone()).unwrap() else { panic!() };
    eprintln!("public group validates the {}-add commit: {:?}", N - 1, t.elapsed());
    public.merge_staged_commit(*staged).unwrap();
    let welcome = pending.welcome.clone().unwrap();
    alice.merge_pending_commit(pending).unwrap();
    let t = Instant::now();
    let mut member = Group::join(
        p.clone(),
        GroupConfig::default(),
        welcome_of(&welcome),
        &bundles[N / 2],
        None,
        PskStore::default(),
    )
    .unwrap();
    eprintln!("member joins: {:?}", t.elapsed());
    assert_eq!(public.tree_hash(), member.tree().root_hash());
    assert_eq!(public.member_count() as usize, N);

    let t = Instant::now();
    let pending = member.commit(CommitOptions::default()).unwrap();
    eprintln!("member creates a self-update commit: {:?}", t.elapsed());
    let commit = commit_of(&pending.message);
    let ciphertexts: usize = commit.path.as_ref().unwrap().nodes.iter().map(|n| n.encrypted_path_secret.len()).sum();
    let bytes = {
        use throng::internals::codec::Encode;
        pending.message.to_bytes().len()
    };
    eprintln!(
        "commit: {} path nodes, {ciphertexts} ciphertexts, {bytes} bytes",
        commit.path.as_ref().unwrap().nodes.len()
    );

    // Staging does not change the group, so the same commit is validated
    // repeatedly; the message clone (what `Registry::handle` pays too) is
    // timed apart.
    let runs = 50;
    let mut clone_total = std::time::Duration::ZERO;
    let mut total = std::time::Duration::ZERO;
    let mut samples = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let msg = pending.message.clone();
        clone_total += t.elapsed();
        let t = Instant::now();
        let processed = public.process_message(msg).unwrap();
        let e = t.elapsed();
        total += e;
        samples.push(e);
        assert!(matches!(processed, PublicProcessed::Commit(_)));
    }
    samples.sort();
    eprintln!(
        "validate one self-update commit at {N} members: mean {:?}, median {:?}, min {:?} (+ message clone {:?})",
        total / runs,
        samples[samples.len() / 2],
        samples[0],
        clone_total / runs
    );

    // And through the merge, a second commit after the first.
    let PublicProcessed::Commit(staged) = public.process_message(pending.message.clone()).unwrap() else { panic!() };
    let t = Instant::now();
    public.merge_staged_commit(*staged).unwrap();
    eprintln!("merge: {:?}", t.elapsed());
    member.merge_pending_commit(pending).unwrap();
    assert_eq!(public.context(), member.context());
    let pending = member.commit(CommitOptions::default()).unwrap();
    let t = Instant::now();
    let PublicProcessed::Commit(_) = public.process_message(pending.message.clone()).unwrap() else { panic!() };
    eprintln!("validate the member's second self-update: {:?}", t.elapsed());
}

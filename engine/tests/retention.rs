//! Prior-epoch retention and the exporters of other epochs (issue 14):
//! application messages of retained epochs decrypt after the group moved
//! on, outside the window they are refused with a typed error and change
//! nothing, and the exporter of a staged or pending commit's epoch equals
//! the one the member has after merging.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use throng::Error;
use throng::crypto::{AwsLcProvider, CipherSuite, CryptoProvider};
use throng::error::{CryptoError, UsageError, ValidationError};
use throng::internals::group::{
    CommitOptions, EpochRetention, Group, GroupConfig, Identity, KeyPackageBundle, Processed, PskStore,
};
use throng::internals::tree_math::LeafIndex;
use throng::messages::content::{MlsMessage, MlsMessageBody};
use throng::messages::{Add, Proposal, Remove};

const CS: CipherSuite = CipherSuite(1);

fn provider() -> Arc<dyn CryptoProvider> {
    Arc::new(AwsLcProvider)
}

fn config(retention: EpochRetention) -> GroupConfig {
    GroupConfig { retention, ..GroupConfig::default() }
}

/// `n` members of one group, all configured with `retention`.
fn group(n: usize, retention: EpochRetention) -> Vec<Group> {
    let p = provider();
    let alice = Identity::basic(&*p, CS, "m0").unwrap();
    let mut first = Group::create(CS, &alice, b"media".to_vec(), vec![], config(retention)).unwrap();
    let bundles: Vec<KeyPackageBundle> = (1..n)
        .map(|i| KeyPackageBundle::generate(&*p, CS, &Identity::basic(&*p, CS, format!("m{i}")).unwrap()).unwrap())
        .collect();
    let adds = bundles.iter().map(|b| Proposal::Add(Add { key_package: b.key_package.clone() })).collect();
    let pending = first.commit(CommitOptions::with_proposals(adds)).unwrap();
    let welcome = pending.welcome.clone().unwrap();
    first.merge_pending_commit(pending).unwrap();
    let MlsMessageBody::Welcome(welcome) = &welcome.body else { panic!("not a Welcome") };
    let mut members = vec![first];
    for b in &bundles {
        members.push(Group::join(p.clone(), config(retention), welcome, b, None, PskStore::default()).unwrap());
    }
    members
}

/// Member `committer` commits `proposals`; every active member merges.
fn advance(members: &mut [Group], committer: usize, proposals: Vec<Proposal>) -> MlsMessage {
    let pending = members[committer].commit(CommitOptions::with_proposals(proposals)).unwrap();
    let message = pending.message.clone();
    members[committer].merge_pending_commit(pending).unwrap();
    for (i, m) in members.iter_mut().enumerate() {
        if i == committer || !m.is_active() {
            continue;
        }
        match m.process_message(message.clone()).unwrap() {
            Processed::Commit(staged) => m.merge_staged_commit(*staged).unwrap(),
            other => panic!("expected a commit, got {other:?}"),
        }
    }
    message
}

fn application(member: &mut Group, message: MlsMessage) -> Result<(LeafIndex, u64, Vec<u8>), Error> {
    match member.process_message(message)? {
        Processed::Application { sender, epoch, data } => Ok((sender, epoch, data)),
        other => panic!("expected application data, got {other:?}"),
    }
}

fn not_retained(result: Result<(LeafIndex, u64, Vec<u8>), Error>, current: u64, got: u64) {
    match result {
        Err(Error::Invalid(ValidationError::EpochNotRetained { current: c, got: g })) => {
            assert_eq!((c, g), (current, got));
        }
        other => panic!("expected EpochNotRetained {{ {current}, {got} }}, got {other:?}"),
    }
}

#[test]
fn messages_of_retained_epochs_decrypt_until_the_window_ends() {
    let mut members = group(3, EpochRetention::new(2, None));
    let e = members[0].epoch();
    let in_e = members[1].encrypt_application(b"frame of E", vec![]).unwrap();
    let late_in_e = members[1].encrypt_application(b"second frame of E", vec![]).unwrap();
    advance(&mut members, 0, vec![]);
    let in_e1 = members[1].encrypt_application(b"frame of E+1", vec![]).unwrap();
    advance(&mut members, 0, vec![]);
    assert_eq!(members[2].epoch(), e + 2);
    assert_eq!(members[2].retained_epochs(), vec![e, e + 1]);

    // E-2 and E-1 are in the window of two.
    assert_eq!(application(&mut members[2], in_e.clone()).unwrap(), (LeafIndex(1), e, b"frame of E".to_vec()));
    assert_eq!(application(&mut members[2], in_e1).unwrap(), (LeafIndex(1), e + 1, b"frame of E+1".to_vec()));
    // Keys of retained epochs are consumed as usual (§9.2).
    assert!(matches!(
        members[2].process_message(in_e),
        Err(Error::Invalid(ValidationError::GenerationConsumed { .. }))
    ));

    // One more epoch: E leaves the window, and its secrets with it.
    advance(&mut members, 0, vec![]);
    assert_eq!(members[2].retained_epochs(), vec![e + 1, e + 2]);
    let before = members[2].retained_state_len();
    not_retained(application(&mut members[2], late_in_e), e + 3, e);
    assert_eq!(members[2].retained_state_len(), before);
    // Only application messages are retained; a future epoch is an epoch error.
    let future = members[0].encrypt_application(b"now", vec![]).unwrap();
    let MlsMessageBody::PrivateMessage(mut m) = future.body.clone() else { panic!() };
    m.epoch += 1;
    let future = MlsMessage { body: MlsMessageBody::PrivateMessage(m), ..future };
    assert!(matches!(members[2].process_message(future), Err(Error::Invalid(ValidationError::WrongEpoch { .. }))));
}

#[test]
fn a_forged_message_of_a_retained_epoch_changes_nothing() {
    let mut members = group(3, EpochRetention::new(1, None));
    let genuine = members[1].encrypt_application(b"frame", vec![]).unwrap();
    advance(&mut members, 0, vec![]);
    let mut forged = genuine.clone();
    let MlsMessageBody::PrivateMessage(m) = &mut forged.body else { panic!() };
    let last = m.ciphertext.len() - 1;
    m.ciphertext[last] ^= 1;
    assert!(matches!(members[2].process_message(forged), Err(Error::Crypto(CryptoError::DecryptionFailed))));
    // The generation was not burnt by the forgery.
    assert_eq!(application(&mut members[2], genuine).unwrap().2, b"frame".to_vec());
}

#[test]
fn a_sender_removed_and_replaced_since_is_authenticated_with_its_old_key() {
    let p = provider();
    let mut members = group(3, EpochRetention::new(3, None));
    let e = members[0].epoch();
    let frame = members[1].encrypt_application(b"last words", vec![]).unwrap();
    // Leaf 1 is removed, then a newcomer takes the blank leaf 1 with
    // another signature key.
    advance(&mut members, 0, vec![Proposal::Remove(Remove { removed: LeafIndex(1) })]);
    assert!(!members[1].is_active());
    let newcomer = KeyPackageBundle::generate(&*p, CS, &Identity::basic(&*p, CS, "newcomer").unwrap()).unwrap();
    let pending = members[0]
        .commit(CommitOptions::with_proposals(vec![Proposal::Add(Add { key_package: newcomer.key_package.clone() })]))
        .unwrap();
    assert_eq!(pending.applied().added[0].0, LeafIndex(1));
    let message = pending.message.clone();
    members[0].merge_pending_commit(pending).unwrap();
    let Processed::Commit(staged) = members[2].process_message(message).unwrap() else { panic!() };
    members[2].merge_staged_commit(*staged).unwrap();
    assert_eq!(members[2].epoch(), e + 2);
    assert_eq!(application(&mut members[2], frame).unwrap(), (LeafIndex(1), e, b"last words".to_vec()));
}

#[test]
fn an_epoch_older_than_max_age_is_dropped() {
    let mut members = group(2, EpochRetention::new(8, Some(Duration::from_millis(1))));
    let e = members[0].epoch();
    let frame = members[1].encrypt_application(b"too late", vec![]).unwrap();
    advance(&mut members, 1, vec![]);
    std::thread::sleep(Duration::from_millis(20));
    not_retained(application(&mut members[0], frame), e + 1, e);
    assert!(members[0].retained_epochs().is_empty());
    assert_eq!(members[0].retained_state_len(), 0);

    // A generous age keeps it.
    let mut members = group(2, EpochRetention::new(8, Some(Duration::from_secs(600))));
    let frame = members[1].encrypt_application(b"in time", vec![]).unwrap();
    advance(&mut members, 1, vec![]);
    assert_eq!(application(&mut members[0], frame).unwrap().2, b"in time".to_vec());
}

#[test]
fn without_retention_an_old_message_is_refused_and_nothing_is_kept() {
    let mut members = group(2, EpochRetention::default());
    let e = members[0].epoch();
    let frame = members[1].encrypt_application(b"old", vec![]).unwrap();
    // Handshakes of an old epoch are refused with or without retention.
    let (proposal, _) = members[1].propose_update().unwrap();
    advance(&mut members, 1, vec![]);
    assert_eq!(members[0].retained_state_len(), 0);
    not_retained(application(&mut members[0], frame), e + 1, e);
    assert!(matches!(members[0].process_message(proposal), Err(Error::Invalid(ValidationError::WrongEpoch { .. }))));
}

#[test]
fn exporters_of_staged_pending_and_retained_epochs() {
    let mut members = group(3, EpochRetention::new(1, None));
    let e = members[0].epoch();
    let in_e = members[0].export_secret("SFrame 1.0 Secret", b"", 32).unwrap();

    let pending = members[0].commit(CommitOptions::default()).unwrap();
    let next_at_committer = members[0].export_pending_secret(&pending, "SFrame 1.0 Secret", b"", 32).unwrap();
    let message = pending.message.clone();
    let Processed::Commit(staged) = members[1].process_message(message.clone()).unwrap() else { panic!() };
    let next_at_receiver = members[1].export_staged_secret(&staged, "SFrame 1.0 Secret", b"", 32).unwrap();
    assert_eq!(next_at_committer, next_at_receiver);
    assert_ne!(next_at_receiver, in_e);

    members[0].merge_pending_commit(pending).unwrap();
    members[1].merge_staged_commit(*staged).unwrap();
    let Processed::Commit(staged) = members[2].process_message(message).unwrap() else { panic!() };
    members[2].merge_staged_commit(*staged).unwrap();
    for m in &members {
        assert_eq!(m.export_secret("SFrame 1.0 Secret", b"", 32).unwrap(), next_at_receiver);
        assert_eq!(m.export_secret_of_epoch(e + 1, "SFrame 1.0 Secret", b"", 32).unwrap(), next_at_receiver);
        assert_eq!(m.export_secret_of_epoch(e, "SFrame 1.0 Secret", b"", 32).unwrap(), in_e);
    }
    advance(&mut members, 2, vec![]);
    assert!(matches!(
        members[0].export_secret_of_epoch(e, "SFrame 1.0 Secret", b"", 32),
        Err(Error::Invalid(ValidationError::EpochNotRetained { .. }))
    ));

    // A commit that removes the member has no next epoch for it.
    let pending = members[0]
        .commit(CommitOptions::with_proposals(vec![Proposal::Remove(Remove { removed: LeafIndex(2) })]))
        .unwrap();
    let Processed::Commit(staged) = members[2].process_message(pending.message.clone()).unwrap() else { panic!() };
    assert!(matches!(
        members[2].export_staged_secret(&staged, "x", b"", 16),
        Err(Error::Usage(UsageError::RemovedByCommit))
    ));
}

#[test]
fn the_server_routes_application_messages_of_retained_epochs_only() {
    use throng::{AcceptedKind, PublicGroupConfig, Registry, Rejected};
    let p = provider();
    let mut members = group(3, EpochRetention::new(1, None));
    let e = members[0].epoch();
    let info = members[0].group_info(true, true).unwrap();
    let retaining = Registry::with_config(
        p.clone(),
        PublicGroupConfig { retention: EpochRetention::new(1, None), ..PublicGroupConfig::default() },
    );
    let plain = Registry::new(p.clone());
    for registry in [&retaining, &plain] {
        registry.create_group(&info, None).unwrap();
    }
    let in_e = members[1].encrypt_application(b"frame", vec![]).unwrap();
    let commit = advance(&mut members, 0, vec![]);
    for registry in [&retaining, &plain] {
        assert_eq!(registry.handle(b"media", &commit).unwrap().epoch, e + 1);
    }

    let accepted = retaining.handle(b"media", &in_e).unwrap();
    assert_eq!((accepted.kind, accepted.epoch), (AcceptedKind::Application, e + 1));
    assert_eq!(accepted.fanout.len(), 3);
    assert_eq!(plain.handle(b"media", &in_e), Err(Rejected::WrongEpoch { current: e + 1, got: e }));
    // The member it reaches decrypts it from its own retained epoch.
    assert_eq!(application(&mut members[2], in_e.clone()).unwrap().1, e);

    // One epoch later E is outside both windows.
    let commit = advance(&mut members, 0, vec![]);
    retaining.handle(b"media", &commit).unwrap();
    assert_eq!(retaining.handle(b"media", &in_e), Err(Rejected::WrongEpoch { current: e + 2, got: e }));
}

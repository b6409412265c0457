//! Hostile input (issue 12): each class the robustness run found, as a
//! test that failed before its fix. Work a peer can cause is bounded by
//! [`Limits`] before it is done, and a refused input changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use throng::crypto::{AwsLcProvider, CipherSuite, CryptoProvider};
use throng::internals::codec::{Decode, Encode};
use throng::internals::group::{CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle, Processed, PskStore};
use throng::internals::tree_math::LeafIndex;
use throng::messages::content::{MlsMessage, MlsMessageBody, WireFormat};
use throng::messages::{Add, ExtensionType, GroupInfo, Proposal, RatchetTreeExtension, Remove};
use throng::{Error, Limit, LimitExceeded, Limits, PublicGroupConfig, Registry, default_capabilities};

const CS: CipherSuite = CipherSuite(1);

fn provider() -> Arc<dyn CryptoProvider> {
    Arc::new(AwsLcProvider)
}

fn limit_of(result: Result<impl std::fmt::Debug, Error>) -> Limit {
    match result {
        Err(Error::Limit(LimitExceeded { limit, .. })) => limit,
        other => panic!("expected a limit error, got {other:?}"),
    }
}

/// `n` members running `config`; the last one, the receiver of most tests,
/// with `limits` instead of the default ones.
fn group_of(n: usize, config: GroupConfig, limits: Limits) -> Vec<Group> {
    let p = provider();
    let alice_id = Identity::basic(&*p, CS, "alice").unwrap();
    let mut alice = Group::create(CS, &alice_id, b"hostile".to_vec(), vec![], config.clone()).unwrap();
    let bundles: Vec<KeyPackageBundle> = (1..n)
        .map(|i| KeyPackageBundle::generate(&*p, CS, &Identity::basic(&*p, CS, format!("m{i}")).unwrap()).unwrap())
        .collect();
    let adds = bundles.iter().map(|b| Proposal::Add(Add { key_package: b.key_package.clone() })).collect();
    let pending = alice.commit(CommitOptions::with_proposals(adds)).unwrap();
    let MlsMessageBody::Welcome(welcome) = &pending.welcome.as_ref().unwrap().body else { panic!("no welcome") };
    let welcome = welcome.clone();
    alice.merge_pending_commit(pending).unwrap();
    let mut members = vec![alice];
    for (i, b) in bundles.iter().enumerate() {
        let config = if i + 2 == n { GroupConfig { limits, ..config.clone() } } else { config.clone() };
        members.push(Group::join(p.clone(), config, &welcome, b, None, PskStore::default()).unwrap());
    }
    members
}

fn commit_of(processed: Result<Processed, Error>) -> Box<throng::StagedCommit> {
    match processed {
        Ok(Processed::Commit(staged)) => staged,
        other => panic!("expected a commit, got {other:?}"),
    }
}

/// Class 2: a KeyPackage listing 65,530 extension types took 1.5 s to
/// validate (a scan per extension) and was accepted; the count is now
/// refused before any scan or signature check, by members and the server.
#[test]
fn a_key_package_with_huge_capability_lists_is_refused_by_count() {
    let p = provider();
    let mut members = group_of(2, GroupConfig::default(), Limits::default());
    let mut caps = default_capabilities(CS);
    caps.extensions = (6..=u16::MAX).map(ExtensionType).collect();
    let id = Identity::basic(&*p, CS, "mallory").unwrap();
    let kp = KeyPackageBundle::generate_with(&*p, CS, &id, caps, vec![], vec![]).unwrap().key_package;
    let (proposal, _) = members[1].propose(Proposal::Add(Add { key_package: kp })).unwrap();

    let before = members[0].export().unwrap();
    assert_eq!(limit_of(members[0].process_message(proposal.clone())), Limit::CapabilityEntries);
    assert_eq!(*members[0].export().unwrap(), *before);

    let registry = Registry::new(p.clone());
    let info = members[0].group_info(true, false).unwrap();
    registry.create_group(&info, None).unwrap();
    assert!(registry.handle(b"hostile", &proposal).is_err());
    assert_eq!(registry.with_group(b"hostile", |g| g.pending_proposals().count()), Some(0));
}

/// Class 2: a blank node is one byte on the wire and hundreds decoded; a
/// run of 4 MiB of them took ~1 GB. Decoding now charges every item to a
/// budget of 8 bytes per input byte, and stops.
#[test]
fn a_run_of_blank_nodes_decodes_within_its_budget() {
    let n = 4 << 20;
    let mut bytes = vec![0x80 | (n >> 24) as u8, (n >> 16) as u8, (n >> 8) as u8, n as u8];
    bytes.resize(4 + n, 0);
    match RatchetTreeExtension::from_bytes(&bytes) {
        Err(throng::error::DecodeError::Limit(l)) => assert_eq!(l.limit, Limit::DecodedBytes),
        other => panic!("expected a decode budget error, got {:?}", other.map(|t| t.0.len())),
    }

    // Inside a GroupInfo the same run is refused the same way, before any
    // signature or hash work.
    let members = group_of(2, GroupConfig::default(), Limits::default());
    let mut info = members[0].group_info(false, false).unwrap();
    info.extensions
        .push(throng::messages::Extension { extension_type: ExtensionType::RATCHET_TREE, extension_data: bytes });
    let registry = Registry::new(provider());
    assert_eq!(limit_of(registry.create_group(&info, None)), Limit::DecodedBytes);
}

/// Class 1/2: the tree arriving with a GroupInfo is built only after the
/// GroupInfo's signature verifies over the signer's leaf, read straight
/// from the node list. Before, a forged GroupInfo with a broken tree got
/// a tree error: the tree was built first.
#[test]
fn a_forged_group_info_is_refused_before_its_tree_is_built() {
    let members = group_of(3, GroupConfig::default(), Limits::default());
    let mut info = members[0].group_info(false, false).unwrap();
    info.signature[0] ^= 1;
    let mut tree = members[0].tree().export();
    // Two leaves with the same encryption key: import refuses this tree.
    let Some(throng::messages::Node::Leaf(first)) = tree.0[0].clone() else { panic!("leaf 0") };
    let Some(throng::messages::Node::Leaf(second)) = &mut tree.0[2] else { panic!("leaf 1") };
    second.set_encryption_key(first.encryption_key()).unwrap();
    let registry = Registry::new(provider());
    match registry.create_group(&info, Some(&tree)) {
        Err(Error::Crypto(_)) => {}
        other => panic!("expected the signature to fail first, got {other:?}"),
    }
    // Too many nodes is refused before the signature too.
    let small = PublicGroupConfig { limits: Limits { max_leaves: 2, ..Limits::default() }, ..Default::default() };
    let registry = Registry::with_config(provider(), small);
    assert_eq!(limit_of(registry.create_group(&info, Some(&tree))), Limit::TreeNodes);
}

/// Class 2: proposal caches were unbounded; now per sender and in total,
/// and a refused proposal changes nothing.
#[test]
fn proposal_caches_are_bounded_per_sender_and_in_total() {
    let limits = Limits { max_cached_proposals_per_sender: 2, max_cached_proposals: 3, ..Limits::default() };
    let mut members = group_of(6, GroupConfig::default(), limits);
    let removes: Vec<MlsMessage> =
        (2..5).map(|i| members[1].propose(Proposal::Remove(Remove { removed: LeafIndex(i) })).unwrap().0).collect();
    let r = &mut members[5];
    r.process_message(removes[0].clone()).unwrap();
    r.process_message(removes[1].clone()).unwrap();
    let before = r.export().unwrap();
    assert_eq!(limit_of(r.process_message(removes[2].clone())), Limit::CachedProposalsPerSender);
    assert_eq!(*r.export().unwrap(), *before);
    // A repeat of a cached proposal is not a new entry.
    r.process_message(removes[0].clone()).unwrap();

    let (other, _) = members[0].propose(Proposal::Remove(Remove { removed: LeafIndex(4) })).unwrap();
    members[5].process_message(other).unwrap();
    let (fourth, _) = members[2].propose(Proposal::Remove(Remove { removed: LeafIndex(3) })).unwrap();
    assert_eq!(limit_of(members[5].process_message(fourth)), Limit::CachedProposals);
    assert_eq!(members[5].pending_proposals().count(), 3);
}

/// Limits on a commit: proposals per commit, checked before any of them.
#[test]
fn a_commit_with_too_many_proposals_is_refused_first() {
    let limits = Limits { max_proposals_per_commit: 2, ..Limits::default() };
    let mut members = group_of(5, GroupConfig::default(), limits);
    let removes = [0, 2, 3].map(|i| Proposal::Remove(Remove { removed: LeafIndex(i) })).to_vec();
    let pending = members[1].commit(CommitOptions::with_proposals(removes)).unwrap();
    let before = members[4].export().unwrap();
    assert_eq!(limit_of(members[4].process_message(pending.message.clone())), Limit::ProposalsPerCommit);
    assert_eq!(*members[4].export().unwrap(), *before);
}

/// Limits on a PrivateMessage: its size, before any key is derived.
#[test]
fn an_oversized_private_message_is_refused_before_decryption() {
    let limits = Limits { max_message_bytes: 1000, ..Limits::default() };
    let mut members = group_of(2, GroupConfig::default(), limits);
    let big = members[0].encrypt_application(&[7; 2000], vec![]).unwrap();
    let small = members[0].encrypt_application(b"hello", vec![]).unwrap();
    assert_eq!(limit_of(members[1].process_message(big)), Limit::MessageBytes);
    // No key was consumed: the next message still decrypts.
    assert!(matches!(members[1].process_message(small), Ok(Processed::Application { .. })));
    assert_eq!(limit_of(Limits::default().decode::<MlsMessage>(&vec![0; (64 << 20) + 1])), Limit::MessageBytes);
}

/// Class 4: with private handshakes, a commit that arrived before the
/// proposal it references consumed its key and was `GenerationConsumed`
/// forever. What it decrypted is kept; once the proposal is in, the same
/// message processes.
#[test]
fn a_private_commit_before_its_proposal_processes_once_the_proposal_arrives() {
    let config = GroupConfig { handshake_wire_format: WireFormat::PRIVATE_MESSAGE, ..GroupConfig::default() };
    let mut members = group_of(4, config, Limits::default());
    let (proposal, _) = members[1].propose(Proposal::Remove(Remove { removed: LeafIndex(3) })).unwrap();
    members[0].process_message(proposal.clone()).unwrap();
    let pending = members[0].commit(CommitOptions::default()).unwrap();
    let commit = pending.message.clone();
    members[0].merge_pending_commit(pending).unwrap();

    // Carol gets the commit first.
    assert!(matches!(
        members[2].process_message(commit.clone()),
        Err(Error::Invalid(throng::error::ValidationError::Commit(
            throng::error::CommitError::UnknownProposalReference
        )))
    ));
    members[2].process_message(proposal).unwrap();
    let staged = commit_of(members[2].process_message(commit));
    members[2].merge_staged_commit(*staged).unwrap();
    assert_eq!(members[2].epoch(), members[0].epoch());
    assert_eq!(members[2].epoch_authenticator(), members[0].epoch_authenticator());
}

/// The GroupInfo decodes through `Limits::decode` like any message.
#[test]
fn limits_decode_reads_a_genuine_group_info() {
    let members = group_of(2, GroupConfig::default(), Limits::default());
    let info = members[0].group_info(true, false).unwrap();
    let back: GroupInfo = Limits::default().decode(&info.to_bytes()).unwrap();
    assert_eq!(back, info);
}

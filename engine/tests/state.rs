//! Exported state (`throng::state`): a member's group imports back exactly,
//! in the middle of a session, for every suite; another version, another
//! kind, any truncation and random damage are typed errors, never panics;
//! and a 1,000-member state exports and imports in linear time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use throng::crypto::{AwsLcProvider, CipherSuite, CryptoProvider, Secret};
use throng::error::{Error, StateError, ValidationError};
use throng::internals::group::{CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle, Processed, PskStore};
use throng::internals::tree_math::LeafIndex;
use throng::messages::content::{MlsMessage, MlsMessageBody};
use throng::messages::{Add, Proposal, Remove};
use throng::state::{FORMAT_VERSION, StateHeader, StateKind};
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

fn reimport(g: &Group) -> Group {
    Group::import(&g.export().unwrap(), provider(), GroupConfig::default()).unwrap()
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

/// What two members in the same epoch agree on.
fn fingerprint(g: &Group) -> (u64, Vec<u8>, Vec<u8>, Vec<u8>) {
    (
        g.epoch(),
        g.epoch_authenticator().to_vec(),
        g.export_secret("state test", b"ctx", 32).unwrap().as_bytes().to_vec(),
        g.tree().root_hash().to_vec(),
    )
}

/// Four members; Alice has sent five application messages, Bob received
/// two of them out of order (keys of skipped generations kept), proposed
/// an Update (pending leaf key, cached proposal) and holds an external PSK.
struct Session {
    alice: Group,
    bob: Group,
    carol: Group,
    dave: Group,
    messages: Vec<MlsMessage>,
    /// Bob's Update proposal, for a server that starts at this epoch.
    update: MlsMessage,
}

fn session(cs: CipherSuite) -> Session {
    let p = provider();
    let ids: Vec<Identity> =
        ["alice", "bob", "carol", "dave"].iter().map(|n| Identity::basic(&*p, cs, *n).unwrap()).collect();
    let mut alice = Group::create(cs, &ids[0], b"persisted group".to_vec(), vec![], GroupConfig::default()).unwrap();
    let bundles: Vec<KeyPackageBundle> =
        ids[1..].iter().map(|id| KeyPackageBundle::generate(&*p, cs, id).unwrap()).collect();
    let adds = bundles.iter().map(|b| Proposal::Add(Add { key_package: b.key_package.clone() })).collect();
    let pending = alice.commit(CommitOptions::with_proposals(adds)).unwrap();
    let welcome = pending.welcome.clone().unwrap();
    alice.merge_pending_commit(pending).unwrap();
    let mut joined: Vec<Group> = bundles
        .iter()
        .map(|b| {
            Group::join(p.clone(), GroupConfig::default(), welcome_of(&welcome), b, None, PskStore::default()).unwrap()
        })
        .collect();
    let mut dave = joined.pop().unwrap();
    let mut carol = joined.pop().unwrap();
    let mut bob = joined.pop().unwrap();

    // A full-path commit by Carol: everyone holds parent keys now, and
    // resumption PSKs of past epochs.
    let msg = commit_and_merge(&mut carol, CommitOptions::default());
    for g in [&mut alice, &mut bob, &mut dave] {
        process_commit(g, &msg);
    }

    let messages: Vec<MlsMessage> =
        (0..5).map(|i| alice.encrypt_application(format!("message {i}").as_bytes(), vec![]).unwrap()).collect();
    assert_eq!(application(&mut bob, &messages[3]), b"message 3");
    assert_eq!(application(&mut bob, &messages[0]), b"message 0");

    let (update, _) = bob.propose_update().unwrap();
    for g in [&mut alice, &mut carol, &mut dave] {
        assert!(matches!(g.process_message(update.clone()).unwrap(), Processed::Proposal { .. }));
    }
    bob.psk_store_mut().insert(b"external psk".to_vec(), Secret::new(vec![7; 32]));
    Session { alice, bob, carol, dave, messages, update }
}

fn round_trip_mid_session(cs: CipherSuite) {
    let Session { mut alice, mut bob, mut carol, mut dave, messages, .. } = session(cs);
    let bytes = bob.export().unwrap();
    let mut bob2 = Group::import(&bytes, provider(), GroupConfig::default()).unwrap();
    assert_eq!(*bob2.export().unwrap(), *bytes, "suite {cs:?}: import then export changes the bytes");
    assert_eq!(fingerprint(&bob2), fingerprint(&bob));
    assert_eq!(bob2.pending_proposals().count(), 1);

    // Kept out-of-order keys work once, in both copies; consumed ones are refused.
    for g in [&mut bob, &mut bob2] {
        assert_eq!(application(g, &messages[2]), b"message 2");
        let replay = g.process_message(messages[3].clone()).unwrap_err();
        assert!(matches!(replay, Error::Invalid(ValidationError::GenerationConsumed { generation: 3 })), "{replay:?}");
        assert_eq!(application(g, &messages[4]), b"message 4");
        assert_eq!(application(g, &messages[1]), b"message 1");
    }
    assert_eq!(*bob2.export().unwrap(), *bob.export().unwrap());

    // Carol commits Bob's Update by reference: both copies need the
    // pending leaf key to follow.
    let msg = commit_and_merge(&mut carol, CommitOptions::default());
    for g in [&mut alice, &mut bob, &mut bob2, &mut dave] {
        process_commit(g, &msg);
    }
    for g in [&alice, &bob2, &dave] {
        assert_eq!(fingerprint(g), fingerprint(&carol));
    }
    assert_eq!(fingerprint(&bob), fingerprint(&carol));
    assert_eq!(*bob2.export().unwrap(), *bob.export().unwrap());

    // The imported member signs, encrypts and commits like the original.
    let hello = bob2.encrypt_application(b"from the imported bob", vec![]).unwrap();
    for g in [&mut alice, &mut carol, &mut dave] {
        assert_eq!(application(g, &hello), b"from the imported bob");
    }
    let msg = commit_and_merge(&mut bob2, CommitOptions::default());
    for g in [&mut alice, &mut carol, &mut dave] {
        process_commit(g, &msg);
    }
    for g in [&alice, &carol, &dave] {
        assert_eq!(fingerprint(g), fingerprint(&bob2));
    }
    // A state survives any number of round trips.
    let dave2 = reimport(&reimport(&dave));
    assert_eq!(*dave2.export().unwrap(), *dave.export().unwrap());
}

#[test]
fn member_state_round_trips_mid_session_in_every_suite() {
    for cs in SUITES {
        round_trip_mid_session(CipherSuite(cs));
    }
}

#[test]
fn removed_member_state_round_trips_inactive() {
    let Session { mut alice, mut bob, .. } = session(CipherSuite(1));
    let remove = vec![Proposal::Remove(Remove { removed: LeafIndex(1) })];
    // Without the cached Update of Bob: one proposal per leaf (§12.2).
    let msg =
        commit_and_merge(&mut alice, CommitOptions { include_pending: false, ..CommitOptions::with_proposals(remove) });
    process_commit(&mut bob, &msg);
    assert!(!bob.is_active());
    let bob2 = reimport(&bob);
    assert!(!bob2.is_active());
    assert_eq!(*bob2.export().unwrap(), *bob.export().unwrap());
}

fn state_error(result: Result<Group, Error>) -> StateError {
    match result {
        Err(Error::State(e)) => e,
        Err(other) => panic!("expected a state error, got {other:?}"),
        Ok(_) => panic!("expected a state error, got a group"),
    }
}

#[test]
fn other_version_kind_or_magic_is_refused() {
    let Session { bob, .. } = session(CipherSuite(1));
    let bytes = bob.export().unwrap();
    assert_eq!(&bytes[..4], b"THRG");
    let header = throng::state::peek_header(&bytes).unwrap();
    assert_eq!(
        header,
        StateHeader { format_version: FORMAT_VERSION, kind: StateKind::Member as u8, cipher_suite: CipherSuite(1) }
    );

    let mut other = bytes.to_vec();
    other[4..6].copy_from_slice(&(FORMAT_VERSION + 1).to_be_bytes());
    assert_eq!(
        state_error(Group::import(&other, provider(), GroupConfig::default())),
        StateError::UnsupportedVersion { found: FORMAT_VERSION + 1, expected: FORMAT_VERSION }
    );
    let mut other = bytes.to_vec();
    other[6] = 2;
    assert_eq!(
        state_error(Group::import(&other, provider(), GroupConfig::default())),
        StateError::WrongKind { found: 2, expected: 1 }
    );
    let mut other = bytes.to_vec();
    other[0] = b'X';
    assert_eq!(state_error(Group::import(&other, provider(), GroupConfig::default())), StateError::NotState);
    // An unknown cipher suite is the provider's refusal.
    let mut other = bytes.to_vec();
    other[7..9].copy_from_slice(&0x0a0au16.to_be_bytes());
    assert!(matches!(Group::import(&other, provider(), GroupConfig::default()), Err(Error::Crypto(_))));
}

/// Tiny deterministic PRNG (xorshift64*), enough to pick flip positions.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn every_truncation_and_random_flips_are_errors() {
    let Session { bob, .. } = session(CipherSuite(1));
    let bytes = bob.export().unwrap();
    for len in 0..bytes.len() {
        let result = Group::import(&bytes[..len], provider(), GroupConfig::default());
        assert!(matches!(result, Err(Error::State(_))), "prefix of {len} bytes: {:?}", result.err());
    }
    let mut rng = XorShift(0x05ee_d0f5_7a7e);
    for _ in 0..2000 {
        let mut damaged = bytes.to_vec();
        let at = rng.below(damaged.len());
        damaged[at] ^= 1 + rng.below(255) as u8;
        let result = Group::import(&damaged, provider(), GroupConfig::default());
        assert!(result.is_err(), "flip at {at} of {} went unnoticed", bytes.len());
    }
}

/// Builds a group of `n` members cheaply: the creator adds everyone in one
/// commit without a path, then commits once with a path so that it holds
/// parent keys; one joiner follows.
fn big_group(cs: CipherSuite, n: usize) -> (Group, Group) {
    let p = provider();
    let creator = Identity::basic(&*p, cs, "creator").unwrap();
    let mut alice = Group::create(cs, &creator, b"big group".to_vec(), vec![], GroupConfig::default()).unwrap();
    let bundles: Vec<KeyPackageBundle> = (1..n)
        .into_par_iter()
        .map(|i| {
            KeyPackageBundle::generate(&*p, cs, &Identity::basic(&*p, cs, format!("member {i}")).unwrap()).unwrap()
        })
        .collect();
    let adds = bundles.iter().map(|b| Proposal::Add(Add { key_package: b.key_package.clone() })).collect();
    let pending = alice.commit(CommitOptions { force_path: false, ..CommitOptions::with_proposals(adds) }).unwrap();
    let welcome = pending.welcome.clone().unwrap();
    alice.merge_pending_commit(pending).unwrap();
    let mut bob =
        Group::join(p.clone(), GroupConfig::default(), welcome_of(&welcome), &bundles[0], None, PskStore::default())
            .unwrap();
    let msg = commit_and_merge(&mut alice, CommitOptions::default());
    process_commit(&mut bob, &msg);
    (alice, bob)
}

#[test]
fn thousand_member_state_exports_and_imports() {
    let (alice, mut bob) = big_group(CipherSuite(1), 1000);
    assert_eq!(alice.member_count(), 1000);

    let start = Instant::now();
    let bytes = alice.export().unwrap();
    let export_time = start.elapsed();
    let start = Instant::now();
    let mut alice2 = Group::import(&bytes, provider(), GroupConfig::default()).unwrap();
    let import_time = start.elapsed();
    println!(
        "1,000-member member state: {} bytes, export {:.2} ms, import {:.2} ms",
        bytes.len(),
        export_time.as_secs_f64() * 1e3,
        import_time.as_secs_f64() * 1e3
    );
    assert_eq!(*alice2.export().unwrap(), *bytes);
    assert_eq!(fingerprint(&alice2), fingerprint(&alice));

    // The imported creator commits; the joiner follows it.
    let msg = commit_and_merge(&mut alice2, CommitOptions::default());
    process_commit(&mut bob, &msg);
    assert_eq!(fingerprint(&bob), fingerprint(&alice2));

    // Damage is caught at this size too (a sample of positions).
    let mut rng = XorShift(1000);
    for _ in 0..50 {
        let mut damaged = bytes.to_vec();
        let at = rng.below(damaged.len());
        damaged[at] ^= 0x40;
        assert!(Group::import(&damaged, provider(), GroupConfig::default()).is_err());
        let cut = rng.below(bytes.len());
        assert!(Group::import(&bytes[..cut], provider(), GroupConfig::default()).is_err());
    }
}

fn public_process_commit(server: &mut PublicGroup, msg: &MlsMessage) {
    match server.process_message(msg.clone()).unwrap() {
        PublicProcessed::Commit(staged) => server.merge_staged_commit(*staged).unwrap(),
        other => panic!("expected a commit, got {other:?}"),
    }
}

fn public_fingerprint(server: &PublicGroup) -> (u64, Vec<u8>, Vec<u8>) {
    (server.epoch(), server.tree_hash().to_vec(), server.context().confirmed_transcript_hash.clone())
}

fn public_round_trip(cs: CipherSuite) {
    let Session { alice, mut carol, update, .. } = session(cs);
    let mut server = PublicGroup::from_group_info(
        provider(),
        PublicGroupConfig::default(),
        &alice.group_info(true, false).unwrap(),
        None,
    )
    .unwrap();
    assert!(matches!(server.process_message(update).unwrap(), PublicProcessed::Proposal { .. }));
    let bytes = server.export().unwrap();
    let mut server2 = PublicGroup::import(&bytes, provider(), PublicGroupConfig::default()).unwrap();
    assert_eq!(*server2.export().unwrap(), *bytes);
    assert_eq!(server2.pending_proposals().count(), 1);
    assert_eq!(server2.roster(), server.roster());

    // Both follow Carol's commit of Bob's Update to the same epoch.
    let msg = commit_and_merge(&mut carol, CommitOptions::default());
    for s in [&mut server, &mut server2] {
        public_process_commit(s, &msg);
        assert_eq!(
            public_fingerprint(s),
            (carol.epoch(), carol.tree().root_hash().to_vec(), carol.context().confirmed_transcript_hash.clone())
        );
    }
    assert_eq!(*server2.export().unwrap(), *server.export().unwrap());
    server2.verify_group_info(&carol.group_info(true, false).unwrap()).unwrap();
}

#[test]
fn public_group_state_round_trips_in_every_suite() {
    for cs in SUITES {
        public_round_trip(CipherSuite(cs));
    }
}

#[test]
fn public_group_membership_key_and_kinds() {
    let Session { alice, bob, .. } = session(CipherSuite(1));
    let mut server = PublicGroup::from_group_info(
        provider(),
        PublicGroupConfig::default(),
        &alice.group_info(true, false).unwrap(),
        None,
    )
    .unwrap();
    server.set_membership_key(Secret::new(vec![3; 32]));
    let bytes = server.export().unwrap();
    let server2 = PublicGroup::import(&bytes, provider(), PublicGroupConfig::default()).unwrap();
    assert_eq!(*server2.export().unwrap(), *bytes);

    // Neither kind imports as the other.
    let member = bob.export().unwrap();
    let err = PublicGroup::import(&member, provider(), PublicGroupConfig::default()).unwrap_err();
    assert_eq!(err, Error::State(StateError::WrongKind { found: 1, expected: 2 }));
    assert_eq!(
        state_error(Group::import(&bytes, provider(), GroupConfig::default())),
        StateError::WrongKind { found: 2, expected: 1 }
    );

    for len in 0..bytes.len() {
        assert!(
            PublicGroup::import(&bytes[..len], provider(), PublicGroupConfig::default()).is_err(),
            "prefix of {len}"
        );
    }
    let mut rng = XorShift(0x9_0b11c);
    for _ in 0..1000 {
        let mut damaged = bytes.to_vec();
        let at = rng.below(damaged.len());
        damaged[at] ^= 1 + rng.below(255) as u8;
        assert!(PublicGroup::import(&damaged, provider(), PublicGroupConfig::default()).is_err(), "flip at {at}");
    }
}

/// Sealed state (`throng::state`, "Sealed state"): a member's state sealed
/// under a `StateKey` and bound to its record imports back in the middle
/// of a session, in every suite, and follows its group; a server's too;
/// and a sealed state moved to another record does not open there.
mod sealed {
    use throng::state::{SEALED_OVERHEAD, StateKey, peek_sealed_header};

    use super::*;

    /// The record a member's state is stored under, used as the context.
    fn record(group: &Group, member: &str) -> Vec<u8> {
        let mut context = b"groups/".to_vec();
        context.extend_from_slice(&group.context().group_id);
        context.extend_from_slice(b"/members/");
        context.extend_from_slice(member.as_bytes());
        context
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
        let ids: Vec<Identity> =
            ["alice", "bob", "carol"].iter().map(|n| Identity::basic(&*p, cs, *n).unwrap()).collect();
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
        let server3 =
            PublicGroup::import_sealed(&sealed, &key, context, provider(), PublicGroupConfig::default()).unwrap();
        assert_eq!(*server3.export().unwrap(), *server2.export().unwrap());
    }
}

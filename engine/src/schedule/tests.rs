//! Edge cases of the key schedule the vectors do not cover.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::transcript::{self, confirmation_tag, verify_confirmation_tag};
use super::*;
use crate::codec::Encode;
use crate::crypto::{CipherSuite, CryptoError, Secret, Suite, default_provider};
use crate::error::{Error, ValidationError};
use crate::messages::{PreSharedKeyId, Psk, ResumptionPskUsage};

/// Suites with each hash length: SHA-256, SHA-512, SHA-384.
const SUITES: [u16; 3] = [1, 5, 7];

fn suite(cs: u16) -> Suite<'static> {
    Suite::new(default_provider(), CipherSuite(cs)).unwrap()
}

fn external_psk(id: &[u8], nh: usize) -> PreSharedKeyId {
    PreSharedKeyId { psk: Psk::External { psk_id: id.to_vec() }, psk_nonce: vec![7; nh] }
}

fn some_epoch(suite: &Suite<'_>) -> EpochDerivation {
    let nh = suite.hash_len();
    derive_epoch(
        suite,
        &InitSecret::new(Secret::new(vec![1; nh])),
        &CommitSecret::new(Secret::new(vec![2; nh])),
        &PskSecret::zero(suite),
        b"an encoded GroupContext",
    )
    .unwrap()
}

#[test]
fn zero_psks_give_the_all_zero_vector() {
    for cs in SUITES {
        let s = suite(cs);
        let none: [(&PreSharedKeyId, &Secret); 0] = [];
        let got = psk_secret(&s, none).unwrap();
        assert_eq!(got.as_secret().as_bytes(), vec![0u8; s.hash_len()].as_slice());
        assert_eq!(got, PskSecret::zero(&s));
    }
}

#[test]
fn psk_secret_depends_on_order_and_ids() {
    let s = suite(1);
    let (a, b) = (external_psk(b"a", 32), external_psk(b"b", 32));
    let (ka, kb) = (Secret::new(vec![0xaa; 32]), Secret::new(vec![0xbb; 32]));
    let one = psk_secret(&s, [(&a, &ka)]).unwrap();
    let ab = psk_secret(&s, [(&a, &ka), (&b, &kb)]).unwrap();
    let ba = psk_secret(&s, [(&b, &kb), (&a, &ka)]).unwrap();
    assert_ne!(one, PskSecret::zero(&s));
    assert_ne!(ab, ba, "PSKLabel.index binds the order (§8.4)");
    assert_ne!(one, ab);
    // Same key under another identity: the PreSharedKeyID is bound too.
    let renamed = psk_secret(&s, [(&b, &ka)]).unwrap();
    assert_ne!(one, renamed);
    // A resumption PSK with the same key differs from an external one.
    let resumption = PreSharedKeyId {
        psk: Psk::Resumption { usage: ResumptionPskUsage::Application, psk_group_id: b"a".to_vec(), psk_epoch: 0 },
        psk_nonce: vec![7; 32],
    };
    assert_ne!(one, psk_secret(&s, [(&resumption, &ka)]).unwrap());
}

#[test]
fn psk_count_beyond_uint16_is_rejected() {
    let s = suite(1);
    let id = external_psk(b"x", 32);
    let key = Secret::new(vec![1; 32]);
    let many = vec![(&id, &key); usize::from(u16::MAX) + 1];
    let err = psk_secret(&s, many).unwrap_err();
    assert_eq!(err, Error::Invalid(ValidationError::TooManyPsks(65536)));
}

#[test]
fn every_epoch_secret_is_distinct() {
    for cs in SUITES {
        let s = suite(cs);
        let d = some_epoch(&s);
        let e = &d.epoch_secrets;
        let all: Vec<&[u8]> = vec![
            d.joiner_secret.as_secret().as_bytes(),
            d.welcome_secret.as_secret().as_bytes(),
            e.sender_data_secret().as_bytes(),
            e.encryption_secret().unwrap().as_bytes(),
            e.exporter_secret().as_bytes(),
            e.external_secret().as_bytes(),
            e.confirmation_key().as_bytes(),
            e.membership_key().as_bytes(),
            e.resumption_psk().as_bytes(),
            e.epoch_authenticator().as_bytes(),
            e.init_secret().as_secret().as_bytes(),
        ];
        for (i, x) in all.iter().enumerate() {
            assert_eq!(x.len(), s.hash_len(), "secret {i} has length Nh");
            for y in &all[i + 1..] {
                assert_ne!(x, y);
            }
        }
    }
}

#[test]
fn step_by_step_matches_derive_epoch() {
    let s = suite(2);
    let init = InitSecret::new(Secret::new(vec![1; 32]));
    let commit = CommitSecret::new(Secret::new(vec![2; 32]));
    let psk = PskSecret::new(Secret::new(vec![3; 32]));
    let gc = b"group context";
    let whole = derive_epoch(&s, &init, &commit, &psk, gc).unwrap();

    // A joiner from a Welcome starts at the joiner_secret.
    let joiner = JoinerSecret::new(whole.joiner_secret.as_secret().clone());
    let intermediate = joiner.with_psk(&s, &psk);
    assert_eq!(intermediate.welcome_secret(&s).unwrap(), whole.welcome_secret);
    let epoch = intermediate.into_epoch(&s, gc).unwrap();
    assert_eq!(epoch.epoch_authenticator(), whole.epoch_secrets.epoch_authenticator());
    assert_eq!(epoch.init_secret(), whole.epoch_secrets.init_secret());

    // The GroupContext and the PSKs are bound in.
    let other_gc = derive_epoch(&s, &init, &commit, &psk, b"other context").unwrap();
    assert_ne!(other_gc.joiner_secret, whole.joiner_secret);
    let no_psk = derive_epoch(&s, &init, &commit, &PskSecret::zero(&s), gc).unwrap();
    assert_eq!(no_psk.joiner_secret, whole.joiner_secret);
    assert_ne!(no_psk.welcome_secret, whole.welcome_secret);
}

#[test]
fn commit_without_path_uses_zero_commit_secret() {
    let s = suite(1);
    assert_eq!(CommitSecret::zero(&s).as_secret().as_bytes(), &[0u8; 32]);
}

#[test]
fn new_group_epochs_are_fresh() {
    let s = suite(1);
    let a = EpochSecrets::for_new_group(&s).unwrap();
    let b = EpochSecrets::for_new_group(&s).unwrap();
    assert_ne!(a.epoch_authenticator(), b.epoch_authenticator());
    let same = EpochSecrets::from_epoch_secret(&s, Secret::new(vec![9; 32])).unwrap();
    let again = EpochSecrets::from_epoch_secret(&s, Secret::new(vec![9; 32])).unwrap();
    assert_eq!(same.resumption_psk(), again.resumption_psk());
}

#[test]
fn encryption_secret_is_handed_over_once() {
    let s = suite(1);
    let mut e = some_epoch(&s).epoch_secrets;
    let root = e.encryption_secret().cloned();
    assert_eq!(e.take_encryption_secret(), root);
    assert!(e.encryption_secret().is_none());
    assert!(e.take_encryption_secret().is_none());
}

#[test]
fn exporter_lengths() {
    for cs in SUITES {
        let s = suite(cs);
        let e = some_epoch(&s).epoch_secrets;
        let max = u16::try_from(255 * s.hash_len()).unwrap();
        for len in [0u16, 1, 16, 32, 64, max] {
            assert_eq!(e.export(&s, b"label", b"ctx", len).unwrap().len(), usize::from(len));
        }
        // HKDF cannot expand past 255 blocks.
        assert_eq!(e.export(&s, b"label", b"ctx", max + 1).unwrap_err(), Error::Crypto(CryptoError::InvalidLength));
        // The length is part of KDFLabel: a shorter export is not a prefix of a longer one.
        let short = e.export(&s, b"label", b"ctx", 16).unwrap();
        let long = e.export(&s, b"label", b"ctx", 32).unwrap();
        assert_ne!(short.as_bytes(), &long.as_bytes()[..16]);
    }
}

#[test]
fn exporter_binds_label_and_context() {
    let s = suite(1);
    let e = some_epoch(&s).epoch_secrets;
    let base = e.export(&s, b"label", b"ctx", 32).unwrap();
    assert_ne!(base, e.export(&s, b"label2", b"ctx", 32).unwrap());
    assert_ne!(base, e.export(&s, b"label", b"ctx2", 32).unwrap());
    // Labels are bytes and need not be UTF-8.
    assert_eq!(e.export(&s, &[0xff, 0x00, 0xfe], b"", 32).unwrap().len(), 32);
    assert_eq!(base, mls_exporter(&s, e.exporter_secret(), b"label", b"ctx", 32).unwrap());
}

#[test]
fn welcome_key_and_nonce_sizes() {
    for (cs, nk) in [(1u16, 16usize), (3, 32), (5, 32)] {
        let s = suite(cs);
        let (key, nonce) = some_epoch(&s).welcome_secret.key_and_nonce(&s).unwrap();
        assert_eq!((key.len(), nonce.len()), (nk, 12));
    }
}

#[test]
fn external_init_round_trip() {
    for cs in [1u16, 2, 3, 5, 7] {
        let s = suite(cs);
        let group = some_epoch(&s).epoch_secrets;
        let external_pub = group.external_pub(&s).unwrap();
        let (kem_output, joiner_init) = InitSecret::for_external_join(&s, external_pub.as_bytes()).unwrap();
        assert_eq!(joiner_init.as_secret().len(), s.hash_len());
        let pair = group.external_key_pair(&s).unwrap();
        let member_init = InitSecret::from_external_init(&s, &pair.private, &kem_output).unwrap();
        assert_eq!(joiner_init, member_init, "suite {cs}");
        // Each join is a fresh encapsulation.
        let (kem_output2, init2) = InitSecret::for_external_join(&s, external_pub.as_bytes()).unwrap();
        assert_ne!(kem_output, kem_output2);
        assert_ne!(joiner_init, init2);
    }
}

#[test]
fn external_init_rejects_garbage() {
    let s = suite(2);
    let group = some_epoch(&s).epoch_secrets;
    let pair = group.external_key_pair(&s).unwrap();
    assert!(InitSecret::from_external_init(&s, &pair.private, &[]).is_err());
    assert!(InitSecret::from_external_init(&s, &pair.private, &[4; 65]).is_err());
    assert!(InitSecret::for_external_join(&s, &[1, 2, 3]).is_err());
}

#[test]
fn secrets_do_not_print() {
    let s = suite(1);
    let d = some_epoch(&s);
    let printed = format!("{d:?}");
    let hex: String = d.epoch_secrets.epoch_authenticator().as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert!(!printed.contains(&hex));
    assert!(printed.contains("Secret(32 bytes)"));
}

#[test]
fn transcript_hashes_follow_section_8_2() {
    let s = suite(1);
    let interim_before = vec![0x11; 32];
    let input = b"wire_format || FramedContent || signature".to_vec();
    let confirmed = transcript::confirmed_transcript_hash(&s, &interim_before, &input);
    assert_eq!(confirmed, s.hash(&[interim_before.as_slice(), &input].concat()));

    let key = Secret::new(vec![0x22; 32]);
    let tag = confirmation_tag(&s, &key, &confirmed);
    assert_eq!(tag, s.mac(key.as_bytes(), &confirmed));

    // InterimTranscriptHashInput is the tag as opaque<V>: length prefix first.
    let interim = transcript::interim_transcript_hash(&s, &confirmed, &tag);
    let mut expected_input = confirmed.clone();
    tag.encode(&mut expected_input);
    assert_eq!(interim, s.hash(&expected_input));
    assert_eq!(expected_input.len(), 32 + 1 + 32);

    let before = TranscriptHashes::from_parts(vec![0x33; 32], interim_before.clone());
    assert_eq!(before.next_confirmed(&s, &[&input]), confirmed);
    let after = TranscriptHashes::new(&s, confirmed.clone(), &tag);
    assert_eq!(after.confirmed(), confirmed.as_slice());
    assert_eq!(after.interim(), interim.as_slice());
}

#[test]
fn first_epoch_transcript_is_over_the_empty_hash() {
    // §8.2: confirmed_transcript_hash_[0] is empty; the creator's interim
    // hash comes from the tag over it (§11).
    let s = suite(1);
    let epoch = EpochSecrets::for_new_group(&s).unwrap();
    let tag = confirmation_tag(&s, epoch.confirmation_key(), &[]);
    let hashes = TranscriptHashes::new(&s, Vec::new(), &tag);
    assert!(hashes.confirmed().is_empty());
    assert_eq!(hashes.interim().len(), 32);
    assert_ne!(TranscriptHashes::default(), hashes);
}

#[test]
fn confirmation_tag_verification() {
    let s = suite(7);
    let key = Secret::new(vec![5; 48]);
    let confirmed = vec![6; 48];
    let tag = confirmation_tag(&s, &key, &confirmed);
    assert_eq!(tag.len(), 48);
    verify_confirmation_tag(&s, &key, &confirmed, &tag).unwrap();
    let mut bad = tag.clone();
    bad[47] ^= 1;
    let fail = Error::Crypto(CryptoError::VerificationFailed);
    assert_eq!(verify_confirmation_tag(&s, &key, &confirmed, &bad).unwrap_err(), fail);
    assert_eq!(verify_confirmation_tag(&s, &key, &confirmed, &tag[..47]).unwrap_err(), fail);
    assert_eq!(verify_confirmation_tag(&s, &key, &confirmed, &[]).unwrap_err(), fail);
    let other_key = Secret::new(vec![4; 48]);
    assert_eq!(verify_confirmation_tag(&s, &other_key, &confirmed, &tag).unwrap_err(), fail);
}

#[test]
fn states_cross_threads() {
    // Types are Send + Sync so an embedder's pool can run them
    // (docs/ARCHITECTURE.md, performance design 4).
    fn send_sync<T: Send + Sync>() {}
    send_sync::<InitSecret>();
    send_sync::<JoinerSecret>();
    send_sync::<IntermediateSecret>();
    send_sync::<WelcomeSecret>();
    send_sync::<EpochSecrets>();
    send_sync::<PskSecret>();
    send_sync::<TranscriptHashes>();
}

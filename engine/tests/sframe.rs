//! SFrame (RFC 9605): every vector of Appendix C, round trips in every
//! suite, tampering, replay, malformed input, the MLS key ring (§5.2: KID
//! layout, lazy derivation, the retention window) on a real throng group,
//! and interop with the `sframe` crate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../kat/mod.rs"]
mod kat;

use std::sync::Arc;
use std::time::{Duration, Instant};

use throng::messages::{Add, MlsMessageBody, Proposal};
use throng::sframe::{
    Header, KidLayout, MlsKeyRing, MlsKeyRingConfig, SframeError, SframeKey, SframeReceiver, SframeSender, SframeSuite,
};
use throng::{
    CipherSuite, CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle, LeafIndex, Processed, PskStore,
};

fn vectors_file() -> std::path::PathBuf {
    kat::vectors_dir().join("sframe/test-vectors.json")
}

#[test]
fn every_vector_passes() {
    let json = std::fs::read_to_string(vectors_file()).unwrap();
    // Count the vector objects independently of the harness.
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let in_file: usize = value.as_object().unwrap().values().map(|list| list.as_array().unwrap().len()).sum();
    let groups: Vec<(String, usize)> = ["header", "aes_ctr_hmac", "aes_256_ctr_hmac", "sframe"]
        .iter()
        .map(|g| (g.to_string(), value[g].as_array().unwrap().len()))
        .collect();
    assert_eq!(in_file, 300);
    let outcome = kat::run_file(&vectors_file()).unwrap();
    println!("{}", outcome.summary());
    assert!(outcome.failed.is_empty(), "{:#?}", outcome.failed);
    assert!(outcome.skipped.is_empty(), "{:?}", outcome.skipped);
    assert_eq!(outcome.passed_total(), in_file);
    assert_eq!(outcome.groups, groups);
    assert_eq!(groups[0].1, 289);
}

/// The AES-256-CTR extension's full SFrame vectors (suites 6–8) are only
/// in `sframe-aes256-ctr-hmac.md`, not in the JSON: parse its blocks.
#[test]
fn aes256_ctr_extension_sframe_vectors_pass() {
    let md = std::fs::read_to_string(kat::vectors_dir().join("sframe/sframe-aes256-ctr-hmac.md")).unwrap();
    let mut cases = 0;
    for block in md.split("~~~ test-vectors").skip(1) {
        let block = block.split("~~~").next().unwrap();
        let mut fields = serde_json::Map::new();
        let mut last = String::new();
        for line in block.lines() {
            if line.trim().is_empty() {
                continue;
            }
            if line.starts_with(' ') {
                let v = fields.get_mut(&last).unwrap();
                *v = serde_json::Value::String(format!("{}{}", v.as_str().unwrap(), line.trim()));
                continue;
            }
            let (k, v) = line.split_once(':').unwrap();
            let v = v.trim();
            let value = match v.strip_prefix("0x") {
                Some(n) => serde_json::Value::from(u64::from_str_radix(n, 16).unwrap()),
                None => serde_json::Value::String(v.to_string()),
            };
            last = k.to_string();
            fields.insert(last.clone(), value);
        }
        let case: kat::sframe::SframeCase = serde_json::from_value(serde_json::Value::Object(fields)).unwrap();
        assert!((6..=8).contains(&case.cipher_suite));
        if let Err(kat::CaseError::Failed(e)) = kat::sframe::check_sframe(&case) {
            panic!("suite {}: {e}", case.cipher_suite);
        }
        cases += 1;
    }
    assert_eq!(cases, 3);
}

fn base_key(suite: SframeSuite, seed: u8) -> Vec<u8> {
    (0..suite.key_len()).map(|i| seed.wrapping_add(i as u8)).collect()
}

fn pair(suite: SframeSuite, kid: u64) -> (SframeSender, SframeReceiver) {
    let sender = SframeSender::new(SframeKey::derive(suite, kid, &base_key(suite, 7)).unwrap());
    let mut receiver = SframeReceiver::new(128, 1 << 20).unwrap();
    receiver.insert(SframeKey::derive(suite, kid, &base_key(suite, 7)).unwrap());
    (sender, receiver)
}

#[test]
fn round_trips_in_every_suite() {
    let long_metadata = vec![0x4d; 300];
    for suite in SframeSuite::ALL {
        for kid in [0u64, 7, 8, 0x1234, u64::MAX] {
            let (mut sender, mut receiver) = pair(suite, kid);
            for (len, metadata) in [(0, &b""[..]), (1, b"m"), (100, b""), (1200, b"rtp"), (70_000, &long_metadata[..])]
            {
                let pt: Vec<u8> = (0..len).map(|i| (i * 31) as u8).collect();
                let ct = sender.encrypt(&pt, metadata).unwrap();
                let (header, _) = Header::decode(&ct).unwrap();
                assert_eq!(ct.len(), header.encoded_len() + len + suite.tag_len());
                let (got_header, got) = receiver.decrypt(&ct, metadata).unwrap();
                assert_eq!((got_header, got), (header, pt.clone()), "{suite} kid {kid} len {len}");
                // In place, with a fresh receiver (the first one saw this counter).
                let (_, mut r2) = pair(suite, kid);
                let mut buf = ct.clone();
                let (_, range) = r2.decrypt_in_place(&mut buf, metadata).unwrap();
                assert_eq!(&buf[range], &pt[..]);
            }
        }
    }
}

#[test]
fn any_flipped_bit_is_refused() {
    for suite in SframeSuite::ALL {
        let (mut sender, _) = pair(suite, 0x1234);
        let metadata = b"frame metadata".to_vec();
        sender.advance_counter_to(0x5678).unwrap();
        let ct = sender.encrypt(b"a short audio frame", &metadata).unwrap();
        let header_len = Header::decode(&ct).unwrap().1;
        for i in 0..ct.len() * 8 {
            let mut bad = ct.clone();
            bad[i / 8] ^= 1 << (i % 8);
            let (_, mut receiver) = pair(suite, 0x1234);
            let err = receiver.decrypt(&bad, &metadata).unwrap_err();
            assert!(err.is_peer_fault(), "{err:?}");
            if i / 8 >= header_len {
                // Ciphertext or tag.
                assert_eq!(err, SframeError::Authentication, "{suite} bit {i}");
            } else {
                assert!(
                    matches!(
                        err,
                        SframeError::Authentication
                            | SframeError::UnknownKeyId(_)
                            | SframeError::HeaderNotMinimal
                            | SframeError::HeaderTruncated
                            | SframeError::FrameTooShort
                    ),
                    "{suite} header bit {i}: {err:?}"
                );
            }
        }
        for i in 0..metadata.len() * 8 {
            let mut bad = metadata.clone();
            bad[i / 8] ^= 1 << (i % 8);
            let (_, mut receiver) = pair(suite, 0x1234);
            assert_eq!(receiver.decrypt(&ct, &bad), Err(SframeError::Authentication), "{suite} metadata bit {i}");
        }
        let (_, mut receiver) = pair(suite, 0x1234);
        assert_eq!(receiver.decrypt(&ct, b""), Err(SframeError::Authentication), "metadata dropped");
        assert!(receiver.decrypt(&ct, &metadata).is_ok(), "a refused frame must not poison the window");
    }
}

#[test]
fn replays_are_refused() {
    let suite = SframeSuite::AesCtr128HmacSha256_80;
    let (mut sender, mut receiver) = pair(suite, 3);
    let frames: Vec<Vec<u8>> = (0..300).map(|i| sender.encrypt(&[i as u8; 20], b"").unwrap()).collect();
    // In order, then out of order within the window.
    receiver.decrypt(&frames[0], b"").unwrap();
    assert_eq!(receiver.decrypt(&frames[0], b""), Err(SframeError::Replayed { kid: 3, ctr: 0 }));
    receiver.decrypt(&frames[200], b"").unwrap();
    receiver.decrypt(&frames[150], b"").unwrap();
    assert_eq!(receiver.decrypt(&frames[150], b""), Err(SframeError::Replayed { kid: 3, ctr: 150 }));
    // 200 - 128: counters up to 72 are behind the window.
    assert_eq!(receiver.decrypt(&frames[72], b""), Err(SframeError::CounterTooOld { kid: 3, ctr: 72 }));
    receiver.decrypt(&frames[73], b"").unwrap();
    // A forged frame with a far-ahead counter does not move the window.
    let mut forged = SframeSender::new(SframeKey::derive(suite, 3, &base_key(suite, 99)).unwrap());
    forged.advance_counter_to(1_000_000).unwrap();
    let f = forged.encrypt(b"x", b"").unwrap();
    assert_eq!(receiver.decrypt(&f, b""), Err(SframeError::Authentication));
    receiver.decrypt(&frames[100], b"").unwrap();
}

#[test]
fn counters_are_monotonic_and_exhaust() {
    let suite = SframeSuite::AesGcm128Sha256;
    let (mut sender, mut receiver) = pair(suite, 1);
    assert_eq!(sender.next_counter(), Some(0));
    sender.encrypt(b"a", b"").unwrap();
    assert_eq!(sender.advance_counter_to(0), Err(SframeError::InvalidArgument("an SFrame counter only moves forward")));
    sender.advance_counter_to(u64::MAX).unwrap();
    let last = sender.encrypt(b"last", b"").unwrap();
    assert_eq!(Header::decode(&last).unwrap().0.ctr, u64::MAX);
    assert_eq!(receiver.decrypt(&last, b"").unwrap().1, b"last");
    assert_eq!(sender.next_counter(), None);
    assert_eq!(sender.encrypt(b"more", b""), Err(SframeError::CounterExhausted { kid: 1 }));
}

#[test]
fn malformed_frames_get_typed_errors() {
    let suite = SframeSuite::AesGcm256Sha512;
    let (_, mut receiver) = pair(suite, 9);
    assert_eq!(receiver.decrypt(&[], b""), Err(SframeError::HeaderTruncated));
    // KID 5 in the extended form, and KID 0x10 with a leading zero byte.
    assert_eq!(Header::decode(&[0x80, 0x05]), Err(SframeError::HeaderNotMinimal));
    assert_eq!(Header::decode(&[0x90, 0x00, 0x10]), Err(SframeError::HeaderNotMinimal));
    assert_eq!(Header::decode(&[0x08, 0x03]), Err(SframeError::HeaderNotMinimal));
    // Config byte announces an 8-byte KID, 3 present.
    assert_eq!(Header::decode(&[0xf0, 1, 2, 3]), Err(SframeError::HeaderTruncated));
    // A header and fewer bytes than the tag.
    assert_eq!(receiver.decrypt(&[0x80, 0x09, 1, 2, 3], b""), Err(SframeError::FrameTooShort));
    assert_eq!(receiver.decrypt(&[0x10, 1, 2, 3], b""), Err(SframeError::UnknownKeyId(1)));
    let mut small = SframeReceiver::new(64, 100).unwrap();
    assert_eq!(small.decrypt(&[0u8; 101], b""), Err(SframeError::FrameTooLong { len: 101, max: 100 }));
    assert!(SframeReceiver::new(100, 100).is_err());
    assert_eq!(SframeSuite::from_id(9), Err(SframeError::UnsupportedSuite(9)));
    assert_eq!(
        SframeKey::from_key_salt(suite, 0, &[0; 31], &[0; 12]).err(),
        Some(SframeError::KeyLength { expected: 32, got: 31 })
    );
    assert_eq!(
        SframeKey::from_key_salt(suite, 0, &[0; 32], &[0; 11]).err(),
        Some(SframeError::KeyLength { expected: 12, got: 11 })
    );
    // Pseudo-random bytes never panic, whatever the receiver holds.
    let mut ring = ring_with_epoch(ring_config(SframeSuite::AesCtr128HmacSha256_32), 1, 5);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for len in 0..2000usize {
        let bytes: Vec<u8> = (0..len % 64)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert!(receiver.decrypt(&bytes, b"").is_err());
        assert!(ring.decrypt(&bytes, b"").is_err());
    }
}

fn ring_config(suite: SframeSuite) -> MlsKeyRingConfig {
    MlsKeyRingConfig {
        suite,
        layout: KidLayout::new(4, 14).unwrap(),
        retained_epochs: 2,
        retention_time: None,
        ..MlsKeyRingConfig::default()
    }
}

fn exporter(suite: SframeSuite, epoch: u64) -> Vec<u8> {
    base_key(suite, epoch as u8 ^ 0x5a)
}

fn ring_with_epoch(config: MlsKeyRingConfig, leaf: u32, epoch: u64) -> MlsKeyRing {
    let suite = config.suite;
    let mut ring = MlsKeyRing::new(config, LeafIndex(leaf)).unwrap();
    ring.enter_epoch(epoch, &exporter(suite, epoch)).unwrap();
    ring
}

#[test]
fn kid_layout_follows_rfc_9605_figure() {
    // RFC 9605 §5.2, the example sequence (E = 4, S = 6).
    let l = KidLayout::new(4, 6).unwrap();
    for (epoch, index, context, kid) in
        [(14, 3, 0, 0x3e), (14, 7, 0, 0x7e), (14, 20, 0, 0x14e), (15, 3, 0, 0x3f), (15, 5, 0, 0x5f)]
            .into_iter()
            .chain([(16, 2, 2, 0x820), (16, 2, 3, 0xc20), (17, 33, 0, 0x211), (17, 51, 0, 0x331)])
    {
        assert_eq!(l.kid(epoch, LeafIndex(index), context), Ok(kid));
        let f = l.split(kid);
        assert_eq!((f.epoch_bits, f.sender, f.context), (epoch % 16, u64::from(index), context));
    }
    assert_eq!(l.context_bits(), 54);
    assert_eq!(
        l.kid(0, LeafIndex(64), 0),
        Err(SframeError::KidLayout("the sender's leaf index does not fit in S bits"))
    );
    assert!(l.kid(0, LeafIndex(63), (1 << 54) - 1).is_ok());
    assert_eq!(
        l.kid(0, LeafIndex(63), 1 << 54),
        Err(SframeError::KidLayout("the context does not fit in 64 - S - E bits"))
    );
    assert!(KidLayout::new(40, 25).is_err());
    // E + S = 64 leaves no context; E = 64 takes the whole KID.
    let full = KidLayout::new(32, 32).unwrap();
    assert_eq!(full.kid(7, LeafIndex(u32::MAX), 0), Ok((u64::from(u32::MAX) << 32) | 7));
    assert!(full.kid(7, LeafIndex(1), 1).is_err());
    let epoch_only = KidLayout::new(64, 0).unwrap();
    assert_eq!(epoch_only.kid(u64::MAX, LeafIndex(0), 0), Ok(u64::MAX));
    assert!(epoch_only.kid(1, LeafIndex(1), 0).is_err());
    assert_eq!(KidLayout::sender_bits_for(1), 0);
    assert_eq!(KidLayout::sender_bits_for(2), 1);
    assert_eq!(KidLayout::sender_bits_for(64), 6);
    assert_eq!(KidLayout::sender_bits_for(65), 7);
    assert_eq!(KidLayout::sender_bits_for(10_000), 14);
    // The configuration must keep fewer epochs than E bits tell apart, and
    // the member's own leaf must fit.
    let bad = MlsKeyRingConfig { retained_epochs: 16, ..ring_config(SframeSuite::AesGcm128Sha256) };
    assert!(MlsKeyRing::new(bad, LeafIndex(0)).is_err());
    assert!(MlsKeyRing::new(ring_config(SframeSuite::AesGcm128Sha256), LeafIndex(1 << 14)).is_err());
}

#[test]
fn key_ring_round_trip_lazy_and_own_key() {
    for suite in SframeSuite::ALL {
        let config = ring_config(suite);
        let mut alice = ring_with_epoch(config.clone(), 0, 5);
        let mut bob = ring_with_epoch(config.clone(), 9_999, 5);
        // Entering an epoch derives nothing, whatever the group's size.
        assert_eq!((alice.derived_keys(), bob.derived_keys()), (0, 0));
        let ct = alice.encrypt(b"hello", b"md").unwrap();
        assert_eq!(alice.derived_keys(), 1);
        let got = bob.decrypt(&ct, b"md").unwrap();
        assert_eq!(got.plaintext, b"hello");
        assert_eq!((got.source.sender, got.source.epoch, got.source.context), (LeafIndex(0), 5, 0));
        assert_eq!(bob.derived_keys(), 1);
        // The second frame of the sender uses the key derived for the first.
        let ct2 = alice.encrypt(b"again", b"").unwrap();
        bob.decrypt(&ct2, b"").unwrap();
        assert_eq!(bob.derived_keys(), 1);
        // A member never decrypts under its own sending key (§4.4.1).
        assert_eq!(alice.decrypt(&ct, b"md"), Err(SframeError::OwnKeyId(alice.own_kid(0).unwrap())));
        // Contexts are separate KIDs, keys and counters.
        let mut out = Vec::new();
        let ctr = alice.encrypt_into(3, b"screen share", b"", &mut out).unwrap();
        assert_eq!(ctr, 0);
        let got = bob.decrypt(&out, b"").unwrap();
        assert_eq!((got.source.context, got.plaintext.as_slice()), (3, &b"screen share"[..]));
        assert_eq!(bob.derived_keys(), 2);
        assert_eq!(bob.decrypt(&out, b""), Err(SframeError::Replayed { kid: got.source.header.kid, ctr: 0 }));
        // A forged frame from a sender not heard from costs a derivation and
        // leaves no key behind.
        let mut mallory = ring_with_epoch(config.clone(), 77, 5);
        let held = bob.held_keys();
        mallory.enter_epoch(6, &base_key(suite, 1)).unwrap();
        let mut forged = alice.encrypt(b"x", b"").unwrap();
        let last = forged.len() - 1;
        forged[last] ^= 0x80;
        assert_eq!(bob.decrypt(&forged, b""), Err(SframeError::Authentication));
        assert_eq!(bob.held_keys(), held);
    }
}

#[test]
fn entering_an_epoch_of_a_10000_member_meeting_derives_nothing() {
    let config = MlsKeyRingConfig { layout: KidLayout::new(4, 14).unwrap(), ..MlsKeyRingConfig::default() };
    let suite = config.suite;
    let mut receiver = MlsKeyRing::new(config.clone(), LeafIndex(0)).unwrap();
    let mut senders: Vec<MlsKeyRing> =
        [1u32, 4_321, 9_999].iter().map(|&l| MlsKeyRing::new(config.clone(), LeafIndex(l)).unwrap()).collect();
    for epoch in 1..=50u64 {
        let before = receiver.derived_keys();
        receiver.enter_epoch(epoch, &exporter(suite, epoch)).unwrap();
        assert_eq!(receiver.derived_keys(), before, "entering epoch {epoch} derived keys");
        for s in &mut senders {
            s.enter_epoch(epoch, &exporter(suite, epoch)).unwrap();
            let ct = s.encrypt(&[0u8; 100], b"").unwrap();
            receiver.decrypt(&ct, b"").unwrap();
        }
        // One key per sender heard from, not per member.
        assert_eq!(receiver.derived_keys(), before + 3);
    }
    // The current epoch and 3 retained ones, 3 senders each.
    assert_eq!(receiver.held_epochs().collect::<Vec<_>>(), vec![47, 48, 49, 50]);
    assert_eq!(receiver.held_keys(), 12);
}

#[test]
fn retained_epochs_decrypt_and_expire_by_count() {
    let suite = SframeSuite::AesGcm128Sha256;
    let config = ring_config(suite); // retained_epochs: 2
    let mut alice = ring_with_epoch(config.clone(), 1, 10);
    let mut bob = ring_with_epoch(config.clone(), 2, 10);
    let mut in_flight = Vec::new();
    let late_frame = alice.encrypt(b"late", b"").unwrap();
    for epoch in 10..=13u64 {
        if epoch > 10 {
            alice.enter_epoch(epoch, &exporter(suite, epoch)).unwrap();
        }
        in_flight.push((epoch, alice.encrypt(format!("frame of {epoch}").as_bytes(), b"").unwrap()));
    }
    // Bob moved to 12 before anything arrived: 10, 11 (retained) and 12 decrypt.
    bob.enter_epoch(11, &exporter(suite, 11)).unwrap();
    bob.enter_epoch(12, &exporter(suite, 12)).unwrap();
    for (epoch, ct) in &in_flight[..3] {
        let got = bob.decrypt(ct, b"").unwrap();
        assert_eq!((got.source.epoch, got.plaintext), (*epoch, format!("frame of {epoch}").into_bytes()));
    }
    // The future epoch 13 is unknown (a caller may buffer it, §4.4.4).
    assert_eq!(bob.decrypt(&in_flight[3].1, b""), Err(SframeError::UnknownEpoch { epoch_bits: 13 }));
    bob.enter_epoch(13, &exporter(suite, 13)).unwrap();
    bob.decrypt(&in_flight[3].1, b"").unwrap();
    // Epoch 10 is now one past the window (13 - 2 = 11): its keys are gone.
    assert_eq!(bob.held_epochs().collect::<Vec<_>>(), vec![11, 12, 13]);
    assert_eq!(bob.decrypt(&late_frame, b""), Err(SframeError::EpochExpired { epoch: 10 }));
    // Epoch 11 is the oldest still held.
    let mut e11 = ring_with_epoch(config.clone(), 3, 11);
    assert_eq!(bob.decrypt(&e11.encrypt(b"still fine", b"").unwrap(), b"").unwrap().source.epoch, 11);
}

#[test]
fn retained_epochs_expire_by_time() {
    let suite = SframeSuite::AesCtr128HmacSha256_64;
    let config = MlsKeyRingConfig { retention_time: Some(Duration::from_secs(5)), ..ring_config(suite) };
    let mut alice = ring_with_epoch(config.clone(), 1, 1);
    let mut bob = ring_with_epoch(config.clone(), 2, 1);
    let old = alice.encrypt(b"sent in epoch 1", b"").unwrap();
    let old2 = alice.encrypt(b"also epoch 1", b"").unwrap();
    let t0 = Instant::now();
    bob.enter_epoch_at(2, &exporter(suite, 2), t0).unwrap();
    // Within the 5 s: epoch 1 still decrypts.
    assert_eq!(bob.decrypt(&old, b"").unwrap().plaintext, b"sent in epoch 1");
    bob.prune(t0 + Duration::from_secs(4));
    assert_eq!(bob.held_epochs().collect::<Vec<_>>(), vec![1, 2]);
    // Past them: dropped, though the count (2) would still keep it.
    bob.prune(t0 + Duration::from_secs(6));
    assert_eq!(bob.held_epochs().collect::<Vec<_>>(), vec![2]);
    assert_eq!(bob.held_keys(), 0);
    assert_eq!(bob.decrypt(&old2, b""), Err(SframeError::EpochExpired { epoch: 1 }));

    // Decryption itself drops an epoch whose time is up, without a prune.
    let config = MlsKeyRingConfig { retention_time: Some(Duration::from_millis(30)), ..ring_config(suite) };
    let mut alice = ring_with_epoch(config.clone(), 1, 1);
    let mut carol = ring_with_epoch(config.clone(), 3, 1);
    let (a, b) = (alice.encrypt(b"1", b"").unwrap(), alice.encrypt(b"2", b"").unwrap());
    carol.enter_epoch(2, &exporter(suite, 2)).unwrap();
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(carol.held_epochs().count(), 2);
    assert_eq!(carol.decrypt(&a, b""), Err(SframeError::EpochExpired { epoch: 1 }));
    assert_eq!(carol.held_epochs().collect::<Vec<_>>(), vec![2]);
    assert_eq!(carol.decrypt(&b, b""), Err(SframeError::EpochExpired { epoch: 1 }));
}

#[test]
fn retention_off_keeps_only_the_current_epoch() {
    let suite = SframeSuite::AesGcm256Sha512;
    let config = MlsKeyRingConfig { retained_epochs: 0, retention_time: None, ..ring_config(suite) };
    let mut alice = ring_with_epoch(config.clone(), 1, 1);
    let mut bob = ring_with_epoch(config.clone(), 2, 1);
    let old = alice.encrypt(b"in flight", b"").unwrap();
    bob.enter_epoch(2, &exporter(suite, 2)).unwrap();
    assert_eq!(bob.decrypt(&old, b""), Err(SframeError::EpochExpired { epoch: 1 }));
    assert_eq!(bob.enter_epoch(2, &exporter(suite, 2)), Err(SframeError::EpochNotNewer { current: 2, given: 2 }));
    assert_eq!(bob.enter_epoch(3, &[0; 3]), Err(SframeError::KeyLength { expected: suite.key_len(), got: 3 }));
    let mut fresh = MlsKeyRing::new(config, LeafIndex(0)).unwrap();
    assert_eq!(fresh.encrypt(b"x", b""), Err(SframeError::NoEpoch));
}

#[test]
fn too_many_keys_per_epoch_are_refused() {
    let suite = SframeSuite::AesGcm128Sha256;
    let config = MlsKeyRingConfig { max_keys_per_epoch: 2, ..ring_config(suite) };
    let mut bob = ring_with_epoch(config.clone(), 0, 1);
    for leaf in 1..=3u32 {
        let mut s = ring_with_epoch(config.clone(), leaf, 1);
        let got = bob.decrypt(&s.encrypt(b"x", b"").unwrap(), b"");
        if leaf <= 2 {
            got.unwrap();
        } else {
            assert_eq!(got, Err(SframeError::TooManyKeys { max: 2 }));
        }
    }
}

/// A two-member throng group (alice at leaf 0, bob at leaf 1).
fn two_member_group() -> (Group, Group) {
    let cs = CipherSuite(1);
    let provider = throng::default_provider();
    let alice_id = Identity::basic(provider, cs, "alice").unwrap();
    let mut alice = Group::create(cs, &alice_id, b"sframe-room".to_vec(), vec![], GroupConfig::default()).unwrap();
    let bob_kp = KeyPackageBundle::generate(provider, cs, &Identity::basic(provider, cs, "bob").unwrap()).unwrap();
    let pending = alice
        .commit(CommitOptions::with_proposals(vec![Proposal::Add(Add { key_package: bob_kp.key_package.clone() })]))
        .unwrap();
    let welcome = pending.welcome.clone().unwrap();
    alice.merge_pending_commit(pending).unwrap();
    let MlsMessageBody::Welcome(welcome) = welcome.body else { unreachable!() };
    let bob =
        Group::join(Arc::new(*provider), GroupConfig::default(), &welcome, &bob_kp, None, PskStore::default()).unwrap();
    (alice, bob)
}

/// alice commits (a path update); bob processes it; both move one epoch on.
fn advance(alice: &mut Group, bob: &mut Group) {
    let pending = alice.commit(CommitOptions::default()).unwrap();
    let message = pending.message.clone();
    alice.merge_pending_commit(pending).unwrap();
    let Processed::Commit(staged) = bob.process_message(message).unwrap() else { panic!("not a commit") };
    bob.merge_staged_commit(*staged).unwrap();
}

#[test]
fn keyed_from_a_throng_group_across_epoch_changes() {
    let (mut alice, mut bob) = two_member_group();
    let config = MlsKeyRingConfig { layout: KidLayout::new(4, 4).unwrap(), ..MlsKeyRingConfig::default() };
    let mut alice_ring = MlsKeyRing::for_group(config.clone(), &alice).unwrap();
    let mut bob_ring = MlsKeyRing::for_group(config, &bob).unwrap();
    let start = alice.epoch();
    let mut in_flight = Vec::new();
    for _ in 0..4 {
        in_flight.push((alice.epoch(), alice_ring.encrypt(b"audio", b"").unwrap()));
        in_flight.push((bob.epoch(), bob_ring.encrypt(b"video", b"").unwrap()));
        advance(&mut alice, &mut bob);
        alice_ring.enter_group_epoch(&alice).unwrap();
        bob_ring.enter_group_epoch(&bob).unwrap();
        // Entering the same epoch twice is a no-op.
        bob_ring.enter_group_epoch(&bob).unwrap();
    }
    assert_eq!(alice.epoch(), start + 4);
    // Default window: the current epoch and 3 before it. The first
    // epoch's frames are one past it.
    for (epoch, ct) in &in_flight {
        let (ring, from) = if in_flight.iter().position(|(_, c)| c == ct).unwrap() % 2 == 0 {
            (&mut bob_ring, 0)
        } else {
            (&mut alice_ring, 1)
        };
        let got = ring.decrypt(ct, b"");
        if *epoch == start {
            assert_eq!(got, Err(SframeError::EpochExpired { epoch: start }));
        } else {
            let got = got.unwrap();
            assert_eq!((got.source.sender, got.source.epoch), (LeafIndex(from), *epoch));
        }
    }
    // The current epoch, both ways.
    let ct = alice_ring.encrypt(b"now", b"").unwrap();
    assert_eq!(bob_ring.decrypt(&ct, b"").unwrap().plaintext, b"now");
    // The ring's key is the group's exporter output (§5.2).
    let base = alice.export_secret(throng::sframe::EXPORTER_LABEL, b"", 16).unwrap();
    let kid = alice_ring.own_kid(0).unwrap();
    let mut r = SframeReceiver::new(64, 1 << 20).unwrap();
    r.insert(SframeKey::derive(SframeSuite::AesGcm128Sha256, kid, base.as_bytes()).unwrap());
    assert_eq!(r.decrypt(&ct, b"").unwrap().1, b"now");
}

mod interop {
    //! Frames from throng open with the `sframe` crate (2.1, RustCrypto
    //! backend) and the reverse, for every suite both implement (1–5), with
    //! the same key material: a base key per KID, and the MLS exporter.
    use super::*;
    use sframe::frame::{EncryptedFrame, EncryptedFrameView, MediaFrameView, MonotonicCounter};
    use sframe::key::{DecryptionKey, EncryptionKey};
    use sframe::mls::{MlsExporter, MlsKeyId, MlsKeyIdBitRange};

    fn peer_suite(suite: SframeSuite) -> sframe::CipherSuite {
        match suite {
            SframeSuite::AesCtr128HmacSha256_80 => sframe::CipherSuite::AesCtr128HmacSha256_80,
            SframeSuite::AesCtr128HmacSha256_64 => sframe::CipherSuite::AesCtr128HmacSha256_64,
            SframeSuite::AesCtr128HmacSha256_32 => sframe::CipherSuite::AesCtr128HmacSha256_32,
            SframeSuite::AesGcm128Sha256 => sframe::CipherSuite::AesGcm128Sha256,
            SframeSuite::AesGcm256Sha512 => sframe::CipherSuite::AesGcm256Sha512,
            other => panic!("the sframe crate has no suite {other}"),
        }
    }

    /// The suites both implement: RFC 9605's five.
    fn shared_suites() -> impl Iterator<Item = SframeSuite> {
        SframeSuite::ALL.into_iter().filter(|s| s.id() <= 5)
    }

    #[test]
    fn frames_cross_both_ways_in_every_shared_suite() {
        for suite in shared_suites() {
            let base = base_key(suite, 0x21);
            for (kid, len, metadata) in
                [(0u64, 0usize, &b""[..]), (7, 100, b"meta"), (0x0123, 1200, b""), (u64::MAX, 5000, b"x")]
            {
                let pt: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
                // throng -> sframe crate, several counters.
                let mut sender = SframeSender::new(SframeKey::derive(suite, kid, &base).unwrap());
                sender.advance_counter_to(250).unwrap();
                let peer_key = DecryptionKey::derive_from(peer_suite(suite), kid, &base).unwrap();
                for _ in 0..3 {
                    let ct = sender.encrypt(&pt, metadata).unwrap();
                    let view = EncryptedFrameView::try_with_meta_data(&ct, metadata).unwrap();
                    assert_eq!(view.header().key_id(), kid);
                    let opened = view.decrypt(&peer_key).unwrap();
                    assert_eq!(opened.payload(), &pt[..], "{suite} kid {kid} len {len}");
                }
                // sframe crate -> throng.
                let peer_enc = EncryptionKey::derive_from(peer_suite(suite), kid, &base).unwrap();
                let mut counter = MonotonicCounter::with_start_value(1_000_000, u64::MAX);
                let mut receiver = SframeReceiver::new(128, 1 << 20).unwrap();
                receiver.insert(SframeKey::derive(suite, kid, &base).unwrap());
                for _ in 0..3 {
                    let frame = MediaFrameView::try_with_meta_data(&mut counter, &pt, metadata).unwrap();
                    let encrypted = frame.encrypt(&peer_enc).unwrap();
                    let (header, got) = receiver.decrypt(encrypted.sframe_cipher_text(), metadata).unwrap();
                    assert_eq!((header.kid, got), (kid, pt.clone()), "{suite} kid {kid} len {len}");
                    // The header bytes are the same as throng writes.
                    let ours = Header::new(kid, header.ctr).encode();
                    assert_eq!(&encrypted.sframe_cipher_text()[..ours.as_bytes().len()], ours.as_bytes());
                }
                // A frame the crate refuses, throng refuses too.
                let mut tampered = sender.encrypt(&pt, metadata).unwrap();
                let last = tampered.len() - 1;
                tampered[last] ^= 1;
                let tampered_frame = EncryptedFrame::try_with_meta_data(tampered, metadata).unwrap();
                assert!(tampered_frame.decrypt(&peer_key).is_err());
            }
        }
    }

    struct GroupExporter<'g>(&'g Group);

    impl MlsExporter for GroupExporter<'_> {
        type BaseKey = Vec<u8>;
        type Error = throng::Error;
        fn export_secret(&self, label: &str, context: &[u8], key_length: usize) -> Result<Vec<u8>, throng::Error> {
            Ok(self.0.export_secret(label, context, key_length as u16)?.as_bytes().to_vec())
        }
    }

    #[test]
    fn mls_keyed_frames_cross_both_ways() {
        let (mut alice, mut bob) = two_member_group();
        advance(&mut alice, &mut bob);
        for suite in shared_suites() {
            let (e, s) = (4u8, 6u8);
            let config =
                MlsKeyRingConfig { suite, layout: KidLayout::new(e, s).unwrap(), ..MlsKeyRingConfig::default() };
            let bits = MlsKeyIdBitRange::new(e, s);
            let mut alice_ring = MlsKeyRing::for_group(config.clone(), &alice).unwrap();
            let mut bob_ring = MlsKeyRing::for_group(config, &bob).unwrap();
            // throng (alice, leaf 0, context 2) -> the crate, as bob.
            let mut out = Vec::new();
            alice_ring.encrypt_into(2, b"from throng", b"md", &mut out).unwrap();
            let kid = MlsKeyId::try_new(2u64, alice.epoch(), 0u64, bits).unwrap();
            assert_eq!(u64::from(kid), alice_ring.own_kid(2).unwrap());
            let key = DecryptionKey::derive_from_mls(peer_suite(suite), &GroupExporter(&bob), kid).unwrap();
            let opened = EncryptedFrameView::try_with_meta_data(&out, b"md").unwrap().decrypt(&key).unwrap();
            assert_eq!(opened.payload(), b"from throng");
            // The crate, as alice -> throng (bob).
            let key = EncryptionKey::derive_from_mls(peer_suite(suite), &GroupExporter(&alice), kid).unwrap();
            let mut counter = MonotonicCounter::with_start_value(40, u64::MAX);
            let frame = MediaFrameView::try_with_meta_data(&mut counter, b"from the crate", b"md").unwrap();
            let encrypted = frame.encrypt(&key).unwrap();
            let got = bob_ring.decrypt(encrypted.sframe_cipher_text(), b"md").unwrap();
            assert_eq!(
                (got.source.sender, got.source.context, got.source.epoch, got.plaintext.as_slice()),
                (LeafIndex(0), 2, alice.epoch(), &b"from the crate"[..])
            );
        }
    }
}

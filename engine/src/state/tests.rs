//! The parser behind the digest: damaged bodies with a recomputed digest
//! (what a bug, not a disk, would produce) are errors or, where no check
//! can tell, another valid state; never a panic. The public part, which
//! the tree hash and the transcript bind, never imports damaged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use super::*;
use crate::codec::Encode;
use crate::crypto::{AwsLcProvider, CipherSuite, Secret};
use crate::group::{CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle, Processed, PskStore};
use crate::messages::content::MlsMessageBody;
use crate::messages::{Add, Proposal};

fn provider() -> Arc<dyn CryptoProvider> {
    Arc::new(AwsLcProvider)
}

/// Bob, mid-session: parent keys, out-of-order keys kept, a cached
/// proposal with its pending leaf key, an external PSK.
fn sample() -> Group {
    let cs = CipherSuite(1);
    let p = provider();
    let alice_id = Identity::basic(&*p, cs, "alice").unwrap();
    let mut alice = Group::create(cs, &alice_id, b"g".to_vec(), vec![], GroupConfig::default()).unwrap();
    let bundles: Vec<KeyPackageBundle> = ["bob", "carol"]
        .iter()
        .map(|n| KeyPackageBundle::generate(&*p, cs, &Identity::basic(&*p, cs, *n).unwrap()).unwrap())
        .collect();
    let adds = bundles.iter().map(|b| Proposal::Add(Add { key_package: b.key_package.clone() })).collect();
    let pending = alice.commit(CommitOptions::with_proposals(adds)).unwrap();
    let MlsMessageBody::Welcome(welcome) = &pending.welcome.as_ref().unwrap().body else { panic!("not a Welcome") };
    let welcome = welcome.clone();
    alice.merge_pending_commit(pending).unwrap();
    let mut bob =
        Group::join(p.clone(), GroupConfig::default(), &welcome, &bundles[0], None, PskStore::default()).unwrap();
    let messages: Vec<_> = (0..4).map(|_| alice.encrypt_application(b"m", vec![]).unwrap()).collect();
    assert!(matches!(bob.process_message(messages[3].clone()).unwrap(), Processed::Application { .. }));
    bob.propose_update().unwrap();
    bob.psk_store_mut().insert(b"psk".to_vec(), Secret::new(vec![9; 32]));
    bob
}

/// Replaces the digest of `sealed_body` (header and body, no digest).
fn reseal(sealed_body: &[u8]) -> Vec<u8> {
    let suite = Suite::new(crate::crypto::default_provider(), CipherSuite(1)).unwrap();
    let mut out = sealed_body.to_vec();
    seal(&mut out, &suite);
    out
}

fn import(bytes: &[u8]) -> Result<Group, Error> {
    Group::import(bytes, provider(), GroupConfig::default())
}

#[test]
fn export_is_deterministic_and_sealed() {
    let bob = sample();
    let a = bob.export().unwrap();
    let b = bob.export().unwrap();
    assert_eq!(*a, *b);
    let body = &a[..a.len() - 32];
    assert_eq!(reseal(body), *a);
    assert!(import(&a).is_ok());
}

#[test]
fn secret_part_fits_its_reservation() {
    // Export reserves the secret part up front; were the bound too small,
    // the buffer would reallocate and leave secrets behind in freed memory.
    let bob = sample();
    let bytes = bob.export().unwrap();
    let mut public = Vec::new();
    crate::state::member::encode_public_part(&mut public, &bob.public);
    public.push(1);
    bob.identity.credential.encode(&mut public);
    bob.identity.signer.public.encode(&mut public);
    let secret_len = bytes.len() - HEADER_LEN - public.len() - 32;
    assert!(bob.pending_leaf_keys.len() == 1 && bob.psks.len() == 1 && bob.secret_tree.stored_skipped_keys() == 3);
    assert!(secret_len <= bob.secret_part_bound(), "{secret_len} > {}", bob.secret_part_bound());
}

#[test]
fn resealed_truncations_are_errors() {
    let bytes = sample().export().unwrap();
    let body = &bytes[..bytes.len() - 32];
    for cut in HEADER_LEN..body.len() {
        match import(&reseal(&body[..cut])) {
            Err(Error::State(StateError::Corrupt(_) | StateError::Inconsistent(_))) => {}
            other => panic!("truncation to {cut} bytes: {:?}", other.map(|_| "a group")),
        }
    }
    // A trailing byte is refused too.
    let mut longer = body.to_vec();
    longer.push(0);
    assert!(matches!(import(&reseal(&longer)), Err(Error::State(StateError::Corrupt(_)))));
}

#[test]
fn resealed_flips_never_panic_and_the_public_part_is_bound() {
    let bob = sample();
    let bytes = bob.export().unwrap();
    let body_end = bytes.len() - 32;
    // The public part: context, tree, transcript hashes and tag, which the
    // tree hash, the transcript check and the confirmation tag bind.
    let mut public = Vec::new();
    bob.context().encode(&mut public);
    bob.tree().encode_state(&mut public);
    crate::codec::write_bytes(&mut public, bob.public.transcript.confirmed());
    crate::codec::write_bytes(&mut public, bob.public.transcript.interim());
    crate::codec::write_bytes(&mut public, &bob.public.confirmation_tag);
    assert_eq!(&bytes[HEADER_LEN..HEADER_LEN + public.len()], public.as_slice());
    // Inside the GroupContext only tree_hash and confirmed_transcript_hash
    // are bound (the key schedule binds the rest, which cannot be re-run).
    let ctx_len = bob.context().to_bytes().len();
    let tree_start = HEADER_LEN + ctx_len;
    let public_end = HEADER_LEN + public.len();

    let mut accepted = 0;
    for at in 0..body_end {
        for mask in [0x01u8, 0x80] {
            let mut damaged = bytes[..body_end].to_vec();
            damaged[at] ^= mask;
            let result = import(&reseal(&damaged));
            if (tree_start..public_end).contains(&at) || at < HEADER_LEN {
                assert!(result.is_err(), "flip {mask:#x} at {at} in the public part was accepted");
            }
            if let Ok(g) = result {
                accepted += 1;
                // What was accepted is a consistent state of its own.
                assert_eq!(*g.export().unwrap(), *reseal(&damaged));
            }
        }
    }
    let total = 2 * body_end;
    println!("resealed flips: {} of {total} refused ({accepted} accepted as another valid state)", total - accepted);
}

#[test]
fn header_is_checked_before_the_digest() {
    let bytes = sample().export().unwrap();
    assert_eq!(peek_header(&bytes[..3]), Err(StateError::Corrupt(DecodeError::Truncated { needed: 4, available: 3 })));
    // A header alone: the digest is missing.
    assert!(matches!(import(&bytes[..HEADER_LEN]), Err(Error::State(StateError::Corrupt(_)))));
    let mut flipped = bytes.to_vec();
    flipped[HEADER_LEN + 3] ^= 1;
    assert!(matches!(import(&flipped), Err(Error::State(StateError::DigestMismatch))));
}

#[test]
fn counts_cannot_size_allocations() {
    let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
    assert!(matches!(
        r.read_count(1).map_err(StateError::Corrupt),
        Err(StateError::Corrupt(DecodeError::Truncated { .. }))
    ));
    let mut r = Reader::new(&[0, 0, 0, 3, 1, 2, 3]);
    assert_eq!(r.read_count(1).map_err(StateError::Corrupt), Ok(3));
}

#[test]
fn tree_state_rejects_bad_leaf_counts() {
    let suite = Suite::new(crate::crypto::default_provider(), CipherSuite(1)).unwrap();
    let decode = |bytes: &[u8]| crate::tree::RatchetTree::decode_state(&suite, &mut Reader::new(bytes)).map(|_| ());
    assert!(matches!(decode(&[0, 0, 0, 3, 0, 0, 0, 0, 0]), Err(StateError::Inconsistent(_))));
    assert!(matches!(decode(&[0, 0, 0, 0]), Err(StateError::Inconsistent(_))));
    // 2^30 leaves claimed by a handful of bytes: refused, not allocated.
    assert!(matches!(decode(&[0x40, 0, 0, 0, 0, 0]), Err(StateError::Corrupt(DecodeError::Truncated { .. }))));
}

#[test]
fn public_group_resealed_truncations_are_errors() {
    use crate::public_group::{PublicGroup, PublicGroupConfig};
    let bob = sample();
    let mut server = PublicGroup::from_group_info(
        provider(),
        PublicGroupConfig::default(),
        &bob.group_info(true, false).unwrap(),
        None,
    )
    .unwrap();
    server.set_membership_key(Secret::new(vec![4; 32]));
    let bytes = server.export().unwrap();
    let body = &bytes[..bytes.len() - 32];
    assert_eq!(reseal(body), *bytes);
    for cut in HEADER_LEN..body.len() {
        let result = PublicGroup::import(&reseal(&body[..cut]), provider(), PublicGroupConfig::default());
        assert!(
            matches!(result, Err(Error::State(StateError::Corrupt(_) | StateError::Inconsistent(_)))),
            "cut at {cut}"
        );
    }
    // A membership key of the wrong size.
    let mut short = body[..body.len() - 1].to_vec();
    let len_at = short.len() - 32;
    short[len_at] = 31;
    assert!(matches!(
        PublicGroup::import(&reseal(&short), provider(), PublicGroupConfig::default()),
        Err(Error::State(StateError::Inconsistent(_)))
    ));
}

// Sealed state (sealed.rs): every damage to the sealed bytes is a typed
// error before the plain import runs, and nothing of the state shows.

const CONTEXT: &[u8] = b"groups/g/members/bob";

fn key() -> StateKey {
    StateKey::new(7, &[0x11; StateKey::LEN])
}

fn import_sealed(bytes: &[u8], key: &StateKey, context: &[u8]) -> Result<Group, Error> {
    Group::import_sealed(bytes, key, context, provider(), GroupConfig::default())
}

fn sealed_error(result: Result<Group, Error>) -> StateError {
    match result {
        Err(Error::State(e)) => e,
        Err(other) => panic!("expected a state error, got {other:?}"),
        Ok(_) => panic!("expected a state error, got a group"),
    }
}

#[test]
fn sealed_layout_and_a_fresh_nonce_per_export() {
    let bob = sample();
    let plain = bob.export().unwrap();
    let a = bob.export_sealed(&key(), CONTEXT).unwrap();
    let b = bob.export_sealed(&key(), CONTEXT).unwrap();
    assert_eq!(a.len(), plain.len() + SEALED_OVERHEAD);
    assert_eq!(SEALED_OVERHEAD, 13 + 12 + 16);
    // "THRS", sealed version 1, kind 1, suite 1, key id 7.
    assert_eq!(&a[..13], b"THRS\x00\x01\x01\x00\x01\x00\x00\x00\x07");
    assert_eq!(
        peek_sealed_header(&a),
        Ok(SealedHeader { sealed_version: 1, kind: 1, cipher_suite: CipherSuite(1), key_id: 7 })
    );
    // Same state, same key, same context: another nonce, another ciphertext.
    assert_ne!(a[13..25], b[13..25], "nonce repeated");
    assert_ne!(a[25..], b[25..]);
    // Both open to the (deterministic) plain export.
    assert_eq!(*open_sealed(&a, &key(), CONTEXT).unwrap(), *plain);
    assert_eq!(*open_sealed(&b, &key(), CONTEXT).unwrap(), *plain);
    let bob2 = import_sealed(&a, &key(), CONTEXT).unwrap();
    assert_eq!(*bob2.export().unwrap(), *plain);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn sealed_state_hides_the_secrets() {
    let bob = sample();
    let plain = bob.export().unwrap();
    let sealed = bob.export_sealed(&key(), CONTEXT).unwrap();
    let own = bob.private.own_leaf.node();
    let secrets: [(&str, &[u8]); 6] = [
        ("signature private key", bob.identity.signer.private.0.as_bytes()),
        ("leaf HPKE private key", bob.private.key(own).unwrap().0.as_bytes()),
        ("pending leaf private key", bob.pending_leaf_keys[0].private.0.as_bytes()),
        ("epoch authenticator", bob.epoch_authenticator()),
        ("exporter secret", bob.epoch.exporter_secret().as_bytes()),
        ("external PSK", &[9; 32]),
    ];
    for (what, secret) in secrets {
        assert!(secret.len() >= 16, "{what} is too short to search for");
        assert!(contains(&plain, secret), "{what} is not in the plain export: the test looks for the wrong bytes");
        assert!(!contains(&sealed, secret), "{what} shows in the sealed state");
    }
    // Nor does the public part: the GroupContext (group id, epoch, hashes).
    let context = bob.context().to_bytes();
    assert!(contains(&plain, &context) && !contains(&sealed, &context));
}

#[test]
fn every_bit_flip_of_a_sealed_state_is_refused() {
    let sealed = sample().export_sealed(&key(), CONTEXT).unwrap();
    for at in 0..sealed.len() {
        for bit in 0..8 {
            let mut damaged = sealed.clone();
            damaged[at] ^= 1 << bit;
            let e = sealed_error(import_sealed(&damaged, &key(), CONTEXT));
            let expected = match at {
                0..4 => matches!(e, StateError::NotState),
                4..6 => matches!(e, StateError::UnsupportedVersion { expected: 1, .. }),
                6 => matches!(e, StateError::WrongKind { expected: 1, .. }),
                9..13 => matches!(e, StateError::WrongKeyId { expected: 7, .. }),
                // The cipher suite (bound as associated data), the nonce,
                // the ciphertext and the tag.
                _ => e == StateError::SealBroken,
            };
            assert!(expected, "flip of bit {bit} at {at}: {e:?}");
        }
    }
    println!("sealed flips: all {} of {} bytes refused", 8 * sealed.len(), sealed.len());
}

#[test]
fn sealed_truncations_and_extensions_are_refused() {
    let sealed = sample().export_sealed(&key(), CONTEXT).unwrap();
    for cut in 0..sealed.len() {
        let e = sealed_error(import_sealed(&sealed[..cut], &key(), CONTEXT));
        if cut < SEALED_OVERHEAD {
            assert!(matches!(e, StateError::Corrupt(DecodeError::Truncated { .. })), "cut at {cut}: {e:?}");
        } else {
            assert_eq!(e, StateError::SealBroken, "cut at {cut}");
        }
    }
    let mut longer = sealed.clone();
    longer.push(0);
    assert_eq!(sealed_error(import_sealed(&longer, &key(), CONTEXT)), StateError::SealBroken);
}

#[test]
fn sealed_state_opens_only_with_its_key_context_and_kind() {
    let bob = sample();
    let sealed = bob.export_sealed(&key(), CONTEXT).unwrap();
    assert!(import_sealed(&sealed, &key(), CONTEXT).is_ok());
    // Another key under the same id; a key of another id.
    let other = StateKey::new(7, &[0x12; StateKey::LEN]);
    assert_eq!(sealed_error(import_sealed(&sealed, &other, CONTEXT)), StateError::SealBroken);
    let renamed = StateKey::new(8, &[0x11; StateKey::LEN]);
    assert_eq!(
        sealed_error(import_sealed(&sealed, &renamed, CONTEXT)),
        StateError::WrongKeyId { found: 7, expected: 8 }
    );
    // Another context: another record, a prefix of it, none.
    for context in [&b"groups/g/members/carol"[..], b"groups/g/members/bo", b""] {
        assert_eq!(sealed_error(import_sealed(&sealed, &key(), context)), StateError::SealBroken);
    }
    // Plain where sealed is expected and the reverse; no double sealing.
    let plain = bob.export().unwrap();
    assert_eq!(sealed_error(import_sealed(&plain, &key(), CONTEXT)), StateError::NotSealed);
    assert_eq!(sealed_error(import(&sealed)), StateError::Sealed);
    assert_eq!(seal_state(&sealed, &key(), CONTEXT).unwrap_err(), Error::State(StateError::Sealed));
    assert_eq!(peek_header(&sealed), Err(StateError::Sealed));
    assert_eq!(peek_sealed_header(&plain), Err(StateError::NotSealed));
    // A member's sealed state is not a public group's.
    let result = crate::public_group::PublicGroup::import_sealed(
        &sealed,
        &key(),
        CONTEXT,
        provider(),
        crate::public_group::PublicGroupConfig::default(),
    );
    assert_eq!(result.unwrap_err(), Error::State(StateError::WrongKind { found: 1, expected: 2 }));
    // Another sealed version, whatever follows.
    let mut future = sealed.clone();
    future[4..6].copy_from_slice(&2u16.to_be_bytes());
    assert_eq!(
        sealed_error(import_sealed(&future, &key(), CONTEXT)),
        StateError::UnsupportedVersion { found: 2, expected: 1 }
    );
}

#[test]
fn sealed_state_rewraps_under_a_new_key() {
    let bob = sample();
    let old = key();
    let new = StateKey::generate(8).unwrap();
    let sealed = bob.export_sealed(&old, CONTEXT).unwrap();
    // The header names the key; the state is rewrapped without an import.
    assert_eq!(peek_sealed_header(&sealed).unwrap().key_id, old.id());
    let rewrapped = seal_state(&open_sealed(&sealed, &old, CONTEXT).unwrap(), &new, CONTEXT).unwrap();
    assert_eq!(peek_sealed_header(&rewrapped).unwrap().key_id, 8);
    let bob2 = import_sealed(&rewrapped, &new, CONTEXT).unwrap();
    assert_eq!(*bob2.export().unwrap(), *bob.export().unwrap());
    assert_eq!(
        sealed_error(import_sealed(&rewrapped, &old, CONTEXT)),
        StateError::WrongKeyId { found: 8, expected: 7 }
    );
    // A key from the caller's bytes opens what the generated one sealed.
    let copy = StateKey::new(8, new.as_bytes());
    assert!(import_sealed(&rewrapped, &copy, CONTEXT).is_ok());
}

#[test]
fn state_keys_are_random_and_never_print() {
    let a = StateKey::generate(1).unwrap();
    let b = StateKey::generate(1).unwrap();
    assert_ne!(a.as_bytes(), b.as_bytes());
    let shown = format!("{a:?}");
    assert_eq!(shown, "StateKey { id: 1, .. }");
    assert_eq!(format!("{:?}", StateKey::new(3, &[0xab; 32])), "StateKey { id: 3, .. }");
}

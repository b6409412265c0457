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

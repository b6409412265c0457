//! HPKE `SealBase` to many recipients with one `info` (RFC 9180 §5.1, §6.1).
//!
//! The key schedule hashes `info` into `key_schedule_context` before it
//! touches the recipient. MLS seals one Welcome's GroupSecrets to every new
//! member with the whole encrypted GroupInfo as `info` (RFC 9420 §12.4.3.1,
//! megabytes at 10,000 members), and a path secret to every node of a
//! copath resolution with one context (§7.6). hpke-rs takes `info` per call
//! and hashes it every time, so for these batches we compute the context
//! once and run the per-recipient part here: DHKEM Encap on aws-lc-rs with
//! an ephemeral key (two scalar multiplications), then the RFC 9180 key
//! schedule and one AEAD seal. Single seals and every open still go through
//! hpke-rs, so each side checks the other (and the interop tests check both
//! against OpenMLS and mls-rs).

use aws_lc_rs::{agreement, hmac};

use super::hkdf::{hkdf_expand, hkdf_extract};
use super::hpke_backend::aead_seal;
use super::keys::HpkeCiphertext;
use super::suite::{AeadAlgorithm, Algorithms, HashAlgorithm, KemAlgorithm};
use super::{CryptoError, Secret};

const HPKE_V1: &[u8] = b"HPKE-v1";

/// `key_schedule_context` for base mode (RFC 9180 §5.1), with `info` hashed
/// once; `None` for a KEM this path does not cover (X448).
pub(crate) fn prepare(alg: &Algorithms, info: &[u8]) -> Option<Vec<u8>> {
    kem_params(alg.kem)?;
    let suite_id = hpke_suite_id(alg);
    let kdf = kdf_hmac(alg.hash);
    let psk_id_hash = labeled_extract(kdf, &suite_id, &[], b"psk_id_hash", &[]);
    let info_hash = labeled_extract(kdf, &suite_id, &[], b"info_hash", info);
    let mut context = Vec::with_capacity(1 + psk_id_hash.len() + info_hash.len());
    context.push(0); // mode_base
    context.extend_from_slice(&psk_id_hash);
    context.extend_from_slice(&info_hash);
    Some(context)
}

/// `SealBase` with a prepared `key_schedule_context`.
pub(crate) fn seal(
    alg: &Algorithms,
    key_schedule_context: &[u8],
    public_key: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<HpkeCiphertext, CryptoError> {
    let (ecdh, kem_hash, n_secret) = kem_params(alg.kem).ok_or(CryptoError::UnsupportedAlgorithm)?;
    // Encap (RFC 9180 §4.1): ephemeral key, DH, ExtractAndExpand.
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let ephemeral = agreement::EphemeralPrivateKey::generate(ecdh, &rng).map_err(|_| CryptoError::Internal)?;
    let enc = ephemeral.compute_public_key().map_err(|_| CryptoError::Internal)?.as_ref().to_vec();
    let peer = agreement::UnparsedPublicKey::new(ecdh, public_key);
    let dh = agreement::agree_ephemeral(ephemeral, peer, CryptoError::InvalidKey, |dh| Ok(Secret::from_slice(dh)))?;
    let mut kem_context = Vec::with_capacity(enc.len() + public_key.len());
    kem_context.extend_from_slice(&enc);
    kem_context.extend_from_slice(public_key);
    let kem_suite_id = kem_suite_id(alg.kem);
    let eae_prk = Secret::new(labeled_extract(kem_hash, &kem_suite_id, &[], b"eae_prk", dh.as_bytes()));
    let shared_secret =
        labeled_expand(kem_hash, &kem_suite_id, eae_prk.as_bytes(), b"shared_secret", &kem_context, n_secret)?;

    // KeySchedule (RFC 9180 §5.1), base mode: psk = "".
    let suite_id = hpke_suite_id(alg);
    let kdf = kdf_hmac(alg.hash);
    let secret = Secret::new(labeled_extract(kdf, &suite_id, shared_secret.as_bytes(), b"secret", &[]));
    let key = labeled_expand(kdf, &suite_id, secret.as_bytes(), b"key", key_schedule_context, alg.aead.key_len())?;
    let nonce =
        labeled_expand(kdf, &suite_id, secret.as_bytes(), b"base_nonce", key_schedule_context, alg.aead.nonce_len())?;
    // The first message of a context uses the base nonce (sequence 0).
    let ciphertext =
        aead_seal(aead_alg(alg.aead), key.as_bytes(), nonce.as_bytes(), aad, plaintext).ok_or(CryptoError::Internal)?;
    Ok(HpkeCiphertext { kem_output: enc, ciphertext })
}

fn kem_params(kem: KemAlgorithm) -> Option<(&'static agreement::Algorithm, hmac::Algorithm, usize)> {
    match kem {
        KemAlgorithm::DhKemX25519 => Some((&agreement::X25519, hmac::HMAC_SHA256, 32)),
        KemAlgorithm::DhKemP256 => Some((&agreement::ECDH_P256, hmac::HMAC_SHA256, 32)),
        KemAlgorithm::DhKemP384 => Some((&agreement::ECDH_P384, hmac::HMAC_SHA384, 48)),
        KemAlgorithm::DhKemP521 => Some((&agreement::ECDH_P521, hmac::HMAC_SHA512, 64)),
        KemAlgorithm::DhKemX448 => None,
    }
}

fn kdf_hmac(hash: HashAlgorithm) -> hmac::Algorithm {
    match hash {
        HashAlgorithm::Sha256 => hmac::HMAC_SHA256,
        HashAlgorithm::Sha384 => hmac::HMAC_SHA384,
        HashAlgorithm::Sha512 => hmac::HMAC_SHA512,
    }
}

fn aead_alg(aead: AeadAlgorithm) -> &'static aws_lc_rs::aead::Algorithm {
    match aead {
        AeadAlgorithm::Aes128Gcm => &aws_lc_rs::aead::AES_128_GCM,
        AeadAlgorithm::Aes256Gcm => &aws_lc_rs::aead::AES_256_GCM,
        AeadAlgorithm::ChaCha20Poly1305 => &aws_lc_rs::aead::CHACHA20_POLY1305,
    }
}

/// `"HPKE" || kem_id || kdf_id || aead_id` (RFC 9180 §5.1).
fn hpke_suite_id(alg: &Algorithms) -> Vec<u8> {
    let kdf_id: u16 = match alg.hash {
        HashAlgorithm::Sha256 => 1,
        HashAlgorithm::Sha384 => 2,
        HashAlgorithm::Sha512 => 3,
    };
    let aead_id: u16 = match alg.aead {
        AeadAlgorithm::Aes128Gcm => 1,
        AeadAlgorithm::Aes256Gcm => 2,
        AeadAlgorithm::ChaCha20Poly1305 => 3,
    };
    let mut id = b"HPKE".to_vec();
    id.extend_from_slice(&alg.kem.id().to_be_bytes());
    id.extend_from_slice(&kdf_id.to_be_bytes());
    id.extend_from_slice(&aead_id.to_be_bytes());
    id
}

/// `"KEM" || kem_id` (RFC 9180 §4.1).
fn kem_suite_id(kem: KemAlgorithm) -> Vec<u8> {
    let mut id = b"KEM".to_vec();
    id.extend_from_slice(&kem.id().to_be_bytes());
    id
}

/// `LabeledExtract(salt, label, ikm)` (RFC 9180 §4).
fn labeled_extract(kdf: hmac::Algorithm, suite_id: &[u8], salt: &[u8], label: &[u8], ikm: &[u8]) -> Vec<u8> {
    let mut labeled = Vec::with_capacity(HPKE_V1.len() + suite_id.len() + label.len() + ikm.len());
    labeled.extend_from_slice(HPKE_V1);
    labeled.extend_from_slice(suite_id);
    labeled.extend_from_slice(label);
    labeled.extend_from_slice(ikm);
    let out = hkdf_extract(kdf, salt, &labeled);
    zeroize::Zeroize::zeroize(&mut labeled);
    out
}

/// `LabeledExpand(prk, label, info, L)` (RFC 9180 §4).
fn labeled_expand(
    kdf: hmac::Algorithm,
    suite_id: &[u8],
    prk: &[u8],
    label: &[u8],
    info: &[u8],
    len: usize,
) -> Result<Secret, CryptoError> {
    let mut labeled = Vec::with_capacity(2 + HPKE_V1.len() + suite_id.len() + label.len() + info.len());
    labeled.extend_from_slice(&(len as u16).to_be_bytes());
    labeled.extend_from_slice(HPKE_V1);
    labeled.extend_from_slice(suite_id);
    labeled.extend_from_slice(label);
    labeled.extend_from_slice(info);
    hkdf_expand(kdf, prk, &labeled, len).map(Secret::new).ok_or(CryptoError::InvalidLength)
}

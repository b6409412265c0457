//! DHKEM(X448, HKDF-SHA512) (RFC 9180 §4.1, §7.1), for suites 4 and 6.
//!
//! aws-lc-rs has no X448, so the Diffie-Hellman function comes from
//! RustCrypto's `x448`. hpke-rs 0.8 drives the KEM through its `HpkeCrypto`
//! backend, but its `DeriveKeyPair` has no X448 branch (it returns
//! `UnknownKemAlgorithm`), and its `Encap` goes through `DeriveKeyPair`. So
//! this module implements `DeriveKeyPair` and `Encap` itself; `Decap` still
//! runs inside hpke-rs on top of [`dh`] and [`public_key`], which keeps the
//! two halves independent enough that a round trip checks one against the
//! other.

use aws_lc_rs::hmac::HMAC_SHA512;
use zeroize::Zeroizing;

use super::hkdf::{hkdf_expand, hkdf_extract};
use super::{CryptoError, Secret};

/// `Nsk` and `Npk`: an X448 scalar and a u-coordinate are both 56 bytes
/// (RFC 7748 §5; RFC 9180 §7.1 table 2).
pub(crate) const KEY_LEN: usize = 56;

/// `Nsecret` of DHKEM(X448, HKDF-SHA512) (RFC 9180 §7.1 table 2).
const SHARED_SECRET_LEN: usize = 64;

/// `suite_id = concat("KEM", I2OSP(kem_id, 2))` with kem_id 0x0021
/// (RFC 9180 §4.1).
const SUITE_ID: &[u8] = b"KEM\x00\x21";

/// RFC 9180 §4: `LabeledExtract(salt, label, ikm)`.
fn labeled_extract(salt: &[u8], label: &[u8], ikm: &[u8]) -> Secret {
    let mut labeled_ikm = Zeroizing::new(Vec::with_capacity(7 + SUITE_ID.len() + label.len() + ikm.len()));
    labeled_ikm.extend_from_slice(b"HPKE-v1");
    labeled_ikm.extend_from_slice(SUITE_ID);
    labeled_ikm.extend_from_slice(label);
    labeled_ikm.extend_from_slice(ikm);
    Secret::new(hkdf_extract(HMAC_SHA512, salt, &labeled_ikm))
}

/// RFC 9180 §4: `LabeledExpand(prk, label, info, L)`.
fn labeled_expand(prk: &Secret, label: &[u8], info: &[u8], len: usize) -> Result<Secret, CryptoError> {
    let len16 = u16::try_from(len).map_err(|_| CryptoError::InvalidLength)?;
    let mut labeled_info = Vec::with_capacity(2 + 7 + SUITE_ID.len() + label.len() + info.len());
    labeled_info.extend_from_slice(&len16.to_be_bytes());
    labeled_info.extend_from_slice(b"HPKE-v1");
    labeled_info.extend_from_slice(SUITE_ID);
    labeled_info.extend_from_slice(label);
    labeled_info.extend_from_slice(info);
    hkdf_expand(HMAC_SHA512, prk.as_bytes(), &labeled_info, len).map(Secret::new).ok_or(CryptoError::InvalidLength)
}

fn static_secret(sk: &[u8]) -> Result<x448::StaticSecret, CryptoError> {
    // Every 56-byte string is a valid X448 private key: the function clamps
    // it (RFC 7748 §5). Any other length is not a key.
    let bytes: Zeroizing<[u8; KEY_LEN]> = Zeroizing::new(sk.try_into().map_err(|_| CryptoError::InvalidKey)?);
    Ok(x448::StaticSecret::from(*bytes))
}

/// `pk(sk)`: `X448(sk, 5)` (RFC 7748 §6.2).
pub(crate) fn public_key(sk: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let secret = static_secret(sk)?;
    Ok(x448::PublicKey::from(&secret).as_bytes().to_vec())
}

/// `DH(sk, pk)`: `X448(sk, pk)`, refusing the all-zero output that a
/// low-order peer key forces (RFC 9180 §7.1.4, RFC 7748 §6.2).
pub(crate) fn dh(sk: &[u8], pk: &[u8]) -> Result<Secret, CryptoError> {
    let secret = static_secret(sk)?;
    // `from_bytes` rejects a wrong length and the known low-order points;
    // the zero check below catches every other way to force a zero output.
    let peer = x448::PublicKey::from_bytes(pk).ok_or(CryptoError::InvalidKey)?;
    let shared = secret.diffie_hellman(&peer);
    let shared = shared.as_bytes();
    if shared.iter().fold(0u8, |acc, b| acc | b) == 0 {
        return Err(CryptoError::InvalidKey);
    }
    Ok(Secret::from_slice(shared))
}

/// `DeriveKeyPair(ikm)` for X448 (RFC 9180 §7.1.3): the private key is
/// `LabeledExpand(dkp_prk, "sk", "", Nsk)`, used as is (X448 clamps).
/// Returns `(sk, pk)`.
pub(crate) fn derive_key_pair(ikm: &[u8]) -> Result<(Secret, Vec<u8>), CryptoError> {
    let dkp_prk = labeled_extract(&[], b"dkp_prk", ikm);
    let sk = labeled_expand(&dkp_prk, b"sk", &[], KEY_LEN)?;
    let pk = public_key(sk.as_bytes())?;
    Ok((sk, pk))
}

/// `Encap(pkR)` (RFC 9180 §4.1) with the ephemeral key derived from
/// `ephemeral_ikm` (`GenerateKeyPair` is `DeriveKeyPair(random(Nsk))`,
/// §7.1.3). Returns `(shared_secret, enc)`.
pub(crate) fn encap(public_key_r: &[u8], ephemeral_ikm: &[u8]) -> Result<(Secret, Vec<u8>), CryptoError> {
    let (sk_e, enc) = derive_key_pair(ephemeral_ikm)?;
    let dh = dh(sk_e.as_bytes(), public_key_r)?;
    // kem_context = concat(enc, pkRm); SerializePublicKey is the identity
    // for X448 (RFC 9180 §7.1.1).
    let mut kem_context = Vec::with_capacity(enc.len() + public_key_r.len());
    kem_context.extend_from_slice(&enc);
    kem_context.extend_from_slice(public_key_r);
    // ExtractAndExpand(dh, kem_context) (RFC 9180 §4.1).
    let eae_prk = labeled_extract(&[], b"eae_prk", dh.as_bytes());
    let shared_secret = labeled_expand(&eae_prk, b"shared_secret", &kem_context, SHARED_SECRET_LEN)?;
    Ok((shared_secret, enc))
}

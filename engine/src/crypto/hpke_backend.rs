//! hpke-rs's `HpkeCrypto` backend implemented over aws-lc-rs, so HPKE runs
//! on the same primitives as the rest of the engine. X448, which aws-lc-rs
//! lacks, comes from [`super::dhkem_x448`].

use aws_lc_rs::{aead, agreement, hmac};
use hpke_rs_crypto::error::Error;
use hpke_rs_crypto::types::{AeadAlgorithm, KdfAlgorithm, KemAlgorithm, SingleStageKdfAlgorithm, TwoStageKdfAlgorithm};
use hpke_rs_crypto::{HpkeCrypto, HpkeDefaultPrng, TryCryptoRng, TryRng};

use super::dhkem_x448;
use super::hkdf::{hkdf_expand, hkdf_extract};

/// The aws-lc-rs backend for hpke-rs.
#[derive(Debug)]
pub struct AwsLcHpke;

/// Randomness for hpke-rs, drawn from aws-lc-rs's system generator.
#[derive(Debug, Default)]
pub struct AwsLcRng;

impl TryRng for AwsLcRng {
    type Error = Error;

    fn try_next_u32(&mut self) -> Result<u32, Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Error> {
        aws_lc_rs::rand::fill(dst).map_err(|_| Error::InsufficientRandomness)
    }
}

impl TryCryptoRng for AwsLcRng {}

fn hmac_alg(alg: TwoStageKdfAlgorithm) -> hmac::Algorithm {
    match alg {
        TwoStageKdfAlgorithm::HkdfSha256 => hmac::HMAC_SHA256,
        TwoStageKdfAlgorithm::HkdfSha384 => hmac::HMAC_SHA384,
        TwoStageKdfAlgorithm::HkdfSha512 => hmac::HMAC_SHA512,
    }
}

fn ecdh_alg(alg: KemAlgorithm) -> Result<&'static agreement::Algorithm, Error> {
    match alg {
        KemAlgorithm::DhKem25519 => Ok(&agreement::X25519),
        KemAlgorithm::DhKemP256 => Ok(&agreement::ECDH_P256),
        KemAlgorithm::DhKemP384 => Ok(&agreement::ECDH_P384),
        KemAlgorithm::DhKemP521 => Ok(&agreement::ECDH_P521),
        _ => Err(Error::UnknownKemAlgorithm),
    }
}

fn aead_alg(alg: AeadAlgorithm) -> Result<&'static aead::Algorithm, Error> {
    match alg {
        AeadAlgorithm::Aes128Gcm => Ok(&aead::AES_128_GCM),
        AeadAlgorithm::Aes256Gcm => Ok(&aead::AES_256_GCM),
        AeadAlgorithm::ChaCha20Poly1305 => Ok(&aead::CHACHA20_POLY1305),
        AeadAlgorithm::HpkeExport => Err(Error::UnknownAeadAlgorithm),
    }
}

pub(crate) fn ecdh_private(alg: KemAlgorithm, sk: &[u8]) -> Result<agreement::PrivateKey, Error> {
    let ecdh = ecdh_alg(alg)?;
    // Some implementations serialize NIST-curve scalars without their
    // leading zero bytes; RFC 9180 §7.1.2 fixes the length at Nsk, so pad.
    let padded;
    let sk = match alg {
        KemAlgorithm::DhKemP256 | KemAlgorithm::DhKemP384 | KemAlgorithm::DhKemP521
            if sk.len() < alg.private_key_len() =>
        {
            padded = zeroize::Zeroizing::new(left_pad(sk, alg.private_key_len()));
            &padded[..]
        }
        _ => sk,
    };
    agreement::PrivateKey::from_private_key(ecdh, sk).map_err(|_| Error::KemInvalidSecretKey)
}

/// `bytes` left-padded with zeros to `len` (a big-endian integer).
pub(crate) fn left_pad(bytes: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len.saturating_sub(bytes.len())];
    out.extend_from_slice(bytes);
    out
}

pub(crate) fn ecdh_public_bytes(key: &agreement::PrivateKey) -> Result<Vec<u8>, Error> {
    key.compute_public_key().map(|pk| pk.as_ref().to_vec()).map_err(|_| Error::KemInvalidSecretKey)
}

impl HpkeCrypto for AwsLcHpke {
    type HpkePrng = AwsLcRng;

    fn name() -> String {
        "aws-lc-rs".into()
    }

    fn supports_kdf(alg: KdfAlgorithm) -> Result<(), Error> {
        match alg {
            KdfAlgorithm::HkdfSha256 | KdfAlgorithm::HkdfSha384 | KdfAlgorithm::HkdfSha512 => Ok(()),
            _ => Err(Error::UnknownKdfAlgorithm),
        }
    }

    fn supports_kem(alg: KemAlgorithm) -> Result<(), Error> {
        if alg == KemAlgorithm::DhKem448 {
            return Ok(());
        }
        ecdh_alg(alg).map(|_| ())
    }

    fn supports_aead(alg: AeadAlgorithm) -> Result<(), Error> {
        aead_alg(alg).map(|_| ())
    }

    fn kdf_extract(alg: TwoStageKdfAlgorithm, salt: &[u8], ikm: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(hkdf_extract(hmac_alg(alg), salt, ikm))
    }

    fn kdf_expand(alg: TwoStageKdfAlgorithm, prk: &[u8], info: &[u8], output_size: usize) -> Result<Vec<u8>, Error> {
        hkdf_expand(hmac_alg(alg), prk, info, output_size).ok_or(Error::HpkeInvalidOutputLength)
    }

    fn kdf_derive(_: SingleStageKdfAlgorithm, _: &[u8], _: usize) -> Result<Vec<u8>, Error> {
        Err(Error::UnknownKdfAlgorithm)
    }

    fn dh(alg: KemAlgorithm, pk: &[u8], sk: &[u8]) -> Result<Vec<u8>, Error> {
        if alg == KemAlgorithm::DhKem448 {
            // The backend API hands the shared secret back as a plain Vec.
            return dhkem_x448::dh(sk, pk).map(|z| z.as_bytes().to_vec()).map_err(|_| Error::KemInvalidPublicKey);
        }
        let private = ecdh_private(alg, sk)?;
        let public = agreement::UnparsedPublicKey::new(ecdh_alg(alg)?, pk);
        agreement::agree(&private, public, Error::KemInvalidPublicKey, |shared| Ok(shared.to_vec()))
    }

    fn secret_to_public(alg: KemAlgorithm, sk: &[u8]) -> Result<Vec<u8>, Error> {
        if alg == KemAlgorithm::DhKem448 {
            return dhkem_x448::public_key(sk).map_err(|_| Error::KemInvalidSecretKey);
        }
        ecdh_public_bytes(&ecdh_private(alg, sk)?)
    }

    fn kem_key_gen(alg: KemAlgorithm, prng: &mut AwsLcRng) -> Result<(Vec<u8>, Vec<u8>), Error> {
        // A uniformly random scalar is rejected-and-retried only for the NIST
        // curves, where a few values are out of range (RFC 9180 §7.1.3).
        let mut sk = vec![0u8; alg.private_key_len()];
        if alg == KemAlgorithm::DhKem448 {
            // Every 56-byte string is an X448 private key (RFC 7748 §5).
            prng.try_fill_bytes(&mut sk)?;
            return Ok((dhkem_x448::public_key(&sk).map_err(|_| Error::KemInvalidSecretKey)?, sk));
        }
        loop {
            prng.try_fill_bytes(&mut sk)?;
            if alg == KemAlgorithm::DhKemP521 {
                sk[0] &= 0x01;
            }
            if let Ok(private) = ecdh_private(alg, &sk) {
                return Ok((ecdh_public_bytes(&private)?, sk));
            }
        }
    }

    fn kem_key_gen_derand(_: KemAlgorithm, _: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Error> {
        Err(Error::UnsupportedKemOperation)
    }

    fn kem_encaps(_: KemAlgorithm, _: &[u8], _: &mut AwsLcRng) -> Result<(Vec<u8>, Vec<u8>), Error> {
        Err(Error::UnsupportedKemOperation)
    }

    fn kem_encaps_derand(_: KemAlgorithm, _: &[u8], _: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Error> {
        Err(Error::UnsupportedKemOperation)
    }

    fn kem_decaps(_: KemAlgorithm, _: &[u8], _: &[u8]) -> Result<Vec<u8>, Error> {
        Err(Error::UnsupportedKemOperation)
    }

    fn dh_validate_sk(alg: KemAlgorithm, sk: &[u8]) -> Result<Vec<u8>, Error> {
        if alg == KemAlgorithm::DhKem448 {
            return if sk.len() == dhkem_x448::KEY_LEN { Ok(sk.to_vec()) } else { Err(Error::KemInvalidSecretKey) };
        }
        ecdh_private(alg, sk).map(|_| sk.to_vec())
    }

    fn aead_seal(alg: AeadAlgorithm, key: &[u8], nonce: &[u8], aad: &[u8], msg: &[u8]) -> Result<Vec<u8>, Error> {
        aead_seal(aead_alg(alg)?, key, nonce, aad, msg).ok_or(Error::CryptoLibraryError("AEAD seal".into()))
    }

    fn aead_open(alg: AeadAlgorithm, key: &[u8], nonce: &[u8], aad: &[u8], msg: &[u8]) -> Result<Vec<u8>, Error> {
        aead_open(aead_alg(alg)?, key, nonce, aad, msg).ok_or(Error::AeadOpenError)
    }
}

impl HpkeDefaultPrng for AwsLcHpke {
    fn try_prng() -> Result<AwsLcRng, Error> {
        Ok(AwsLcRng)
    }
}

pub(crate) fn aead_seal(
    alg: &'static aead::Algorithm,
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Option<Vec<u8>> {
    let key = aead::LessSafeKey::new(aead::UnboundKey::new(alg, key).ok()?);
    let nonce = aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut buf = Vec::with_capacity(plaintext.len() + alg.tag_len());
    buf.extend_from_slice(plaintext);
    key.seal_in_place_append_tag(nonce, aead::Aad::from(aad), &mut buf).ok()?;
    Some(buf)
}

pub(crate) fn aead_open(
    alg: &'static aead::Algorithm,
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Option<Vec<u8>> {
    let key = aead::LessSafeKey::new(aead::UnboundKey::new(alg, key).ok()?);
    let nonce = aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut buf = ciphertext.to_vec();
    let len = key.open_in_place(nonce, aead::Aad::from(aad), &mut buf).ok()?.len();
    buf.truncate(len);
    Some(buf)
}

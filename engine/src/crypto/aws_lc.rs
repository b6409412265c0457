//! The default provider: aws-lc-rs for every primitive, hpke-rs (over the
//! aws-lc-rs backend) for HPKE. aws-lc-rs has neither X448 nor Ed448, so
//! suites 4 and 6 take those two from RustCrypto (`x448`, `ed448-goldilocks`).

use aws_lc_rs::{aead, digest, hmac, signature};
use hpke_rs::{Hpke, Mode};
use hpke_rs_crypto::types as hpke_types;

use super::dhkem_x448;
use super::hpke_backend::{self, AwsLcHpke};
use super::hpke_batch;
use super::keys::{
    HpkeCiphertext, HpkeKeyPair, HpkePrivateKey, HpkePublicKey, SignatureKeyPair, SignaturePrivateKey,
    SignaturePublicKey,
};
use super::provider::PreparedInfo;
use super::suite::{AeadAlgorithm, Algorithms, HashAlgorithm, KemAlgorithm, SignatureAlgorithm};
use super::{CryptoError, CryptoProvider, Secret};

/// The default [`CryptoProvider`], on aws-lc-rs. Stateless; share it freely.
#[derive(Debug, Default, Clone, Copy)]
pub struct AwsLcProvider;

fn hmac_alg(hash: HashAlgorithm) -> hmac::Algorithm {
    match hash {
        HashAlgorithm::Sha256 => hmac::HMAC_SHA256,
        HashAlgorithm::Sha384 => hmac::HMAC_SHA384,
        HashAlgorithm::Sha512 => hmac::HMAC_SHA512,
    }
}

fn digest_alg(hash: HashAlgorithm) -> &'static digest::Algorithm {
    match hash {
        HashAlgorithm::Sha256 => &digest::SHA256,
        HashAlgorithm::Sha384 => &digest::SHA384,
        HashAlgorithm::Sha512 => &digest::SHA512,
    }
}

fn aead_alg(aead: AeadAlgorithm) -> &'static aead::Algorithm {
    match aead {
        AeadAlgorithm::Aes128Gcm => &aead::AES_128_GCM,
        AeadAlgorithm::Aes256Gcm => &aead::AES_256_GCM,
        AeadAlgorithm::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
    }
}

fn hpke_kem(kem: KemAlgorithm) -> hpke_types::KemAlgorithm {
    match kem {
        KemAlgorithm::DhKemP256 => hpke_types::KemAlgorithm::DhKemP256,
        KemAlgorithm::DhKemP384 => hpke_types::KemAlgorithm::DhKemP384,
        KemAlgorithm::DhKemP521 => hpke_types::KemAlgorithm::DhKemP521,
        KemAlgorithm::DhKemX25519 => hpke_types::KemAlgorithm::DhKem25519,
        KemAlgorithm::DhKemX448 => hpke_types::KemAlgorithm::DhKem448,
    }
}

fn hpke(alg: &Algorithms) -> Hpke<AwsLcHpke> {
    let kdf = match alg.hash {
        HashAlgorithm::Sha256 => hpke_types::KdfAlgorithm::HkdfSha256,
        HashAlgorithm::Sha384 => hpke_types::KdfAlgorithm::HkdfSha384,
        HashAlgorithm::Sha512 => hpke_types::KdfAlgorithm::HkdfSha512,
    };
    let aead = match alg.aead {
        AeadAlgorithm::Aes128Gcm => hpke_types::AeadAlgorithm::Aes128Gcm,
        AeadAlgorithm::Aes256Gcm => hpke_types::AeadAlgorithm::Aes256Gcm,
        AeadAlgorithm::ChaCha20Poly1305 => hpke_types::AeadAlgorithm::ChaCha20Poly1305,
    };
    Hpke::new_with_rng(Mode::Base, hpke_kem(alg.kem), kdf, aead, hpke_backend::AwsLcRng)
}

fn ecdsa_signing(sig: SignatureAlgorithm) -> Option<&'static signature::EcdsaSigningAlgorithm> {
    match sig {
        SignatureAlgorithm::EcdsaP256Sha256 => Some(&signature::ECDSA_P256_SHA256_ASN1_SIGNING),
        SignatureAlgorithm::EcdsaP384Sha384 => Some(&signature::ECDSA_P384_SHA384_ASN1_SIGNING),
        SignatureAlgorithm::EcdsaP521Sha512 => Some(&signature::ECDSA_P521_SHA512_ASN1_SIGNING),
        _ => None,
    }
}

/// An Ed448 signing key from its 57-byte seed (RFC 8032 §5.2.5).
fn ed448_signing_key(seed: &[u8]) -> Result<ed448_goldilocks::SigningKey, CryptoError> {
    ed448_goldilocks::SigningKey::try_from(seed).map_err(|_| CryptoError::InvalidKey)
}

/// An RFC 5915 `ECPrivateKey` holding only the scalar, so aws-lc can load a
/// bare big-endian scalar (the MLS test-vector format) and derive the point.
fn ec_private_key_der(sig: SignatureAlgorithm, scalar: &[u8]) -> Vec<u8> {
    // RFC 5915 wants the scalar at the curve's full length; some peers drop
    // leading zero bytes.
    let len = match sig {
        SignatureAlgorithm::EcdsaP256Sha256 => 32,
        SignatureAlgorithm::EcdsaP384Sha384 => 48,
        _ => 66,
    };
    let scalar = &hpke_backend::left_pad(scalar, len);
    // SEQUENCE { INTEGER 1, OCTET STRING scalar }; a P-521 scalar (66 bytes)
    // keeps every length in DER's short form.
    let inner_len = 3 + 2 + scalar.len();
    let mut der = vec![0x30, inner_len as u8, 0x02, 0x01, 0x01, 0x04, scalar.len() as u8];
    der.extend_from_slice(scalar);
    der
}

impl CryptoProvider for AwsLcProvider {
    fn supports(&self, _alg: &Algorithms) -> bool {
        // Every suite of RFC 9420 §17.1.
        true
    }

    fn hash(&self, alg: &Algorithms, data: &[&[u8]]) -> Vec<u8> {
        let mut ctx = digest::Context::new(digest_alg(alg.hash));
        for part in data {
            ctx.update(part);
        }
        ctx.finish().as_ref().to_vec()
    }

    fn mac(&self, alg: &Algorithms, key: &[u8], data: &[u8]) -> Vec<u8> {
        hmac::sign(&hmac::Key::new(hmac_alg(alg.hash), key), data).as_ref().to_vec()
    }

    fn kdf_extract(&self, alg: &Algorithms, salt: &[u8], ikm: &[u8]) -> Secret {
        Secret::new(super::hkdf::hkdf_extract(hmac_alg(alg.hash), salt, ikm))
    }

    fn kdf_expand(&self, alg: &Algorithms, prk: &[u8], info: &[u8], len: usize) -> Result<Secret, CryptoError> {
        super::hkdf::hkdf_expand(hmac_alg(alg.hash), prk, info, len).map(Secret::new).ok_or(CryptoError::InvalidLength)
    }

    fn aead_seal(
        &self,
        alg: &Algorithms,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        hpke_backend::aead_seal(aead_alg(alg.aead), key, nonce, aad, plaintext).ok_or(CryptoError::InvalidLength)
    }

    fn aead_open(
        &self,
        alg: &Algorithms,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Secret, CryptoError> {
        hpke_backend::aead_open(aead_alg(alg.aead), key, nonce, aad, ciphertext)
            .map(Secret::new)
            .ok_or(CryptoError::DecryptionFailed)
    }

    fn signature_key_pair(&self, alg: &Algorithms) -> Result<SignatureKeyPair, CryptoError> {
        use signature::KeyPair as _;
        match alg.signature {
            SignatureAlgorithm::Ed25519 => {
                let mut seed = Secret::zero(32);
                self.random(seed.as_mut_bytes())?;
                let pair = signature::Ed25519KeyPair::from_seed_unchecked(seed.as_bytes())
                    .map_err(|_| CryptoError::InvalidKey)?;
                Ok(SignatureKeyPair {
                    public: SignaturePublicKey(pair.public_key().as_ref().into()),
                    private: SignaturePrivateKey(seed),
                })
            }
            SignatureAlgorithm::Ed448 => {
                // The private key is the 57-byte seed (RFC 8032 §5.2.5).
                let mut seed = Secret::zero(ed448_goldilocks::SECRET_KEY_LENGTH);
                self.random(seed.as_mut_bytes())?;
                let public = ed448_signing_key(seed.as_bytes())?.verifying_key().to_bytes().to_vec();
                Ok(SignatureKeyPair { public: SignaturePublicKey(public.into()), private: SignaturePrivateKey(seed) })
            }
            sig => {
                let signing = ecdsa_signing(sig).ok_or(CryptoError::UnsupportedAlgorithm)?;
                let private = aws_lc_rs::agreement::PrivateKey::generate(match sig {
                    SignatureAlgorithm::EcdsaP256Sha256 => &aws_lc_rs::agreement::ECDH_P256,
                    SignatureAlgorithm::EcdsaP384Sha384 => &aws_lc_rs::agreement::ECDH_P384,
                    _ => &aws_lc_rs::agreement::ECDH_P521,
                })
                .map_err(|_| CryptoError::Internal)?;
                use aws_lc_rs::encoding::AsBigEndian as _;
                let scalar: aws_lc_rs::encoding::EcPrivateKeyBin<'_> =
                    private.as_be_bytes().map_err(|_| CryptoError::Internal)?;
                let scalar = Secret::from_slice(scalar.as_ref());
                let pair =
                    signature::EcdsaKeyPair::from_private_key_der(signing, &ec_private_key_der(sig, scalar.as_bytes()))
                        .map_err(|_| CryptoError::InvalidKey)?;
                Ok(SignatureKeyPair {
                    public: SignaturePublicKey(pair.public_key().as_ref().into()),
                    private: SignaturePrivateKey(scalar),
                })
            }
        }
    }

    fn sign(&self, alg: &Algorithms, key: &SignaturePrivateKey, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match alg.signature {
            SignatureAlgorithm::Ed25519 => {
                let pair = signature::Ed25519KeyPair::from_seed_unchecked(key.0.as_bytes())
                    .map_err(|_| CryptoError::InvalidKey)?;
                Ok(pair.sign(message).as_ref().to_vec())
            }
            // Pure Ed448 with an empty context (RFC 8032 §5.2.6), as RFC 9420
            // §5.1.2 signs the encoded SignContent directly.
            SignatureAlgorithm::Ed448 => Ok(ed448_signing_key(key.0.as_bytes())?.sign_raw(message).to_bytes().to_vec()),
            sig => {
                let signing = ecdsa_signing(sig).ok_or(CryptoError::UnsupportedAlgorithm)?;
                let der = Secret::new(ec_private_key_der(sig, key.0.as_bytes()));
                let pair = signature::EcdsaKeyPair::from_private_key_der(signing, der.as_bytes())
                    .map_err(|_| CryptoError::InvalidKey)?;
                let rng = aws_lc_rs::rand::SystemRandom::new();
                Ok(pair.sign(&rng, message).map_err(|_| CryptoError::Internal)?.as_ref().to_vec())
            }
        }
    }

    fn verify(&self, alg: &Algorithms, public_key: &[u8], message: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
        let scheme: &'static dyn signature::VerificationAlgorithm = match alg.signature {
            SignatureAlgorithm::Ed25519 => &signature::ED25519,
            SignatureAlgorithm::EcdsaP256Sha256 => &signature::ECDSA_P256_SHA256_ASN1,
            SignatureAlgorithm::EcdsaP384Sha384 => &signature::ECDSA_P384_SHA384_ASN1,
            SignatureAlgorithm::EcdsaP521Sha512 => &signature::ECDSA_P521_SHA512_ASN1,
            SignatureAlgorithm::Ed448 => return ed448_verify(public_key, message, sig),
        };
        signature::UnparsedPublicKey::new(scheme, public_key)
            .verify(message, sig)
            .map_err(|_| CryptoError::VerificationFailed)
    }

    fn hpke_seal(
        &self,
        alg: &Algorithms,
        public_key: &[u8],
        info: &[u8],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<HpkeCiphertext, CryptoError> {
        if alg.kem == KemAlgorithm::DhKemX448 {
            return x448_seal(self, alg, public_key, info, aad, plaintext);
        }
        let pk = hpke_rs::HpkePublicKey::new(public_key.to_vec());
        let (kem_output, ciphertext) =
            hpke(alg).seal(&pk, info, aad, plaintext, None, None, None).map_err(|_| CryptoError::InvalidKey)?;
        Ok(HpkeCiphertext { kem_output, ciphertext })
    }

    fn hpke_open(
        &self,
        alg: &Algorithms,
        private_key: &HpkePrivateKey,
        kem_output: &[u8],
        info: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Secret, CryptoError> {
        let sk = hpke_rs::HpkePrivateKey::new(private_key.0.as_bytes().to_vec());
        hpke(alg)
            .open(kem_output, &sk, info, aad, ciphertext, None, None, None)
            .map(Secret::new)
            .map_err(|_| CryptoError::DecryptionFailed)
    }

    fn hpke_prepare_info(&self, alg: &Algorithms, info: &[u8]) -> PreparedInfo {
        PreparedInfo { info: info.to_vec(), key_schedule_context: hpke_batch::prepare(alg, info) }
    }

    fn hpke_seal_prepared(
        &self,
        alg: &Algorithms,
        info: &PreparedInfo,
        public_key: &[u8],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<HpkeCiphertext, CryptoError> {
        match &info.key_schedule_context {
            Some(context) => hpke_batch::seal(alg, context, public_key, aad, plaintext),
            None => self.hpke_seal(alg, public_key, &info.info, aad, plaintext),
        }
    }

    fn hpke_setup_sender_and_export(
        &self,
        alg: &Algorithms,
        public_key: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        length: usize,
    ) -> Result<(Vec<u8>, Secret), CryptoError> {
        if alg.kem == KemAlgorithm::DhKemX448 {
            // As in `x448_seal`: our Encap, then hpke-rs's key schedule.
            let mut ephemeral_ikm = Secret::zero(dhkem_x448::KEY_LEN);
            self.random(ephemeral_ikm.as_mut_bytes())?;
            let (shared_secret, kem_output) = dhkem_x448::encap(public_key, ephemeral_ikm.as_bytes())?;
            let context =
                hpke(alg).key_schedule(shared_secret.as_bytes(), info, &[], &[]).map_err(|_| CryptoError::Internal)?;
            let exported = context.export(exporter_context, length).map_err(|_| CryptoError::Internal)?;
            return Ok((kem_output, Secret::new(exported)));
        }
        let pk = hpke_rs::HpkePublicKey::new(public_key.to_vec());
        let (kem_output, exported) = hpke(alg)
            .send_export(&pk, info, None, None, None, exporter_context, length)
            .map_err(|_| CryptoError::InvalidKey)?;
        Ok((kem_output, Secret::new(exported)))
    }

    fn hpke_setup_receiver_and_export(
        &self,
        alg: &Algorithms,
        private_key: &HpkePrivateKey,
        kem_output: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        length: usize,
    ) -> Result<Secret, CryptoError> {
        let sk = hpke_rs::HpkePrivateKey::new(private_key.0.as_bytes().to_vec());
        // Opaque like hpke_open: a bad kem_output must not say why it failed.
        hpke(alg)
            .receiver_export(kem_output, &sk, info, None, None, None, exporter_context, length)
            .map(Secret::new)
            .map_err(|_| CryptoError::DecryptionFailed)
    }

    fn hpke_derive_key_pair(&self, alg: &Algorithms, ikm: &[u8]) -> Result<HpkeKeyPair, CryptoError> {
        if alg.kem == KemAlgorithm::DhKemX448 {
            // hpke-rs 0.8 has no X448 DeriveKeyPair (see `dhkem_x448`).
            let (sk, pk) = dhkem_x448::derive_key_pair(ikm)?;
            return Ok(HpkeKeyPair { private: HpkePrivateKey(sk), public: HpkePublicKey(pk.into()) });
        }
        let pair = hpke(alg).derive_key_pair(ikm).map_err(|_| CryptoError::InvalidKey)?;
        let (sk, pk) = pair.into_keys();
        Ok(HpkeKeyPair {
            private: HpkePrivateKey(Secret::from_slice(sk.as_slice())),
            public: HpkePublicKey(pk.as_slice().into()),
        })
    }

    fn random(&self, out: &mut [u8]) -> Result<(), CryptoError> {
        aws_lc_rs::rand::fill(out).map_err(|_| CryptoError::Internal)
    }
}

/// Pure Ed448 verification, empty context (RFC 8032 §5.2.7). Every failure,
/// a malformed key included, is the same opaque `VerificationFailed`.
fn ed448_verify(public_key: &[u8], message: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
    let key: &[u8; 57] = public_key.try_into().map_err(|_| CryptoError::VerificationFailed)?;
    let key = ed448_goldilocks::VerifyingKey::from_bytes(key).map_err(|_| CryptoError::VerificationFailed)?;
    let sig = ed448_goldilocks::Signature::from_slice(sig).map_err(|_| CryptoError::VerificationFailed)?;
    key.verify_raw(&sig, message).map_err(|_| CryptoError::VerificationFailed)
}

/// HPKE `SealBase` over DHKEM(X448): our `Encap` (hpke-rs 0.8 cannot derive
/// the X448 ephemeral key), then hpke-rs's key schedule and AEAD
/// (RFC 9180 §5.1, §6.1).
fn x448_seal(
    provider: &AwsLcProvider,
    alg: &Algorithms,
    public_key: &[u8],
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<HpkeCiphertext, CryptoError> {
    let mut ephemeral_ikm = Secret::zero(dhkem_x448::KEY_LEN);
    provider.random(ephemeral_ikm.as_mut_bytes())?;
    let (shared_secret, kem_output) = dhkem_x448::encap(public_key, ephemeral_ikm.as_bytes())?;
    let mut context =
        hpke(alg).key_schedule(shared_secret.as_bytes(), info, &[], &[]).map_err(|_| CryptoError::Internal)?;
    let ciphertext = context.seal(aad, plaintext).map_err(|_| CryptoError::Internal)?;
    Ok(HpkeCiphertext { kem_output, ciphertext })
}

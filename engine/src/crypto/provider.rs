//! The small trait the engine calls for every primitive (docs/STYLE.md 6).

use super::keys::{HpkeCiphertext, HpkeKeyPair, HpkePrivateKey, SignatureKeyPair, SignaturePrivateKey};
use super::suite::Algorithms;
use super::{CryptoError, Secret};

/// The primitives MLS needs, for one suite's algorithms at a time.
///
/// The engine reaches every primitive through this trait; only the `crypto`
/// module names a concrete library. Implementations must be `Send + Sync`:
/// one provider serves every thread of a rayon pool.
pub trait CryptoProvider: Send + Sync + std::fmt::Debug {
    /// Whether every algorithm of `alg` is implemented.
    fn supports(&self, alg: &Algorithms) -> bool;

    /// `Hash(data)`.
    fn hash(&self, alg: &Algorithms, data: &[&[u8]]) -> Vec<u8>;

    /// `MAC(key, data)`: HMAC with the suite's hash (RFC 9420 §5.1).
    fn mac(&self, alg: &Algorithms, key: &[u8], data: &[u8]) -> Vec<u8>;

    /// `KDF.Extract(salt, ikm)` (HKDF-Extract, RFC 5869).
    fn kdf_extract(&self, alg: &Algorithms, salt: &[u8], ikm: &[u8]) -> Secret;

    /// `KDF.Expand(prk, info, len)` (HKDF-Expand, RFC 5869).
    fn kdf_expand(&self, alg: &Algorithms, prk: &[u8], info: &[u8], len: usize) -> Result<Secret, CryptoError>;

    /// AEAD encryption; returns ciphertext with the tag appended.
    fn aead_seal(
        &self,
        alg: &Algorithms,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError>;

    /// AEAD decryption.
    fn aead_open(
        &self,
        alg: &Algorithms,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Secret, CryptoError>;

    /// A fresh signature key pair.
    fn signature_key_pair(&self, alg: &Algorithms) -> Result<SignatureKeyPair, CryptoError>;

    /// Signs `message` (the scheme hashes it itself).
    fn sign(&self, alg: &Algorithms, key: &SignaturePrivateKey, message: &[u8]) -> Result<Vec<u8>, CryptoError>;

    /// Verifies `signature` over `message`. Failure is deliberately opaque.
    fn verify(&self, alg: &Algorithms, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), CryptoError>;

    /// HPKE `SealBase(pk, info, aad, plaintext)` (RFC 9180 §6.1).
    fn hpke_seal(
        &self,
        alg: &Algorithms,
        public_key: &[u8],
        info: &[u8],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<HpkeCiphertext, CryptoError>;

    /// HPKE `OpenBase(enc, sk, info, aad, ciphertext)` (RFC 9180 §6.1).
    fn hpke_open(
        &self,
        alg: &Algorithms,
        private_key: &HpkePrivateKey,
        kem_output: &[u8],
        info: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Secret, CryptoError>;

    /// HPKE `SetupBaseS(pk, info)` followed by the context's
    /// `Export(exporter_context, length)` (RFC 9180 §5.1, §5.3). Returns the
    /// KEM output (`enc`) and the exported secret.
    fn hpke_setup_sender_and_export(
        &self,
        alg: &Algorithms,
        public_key: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        length: usize,
    ) -> Result<(Vec<u8>, Secret), CryptoError>;

    /// HPKE `SetupBaseR(enc, sk, info)` followed by the context's
    /// `Export(exporter_context, length)` (RFC 9180 §5.1, §5.3).
    fn hpke_setup_receiver_and_export(
        &self,
        alg: &Algorithms,
        private_key: &HpkePrivateKey,
        kem_output: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        length: usize,
    ) -> Result<Secret, CryptoError>;

    /// HPKE `DeriveKeyPair(ikm)` (RFC 9180 §7.1.3).
    fn hpke_derive_key_pair(&self, alg: &Algorithms, ikm: &[u8]) -> Result<HpkeKeyPair, CryptoError>;

    /// Fills `out` with cryptographically secure random bytes.
    fn random(&self, out: &mut [u8]) -> Result<(), CryptoError>;

    /// Prepares `info` for many [`CryptoProvider::hpke_seal_prepared`]
    /// calls: a provider that can hash it into the key-schedule context once
    /// (RFC 9180 §5.1) returns that context; the default keeps `info`.
    fn hpke_prepare_info(&self, alg: &Algorithms, info: &[u8]) -> PreparedInfo {
        let _ = alg;
        PreparedInfo { info: info.to_vec(), key_schedule_context: None }
    }

    /// `SealBase` with prepared info; by default the same as
    /// [`CryptoProvider::hpke_seal`].
    fn hpke_seal_prepared(
        &self,
        alg: &Algorithms,
        info: &PreparedInfo,
        public_key: &[u8],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<HpkeCiphertext, CryptoError> {
        self.hpke_seal(alg, public_key, &info.info, aad, plaintext)
    }

    /// A fresh HPKE key pair: `DeriveKeyPair` of `Nsk`-sized random input.
    fn hpke_generate_key_pair(&self, alg: &Algorithms) -> Result<HpkeKeyPair, CryptoError> {
        let mut ikm = Secret::zero(alg.hash.len());
        self.random(ikm.as_mut_bytes())?;
        self.hpke_derive_key_pair(alg, ikm.as_bytes())
    }
}

/// HPKE `info` prepared once for seals to many recipients.
#[derive(Clone, Debug)]
pub struct PreparedInfo {
    /// The info itself.
    pub info: Vec<u8>,
    /// RFC 9180 `key_schedule_context` (mode, psk_id_hash, info_hash), when
    /// the provider computed it.
    pub key_schedule_context: Option<Vec<u8>>,
}

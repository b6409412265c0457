//! Cryptographic dependencies of MLS (RFC 9420 §5) and HPKE (RFC 9180).
//!
//! [`CryptoProvider`] is the small trait every primitive goes through;
//! [`AwsLcProvider`] is the default. [`Suite`] binds a provider to one cipher
//! suite and adds the labelled constructions of §5 on top.

mod aws_lc;
mod dhkem_x448;
mod hkdf;
mod hpke_backend;
mod hpke_batch;
mod keys;
mod provider;
mod suite;
#[cfg(test)]
mod tests;

pub use aws_lc::AwsLcProvider;
pub use keys::{
    HpkeCiphertext, HpkeKeyPair, HpkePrivateKey, HpkePublicKey, Secret, SignatureKeyPair, SignaturePrivateKey,
    SignaturePublicKey,
};
pub use provider::{CryptoProvider, PreparedInfo};
pub use suite::{AeadAlgorithm, Algorithms, CipherSuite, HashAlgorithm, KemAlgorithm, SignatureAlgorithm};

use thiserror::Error;

use crate::codec::{Encode, write_bytes, write_varint};

/// A cryptographic operation failed. Verification and decryption failures
/// are deliberately opaque: they say that it failed, never why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The cipher suite is not one this provider implements.
    #[error("unsupported cipher suite {0}")]
    UnsupportedCipherSuite(u16),
    /// An algorithm of the suite is not implemented by this provider.
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    /// A signature did not verify.
    #[error("signature verification failed")]
    VerificationFailed,
    /// An AEAD or HPKE ciphertext did not decrypt.
    #[error("decryption failed")]
    DecryptionFailed,
    /// A key is malformed or not on the curve.
    #[error("invalid key")]
    InvalidKey,
    /// A requested output length is out of range for the primitive.
    #[error("invalid length")]
    InvalidLength,
    /// The underlying library failed (randomness, internal error).
    #[error("crypto library failure")]
    Internal,
}

/// The default provider, shared by everything that is not given another.
pub fn default_provider() -> &'static AwsLcProvider {
    static PROVIDER: AwsLcProvider = AwsLcProvider;
    &PROVIDER
}

/// Byte equality whose running time depends only on the lengths, which are
/// public (a tag or digest is `Nh` bytes), never on where the inputs differ:
/// MAC and tag comparisons (§6.1, §6.2) go through it.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// One cipher suite bound to a provider: the labelled constructions of
/// RFC 9420 §5 on top of the provider's primitives. Internal (the engine's
/// own use, the vector harness and the benches), not part of the stable API.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Suite<'p> {
    provider: &'p dyn CryptoProvider,
    alg: Algorithms,
}

/// Prefix of every MLS label (RFC 9420 §5.1).
const LABEL_PREFIX: &[u8] = b"MLS 1.0 ";

fn write_label(out: &mut Vec<u8>, label: &[u8]) {
    write_varint(out, (LABEL_PREFIX.len() + label.len()) as u64);
    out.extend_from_slice(LABEL_PREFIX);
    out.extend_from_slice(label);
}

/// `struct { opaque label<V>; opaque content<V>; }` with the MLS prefix:
/// the shape of both SignContent and EncryptContext (RFC 9420 §5.1.2, §5.1.3).
fn labelled_content(label: &[u8], content: &[u8]) -> Vec<u8> {
    let mut out = labelled_header(label, content.len(), content.len());
    out.extend_from_slice(content);
    out
}

/// The bytes of [`labelled_content`] before a content of `content_len`
/// bytes: the label and the content's length; `reserve` more bytes of
/// capacity. A caller that encodes a large content right after this (see
/// `messages::content::EncodedPublic`) signs or verifies it uncopied.
pub(crate) fn labelled_header(label: &[u8], content_len: usize, reserve: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(LABEL_PREFIX.len() + label.len() + 5 + reserve);
    write_label(&mut out, label);
    write_varint(&mut out, content_len as u64);
    out
}

impl<'p> Suite<'p> {
    /// Binds `provider` to `suite`, if the provider implements it.
    pub fn new(provider: &'p dyn CryptoProvider, suite: CipherSuite) -> Result<Self, CryptoError> {
        let alg = suite.algorithms().ok_or(CryptoError::UnsupportedCipherSuite(suite.0))?;
        if !provider.supports(&alg) {
            return Err(CryptoError::UnsupportedCipherSuite(suite.0));
        }
        Ok(Self { provider, alg })
    }

    /// The suite.
    pub fn cipher_suite(&self) -> CipherSuite {
        self.alg.suite
    }

    /// Its algorithms.
    pub fn algorithms(&self) -> &Algorithms {
        &self.alg
    }

    /// The provider underneath.
    pub fn provider(&self) -> &'p dyn CryptoProvider {
        self.provider
    }

    /// `Nh`: the hash (and KDF) output length.
    pub fn hash_len(&self) -> usize {
        self.alg.hash.len()
    }

    /// `KDF.Nh` as the `uint16` length `ExpandWithLabel` takes (§5.1). Every
    /// MLS hash is at most 64 bytes (SHA-512), so the conversion is exact.
    pub fn nh(&self) -> u16 {
        self.hash_len() as u16
    }

    /// `Hash(data)`.
    pub fn hash(&self, data: &[u8]) -> Vec<u8> {
        self.provider.hash(&self.alg, &[data])
    }

    /// `MAC(key, data)`.
    pub fn mac(&self, key: &[u8], data: &[u8]) -> Vec<u8> {
        self.provider.mac(&self.alg, key, data)
    }

    /// `KDF.Extract(salt, ikm)`.
    pub fn extract(&self, salt: &[u8], ikm: &[u8]) -> Secret {
        self.provider.kdf_extract(&self.alg, salt, ikm)
    }

    /// `ExpandWithLabel(secret, label, context, length)` (RFC 9420 §5.1).
    pub fn expand_with_label(
        &self,
        secret: &[u8],
        label: &str,
        context: &[u8],
        length: u16,
    ) -> Result<Secret, CryptoError> {
        self.expand_with_label_bytes(secret, label.as_bytes(), context, length)
    }

    /// `ExpandWithLabel` with a label of arbitrary bytes: `MLS-Exporter`
    /// (RFC 9420 §8.5) passes the application's label through, and the
    /// label is `opaque<V>`, not necessarily UTF-8.
    pub fn expand_with_label_bytes(
        &self,
        secret: &[u8],
        label: &[u8],
        context: &[u8],
        length: u16,
    ) -> Result<Secret, CryptoError> {
        let mut info = Vec::with_capacity(2 + 4 + LABEL_PREFIX.len() + label.len() + 4 + context.len());
        length.encode(&mut info);
        write_label(&mut info, label);
        write_bytes(&mut info, context);
        self.provider.kdf_expand(&self.alg, secret, &info, usize::from(length))
    }

    /// `DeriveSecret(secret, label)` (RFC 9420 §5.1).
    pub fn derive_secret(&self, secret: &[u8], label: &str) -> Result<Secret, CryptoError> {
        self.expand_with_label(secret, label, &[], self.nh())
    }

    /// `DeriveTreeSecret(secret, label, generation, length)` (RFC 9420 §9).
    pub fn derive_tree_secret(
        &self,
        secret: &[u8],
        label: &str,
        generation: u32,
        length: u16,
    ) -> Result<Secret, CryptoError> {
        self.expand_with_label(secret, label, &generation.to_be_bytes(), length)
    }

    /// `RefHash(label, value)` (RFC 9420 §5.2); `label` is used as given.
    pub fn ref_hash(&self, label: &[u8], value: &[u8]) -> Vec<u8> {
        let mut input = Vec::with_capacity(label.len() + value.len() + 8);
        write_bytes(&mut input, label);
        write_bytes(&mut input, value);
        self.hash(&input)
    }

    /// `MakeKeyPackageRef(value)` (RFC 9420 §5.2), over an encoded KeyPackage.
    pub fn key_package_ref(&self, key_package: &[u8]) -> Vec<u8> {
        self.ref_hash(b"MLS 1.0 KeyPackage Reference", key_package)
    }

    /// `MakeProposalRef(value)` (RFC 9420 §5.2), over an encoded AuthenticatedContent.
    pub fn proposal_ref(&self, authenticated_content: &[u8]) -> Vec<u8> {
        self.ref_hash(b"MLS 1.0 Proposal Reference", authenticated_content)
    }

    /// `SignWithLabel(key, label, content)` (RFC 9420 §5.1.2).
    pub fn sign_with_label(
        &self,
        key: &SignaturePrivateKey,
        label: &str,
        content: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.provider.sign(&self.alg, key, &labelled_content(label.as_bytes(), content))
    }

    /// `VerifyWithLabel(key, label, content, signature)` (RFC 9420 §5.1.2).
    pub fn verify_with_label(
        &self,
        key: &[u8],
        label: &str,
        content: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        self.verify_labelled(key, &labelled_content(label.as_bytes(), content), signature)
    }

    /// `VerifyWithLabel` over a SignContent already encoded
    /// ([`labelled_header`], then the content).
    pub(crate) fn verify_labelled(&self, key: &[u8], sign_content: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        self.provider.verify(&self.alg, key, sign_content, signature)
    }

    /// `EncryptWithLabel(pk, label, context, plaintext)` (RFC 9420 §5.1.3).
    pub fn encrypt_with_label(
        &self,
        public_key: &[u8],
        label: &str,
        context: &[u8],
        plaintext: &[u8],
    ) -> Result<HpkeCiphertext, CryptoError> {
        let info = labelled_content(label.as_bytes(), context);
        self.provider.hpke_seal(&self.alg, public_key, &info, &[], plaintext)
    }

    /// EncryptWithLabel of one plaintext to many public keys: the
    /// EncryptContext is encoded once, and each recipient costs one HPKE
    /// seal. `map_seal` decides how the seals run (in order, or on a rayon
    /// pool); results keep the order of `public_keys`.
    pub fn encrypt_with_label_batch<'k, M>(
        &self,
        public_keys: &'k [&'k [u8]],
        label: &str,
        context: &[u8],
        plaintext: &[u8],
        map_seal: M,
    ) -> Result<Vec<HpkeCiphertext>, CryptoError>
    where
        M: FnOnce(
            &'k [&'k [u8]],
            &(dyn Fn(&[u8]) -> Result<HpkeCiphertext, CryptoError> + Sync),
        ) -> Vec<Result<HpkeCiphertext, CryptoError>>,
    {
        let info = self.provider.hpke_prepare_info(&self.alg, &labelled_content(label.as_bytes(), context));
        let seal = |pk: &[u8]| self.provider.hpke_seal_prepared(&self.alg, &info, pk, &[], plaintext);
        map_seal(public_keys, &seal).into_iter().collect()
    }

    /// Prepares the EncryptContext of `label` and `context` once, for many
    /// [`Suite::encrypt_with_prepared`] calls with different plaintexts
    /// (a Welcome's GroupSecrets, RFC 9420 §12.4.3.1).
    pub fn prepare_encrypt_context(&self, label: &str, context: &[u8]) -> PreparedInfo {
        self.provider.hpke_prepare_info(&self.alg, &labelled_content(label.as_bytes(), context))
    }

    /// EncryptWithLabel with a prepared EncryptContext.
    pub fn encrypt_with_prepared(
        &self,
        prepared: &PreparedInfo,
        public_key: &[u8],
        plaintext: &[u8],
    ) -> Result<HpkeCiphertext, CryptoError> {
        self.provider.hpke_seal_prepared(&self.alg, prepared, public_key, &[], plaintext)
    }

    /// `DecryptWithLabel(sk, label, context, kem_output, ciphertext)` (RFC 9420 §5.1.3).
    pub fn decrypt_with_label(
        &self,
        private_key: &HpkePrivateKey,
        label: &str,
        context: &[u8],
        ct: &HpkeCiphertext,
    ) -> Result<Secret, CryptoError> {
        let info = labelled_content(label.as_bytes(), context);
        self.provider.hpke_open(&self.alg, private_key, &ct.kem_output, &info, &[], &ct.ciphertext)
    }

    /// `SetupBaseS(public_key, info)` then `context.export(exporter_context,
    /// length)` (RFC 9180 §5.1, §5.3): the KEM output and the exported
    /// secret. External initialization uses it (RFC 9420 §8.3).
    pub fn hpke_setup_sender_and_export(
        &self,
        public_key: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        length: usize,
    ) -> Result<(Vec<u8>, Secret), CryptoError> {
        self.provider.hpke_setup_sender_and_export(&self.alg, public_key, info, exporter_context, length)
    }

    /// `SetupBaseR(kem_output, private_key, info)` then
    /// `context.export(exporter_context, length)` (RFC 9180 §5.1, §5.3).
    pub fn hpke_setup_receiver_and_export(
        &self,
        private_key: &HpkePrivateKey,
        kem_output: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        length: usize,
    ) -> Result<Secret, CryptoError> {
        self.provider.hpke_setup_receiver_and_export(&self.alg, private_key, kem_output, info, exporter_context, length)
    }

    /// HPKE `DeriveKeyPair(ikm)`.
    pub fn derive_key_pair(&self, ikm: &[u8]) -> Result<HpkeKeyPair, CryptoError> {
        self.provider.hpke_derive_key_pair(&self.alg, ikm)
    }

    /// A fresh HPKE key pair.
    pub fn generate_hpke_key_pair(&self) -> Result<HpkeKeyPair, CryptoError> {
        self.provider.hpke_generate_key_pair(&self.alg)
    }

    /// A fresh signature key pair.
    pub fn generate_signature_key_pair(&self) -> Result<SignatureKeyPair, CryptoError> {
        self.provider.signature_key_pair(&self.alg)
    }

    /// `len` random bytes, as a secret.
    pub fn random_secret(&self, len: usize) -> Result<Secret, CryptoError> {
        let mut out = Secret::zero(len);
        self.provider.random(out.as_mut_bytes())?;
        Ok(out)
    }

    /// AEAD seal with the suite's AEAD.
    pub fn aead_seal(&self, key: &[u8], nonce: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.provider.aead_seal(&self.alg, key, nonce, aad, plaintext)
    }

    /// AEAD open with the suite's AEAD.
    pub fn aead_open(&self, key: &[u8], nonce: &[u8], aad: &[u8], ciphertext: &[u8]) -> Result<Secret, CryptoError> {
        self.provider.aead_open(&self.alg, key, nonce, aad, ciphertext)
    }
}

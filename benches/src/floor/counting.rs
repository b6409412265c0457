//! A [`CryptoProvider`] that counts what throng asks of it: the floor's
//! operation counts are tested against these (`benches/tests/floor_counts.rs`).
//!
//! It wraps [`AwsLcProvider`] and forwards every call; the counters are
//! relaxed atomics, read between operations (nothing else runs then).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use throng::crypto::{
    AwsLcProvider, CryptoError, CryptoProvider, HpkeCiphertext, HpkeKeyPair, HpkePrivateKey, PreparedInfo, Secret,
    SignatureKeyPair, SignaturePrivateKey,
};
use throng::internals::crypto::Algorithms;

/// What was counted since the last [`Counts::take`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counted {
    /// `Hash` calls (tree hashes, parent hashes, transcript hashes, references).
    pub hashes: u64,
    /// Bytes hashed by those calls.
    pub hashed_bytes: u64,
    /// Signatures made.
    pub signs: u64,
    /// Signatures verified.
    pub verifies: u64,
    /// HPKE seals (path secrets, GroupSecrets).
    pub seals: u64,
    /// HPKE opens.
    pub opens: u64,
    /// DeriveKeyPair calls.
    pub key_pairs: u64,
}

/// Shared counters.
#[derive(Debug, Default)]
pub struct Counts {
    hashes: AtomicU64,
    hashed_bytes: AtomicU64,
    signs: AtomicU64,
    verifies: AtomicU64,
    seals: AtomicU64,
    opens: AtomicU64,
    key_pairs: AtomicU64,
    /// Input length of every hash since the last take.
    lengths: std::sync::Mutex<Vec<usize>>,
}

impl Counts {
    /// The input length of every hash since the last call; clears them.
    pub fn take_lengths(&self) -> Vec<usize> {
        self.lengths.lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default()
    }

    /// The counts so far; resets them.
    pub fn take(&self) -> Counted {
        let t = |a: &AtomicU64| a.swap(0, Ordering::Relaxed);
        Counted {
            hashes: t(&self.hashes),
            hashed_bytes: t(&self.hashed_bytes),
            signs: t(&self.signs),
            verifies: t(&self.verifies),
            seals: t(&self.seals),
            opens: t(&self.opens),
            key_pairs: t(&self.key_pairs),
        }
    }
}

fn bump(a: &AtomicU64, by: u64) {
    a.fetch_add(by, Ordering::Relaxed);
}

/// [`AwsLcProvider`] with counters.
#[derive(Debug, Default, Clone)]
pub struct CountingProvider {
    inner: AwsLcProvider,
    /// The counters, shared with whoever reads them.
    pub counts: Arc<Counts>,
}

impl CryptoProvider for CountingProvider {
    fn supports(&self, alg: &Algorithms) -> bool {
        self.inner.supports(alg)
    }

    fn hash(&self, alg: &Algorithms, data: &[&[u8]]) -> Vec<u8> {
        bump(&self.counts.hashes, 1);
        let len: usize = data.iter().map(|d| d.len()).sum();
        bump(&self.counts.hashed_bytes, len as u64);
        if let Ok(mut lengths) = self.counts.lengths.lock() {
            lengths.push(len);
        }
        self.inner.hash(alg, data)
    }

    fn mac(&self, alg: &Algorithms, key: &[u8], data: &[u8]) -> Vec<u8> {
        self.inner.mac(alg, key, data)
    }

    fn kdf_extract(&self, alg: &Algorithms, salt: &[u8], ikm: &[u8]) -> Secret {
        self.inner.kdf_extract(alg, salt, ikm)
    }

    fn kdf_expand(&self, alg: &Algorithms, prk: &[u8], info: &[u8], len: usize) -> Result<Secret, CryptoError> {
        self.inner.kdf_expand(alg, prk, info, len)
    }

    fn aead_seal(
        &self,
        alg: &Algorithms,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.inner.aead_seal(alg, key, nonce, aad, plaintext)
    }

    fn aead_open(
        &self,
        alg: &Algorithms,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Secret, CryptoError> {
        self.inner.aead_open(alg, key, nonce, aad, ciphertext)
    }

    fn signature_key_pair(&self, alg: &Algorithms) -> Result<SignatureKeyPair, CryptoError> {
        self.inner.signature_key_pair(alg)
    }

    fn sign(&self, alg: &Algorithms, key: &SignaturePrivateKey, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        bump(&self.counts.signs, 1);
        self.inner.sign(alg, key, message)
    }

    fn verify(&self, alg: &Algorithms, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        bump(&self.counts.verifies, 1);
        self.inner.verify(alg, public_key, message, signature)
    }

    fn hpke_seal(
        &self,
        alg: &Algorithms,
        public_key: &[u8],
        info: &[u8],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<HpkeCiphertext, CryptoError> {
        bump(&self.counts.seals, 1);
        self.inner.hpke_seal(alg, public_key, info, aad, plaintext)
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
        bump(&self.counts.opens, 1);
        self.inner.hpke_open(alg, private_key, kem_output, info, aad, ciphertext)
    }

    fn hpke_setup_sender_and_export(
        &self,
        alg: &Algorithms,
        public_key: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        length: usize,
    ) -> Result<(Vec<u8>, Secret), CryptoError> {
        self.inner.hpke_setup_sender_and_export(alg, public_key, info, exporter_context, length)
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
        self.inner.hpke_setup_receiver_and_export(alg, private_key, kem_output, info, exporter_context, length)
    }

    fn hpke_derive_key_pair(&self, alg: &Algorithms, ikm: &[u8]) -> Result<HpkeKeyPair, CryptoError> {
        bump(&self.counts.key_pairs, 1);
        self.inner.hpke_derive_key_pair(alg, ikm)
    }

    fn random(&self, out: &mut [u8]) -> Result<(), CryptoError> {
        self.inner.random(out)
    }

    fn hpke_prepare_info(&self, alg: &Algorithms, info: &[u8]) -> PreparedInfo {
        self.inner.hpke_prepare_info(alg, info)
    }

    fn hpke_seal_prepared(
        &self,
        alg: &Algorithms,
        info: &PreparedInfo,
        public_key: &[u8],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<HpkeCiphertext, CryptoError> {
        bump(&self.counts.seals, 1);
        self.inner.hpke_seal_prepared(alg, info, public_key, aad, plaintext)
    }

    fn hpke_generate_key_pair(&self, alg: &Algorithms) -> Result<HpkeKeyPair, CryptoError> {
        // Random input, then DeriveKeyPair: one key pair.
        bump(&self.counts.key_pairs, 1);
        self.inner.hpke_generate_key_pair(alg)
    }
}

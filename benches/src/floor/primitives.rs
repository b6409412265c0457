//! The primitives of cipher suite 1 (X25519, AES-128-GCM, SHA-256, Ed25519)
//! straight from aws-lc-rs, each as cheap as the RFCs allow, for the crypto
//! floor. Every function does the real computation on real keys; results
//! are checked or kept so that nothing is optimised away.

use aws_lc_rs::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey, X25519};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::hmac::{HMAC_SHA256, Key, sign};
use aws_lc_rs::signature::{self, ED25519, Ed25519KeyPair, KeyPair as _};

/// Keys the primitives work with, made once per floor run (untimed).
pub struct Keys {
    signer: Ed25519KeyPair,
    recipient: PrivateKey,
    recipient_public: Vec<u8>,
    /// An encapsulated key addressed to `recipient`, for `open`.
    kem_output: Vec<u8>,
    sealed: Vec<u8>,
    aead_key: [u8; 16],
}

/// Anything failing here is a broken crypto library, not a measurement.
fn must<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    #[allow(clippy::expect_used)]
    result.expect("aws-lc-rs primitive failed")
}

/// HMAC-SHA256, the unit of HKDF (Extract, and Expand to ≤ 32 bytes).
pub fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(sign(&Key::new(HMAC_SHA256, key), data).as_ref());
    out
}

/// SHA-256 of `data`.
pub fn hash(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, data).as_ref());
    out
}

fn x25519_public(private: &PrivateKey) -> Vec<u8> {
    must(private.compute_public_key()).as_ref().to_vec()
}

fn dh(private: &PrivateKey, public: &[u8]) -> [u8; 32] {
    must(agreement::agree(private, UnparsedPublicKey::new(&X25519, public), (), |z| {
        let mut out = [0u8; 32];
        out.copy_from_slice(z);
        Ok(out)
    }))
}

/// HPKE key schedule of mode base after the KEM (RFC 9180 §5.1), with the
/// PSK-id and info hashes precomputed (they repeat across a batch): one
/// Extract for the secret, two Expands for key and nonce.
fn key_schedule(shared_secret: &[u8], info_hash: &[u8]) -> ([u8; 16], [u8; 12]) {
    let secret = hmac(shared_secret, info_hash);
    let key = hmac(&secret, b"key");
    let nonce = hmac(&secret, b"base_nonce");
    let mut k = [0u8; 16];
    let mut n = [0u8; 12];
    k.copy_from_slice(&key[..16]);
    n.copy_from_slice(&nonce[..12]);
    (k, n)
}

/// DHKEM ExtractAndExpand (RFC 9180 §4.1): one Extract, one Expand.
fn extract_and_expand(dh: &[u8], kem_context: &[u8]) -> [u8; 32] {
    let prk = hmac(b"eae_prk", dh);
    hmac(&prk, kem_context)
}

fn aead_seal(key: &[u8; 16], nonce: [u8; 12], plaintext: &[u8]) -> Vec<u8> {
    let key = LessSafeKey::new(must(UnboundKey::new(&AES_128_GCM, key)));
    let mut buffer = plaintext.to_vec();
    must(key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(b"aad"), &mut buffer));
    buffer
}

impl Keys {
    /// Fresh keys.
    pub fn new() -> Self {
        let signer = must(Ed25519KeyPair::generate());
        let recipient = must(PrivateKey::generate(&X25519));
        let recipient_public = x25519_public(&recipient);
        let mut keys =
            Self { signer, recipient, recipient_public, kem_output: Vec::new(), sealed: Vec::new(), aead_key: [7; 16] };
        let (kem_output, sealed) = keys.seal_to_recipient(&[1; 32]);
        keys.kem_output = kem_output;
        keys.sealed = sealed;
        keys
    }

    fn seal_to_recipient(&self, plaintext: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let ephemeral = must(PrivateKey::generate(&X25519));
        let enc = x25519_public(&ephemeral);
        let z = dh(&ephemeral, &self.recipient_public);
        let context = [enc.as_slice(), &self.recipient_public].concat();
        let shared = extract_and_expand(&z, &context);
        let (key, nonce) = key_schedule(&shared, &[0; 32]);
        (enc, aead_seal(&key, nonce, plaintext))
    }

    /// One HPKE SealBase of `plaintext` (RFC 9180 §6.1): an ephemeral key
    /// pair, one DH, ExtractAndExpand, the key schedule, AES-GCM.
    pub fn seal(&self, plaintext: &[u8]) -> usize {
        let (enc, ct) = self.seal_to_recipient(plaintext);
        enc.len() + ct.len()
    }

    /// One HPKE OpenBase of a 32-byte secret: one DH, ExtractAndExpand, the
    /// key schedule, AES-GCM open (checked).
    pub fn open(&self) {
        let z = dh(&self.recipient, &self.kem_output);
        let context = [self.kem_output.as_slice(), &self.recipient_public].concat();
        let shared = extract_and_expand(&z, &context);
        let (key, nonce) = key_schedule(&shared, &[0; 32]);
        let key = LessSafeKey::new(must(UnboundKey::new(&AES_128_GCM, &key)));
        let mut buffer = self.sealed.clone();
        must(key.open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(b"aad"), &mut buffer));
    }

    /// DeriveKeyPair for DHKEM(X25519) (RFC 9180 §7.1.3): Extract, Expand,
    /// one scalar multiplication for the public key.
    pub fn derive_key_pair(&self, ikm: &[u8; 32]) -> Vec<u8> {
        let prk = hmac(b"dkp_prk", ikm);
        let sk = hmac(&prk, b"sk");
        x25519_public(&must(PrivateKey::from_private_key(&X25519, &sk)))
    }

    /// An Ed25519 signature over `len` bytes.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.signer.sign(message).as_ref().to_vec()
    }

    /// Verifies an Ed25519 signature over `message` (made untimed).
    pub fn verify(&self, message: &[u8], signature_bytes: &[u8]) {
        must(
            signature::UnparsedPublicKey::new(&ED25519, self.signer.public_key().as_ref())
                .verify(message, signature_bytes),
        );
    }

    /// AES-128-GCM over `plaintext` (a Welcome's GroupInfo).
    pub fn aead(&self, plaintext: &[u8]) -> usize {
        aead_seal(&self.aead_key, [0; 12], plaintext).len()
    }
}

impl Default for Keys {
    fn default() -> Self {
        Self::new()
    }
}

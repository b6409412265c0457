//! SFrame key derivation (RFC 9605 §4.4.2) and the frame AEADs (§4.4.3,
//! §4.4.4, §4.5): AES-GCM, and AES-CTR with a truncated HMAC (§4.5.1).
//!
//! Like `state/sealed.rs`, this calls aws-lc-rs directly rather than going
//! through `CryptoProvider` (docs/STYLE.md 6 names the exception): the
//! frame ciphers belong to RFC 9605, not to an MLS cipher suite, and the
//! media path needs what the provider trait does not offer, a key schedule
//! prepared once per key and reused for every frame, sealing and opening in
//! place, and no allocation per frame.
//!
//! Secrets: the derived `sframe_key` and `sframe_salt` bytes live in
//! zeroizing buffers; the prepared AES and HMAC states are aws-lc's, which
//! clears them when they are freed (`OPENSSL_free` cleanses, `HMAC_CTX_cleanup`
//! zeroes, aws-lc-rs zeroizes its `AES_KEY`s on drop).

use std::ops::Range;

use aws_lc_rs::{aead, cipher, hmac};
use zeroize::{Zeroize, Zeroizing};

use super::header::{Header, MAX_HEADER_LEN};
use super::suite::{NONCE_LEN, SframeHash, SframeSuite};
use crate::error::SframeError;

/// The longest frame (header, ciphertext and tag) the key-level API takes.
/// AES-CTR here counts blocks in the nonce's last 32 bits (§4.5.1), and
/// AES-GCM allows 2^36 - 32 bytes; a gibibyte stays far inside both, and a
/// caller bounds frames tighter still ([`super::MlsKeyRingConfig`]).
pub const MAX_FRAME_LEN: usize = 1 << 30;

/// Metadata and header that fit here are joined on the stack for the GCM
/// AAD (which aws-lc takes as one slice); longer metadata is joined on the
/// heap.
const STACK_AAD: usize = 256;

fn hmac_alg(hash: SframeHash) -> hmac::Algorithm {
    match hash {
        SframeHash::Sha256 => hmac::HMAC_SHA256,
        SframeHash::Sha512 => hmac::HMAC_SHA512,
    }
}

/// `HKDF-Extract("", base_key)` (RFC 9605 §4.4.2): the `sframe_secret`.
pub(crate) fn sframe_secret(hash: SframeHash, base_key: &[u8]) -> Zeroizing<Vec<u8>> {
    // An empty salt is HashLen zeros: HMAC zero-pads its key (RFC 5869 §2.2).
    Zeroizing::new(hmac::sign(&hmac::Key::new(hmac_alg(hash), &[]), base_key).as_ref().to_vec())
}

/// The `sframe_secret` prepared as an HMAC key: every KID's key and salt
/// expand from it (§4.4.2), so a key ring prepares it once per epoch and a
/// sender's derivation is then four HMACs and the key schedules. aws-lc
/// clears the HMAC state when it is dropped.
pub(crate) struct SecretPrk {
    hash: SframeHash,
    prk: hmac::Key,
}

impl SecretPrk {
    /// `HKDF-Extract("", base_key)`, prepared.
    pub(crate) fn extract(hash: SframeHash, base_key: &[u8]) -> Self {
        Self::from_prk(hash, &sframe_secret(hash, base_key))
    }

    fn from_prk(hash: SframeHash, prk: &[u8]) -> Self {
        Self { hash, prk: hmac::Key::new(hmac_alg(hash), prk) }
    }

    /// `HKDF-Expand(prk, info, out.len())` (RFC 5869 §2.3), into `out`:
    /// `T(i) = HMAC(PRK, T(i-1) | info | i)`.
    fn expand(&self, info: &[u8], out: &mut [u8]) -> Result<(), SframeError> {
        let nh = self.hash.output_len();
        if out.len() > 255 * nh {
            return Err(SframeError::InvalidArgument("HKDF-Expand length beyond 255 * Nh"));
        }
        let mut previous: Option<hmac::Tag> = None;
        for (i, chunk) in out.chunks_mut(nh).enumerate() {
            let mut ctx = hmac::Context::with_key(&self.prk);
            if let Some(t) = &previous {
                ctx.update(t.as_ref());
            }
            ctx.update(info);
            // i < 255, checked above.
            ctx.update(&[(i + 1) as u8]);
            let t = ctx.sign();
            chunk.copy_from_slice(&t.as_ref()[..chunk.len()]);
            previous = Some(t);
        }
        Ok(())
    }

    /// The key and salt of a KID (RFC 9605 §4.4.2).
    pub(crate) fn derive_key_salt(
        &self,
        suite: SframeSuite,
        kid: u64,
    ) -> Result<(Zeroizing<Vec<u8>>, [u8; NONCE_LEN]), SframeError> {
        let mut key = Zeroizing::new(vec![0u8; suite.key_len()]);
        let (key_label, n) = label(b"key ", kid, suite);
        self.expand(&key_label[..n], &mut key)?;
        let mut salt = [0u8; NONCE_LEN];
        let (salt_label, n) = label(b"salt ", kid, suite);
        self.expand(&salt_label[..n], &mut salt)?;
        Ok((key, salt))
    }
}

/// `"SFrame 1.0 Secret " + kind + KID + cipher_suite` (RFC 9605 §4.4.2):
/// the KID as 8 bytes and the suite as 2, big-endian.
pub(crate) fn label(kind: &[u8], kid: u64, suite: SframeSuite) -> ([u8; 33], usize) {
    let mut out = [0u8; 33];
    let prefix = b"SFrame 1.0 Secret ";
    let mut n = 0;
    for part in [&prefix[..], kind, &kid.to_be_bytes(), &suite.id().to_be_bytes()] {
        out[n..n + part.len()].copy_from_slice(part);
        n += part.len();
    }
    (out, n)
}

/// The prepared AEAD of one key.
enum FrameCipher {
    Gcm(aead::LessSafeKey),
    /// AES-CTR and HMAC (§4.5.1). Boxed: the two states take about 1.7 KB,
    /// the GCM handle a pointer.
    CtrHmac(Box<CtrHmacKey>),
}

/// The encryption subkey's AES schedule and the authentication subkey's
/// HMAC state (§4.5.1).
struct CtrHmacKey {
    ctr: cipher::EncryptingKey,
    mac: hmac::Key,
}

/// One KID's key (RFC 9605 §4.4.1): the `sframe_key` prepared for its
/// AEAD and the `sframe_salt`. Stateless: it seals under any counter it is
/// given and opens any frame for its KID; [`super::SframeSender`] and
/// [`super::SframeReceiver`] add the counter and the replay window.
pub struct SframeKey {
    suite: SframeSuite,
    kid: u64,
    salt: Zeroizing<[u8; NONCE_LEN]>,
    cipher: FrameCipher,
}

impl std::fmt::Debug for SframeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SframeKey").field("suite", &self.suite).field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl SframeKey {
    /// Derives the key of `kid` from its `base_key` (RFC 9605 §4.4.2).
    pub fn derive(suite: SframeSuite, kid: u64, base_key: &[u8]) -> Result<Self, SframeError> {
        Self::from_secret(suite, kid, &SecretPrk::extract(suite.hash(), base_key))
    }

    /// Derives the key of `kid` from an already extracted `sframe_secret`
    /// (one extraction serves every KID of a base key).
    pub(crate) fn from_secret(suite: SframeSuite, kid: u64, sframe_secret: &SecretPrk) -> Result<Self, SframeError> {
        let (key, mut salt) = sframe_secret.derive_key_salt(suite, kid)?;
        let out = Self::from_key_salt(suite, kid, &key, &salt);
        salt.zeroize();
        out
    }

    /// A key from its `sframe_key` (`Nk` bytes) and `sframe_salt` (`Nn`
    /// bytes) as given, for known-answer tests and key management of the
    /// caller's own.
    pub fn from_key_salt(suite: SframeSuite, kid: u64, key: &[u8], salt: &[u8]) -> Result<Self, SframeError> {
        if key.len() != suite.key_len() {
            return Err(SframeError::KeyLength { expected: suite.key_len(), got: key.len() });
        }
        let salt: [u8; NONCE_LEN] =
            salt.try_into().map_err(|_| SframeError::KeyLength { expected: NONCE_LEN, got: salt.len() })?;
        let bad_key = |_| SframeError::KeyLength { expected: suite.key_len(), got: key.len() };
        let cipher = if suite.is_ctr_hmac() {
            // derive_subkeys (§4.5.1): the first Nka bytes encrypt, the
            // remaining Nh authenticate.
            let (enc_key, auth_key) = key.split_at(suite.aes_key_len());
            let aes = if suite.aes_key_len() == 16 { &cipher::AES_128 } else { &cipher::AES_256 };
            let ctr = cipher::EncryptingKey::ctr(cipher::UnboundCipherKey::new(aes, enc_key).map_err(bad_key)?)
                .map_err(bad_key)?;
            FrameCipher::CtrHmac(Box::new(CtrHmacKey { ctr, mac: hmac::Key::new(hmac_alg(suite.hash()), auth_key) }))
        } else {
            let aes = if suite.aes_key_len() == 16 { &aead::AES_128_GCM } else { &aead::AES_256_GCM };
            FrameCipher::Gcm(aead::LessSafeKey::new(aead::UnboundKey::new(aes, key).map_err(bad_key)?))
        };
        Ok(Self { suite, kid, salt: Zeroizing::new(salt), cipher })
    }

    /// Its KID.
    pub fn kid(&self) -> u64 {
        self.kid
    }

    /// Its suite.
    pub fn suite(&self) -> SframeSuite {
        self.suite
    }

    /// The nonce of `ctr`: the salt XOR the counter as an `Nn`-byte
    /// big-endian integer (RFC 9605 §4.4.3).
    pub fn nonce(&self, ctr: u64) -> [u8; NONCE_LEN] {
        let mut nonce = *self.salt;
        for (n, c) in nonce[NONCE_LEN - 8..].iter_mut().zip(ctr.to_be_bytes()) {
            *n ^= c;
        }
        nonce
    }

    /// Encrypts `plaintext` under `ctr` (RFC 9605 §4.4.3): `out` is
    /// cleared and receives the header, the ciphertext and the tag. The
    /// caller guarantees that it never uses a counter twice with this key;
    /// [`super::SframeSender`] does. Allocates only if `out` is too small.
    pub fn seal_into(&self, ctr: u64, plaintext: &[u8], metadata: &[u8], out: &mut Vec<u8>) -> Result<(), SframeError> {
        let header = Header::new(self.kid, ctr).encode();
        let header = header.as_bytes();
        let total = header.len() + plaintext.len() + self.suite.tag_len();
        if total > MAX_FRAME_LEN {
            return Err(SframeError::FrameTooLong { len: total, max: MAX_FRAME_LEN });
        }
        out.clear();
        out.reserve(total);
        out.extend_from_slice(header);
        out.extend_from_slice(plaintext);
        let nonce = self.nonce(ctr);
        let (head, body) = out.split_at_mut(header.len());
        match &self.cipher {
            FrameCipher::Gcm(key) => {
                let tag = with_aad(head, metadata, |aad| {
                    key.seal_in_place_separate_tag(
                        aead::Nonce::assume_unique_for_key(nonce),
                        aead::Aad::from(aad),
                        body,
                    )
                })
                .map_err(|_| SframeError::InvalidArgument("AES-GCM refused the frame"))?;
                out.extend_from_slice(tag.as_ref());
            }
            FrameCipher::CtrHmac(k) => {
                ctr_apply(&k.ctr, &nonce, body)?;
                let tag = compute_tag(&k.mac, self.suite.tag_len(), &nonce, head, metadata, body);
                out.extend_from_slice(&tag.as_ref()[..self.suite.tag_len()]);
            }
        }
        Ok(())
    }

    /// Opens `frame` (header, ciphertext, tag) in place, given its decoded
    /// header and the header's length; returns where the plaintext now is
    /// inside `frame`. The KID is not checked here: the caller chose this
    /// key by it.
    pub fn open_in_place(
        &self,
        header: &Header,
        header_len: usize,
        frame: &mut [u8],
        metadata: &[u8],
    ) -> Result<Range<usize>, SframeError> {
        let tag_len = self.suite.tag_len();
        if frame.len() > MAX_FRAME_LEN {
            return Err(SframeError::FrameTooLong { len: frame.len(), max: MAX_FRAME_LEN });
        }
        let (head, body) = frame.split_at_mut_checked(header_len).ok_or(SframeError::HeaderTruncated)?;
        let ct_len = body.len().checked_sub(tag_len).ok_or(SframeError::FrameTooShort)?;
        let (ct, tag) = body.split_at_mut(ct_len);
        let nonce = self.nonce(header.ctr);
        match &self.cipher {
            FrameCipher::Gcm(key) => {
                with_aad(head, metadata, |aad| {
                    key.open_in_place_separate_tag(
                        aead::Nonce::assume_unique_for_key(nonce),
                        aead::Aad::from(aad),
                        tag,
                        ct,
                    )
                    .map(|_| ())
                })
                .map_err(|_| SframeError::Authentication)?;
            }
            FrameCipher::CtrHmac(k) => {
                let candidate = compute_tag(&k.mac, tag_len, &nonce, head, metadata, ct);
                if !crate::crypto::constant_time_eq(&candidate.as_ref()[..tag_len], tag) {
                    return Err(SframeError::Authentication);
                }
                ctr_apply(&k.ctr, &nonce, ct)?;
            }
        }
        Ok(header_len..header_len + ct_len)
    }

    /// Opens `frame` (header, ciphertext, tag) into `out`, which is cleared
    /// and receives the plaintext; `frame` is left as it is. Allocates only
    /// if `out` is too small.
    pub fn open_into(
        &self,
        header: &Header,
        header_len: usize,
        frame: &[u8],
        metadata: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SframeError> {
        let tag_len = self.suite.tag_len();
        if frame.len() > MAX_FRAME_LEN {
            return Err(SframeError::FrameTooLong { len: frame.len(), max: MAX_FRAME_LEN });
        }
        let (head, body) = frame.split_at_checked(header_len).ok_or(SframeError::HeaderTruncated)?;
        let ct_len = body.len().checked_sub(tag_len).ok_or(SframeError::FrameTooShort)?;
        let (ct, tag) = body.split_at(ct_len);
        let nonce = self.nonce(header.ctr);
        out.clear();
        match &self.cipher {
            FrameCipher::Gcm(key) => {
                out.resize(ct_len, 0);
                let opened = with_aad(head, metadata, |aad| {
                    key.open_separate_gather(
                        aead::Nonce::assume_unique_for_key(nonce),
                        aead::Aad::from(aad),
                        ct,
                        tag,
                        out,
                    )
                });
                if opened.is_err() {
                    out.clear();
                    return Err(SframeError::Authentication);
                }
            }
            FrameCipher::CtrHmac(k) => {
                let candidate = compute_tag(&k.mac, tag_len, &nonce, head, metadata, ct);
                if !crate::crypto::constant_time_eq(&candidate.as_ref()[..tag_len], tag) {
                    return Err(SframeError::Authentication);
                }
                out.extend_from_slice(ct);
                ctr_apply(&k.ctr, &nonce, out)?;
            }
        }
        Ok(())
    }
}

/// Runs `f` on `header + metadata` as one slice: the header alone when
/// there is no metadata, else joined on the stack (or the heap when long).
fn with_aad<T>(header: &[u8], metadata: &[u8], f: impl FnOnce(&[u8]) -> T) -> T {
    if metadata.is_empty() {
        return f(header);
    }
    let len = header.len() + metadata.len();
    if len <= STACK_AAD {
        let mut buf = [0u8; STACK_AAD];
        buf[..header.len()].copy_from_slice(header);
        buf[header.len()..len].copy_from_slice(metadata);
        f(&buf[..len])
    } else {
        let mut buf = Vec::with_capacity(len);
        buf.extend_from_slice(header);
        buf.extend_from_slice(metadata);
        f(&buf)
    }
}

/// AES-CTR from `nonce + 0x00000000` (RFC 9605 §4.5.1), in place; the same
/// operation encrypts and decrypts.
fn ctr_apply(aes: &cipher::EncryptingKey, nonce: &[u8; NONCE_LEN], data: &mut [u8]) -> Result<(), SframeError> {
    let mut iv = [0u8; 16];
    iv[..NONCE_LEN].copy_from_slice(nonce);
    aes.less_safe_encrypt(data, cipher::EncryptionContext::Iv128(iv.into()))
        .map(|_| ())
        .map_err(|_| SframeError::InvalidArgument("AES-CTR refused the frame"))
}

/// `compute_tag` (RFC 9605 §4.5.1), untruncated: HMAC over the lengths of
/// the AAD, the ciphertext and the tag (8 bytes each), the nonce, the AAD
/// (header, then metadata) and the ciphertext.
fn compute_tag(
    mac: &hmac::Key,
    tag_len: usize,
    nonce: &[u8; NONCE_LEN],
    header: &[u8],
    metadata: &[u8],
    ct: &[u8],
) -> hmac::Tag {
    // The fixed-size prefix and the header in one update: the lengths (24
    // bytes), the nonce (12) and the header (at most 17).
    let mut prefix = [0u8; 24 + NONCE_LEN + MAX_HEADER_LEN];
    prefix[..8].copy_from_slice(&((header.len() + metadata.len()) as u64).to_be_bytes());
    prefix[8..16].copy_from_slice(&(ct.len() as u64).to_be_bytes());
    prefix[16..24].copy_from_slice(&(tag_len as u64).to_be_bytes());
    prefix[24..24 + NONCE_LEN].copy_from_slice(nonce);
    let mut ctx = hmac::Context::with_key(mac);
    match prefix.get_mut(24 + NONCE_LEN..24 + NONCE_LEN + header.len()) {
        Some(slot) => {
            slot.copy_from_slice(header);
            ctx.update(&prefix[..24 + NONCE_LEN + header.len()]);
        }
        // Only the vector API passes a longer AAD as the "header".
        None => {
            ctx.update(&prefix[..24 + NONCE_LEN]);
            ctx.update(header);
        }
    }
    if !metadata.is_empty() {
        ctx.update(metadata);
    }
    ctx.update(ct);
    ctx.sign()
}

/// The composite AEAD of §4.5.1 on its own (key = `enc_key + auth_key`),
/// for the AES-CTR-HMAC known-answer vectors (Appendix C.2): returns
/// `ct + tag`.
pub fn ctr_hmac_encrypt(
    suite: SframeSuite,
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, SframeError> {
    with_ctr_hmac_key(suite, key, nonce, |k, nonce| {
        let mut out = plaintext.to_vec();
        ctr_apply(&k.ctr, nonce, &mut out)?;
        let tag = compute_tag(&k.mac, suite.tag_len(), nonce, aad, &[], &out);
        out.extend_from_slice(&tag.as_ref()[..suite.tag_len()]);
        Ok(out)
    })
}

/// The inverse of [`ctr_hmac_encrypt`]: checks the tag in constant time,
/// then decrypts.
pub fn ctr_hmac_decrypt(
    suite: SframeSuite,
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, SframeError> {
    with_ctr_hmac_key(suite, key, nonce, |k, nonce| {
        let tag_len = suite.tag_len();
        let ct_len = ciphertext.len().checked_sub(tag_len).ok_or(SframeError::FrameTooShort)?;
        let (ct, tag) = ciphertext.split_at(ct_len);
        let candidate = compute_tag(&k.mac, tag_len, nonce, aad, &[], ct);
        if !crate::crypto::constant_time_eq(&candidate.as_ref()[..tag_len], tag) {
            return Err(SframeError::Authentication);
        }
        let mut out = ct.to_vec();
        ctr_apply(&k.ctr, nonce, &mut out)?;
        Ok(out)
    })
}

/// Prepares `key` (`enc_key + auth_key`) of a CTR+HMAC suite and checks the
/// nonce's length, for the two functions above.
fn with_ctr_hmac_key<T>(
    suite: SframeSuite,
    key: &[u8],
    nonce: &[u8],
    f: impl FnOnce(&CtrHmacKey, &[u8; NONCE_LEN]) -> Result<T, SframeError>,
) -> Result<T, SframeError> {
    let prepared = SframeKey::from_key_salt(suite, 0, key, &[0u8; NONCE_LEN])?;
    let nonce: &[u8; NONCE_LEN] =
        nonce.try_into().map_err(|_| SframeError::KeyLength { expected: NONCE_LEN, got: nonce.len() })?;
    let FrameCipher::CtrHmac(k) = &prepared.cipher else {
        return Err(SframeError::UnsupportedSuite(suite.id()));
    };
    f(k, nonce)
}

/// The length of a frame's header as this key would write it, for callers
/// sizing buffers.
pub const fn max_overhead(suite: SframeSuite) -> usize {
    MAX_HEADER_LEN + suite.tag_len()
}

//! Sealed state: an export encrypted and authenticated under a key the
//! caller keeps (format, guarantees and key rotation: the parent module,
//! "Sealed state").
//!
//! This module calls aws-lc-rs directly instead of going through
//! [`CryptoProvider`] (an exception to docs/STYLE.md 6): the sealing AEAD
//! is a property of the storage format, fixed whatever provider a group
//! runs with, and the provider's trait has no suite-independent AEAD nor a
//! randomized-nonce seal. aws-lc-rs is the engine's own dependency either
//! way.

use std::sync::Arc;

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::codec::{DecodeError, Reader};
use crate::crypto::{CipherSuite, CryptoError, CryptoProvider};
use crate::error::{Error, StateError};
use crate::group::{Group, GroupConfig};
use crate::public_group::{PublicGroup, PublicGroupConfig};

use super::{MAGIC, StateKind, peek_header, read};

/// The first four bytes of every sealed state.
pub const SEALED_MAGIC: [u8; 4] = *b"THRS";

/// The sealed format version this build writes and reads (version 1:
/// AES-256-GCM, 96-bit random nonce, 128-bit tag).
pub const SEALED_VERSION: u16 = 1;

/// Bytes of the sealed header: magic, sealed version, kind, cipher suite,
/// key id.
pub(crate) const SEALED_HEADER_LEN: usize = 4 + 2 + 1 + 2 + 4;

/// Bytes of the AES-256-GCM tag.
const TAG_LEN: usize = 16;

/// What sealing adds to the plain export: header, nonce and tag.
pub const SEALED_OVERHEAD: usize = SEALED_HEADER_LEN + NONCE_LEN + TAG_LEN;

/// A key that seals exported state: 32 bytes for AES-256-GCM and the
/// `key_id` written in the clear into every state it seals, so that a
/// backend holding several keys (during a rotation) knows which one opens
/// a record. Zeroized on drop, redacted in `Debug`, not `Clone`.
pub struct StateKey {
    id: u32,
    key: Zeroizing<[u8; StateKey::LEN]>,
}

impl StateKey {
    /// Bytes of the key.
    pub const LEN: usize = 32;

    /// A key from the caller's bytes (from a KMS or a secrets manager),
    /// known by `id`. The caller's copy of the bytes stays the caller's to
    /// erase.
    pub fn new(id: u32, key: &[u8; Self::LEN]) -> Self {
        Self { id, key: Zeroizing::new(*key) }
    }

    /// A fresh random key from the operating system's generator (aws-lc-rs
    /// `SystemRandom`), known by `id`. Store it with
    /// [`StateKey::as_bytes`]: without it, nothing sealed under it opens.
    pub fn generate(id: u32) -> Result<Self, Error> {
        let mut key = Zeroizing::new([0u8; Self::LEN]);
        SystemRandom::new().fill(&mut key[..]).map_err(|_| CryptoError::Internal)?;
        Ok(Self { id, key })
    }

    /// The key id written into the sealed header.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The key bytes, for the caller to store.
    pub fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.key
    }

    fn aead(&self) -> Result<RandomizedNonceKey, Error> {
        // Cannot fail for a 32-byte key; a failure is the library's.
        RandomizedNonceKey::new(&AES_256_GCM, &self.key[..]).map_err(|_| CryptoError::Internal.into())
    }
}

impl std::fmt::Debug for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateKey").field("id", &self.id).finish_non_exhaustive()
    }
}

/// What the header of a sealed state claims (in the clear, and
/// authenticated: it is part of the AEAD's associated data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealedHeader {
    /// The sealed format version the bytes were written in.
    pub sealed_version: u16,
    /// The kind byte of the state inside ([`StateKind`] as `u8`).
    pub kind: u8,
    /// The group's cipher suite.
    pub cipher_suite: CipherSuite,
    /// The id of the [`StateKey`] the state was sealed under.
    pub key_id: u32,
}

/// Reads the header of a sealed state without the key (to pick the key
/// by its id, or to sort stored states). Not authenticated until the state
/// is opened. A plain export is [`StateError::NotSealed`].
pub fn peek_sealed_header(bytes: &[u8]) -> Result<SealedHeader, StateError> {
    let mut r = Reader::new(bytes);
    let magic: [u8; 4] = r.take_array().map_err(StateError::Corrupt)?;
    if magic == MAGIC {
        return Err(StateError::NotSealed);
    }
    if magic != SEALED_MAGIC {
        return Err(StateError::NotState);
    }
    Ok(SealedHeader {
        sealed_version: read(&mut r)?,
        kind: read(&mut r)?,
        cipher_suite: read(&mut r)?,
        key_id: read(&mut r)?,
    })
}

/// The associated data: the sealed header, then the caller's context. The
/// header has a fixed length in a given sealed version, so the split is
/// unambiguous.
fn associated_data(header: &[u8], context: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + context.len());
    aad.extend_from_slice(header);
    aad.extend_from_slice(context);
    aad
}

/// Seals a plain export (of [`Group::export`] or [`PublicGroup::export`])
/// under `key`, bound to `context` (format: [`crate::state`], "Sealed
/// state"). With [`open_sealed`], this rewraps stored states under a new
/// key without importing them. The result holds no secret in the clear.
pub fn seal_state(export: &[u8], key: &StateKey, context: &[u8]) -> Result<Vec<u8>, Error> {
    let plain = peek_header(export)?;
    let aead = key.aead()?;
    // Sized exactly, so that no reallocation leaves plaintext behind; and
    // zeroizing until the plaintext in it has been encrypted.
    let mut out = Zeroizing::new(Vec::with_capacity(SEALED_OVERHEAD + export.len()));
    out.extend_from_slice(&SEALED_MAGIC);
    out.extend_from_slice(&SEALED_VERSION.to_be_bytes());
    out.push(plain.kind);
    out.extend_from_slice(&plain.cipher_suite.0.to_be_bytes());
    out.extend_from_slice(&key.id.to_be_bytes());
    let aad = associated_data(&out, context);
    out.extend_from_slice(&[0; NONCE_LEN]);
    out.extend_from_slice(export);
    let body = SEALED_HEADER_LEN + NONCE_LEN;
    let (nonce, tag) = aead
        .seal_in_place_separate_tag(Aad::from(aad.as_slice()), &mut out[body..])
        .map_err(|_| CryptoError::Internal)?;
    out[SEALED_HEADER_LEN..body].copy_from_slice(nonce.as_ref());
    out.extend_from_slice(tag.as_ref());
    debug_assert_eq!(out.len(), out.capacity(), "sealed state outgrew its reservation");
    Ok(std::mem::take(&mut *out))
}

/// Opens a sealed state under `key` and `context` into the plain export,
/// in a zeroizing buffer, for [`Group::import`] or [`PublicGroup::import`]
/// (or to reseal it under another key with [`seal_state`]).
///
/// Checks, in order: magic ([`StateError::NotSealed`] for a plain export,
/// [`StateError::NotState`] otherwise), sealed version
/// ([`StateError::UnsupportedVersion`]), key id
/// ([`StateError::WrongKeyId`]), length ([`StateError::Corrupt`]), then the
/// AEAD: a wrong key, a wrong context and damaged or forged bytes are all
/// [`StateError::SealBroken`], which by design cannot tell them apart.
pub fn open_sealed(bytes: &[u8], key: &StateKey, context: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
    open(bytes, None, key, context)
}

fn open(bytes: &[u8], kind: Option<StateKind>, key: &StateKey, context: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
    let header = peek_sealed_header(bytes)?;
    if header.sealed_version != SEALED_VERSION {
        return Err(StateError::UnsupportedVersion { found: header.sealed_version, expected: SEALED_VERSION }.into());
    }
    if let Some(kind) = kind.filter(|&k| header.kind != k as u8) {
        return Err(StateError::WrongKind { found: header.kind, expected: kind as u8 }.into());
    }
    if header.key_id != key.id {
        return Err(StateError::WrongKeyId { found: header.key_id, expected: key.id }.into());
    }
    if bytes.len() < SEALED_OVERHEAD {
        return Err(
            StateError::Corrupt(DecodeError::Truncated { needed: SEALED_OVERHEAD, available: bytes.len() }).into()
        );
    }
    let aead = key.aead()?;
    let (header_bytes, rest) = bytes.split_at(SEALED_HEADER_LEN);
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Internal)?;
    let aad = associated_data(header_bytes, context);
    // Decrypted in place in a zeroizing buffer: the plaintext never sits
    // in memory that is freed without being erased, on success or failure.
    let mut plain = Zeroizing::new(ciphertext.to_vec());
    let len =
        aead.open_in_place(nonce, Aad::from(aad.as_slice()), &mut plain[..]).map_err(|_| StateError::SealBroken)?.len();
    plain.truncate(len);
    // The header is authenticated, so this holds for anything sealed by
    // `seal_state`; it fails only for bytes sealed otherwise under the key.
    let inner = peek_header(&plain)?;
    if inner.kind != header.kind || inner.cipher_suite != header.cipher_suite {
        return Err(
            StateError::Inconsistent("the sealed header's kind or cipher suite differs from the state's").into()
        );
    }
    Ok(plain)
}

impl Group {
    /// Exports this member's state sealed under `key` and bound to
    /// `context` (AES-256-GCM, a fresh random nonce each time; format and
    /// what to pass as context: [`crate::state`], "Sealed state"). The
    /// bytes can sit in any store: without the key they can be neither
    /// read nor forged. [`Group::import_sealed`] reads them back.
    pub fn export_sealed(&self, key: &StateKey, context: &[u8]) -> Result<Vec<u8>, Error> {
        seal_state(&self.export()?, key, context)
    }

    /// Imports state written by [`Group::export_sealed`], with the same
    /// key and context, and the provider and configuration to run it with.
    /// A plain export is refused ([`StateError::NotSealed`]): a backend
    /// that seals must never fall back to [`Group::import`], which would
    /// accept a state forged by whoever can write the store. Errors:
    /// [`open_sealed`], then those of [`Group::import`]; nothing here
    /// panics on any input.
    pub fn import_sealed(
        bytes: &[u8],
        key: &StateKey,
        context: &[u8],
        provider: Arc<dyn CryptoProvider>,
        config: GroupConfig,
    ) -> Result<Self, Error> {
        let plain = open(bytes, Some(StateKind::Member), key, context)?;
        Group::import(&plain, provider, config)
    }
}

impl PublicGroup {
    /// Exports this server view sealed under `key` and bound to `context`,
    /// like [`Group::export_sealed`]. Optional for public state: worth it
    /// when a membership key is set, or when the store must not be able to
    /// alter the server's view of the group.
    pub fn export_sealed(&self, key: &StateKey, context: &[u8]) -> Result<Vec<u8>, Error> {
        seal_state(&self.export()?, key, context)
    }

    /// Imports state written by [`PublicGroup::export_sealed`], like
    /// [`Group::import_sealed`].
    pub fn import_sealed(
        bytes: &[u8],
        key: &StateKey,
        context: &[u8],
        provider: Arc<dyn CryptoProvider>,
        config: PublicGroupConfig,
    ) -> Result<Self, Error> {
        let plain = open(bytes, Some(StateKind::Public), key, context)?;
        PublicGroup::import(&plain, provider, config)
    }
}

//! Exported group state: a member's [`Group`](crate::group::Group) or a
//! server's [`PublicGroup`](crate::public_group::PublicGroup) as versioned
//! bytes that a backend stores and imports again after a restart
//! (docs/ARCHITECTURE.md, "Bad input and faults").
//!
//! # The bytes are secret: seal them
//!
//! A member's state holds every secret of its epoch: its signature private
//! key, its HPKE private keys, the epoch secrets, the secret tree. Anyone
//! holding the bytes can read the group's messages of this epoch and
//! impersonate the member; anyone who can write them can make the member
//! resume from a state of their own making. Store a member's state
//! **sealed**: [`Group::export_sealed`](crate::group::Group::export_sealed)
//! encrypts and authenticates the export under a [`StateKey`] the backend
//! keeps elsewhere (a KMS, a secrets manager), bound to a context naming
//! the record, and
//! [`Group::import_sealed`](crate::group::Group::import_sealed) opens it
//! again (below, "Sealed state"). The plain export stays, for public state
//! and for a backend that encrypts at rest itself: its digest detects
//! accidental damage only, no protection against someone who can write
//! the storage. The export is returned in a
//! [`Zeroizing`](zeroize::Zeroizing) buffer, sized before the first secret
//! is written so that no reallocation leaves a copy behind; import copies
//! each secret straight into a zeroizing
//! [`Secret`](crate::crypto::Secret).
//!
//! # Format (version 1)
//!
//! Written with the engine's codec (the TLS presentation language of RFC 9420 §2.1): integers big-endian,
//! `<V>` a varint-length-prefixed byte string, `optional<T>` a presence
//! octet then the value, `[count]` a `uint32` count then the items.
//!
//! ```text
//! header       "THRG"  uint16 format_version = 1  uint8 kind  uint16 cipher_suite
//!              kind: 1 = member Group, 2 = PublicGroup
//! public part  GroupContext                          (RFC 9420 §8.1 encoding)
//!              ratchet tree: uint32 leaf_count; optional<LeafNode>[leaf_count];
//!                            optional<ParentNode>[leaf_count - 1]       (array order)
//!              confirmed_transcript_hash<V>  interim_transcript_hash<V>  confirmation_tag<V>
//!              proposals[count]: { ProposalRef; Proposal; Sender; }
//!              optional<ReInit> pending_reinit
//! member part  uint8 active; Credential; SignaturePublicKey           (public)
//!              signature_private_key<V>                                (secret from here on)
//!              private tree: uint32 own_leaf; [count] { uint32 node; private<V>; public<V>; }
//!              epoch secrets: sender_data, optional<encryption>, exporter, external,
//!                             confirmation_key, membership_key, resumption_psk,
//!                             epoch_authenticator, init_secret           (each <V>)
//!              secret tree: see `secret_tree::persist`
//!              resumption PSKs[count]: { uint64 epoch; psk<V>; }
//!              external PSKs[count]: { psk_id<V>; psk<V>; }               (ascending id)
//!              pending leaf keys[count]: { private<V>; public<V>; }
//! trailer      Hash(everything above), KDF.Nh bytes of the cipher suite's hash
//! ```
//!
//! A public group (kind 2) has the header, the public part, then
//! `optional<membership_key<V>>`, then the trailer.
//!
//! Config ([`GroupConfig`](crate::group::GroupConfig)) and the crypto
//! provider are not part of the state: the importer passes them. The
//! secret tree keeps the out-of-order window it was created with until
//! the next epoch.
//!
//! # Sealed state (sealed version 1)
//!
//! ```text
//! sealed header  "THRS"  uint16 sealed_version = 1  uint8 kind  uint16 cipher_suite  uint32 key_id
//! nonce          12 bytes, drawn at random for each export
//! ciphertext     AES-256-GCM(key, nonce, aad = sealed header || context, plaintext = the plain export)
//!                the plain export above, unchanged (its header and digest included), then the 16-byte tag
//! ```
//!
//! - **Header.** In the clear, so that a backend can route a record and
//!   pick its key without opening it ([`peek_sealed_header`]); kind and
//!   cipher suite repeat the plain header's, checked against it once
//!   opened. Authenticated: it is the first part of the associated data.
//! - **Context.** Bytes the caller passes to both export and import; part
//!   of the associated data, never stored. Pass what identifies the
//!   record, e.g. the storage key, or group id and member id: a sealed
//!   state then opens only as the record it was written for, and a
//!   ciphertext copied over another record (another member's, another
//!   group's) is refused. An empty context binds nothing.
//! - **Freshness is not covered.** Whoever can write the store can put
//!   back an *older* sealed state of the same record (same key, same
//!   context), and the member resumes from an old epoch, reusing sending
//!   generations of the secret tree it has used already. A backend for
//!   which that matters binds a version into the context (the record key
//!   and a counter kept where the store's writer cannot reach it).
//! - **What stays visible:** the header and the length (which grows with
//!   the tree and the keys a member keeps).
//! - **Cipher.** AES-256-GCM through aws-lc-rs's randomized-nonce key: the
//!   96-bit nonce is drawn by AWS-LC's generator inside the seal (IV
//!   generation inside the module, as FIPS 140-3 asks; aws-lc-rs marks a
//!   caller-chosen GCM nonce as outside FIPS use), and AES is in hardware
//!   on the servers this targets. ChaCha20-Poly1305 would serve
//!   as well but has no randomized-nonce seal in aws-lc-rs. Random 96-bit
//!   nonces bound the seals per key: NIST SP 800-38D §8.3 allows 2^32 under
//!   one key. Rotate long before.
//! - **Key rotation.** A [`StateKey`] carries a `u32` id, written into the
//!   header of everything it seals. To rotate, seal new exports under a key
//!   of a new id; open each stored record with the key its header names
//!   ([`peek_sealed_header`]`(bytes)?.key_id`), and rewrap it without
//!   importing ([`open_sealed`] then [`seal_state`] under the new key); drop
//!   the old key once no record carries its id. A key of another id than
//!   the header's is [`StateError::WrongKeyId`], before any decryption.
//! - **Opening** checks the magic ([`StateError::NotSealed`] for a plain
//!   export: a backend that seals never falls back to the plain import,
//!   which would accept a forged state), the sealed version, the kind, the
//!   key id and the length, then the AEAD: a wrong key, a wrong context
//!   and damaged or forged bytes are one [`StateError::SealBroken`]. The
//!   plaintext is decrypted into a zeroizing buffer, then imported with
//!   every check below.
//!
//! # What import checks
//!
//! Magic (a sealed state is [`StateError::Sealed`]), format version and
//! kind first (so another version is
//! [`StateError::UnsupportedVersion`], whatever its layout), then the
//! digest, then every field decodes with the bounded reader
//! ([`StateError::Corrupt`]). The tree's hashes and index are rebuilt
//! (linear, parallel) and the recomputed root hash must equal the
//! GroupContext's `tree_hash`; the transcript hashes, the confirmation tag
//! (a MAC under the imported confirmation_key), the private keys against
//! the tree's public keys, the signature key pair, and the secret tree's
//! partition of the leaves are checked too ([`StateError::Inconsistent`]).
//! Leaf signatures and parent hashes are not verified again: the state is
//! the backend's own, already validated when it was received.

mod member;
mod public;
mod sealed;

pub use sealed::{
    SEALED_MAGIC, SEALED_OVERHEAD, SEALED_VERSION, SealedHeader, StateKey, open_sealed, peek_sealed_header, seal_state,
};

use crate::codec::{Decode, DecodeError, Reader};
use crate::crypto::constant_time_eq;
use crate::crypto::{CipherSuite, CryptoProvider, Suite};
use crate::error::{Error, StateError};

/// The first four bytes of every exported state.
pub const MAGIC: [u8; 4] = *b"THRG";

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;

/// Whose state the bytes hold (the `kind` byte of the header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum StateKind {
    /// A member's [`Group`](crate::group::Group), secrets included.
    Member = 1,
    /// A server's [`PublicGroup`](crate::public_group::PublicGroup): no
    /// private keys, at most the membership key.
    Public = 2,
}

/// Bytes of the header: magic, version, kind, cipher suite.
pub(crate) const HEADER_LEN: usize = 4 + 2 + 1 + 2;

/// What the header of exported state claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateHeader {
    /// The format version the bytes were written in.
    pub format_version: u16,
    /// The kind byte ([`StateKind`] as `u8`; unknown values are kept).
    pub kind: u8,
    /// The group's cipher suite.
    pub cipher_suite: CipherSuite,
}

/// Reads the header of exported state without checking the digest (for a
/// backend sorting its stored states, or migrating old versions). A sealed
/// state is [`StateError::Sealed`] (its header: [`peek_sealed_header`]).
pub fn peek_header(bytes: &[u8]) -> Result<StateHeader, StateError> {
    let mut r = Reader::new(bytes);
    let magic: [u8; 4] = r.take_array().map_err(StateError::Corrupt)?;
    if magic == SEALED_MAGIC {
        return Err(StateError::Sealed);
    }
    if magic != MAGIC {
        return Err(StateError::NotState);
    }
    Ok(StateHeader { format_version: read(&mut r)?, kind: read(&mut r)?, cipher_suite: read(&mut r)? })
}

/// Starts an export: the header.
pub(crate) fn write_header(out: &mut Vec<u8>, kind: StateKind, suite: &Suite<'_>) {
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
    out.push(kind as u8);
    out.extend_from_slice(&suite.cipher_suite().0.to_be_bytes());
}

/// Ends an export: the digest over everything written.
pub(crate) fn seal(out: &mut Vec<u8>, suite: &Suite<'_>) {
    let digest = suite.hash(out);
    out.extend_from_slice(&digest);
}

/// Checks the header and the digest of `bytes` and returns the suite and
/// a reader over the body (between header and digest).
pub(crate) fn open<'a, 'p>(
    bytes: &'a [u8],
    kind: StateKind,
    provider: &'p dyn CryptoProvider,
) -> Result<(Suite<'p>, Reader<'a>), Error> {
    let header = peek_header(bytes)?;
    if header.format_version != FORMAT_VERSION {
        return Err(StateError::UnsupportedVersion { found: header.format_version, expected: FORMAT_VERSION }.into());
    }
    if header.kind != kind as u8 {
        return Err(StateError::WrongKind { found: header.kind, expected: kind as u8 }.into());
    }
    let suite = Suite::new(provider, header.cipher_suite)?;
    let nh = suite.hash_len();
    let Some(sealed_len) = bytes.len().checked_sub(nh).filter(|&l| l >= HEADER_LEN) else {
        return Err(
            StateError::Corrupt(DecodeError::Truncated { needed: HEADER_LEN + nh, available: bytes.len() }).into()
        );
    };
    let (sealed, digest) = bytes.split_at(sealed_len);
    if !constant_time_eq(&suite.hash(sealed), digest) {
        return Err(StateError::DigestMismatch.into());
    }
    Ok((suite, Reader::new(&sealed[HEADER_LEN..])))
}

/// Reads one value with the codec, as state.
pub(crate) fn read<T: Decode>(r: &mut Reader<'_>) -> Result<T, StateError> {
    T::decode(r).map_err(StateError::Corrupt)
}

#[cfg(test)]
mod tests;

//! Exported group state: a member's [`Group`](crate::group::Group) or a
//! server's [`PublicGroup`](crate::public_group::PublicGroup) as versioned
//! bytes that a backend stores and imports again after a restart
//! (docs/ARCHITECTURE.md, "Bad input and faults").
//!
//! # The bytes are secret
//!
//! A member's state holds every secret of its epoch: its signature private
//! key, its HPKE private keys, the epoch secrets, the secret tree. Anyone
//! holding the bytes can read the group's messages of this epoch and
//! impersonate the member. Store them **encrypted and authenticated at
//! rest** (an AEAD under a key the backend keeps elsewhere). The digest
//! at the end of the format detects accidental damage only; it is no
//! protection against someone who can write the storage. The export is
//! returned in a [`Zeroizing`](zeroize::Zeroizing) buffer, sized before the
//! first secret is written so that no reallocation leaves a copy behind;
//! import copies each secret straight into a zeroizing
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
//! # What import checks
//!
//! Magic, format version and kind first (so another version is
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
/// backend sorting its stored states, or migrating old versions).
pub fn peek_header(bytes: &[u8]) -> Result<StateHeader, StateError> {
    let mut r = Reader::new(bytes);
    let magic: [u8; 4] = r.take_array().map_err(StateError::Corrupt)?;
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

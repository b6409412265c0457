//! Transcript hashes (RFC 9420 §8.2) and the confirmation tag (§6.1) that
//! ties them to the key schedule.
//!
//! These functions work on encoded inputs: the caller encodes the
//! `ConfirmedTranscriptHashInput` (wire_format, FramedContent, signature) of
//! the Commit, so this module does not depend on the framing structs.

use crate::Result;
use crate::codec::write_bytes;
use crate::crypto::{CryptoError, Secret, Suite};

/// `confirmed_transcript_hash_[epoch] =
/// Hash(interim_transcript_hash_[epoch - 1] || ConfirmedTranscriptHashInput_[epoch])`
/// (RFC 9420 §8.2).
/// `confirmed_input` is the encoded ConfirmedTranscriptHashInput.
pub fn confirmed_transcript_hash(suite: &Suite<'_>, interim_before: &[u8], confirmed_input: &[u8]) -> Vec<u8> {
    confirmed_transcript_hash_of_parts(suite, interim_before, &[confirmed_input])
}

/// [`confirmed_transcript_hash`] of an input given in consecutive parts:
/// hashed as parts so that a large Commit is not copied to be concatenated.
pub fn confirmed_transcript_hash_of_parts(suite: &Suite<'_>, interim_before: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut all = Vec::with_capacity(parts.len() + 1);
    all.push(interim_before);
    all.extend_from_slice(parts);
    suite.provider().hash(suite.algorithms(), &all)
}

/// `interim_transcript_hash_[epoch] = Hash(confirmed_transcript_hash_[epoch]
/// || InterimTranscriptHashInput_[epoch])` (RFC 9420 §8.2), where
/// `InterimTranscriptHashInput` is `struct { MAC confirmation_tag; }` and
/// `MAC` is `opaque<V>`, so the tag is hashed with its length prefix.
pub fn interim_transcript_hash(
    suite: &Suite<'_>,
    confirmed_transcript_hash: &[u8],
    confirmation_tag: &[u8],
) -> Vec<u8> {
    let mut interim_input = Vec::with_capacity(confirmation_tag.len() + 2);
    write_bytes(&mut interim_input, confirmation_tag);
    suite.provider().hash(suite.algorithms(), &[confirmed_transcript_hash, &interim_input])
}

/// `confirmation_tag = MAC(confirmation_key, GroupContext.confirmed_transcript_hash)`
/// (RFC 9420 §6.1), with the confirmation_key of the epoch the Commit creates.
pub fn confirmation_tag(suite: &Suite<'_>, confirmation_key: &Secret, confirmed_transcript_hash: &[u8]) -> Vec<u8> {
    suite.mac(confirmation_key.as_bytes(), confirmed_transcript_hash)
}

/// Checks a received confirmation_tag (RFC 9420 §6.1, §12.4.2). The
/// comparison runs in constant time, and a mismatch is an opaque
/// verification failure.
pub fn verify_confirmation_tag(
    suite: &Suite<'_>,
    confirmation_key: &Secret,
    confirmed_transcript_hash: &[u8],
    tag: &[u8],
) -> Result<()> {
    let expected = confirmation_tag(suite, confirmation_key, confirmed_transcript_hash);
    if crate::crypto::constant_time_eq(&expected, tag) { Ok(()) } else { Err(CryptoError::VerificationFailed.into()) }
}

/// The pair of transcript hashes a group carries from epoch to epoch
/// (RFC 9420 §8.2).
///
/// A Commit moves it forward in two steps, because the key schedule sits in
/// between: [`next_confirmed`](Self::next_confirmed) gives the new
/// confirmed_transcript_hash that goes into the new GroupContext; the new
/// epoch's confirmation_key then yields the confirmation_tag; and
/// [`new`](Self::new) with that tag gives the new pair.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TranscriptHashes {
    confirmed: Vec<u8>,
    interim: Vec<u8>,
}

impl TranscriptHashes {
    /// The pair after a Commit, or for a joiner: the confirmed hash (from
    /// the GroupContext) and the interim hash computed from the
    /// confirmation_tag (the Commit's, or the GroupInfo's for a new
    /// member, §8.2). The creator of a group passes the empty confirmed
    /// hash and the tag computed over it (§11).
    pub fn new(suite: &Suite<'_>, confirmed_transcript_hash: Vec<u8>, confirmation_tag: &[u8]) -> Self {
        let interim = interim_transcript_hash(suite, &confirmed_transcript_hash, confirmation_tag);
        Self { confirmed: confirmed_transcript_hash, interim }
    }

    /// Both hashes as stored, for restoring a persisted group.
    pub fn from_parts(confirmed_transcript_hash: Vec<u8>, interim_transcript_hash: Vec<u8>) -> Self {
        Self { confirmed: confirmed_transcript_hash, interim: interim_transcript_hash }
    }

    /// `confirmed_transcript_hash` of the current epoch.
    pub fn confirmed(&self) -> &[u8] {
        &self.confirmed
    }

    /// `interim_transcript_hash` of the current epoch.
    pub fn interim(&self) -> &[u8] {
        &self.interim
    }

    /// The confirmed_transcript_hash of the epoch a Commit creates, from its
    /// encoded ConfirmedTranscriptHashInput (RFC 9420 §8.2), in
    /// consecutive parts.
    pub fn next_confirmed(&self, suite: &Suite<'_>, confirmed_input: &[&[u8]]) -> Vec<u8> {
        confirmed_transcript_hash_of_parts(suite, &self.interim, confirmed_input)
    }
}

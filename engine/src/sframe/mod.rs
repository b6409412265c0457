//! SFrame (RFC 9605): end-to-end encryption of media frames, keyed from
//! the MLS group (§5.2).
//!
//! - [`MlsKeyRing`]: a member's SFrame keys from its group's exporter, one
//!   set per epoch, a sender's key derived on its first frame (entering an
//!   epoch is O(1) in the group's size), earlier epochs kept for the
//!   window of [`MlsKeyRingConfig`] so frames in flight across an epoch
//!   change still decrypt, and dropped (zeroized) after it.
//! - [`SframeKey`], [`SframeSender`], [`SframeReceiver`]: one KID's key,
//!   a sending key with its monotonic counter, and receiving keys with a
//!   replay window each, for key management of the caller's own.
//! - [`Header`]: the header codec (§4.3); [`SframeSuite`]: the cipher
//!   suites (§4.5, and 6–8 of the AES-256-CTR extension).
//!
//! Every call that takes a peer's frame bounds its length first, decodes
//! the header without reading past it, and fails with a typed
//! [`SframeError`]; none panics.

mod cipher;
mod context;
mod header;
mod mls;
mod suite;

pub use crate::error::SframeError;
pub use cipher::{MAX_FRAME_LEN, SframeKey, ctr_hmac_decrypt, ctr_hmac_encrypt, max_overhead};
pub use context::{DEFAULT_REPLAY_WINDOW, MAX_REPLAY_WINDOW, SframeReceiver, SframeSender};
pub use header::{EncodedHeader, Header, MAX_HEADER_LEN};
pub use mls::{Decrypted, EXPORTER_LABEL, FrameSource, KidFields, KidLayout, MlsKeyRing, MlsKeyRingConfig};
pub use suite::{NONCE_LEN, SframeHash, SframeSuite};

/// The derivation of §4.4.2 step by step, for the known-answer vectors.
#[doc(hidden)]
pub mod derivation {
    use super::{SframeError, SframeSuite, cipher};

    /// `HKDF-Extract("", base_key)`.
    pub fn sframe_secret(suite: SframeSuite, base_key: &[u8]) -> Vec<u8> {
        cipher::sframe_secret(suite.hash(), base_key).to_vec()
    }

    /// `(sframe_key_label, sframe_salt_label)` of `kid`.
    pub fn labels(suite: SframeSuite, kid: u64) -> (Vec<u8>, Vec<u8>) {
        let (key, n) = cipher::label(b"key ", kid, suite);
        let (salt, m) = cipher::label(b"salt ", kid, suite);
        (key[..n].to_vec(), salt[..m].to_vec())
    }

    /// `(sframe_key, sframe_salt)` of `kid`.
    pub fn key_salt(suite: SframeSuite, kid: u64, base_key: &[u8]) -> Result<(Vec<u8>, Vec<u8>), SframeError> {
        let (key, salt) = cipher::SecretPrk::extract(suite.hash(), base_key).derive_key_salt(suite, kid)?;
        Ok((key.to_vec(), salt.to_vec()))
    }
}

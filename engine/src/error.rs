//! The engine's one error type, grouped by what went wrong (STYLE.md 5).

use thiserror::Error;

pub use crate::codec::DecodeError;
pub use crate::crypto::CryptoError;

/// Everything an engine call can fail with.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes from a peer did not decode.
    #[error("malformed message: {0}")]
    Malformed(#[from] DecodeError),
    /// A message decoded but breaks a rule of RFC 9420.
    #[error("invalid: {0}")]
    Invalid(#[from] ValidationError),
    /// A cryptographic operation failed.
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
    /// The caller asked for something the current state does not allow.
    #[error("misuse: {0}")]
    Misuse(#[from] UsageError),
}

/// A rule of RFC 9420 that a message broke; each variant names its section.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// A secret-tree generation is too far behind the ratchet (§9.2 forward secrecy window).
    #[error("generation {generation} is older than the out-of-order window allows (§9.2)")]
    GenerationTooOld {
        /// Requested generation.
        generation: u32,
    },
    /// A secret-tree generation is too far ahead of the ratchet.
    #[error("generation {generation} is further ahead than the window allows (§9.2)")]
    GenerationTooFarAhead {
        /// Requested generation.
        generation: u32,
    },
    /// The key for that generation was already used and deleted (§9.2).
    #[error("key for generation {generation} was already consumed (§9.2)")]
    GenerationConsumed {
        /// Requested generation.
        generation: u32,
    },
    /// A leaf index is outside the tree (§4, §9).
    #[error("leaf {0} is outside the tree")]
    LeafOutOfRange(u32),
    /// More PSKs than `PSKLabel.count`, a uint16, can number (§8.4).
    #[error("{0} PSKs exceed the 65535 that PSKLabel can count (§8.4)")]
    TooManyPsks(usize),
    /// A PSK list and its secrets disagree in length (§8.4).
    #[error("{0}")]
    Rule(&'static str),
}

/// The caller asked for something the current state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum UsageError {
    /// An argument is out of its documented range.
    #[error("{0}")]
    InvalidArgument(&'static str),
}

/// Shorthand for engine results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

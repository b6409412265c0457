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
    /// Exported group state could not be imported.
    #[error("state: {0}")]
    State(#[from] StateError),
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
    /// Application data travels only in a PrivateMessage (§6: applications
    /// MUST use PrivateMessage for application messages).
    #[error("application data must be sent as a PrivateMessage (§6)")]
    ApplicationInPublicMessage,
    /// Only a member sends a PrivateMessage (§6.3.2).
    #[error("only a member sender may send a PrivateMessage (§6.3.2)")]
    PrivateMessageFromNonMember,
    /// The sender type may not send this content (§6.1): an external sender
    /// only proposals of a type allowed for it, a new_member_proposal
    /// sender only an Add, a new_member_commit sender only a Commit.
    #[error("a {sender} sender may not send this content (§6.1)")]
    SenderNotAllowed {
        /// The `SenderType`, in the RFC's words.
        sender: &'static str,
    },
    /// The sender's leaf is blank or outside the tree (§6.3.2, §6.1).
    #[error("sender leaf {0} is blank (§6.3.2)")]
    BlankSenderLeaf(u32),
    /// No signature key is known for a non-member sender (§6.1).
    #[error("no signature key for the sender (§6.1)")]
    UnknownSigner,
    /// The message's group_id is not the group's (§6).
    #[error("message is for another group")]
    WrongGroup,
    /// The message's epoch is not the one it is being processed in (§6).
    #[error("message is for epoch {got}, expected {expected}")]
    WrongEpoch {
        /// The epoch of the keys at hand.
        expected: u64,
        /// The message's epoch.
        got: u64,
    },
    /// A `membership_tag` is missing for a member sender, or present for
    /// another (§6.2).
    #[error("membership_tag must be present exactly for member senders (§6.2)")]
    MembershipTagPresence,
    /// A `confirmation_tag` is missing from a Commit, or present on other
    /// content (§6.1).
    #[error("confirmation_tag must be present exactly for commits (§6.1)")]
    ConfirmationTagPresence,
}

/// The caller asked for something the current state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum UsageError {
    /// An argument is out of its documented range.
    #[error("{0}")]
    InvalidArgument(&'static str),
}

/// Why exported group state (see [`crate::state`]) could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StateError {
    /// The bytes do not start with the state magic: not a throng state.
    #[error("not a throng state (bad magic)")]
    NotState,
    /// The state was written in a format version this build cannot read.
    #[error("state format version {found} is not supported (expected {expected})")]
    UnsupportedVersion {
        /// The version the bytes carry.
        found: u16,
        /// The version this build reads and writes.
        expected: u16,
    },
    /// The state is of another kind (a public group's state given to a
    /// member's import, or the reverse).
    #[error("state is of kind {found}, expected kind {expected}")]
    WrongKind {
        /// The kind byte the bytes carry.
        found: u8,
        /// The kind the caller asked for.
        expected: u8,
    },
    /// The digest over the state does not match: the bytes were damaged.
    #[error("state digest mismatch: the bytes are damaged")]
    DigestMismatch,
    /// The state did not decode.
    #[error("corrupt state: {0}")]
    Corrupt(DecodeError),
    /// The state decoded but its parts disagree (a broken invariant names
    /// which).
    #[error("inconsistent state: {0}")]
    Inconsistent(&'static str),
}

/// Shorthand for engine results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

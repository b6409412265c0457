//! Message framing (RFC 9420 §6): content authentication, PublicMessage,
//! PrivateMessage and sender data. The wire structs live in
//! [`crate::messages::content`]; this module holds the operations on them
//! that the group state machine calls:
//!
//! - [`auth`] (§6.1): [`sign_content`] / [`verify_content`], and which
//!   sender may send what in which wire format;
//! - [`public`] (§6.2): [`protect_public`] / [`unprotect_public`], with the
//!   membership tag;
//! - [`private`] (§6.3, §6.3.1): [`protect_private`] /
//!   [`unprotect_private`], content encryption under the secret tree with
//!   the reuse guard and a [`PaddingPolicy`];
//! - [`sender_data`] (§6.3.2): the sender data key and nonce.
//!
//! Signature keys come from the caller (a closure), not from a ratchet tree
//! held here: the member's leaf, an external sender or a new member's
//! LeafNode are the group's business. Every rejection is a typed error;
//! MAC, AEAD and signature failures stay opaque
//! ([`CryptoError`](crate::crypto::CryptoError)).

pub mod auth;
pub mod private;
pub mod public;
pub mod sender_data;

pub use auth::{SignedContent, check_sender_content, check_wire_format, sign_content, verify_content};
pub use private::{PaddingPolicy, decrypt_sender_data, protect_private, ratchet_type, unprotect_private};
pub use public::{
    PublicChecks, membership_tag, protect_public, unprotect_public, unprotect_public_deferred, verify_membership_tag,
};
pub use sender_data::{SenderDataKeys, ciphertext_sample};

#[cfg(test)]
mod tests;

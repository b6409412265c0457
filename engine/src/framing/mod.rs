//! Message framing (RFC 9420 §6): PublicMessage, PrivateMessage, content
//! authentication and sender data.
//!
//! So far only the sender data keys of §6.3.2 live here; the message
//! structs and their protection follow.

pub mod sender_data;

pub use sender_data::{SenderDataKeys, ciphertext_sample};

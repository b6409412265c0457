//! throng: an RFC 9420 (Messaging Layer Security) engine for groups of
//! thousands to hundreds of thousands of members.
//!
//! Modules mirror the RFC: [`codec`] (§2.1), [`crypto`] (§5), [`tree::math`]
//! (Appendix C), [`schedule`] (§8), [`secret_tree`] (§9), [`messages`]
//! (§6–§12 wire structs).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod codec;
pub mod crypto;
pub mod error;
pub mod framing;
pub mod group;
pub mod messages;
pub mod public_group;
pub mod schedule;
pub mod secret_tree;
pub mod server;
pub mod tree;
pub mod treekem;

pub use error::{Error, Result};

//! throng: an RFC 9420 (Messaging Layer Security) engine for groups of
//! thousands to hundreds of thousands of members.
//!
//! Modules mirror the RFC: [`codec`] (§2.1), [`crypto`] (§5), [`tree::math`]
//! (Appendix C), [`schedule`] (§8), [`secret_tree`] (§9), [`messages`]
//! (§6–§12 wire structs); [`state`] exports a group to versioned bytes and
//! imports it back.
//!
//! A member's state machine is [`group::Group`]; a server's view of a group,
//! without private keys, is [`public_group::PublicGroup`] (RFC 9750), and
//! [`server::Registry`] holds many of them for a Delivery Service, safe to
//! share across threads and tokio tasks. Its documentation describes how to
//! embed it in an async service: validation is CPU work and runs on
//! `spawn_blocking` or a rayon pool, never on the executor's threads
//! (engine/examples/server.rs).
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
pub mod state;
pub mod tree;
pub mod tree_math;
pub mod treekem;

pub use error::{Error, Result};

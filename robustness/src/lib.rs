//! Hostile input for throng (issue 12): real-group fixtures, deterministic
//! mutators, insider mutants re-signed with a real member's key, and one
//! function per target that runs the API and checks the invariants.
//!
//! The stable mutation suite (`tests/mutation.rs`) and the cargo-fuzz
//! targets (`fuzz/`) both call [`targets`], so they test the same code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod fixtures;
pub mod fuzzing;
pub mod insider;
pub mod mutators;
pub mod targets;

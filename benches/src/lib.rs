//! Benchmarks of throng and the side-by-side comparison with OpenMLS and mls-rs.
//!
//! The comparison (`compare` binary): every implementation is driven
//! through one [`peer::Peer`] adapter by the same [`scenario`]s, each run in a
//! worker process under a time cap by the [`harness`], and reported by
//! [`report`]. Adding an implementation means one adapter and one line in
//! [`impls::Impl::run`].

pub mod charts;
pub mod cli;
pub mod floor;
pub mod group_fixtures;
pub mod harness;
pub mod impls;
pub mod metric;
pub mod peer;
pub mod peers;
pub mod report;
pub mod scaling;
pub mod scenario;
pub mod tree_fixtures;

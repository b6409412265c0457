//! Benchmarks of throng and the side-by-side comparison with OpenMLS and mls-rs.

pub mod tree_fixtures;

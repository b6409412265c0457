//! Benchmarks of throng and the side-by-side comparison with OpenMLS and mls-rs.

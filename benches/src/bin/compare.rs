//! `compare`: throng against OpenMLS and mls-rs (and the crypto floor) on
//! one group size, every implementation through the same scenarios.
//! See `throng_benches::cli::Args` for the options and `throng_benches::report`
//! for the output.

use std::process::ExitCode;

use cap::Cap;
use clap::Parser;
use mimalloc::MiMalloc;

/// mimalloc, wrapped to count live heap bytes for `state_bytes`; the count is
/// one relaxed atomic add per allocation, paid equally by every implementation.
#[global_allocator]
static HEAP: Cap<MiMalloc> = Cap::new(MiMalloc, usize::MAX);

fn heap_bytes() -> usize {
    HEAP.allocated()
}

fn main() -> ExitCode {
    throng_benches::cli::main(throng_benches::cli::Args::parse(), Some(heap_bytes))
}

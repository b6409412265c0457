#![no_main]
//! Fuzz target `tree_import`: see `throng_robustness::fuzzing::tree_import`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| throng_robustness::fuzzing::tree_import(data));

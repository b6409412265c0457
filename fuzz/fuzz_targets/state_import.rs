#![no_main]
//! Fuzz target `state_import`: see `throng_robustness::fuzzing::state_import`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| throng_robustness::fuzzing::state_import(data));

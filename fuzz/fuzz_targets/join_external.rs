#![no_main]
//! Fuzz target `join_external`: see `throng_robustness::fuzzing::join_external`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| throng_robustness::fuzzing::join_external(data));

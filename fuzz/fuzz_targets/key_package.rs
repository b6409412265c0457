#![no_main]
//! Fuzz target `key_package`: see `throng_robustness::fuzzing::key_package`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| throng_robustness::fuzzing::key_package(data));

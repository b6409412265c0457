#![no_main]
//! Fuzz target `registry_create_group`: see `throng_robustness::fuzzing::registry_create_group`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| throng_robustness::fuzzing::registry_create_group(data));

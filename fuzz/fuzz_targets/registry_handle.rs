#![no_main]
//! Fuzz target `registry_handle`: see `throng_robustness::fuzzing::registry_handle`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| throng_robustness::fuzzing::registry_handle(data));

#![no_main]
//! Fuzz target `decode`: see `throng_robustness::fuzzing::decode`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| throng_robustness::fuzzing::decode(data));

#![no_main]
//! Fuzz target `join_welcome`: see `throng_robustness::fuzzing::join_welcome`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| throng_robustness::fuzzing::join_welcome(data));

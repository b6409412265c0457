#![no_main]
//! Fuzz target `process_message`: see `throng_robustness::fuzzing::process_message`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| throng_robustness::fuzzing::process_message(data));

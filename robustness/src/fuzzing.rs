//! Entry points of the cargo-fuzz targets (fuzz/fuzz_targets/): each runs
//! one [`crate::targets`] function on the fuzzer's bytes and panics on a
//! violated invariant, which the fuzzer reports as a crash.
//!
//! The fixture is read from `fuzz/fixture/cs1-public.bin` (or the file
//! named by `THRONG_FUZZ_FIXTURE`), written by the `seed_corpus` example
//! together with the seed corpora, so that the committed corpora carry
//! valid signatures, tags and ciphertexts for its keys. Without the file a
//! fresh fixture is built (and the corpora are then only shapes).

use std::sync::OnceLock;

use crate::fixtures::Fixture;
use crate::mutators::Expect;
use crate::targets::{self, Checked, ServerFixture};

/// The default fixture file, relative to this crate.
pub const FIXTURE_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/fixture/cs1-public.bin");

/// The fuzzing fixture, loaded once per process.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let path = std::env::var("THRONG_FUZZ_FIXTURE").unwrap_or_else(|_| FIXTURE_FILE.to_string());
        match std::fs::read(&path) {
            Ok(bytes) => Fixture::load(&bytes).unwrap_or_else(|e| panic!("fixture {path}: {e}")),
            Err(_) => Fixture::build(1, false).unwrap_or_else(|e| panic!("{e}")),
        }
    })
}

fn check(result: Checked) {
    if let Err(violation) = result {
        panic!("invariant violated: {violation}");
    }
}

/// The genuine message a fuzz input targets: its first byte picks one,
/// the rest is the message.
fn split(data: &[u8]) -> Option<(&'static crate::fixtures::Genuine, &[u8])> {
    let (first, rest) = data.split_first()?;
    let messages = &fixture().messages;
    Some((&messages[usize::from(*first) % messages.len()], rest))
}

/// `decode`: any bytes as an MLSMessage.
pub fn decode(data: &[u8]) {
    check(targets::decode(data));
}

/// `process_message`: first byte picks the receiver state (by genuine
/// message), the rest is the message.
pub fn process_message(data: &[u8]) {
    if let Some((g, input)) = split(data) {
        check(targets::process_message(g, input, Expect::Reject, false, true));
    }
}

/// `registry_handle`: as `process_message`, for a server.
pub fn registry_handle(data: &[u8]) {
    if let Some((g, input)) = split(data) {
        if let Ok(server) = ServerFixture::new(fixture(), g) {
            check(targets::registry_handle(&server, g, input, Expect::Reject, true).0);
        }
    }
}

/// `join_welcome`: a Welcome for the fixture's joiner.
pub fn join_welcome(data: &[u8]) {
    check(targets::join_welcome(fixture(), data, None, Expect::Reject));
}

/// `join_external`: a GroupInfo to join by external commit.
pub fn join_external(data: &[u8]) {
    check(targets::join_external(fixture(), data, Expect::Reject));
}

/// `registry_create_group`: a GroupInfo to register.
pub fn registry_create_group(data: &[u8]) {
    check(targets::registry_create_group(fixture(), data, Expect::Reject));
}

/// `tree_import`: a ratchet tree to import and validate.
pub fn tree_import(data: &[u8]) {
    check(targets::tree_import(fixture(), data, Expect::Reject));
}

/// `key_package`: a KeyPackage to validate.
pub fn key_package(data: &[u8]) {
    check(targets::key_package(fixture(), data, Expect::Reject));
}

/// `state_import`: exported state to import (accepts of damaged state
/// are allowed: import trusts what it cannot recheck).
pub fn state_import(data: &[u8]) {
    check(targets::state_import(fixture(), data, Expect::MayAccept("state import trusts its content")));
}

//! One harness per test-vector family (docs/STYLE.md 8). Shared by the `vectors`
//! integration test and the `kat` example. Each family module declares its
//! case type (serde) and how to check one case; [`run_cases`] and
//! [`run_suite_cases`] parse the file and check every case, skipping (and
//! saying so) only cases whose cipher suite the default provider does not
//! implement.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use throng::internals::crypto::Suite;

mod crypto_basics;
mod deserialization;
mod key_schedule;
mod message_protection;
mod messages;
mod partial;
mod passive_client;
mod psk_secret;
mod secret_tree;
pub mod sframe;
mod transcript_hashes;
mod tree_math;
mod tree_operations;
mod tree_validation;
mod treekem;
mod welcome;

/// A case that was not run, and why.
#[derive(Debug, Clone)]
pub struct Skip {
    /// Position of the case in the file.
    pub case: usize,
    /// Its cipher suite (0 where the family has none).
    pub suite: u16,
    /// Why it was not run.
    pub reason: String,
}

/// What running one vector file gave.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Cases that passed, per cipher suite (suite 0: family without suites).
    pub passed: std::collections::BTreeMap<u16, usize>,
    /// Failures: a line each, naming the case and what differed.
    pub failed: Vec<String>,
    /// Cases not run.
    pub skipped: Vec<Skip>,
    /// Cases per group, for a file of several groups (the SFrame file),
    /// in the file's order; empty for the MLS families.
    pub groups: Vec<(String, usize)>,
}

impl Outcome {
    /// Total passed cases.
    pub fn passed_total(&self) -> usize {
        self.passed.values().sum()
    }

    /// Records one case: `Ok` passes, `Err` fails with that message, and an
    /// unsupported suite is a skip.
    fn record(&mut self, case: usize, suite: u16, result: Result<(), CaseError>) {
        match result {
            Ok(()) => *self.passed.entry(suite).or_default() += 1,
            Err(CaseError::Unsupported(reason)) => self.skipped.push(Skip { case, suite, reason }),
            Err(CaseError::Failed(msg)) => self.failed.push(format!("case {case} suite {suite}: {msg}")),
        }
    }

    /// Per-suite counts as `suite 1: 12, suite 2: 12`, after the counts
    /// per group for a file that has groups.
    pub fn summary(&self) -> String {
        let suites = self.passed.iter().map(|(s, n)| format!("suite {s}: {n}")).collect::<Vec<_>>().join(", ");
        if self.groups.is_empty() {
            return suites;
        }
        let groups = self.groups.iter().map(|(g, n)| format!("{g}: {n}")).collect::<Vec<_>>().join(", ");
        format!("{groups}; {suites}")
    }
}

/// Why a case did not pass. (Not `Debug`, so that any `Debug` error
/// converts into it with `?`.)
pub enum CaseError {
    /// The suite (or a feature the case needs) is not implemented: a skip.
    Unsupported(String),
    /// The case ran and disagreed with the vector.
    Failed(String),
}

impl<E: std::fmt::Debug> From<E> for CaseError {
    fn from(e: E) -> Self {
        CaseError::Failed(format!("{e:?}"))
    }
}

/// Fails the case with `msg` unless `cond` holds.
pub fn check(cond: bool, msg: impl FnOnce() -> String) -> Result<(), CaseError> {
    if cond { Ok(()) } else { Err(CaseError::Failed(msg())) }
}

/// Fails the case unless `got == want`, naming `what`.
pub fn check_eq<T: PartialEq + std::fmt::Debug + ?Sized>(what: &str, got: &T, want: &T) -> Result<(), CaseError> {
    check(got == want, || format!("{what}: got {got:?}, want {want:?}"))
}

/// The suite handle for a case, or a skip if the default provider lacks it.
fn suite(cs: u16) -> Result<Suite<'static>, CaseError> {
    Suite::new(throng::crypto::default_provider(), throng::crypto::CipherSuite(cs))
        .map_err(|e| CaseError::Unsupported(format!("cipher suite {cs}: {e}")))
}

/// Runs a family whose cases have no cipher suite: parses `json` as a list
/// of `C` and checks every case (counted as suite 0).
pub fn run_cases<C: DeserializeOwned>(
    json: &str,
    check: impl Fn(&C) -> Result<(), CaseError>,
) -> Result<Outcome, String> {
    run_each(json, |_| 0, check)
}

/// Runs a family whose cases name a cipher suite: parses `json` as a list of
/// `C`, skips the cases whose suite (`cipher_suite`) the default provider
/// does not implement, and checks the others with their suite.
pub fn run_suite_cases<C: DeserializeOwned>(
    json: &str,
    cipher_suite: impl Fn(&C) -> u16,
    check: impl Fn(&C, Suite<'static>) -> Result<(), CaseError>,
) -> Result<Outcome, String> {
    run_each(json, &cipher_suite, |c| check(c, suite(cipher_suite(c))?))
}

/// The loop every family shares: each case is checked and recorded under
/// its suite.
fn run_each<C: DeserializeOwned>(
    json: &str,
    cipher_suite: impl Fn(&C) -> u16,
    check: impl Fn(&C) -> Result<(), CaseError>,
) -> Result<Outcome, String> {
    let cases: Vec<C> = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let mut out = Outcome::default();
    for (i, c) in cases.iter().enumerate() {
        out.record(i, cipher_suite(c), check(c));
    }
    Ok(out)
}

/// Hex-encoded bytes in a vector file.
pub fn hex(s: &str) -> Vec<u8> {
    ::hex::decode(s).expect("vector file holds valid hex")
}

/// Serde helper: a hex string field as bytes.
pub mod hex_bytes {
    use serde::{Deserialize, Deserializer};
    /// Deserializes a hex string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        ::hex::decode(s).map_err(serde::de::Error::custom)
    }
}

/// The repository's own copy of the vectors, `<repo>/test-vectors` (see its
/// `PROVENANCE.md`), located from the engine crate's manifest directory so
/// that the tests read nothing outside the checkout.
pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors")
}

/// The families this runner knows, by upstream file name.
pub const FAMILIES: &[&str] = &[
    "tree-math.json",
    "secret-tree.json",
    "key-schedule.json",
    "psk_secret.json",
    "crypto-basics.json",
    "messages.json",
    "deserialization.json",
    "tree-operations.json",
    "tree-validation.json",
    "treekem.json",
    "message-protection.json",
    "transcript-hashes.json",
    "welcome.json",
    "passive-client-welcome.json",
    "passive-client-handling-commit.json",
    "passive-client-random.json",
    "sframe/test-vectors.json (RFC 9605, recognised by its shape)",
    "partial/test-vector-partial-message-syntax[-spec].json",
    "partial/test-vector-partial-membership-proofs[-spec].json",
    "partial/test-vector-partial-annotated-welcome[-spec].json",
    "partial/test-vector-partial-passive-client-scenarios-spec.json",
    "partial/test-vector-partial-annotated-commit[-spec].json",
    "partial/test-vector-partial-tree-operations[-spec].json",
    "partial/test-vector-partial-sender-authenticated-messages[-spec].json",
];

/// Runs one vector file, recognising its family by file name.
pub fn run_file(path: &Path) -> Result<Outcome, String> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
    let json = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(family) = partial::family(&name) {
        return family(&json);
    }
    let family: fn(&str) -> Result<Outcome, String> = match name.as_str() {
        "crypto-basics.json" => crypto_basics::run,
        "tree-math.json" => tree_math::run,
        "welcome.json" => welcome::run,
        "passive-client-welcome.json" | "passive-client-handling-commit.json" | "passive-client-random.json" => {
            passive_client::run
        }
        "tree-operations.json" => tree_operations::run,
        "tree-validation.json" => tree_validation::run,
        "treekem.json" => treekem::run,
        "secret-tree.json" => secret_tree::run,
        "key-schedule.json" => key_schedule::run,
        "psk_secret.json" => psk_secret::run,
        "messages.json" => messages::run,
        "deserialization.json" => deserialization::run,
        "message-protection.json" => message_protection::run,
        "transcript-hashes.json" => transcript_hashes::run,
        _ if sframe::recognises(&json) => sframe::run,
        other => return Err(format!("{other}: no harness for this vector family yet")),
    };
    family(&json)
}

/// Runs a family from the shared vectors and panics on any failure; prints
/// each skipped case. For `cargo test`.
pub fn assert_family(file: &str) {
    let outcome = run_file(&vectors_dir().join(file)).unwrap_or_else(|e| panic!("{e}"));
    for s in &outcome.skipped {
        println!("skipped: {file} case {} suite {}: {}", s.case, s.suite, s.reason);
    }
    println!(
        "{file}: {} passed ({}), {} failed, {} skipped",
        outcome.passed_total(),
        outcome.summary(),
        outcome.failed.len(),
        outcome.skipped.len()
    );
    assert!(outcome.failed.is_empty(), "{file}: failures:\n{}", outcome.failed.join("\n"));
    assert!(outcome.passed_total() > 0, "{file}: no case passed");
}

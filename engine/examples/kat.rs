//! Runs MLS test-vector files, and RFC 9605's SFrame vectors:
//! `cargo run --release -p throng --example kat -- FILE...`
//!
//! The family is recognised by the upstream file name (the SFrame file,
//! `sframe/test-vectors.json`, by its shape). One line per file
//! with its counts, one `skipped:` line per case not run, and a closing
//! `N passed, M failed` line; exits non-zero on any failure or on a file
//! whose family has no harness.

#[path = "../kat/mod.rs"]
mod kat;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let files: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if files.is_empty() {
        eprintln!("usage: kat FILE...   (families: {})", kat::FAMILIES.join(", "));
        return ExitCode::from(2);
    }
    let (mut passed, mut failed, mut broken) = (0usize, 0usize, false);
    for file in &files {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        match kat::run_file(file) {
            Ok(outcome) => {
                for f in &outcome.failed {
                    println!("failed: {name} {f}");
                }
                for s in &outcome.skipped {
                    println!("skipped: {name} case {} suite {}: {}", s.case, s.suite, s.reason);
                }
                println!(
                    "{name}: {} passed ({}), {} failed, {} skipped",
                    outcome.passed_total(),
                    outcome.summary(),
                    outcome.failed.len(),
                    outcome.skipped.len()
                );
                passed += outcome.passed_total();
                failed += outcome.failed.len();
            }
            Err(e) => {
                println!("error: {e}");
                broken = true;
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 || broken { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

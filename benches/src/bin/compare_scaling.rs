//! `compare-scaling FILE.jsonl...`: one `compare` report per thread count
//! (same group size), printed side by side with the speed-up.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut texts = Vec::new();
    for path in std::env::args().skip(1) {
        match std::fs::read_to_string(&path) {
            Ok(text) => texts.push(text),
            Err(e) => {
                eprintln!("compare-scaling: cannot read {path}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    match throng_benches::scaling::scaling(&texts) {
        Ok(table) => {
            print!("{table}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("compare-scaling: {e}");
            ExitCode::FAILURE
        }
    }
}

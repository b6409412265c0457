//! `compare-charts --out DIR FILE.jsonl...`: charts of `compare --json`
//! reports across group sizes (see `throng_benches::charts`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Charts (SVG) of `compare --json` reports, one report per group size:
/// time and size against the number of members, per implementation.
#[derive(Parser)]
#[command(name = "compare-charts")]
struct Args {
    /// Directory the SVGs are written to.
    #[arg(long)]
    out: PathBuf,
    /// Reports written by `compare --json`.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match throng_benches::charts::run(&args.out, &args.files) {
        Ok(written) => {
            for path in written {
                println!("{}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("compare-charts: {e}");
            ExitCode::FAILURE
        }
    }
}

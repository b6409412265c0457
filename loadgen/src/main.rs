//! `loadgen`: parses the command line, calls the library, maps the result
//! to an exit code (docs/STYLE.md 9).

use std::process::ExitCode;

use clap::Parser;

// The load generator measures the engine under the allocator a backend
// would pick for it (docs/ARCHITECTURE.md, performance design 5); the
// library itself forces none.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let cli = throng_loadgen::Cli::parse();
    match throng_loadgen::run(cli, &argv) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

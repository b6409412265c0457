//! Command line of `compare`.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::harness::{self, EVENT_PREFIX, Options};
use crate::impls::Impl;
use crate::metric::{Metric, Scenario};
use crate::scenario::{Config, MIN_MEMBERS};

/// Side-by-side timings and sizes of MLS group operations (RFC 9420) in
/// throng, mls-rs and OpenMLS, on a group of N members.
#[derive(Parser, Debug)]
#[command(name = "compare")]
pub struct Args {
    /// Group size N (at least 4).
    #[arg(long)]
    pub members: u32,
    /// Implementations to compare, comma-separated [default: all with an adapter].
    #[arg(long = "impl", value_delimiter = ',')]
    pub impls: Vec<Impl>,
    /// Metrics to measure, comma-separated [default: all].
    #[arg(long, value_delimiter = ',')]
    pub ops: Vec<Metric>,
    /// Samples per metric [default: 5 up to 2,000 members, 3 up to 20,000, then 1].
    #[arg(long)]
    pub runs: Option<usize>,
    /// Print JSON lines instead of a Markdown table.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON lines to this file (for `compare-charts`),
    /// whichever form is printed.
    #[arg(long)]
    pub json_out: Option<std::path::PathBuf>,
    /// Cap on one timed operation, in seconds.
    #[arg(long, default_value_t = 60.0)]
    pub cap_secs: f64,
    /// Cap on one untimed setup phase, in seconds [default: 10 × cap].
    #[arg(long)]
    pub setup_cap_secs: Option<f64>,
    /// Internal: run one scenario of one implementation and report events.
    #[arg(long, hide = true)]
    pub worker: Option<Scenario>,
    /// Test hook: make this operation hang in the workers, to exercise the cap.
    #[arg(long, hide = true)]
    pub debug_stall: Option<Metric>,
}

/// Default number of runs for a group size.
pub fn default_runs(members: u32) -> usize {
    match members {
        0..=2_000 => 5,
        2_001..=20_000 => 3,
        _ => 1,
    }
}

/// Runs `compare`; `heap_bytes` reads the binary's counting allocator.
pub fn main(args: Args, heap_bytes: Option<fn() -> usize>) -> ExitCode {
    if args.members < MIN_MEMBERS {
        eprintln!("compare: --members must be at least {MIN_MEMBERS}");
        return ExitCode::from(2);
    }
    let impls = if args.impls.is_empty() { Impl::defaults() } else { args.impls.clone() };
    let metrics = if args.ops.is_empty() { Metric::ALL.to_vec() } else { args.ops.clone() };

    if let Some(scenario) = args.worker {
        let [implementation] = impls.as_slice() else {
            eprintln!("compare: a worker runs exactly one implementation");
            return ExitCode::from(2);
        };
        let config = Config { members: args.members, wanted: metrics, heap_bytes, stall: args.debug_stall };
        let stdout = std::io::stdout();
        implementation.run(scenario, &config, &mut |event| {
            if let Ok(json) = serde_json::to_string(&event) {
                let _ = writeln!(stdout.lock(), "{EVENT_PREFIX}{json}");
            }
        });
        return ExitCode::SUCCESS;
    }

    let worker_exe = match std::env::current_exe() {
        Ok(path) => path,
        Err(e) => {
            eprintln!("compare: cannot locate its own executable: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cap = Duration::from_secs_f64(args.cap_secs);
    let options = Options {
        members: args.members,
        impls,
        metrics: Metric::ALL.into_iter().filter(|m| metrics.contains(m)).collect(),
        runs: args.runs.unwrap_or_else(|| default_runs(args.members)).max(1),
        cap,
        setup_cap: args.setup_cap_secs.map_or(cap * 10, Duration::from_secs_f64),
        worker_exe,
        progress: true,
        stall: args.debug_stall,
    };
    match harness::compare(&options) {
        Ok(results) => {
            if let Some(path) = &args.json_out {
                if let Err(e) = std::fs::write(path, crate::report::json_lines(&results)) {
                    eprintln!("compare: cannot write {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
            }
            let text = if args.json { crate::report::json_lines(&results) } else { crate::report::markdown(&results) };
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("compare: {e}");
            ExitCode::FAILURE
        }
    }
}

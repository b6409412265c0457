//! Command line of `compare`.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::harness::{self, EVENT_PREFIX, Options};
use crate::impls::Impl;
use crate::metric::{Metric, Scenario};
use crate::scenario::{Committer, Config, MIN_MEMBERS};

/// A committer position on the command line, or all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum CommitterArg {
    /// Leaf 2.
    First,
    /// Leaf n/2.
    Middle,
    /// Leaf n-1.
    Last,
    /// All three (the report's main table shows each implementation's worst).
    All,
}

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
    /// Worker processes per (scenario, committer position, implementation)
    /// [default: 5 up to 2,000 members, 3 up to 20,000, then 1].
    #[arg(long)]
    pub runs: Option<usize>,
    /// Most samples of one operation per worker, each on fresh untimed
    /// copies (commit/process pairs, builds, throng's joins); a worker stops
    /// repeating an operation once its samples add up to --rep-budget-secs
    /// [default: 4 up to 20,000 members, then 2].
    #[arg(long)]
    pub reps: Option<usize>,
    /// See --reps.
    #[arg(long, default_value_t = 3.0)]
    pub rep_budget_secs: f64,
    /// Committer B's position(s): first (leaf 2), middle (n/2), last (n-1)
    /// or all, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "all")]
    pub committer: Vec<CommitterArg>,
    /// Threads of the rayon pool of every implementation (throng and mls-rs
    /// use it; OpenMLS is sequential); the crypto floor is divided by it
    /// for the parallel bound [default: the CPUs available].
    #[arg(long)]
    pub threads: Option<usize>,
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

/// Default samples per worker for a group size.
pub fn default_reps(members: u32) -> usize {
    if members <= 20_000 { 4 } else { 2 }
}

/// The CPUs this process may use.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `compare`; `heap_bytes` reads the binary's counting allocator.
pub fn main(args: Args, heap_bytes: Option<fn() -> usize>) -> ExitCode {
    if args.members < MIN_MEMBERS {
        eprintln!("compare: --members must be at least {MIN_MEMBERS}");
        return ExitCode::from(2);
    }
    let impls = if args.impls.is_empty() { Impl::defaults() } else { args.impls.clone() };
    let metrics = if args.ops.is_empty() { Metric::ALL.to_vec() } else { args.ops.clone() };
    let committers: Vec<Committer> = if args.committer.contains(&CommitterArg::All) {
        Committer::ALL.to_vec()
    } else {
        Committer::ALL
            .into_iter()
            .filter(|c| {
                args.committer.contains(&match c {
                    Committer::First => CommitterArg::First,
                    Committer::Middle => CommitterArg::Middle,
                    Committer::Last => CommitterArg::Last,
                })
            })
            .collect()
    };
    let threads = args.threads.unwrap_or_else(cpus).max(1);
    let reps = args.reps.unwrap_or_else(|| default_reps(args.members)).max(1);
    let rep_budget = Duration::from_secs_f64(args.rep_budget_secs.max(0.0));

    if let Some(scenario) = args.worker {
        let [implementation] = impls.as_slice() else {
            eprintln!("compare: a worker runs exactly one implementation");
            return ExitCode::from(2);
        };
        let [committer] = committers.as_slice() else {
            eprintln!("compare: a worker runs exactly one committer position");
            return ExitCode::from(2);
        };
        // Every implementation's parallel work runs on this pool.
        if let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global() {
            eprintln!("compare: cannot start a pool of {threads} threads: {e}");
            return ExitCode::FAILURE;
        }
        let config = Config {
            members: args.members,
            wanted: metrics,
            heap_bytes,
            stall: args.debug_stall,
            committer: *committer,
            reps,
            rep_budget,
        };
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
        committers,
        threads,
        reps,
        rep_budget,
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

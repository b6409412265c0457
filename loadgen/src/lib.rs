//! throng-loadgen: simulates massive MLS groups under churn with real
//! cryptography and reports latency, throughput, bytes, memory and tree
//! health. `main` only parses the command line and calls [`run`].
#![forbid(unsafe_code)]

pub mod metrics;
pub mod profile;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod soak;

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::metrics::Metrics;
use crate::report::{Provenance, Report, Run};
use crate::scenario::{BUNDLED, CommitterChoice, Scenario, ScenarioError};

/// The command line.
#[derive(Debug, Parser)]
#[command(name = "loadgen", version, about = "Simulates massive MLS groups under churn with real cryptography")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs a scenario (the bundled `default` when none is given) and writes its report.
    Run(RunArgs),
    /// Lists the bundled scenarios.
    List,
    /// Checks a scenario file and prints what it would run.
    Validate {
        /// Scenario file, or the name of a bundled scenario.
        scenario: String,
    },
}

/// Options of `loadgen run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Scenario file, or the name of a bundled scenario (`loadgen list`).
    pub scenario: Option<String>,
    /// Report folder (default: results/<scenario>-<timestamp>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Writes a pprof flame graph of the run (SVG) to profiles/ (or --out).
    #[arg(long)]
    pub profile: bool,
    /// Worker threads for the cryptography (default: every CPU).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Overrides the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Shrinks the scenario (fewer groups, members, epochs) for CI.
    #[arg(long)]
    pub quick: bool,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Soak mode: builds the groups once, then churns them for this long
    /// (e.g. `90s`, `60m`, `1h`) instead of the scenario's epochs, keeping
    /// each group's size within ±2% of the scenario's, and samples RSS and
    /// latencies (report: soak section, soak-samples.csv). Runs only the
    /// scenario's committer policy.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// PostgreSQL for scenarios whose `[backend]` store is `postgres`
    /// (`backend-pg-2nodes`), e.g. postgres://throng@127.0.0.1:5432/throng
    /// [default: $THRONG_PG_URL, then $THRONG_TEST_PG_URL]. The run works in
    /// a schema of its own, dropped at the end.
    #[arg(long, value_name = "URL")]
    pub pg_url: Option<String>,
    /// Soak mode: sampling period.
    #[arg(long, value_parser = parse_duration, default_value = "10s", requires = "duration")]
    pub sample_every: std::time::Duration,
}

/// A `--duration` or `--sample-every` value: `90s`, `60m`, `1h`, `1h 30m`,
/// `500ms` (humantime's syntax); a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let d = match t.parse::<u64>() {
        Ok(secs) => std::time::Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(t).map_err(|e| format!("`{t}`: {e} (e.g. 90s, 60m, 1h)"))?,
    };
    if d.is_zero() {
        return Err(format!("`{t}`: must be longer than zero"));
    }
    Ok(d)
}

/// Why `loadgen` failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A scenario could not be loaded.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The simulation or the report failed.
    #[error("{0}")]
    Run(String),
    /// The scenario keeps its groups in PostgreSQL and no database was given.
    #[error(
        "scenario `{0}` keeps its groups in PostgreSQL and no database was given: pass --pg-url URL or set \
         THRONG_PG_URL (THRONG_TEST_PG_URL, as CI exports it, works too), e.g. \
         postgres://throng@127.0.0.1:5432/throng; the run creates and drops a schema of its own there. \
         A throwaway cluster, with PostgreSQL's binaries (/usr/lib/postgresql/*/bin) on the PATH and as a \
         user other than root (initdb refuses root; see .ci/run): \
         initdb -D /tmp/throng-pg -U throng --auth=trust && \
         pg_ctl -D /tmp/throng-pg -l /tmp/throng-pg/log -o \"-c listen_addresses=127.0.0.1 -c port=5432 \
         -c unix_socket_directories=/tmp/throng-pg\" start && createdb -h 127.0.0.1 -p 5432 -U throng throng \
         (stop it with pg_ctl -D /tmp/throng-pg stop)"
    )]
    NoDatabase(String),
    /// The run finished, but members or the DS saw protocol errors (the
    /// report was written; see its Errors section).
    #[error("the run saw {0} protocol errors; see the report")]
    Integrity(u64),
}

impl Error {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Scenario(_) | Error::NoDatabase(_) => 2,
            Error::Run(_) => 1,
            Error::Integrity(_) => 3,
        }
    }
}

/// What `run` did.
#[derive(Debug)]
pub enum Outcome {
    /// Listed or validated.
    Done,
    /// Ran and wrote the report into this folder.
    Report(PathBuf),
}

/// Runs a parsed command; `argv` is the command line as typed (for the
/// report's provenance).
pub fn run(cli: Cli, argv: &[String]) -> Result<Outcome, Error> {
    match cli.command {
        Command::List => {
            for (name, text) in BUNDLED {
                let s = Scenario::parse(text, std::path::Path::new(name))?;
                println!("{name:<18} {}", s.description);
            }
            Ok(Outcome::Done)
        }
        Command::Validate { scenario } => {
            let s = Scenario::load(&scenario)?;
            println!(
                "{}: ok — {} group(s) × {} members ({} full), {} epochs{}, committer {}{}",
                scenario,
                s.groups.count,
                s.groups.members,
                s.groups.full_members,
                s.duration.epochs.map_or("unbounded".into(), |e| e.to_string()),
                s.duration.seconds.map_or(String::new(), |t| format!(" or {t} s")),
                s.policy.committer.name(),
                if s.policy.compare_policies { ", compared with the other policy" } else { "" }
            );
            Ok(Outcome::Done)
        }
        Command::Run(args) => run_scenario(&args, argv).map(Outcome::Report),
    }
}

fn git_commit() -> Option<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out =
        std::process::Command::new("git").args(["describe", "--always", "--dirty"]).current_dir(dir).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn progress(hidden: bool, len: u64, msg: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(len),
        if hidden { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() },
    );
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {msg:<24} [{elapsed_precise}] {wide_bar} {pos}/{len} ({eta} left)")
    {
        bar.set_style(style);
    }
    bar.set_message(msg.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// The PostgreSQL URL: `--pg-url`, else `THRONG_PG_URL`, else
/// `THRONG_TEST_PG_URL` (what CI exports); empty values are ignored.
fn pg_url(args: &RunArgs) -> Option<String> {
    args.pg_url.clone().filter(|u| !u.is_empty()).or_else(|| {
        ["THRONG_PG_URL", "THRONG_TEST_PG_URL"].iter().find_map(|k| std::env::var(k).ok().filter(|u| !u.is_empty()))
    })
}

/// `loadgen run`: simulates, then writes the report (and the profile).
pub fn run_scenario(args: &RunArgs, argv: &[String]) -> Result<PathBuf, Error> {
    let name = args.scenario.as_deref().unwrap_or("default");
    let mut scenario = Scenario::load(name)?;
    if args.quick {
        scenario = scenario.quick();
    }
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    // Soak mode: the duration ends the churn, not the scenario's epochs, and
    // only the scenario's own committer policy runs.
    if let Some(d) = args.duration {
        scenario.duration.epochs = None;
        scenario.duration.seconds = Some(d.as_secs_f64());
        scenario.policy.compare_policies = false;
    }
    let pg_url = match scenario.backend.as_ref().map(|b| b.store) {
        Some(scenario::StoreKind::Postgres) => {
            Some(pg_url(args).ok_or_else(|| Error::NoDatabase(scenario.name.clone()))?)
        }
        _ => None,
    };
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("loadgen-{i}"))
            .build()
            .map_err(|e| Error::Run(e.to_string()))?,
    );
    // Read now: a long run may end after the worktree moved on.
    let git = git_commit();
    let started = std::time::SystemTime::now();
    let stamp = humantime::format_rfc3339_seconds(started).to_string();
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("results").join(format!(
            "{}-{}",
            scenario.name,
            stamp.replace([':', '-'], "").trim_end_matches('Z')
        ))
    });
    let profiler = if args.profile { Some(profile::Profiler::start().map_err(Error::Run)?) } else { None };

    let mut choices = vec![scenario.policy.committer];
    if scenario.policy.compare_policies {
        choices.push(match scenario.policy.committer {
            CommitterChoice::Random => CommitterChoice::BlankAware,
            CommitterChoice::BlankAware => CommitterChoice::Random,
        });
    }
    let total_members = f64::from(scenario.groups.count) * f64::from(scenario.groups.members);
    let hidden = args.no_progress;
    let soak = args.duration.map(|duration| soak::SoakConfig {
        duration,
        sample_every: args.sample_every,
        csv: Some(out.join("soak-samples.csv")),
        print: hidden,
    });
    if soak.is_some() {
        std::fs::create_dir_all(&out).map_err(|e| Error::Run(format!("cannot create {}: {e}", out.display())))?;
    }
    let mut soak_report = None;
    let mut runs = Vec::new();
    let mut problems = 0;
    for choice in choices {
        let metrics = Arc::new(Metrics::new());
        let build_metrics = Arc::new(Metrics::new());
        let bar = progress(
            hidden,
            u64::from(scenario.groups.count) * u64::from(scenario.groups.members - 1),
            &format!("build ({})", choice.name()),
        );
        let stats = sim::simulate(
            &scenario,
            choice,
            pool.clone(),
            metrics.clone(),
            build_metrics.clone(),
            bar.clone(),
            soak.clone(),
            pg_url.as_deref(),
        )
        .map_err(Error::Run)?;
        bar.finish_and_clear();
        if let (Some(config), Some(out)) = (&soak, &stats.soak) {
            let b = sim::churn::Balance::around(scenario.groups.members);
            let balance = format!(
                "each group kept within {} ± {} members: joins beyond the band's top and leaves beyond its bottom are skipped (counters balance_skipped_joins / balance_skipped_leaves)",
                b.target, b.band
            );
            if let Some(e) = &out.csv_error {
                eprintln!("loadgen: soak samples file: {e} (rewritten with the report)");
            }
            let r = soak::SoakReport::analyze(config, out, stats.churn_seconds, balance);
            eprintln!("soak: {}", r.verdict);
            soak_report = Some(r);
        }
        let run = Run::new(choice.name(), &metrics, &build_metrics, &stats, total_members);
        problems +=
            run.counters.member_errors + run.counters.ds_rejections + run.backend.as_ref().map_or(0, |b| b.forks);
        eprintln!(
            "{} ({}): build {:.1} s, churn {:.1} s, {:.0} epochs/group, commit p50 {} µs / process p50 {} µs",
            scenario.name,
            choice.name(),
            run.build_seconds,
            run.churn_seconds,
            run.epochs_per_group,
            run.latency(metrics::Op::CreateCommit)
                .or(run.latency(metrics::Op::CreateCommitWithWelcome))
                .map_or(0, |l| l.p50),
            run.latency(metrics::Op::ProcessCommit).map_or(0, |l| l.p50),
        );
        runs.push(run);
    }

    let command =
        std::iter::once("loadgen".to_string()).chain(argv.iter().skip(1).cloned()).collect::<Vec<_>>().join(" ");
    let report = Report {
        schema_version: report::SCHEMA_VERSION,
        provenance: Provenance {
            throng_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: git,
            command,
            started_at: stamp,
            machine: profile::Machine::detect(),
            threads,
            build_profile: if cfg!(debug_assertions) {
                "debug".into()
            } else {
                "release (workspace profile: lto thin, codegen-units 4)".into()
            },
            noise:
                "none beyond a dedicated rayon pool; wall-clock latencies on a shared machine (other processes may run)"
                    .into(),
        },
        scenario: scenario.clone(),
        quick: args.quick,
        runs,
        soak: soak_report,
    };
    let written = report.write(&out).map_err(Error::Run)?;
    if let Some(p) = profiler {
        let path = match &args.out {
            Some(dir) => dir.join("flamegraph.svg"),
            None => {
                std::fs::create_dir_all("profiles").map_err(|e| Error::Run(format!("cannot create profiles/: {e}")))?;
                PathBuf::from("profiles")
                    .join(format!("{}.svg", out.file_name().and_then(|n| n.to_str()).unwrap_or("loadgen")))
            }
        };
        p.finish(&path, &format!("loadgen run {} ({})", scenario.name, report.provenance.command))
            .map_err(Error::Run)?;
        eprintln!("flame graph: {}", path.display());
    }
    for w in &written {
        eprintln!("wrote {}", w.display());
    }
    if problems > 0 {
        return Err(Error::Integrity(problems));
    }
    Ok(out)
}

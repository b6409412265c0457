//! Flame graphs (pprof, SVG) of throng's `build`, `join`, warm `commit`
//! and `process_cold@first` at N members, as `compare` defines them, for `profiles/`:
//!
//! ```text
//! cargo run --release -p throng-benches --example profile_ops -- --members 10000 --out profiles/
//! ```
//!
//! writes `compare-{build,join,commit,process_cold_first}-10k-<git short hash>.svg`. The fixture
//! ([`GroupFixture`]) is built first, unprofiled; each profile then covers
//! only repetitions of its operation, with their inputs (creators, joiner
//! clients, copies of B) made and their outputs dropped while sampling is
//! paused. pprof asks for 997 samples per CPU second, but Linux delivers
//! profiling signals at most once per scheduler tick (often 250 Hz), so the
//! defaults (3 builds, 10 joins, 10,000 commits of about 0.5 ms) give each
//! operation a few seconds of work at 10,000 members: under a minute in all.
//! Samples come from every thread, rayon's workers included.

// A profile that cannot set up or run its operation must stop, not carry on.
#![allow(clippy::expect_used)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use pprof::Report;
use throng_benches::group_fixtures::{GroupFixture, Op};
use throng_benches::peer::Peer;
use throng_benches::peers::throng::Throng;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Flame graphs of throng's build, join and warm commit.
#[derive(Parser)]
struct Args {
    /// Group size N.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(4..))]
    members: u32,
    /// Directory the SVGs are written to.
    #[arg(long, default_value = "profiles")]
    out: PathBuf,
    /// Builds profiled.
    #[arg(long, default_value_t = 3)]
    builds: usize,
    /// Joins profiled.
    #[arg(long, default_value_t = 10)]
    joins: usize,
    /// Commits profiled, each by its own copy of B.
    #[arg(long, default_value_t = 10_000)]
    commits: usize,
    /// Cold commits from the first position (leaf 2) that C processes,
    /// each on its own copy of C.
    #[arg(long, default_value_t = 300)]
    cold_processes: usize,
}

fn main() {
    let args = Args::parse();
    std::fs::create_dir_all(&args.out).expect("output directory");
    let n = args.members;
    let tag = format!("{}-{}", size_label(n), short_git_hash());
    let fixture = GroupFixture::build(n);
    eprintln!("fixture of {n} members built in {:.1} s", fixture.build_time.as_secs_f64());
    let svg = |op: &str| args.out.join(format!("compare-{op}-{tag}.svg"));
    // The routine's adapter; the other makes the inputs.
    let mut peer = Throng::default();
    let mut setup = Throng::default();

    profile(
        &svg("build"),
        args.builds,
        || setup.client(0).expect("creator").0,
        |creator| peer.build(creator, &fixture.key_packages).expect("build"),
    );
    profile(
        &svg("join"),
        args.joins,
        || fixture.joiner.clone(),
        |client| peer.join(client, &fixture.welcome, &fixture.tree).expect("join"),
    );
    // Copies of B are made a batch at a time: all of them at once would
    // hold `commits` whole member states.
    let batch = 30;
    profile(
        &svg("commit"),
        args.commits.div_ceil(batch),
        || (0..batch).map(|_| setup.fork(&fixture.warm.b).expect("fork")).collect::<Vec<_>>(),
        |copies| {
            copies
                .into_iter()
                .map(|mut b| {
                    let commit = Op::Update.commit(&mut peer, &mut b, &fixture);
                    (b, commit)
                })
                .collect::<Vec<_>>()
        },
    );
    // C processing B-at-first's commit on the cold tree: the commit (about
    // n ciphertexts) is made once, unprofiled; each round processes it on a
    // fresh copy of C.
    let mut b = setup.fork(&fixture.cold_first).expect("fork");
    let cold_commit = Op::Update.commit(&mut setup, &mut b, &fixture);
    profile(
        &svg("process_cold_first"),
        args.cold_processes,
        || setup.fork(&fixture.cold.c).expect("fork"),
        |mut c| {
            peer.process(&mut c, &cold_commit).expect("process");
            c
        },
    );
}

/// Runs `work` `rounds` times under pprof, each time on an input `prepare`
/// made unprofiled, and writes one flame graph of all rounds to `path`.
/// Outputs are dropped after sampling stops. Sampling is at 997 Hz, a prime,
/// so that it does not lock step with periodic work.
fn profile<I, O>(path: &Path, rounds: usize, mut prepare: impl FnMut() -> I, mut work: impl FnMut(I) -> O) {
    let mut total: Option<Report> = None;
    for _ in 0..rounds {
        let input = prepare();
        let guard = pprof::ProfilerGuardBuilder::default()
            .frequency(997)
            .blocklist(&["libc", "libgcc", "pthread", "vdso"])
            .build()
            .expect("start pprof");
        let output = work(input);
        let report = guard.report().build().expect("pprof report");
        drop(guard);
        drop(output);
        match &mut total {
            None => total = Some(report),
            Some(total) => {
                for (frames, count) in report.data {
                    *total.data.entry(frames).or_default() += count;
                }
                total.timing.duration += report.timing.duration;
            }
        }
    }
    let Some(report) = total else { return };
    report.flamegraph(File::create(path).expect("create SVG")).expect("write flame graph");
    eprintln!("wrote {} ({} samples)", path.display(), report.data.values().sum::<isize>());
}

/// `10k` for 10,000: the size as profile names spell it.
fn size_label(n: u32) -> String {
    if n.is_multiple_of(1000) { format!("{}k", n / 1000) } else { n.to_string() }
}

/// The commit the profile was taken at, or `nogit` outside a checkout.
fn short_git_hash() -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "nogit".to_string())
}

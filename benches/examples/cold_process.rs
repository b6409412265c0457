//! A member's processing of the cold commit in a loop, for profiles of the
//! work `process_cold` times (issue 16: what share of it is sequential):
//!
//! ```text
//! RAYON_NUM_THREADS=1 cargo run --release -p throng-benches --example cold_process -- --members 10000
//! ```
//!
//! B at `--committer first` or `last` makes one commit (`--commit update`,
//! `add` or `remove`) on the freshly built tree ([`GroupFixture`]), untimed; C then processes it on fresh copies,
//! one timed sample each, and the min / median / p90 and sample count are
//! printed. Unlike `compare`, no commit is made between samples unless
//! `--commit-before` asks, so caches, the allocator and the second core
//! stay warm: this isolates the processing itself.
//!
//! With `PERF_CTL` (and `PERF_ACK`) naming the FIFOs of `perf record -D -1
//! --control=fifo:$PERF_CTL,$PERF_ACK`, sampling is on only while samples
//! are taken, not while the fixture and copies are made.

// A loop that cannot set up or run its operation must stop.
#![allow(clippy::expect_used)]

use std::io::{Read, Write};
use std::time::Instant;

use clap::{Parser, ValueEnum};
use throng::internals::group::Group;
use throng_benches::group_fixtures::{GroupFixture, Op};
use throng_benches::metric::Metric;
use throng_benches::peer::Peer;
use throng_benches::peers::throng::Throng;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Clone, Copy, ValueEnum)]
enum Position {
    First,
    Last,
}

/// C processing B's cold commit, in a loop.
#[derive(Parser)]
struct Args {
    /// Group size N.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(4..))]
    members: u32,
    /// Timed samples.
    #[arg(long, default_value_t = 300)]
    samples: usize,
    /// B's leaf: first (leaf 2, about n ciphertexts) or last (leaf n - 1).
    #[arg(long, value_enum, default_value = "first")]
    committer: Position,
    /// What B commits.
    #[arg(long, value_enum, default_value = "update")]
    commit: Op,
    /// Before each sample, B makes another such commit on a fresh copy,
    /// untimed, as `compare` does: caches, the allocator and the second
    /// core are left as the commit leaves them.
    #[arg(long)]
    commit_before: bool,
    /// Print each sample's start (`Instant`, CLOCK_MONOTONIC on Linux) and
    /// wall time to stderr, to match against `perf sched record -k
    /// CLOCK_MONOTONIC` (`results/cold_placement.py`).
    #[arg(long)]
    print_samples: bool,
}

fn main() {
    let args = Args::parse();
    let fixture = GroupFixture::build(args.members);
    let mut setup = Throng::default();
    let mut peer = Throng::default();
    let committer = match args.committer {
        Position::First => &fixture.cold_first,
        Position::Last => &fixture.cold.b,
    };
    let mut b = setup.fork(committer).expect("fork");
    let op = args.commit;
    let commit = op.commit(&mut setup, &mut b, &fixture);
    eprintln!("commit of {} bytes", commit.len());
    // Copies are made a batch at a time, outside the sampled region.
    let batch = 20;
    let mut times = Vec::with_capacity(args.samples);
    while times.len() < args.samples {
        let copies: Vec<Group> = (0..batch).map(|_| setup.fork(&fixture.cold.c).expect("fork")).collect();
        let mut done = Vec::with_capacity(batch);
        for mut c in copies {
            if args.commit_before {
                let mut again = setup.fork(committer).expect("fork");
                op.commit(&mut setup, &mut again, &fixture);
            }
            perf("enable");
            let start = Instant::now();
            peer.process(&mut c, &commit).expect("process");
            times.push(start.elapsed().as_secs_f64() * 1e3);
            if args.print_samples {
                eprintln!("sample {start:?} {:.3} ms", times[times.len() - 1]);
            }
            perf("disable");
            done.push(c);
        }
    }
    times.sort_by(f64::total_cmp);
    let at = |q: usize| times[(times.len() - 1) * q / 100];
    println!("{}: min {:.3} median {:.3} p90 {:.3} ms, n={}", metric(op).name(), times[0], at(50), at(90), times.len());
}

/// The `compare` metric the loop times for `op`.
fn metric(op: Op) -> Metric {
    match op {
        Op::Update => Metric::ProcessCold,
        Op::Add => Metric::ProcessAddCold,
        Op::Remove => Metric::ProcessRemoveCold,
    }
}

/// Sends `command` to perf's control FIFO and waits for its ack, if asked.
fn perf(command: &str) {
    let Ok(control) = std::env::var("PERF_CTL") else { return };
    let mut fifo = std::fs::OpenOptions::new().write(true).open(control).expect("perf control FIFO");
    writeln!(fifo, "{command}").expect("write to perf");
    if let Ok(ack) = std::env::var("PERF_ACK") {
        let mut reply = [0u8; 5];
        std::fs::File::open(ack).expect("perf ack FIFO").read_exact(&mut reply).expect("perf ack");
    }
}

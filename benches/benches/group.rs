//! throng's group operations at 1,000 and 10,000 members, driven through the
//! comparison's [`Throng`] adapter, so each bench times exactly what
//! `compare` reports under the same name (see `throng_benches::scenario` for
//! the definitions): `group/<op>/<members>` for `build`, `join`, `commit`,
//! `process`, `add_one`, `process_add`, `remove_one`, `process_remove`, on the
//! warmed tree and, as `<op>_cold`, on the freshly built one.
//!
//! A size's fixture ([`GroupFixture`]: key packages, the built group, B and
//! C cold and warm) is built once, untimed, by the first selected bench of
//! that size: a few seconds at 10,000 members on two cores. Every iteration starts from its own untimed copy
//! ([`Peer::fork`]) of B or C, and the member state is dropped outside the
//! timing, as `compare` does.
//!
//! `THRONG_BENCH_SIZES=1000` limits the sizes; criterion's usual filter
//! picks benches (`group/commit/`). With `--profile-time SECS` each selected
//! bench runs under pprof (the untimed copies included) and writes
//! `flamegraph.svg` into `target/criterion/<bench>/profile/`.

// A bench that cannot set up or run its operation must stop, not carry on.
#![allow(clippy::expect_used)]

mod flamegraph;

use std::cell::OnceCell;
use std::time::Duration;

use criterion::{BatchSize, Bencher, BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use throng_benches::group_fixtures::{GroupFixture, Op};
use throng_benches::peer::Peer;
use throng_benches::peers::throng::Throng;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_SIZES: [u32; 2] = [1_000, 10_000];

fn sizes() -> Vec<u32> {
    match std::env::var("THRONG_BENCH_SIZES") {
        Ok(list) => list.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        Err(_) => DEFAULT_SIZES.to_vec(),
    }
}

/// Registers `group/<op>/<n>`. An operation whose cost grows with the
/// group (`ms_per_member`, measured at 1,000 members) gets ten samples of
/// about one iteration each: build takes over a second at 10,000 members.
fn bench(c: &mut Criterion, op: &str, n: u32, ms_per_member: Option<f64>, routine: impl FnMut(&mut Bencher<'_>)) {
    let mut g = c.benchmark_group(format!("group/{op}"));
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    let two_seconds = Duration::from_secs(2);
    match ms_per_member {
        Some(ms) => {
            g.sampling_mode(SamplingMode::Flat);
            g.measurement_time(Duration::from_secs_f64(10.0 * ms * 1e-3 * f64::from(n)).max(two_seconds));
        }
        None => {
            g.measurement_time(two_seconds);
        }
    }
    g.bench_function(BenchmarkId::from_parameter(n), routine);
    g.finish();
}

fn bench_size(c: &mut Criterion, n: u32) {
    let cell = OnceCell::new();
    let fixture = || {
        cell.get_or_init(|| {
            let f = GroupFixture::build(n);
            eprintln!("fixture of {n} members built in {:.1} s", f.build_time.as_secs_f64());
            f
        })
    };
    // One adapter times, the other makes the untimed copies and creators.
    let mut peer = Throng::default();
    let mut setup = Throng::default();

    // Each input is a whole member state: one at a time (PerIteration), and
    // returned so that it is dropped untimed.
    bench(c, "build", n, Some(0.15), |b| {
        let f = fixture();
        b.iter_batched(
            || setup.client(0).expect("creator").0,
            |creator| peer.build(creator, &f.key_packages).expect("build"),
            BatchSize::PerIteration,
        )
    });
    bench(c, "join", n, Some(0.05), |b| {
        let f = fixture();
        b.iter_batched(
            || f.joiner.clone(),
            |client| peer.join(client, &f.welcome, &f.tree).expect("join"),
            BatchSize::PerIteration,
        )
    });

    let ops = [
        (Op::Update, "commit", "process"),
        (Op::Add, "add_one", "process_add"),
        (Op::Remove, "remove_one", "process_remove"),
    ];
    for warm in [true, false] {
        let suffix = if warm { "" } else { "_cold" };
        for (op, commit_name, process_name) in ops {
            // A cold commit encrypts its path to about n/2 leaves.
            let cost = if warm { None } else { Some(0.025) };
            bench(c, &format!("{commit_name}{suffix}"), n, cost, |b| {
                let f = fixture();
                let pair = f.pair(warm);
                b.iter_batched(
                    || setup.fork(&pair.b).expect("fork"),
                    |mut member| {
                        let commit = op.commit(&mut peer, &mut member, f);
                        (member, commit)
                    },
                    BatchSize::PerIteration,
                )
            });
            // The commit C processes is made once, untimed, by a copy of B.
            let commit = OnceCell::new();
            bench(c, &format!("{process_name}{suffix}"), n, None, |b| {
                let f = fixture();
                let pair = f.pair(warm);
                let commit = commit.get_or_init(|| {
                    let mut committer = setup.fork(&pair.b).expect("fork");
                    op.commit(&mut setup, &mut committer, f)
                });
                b.iter_batched(
                    || setup.fork(&pair.c).expect("fork"),
                    |mut member| {
                        peer.process(&mut member, commit).expect("process");
                        member
                    },
                    BatchSize::PerIteration,
                )
            });
        }
    }
}

fn bench_groups(c: &mut Criterion) {
    for n in sizes() {
        bench_size(c, n);
    }
}

fn config() -> Criterion {
    Criterion::default().without_plots().with_profiler(flamegraph::FlameGraph::new())
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_groups
}
criterion_main!(benches);

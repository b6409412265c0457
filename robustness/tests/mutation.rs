//! The stable-Rust mutation suite (issue 12): every target over its
//! mutants, in a few minutes on two cores in release.
//!
//! For each input: no panic (caught, with the mutator and input), a typed
//! error or an explained accept (`throng_robustness::targets`), the
//! receiver's exported state unchanged after a rejection, the genuine
//! message still processing after a rejection (every 16th input and the
//! last of each batch), under 1 s, and under 100 MiB (the allocation
//! high-water mark of the process, above what was live when the batch
//! started: two inputs run at once, so the bound covers both together).
//!
//! It prints a table: inputs per target, rejected, accepted (by reason),
//! violations, slowest input and the memory high-water. Failing inputs
//! are written to `$CARGO_TARGET_TMPDIR/robustness-failures/`.
//!
//! `ROBUSTNESS_SCALE=4 cargo test --release -p throng-robustness --test
//! mutation -- --nocapture` runs four times the mutants.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use throng_robustness::fixtures::{Fixture, reseal};
use throng_robustness::insider;
use throng_robustness::mutators::{Budget, Expect, Mutant, byte_mutants};
use throng_robustness::targets::{self, Checked, Outcome, ServerFixture};

#[global_allocator]
static ALLOC: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

const TIME_LIMIT: Duration = Duration::from_secs(1);
const MEMORY_LIMIT: usize = 100 << 20;
/// The hard cap outside the re-runs: a runaway allocation aborts instead
/// of swapping the machine.
const RUNAWAY_LIMIT: usize = 4 << 30;

/// Engine bugs found by this suite and not fixed yet: (target, mutator
/// prefix, what goes wrong). Matching inputs are not run (a known
/// 10-second or 1-GiB input would hide the others) and are counted as
/// "known" in the table. Empty it as the fixes land.
const KNOWN_BUGS: &[(&str, &str, &str)] = &[];

fn known_bug(target: &str, mutator: &str) -> bool {
    KNOWN_BUGS.iter().any(|(t, m, _)| *t == target && mutator.starts_with(m))
}

thread_local! {
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// One input's result.
struct Record {
    mutant: Mutant,
    index: usize,
    result: Result<Checked, String>,
    elapsed: Duration,
    /// Bytes allocated while it ran (an upper bound of its peak).
    allocated: usize,
    /// Whether it ran again alone under the hard memory cap (and passed).
    capped: bool,
}

#[derive(Default)]
struct Stats {
    inputs: usize,
    rejected: usize,
    accepted: BTreeMap<String, usize>,
    known: usize,
    panics: usize,
    state_changes: usize,
    violations: Vec<String>,
    slowest: (Duration, String),
    /// The most bytes one input allocated (two inputs run at once, so
    /// this may include the other's), over inputs not re-run under the cap.
    peak: usize,
    /// Inputs that allocated over 100 MiB in total and passed a re-run
    /// alone under a 100 MiB cap.
    capped: usize,
}

struct Suite {
    stats: BTreeMap<&'static str, Stats>,
    order: Vec<&'static str>,
    scale: f64,
}

impl Suite {
    fn budget(&self, flips: usize, truncations: usize, inflations: usize, splices: usize, havoc: usize) -> Budget {
        Budget { flips, truncations, inflations, splices, havoc }.scaled(self.scale)
    }

    /// Runs `run` over `mutants` (two at a time) and records the results
    /// under `target`.
    fn batch<F>(&mut self, target: &'static str, label: &str, mutants: Vec<Mutant>, run: F)
    where
        F: Fn(usize, &Mutant) -> Checked + Sync,
    {
        if !self.stats.contains_key(target) {
            self.order.push(target);
        }
        let (run_now, known): (Vec<_>, Vec<_>) = mutants.into_iter().partition(|m| !known_bug(target, &m.mutator));
        let n = run_now.len();
        let run_one = |i: usize, m: &Mutant| {
            let start = Instant::now();
            let before = ALLOC.total_allocated();
            let result = catch_unwind(AssertUnwindSafe(|| run(i + usize::from(i + 1 == n) * 15, m)));
            let elapsed = start.elapsed();
            let allocated = ALLOC.total_allocated() - before;
            let result = result.map_err(|payload| {
                let msg = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                let at = PANIC.with(|p| p.borrow_mut().take()).unwrap_or_default();
                format!("{msg} at {at}")
            });
            (result, elapsed, allocated)
        };
        let mut records: Vec<Record> = run_now
            .into_par_iter()
            .enumerate()
            .map(|(i, m)| {
                let (result, elapsed, allocated) = run_one(i, &m);
                Record { mutant: m, index: i, result, elapsed, allocated, capped: false }
            })
            .collect();
        // Bytes allocated during an input bound its peak from above; with
        // two inputs at once they include the other's. An input over the
        // bound runs again alone, under a hard cap of 100 MiB above what is
        // live: it passes, or the allocation fails and the process aborts
        // right after the line naming it.
        for r in records.iter_mut().filter(|r| r.allocated > MEMORY_LIMIT) {
            println!(
                "re-running alone under a {} MiB cap: {target} {label} {} ({}), {} MiB allocated",
                MEMORY_LIMIT >> 20,
                r.mutant.mutator,
                r.mutant.detail,
                r.allocated >> 20
            );
            let live = ALLOC.allocated();
            if ALLOC.set_limit(live + MEMORY_LIMIT).is_ok() {
                let (_, elapsed, allocated) = run_one(r.index, &r.mutant);
                ALLOC.set_limit(live + RUNAWAY_LIMIT).unwrap();
                r.elapsed = r.elapsed.min(elapsed);
                r.allocated = allocated;
                r.capped = true;
            }
        }
        let stats = self.stats.entry(target).or_default();
        stats.known += known.len();
        for r in records {
            stats.inputs += 1;
            if r.capped {
                stats.capped += 1;
            } else {
                stats.peak = stats.peak.max(r.allocated);
            }
            let what = format!("{target} {label} {} ({})", r.mutant.mutator, r.mutant.detail);
            if r.elapsed > stats.slowest.0 {
                stats.slowest = (r.elapsed, format!("{label} {}", r.mutant.mutator));
            }
            let mut failure = None;
            if r.elapsed > TIME_LIMIT {
                failure = Some(format!("{} ms: {what}", r.elapsed.as_millis()));
            }
            match r.result {
                Err(panic) => {
                    stats.panics += 1;
                    failure = Some(format!("PANIC {panic}: {what}"));
                }
                Ok(Err(violation)) => {
                    if violation.contains("state changed") {
                        stats.state_changes += 1;
                    }
                    failure = Some(format!("{violation}: {what}"));
                }
                Ok(Ok(Outcome::Rejected(_))) => stats.rejected += 1,
                Ok(Ok(Outcome::Accepted(why))) => *stats.accepted.entry(why).or_default() += 1,
            }
            if let Some(f) = failure {
                save_failure(target, label, &r.mutant.mutator, stats.violations.len(), &r.mutant.bytes);
                stats.violations.push(f);
            }
        }
    }

    fn print(&self, elapsed: Duration) -> usize {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(out);
        let _ = writeln!(out, "mutation suite: {:.1} s, scale {}", elapsed.as_secs_f64(), self.scale);
        let _ = writeln!(
            out,
            "{:<22} {:>7} {:>8} {:>8} {:>6} {:>7} {:>6} {:>10} {:>10} {:>7}  slowest input",
            "target", "inputs", "rejected", "accepted", "known", "panics", "state", "violations", "alloc MiB", "capped"
        );
        let mut total = 0;
        for t in &self.order {
            let s = &self.stats[t];
            let accepted: usize = s.accepted.values().sum();
            let _ = writeln!(
                out,
                "{:<22} {:>7} {:>8} {:>8} {:>6} {:>7} {:>6} {:>10} {:>10.1} {:>7}  {} ms {}",
                t,
                s.inputs,
                s.rejected,
                accepted,
                s.known,
                s.panics,
                s.state_changes,
                s.violations.len(),
                s.peak as f64 / (1 << 20) as f64,
                s.capped,
                s.slowest.0.as_millis(),
                s.slowest.1
            );
            total += s.violations.len();
        }
        let _ = writeln!(out, "\naccepted, by reason:");
        for t in &self.order {
            for (why, n) in &self.stats[t].accepted {
                let _ = writeln!(out, "  {t:<22} {n:>6}  {why}");
            }
        }
        if !KNOWN_BUGS.is_empty() {
            let _ = writeln!(out, "\nKNOWN_BUGS (not run):");
            for (t, m, why) in KNOWN_BUGS {
                let _ = writeln!(out, "  {t} {m}: {why}");
            }
        }
        if total > 0 {
            let _ = writeln!(out, "\nviolations:");
            for t in &self.order {
                for v in &self.stats[t].violations {
                    let _ = writeln!(out, "  {v}");
                }
            }
        }
        print!("{out}");
        // CI runs the workspace's tests without --nocapture and shows
        // this file after them (.ci/run).
        let report = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("mutation-report.txt");
        let _ = std::fs::write(report, &out);
        total
    }
}

fn save_failure(target: &str, label: &str, mutator: &str, n: usize, bytes: &[u8]) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("robustness-failures");
    let _ = std::fs::create_dir_all(&dir);
    let name: String = format!("{target}-{label}-{mutator}-{n}.bin")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' })
        .collect();
    let _ = std::fs::write(dir.join(name), bytes);
}

fn resealed(fx: &Fixture, state: &[u8], budget: &Budget, seed: u64) -> Vec<Mutant> {
    let nh = fx.hash_len();
    let body_end = state.len() - nh;
    let mut out = Vec::new();
    for mut m in byte_mutants(&state[9..body_end], &[], budget, seed) {
        let mut bytes = state[..9].to_vec();
        bytes.extend_from_slice(&m.bytes);
        bytes.extend_from_slice(&[0; 64][..nh]);
        reseal(fx.cipher_suite, &mut bytes);
        m.mutator = format!("resealed-{}", m.mutator);
        m.expect = Expect::MayAccept("resealed state: import trusts what it cannot recheck (throng::state)");
        m.bytes = bytes;
        out.push(m);
    }
    out
}

#[test]
fn mutation_suite() {
    let started = Instant::now();
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        PANIC.with(|p| *p.borrow_mut() = Some(at));
    }));
    // A runaway allocation fails (and aborts) instead of swapping the machine.
    ALLOC.set_limit(ALLOC.allocated() + RUNAWAY_LIMIT).unwrap();
    let scale = std::env::var("ROBUSTNESS_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let mut suite = Suite { stats: BTreeMap::new(), order: Vec::new(), scale };
    let fixtures: Vec<Fixture> = throng_robustness::fixtures::SUITES
        .par_iter()
        .flat_map_iter(|&cs| [false, true].map(|private| Fixture::build(cs, private).unwrap()))
        .collect();
    println!("fixtures built in {:.1} s", started.elapsed().as_secs_f64());

    let decode_budget = suite.budget(256, 128, 64, 32, 64);
    let message_budget = suite.budget(96, 48, 48, 16, 32);
    let other_budget = suite.budget(96, 48, 48, 16, 32);
    let state_budget = suite.budget(48, 24, 24, 0, 16);

    for (seed, fx) in fixtures.iter().enumerate() {
        let seed = seed as u64 * 1000;
        let label = fx.label.as_str();
        let messages: Vec<&[u8]> = fx.messages.iter().map(|g| g.bytes.as_slice()).collect();
        let mut all = messages.clone();
        all.extend([fx.welcome.as_slice(), fx.group_info.as_slice(), fx.key_package.as_slice()]);

        // decode: every genuine MLSMessage.
        for (k, bytes) in all.iter().enumerate() {
            let mutants = byte_mutants(bytes, &all, &decode_budget, seed + k as u64);
            suite.batch("decode", label, mutants, |_, m| targets::decode(&m.bytes));
        }

        // process_message (and Registry::handle for public handshakes).
        for (k, g) in fx.messages.iter().enumerate() {
            let mut mutants = byte_mutants(&g.bytes, &messages, &message_budget, seed + 100 + k as u64);
            mutants.extend(insider::message_mutants(fx, g));
            let mlabel = format!("{label}/{}", g.name);
            if !fx.private_handshakes {
                suite.batch("registry_handle", &mlabel, mutants.clone(), |i, m| {
                    let server = ServerFixture::new(fx, g).unwrap();
                    targets::registry_handle(&server, g, &m.bytes, m.expect_server, i % 16 == 0).0
                });
            }
            suite.batch("process_message", &mlabel, mutants, |i, m| {
                let insider_private = fx.private_handshakes && m.mutator.starts_with("insider:");
                targets::process_message(g, &m.bytes, m.expect, insider_private, i % 16 == 0)
            });
        }

        // Joining from the Welcome, and from it with a mutated tree.
        let others = [fx.group_info.as_slice(), fx.messages[1].bytes.as_slice()];
        let mutants = byte_mutants(&fx.welcome, &others, &other_budget, seed + 200);
        suite.batch("join_welcome", label, mutants, |_, m| targets::join_welcome(fx, &m.bytes, None, m.expect));
        let mutants = insider::tree_mutants(fx);
        suite.batch("join_welcome", label, mutants, |_, m| {
            targets::join_welcome(fx, &fx.welcome, Some(&m.bytes), m.expect)
        });

        // External join and create_group from a GroupInfo.
        let mut mutants = byte_mutants(&fx.group_info, &[fx.welcome.as_slice()], &other_budget, seed + 300);
        mutants.extend(insider::group_info_mutants(fx));
        suite.batch("join_external", label, mutants.clone(), |_, m| targets::join_external(fx, &m.bytes, m.expect));
        suite.batch("registry_create_group", label, mutants, |_, m| {
            targets::registry_create_group(fx, &m.bytes, m.expect_server)
        });

        // Tree import and validation.
        let mut mutants = byte_mutants(&fx.tree, &[], &other_budget, seed + 400);
        mutants.extend(insider::tree_mutants(fx));
        suite.batch("tree_import", label, mutants, |_, m| targets::tree_import(fx, &m.bytes, m.expect));

        // KeyPackage validation.
        let mut mutants = byte_mutants(&fx.key_package, &[fx.messages[5].bytes.as_slice()], &other_budget, seed + 500);
        mutants.extend(insider::key_package_mutants(fx));
        suite.batch("key_package", label, mutants, |_, m| targets::key_package(fx, &m.bytes, m.expect));

        // State import: raw damage (the digest) and resealed damage (the decoder).
        for (k, state) in [&fx.member_state, &fx.public_state].into_iter().enumerate() {
            let mut mutants = byte_mutants(state, &[], &state_budget, seed + 600 + k as u64);
            mutants.extend(resealed(fx, state, &state_budget, seed + 700 + k as u64));
            suite.batch("state_import", label, mutants, |_, m| targets::state_import(fx, &m.bytes, m.expect));
        }
    }
    let violations = suite.print(started.elapsed());
    assert_eq!(violations, 0, "{violations} violations (listed above)");
}

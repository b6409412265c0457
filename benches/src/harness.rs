//! The parent side of `compare`: runs every (run, scenario, implementation) in
//! a worker process, enforces the time cap, and collects medians.
//!
//! **Why worker processes.** An operation that runs past the cap cannot be
//! interrupted inside a process, and one that aborts (a panic across FFI, an
//! out-of-memory kill) would take the whole comparison with it. So the binary
//! re-invokes itself with the hidden `--worker SCENARIO` flag for one
//! scenario of one implementation; the worker prints [`Event`]s as lines on
//! stdout, prefixed with [`EVENT_PREFIX`]. The harness starts the cap when a
//! timed operation starts and kills the worker (by its own child handle) if
//! no result arrives within `cap`; untimed setup phases get `setup_cap`.
//! The killed operation is reported as a timeout, everything that needs it as
//! skipped, and the worker is started again, same run, for what is left.
//! A metric that failed or timed out is not tried again in later runs; its
//! row keeps the samples of earlier runs, if any, next to the failure.
//!
//! **Interleaving.** For run in 0..R, for scenario (join, cold, warm), for
//! committer position (cold and warm only), for implementation: one worker. Each implementation's samples of an operation
//! are thus taken alternately, minutes apart at most, so load from elsewhere
//! on the machine spreads over all of them. Every worker starts from a fresh
//! process and a freshly built group.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::impls::Impl;
use crate::metric::{Metric, Scenario};
use crate::scenario::{Committer, Event};

/// Marks a worker's event lines on stdout.
pub const EVENT_PREFIX: &str = "@compare-event ";

/// What to compare.
#[derive(Clone, Debug)]
pub struct Options {
    /// Group size.
    pub members: u32,
    /// Implementations, in column order.
    pub impls: Vec<Impl>,
    /// Metrics, in row order.
    pub metrics: Vec<Metric>,
    /// Samples per metric.
    pub runs: usize,
    /// Cap on one timed operation.
    pub cap: Duration,
    /// Cap on one untimed setup phase.
    pub setup_cap: Duration,
    /// The `compare` executable, re-invoked as the worker.
    pub worker_exe: PathBuf,
    /// Print progress on stderr.
    pub progress: bool,
    /// Test hook passed to the workers (`--debug-stall`).
    pub stall: Option<Metric>,
    /// Committer positions measured by the cold and warm scenarios.
    pub committers: Vec<Committer>,
    /// Threads of the rayon pool in every worker (and the floor's divisor).
    pub threads: usize,
    /// Most samples of one operation per worker.
    pub reps: usize,
    /// Budget after which a worker stops repeating an operation.
    pub rep_budget: Duration,
}

impl Options {
    /// The positions a scenario runs at: `None` for the join scenario
    /// (no committer), each asked position for the others.
    pub fn positions(&self, scenario: Scenario) -> Vec<Option<Committer>> {
        match scenario {
            Scenario::Join => vec![None],
            _ => self.committers.iter().copied().map(Some).collect(),
        }
    }
}

/// How a metric failed.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// It ran past a cap (rather than returning an error or crashing).
    pub timeout: bool,
    /// What happened.
    pub message: String,
}

/// Everything measured for one (implementation, metric).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    /// One value per successful run (milliseconds or bytes).
    pub samples: Vec<f64>,
    /// CPU milliseconds per successful run of a timed metric, where known.
    pub cpu_samples: Vec<f64>,
    /// The failure that stopped further runs, if any.
    pub failure: Option<Failure>,
}

impl Tally {
    /// Median of the samples.
    pub fn median(&self) -> Option<f64> {
        median(&self.samples)
    }

    /// Smallest sample.
    pub fn min(&self) -> Option<f64> {
        self.samples.iter().copied().min_by(f64::total_cmp)
    }

    /// 90th percentile (nearest rank: the smallest sample at or above 90 %
    /// of them).
    pub fn p90(&self) -> Option<f64> {
        let mut s = self.samples.clone();
        s.sort_by(f64::total_cmp);
        let rank = (s.len() * 9).div_ceil(10);
        s.get(rank.checked_sub(1)?).copied()
    }

    /// Median of the CPU-time samples, when every sample has one.
    pub fn median_cpu(&self) -> Option<f64> {
        (self.cpu_samples.len() == self.samples.len()).then(|| median(&self.cpu_samples)).flatten()
    }
}

fn median(samples: &[f64]) -> Option<f64> {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(s[n / 2]),
        _ => Some((s[n / 2 - 1] + s[n / 2]) / 2.0),
    }
}

/// The outcome of a comparison.
#[derive(Clone, Debug)]
pub struct Results {
    /// What was asked.
    pub options: Options,
    /// Per (implementation, metric, committer position) of the options.
    pub tallies: Tallies,
}

/// Where a worker was when it stopped reporting.
#[derive(Clone, Debug)]
enum Position {
    Op(Metric),
    Phase(String),
}

enum Ending {
    Completed,
    TimedOut(Position),
    Died(ExitStatus, Position, String),
}

struct Attempt {
    events: Vec<Event>,
    ending: Ending,
}

/// Runs the comparison.
pub fn compare(options: &Options) -> std::io::Result<Results> {
    let mut tallies: Tallies = BTreeMap::new();
    for &i in &options.impls {
        for &m in options.metrics.iter().filter(|&&m| i.measures(m)) {
            for position in options.positions(m.scenario()) {
                tallies.insert((i, m, position), Tally::default());
            }
        }
    }
    // An implementation that cannot build the group (a build as setup failed
    // or ran past the setup cap) is not asked again: every scenario starts
    // with a build. A timed `build` past the (shorter) operation cap only
    // fails `build`; the scenario is retried with the build as setup.
    let mut unbuildable = BTreeMap::new();
    for run in 0..options.runs {
        for scenario in Scenario::ALL {
            for position in options.positions(scenario) {
                for &implementation in &options.impls {
                    if let Some(failure) = unbuildable.get(&implementation) {
                        skip_scenario(options, &mut tallies, scenario, implementation, failure);
                        continue;
                    }
                    let at = Where { run, scenario, position, implementation };
                    let blocker = run_scenario(options, &mut tallies, at)?;
                    if let Some(failure) = blocker {
                        unbuildable.insert(implementation, failure);
                    }
                }
            }
        }
    }
    Ok(Results { options: options.clone(), tallies })
}

/// Marks the not yet failed metrics of `scenario` as not measurable.
fn skip_scenario(
    options: &Options,
    tallies: &mut Tallies,
    scenario: Scenario,
    implementation: Impl,
    blocker: &Failure,
) {
    for &m in &options.metrics {
        if m.scenario() != scenario {
            continue;
        }
        for position in options.positions(scenario) {
            if let Some(tally) = tallies.get_mut(&(implementation, m, position)) {
                tally.failure.get_or_insert_with(|| Failure {
                    timeout: blocker.timeout,
                    message: format!("not measured: the group could not be built ({})", blocker.message),
                });
            }
        }
    }
}

/// Whether a failure in this setup phase means the group cannot be built.
fn builds_the_group(phase: &str) -> bool {
    phase == "build" || phase.ends_with("key packages")
}

/// Runs one scenario of one implementation (restarting its worker after a
/// kill); returns the failure that keeps this implementation from building
/// the group, if that happened.
fn run_scenario(options: &Options, tallies: &mut Tallies, at: Where) -> std::io::Result<Option<Failure>> {
    let Where { run, scenario, position, implementation } = at;
    let mut reported = BTreeSet::new();
    let mut blocker = None;
    // Each abnormal ending fails at least one metric, so this terminates;
    // the bound is a second guard.
    for _attempt in 0..=Metric::ALL.len() {
        let wanted: Vec<Metric> = options
            .metrics
            .iter()
            .copied()
            .filter(|m| m.scenario() == scenario && !reported.contains(m))
            .filter(|m| tallies.get(&(implementation, *m, position)).is_some_and(|t| t.failure.is_none()))
            .collect();
        if wanted.is_empty() {
            return Ok(blocker);
        }
        if options.progress {
            eprintln!(
                "compare: run {}/{} · {} · {}{} · {} ops",
                run + 1,
                options.runs,
                implementation,
                scenario.name(),
                position.map(|p| format!(" · committer {p}")).unwrap_or_default(),
                wanted.len()
            );
        }
        let started = Instant::now();
        let attempt = attempt(options, scenario, position, implementation, &wanted)?;
        let fail = |tallies: &mut Tallies, metric: Metric, failure: Failure| {
            fail_with_dependents(tallies, (implementation, position), &wanted, metric, failure)
        };
        let mut setup_failure: Option<Failure> = None;
        for event in attempt.events {
            match event {
                Event::Time { op, ms, cpu_ms } => {
                    record(tallies, &mut reported, &wanted, (implementation, position), op, ms, cpu_ms)
                }
                Event::Bytes { op, bytes } => {
                    record(tallies, &mut reported, &wanted, (implementation, position), op, bytes as f64, None)
                }
                Event::Fail { op, error } => {
                    reported.insert(op);
                    fail(tallies, op, Failure { timeout: false, message: format!("failed: {error}") });
                }
                Event::SetupFailed { phase, error } => {
                    let failure = Failure { timeout: false, message: format!("setup failed ({phase}): {error}") };
                    if builds_the_group(&phase) {
                        blocker = Some(failure.clone());
                    }
                    setup_failure = Some(failure);
                }
                Event::Phase { .. } | Event::Start { .. } => {}
            }
        }
        let abnormal = match attempt.ending {
            Ending::Completed => {
                setup_failure
                    .get_or_insert(Failure { timeout: false, message: "the worker ended without reporting it".into() });
                false
            }
            Ending::TimedOut(Position::Op(op)) => {
                let secs = options.cap.as_secs_f64();
                fail(tallies, op, Failure { timeout: true, message: format!("exceeded the {secs} s cap") });
                true
            }
            Ending::TimedOut(Position::Phase(phase)) => {
                let secs = options.setup_cap.as_secs_f64();
                let failure = Failure {
                    timeout: true,
                    message: format!("setup phase `{phase}` exceeded the {secs} s setup cap"),
                };
                if builds_the_group(&phase) {
                    blocker = Some(failure.clone());
                }
                setup_failure = Some(failure);
                true
            }
            Ending::Died(status, Position::Op(op), stderr) => {
                fail(tallies, op, Failure { timeout: false, message: format!("worker died ({status}): {stderr}") });
                true
            }
            Ending::Died(status, Position::Phase(phase), stderr) => {
                let failure =
                    Failure { timeout: false, message: format!("worker died ({status}) in `{phase}`: {stderr}") };
                if builds_the_group(&phase) {
                    blocker = Some(failure.clone());
                }
                setup_failure = Some(failure);
                true
            }
        };

        if options.progress {
            eprintln!("compare:   done in {:.1} s", started.elapsed().as_secs_f64());
        }
        // What is wanted and neither reported nor failed now.
        let missing: Vec<Metric> = wanted
            .iter()
            .copied()
            .filter(|m| !reported.contains(m))
            .filter(|m| tallies.get(&(implementation, *m, position)).is_some_and(|t| t.failure.is_none()))
            .collect();
        if missing.is_empty() {
            return Ok(blocker);
        }
        if let Some(failure) = setup_failure {
            for m in missing {
                if let Some(tally) = tallies.get_mut(&(implementation, m, position)) {
                    tally.failure = Some(failure.clone());
                }
            }
            return Ok(blocker);
        }
        if !abnormal {
            return Ok(blocker);
        }
    }
    Ok(blocker)
}

/// Tallies by (implementation, metric, committer position).
pub type Tallies = BTreeMap<(Impl, Metric, Option<Committer>), Tally>;

/// One worker's place in the comparison.
#[derive(Clone, Copy)]
struct Where {
    run: usize,
    scenario: Scenario,
    position: Option<Committer>,
    implementation: Impl,
}

/// Marks `metric` failed, and every wanted metric that needs it.
fn fail_with_dependents(
    tallies: &mut Tallies,
    (implementation, position): (Impl, Option<Committer>),
    wanted: &[Metric],
    metric: Metric,
    failure: Failure,
) {
    for &m in wanted {
        if m != metric && !m.needs(metric) {
            continue;
        }
        let Some(tally) = tallies.get_mut(&(implementation, m, position)) else {
            continue;
        };
        if tally.failure.is_some() {
            continue;
        }
        tally.failure = Some(if m == metric {
            failure.clone()
        } else {
            Failure {
                timeout: failure.timeout,
                message: format!("not measured: needs {metric}, which {}", failure.message),
            }
        });
    }
}

fn record(
    tallies: &mut Tallies,
    reported: &mut BTreeSet<Metric>,
    wanted: &[Metric],
    (implementation, position): (Impl, Option<Committer>),
    op: Metric,
    value: f64,
    cpu: Option<f64>,
) {
    if !wanted.contains(&op) {
        return;
    }
    reported.insert(op);
    if let Some(tally) = tallies.get_mut(&(implementation, op, position)) {
        tally.samples.push(value);
        tally.cpu_samples.extend(cpu);
    }
}

/// Runs one worker to its end or its cap.
fn attempt(
    options: &Options,
    scenario: Scenario,
    position: Option<Committer>,
    implementation: Impl,
    wanted: &[Metric],
) -> std::io::Result<Attempt> {
    let ops = wanted.iter().map(|m| m.name()).collect::<Vec<_>>().join(",");
    let mut child = Command::new(&options.worker_exe)
        .args(["--worker", scenario.name(), "--impl", implementation.name(), "--ops", &ops])
        .args(["--members", &options.members.to_string()])
        .args(["--committer", position.unwrap_or(Committer::Last).name()])
        .args(["--threads", &options.threads.to_string(), "--reps", &options.reps.to_string()])
        .args(["--rep-budget-secs", &options.rep_budget.as_secs_f64().to_string()])
        .args(options.stall.iter().flat_map(|m| ["--debug-stall", m.name()]))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let (lines, stderr) = readers(&mut child)?;

    let mut events = Vec::new();
    let mut position = Position::Phase("worker start".into());
    let mut deadline = Instant::now() + options.setup_cap;
    let ending = loop {
        let wait = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(wait) {
            Ok(line) => {
                let Some(json) = line.strip_prefix(EVENT_PREFIX) else {
                    continue;
                };
                let Ok(event) = serde_json::from_str::<Event>(json) else {
                    continue;
                };
                match &event {
                    Event::Start { op } => {
                        position = Position::Op(*op);
                        deadline = Instant::now() + options.cap;
                    }
                    Event::Phase { name } => {
                        position = Position::Phase(name.clone());
                        deadline = Instant::now() + options.setup_cap;
                    }
                    Event::Time { op, .. } | Event::Fail { op, .. } | Event::Bytes { op, .. } => {
                        if matches!(position, Position::Op(current) if current == *op) {
                            position = Position::Phase(format!("after {op}"));
                            deadline = Instant::now() + options.setup_cap;
                        }
                    }
                    Event::SetupFailed { .. } => {}
                }
                events.push(event);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Our own child, by its handle: nothing else is signalled.
                let _ = child.kill();
                let _ = child.wait();
                break Ending::TimedOut(position);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child.wait()?;
                if status.success() {
                    break Ending::Completed;
                }
                let tail = stderr.join().unwrap_or_default();
                break Ending::Died(status, position, tail);
            }
        }
    };
    Ok(Attempt { events, ending })
}

/// Threads draining the worker's stdout (into lines) and stderr (its tail).
fn readers(child: &mut Child) -> std::io::Result<(mpsc::Receiver<String>, thread::JoinHandle<String>)> {
    let stdout = child.stdout.take().ok_or_else(|| std::io::Error::other("no worker stdout"))?;
    let mut stderr = child.stderr.take().ok_or_else(|| std::io::Error::other("no worker stderr"))?;
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let tail = thread::spawn(move || {
        let mut all = Vec::new();
        let _ = stderr.read_to_end(&mut all);
        let text = String::from_utf8_lossy(&all);
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        lines[lines.len().saturating_sub(6)..].join(" | ")
    });
    Ok((rx, tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_and_p90() {
        let t = |s: &[f64]| Tally { samples: s.to_vec(), ..Tally::default() };
        assert_eq!(t(&[]).p90(), None);
        assert_eq!(t(&[5.0]).p90(), Some(5.0));
        let ten: Vec<f64> = (1..=10).rev().map(f64::from).collect();
        assert_eq!(t(&ten).p90(), Some(9.0));
        assert_eq!(t(&ten).min(), Some(1.0));
        let twelve: Vec<f64> = (1..=12).map(f64::from).collect();
        assert_eq!(t(&twelve).p90(), Some(11.0));
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        let t = |s: &[f64]| median(s);
        assert_eq!(t(&[]), None);
        assert_eq!(t(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(t(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }
}

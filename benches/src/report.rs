//! Output of `compare`: JSON lines or a Markdown table.
//!
//! **JSON lines schema.** The first line is `{"meta": {...}}`: group size,
//! runs, caps, the implementations with their versions, CPUs, the command and
//! the scenario definitions. Every other line is one (implementation, metric):
//!
//! ```json
//! {"impl":"mls-rs","members":1000,"op":"commit","committer":"first","median_ms":1.93,"min_ms":1.9,"p90_ms":2.1,"samples":[1.93,1.9,2.1],"median_cpu_ms":1.9,"cpu_samples":[1.9,1.9,2.0],"runs":3}
//! {"impl":"openmls","members":1000,"op":"tree_bytes","bytes":402711,"runs":3}
//! {"impl":"openmls","members":100000,"op":"join","median_ms":null,"runs":0,"timeout":"exceeded the 60 s cap"}
//! ```
//!
//! `committer` is B's position for the metrics of the cold and warm
//! scenarios (one row per position measured). `median_ms` (times) or
//! `bytes` (sizes) is the median of `runs` successful samples, `null` when
//! there are none; a time row also has `min_ms`, `p90_ms` (nearest rank)
//! and `samples`, every sample in ms in the order taken. Times also carry
//! `median_cpu_ms` where the OS reports per-thread CPU time (Linux): the
//! CPU time of all the worker's threads during the operation, which other
//! load on the machine inflates much less than wall time (and which exceeds
//! wall time when the library works in parallel), and then `cpu_samples`,
//! each sample's CPU time in the order of `samples` (CPU ÷ wall tells,
//! sample by sample, how much of the operation ran on two cores at once).
//! A row with `error` or `timeout` tells why a metric stopped being
//! measured (later runs skip it); such rows are always present, never
//! dropped.

use std::fmt::Write as _;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::harness::{Results, Tally};
use crate::impls::Impl;
use crate::metric::{Metric, Unit};
use crate::scenario::{Committer, DEFINITIONS};

#[derive(Serialize)]
struct Meta<'a> {
    members: u32,
    runs: usize,
    cap_secs: f64,
    setup_cap_secs: f64,
    impls: BTreeMap<&'static str, &'static str>,
    cpus: usize,
    threads: usize,
    reps: usize,
    rep_budget_secs: f64,
    committers: Vec<&'static str>,
    load_average: Option<String>,
    command: String,
    definitions: &'a str,
}

#[derive(Serialize)]
struct Row<'a> {
    #[serde(rename = "impl")]
    implementation: &'static str,
    members: u32,
    op: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    committer: Option<&'static str>,
    /// Outer `None`: a size row; inner `None`: no sample (`null`).
    #[serde(skip_serializing_if = "Option::is_none")]
    median_ms: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p90_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    samples: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    median_cpu_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu_samples: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<Option<u64>>,
    runs: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<&'a str>,
}

fn cpus() -> usize {
    crate::cli::cpus()
}

/// `/proc/loadavg` when there is one: how busy the machine was.
pub fn load_average() -> Option<String> {
    std::fs::read_to_string("/proc/loadavg").ok().map(|s| s.trim().to_string())
}

/// The report as JSON lines (see the module documentation).
pub fn json_lines(results: &Results) -> String {
    let o = &results.options;
    let meta = Meta {
        members: o.members,
        runs: o.runs,
        cap_secs: o.cap.as_secs_f64(),
        setup_cap_secs: o.setup_cap.as_secs_f64(),
        impls: o.impls.iter().map(|i| (i.name(), i.version())).collect(),
        cpus: cpus(),
        threads: o.threads,
        reps: o.reps,
        rep_budget_secs: o.rep_budget.as_secs_f64(),
        committers: o.committers.iter().map(|c| c.name()).collect(),
        load_average: load_average(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        definitions: DEFINITIONS,
    };
    #[derive(Serialize)]
    struct MetaLine<'a> {
        meta: Meta<'a>,
    }
    let mut out = to_line(&MetaLine { meta });
    for (&(implementation, metric, position), tally) in &results.tallies {
        {
            let median = tally.median();
            let failure = tally.failure.as_ref();
            let time = metric.unit() == Unit::Millis;
            let row = Row {
                implementation: implementation.name(),
                members: o.members,
                op: metric.name(),
                committer: position.map(Committer::name),
                median_ms: time.then_some(median.map(round_ms)),
                min_ms: tally.min().filter(|_| time).map(round_ms),
                p90_ms: tally.p90().filter(|_| time).map(round_ms),
                samples: time.then(|| tally.samples.iter().copied().map(round_ms).collect()),
                median_cpu_ms: tally.median_cpu().map(round_ms),
                cpu_samples: (time && tally.median_cpu().is_some())
                    .then(|| tally.cpu_samples.iter().copied().map(round_ms).collect()),
                bytes: (metric.unit() == Unit::Bytes).then(|| median.map(|b| b.round() as u64)),
                runs: tally.samples.len(),
                error: failure.filter(|f| !f.timeout).map(|f| f.message.as_str()),
                timeout: failure.filter(|f| f.timeout).map(|f| f.message.as_str()),
            };
            out.push_str(&to_line(&row));
        }
    }
    out
}

/// To 0.1 µs: more digits would be noise.
fn round_ms(ms: f64) -> f64 {
    (ms * 1e4).round() / 1e4
}

fn to_line(value: &impl Serialize) -> String {
    // Serializing these plain structs cannot fail.
    let mut line = serde_json::to_string(value).unwrap_or_default();
    line.push('\n');
    line
}

/// Three significant digits, no exponent.
fn millis(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else if ms >= 10.0 {
        format!("{ms:.1}")
    } else if ms >= 1.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.3}")
    }
}

/// An integer with thousands separators.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A time cell: median, [min–p90], sample count.
fn time_cell(t: &Tally) -> Option<String> {
    let (median, min, p90) = (t.median()?, t.min()?, t.p90()?);
    Some(format!("{} [{}–{}] n={}", millis(median), millis(min), millis(p90), t.samples.len()))
}

/// Every implementation's tally of `metric`: at `position`, or (for
/// `None` on a positioned metric) at the position where its median is
/// largest, the worst case.
fn pick(
    results: &Results,
    i: Impl,
    metric: Metric,
    position: Option<Option<Committer>>,
) -> Option<(Option<Committer>, &Tally)> {
    let positions = results.options.positions(metric.scenario());
    let candidates = match position {
        Some(p) => vec![p],
        None => positions,
    };
    candidates
        .into_iter()
        .filter_map(|p| results.tallies.get(&(i, metric, p)).map(|t| (p, t)))
        .max_by(|a, b| a.1.median().unwrap_or(f64::INFINITY).total_cmp(&b.1.median().unwrap_or(f64::INFINITY)))
}

/// One table; `position` as in [`pick`] for every row.
fn table(
    out: &mut String,
    results: &Results,
    rows: &[(Metric, Option<Option<Committer>>)],
    failures: &mut Vec<String>,
) {
    let o = &results.options;
    let baseline = if o.impls.contains(&Impl::Throng) { Some(Impl::Throng) } else { o.impls.first().copied() };
    let worst = rows.iter().any(|(m, p)| p.is_none() && o.positions(m.scenario()).len() > 1);
    let _ = write!(out, "| op |");
    for i in &o.impls {
        let _ = write!(out, " {i} |");
    }
    let _ = write!(out, "\n|---|");
    for _ in &o.impls {
        let _ = write!(out, "---:|");
    }
    out.push('\n');
    for &(metric, position) in rows {
        let unit = match metric.unit() {
            Unit::Millis => "ms",
            Unit::Bytes => "B",
        };
        let label = match position {
            Some(Some(p)) => format!("{metric} @{p}"),
            _ => metric.to_string(),
        };
        let _ = write!(out, "| {label} ({unit}) |");
        let base = baseline.and_then(|b| pick(results, b, metric, position)).and_then(|(_, t)| t.median());
        for &i in &o.impls {
            let Some((at, tally)) = pick(results, i, metric, position) else {
                let _ = write!(out, " |");
                continue;
            };
            let value = tally.median();
            let mut cell = match (value, metric.unit()) {
                (Some(_), Unit::Millis) => time_cell(tally).unwrap_or_default(),
                (Some(v), Unit::Bytes) => grouped(v.round() as u64),
                (None, _) => match &tally.failure {
                    Some(f) if f.timeout => "timeout".into(),
                    _ => "error".into(),
                },
            };
            if let (true, Some(at), Some(_)) = (worst, at, value) {
                let _ = write!(cell, " @{at}");
            }
            if let (Some(v), Some(b), false) = (value, base, Some(i) == baseline) {
                if i == Impl::CryptoFloor && v > 0.0 {
                    // The baseline against the parallel bound, floor ÷ threads.
                    let r = b / (v / o.threads as f64);
                    let _ = write!(cell, " (÷{r:.2}{})", if r < 1.0 { " ⚠ below" } else { "" });
                } else if b > 0.0 {
                    let _ = write!(cell, " (×{:.2})", v / b);
                }
            }
            if let Some(failure) = &tally.failure {
                let at = at.map(|p| format!(" @{p}")).unwrap_or_default();
                let line = format!("{i} `{metric}`{at}: {}", failure.message);
                if !failures.contains(&line) {
                    failures.push(line);
                }
                cell.push_str(" ⚠");
            }
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
}

/// The report as Markdown: a table of every metric, each implementation at
/// its worst committer position, then one row per (metric, position); one
/// column per implementation, each peer with its ratio to throng (or to the
/// first implementation when throng is not compared); ratios above 1 mean
/// slower or larger. Each time is "median [min–p90] n=samples".
pub fn markdown(results: &Results) -> String {
    let o = &results.options;
    let baseline = if o.impls.contains(&Impl::Throng) { Some(Impl::Throng) } else { o.impls.first().copied() };
    let mut out = String::new();
    let committers: Vec<&str> = o.committers.iter().map(|c| c.name()).collect();
    let _ = writeln!(
        out,
        "## compare: {} members, {} threads, committer {}\n",
        grouped(u64::from(o.members)),
        o.threads,
        committers.join(", ")
    );
    let mut failures = Vec::new();
    let positioned = o.committers.len() > 1;
    if positioned {
        let _ = writeln!(out, "### Every metric, each implementation at its worst committer position (@)\n");
    }
    let rows: Vec<_> = o.metrics.iter().map(|&m| (m, None)).collect();
    table(&mut out, results, &rows, &mut failures);
    if positioned {
        let _ = writeln!(out, "\n### By committer position\n");
        let rows: Vec<_> = o
            .metrics
            .iter()
            .filter(|m| m.scenario() != crate::metric::Scenario::Join)
            .flat_map(|&m| o.committers.iter().map(move |&p| (m, Some(Some(p)))))
            .collect();
        table(&mut out, results, &rows, &mut failures);
    }
    if !failures.is_empty() {
        let _ = writeln!(out, "\nNot measured in every run (⚠):\n");
        for f in failures {
            let _ = writeln!(out, "- {f}");
        }
    }
    let _ = writeln!(
        out,
        "\nTimes: median [min–p90] n=samples (p90 by nearest rank), from {} worker processes per \
         (scenario, position, implementation), each taking up to {} samples on fresh copies within {} s; \
         sizes: median. Ratios are to {}.",
        o.runs,
        o.reps,
        o.rep_budget.as_secs_f64(),
        baseline.map_or("-", Impl::name)
    );
    if o.impls.contains(&Impl::CryptoFloor) {
        let _ = writeln!(
            out,
            "crypto-floor runs on one thread; (÷r) is {} divided by the parallel bound, floor ÷ {} threads \
             (⚠ below: under the bound, which a true floor forbids).",
            baseline.map_or("-", Impl::name),
            o.threads
        );
    }
    let _ = writeln!(out, "Implementations:");
    for i in &o.impls {
        let _ = writeln!(out, "- {i}: {}", i.version());
    }
    let _ = writeln!(
        out,
        "\nTime cap {} s per operation, {} s per setup phase; rayon pool of {} threads; {} CPUs; load average at the end: {}.",
        o.cap.as_secs_f64(),
        o.setup_cap.as_secs_f64(),
        o.threads,
        cpus(),
        load_average().unwrap_or_else(|| "unknown".into())
    );
    let _ = writeln!(out, "\n{DEFINITIONS}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(millis(1234.4), "1234");
        assert_eq!(millis(12.345), "12.3");
        assert_eq!(millis(0.1234), "0.123");
    }
}

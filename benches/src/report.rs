//! Output of `compare`: JSON lines or a Markdown table.
//!
//! **JSON lines schema.** The first line is `{"meta": {...}}`: group size,
//! runs, caps, the implementations with their versions, CPUs, the command and
//! the scenario definitions. Every other line is one (implementation, metric):
//!
//! ```json
//! {"impl":"mls-rs","members":1000,"op":"commit","median_ms":1.93,"median_cpu_ms":1.9,"runs":3}
//! {"impl":"openmls","members":1000,"op":"tree_bytes","bytes":402711,"runs":3}
//! {"impl":"openmls","members":100000,"op":"join","median_ms":null,"runs":0,"timeout":"exceeded the 60 s cap"}
//! ```
//!
//! `median_ms` (times) or `bytes` (sizes) is the median of `runs` successful
//! samples, `null` when there are none. Times also carry `median_cpu_ms` where
//! the OS reports per-thread CPU time (Linux): the CPU time of all the
//! worker's threads during the operation, which other load on the machine
//! inflates much less than wall time (and which exceeds wall time when the
//! library works in parallel). A row with `error` or `timeout` tells
//! why a metric stopped being measured (later runs skip it); such rows are
//! always present, never dropped.

use std::fmt::Write as _;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::harness::Results;
use crate::impls::Impl;
use crate::metric::Unit;
use crate::scenario::DEFINITIONS;

#[derive(Serialize)]
struct Meta<'a> {
    members: u32,
    runs: usize,
    cap_secs: f64,
    setup_cap_secs: f64,
    impls: BTreeMap<&'static str, &'static str>,
    cpus: usize,
    command: String,
    definitions: &'a str,
}

#[derive(Serialize)]
struct Row<'a> {
    #[serde(rename = "impl")]
    implementation: &'static str,
    members: u32,
    op: &'static str,
    /// Outer `None`: a size row; inner `None`: no sample (`null`).
    #[serde(skip_serializing_if = "Option::is_none")]
    median_ms: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    median_cpu_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<Option<u64>>,
    runs: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<&'a str>,
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
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
        command: std::env::args().collect::<Vec<_>>().join(" "),
        definitions: DEFINITIONS,
    };
    #[derive(Serialize)]
    struct MetaLine<'a> {
        meta: Meta<'a>,
    }
    let mut out = to_line(&MetaLine { meta });
    for &implementation in &o.impls {
        for &metric in &o.metrics {
            let Some(tally) = results.tallies.get(&(implementation, metric)) else {
                continue;
            };
            let median = tally.median();
            let failure = tally.failure.as_ref();
            let row = Row {
                implementation: implementation.name(),
                members: o.members,
                op: metric.name(),
                median_ms: (metric.unit() == Unit::Millis).then_some(median.map(round_ms)),
                median_cpu_ms: tally.median_cpu().map(round_ms),
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

/// The report as Markdown: one row per metric, one column per implementation,
/// each peer with its ratio to throng (or to the first implementation when
/// throng is not compared); ratios above 1 mean slower or larger.
pub fn markdown(results: &Results) -> String {
    let o = &results.options;
    let baseline = if o.impls.contains(&Impl::Throng) { Some(Impl::Throng) } else { o.impls.first().copied() };
    let mut out = String::new();
    let _ = writeln!(out, "## compare: {} members, {} runs\n", grouped(u64::from(o.members)), o.runs);
    let _ = write!(out, "| op |");
    for i in &o.impls {
        let _ = write!(out, " {i} |");
    }
    let _ = write!(out, "\n|---|");
    for _ in &o.impls {
        let _ = write!(out, "---:|");
    }
    out.push('\n');
    let mut failures = Vec::new();
    for &metric in &o.metrics {
        let unit = match metric.unit() {
            Unit::Millis => "ms",
            Unit::Bytes => "B",
        };
        let _ = write!(out, "| {metric} ({unit}) |");
        let base = baseline.and_then(|b| results.tallies.get(&(b, metric))).and_then(|t| t.median());
        for &i in &o.impls {
            let Some(tally) = results.tallies.get(&(i, metric)) else {
                let _ = write!(out, " |");
                continue;
            };
            let mut cell = match (tally.median(), metric.unit()) {
                (Some(v), Unit::Millis) => millis(v),
                (Some(v), Unit::Bytes) => grouped(v.round() as u64),
                (None, _) => match &tally.failure {
                    Some(f) if f.timeout => "timeout".into(),
                    _ => "error".into(),
                },
            };
            if let (Some(v), Some(b), false) = (tally.median(), base, Some(i) == baseline) {
                if i == Impl::CryptoFloor && v > 0.0 {
                    // How far the baseline is above the floor, per thread.
                    let _ = write!(cell, " (÷{:.2})", b / v);
                } else if b > 0.0 {
                    let _ = write!(cell, " (×{:.2})", v / b);
                }
            }
            if let Some(failure) = &tally.failure {
                failures.push(format!("{i} `{metric}`: {}", failure.message));
                cell.push_str(" ⚠");
            }
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    if !failures.is_empty() {
        let _ = writeln!(out, "\nNot measured in every run (⚠):\n");
        for f in failures {
            let _ = writeln!(out, "- {f}");
        }
    }
    let _ = writeln!(out, "\nMedians of {} runs; ratios are to {}.", o.runs, baseline.map_or("-", Impl::name));
    if o.impls.contains(&Impl::CryptoFloor) {
        let _ = writeln!(
            out,
            "crypto-floor is one thread; (÷r) is {} divided by the floor \
             (divide the floor by the CPUs for a parallel floor).",
            baseline.map_or("-", Impl::name)
        );
    }
    let _ = writeln!(out, "Implementations:");
    for i in &o.impls {
        let _ = writeln!(out, "- {i}: {}", i.version());
    }
    let _ = writeln!(
        out,
        "\nTime cap {} s per operation, {} s per setup phase; {} CPUs.",
        o.cap.as_secs_f64(),
        o.setup_cap.as_secs_f64(),
        cpus()
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

//! Runs the `compare` binary at a small group size, so it cannot rot: every
//! metric of throng and both peers, and every time of the crypto floor, must
//! come out as a number, and the time cap must turn
//! a hung operation into a `timeout` row rather than a hang or a missing row.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use serde_json::Value;
use throng_benches::impls::Impl;
use throng_benches::metric::{Metric, Scenario, Unit};

fn compare(args: &[&str]) -> Vec<Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_compare")).args(args).arg("--json").output().expect("compare runs");
    assert!(output.status.success(), "compare failed: {}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(lines[0].get("meta").is_some(), "first line is the meta line");
    lines[1..].to_vec()
}

fn row<'a>(rows: &'a [Value], implementation: &str, metric: Metric) -> &'a Value {
    rows.iter()
        .find(|r| r["impl"] == implementation && r["op"] == metric.name())
        .unwrap_or_else(|| panic!("no row for {implementation} {metric}"))
}

fn value(row: &Value, metric: Metric) -> Option<f64> {
    match metric.unit() {
        Unit::Millis => row["median_ms"].as_f64(),
        Unit::Bytes => row["bytes"].as_f64(),
    }
}

#[test]
fn every_metric_of_every_implementation_is_measured() {
    // No --impl: throng, both peers and the crypto floor; every committer
    // position (the default): one row per position for the metrics of the
    // cold and warm scenarios.
    let rows = compare(&["--members", "64", "--runs", "1", "--reps", "1"]);
    let per_position = |m: &Metric| if m.scenario() == Scenario::Join { 1 } else { 3 };
    let expected: usize = Impl::defaults()
        .iter()
        .map(|i| Metric::ALL.iter().filter(|m| i.measures(**m)).map(per_position).sum::<usize>())
        .sum();
    assert_eq!(rows.len(), expected);
    for r in rows.iter().filter(|r| r.get("median_ms").is_some()) {
        // Every sample is kept, and min <= median <= p90.
        let samples = r["samples"].as_array().unwrap();
        assert_eq!(samples.len() as u64, r["runs"].as_u64().unwrap(), "{r}");
        let number = |k: &str| r[k].as_f64().unwrap();
        let (min, median, p90) = (number("min_ms"), number("median_ms"), number("p90_ms"));
        assert!(min <= median && median <= p90, "{r}");
        // Where a row has a CPU-time median (Linux, and not a derived
        // per-member figure), each sample's CPU time is beside it, in the
        // same order.
        assert_eq!(r.get("median_cpu_ms").is_some(), r.get("cpu_samples").is_some(), "{r}");
        if let Some(cpu) = r.get("cpu_samples") {
            let cpu = cpu.as_array().unwrap();
            assert_eq!(cpu.len(), samples.len(), "{r}");
            assert!(cpu.iter().all(|c| c.as_f64().is_some_and(|c| c >= 0.0)), "{r}");
        }
    }
    for position in ["first", "middle", "last"] {
        assert!(rows.iter().any(|r| r["op"] == "commit_cold" && r["committer"] == position), "{position}");
    }
    if cfg!(target_os = "linux") {
        assert!(rows.iter().any(|r| r["op"] == "process_cold" && r.get("cpu_samples").is_some()));
    }
    for r in rows.iter().filter(|r| r["impl"] == "crypto-floor") {
        let op = r["op"].as_str().unwrap();
        let metric = Metric::ALL.into_iter().find(|m| m.name() == op).unwrap();
        assert_eq!(metric.unit(), Unit::Millis, "{r}");
        assert!(value(r, metric).is_some_and(|v| v > 0.0), "{r}");
    }
    for implementation in [Impl::Throng, Impl::MlsRs, Impl::OpenMls] {
        for metric in Metric::ALL.into_iter().filter(|m| implementation.measures(*m)) {
            let implementation = implementation.name();
            let r = row(&rows, implementation, metric);
            assert!(r.get("error").is_none() && r.get("timeout").is_none(), "{r}");
            assert!(value(r, metric).is_some_and(|v| v > 0.0), "{r}");
            assert_eq!(r["runs"], 1, "{r}");
        }
        let implementation = implementation.name();
        // Warming shrinks B's UpdatePath from ~n/2 leaf encryptions to ~log2(n).
        let warm = value(row(&rows, implementation, Metric::CommitBytes), Metric::CommitBytes);
        let cold = value(row(&rows, implementation, Metric::CommitBytesCold), Metric::CommitBytesCold);
        assert!(warm < cold, "{implementation}: warm {warm:?} vs cold {cold:?}");
    }
}

#[test]
fn repetitions_add_samples() {
    // Two workers, up to three samples each: six samples of a cheap
    // operation, one worker per position asked.
    let rows = compare(&[
        "--members",
        "16",
        "--runs",
        "2",
        "--reps",
        "3",
        "--committer",
        "middle",
        "--impl",
        "throng,crypto-floor",
        "--ops",
        "commit,process",
    ]);
    assert_eq!(rows.len(), 4);
    for r in &rows {
        assert_eq!(r["committer"], "middle", "{r}");
        assert_eq!(r["runs"], 6, "{r}");
        assert_eq!(r["samples"].as_array().map(Vec::len), Some(6), "{r}");
    }
}

#[test]
fn a_hung_operation_becomes_a_timeout_row() {
    let rows = compare(&[
        "--members",
        "8",
        "--runs",
        "2",
        "--reps",
        "1",
        "--committer",
        "last",
        "--impl",
        "mls-rs",
        "--cap-secs",
        "0.5",
        "--ops",
        "commit_cold,process_cold,add_one_cold,process_add_cold",
        "--debug-stall",
        "commit_cold",
    ]);
    assert_eq!(rows.len(), 4);
    let stalled = row(&rows, "mls-rs", Metric::CommitCold);
    assert!(stalled["timeout"].as_str().is_some_and(|t| t.contains("cap")), "{stalled}");
    assert_eq!(stalled["runs"], 0);
    assert!(stalled["median_ms"].is_null());
    let dependent = row(&rows, "mls-rs", Metric::ProcessCold);
    assert!(dependent["timeout"].as_str().is_some_and(|t| t.contains("needs commit_cold")), "{dependent}");
    // The other pair is measured in every run, the worker being restarted after the kill.
    for metric in [Metric::AddOneCold, Metric::ProcessAddCold] {
        let r = row(&rows, "mls-rs", metric);
        assert_eq!(r["runs"], 2, "{r}");
        assert!(r.get("timeout").is_none() && r.get("error").is_none(), "{r}");
    }
}

#[test]
fn a_group_that_cannot_be_built_is_not_asked_again() {
    let started = std::time::Instant::now();
    let rows = compare(&[
        "--members",
        "8",
        "--runs",
        "3",
        "--committer",
        "last",
        "--impl",
        "mls-rs",
        "--cap-secs",
        "0.5",
        "--setup-cap-secs",
        "1",
        "--debug-stall",
        "build",
    ]);
    assert_eq!(rows.len(), Metric::ALL.iter().filter(|m| Impl::MlsRs.measures(**m)).count());
    for r in &rows {
        assert!(r["timeout"].is_string(), "{r}");
    }
    let build = row(&rows, "mls-rs", Metric::Build);
    assert!(build["timeout"].as_str().is_some_and(|t| t.contains("0.5 s cap")), "{build}");
    // The timed build is killed, then the build as setup: two kills, not one
    // per scenario and run.
    assert!(started.elapsed().as_secs_f64() < 10.0);
}

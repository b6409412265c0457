//! Soak mode (`loadgen run --duration`): the scenario's groups are built
//! once and churned until the duration ends, while a sampler thread records
//! every `--sample-every` the process RSS, the epochs done, the members and
//! the interval's latencies (create commit, process commit, one group's
//! churn round). The report gets a soak section: the samples (CSV), rows of
//! about a minute (exact percentiles per row), and a verdict on memory
//! growth after the warm-up computed from the samples.
//!
//! The sampler's own memory is bounded by the interval: it keeps one
//! histogram per measure for the current interval (in [`Metrics`]), one for
//! the current row and one for the whole run, and a fixed-size record per
//! sample (about 150 bytes: 360 of them an hour at the default 10 s).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::ProgressBar;
use serde::Serialize;

use crate::metrics::{IntervalLatency, Metrics, Tracked};

/// Most tree-health and memory samples a soak run keeps in its run report
/// (they are thinned out beyond; see [`Metrics::bound_series`]).
pub const SERIES_CAP: usize = 1024;

/// Rows of the report's soak table (and of `rows` in report.json): the
/// samples are grouped so that a run gives about this many.
pub const TARGET_ROWS: u64 = 60;

/// What `--duration` and `--sample-every` ask for.
#[derive(Clone, Debug)]
pub struct SoakConfig {
    /// Churn phase length (the build is not counted).
    pub duration: Duration,
    /// Sampling period.
    pub sample_every: Duration,
    /// Where the sampler appends a CSV line per sample while the run goes
    /// (the report rewrites the file at the end).
    pub csv: Option<PathBuf>,
    /// Prints a line per sample on stderr (when there is no progress bar).
    pub print: bool,
}

impl SoakConfig {
    /// Samples per row of the report table.
    pub fn samples_per_row(&self) -> u64 {
        let per = self.sample_every.as_secs_f64().max(1e-3);
        ((self.duration.as_secs_f64() / TARGET_ROWS as f64 / per).ceil() as u64).max(1)
    }

    /// The warm-up excluded from the growth figures: 5 minutes, or a fifth
    /// of a run shorter than 25 minutes.
    pub fn warmup_seconds(&self) -> f64 {
        (self.duration.as_secs_f64() / 5.0).min(300.0)
    }
}

/// One sample.
#[derive(Clone, Debug, Serialize)]
pub struct SoakSample {
    /// Seconds since the churn started (0: right after the build).
    pub seconds: f64,
    /// Seconds this sample's interval lasted (the last one is shorter).
    pub interval_seconds: f64,
    /// Resident set size (VmRSS), bytes.
    pub rss_bytes: u64,
    /// Epochs done so far, all groups.
    pub epochs: u64,
    /// Members now, all groups.
    pub members: u64,
    /// Latencies of the interval, microseconds.
    pub latency_us: BTreeMap<Tracked, IntervalLatency>,
}

/// Samples grouped into a row of about a minute (a sixtieth of the run).
#[derive(Clone, Debug, Serialize)]
pub struct SoakRow {
    /// Start of the row, seconds since the churn started.
    pub from_seconds: f64,
    /// End of the row.
    pub to_seconds: f64,
    /// RSS at the end of the row, bytes.
    pub rss_bytes: u64,
    /// Epochs done in the row, all groups.
    pub epochs: u64,
    /// Members at the end of the row, all groups.
    pub members: u64,
    /// Latencies over the row (exact percentiles of the row's histogram).
    pub latency_us: BTreeMap<Tracked, IntervalLatency>,
}

/// What the sampler thread hands back.
#[derive(Clone, Debug, Default)]
pub struct SamplerOutput {
    /// Every sample.
    pub samples: Vec<SoakSample>,
    /// The samples grouped in rows.
    pub rows: Vec<SoakRow>,
    /// Latencies over the whole churn phase.
    pub total: BTreeMap<Tracked, IntervalLatency>,
    /// Samples the CSV could not take (I/O error), if any.
    pub csv_error: Option<String>,
}

/// The sampler thread.
pub struct Sampler {
    stop: mpsc::Sender<()>,
    handle: JoinHandle<SamplerOutput>,
}

/// The CSV header of the samples file.
pub fn csv_header() -> String {
    let mut h = String::from("seconds,interval_seconds,rss_bytes,rss_mib,epochs,members");
    for t in Tracked::ALL {
        let k = t.key();
        h.push_str(&format!(",{k}_count,{k}_p50_us,{k}_p99_us,{k}_max_us"));
    }
    h
}

/// One CSV line of a sample.
pub fn csv_line(s: &SoakSample) -> String {
    let mut l = format!(
        "{:.3},{:.3},{},{:.2},{},{}",
        s.seconds,
        s.interval_seconds,
        s.rss_bytes,
        s.rss_bytes as f64 / 1048576.0,
        s.epochs,
        s.members
    );
    for t in Tracked::ALL {
        let v = s.latency_us.get(&t).copied().unwrap_or_default();
        l.push_str(&format!(",{},{},{},{}", v.count, v.p50, v.p99, v.max));
    }
    l
}

/// The samples as a CSV file.
pub fn csv(samples: &[SoakSample]) -> String {
    let mut out = csv_header();
    out.push('\n');
    for s in samples {
        out.push_str(&csv_line(s));
        out.push('\n');
    }
    out
}

/// Where the sampler reads the run's progress.
pub struct Probe {
    /// The churn metrics (epochs; the interval histograms).
    pub metrics: Arc<Metrics>,
    /// Members of each group (updated by the groups after every round).
    pub members: Arc<Vec<AtomicU32>>,
    /// The progress bar (position: seconds).
    pub progress: ProgressBar,
}

fn row_of(samples: &[SoakSample], from: f64, hist: &BTreeMap<Tracked, Histogram<u64>>) -> Option<SoakRow> {
    let last = samples.last()?;
    let epochs_before = samples.iter().rev().find(|s| s.seconds <= from).map_or(0, |s| s.epochs);
    let latency_us = Tracked::ALL
        .iter()
        .map(|&t| (t, hist.get(&t).map_or_else(IntervalLatency::default, IntervalLatency::of)))
        .collect();
    Some(SoakRow {
        from_seconds: from,
        to_seconds: last.seconds,
        rss_bytes: last.rss_bytes,
        epochs: last.epochs.saturating_sub(epochs_before),
        members: last.members,
        latency_us,
    })
}

impl Sampler {
    /// Starts sampling now (the churn's start); the first sample is taken
    /// at once.
    pub fn start(config: SoakConfig, probe: Probe) -> Result<Self, String> {
        let (stop, stopped) = mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("loadgen-soak-sampler".into())
            .spawn(move || sample_loop(&config, &probe, &stopped))
            .map_err(|e| format!("cannot start the soak sampler: {e}"))?;
        Ok(Self { stop, handle })
    }

    /// Takes a last sample and returns them all.
    pub fn finish(self) -> SamplerOutput {
        let _ = self.stop.send(());
        self.handle.join().unwrap_or_default()
    }
}

fn sample_loop(config: &SoakConfig, probe: &Probe, stopped: &mpsc::Receiver<()>) -> SamplerOutput {
    let start = Instant::now();
    let mut out = SamplerOutput::default();
    let mut csv_file = config.csv.as_ref().and_then(|p| match std::fs::File::create(p) {
        Ok(mut f) => match writeln!(f, "{}", csv_header()) {
            Ok(()) => Some(f),
            Err(e) => {
                out.csv_error = Some(format!("{}: {e}", p.display()));
                None
            }
        },
        Err(e) => {
            out.csv_error = Some(format!("{}: {e}", p.display()));
            None
        }
    });
    let per_row = config.samples_per_row();
    let mut row_hist: BTreeMap<Tracked, Histogram<u64>> = BTreeMap::new();
    let mut total_hist: BTreeMap<Tracked, Histogram<u64>> = BTreeMap::new();
    let mut row_from = 0.0;
    let mut in_row = 0u64;
    let last_epochs = AtomicU64::new(0);
    let mut take = |out: &mut SamplerOutput, row_hist: &mut BTreeMap<Tracked, Histogram<u64>>| {
        let seconds = start.elapsed().as_secs_f64();
        let latency_us = probe.metrics.drain_interval(row_hist);
        let epochs = crate::metrics::lock(&probe.metrics.counters).epochs;
        let members = probe.members.iter().map(|m| u64::from(m.load(Ordering::Relaxed))).sum();
        let previous = out.samples.last().map_or(0.0, |s| s.seconds);
        let sample = SoakSample {
            seconds,
            interval_seconds: seconds - previous,
            rss_bytes: crate::profile::rss_bytes().unwrap_or(0),
            epochs,
            members,
            latency_us,
        };
        if let Some(f) = csv_file.as_mut() {
            if let Err(e) = writeln!(f, "{}", csv_line(&sample)) {
                out.csv_error = Some(e.to_string());
                csv_file = None;
            }
        }
        let line = format!(
            "soak {:>7.0} s: RSS {:.1} MiB, {} epochs (+{}), {} members, commit p50 {} µs p99 {} µs, process p50 {} µs p99 {} µs",
            sample.seconds,
            sample.rss_bytes as f64 / 1048576.0,
            sample.epochs,
            sample.epochs - last_epochs.swap(sample.epochs, Ordering::Relaxed),
            sample.members,
            sample.latency_us.get(&Tracked::Commit).map_or(0, |l| l.p50),
            sample.latency_us.get(&Tracked::Commit).map_or(0, |l| l.p99),
            sample.latency_us.get(&Tracked::Process).map_or(0, |l| l.p50),
            sample.latency_us.get(&Tracked::Process).map_or(0, |l| l.p99),
        );
        if config.print {
            eprintln!("{line}");
        } else {
            probe.progress.set_position(seconds as u64);
            probe.progress.set_message(format!("soak: RSS {:.1} MiB", sample.rss_bytes as f64 / 1048576.0));
        }
        out.samples.push(sample);
    };
    // The built state, before any churn.
    take(&mut out, &mut row_hist);
    row_hist.clear();
    let mut n = 0u32;
    loop {
        n += 1;
        let due = start + config.sample_every * n;
        let wait = due.saturating_duration_since(Instant::now());
        let last = !matches!(stopped.recv_timeout(wait), Err(mpsc::RecvTimeoutError::Timeout));
        take(&mut out, &mut row_hist);
        in_row += 1;
        if in_row == per_row || last {
            if let Some(row) = row_of(&out.samples, row_from, &row_hist) {
                row_from = row.to_seconds;
                out.rows.push(row);
            }
            for (t, h) in &mut row_hist {
                let _ = total_hist.entry(*t).or_insert_with(crate::metrics::new_histogram).add(&*h);
                h.reset();
            }
            in_row = 0;
        }
        if last {
            break;
        }
    }
    out.total = Tracked::ALL
        .iter()
        .map(|&t| (t, total_hist.get(&t).map_or_else(IntervalLatency::default, IntervalLatency::of)))
        .collect();
    out
}

/// The soak section of the report.
#[derive(Clone, Debug, Serialize)]
pub struct SoakReport {
    /// `--duration`, seconds (the churn phase; the build is not counted).
    pub duration_seconds: f64,
    /// `--sample-every`, seconds.
    pub sample_every_seconds: f64,
    /// Seconds of churn actually run.
    pub churn_seconds: f64,
    /// How membership is kept bounded.
    pub balance: String,
    /// Samples taken (in `samples_file`).
    pub samples: usize,
    /// The samples file beside the report.
    pub samples_file: String,
    /// Epochs done, all groups.
    pub epochs: u64,
    /// Members at the start and at the end, all groups.
    pub members_start: u64,
    /// Members at the end, all groups.
    pub members_end: u64,
    /// Fewest and most members seen in a sample, all groups.
    pub members_min: u64,
    /// Most members seen in a sample.
    pub members_max: u64,
    /// RSS right after the build (t = 0), bytes.
    pub rss_start_bytes: u64,
    /// RSS at 1 minute (first sample at or after 60 s), if the run got there.
    pub rss_1min_bytes: Option<u64>,
    /// RSS at 5 minutes, if the run got there.
    pub rss_5min_bytes: Option<u64>,
    /// RSS at the end of the warm-up (first sample at or after it).
    pub rss_warmup_bytes: u64,
    /// RSS at the last sample.
    pub rss_end_bytes: u64,
    /// Largest RSS sampled.
    pub rss_max_bytes: u64,
    /// Warm-up excluded from the growth figures, seconds.
    pub warmup_seconds: f64,
    /// Samples after the warm-up (the fit's points).
    pub samples_after_warmup: usize,
    /// RSS at the end minus at the end of the warm-up, MiB.
    pub growth_after_warmup_mib: f64,
    /// The same, as a percentage of the RSS at the end of the warm-up.
    pub growth_after_warmup_percent: f64,
    /// Least-squares slope of RSS over the samples after the warm-up, MiB per hour.
    pub slope_mib_per_hour: f64,
    /// The same over the second half of those samples only.
    pub slope_second_half_mib_per_hour: f64,
    /// The slope above which the run counts as growing, MiB per hour.
    pub threshold_mib_per_hour: f64,
    /// How the threshold is chosen.
    pub threshold_rule: String,
    /// `Some(true)`: no growth beyond the warm-up; `None`: too few samples to judge.
    pub no_growth: Option<bool>,
    /// The verdict in words.
    pub verdict: String,
    /// Latency over the whole churn, per tracked measure, microseconds.
    pub latency_us: BTreeMap<Tracked, IntervalLatency>,
    /// Rows of about a sixtieth of the run.
    pub rows: Vec<SoakRow>,
    /// Every sample (written to `samples_file`, not into report.json).
    #[serde(skip)]
    pub series: Vec<SoakSample>,
}

const MIB: f64 = 1048576.0;

/// Least-squares slope of `points` (x, y); 0 with fewer than 2 distinct x.
pub fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx = points.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum::<f64>();
    let sxy = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>();
    if sxx <= 0.0 { 0.0 } else { sxy / sxx }
}

/// Least-squares intercept and slope of `points`.
pub fn fit(points: &[(f64, f64)]) -> (f64, f64) {
    let b = slope(points);
    let n = points.len().max(1) as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    (my - b * mx, b)
}

impl SoakReport {
    /// Analyses what the sampler recorded.
    pub fn analyze(config: &SoakConfig, out: &SamplerOutput, churn_seconds: f64, balance: String) -> Self {
        let samples = &out.samples;
        let warmup = config.warmup_seconds();
        let at = |t: f64| samples.iter().find(|s| s.seconds >= t).map(|s| s.rss_bytes);
        let end = samples.last().map_or(0, |s| s.rss_bytes);
        let start = samples.first().map_or(0, |s| s.rss_bytes);
        let rss_warmup = at(warmup).unwrap_or(end);
        let after: Vec<(f64, f64)> = samples
            .iter()
            .filter(|s| s.seconds >= warmup)
            .map(|s| (s.seconds / 3600.0, s.rss_bytes as f64 / MIB))
            .collect();
        let slope_all = slope(&after);
        let slope_half = slope(&after[after.len() / 2..]);
        let warm_mib = rss_warmup as f64 / MIB;
        let threshold = (0.02 * warm_mib).max(2.0);
        let growth = (end as f64 - rss_warmup as f64) / MIB;
        let (no_growth, verdict) = if after.len() < 3 {
            (None, format!("too few samples after the warm-up ({}) to judge memory growth", after.len()))
        } else if slope_all <= threshold {
            (
                Some(true),
                format!(
                    "no memory growth beyond the first minutes: after the {} warm-up RSS moves {:+.2} MiB/h (least squares over {} samples; threshold {:.1} MiB/h), {:+.1} MiB from the end of the warm-up to the end",
                    secs(warmup),
                    slope_all,
                    after.len(),
                    threshold,
                    growth
                ),
            )
        } else {
            (
                Some(false),
                format!(
                    "memory grows beyond the first minutes: after the {} warm-up RSS grows {:+.2} MiB/h (least squares over {} samples; threshold {:.1} MiB/h), {:+.1} MiB from the end of the warm-up to the end",
                    secs(warmup),
                    slope_all,
                    after.len(),
                    threshold,
                    growth
                ),
            )
        };
        Self {
            duration_seconds: config.duration.as_secs_f64(),
            sample_every_seconds: config.sample_every.as_secs_f64(),
            churn_seconds,
            balance,
            samples: samples.len(),
            samples_file: "soak-samples.csv".into(),
            epochs: samples.last().map_or(0, |s| s.epochs),
            members_start: samples.first().map_or(0, |s| s.members),
            members_end: samples.last().map_or(0, |s| s.members),
            members_min: samples.iter().map(|s| s.members).min().unwrap_or(0),
            members_max: samples.iter().map(|s| s.members).max().unwrap_or(0),
            rss_start_bytes: start,
            rss_1min_bytes: at(60.0),
            rss_5min_bytes: at(300.0),
            rss_warmup_bytes: rss_warmup,
            rss_end_bytes: end,
            rss_max_bytes: samples.iter().map(|s| s.rss_bytes).max().unwrap_or(0),
            warmup_seconds: warmup,
            samples_after_warmup: after.len(),
            growth_after_warmup_mib: growth,
            growth_after_warmup_percent: if rss_warmup == 0 { 0.0 } else { growth * MIB / rss_warmup as f64 * 100.0 },
            slope_mib_per_hour: slope_all,
            slope_second_half_mib_per_hour: slope_half,
            threshold_mib_per_hour: threshold,
            threshold_rule: "2% of the RSS at the end of the warm-up per hour, at least 2 MiB/h".into(),
            no_growth,
            verdict,
            latency_us: out.total.clone(),
            rows: out.rows.clone(),
            series: samples.clone(),
        }
    }
}

/// "5 min", "36 s".
pub fn secs(s: f64) -> String {
    if s >= 120.0 && (s % 60.0).abs() < 0.5 { format!("{:.0} min", s / 60.0) } else { format!("{s:.0} s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_a_line() {
        let pts: Vec<(f64, f64)> = (0..10).map(|i| (f64::from(i), 3.0 + 2.0 * f64::from(i))).collect();
        assert!((slope(&pts) - 2.0).abs() < 1e-9);
        let (a, b) = fit(&pts);
        assert!((a - 3.0).abs() < 1e-9 && (b - 2.0).abs() < 1e-9);
        assert_eq!(slope(&pts[..1]), 0.0);
    }

    #[test]
    fn rows_and_warmup() {
        let c = SoakConfig {
            duration: Duration::from_secs(3600),
            sample_every: Duration::from_secs(10),
            csv: None,
            print: false,
        };
        assert_eq!(c.samples_per_row(), 6);
        assert_eq!(c.warmup_seconds(), 300.0);
        let c = SoakConfig { duration: Duration::from_secs(3), sample_every: Duration::from_millis(500), ..c };
        assert_eq!(c.samples_per_row(), 1);
        assert!((c.warmup_seconds() - 0.6).abs() < 1e-9);
    }
}

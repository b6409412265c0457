//! Charts of several `compare --json` reports (one per group size, see
//! [`crate::report`] for the rows): for every timed metric, `time-<op>.svg`
//! plots the median time against the group size, one line per
//! implementation, on log-log axes; for every size metric, `size-<op>.svg`
//! does the same for bytes. Rows without a value (errors, timeouts) are left
//! out of the charts and reported as notes.
//!
//! plotters' SVG backend writes text as SVG `<text>`, sized with plotters'
//! built-in estimate, so no font file or fontconfig is needed (as in
//! loadgen's charts).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use serde::Deserialize;

use crate::metric::Unit;

/// A metric row, as far as the charts need it.
#[derive(Deserialize)]
struct Row {
    #[serde(rename = "impl")]
    implementation: String,
    members: u32,
    op: String,
    /// Committer position of a cold or warm metric: the chart shows the
    /// worst (largest) of a report's positions.
    #[serde(default)]
    committer: Option<String>,
    median_ms: Option<f64>,
    bytes: Option<u64>,
    error: Option<String>,
    timeout: Option<String>,
}

/// Points by metric, then by implementation: group size → value.
type Series = BTreeMap<String, BTreeMap<String, BTreeMap<u32, f64>>>;

/// The values of every report read, split by unit.
#[derive(Default)]
pub struct Points {
    times: Series,
    sizes: Series,
}

impl Points {
    /// Adds the rows of one report (JSON lines); returns a note for every
    /// row left out and every value replaced by a later report's.
    pub fn add_report(&mut self, text: &str) -> Result<Vec<String>, String> {
        let mut notes = Vec::new();
        let mut positioned = std::collections::BTreeSet::new();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let at = |e: serde_json::Error| format!("line {}: {e}", i + 1);
            let value: serde_json::Value = serde_json::from_str(line).map_err(at)?;
            if value.get("meta").is_some() {
                continue;
            }
            let row = Row::deserialize(value).map_err(at)?;
            let (series, value) = match (row.median_ms, row.bytes) {
                (Some(ms), _) => (&mut self.times, ms),
                (None, Some(bytes)) => (&mut self.sizes, bytes as f64),
                (None, None) => {
                    let why = row.timeout.map(|t| format!("timeout: {t}")).or(row.error).unwrap_or("no value".into());
                    notes.push(format!("skipped {} {} at {}: {why}", row.implementation, row.op, row.members));
                    continue;
                }
            };
            let points = series.entry(row.op.clone()).or_default().entry(row.implementation.clone()).or_default();
            if row.committer.is_some() && !positioned.insert((row.op.clone(), row.implementation.clone(), row.members))
            {
                // Another position of the same report: keep the worst.
                if let Some(v) = points.get_mut(&row.members) {
                    *v = v.max(value);
                }
                continue;
            }
            if points.insert(row.members, value).is_some() {
                notes.push(format!(
                    "{} {} at {}: a later report replaced the value",
                    row.implementation, row.op, row.members
                ));
            }
        }
        Ok(notes)
    }

    /// Draws every chart into `dir`; returns the files written.
    pub fn write_all(&self, dir: &Path) -> Result<Vec<PathBuf>, String> {
        let colors = Colors::new(self.times.values().chain(self.sizes.values()).flat_map(|m| m.keys()));
        let mut written = Vec::new();
        for (prefix, series, unit) in [("time", &self.times, Unit::Millis), ("size", &self.sizes, Unit::Bytes)] {
            for (op, by_impl) in series {
                let path = dir.join(format!("{prefix}-{op}.svg"));
                chart(&path, op, unit, by_impl, &colors)?;
                written.push(path);
            }
        }
        Ok(written)
    }
}

/// Reads every report in `files` and draws the charts into `out`; notes go
/// to stderr. Returns the files written.
pub fn run(out: &Path, files: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut points = Points::default();
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        for note in points.add_report(&text).map_err(|e| format!("{}: {e}", file.display()))? {
            eprintln!("note: {}: {note}", file.display());
        }
    }
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    points.write_all(out)
}

/// An axis label of `v` in `unit`.
fn axis_label(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Millis => significant(v),
        Unit::Bytes if v >= 1e6 => format!("{} MB", significant(v / 1e6)),
        Unit::Bytes if v >= 1e3 => format!("{} kB", significant(v / 1e3)),
        Unit::Bytes => format!("{} B", significant(v)),
    }
}

/// Up to three significant digits, no exponent: `0.0123`, `1.5`, `250`.
fn significant(v: f64) -> String {
    let decimals = (2 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// One colour per implementation, the same in every chart: the known ones
/// fixed, any other from a palette in name order.
struct Colors(BTreeMap<String, RGBColor>);

impl Colors {
    const KNOWN: [(&'static str, RGBColor); 4] = [
        ("throng", RGBColor(31, 119, 180)),
        ("mls-rs", RGBColor(255, 127, 14)),
        ("openmls", RGBColor(44, 160, 44)),
        ("crypto-floor", RGBColor(127, 127, 127)),
    ];
    const PALETTE: [RGBColor; 5] = [
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
    ];

    fn new<'a>(names: impl Iterator<Item = &'a String>) -> Self {
        let mut map: BTreeMap<String, RGBColor> = Self::KNOWN.iter().map(|(n, c)| (n.to_string(), *c)).collect();
        let mut others: Vec<&String> = names.filter(|n| !map.contains_key(*n)).collect();
        others.sort();
        others.dedup();
        for (i, name) in others.into_iter().enumerate() {
            map.insert(name.clone(), Self::PALETTE[i % Self::PALETTE.len()]);
        }
        Colors(map)
    }

    fn of(&self, name: &str) -> RGBColor {
        self.0.get(name).copied().unwrap_or(BLACK)
    }

    /// Legend order: the known implementations first, then the others.
    fn order<'a>(&self, names: impl Iterator<Item = &'a String>) -> Vec<&'a String> {
        let mut names: Vec<&String> = names.collect();
        let rank = |n: &str| Self::KNOWN.iter().position(|(k, _)| *k == n).unwrap_or(Self::KNOWN.len());
        names.sort_by_key(|n| (rank(n), n.as_str()));
        names
    }
}

fn err(e: impl std::fmt::Display) -> String {
    format!("chart: {e}")
}

/// One metric: members on x, values on y, both log scale.
fn chart(
    path: &Path,
    op: &str,
    unit: Unit,
    by_impl: &BTreeMap<String, BTreeMap<u32, f64>>,
    colors: &Colors,
) -> Result<(), String> {
    // Log axes need positive values; a zero cannot be drawn.
    let points = |m: &BTreeMap<u32, f64>| -> Vec<(f64, f64)> {
        m.iter().filter(|(_, v)| **v > 0.0).map(|(n, v)| (f64::from(*n), *v)).collect()
    };
    let all: Vec<(f64, f64)> = by_impl.values().flat_map(points).collect();
    let (x_min, x_max) = all.iter().fold((f64::MAX, 1.0f64), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
    let (y_min, y_max) = all.iter().fold((f64::MAX, f64::MIN_POSITIVE), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let (x_min, y_min) = (x_min.min(x_max), y_min.min(y_max));

    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let title = match unit {
        Unit::Millis => format!("{op}: median time (ms) by group size"),
        Unit::Bytes => format!("{op}: bytes by group size"),
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((x_min / 1.5..x_max * 1.5).log_scale(), (y_min / 2.0..y_max * 2.0).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("members (log scale)")
        .y_desc(match unit {
            Unit::Millis => "ms (log scale)",
            Unit::Bytes => "bytes (log scale)",
        })
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| axis_label(unit, *y))
        .draw()
        .map_err(err)?;
    for name in colors.order(by_impl.keys()) {
        let color = colors.of(name);
        let line = points(&by_impl[name]);
        chart.draw_series(line.iter().map(|p| Circle::new(*p, 4, color.filled()))).map_err(err)?;
        chart
            .draw_series(LineSeries::new(line, color.stroke_width(2)))
            .map_err(err)?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SMALL: &str = r#"{"meta":{"members":1000,"runs":3}}
{"impl":"throng","members":1000,"op":"commit","median_ms":0.466,"median_cpu_ms":0.5,"runs":3}
{"impl":"openmls","members":1000,"op":"commit","median_ms":3.1,"runs":3}
{"impl":"throng","members":1000,"op":"state_bytes","bytes":402711,"runs":3}
"#;
    const LARGE: &str = r#"{"impl":"throng","members":10000,"op":"commit","median_ms":2.1,"runs":3}
{"impl":"crypto-floor","members":10000,"op":"commit","median_ms":0.9,"runs":3}
{"impl":"openmls","members":10000,"op":"commit","median_ms":null,"runs":0,"timeout":"exceeded the 60 s cap"}
{"impl":"mls-rs","members":10000,"op":"join","median_ms":null,"runs":0,"error":"refused"}
{"impl":"throng","members":10000,"op":"state_bytes","bytes":4100000,"runs":3}
"#;

    #[test]
    fn parses_reports_and_draws_charts() {
        let mut points = Points::default();
        assert!(points.add_report(SMALL).unwrap().is_empty());
        let notes = points.add_report(LARGE).unwrap();
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("openmls commit at 10000: timeout"));
        assert!(notes[1].contains("refused"));

        let dir = std::env::temp_dir().join(format!("compare-charts-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let written = points.write_all(&dir).unwrap();
        let names: Vec<_> = written.iter().map(|p| p.file_name().unwrap().to_str().unwrap()).collect();
        assert_eq!(names, ["time-commit.svg", "size-state_bytes.svg"]);
        for path in &written {
            assert!(std::fs::read_to_string(path).unwrap().contains("<svg"));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn labels() {
        assert_eq!(significant(0.01234), "0.0123");
        assert_eq!(significant(1.5), "1.5");
        assert_eq!(significant(250.0), "250");
        assert_eq!(axis_label(Unit::Bytes, 4_100_000.0), "4.1 MB");
    }
}

//! SVG charts (plotters' SVG backend). Text is written as SVG `<text>` and
//! sized with plotters' built-in estimate, so no font file or fontconfig is
//! needed to draw them.

use std::path::Path;

use plotters::prelude::*;

use super::{Report, TreePoint};
use crate::metrics::{Op, Tracked};
use crate::soak::SoakReport;

const SIZE: (u32, u32) = (900, 480);
const COLORS: [RGBColor; 4] =
    [RGBColor(31, 119, 180), RGBColor(214, 39, 40), RGBColor(44, 160, 44), RGBColor(148, 103, 189)];

fn err(e: impl std::fmt::Display) -> String {
    format!("chart: {e}")
}

/// Draws every chart into `dir`; returns (title, file name) pairs.
pub fn write_all(report: &Report, dir: &Path) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    if let Some(soak) = &report.soak {
        if soak.series.len() >= 2 {
            soak_chart(soak, &dir.join("soak.svg"))?;
            out.push((
                "Soak: resident memory and latency over time (least-squares fit after the warm-up dashed)".to_string(),
                "soak.svg".to_string(),
            ));
        }
    }
    let Some(run) = report.runs.first() else { return Ok(out) };
    let ops: Vec<(Op, u64, u64)> =
        Op::ALL.iter().filter_map(|&op| run.latency(op).map(|l| (op, l.p50.max(1), l.p99.max(1)))).collect();
    if !ops.is_empty() {
        latency_chart(&ops, &dir.join("latency.svg"), &report.scenario.name)?;
        out.push(("Latency per operation (p50 and p99, µs, log scale)".to_string(), "latency.svg".to_string()));
    }
    let series: Vec<(&str, &[TreePoint])> =
        report.runs.iter().map(|r| (r.policy.as_str(), r.tree_health.series.as_slice())).collect();
    if series.iter().any(|(_, s)| !s.is_empty()) {
        tree_chart(&series, &dir.join("tree-health.svg"))?;
        out.push(("Tree health over epochs, per committer policy".to_string(), "tree-health.svg".to_string()));
        path_chart(&series, &dir.join("path-encryptions.svg"))?;
        out.push((
            "HPKE encryptions per commit path, per committer policy".to_string(),
            "path-encryptions.svg".to_string(),
        ));
    }
    let rss: Vec<(f64, f64)> =
        run.memory.rss_series.iter().map(|m| (m.seconds, m.rss_bytes as f64 / 1048576.0)).collect();
    if rss.len() >= 2 {
        memory_chart(&rss, &dir.join("memory.svg"))?;
        out.push(("Resident memory over the run (MiB)".to_string(), "memory.svg".to_string()));
    }
    let wire: Vec<(String, f64)> =
        run.wire.iter().filter(|(_, w)| w.count > 0).map(|(k, w)| (k.clone(), w.mean_bytes.max(1.0))).collect();
    if !wire.is_empty() {
        wire_chart(&wire, &dir.join("wire.svg"))?;
        out.push(("Mean bytes per message type (log scale)".to_string(), "wire.svg".to_string()));
    }
    Ok(out)
}

fn latency_chart(ops: &[(Op, u64, u64)], path: &Path, name: &str) -> Result<(), String> {
    // Horizontal bars, one band per operation (p50 upper half, p99 lower),
    // so every label reads horizontally next to its bars.
    let height = 90 + 34 * ops.len() as u32;
    let root = SVGBackend::new(path, (SIZE.0, height)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let max = ops.iter().map(|o| o.2).max().unwrap_or(1) as f64 * 2.0;
    let n = ops.len() as u32;
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("{name}: latency per operation, µs (log scale)"), ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(190)
        .build_cartesian_2d((1f64..max).log_scale(), (0..n).into_segmented())
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(ops.len())
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => ops.get(*i as usize).map_or(String::new(), |o| o.0.label().to_string()),
            _ => String::new(),
        })
        .x_desc("µs")
        .draw()
        .map_err(err)?;
    chart
        .draw_series(ops.iter().enumerate().map(|(i, o)| {
            let i = i as u32;
            Rectangle::new([(1.0, SegmentValue::Exact(i)), (o.1 as f64, SegmentValue::CenterOf(i))], COLORS[0].filled())
        }))
        .map_err(err)?
        .label("p50")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], COLORS[0].filled()));
    chart
        .draw_series(ops.iter().enumerate().map(|(i, o)| {
            let i = i as u32;
            Rectangle::new(
                [(1.0, SegmentValue::CenterOf(i)), (o.2 as f64, SegmentValue::Exact(i + 1))],
                COLORS[1].filled(),
            )
        }))
        .map_err(err)?
        .label("p99")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], COLORS[1].filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

fn line_panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    title: &str,
    series: &[(&str, Vec<(f64, f64)>)],
) -> Result<(), String> {
    let x_max = series.iter().flat_map(|(_, s)| s.iter().map(|p| p.0)).fold(1.0, f64::max);
    let y_max = series.iter().flat_map(|(_, s)| s.iter().map(|p| p.1)).fold(0.0, f64::max) * 1.1 + 1e-9;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)
        .map_err(err)?;
    chart.configure_mesh().x_desc("epoch").draw().map_err(err)?;
    for (i, (name, points)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        chart
            .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))
            .map_err(err)?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(err)
}

fn tree_chart(series: &[(&str, &[TreePoint])], path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, (SIZE.0, SIZE.1 * 2)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let panels = root.split_evenly((2, 1));
    let res: Vec<(&str, Vec<(f64, f64)>)> =
        series.iter().map(|(n, s)| (*n, s.iter().map(|p| (p.epoch as f64, p.mean_resolution)).collect())).collect();
    line_panel(&panels[0], "mean resolution size of a parent node (1 = healthy)", &res)?;
    let blank: Vec<(&str, Vec<(f64, f64)>)> = series
        .iter()
        .map(|(n, s)| (*n, s.iter().map(|p| (p.epoch as f64, p.blank_parent_fraction * 100.0)).collect()))
        .collect();
    line_panel(&panels[1], "blank parent nodes (%)", &blank)?;
    root.present().map_err(err)
}

fn path_chart(series: &[(&str, &[TreePoint])], path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let enc: Vec<(&str, Vec<(f64, f64)>)> =
        series.iter().map(|(n, s)| (*n, s.iter().map(|p| (p.epoch as f64, p.path_encryptions)).collect())).collect();
    line_panel(&root, "HPKE encryptions in the commit's UpdatePath", &enc)?;
    root.present().map_err(err)
}

fn memory_chart(rss: &[(f64, f64)], path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let x_max = rss.iter().map(|p| p.0).fold(1.0, f64::max);
    let y_max = rss.iter().map(|p| p.1).fold(1.0, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption("resident set size (MiB) over time (s)", ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)
        .map_err(err)?;
    chart.configure_mesh().x_desc("seconds").y_desc("MiB").draw().map_err(err)?;
    chart.draw_series(LineSeries::new(rss.iter().copied(), COLORS[0].stroke_width(2))).map_err(err)?;
    root.present().map_err(err)
}

fn wire_chart(wire: &[(String, f64)], path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let max = wire.iter().map(|w| w.1).fold(1.0, f64::max) * 2.0;
    let n = wire.len() as u32;
    let mut chart = ChartBuilder::on(&root)
        .caption("mean bytes per message type (log scale)", ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((0..n).into_segmented(), (1f64..max).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(wire.len())
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => wire.get(*i as usize).map_or(String::new(), |w| w.0.replace('_', " ")),
            _ => String::new(),
        })
        .y_desc("bytes")
        .draw()
        .map_err(err)?;
    chart
        .draw_series(wire.iter().enumerate().map(|(i, w)| {
            Rectangle::new(
                [(SegmentValue::Exact(i as u32), 1.0), (SegmentValue::Exact(i as u32 + 1), w.1)],
                COLORS[0].filled(),
            )
        }))
        .map_err(err)?;
    // White outlines keep neighbouring bars apart.
    chart
        .draw_series(wire.iter().enumerate().map(|(i, w)| {
            Rectangle::new(
                [(SegmentValue::Exact(i as u32), 1.0), (SegmentValue::Exact(i as u32 + 1), w.1)],
                WHITE.stroke_width(6),
            )
        }))
        .map_err(err)?;
    root.present().map_err(err)
}

/// A latency line of the soak chart: label, colour, thick, points.
type Line = (String, RGBColor, bool, Vec<(f64, f64)>);

/// Soak: RSS over time with the fitted line after the warm-up (top), and
/// the per-sample p50 and p99 of the tracked latencies (bottom, log scale).
fn soak_chart(soak: &SoakReport, path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, (SIZE.0, SIZE.1 * 2)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let panels = root.split_evenly((2, 1));
    let minutes = |s: f64| s / 60.0;
    let rss: Vec<(f64, f64)> =
        soak.series.iter().map(|s| (minutes(s.seconds), s.rss_bytes as f64 / 1048576.0)).collect();
    let x_max = rss.iter().map(|p| p.0).fold(1e-3, f64::max);
    let y_max = rss.iter().map(|p| p.1).fold(1.0, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(&panels[0])
        .caption("resident set size (MiB) over the soak (minutes after the build)", ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)
        .map_err(err)?;
    chart.configure_mesh().x_desc("minutes").y_desc("MiB").draw().map_err(err)?;
    chart
        .draw_series(LineSeries::new(rss.iter().copied(), COLORS[0].stroke_width(2)))
        .map_err(err)?
        .label("RSS")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], COLORS[0].stroke_width(2)));
    let after: Vec<(f64, f64)> = soak
        .series
        .iter()
        .filter(|s| s.seconds >= soak.warmup_seconds)
        .map(|s| (s.seconds / 3600.0, s.rss_bytes as f64 / 1048576.0))
        .collect();
    if after.len() >= 2 {
        let (a, b) = crate::soak::fit(&after);
        let (x0, x1) = (soak.warmup_seconds / 3600.0, after.last().map_or(0.0, |p| p.0));
        let ends = [(x0 * 60.0, a + b * x0), (x1 * 60.0, a + b * x1)];
        let dashes: Vec<PathElement<(f64, f64)>> = (0..40)
            .filter(|i| i % 2 == 0)
            .map(|i| {
                let at = |j: f64| {
                    let f = j / 40.0;
                    (ends[0].0 + (ends[1].0 - ends[0].0) * f, ends[0].1 + (ends[1].1 - ends[0].1) * f)
                };
                PathElement::new(vec![at(f64::from(i)), at(f64::from(i + 1))], COLORS[1].stroke_width(2))
            })
            .collect();
        chart
            .draw_series(dashes)
            .map_err(err)?
            .label(format!("fit after the warm-up: {:+.2} MiB/h", soak.slope_mib_per_hour))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], COLORS[1].stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;

    let mut lines: Vec<Line> = Vec::new();
    for (i, t) in [Tracked::Commit, Tracked::Process].into_iter().enumerate() {
        for (p99, name) in [(false, "p50"), (true, "p99")] {
            let points: Vec<(f64, f64)> = soak
                .series
                .iter()
                .filter_map(|s| {
                    let l = s.latency_us.get(&t)?;
                    (l.count > 0)
                        .then(|| (minutes(s.seconds), (if p99 { l.p99 } else { l.p50 }).max(1) as f64 / 1000.0))
                })
                .collect();
            if !points.is_empty() {
                lines.push((format!("{} {name}", t.label()), COLORS[i * 2 + usize::from(p99)], p99, points));
            }
        }
    }
    let y_max = lines.iter().flat_map(|l| l.3.iter().map(|p| p.1)).fold(1.0, f64::max) * 2.0;
    let y_min = lines.iter().flat_map(|l| l.3.iter().map(|p| p.1)).fold(y_max, f64::min).max(1e-3) / 2.0;
    let mut chart = ChartBuilder::on(&panels[1])
        .caption(format!("latency per {}-s sample (ms, log scale)", soak.sample_every_seconds), ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..x_max, (y_min..y_max).log_scale())
        .map_err(err)?;
    chart.configure_mesh().x_desc("minutes").y_desc("ms").draw().map_err(err)?;
    for (name, color, thick, points) in lines {
        let style = color.stroke_width(if thick { 2 } else { 1 });
        chart
            .draw_series(LineSeries::new(points, style))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

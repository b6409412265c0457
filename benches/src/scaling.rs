//! `compare-scaling`: the same group size at several thread counts, side by
//! side, from `compare`'s JSON lines (one file per `--threads`).
//!
//! For every time metric (at every committer position) and every
//! implementation: the median at each thread count and the speed-up from
//! the fewest to the most threads; the crypto floor's row is the parallel
//! bound (floor ÷ threads) at each count.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

/// (op, committer) → implementation → threads → median ms.
type Medians = BTreeMap<(String, String), BTreeMap<String, BTreeMap<u64, f64>>>;

/// The Markdown table of the reports `texts` (JSON lines of `compare`).
pub fn scaling(texts: &[String]) -> Result<String, String> {
    let mut medians: Medians = BTreeMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    let mut impls: Vec<String> = Vec::new();
    let mut threads_seen: Vec<u64> = Vec::new();
    let mut members = None;
    for text in texts {
        let mut threads = None;
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let value: Value = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
            if let Some(meta) = value.get("meta") {
                threads = meta.get("threads").and_then(Value::as_u64);
                members = members.or(meta.get("members").and_then(Value::as_u64));
                continue;
            }
            let t = threads.ok_or("a report without `threads` in its meta line (made before --threads)")?;
            let Some(ms) = value.get("median_ms").and_then(Value::as_f64) else { continue };
            let text_of = |k: &str| value.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let key = (text_of("op"), text_of("committer"));
            let implementation = text_of("impl");
            if !order.contains(&key) {
                order.push(key.clone());
            }
            if !impls.contains(&implementation) {
                impls.push(implementation.clone());
            }
            if !threads_seen.contains(&t) {
                threads_seen.push(t);
            }
            let bound = if implementation == "crypto-floor" { ms / t as f64 } else { ms };
            medians.entry(key).or_default().entry(implementation).or_default().insert(t, bound);
        }
    }
    threads_seen.sort_unstable();
    let (Some(&lo), Some(&hi)) = (threads_seen.first(), threads_seen.last()) else {
        return Err("no timings".into());
    };
    let mut out = String::new();
    let _ = writeln!(out, "## Scaling: {} members, {} threads\n", members.unwrap_or(0), {
        threads_seen.iter().map(u64::to_string).collect::<Vec<_>>().join(" and ")
    });
    let _ = write!(out, "| op | committer |");
    for i in &impls {
        for t in &threads_seen {
            let _ = write!(out, " {i} @{t} |");
        }
        let _ = write!(out, " {i} ×{lo}→{hi} |");
    }
    let _ = write!(out, "\n|---|---|");
    for _ in &impls {
        for _ in 0..=threads_seen.len() {
            let _ = write!(out, "---:|");
        }
    }
    out.push('\n');
    for key in &order {
        let _ = write!(out, "| {} | {} |", key.0, if key.1.is_empty() { "-" } else { &key.1 });
        for i in &impls {
            let per = medians.get(key).and_then(|m| m.get(i));
            for t in &threads_seen {
                match per.and_then(|p| p.get(t)) {
                    Some(v) => {
                        let _ = write!(out, " {v:.3} |");
                    }
                    None => {
                        let _ = write!(out, " |");
                    }
                }
            }
            match per.and_then(|p| Some(p.get(&lo)? / p.get(&hi)?)) {
                Some(s) => {
                    let _ = write!(out, " {s:.2} |");
                }
                None => {
                    let _ = write!(out, " |");
                }
            }
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "\nMedians in ms from each report (one `compare` run per thread count); crypto-floor columns are the \
         parallel bound, floor ÷ threads; ×{lo}→{hi} is the median at {lo} thread(s) divided by the median at {hi}."
    );
    Ok(out)
}

//! The report of a run: one [`Report`] value, written as `report.json`
//! (schema: `loadgen/report-schema.json`), `report.md` and SVG charts.

pub mod charts;
pub mod markdown;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::metrics::{
    Counters, MediaCounters, MediaOp, MemorySample, Metrics, NodeCounters, Op, TreeSample, Wire, WireStats,
};
use crate::profile::Machine;
use crate::scenario::Scenario;
use crate::sim::RunStats;

/// Version of the report.json layout.
pub const SCHEMA_VERSION: u32 = 1;

/// Latency percentiles of one operation, microseconds.
#[derive(Clone, Debug, Serialize)]
pub struct Latency {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

/// Bytes of one message type.
#[derive(Clone, Debug, Serialize)]
pub struct WireReport {
    /// Messages.
    pub count: u64,
    /// Mean size, bytes.
    pub mean_bytes: f64,
    /// Largest, bytes.
    pub max_bytes: u64,
    /// Total sent to the DS, bytes.
    pub total_bytes: u64,
    /// Total the DS delivered (size × recipients), bytes.
    pub fanout_bytes: u64,
}

/// Rates during the churn phase.
#[derive(Clone, Debug, Serialize)]
pub struct Throughput {
    /// Accepted commits (epochs) per second, all groups.
    pub commits_per_second: f64,
    /// Commits processed by full members per second.
    pub commit_processings_per_second: f64,
    /// Application messages sent per second.
    pub application_messages_per_second: f64,
    /// Application messages decrypted by full members per second.
    pub decryptions_per_second: f64,
}

/// Memory figures.
#[derive(Clone, Debug, Serialize)]
pub struct Memory {
    /// Peak RSS of the process (VmHWM), bytes.
    pub peak_rss_bytes: u64,
    /// RSS before the build, bytes.
    pub rss_before_build_bytes: u64,
    /// RSS right after every group was built, bytes.
    pub rss_after_build_bytes: u64,
    /// (RSS after build − before) / members of all groups: everything a
    /// member costs in this process (its leaf in the shared tree and in the
    /// DS's tree, its identity, and for full members their state).
    pub rss_per_member_bytes: f64,
    /// A full member's own state (private keys, secret tree, cached
    /// proposals; `Group::private_state_len`), bytes.
    pub full_member_private_bytes: usize,
    /// A passive member's state (its identity), bytes.
    pub passive_member_bytes: usize,
    /// Heap of one group's shared public tree (`RatchetTree::heap_bytes`).
    pub shared_tree_bytes: usize,
    /// Heap of the DS's public group tree for one group.
    pub ds_public_group_bytes: usize,
    /// RSS over time.
    pub rss_series: Vec<MemorySample>,
}

/// Tree health of one epoch, averaged over the groups.
#[derive(Clone, Debug, Serialize)]
pub struct TreePoint {
    /// Epoch after the build.
    pub epoch: u64,
    /// Mean members.
    pub members: f64,
    /// Mean fraction of blank parent nodes.
    pub blank_parent_fraction: f64,
    /// Mean blank parents.
    pub blank_parents: f64,
    /// Mean resolution size of a parent node.
    pub mean_resolution: f64,
    /// Mean HPKE encryptions in the epoch's commit path.
    pub path_encryptions: f64,
}

/// Tree health summary of a run.
#[derive(Clone, Debug, Serialize)]
pub struct TreeHealth {
    /// Committer policy.
    pub policy: String,
    /// Mean over all epochs of the blank parent fraction.
    pub mean_blank_parent_fraction: f64,
    /// Mean over all epochs of the mean resolution size.
    pub mean_resolution: f64,
    /// Mean HPKE encryptions per commit path.
    pub mean_path_encryptions: f64,
    /// Values of the last epoch.
    pub last: Option<TreePoint>,
    /// Per epoch, averaged over groups.
    pub series: Vec<TreePoint>,
}

/// The build phase: the creator adds every member, the full members join.
#[derive(Clone, Debug, Serialize)]
pub struct BuildPhase {
    /// Seconds.
    pub seconds: f64,
    /// Latency per operation, microseconds (build commits carry up to
    /// `adds_per_build_commit` Adds; joins are at the full group size).
    pub latency_us: BTreeMap<String, Latency>,
    /// Bytes per message type.
    pub wire: BTreeMap<String, WireReport>,
}

/// One simulated run (one committer policy).
#[derive(Clone, Debug, Serialize)]
pub struct Run {
    /// Committer policy.
    pub policy: String,
    /// The build phase (not in the figures below).
    pub build: BuildPhase,
    /// Seconds building the groups.
    pub build_seconds: f64,
    /// Seconds of churn.
    pub churn_seconds: f64,
    /// Epochs per group (mean).
    pub epochs_per_group: f64,
    /// Members per group at the end (mean).
    pub final_members: f64,
    /// Latency per operation, microseconds.
    pub latency_us: BTreeMap<String, Latency>,
    /// Bytes per message type.
    pub wire: BTreeMap<String, WireReport>,
    /// Rates.
    pub throughput: Throughput,
    /// Memory.
    pub memory: Memory,
    /// Events.
    pub counters: Counters,
    /// Tree health.
    pub tree_health: TreeHealth,
    /// First errors seen (empty in a clean run).
    pub errors: Vec<String>,
    /// Media (scenarios with `[media]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaReport>,
    /// The DS nodes and their store (scenarios with `[backend]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<BackendReport>,
    /// Partial members beside full ones (scenarios with
    /// `groups.partial_members`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial: Option<PartialReport>,
}

/// Partial members (draft-ietf-mls-partial) beside full members, churn
/// phase; their latencies are in `latency_us` (`*_partial`,
/// `annotate_commit`).
#[derive(Clone, Debug, Serialize)]
pub struct PartialReport {
    /// Most partial members per group at once.
    pub target: u32,
    /// Partial members of group 0 at the end.
    pub members_at_end: usize,
    /// Bytes a partial member keeps (`PartialGroup::state_bytes`), over
    /// group 0's partial members at the end.
    pub state_bytes: Spread,
    /// Bytes of a full member: its private state plus the public tree it
    /// holds (shared by co-resident full members in the simulation, but
    /// each real client holds one).
    pub full_member_state_bytes: usize,
    /// Mean time of annotating one commit for one partial member
    /// (`annotate_commit` time over AnnotatedCommits made), microseconds.
    pub annotation_us_per_member: f64,
    /// Partial members that disagreed with the full members' epoch
    /// authenticator (or missed their removal). Should be 0.
    pub disagreements: u64,
    /// Partial members' errors. Should be 0.
    pub errors: u64,
}

/// A spread of sizes.
#[derive(Clone, Debug, Serialize)]
pub struct Spread {
    /// Samples.
    pub count: usize,
    /// Smallest.
    pub min: usize,
    /// Median.
    pub p50: usize,
    /// Largest.
    pub max: usize,
}

impl Spread {
    fn of(mut v: Vec<usize>) -> Self {
        v.sort_unstable();
        let at = |i: usize| v.get(i).copied().unwrap_or(0);
        Self { count: v.len(), min: at(0), p50: at(v.len() / 2), max: v.last().copied().unwrap_or(0) }
    }
}

/// The DS nodes of a `[backend]` run (churn phase).
#[derive(Clone, Debug, Serialize)]
pub struct BackendReport {
    /// The store the nodes share.
    pub store: String,
    /// How requests picked their node.
    pub routing: String,
    /// Racing member commits that lost to a commit accepted by another
    /// node, all nodes: races decided in the shared store.
    pub lost_races_across_nodes: u64,
    /// Groups checked for a fork at the end.
    pub groups_checked: u64,
    /// Groups whose full members (epoch, epoch authenticator, tree hash) or
    /// nodes (epoch, tree hash) disagreed at the end. Should be 0.
    pub forks: u64,
    /// Per node.
    pub nodes: Vec<NodeReport>,
}

/// One DS node of a `[backend]` run.
#[derive(Clone, Debug, Serialize)]
pub struct NodeReport {
    /// Node number, from 0.
    pub node: usize,
    /// Events.
    #[serde(flatten)]
    pub counters: NodeCounters,
    /// Commits this node accepted per second of churn.
    pub commits_per_second: f64,
    /// The store's compare-and-set append, as the node called it
    /// (`Store::append`: one statement and round trip for PostgreSQL),
    /// microseconds; proposals' appends included.
    pub store_append_us: Latency,
}

/// Media frames across epoch changes (`sim/media.rs`).
#[derive(Clone, Debug, Serialize)]
pub struct MediaReport {
    /// Events and what is held at the end.
    pub counters: MediaCounters,
    /// Latency per media operation, nanoseconds.
    pub latency_ns: BTreeMap<String, Latency>,
}

/// Where the numbers come from (docs/STYLE.md 10).
#[derive(Clone, Debug, Serialize)]
pub struct Provenance {
    /// throng version.
    pub throng_version: String,
    /// `git describe --always --dirty` of the source tree, if available.
    pub git_commit: Option<String>,
    /// The command as typed.
    pub command: String,
    /// When the run started (UTC, RFC 3339).
    pub started_at: String,
    /// The machine.
    pub machine: Machine,
    /// Rayon threads used.
    pub threads: usize,
    /// rustc profile of the binary.
    pub build_profile: String,
    /// Noise controls in effect.
    pub noise: String,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Layout version.
    pub schema_version: u32,
    /// Provenance.
    pub provenance: Provenance,
    /// The scenario as run (after `--quick` and `--seed`).
    pub scenario: Scenario,
    /// Whether `--quick` shrank it.
    pub quick: bool,
    /// The runs: the scenario's policy first, the comparison second.
    pub runs: Vec<Run>,
    /// Soak mode (`--duration`): memory and latency over time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soak: Option<crate::soak::SoakReport>,
}

fn latency(h: &hdrhistogram::Histogram<u64>) -> Latency {
    Latency {
        count: h.len(),
        p50: h.value_at_quantile(0.5),
        p90: h.value_at_quantile(0.9),
        p99: h.value_at_quantile(0.99),
        max: h.max(),
        mean: h.mean(),
    }
}

fn wire_key(w: Wire) -> String {
    serde_json::to_value(w).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn tree_series(samples: &[TreeSample]) -> Vec<TreePoint> {
    let mut by_epoch: BTreeMap<u64, Vec<&TreeSample>> = BTreeMap::new();
    for s in samples {
        by_epoch.entry(s.epoch).or_default().push(s);
    }
    by_epoch
        .into_iter()
        .map(|(epoch, v)| {
            let n = v.len() as f64;
            let mean = |f: &dyn Fn(&TreeSample) -> f64| v.iter().map(|s| f(s)).sum::<f64>() / n;
            TreePoint {
                epoch,
                members: mean(&|s| f64::from(s.members)),
                blank_parent_fraction: mean(&|s| s.blank_parent_fraction),
                blank_parents: mean(&|s| f64::from(s.blank_parents)),
                mean_resolution: mean(&|s| s.mean_resolution),
                path_encryptions: mean(&|s| f64::from(s.path_encryptions)),
            }
        })
        .collect()
}

fn latencies(metrics: &Metrics) -> BTreeMap<String, Latency> {
    metrics.latencies().iter().map(|(op, h)| (op.key().to_string(), latency(h))).collect()
}

fn wires(metrics: &Metrics) -> BTreeMap<String, WireReport> {
    metrics
        .wire_stats()
        .into_iter()
        .map(|(k, s): (Wire, WireStats)| {
            let mean = if s.count == 0 { 0.0 } else { s.bytes as f64 / s.count as f64 };
            (
                wire_key(k),
                WireReport {
                    count: s.count,
                    mean_bytes: mean,
                    max_bytes: s.max_bytes,
                    total_bytes: s.bytes,
                    fanout_bytes: s.fanout_bytes,
                },
            )
        })
        .collect()
}

impl Run {
    /// Summarizes one run's metrics (`build`: the build phase's).
    pub fn new(policy: &str, metrics: &Metrics, build: &Metrics, stats: &RunStats, total_members: f64) -> Self {
        let latency_us = latencies(metrics);
        let wire = wires(metrics);
        let counters = crate::metrics::lock(&metrics.counters).clone();
        let secs = stats.churn_seconds.max(1e-9);
        let samples = crate::metrics::lock(&metrics.tree).clone();
        let series = tree_series(&samples);
        let n = series.len().max(1) as f64;
        let tree_health = TreeHealth {
            policy: policy.to_string(),
            mean_blank_parent_fraction: series.iter().map(|p| p.blank_parent_fraction).sum::<f64>() / n,
            mean_resolution: series.iter().map(|p| p.mean_resolution).sum::<f64>() / n,
            mean_path_encryptions: series.iter().map(|p| p.path_encryptions).sum::<f64>() / n,
            last: series.last().cloned(),
            series,
        };
        let partial = (stats.partial_target > 0).then(|| {
            let annotate = latency_us.get(Op::AnnotateCommit.key());
            let total_us = annotate.map_or(0.0, |l| l.mean * l.count as f64);
            PartialReport {
                target: stats.partial_target,
                members_at_end: stats.partial_state_bytes.len(),
                state_bytes: Spread::of(stats.partial_state_bytes.clone()),
                full_member_state_bytes: stats.full_member_state_bytes + stats.tree_bytes,
                annotation_us_per_member: if counters.partial_annotations == 0 {
                    0.0
                } else {
                    total_us / counters.partial_annotations as f64
                },
                disagreements: counters.partial_disagreements,
                errors: counters.partial_errors + counters.annotation_mismatches,
            }
        });
        let grown = stats.rss_after_build.saturating_sub(stats.rss_before_build) as f64;
        Self {
            policy: policy.to_string(),
            build: BuildPhase { seconds: stats.build_seconds, latency_us: latencies(build), wire: wires(build) },
            build_seconds: stats.build_seconds,
            churn_seconds: stats.churn_seconds,
            epochs_per_group: stats.epochs_per_group,
            final_members: stats.final_members,
            latency_us,
            wire,
            throughput: Throughput {
                commits_per_second: counters.epochs as f64 / secs,
                commit_processings_per_second: counters.commits_processed as f64 / secs,
                application_messages_per_second: counters.application_messages as f64 / secs,
                decryptions_per_second: counters.application_decryptions as f64 / secs,
            },
            memory: Memory {
                peak_rss_bytes: crate::profile::peak_rss_bytes().unwrap_or(0),
                rss_before_build_bytes: stats.rss_before_build,
                rss_after_build_bytes: stats.rss_after_build,
                rss_per_member_bytes: if total_members > 0.0 { grown / total_members } else { 0.0 },
                full_member_private_bytes: stats.full_member_state_bytes,
                passive_member_bytes: stats.passive_member_state_bytes,
                shared_tree_bytes: stats.tree_bytes,
                ds_public_group_bytes: stats.ds_group_bytes,
                rss_series: crate::metrics::lock(&metrics.memory).clone(),
            },
            counters,
            tree_health,
            errors: crate::metrics::lock(&metrics.errors).clone(),
            media: stats.media.then(|| MediaReport {
                counters: crate::metrics::lock(&metrics.media).clone(),
                latency_ns: metrics
                    .media_latencies()
                    .iter()
                    .map(|(op, h)| (op.key().to_string(), latency(h)))
                    .collect(),
            }),
            backend: stats.backend.as_ref().map(|b| {
                let nodes: Vec<NodeReport> = metrics
                    .nodes()
                    .into_iter()
                    .chain(std::iter::repeat_with(|| (NodeCounters::default(), crate::metrics::new_histogram())))
                    .take(b.nodes)
                    .enumerate()
                    .map(|(node, (counters, h))| NodeReport {
                        node,
                        commits_per_second: counters.commits as f64 / secs,
                        counters,
                        store_append_us: latency(&h),
                    })
                    .collect();
                BackendReport {
                    store: b.store.clone(),
                    routing: b.routing.clone(),
                    lost_races_across_nodes: nodes.iter().map(|n| n.counters.lost_races_to_other_node).sum(),
                    groups_checked: b.groups_checked,
                    forks: b.forks,
                    nodes,
                }
            }),
            partial,
        }
    }

    /// Latency of `op`, if measured.
    pub fn latency(&self, op: Op) -> Option<&Latency> {
        self.latency_us.get(op.key())
    }

    /// Latency of a media operation, nanoseconds, if measured.
    pub fn media_latency(&self, op: MediaOp) -> Option<&Latency> {
        self.media.as_ref()?.latency_ns.get(op.key())
    }
}

impl Report {
    /// Writes report.json, report.md and the charts into `dir`.
    pub fn write(&self, dir: &Path) -> Result<Vec<std::path::PathBuf>, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut written = Vec::new();
        let json = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        let path = dir.join("report.json");
        std::fs::write(&path, json + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path);
        if let Some(soak) = &self.soak {
            let path = dir.join(&soak.samples_file);
            std::fs::write(&path, crate::soak::csv(&soak.series))
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            written.push(path);
        }
        let charts = charts::write_all(self, dir)?;
        let md = markdown::render(self, &charts);
        let path = dir.join("report.md");
        std::fs::write(&path, md).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path);
        written.extend(charts.into_iter().map(|(_, p)| dir.join(p)));
        Ok(written)
    }
}

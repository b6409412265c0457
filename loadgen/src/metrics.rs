//! What a run measures: latency histograms per operation (HDR histograms,
//! microsecond resolution), bytes on the wire per message type, event
//! counters, tree health and memory over time.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

/// A timed operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Generating one KeyPackage (keys, signatures).
    GenerateKeyPackage,
    /// Creating a commit with no Add (path, HPKE encryptions, signature).
    CreateCommit,
    /// Creating a commit that adds members, with its Welcome.
    CreateCommitWithWelcome,
    /// A full member processing (validating and staging) a commit.
    ProcessCommit,
    /// The committer merging its own commit; the shared tree is copied
    /// first (copy-on-write), as co-resident members still hold the old one.
    MergeOwnCommit,
    /// A full member merging a staged commit by adopting the committer's
    /// identical tree.
    MergeStagedCommit,
    /// A full member processing a proposal.
    ProcessProposal,
    /// Creating an Update proposal.
    ProposeUpdate,
    /// Joining from a Welcome (full tree validation).
    Join,
    /// Joining by external commit (tree validation and the commit).
    ExternalJoin,
    /// Encrypting an application message.
    EncryptApplication,
    /// Decrypting an application message.
    DecryptApplication,
    /// The DS validating and ordering one handshake message.
    DsHandle,
    /// Building a passive member's state when it is chosen to act.
    Materialize,
    /// A partial member joining from an AnnotatedWelcome (draft-ietf-mls-
    /// partial §"Joining via Annotated Welcome"): no tree, two proofs.
    PartialJoin,
    /// A partial member processing an AnnotatedCommit.
    PartialProcessCommit,
    /// A partial member reading an application message with its sender's
    /// proof.
    PartialDecryptApplication,
    /// Annotating one commit for every partial member (`CommitAnnotator`
    /// on the committer's view: the work the DS's `handle_annotating` adds).
    AnnotateCommit,
}

impl Op {
    /// Every operation, in report order.
    pub const ALL: [Op; 18] = [
        Op::CreateCommit,
        Op::CreateCommitWithWelcome,
        Op::ProcessCommit,
        Op::MergeOwnCommit,
        Op::MergeStagedCommit,
        Op::Join,
        Op::ExternalJoin,
        Op::EncryptApplication,
        Op::DecryptApplication,
        Op::ProposeUpdate,
        Op::ProcessProposal,
        Op::DsHandle,
        Op::GenerateKeyPackage,
        Op::Materialize,
        Op::PartialJoin,
        Op::PartialProcessCommit,
        Op::PartialDecryptApplication,
        Op::AnnotateCommit,
    ];

    /// Its key in report.json.
    pub fn key(self) -> &'static str {
        match self {
            Op::GenerateKeyPackage => "generate_key_package",
            Op::CreateCommit => "create_commit",
            Op::CreateCommitWithWelcome => "create_commit_with_welcome",
            Op::ProcessCommit => "process_commit",
            Op::MergeOwnCommit => "merge_own_commit",
            Op::MergeStagedCommit => "merge_staged_commit",
            Op::ProcessProposal => "process_proposal",
            Op::ProposeUpdate => "propose_update",
            Op::Join => "join_welcome",
            Op::ExternalJoin => "join_external_commit",
            Op::EncryptApplication => "encrypt_application",
            Op::DecryptApplication => "decrypt_application",
            Op::DsHandle => "ds_handle",
            Op::Materialize => "materialize_passive",
            Op::PartialJoin => "join_partial",
            Op::PartialProcessCommit => "process_commit_partial",
            Op::PartialDecryptApplication => "decrypt_application_partial",
            Op::AnnotateCommit => "annotate_commit",
        }
    }

    /// Its label in report.md.
    pub fn label(self) -> &'static str {
        match self {
            Op::GenerateKeyPackage => "generate KeyPackage",
            Op::CreateCommit => "create commit",
            Op::CreateCommitWithWelcome => "create commit + Welcome",
            Op::ProcessCommit => "process commit",
            Op::MergeOwnCommit => "merge own commit (CoW)",
            Op::MergeStagedCommit => "merge staged commit",
            Op::ProcessProposal => "process proposal",
            Op::ProposeUpdate => "propose Update",
            Op::Join => "join (Welcome)",
            Op::ExternalJoin => "join (external commit)",
            Op::EncryptApplication => "encrypt application",
            Op::DecryptApplication => "decrypt application",
            Op::DsHandle => "DS validate + order",
            Op::Materialize => "materialize passive member",
            Op::PartialJoin => "partial member: join (annotated Welcome)",
            Op::PartialProcessCommit => "partial member: process AnnotatedCommit",
            Op::PartialDecryptApplication => "partial member: read application (sender proof)",
            Op::AnnotateCommit => "annotate commit (all partial members)",
        }
    }
}

/// A message type on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Wire {
    /// A member's Commit.
    Commit,
    /// An external Commit.
    ExternalCommit,
    /// A member's proposal (Update or Remove).
    Proposal,
    /// The DS's Remove proposal.
    ExternalProposal,
    /// A Welcome.
    Welcome,
    /// A GroupInfo served to an external joiner.
    GroupInfo,
    /// A ratchet tree served to a joiner.
    RatchetTree,
    /// An application message.
    Application,
    /// A KeyPackage uploaded by a joiner.
    KeyPackage,
}

impl Wire {
    /// Its label in report.md.
    pub fn label(self) -> &'static str {
        match self {
            Wire::Commit => "Commit",
            Wire::ExternalCommit => "external Commit",
            Wire::Proposal => "member proposal",
            Wire::ExternalProposal => "DS proposal",
            Wire::Welcome => "Welcome",
            Wire::GroupInfo => "GroupInfo",
            Wire::RatchetTree => "ratchet tree",
            Wire::Application => "application",
            Wire::KeyPackage => "KeyPackage",
        }
    }
}

/// Bytes of one message type.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WireStats {
    /// Messages sent.
    pub count: u64,
    /// Bytes sent to the DS.
    pub bytes: u64,
    /// Largest message.
    pub max_bytes: u64,
    /// Bytes the DS delivered (size × recipients).
    pub fanout_bytes: u64,
}

/// Events counted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counters {
    /// Epochs completed (one accepted commit each), build commits excluded.
    pub epochs: u64,
    /// Commits the DS rejected because another commit won the epoch.
    pub lost_races: u64,
    /// Members added by Welcome during the run.
    pub welcome_joins: u64,
    /// Members joined by external commit.
    pub external_joins: u64,
    /// External joins that lost the epoch and retried.
    pub external_join_retries: u64,
    /// Members that left by SelfRemove and were removed.
    pub self_removes: u64,
    /// Members removed by the DS's proposal.
    pub server_removes: u64,
    /// Members removed by the committer's own Remove.
    #[serde(skip_serializing_if = "is_zero")]
    pub host_removes: u64,
    /// Update proposals committed.
    pub updates: u64,
    /// Application messages sent.
    pub application_messages: u64,
    /// Application messages decrypted by full members.
    pub application_decryptions: u64,
    /// Commits processed by full members.
    pub commits_processed: u64,
    /// Passive members materialized to act.
    pub materialized: u64,
    /// Churn events postponed because a commit was full.
    pub postponed: u64,
    /// Messages the DS rejected for a reason other than a lost race
    /// (should be 0: every member is honest).
    pub ds_rejections: u64,
    /// Errors of full members (should be 0).
    pub member_errors: u64,
    /// Partial members joined from an AnnotatedWelcome.
    #[serde(skip_serializing_if = "is_zero")]
    pub partial_joins: u64,
    /// Partial members removed (each learned it from an AnnotatedCommit).
    #[serde(skip_serializing_if = "is_zero")]
    pub partial_removes: u64,
    /// AnnotatedCommits processed by partial members.
    #[serde(skip_serializing_if = "is_zero")]
    pub partial_commits_processed: u64,
    /// AnnotatedCommits made by the committer's annotation (the DS makes
    /// the same ones).
    #[serde(skip_serializing_if = "is_zero")]
    pub partial_annotations: u64,
    /// Application messages read by partial members.
    #[serde(skip_serializing_if = "is_zero")]
    pub partial_decryptions: u64,
    /// Partial members that ended an epoch (or a join) on another epoch
    /// authenticator than the full members, or were removed without
    /// learning it (should be 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub partial_disagreements: u64,
    /// Errors of partial members, and annotations the DS could not make
    /// (should be 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub partial_errors: u64,
    /// DS annotations that differ from the committer's own for the same
    /// commit (should be 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub annotation_mismatches: u64,
    /// Soak mode only: joins skipped because they would have taken a group
    /// above its size band (see `sim::members::Balance`).
    #[serde(skip_serializing_if = "is_zero")]
    pub balance_skipped_joins: u64,
    /// Soak mode only: leaves skipped because they would have taken a group
    /// below its size band.
    #[serde(skip_serializing_if = "is_zero")]
    pub balance_skipped_leaves: u64,
}

/// Events of one DS node (scenarios with `[backend]`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct NodeCounters {
    /// Commits this node accepted (epochs it closed), build commits excluded.
    pub commits: u64,
    /// Commits this node answered `LostRace` (or `WrongEpoch`): another
    /// commit had closed the epoch.
    pub lost_races: u64,
    /// Of those, racing member commits whose winner went through another
    /// node: the race was decided in the shared store.
    pub lost_races_to_other_node: u64,
    /// Compare-and-set appends this node made to the store.
    pub store_appends: u64,
    /// Appends the store refused because another writer had moved the
    /// group's head (a commit or proposal of this node or another).
    pub store_conflicts: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// A timed media operation (nanosecond histograms: a frame takes about a
/// microsecond).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaOp {
    /// SFrame encryption of one audio frame.
    EncryptAudio,
    /// SFrame encryption of one video packet.
    EncryptVideo,
    /// SFrame decryption of one audio frame by one receiver.
    DecryptAudio,
    /// SFrame decryption of one video packet by one receiver.
    DecryptVideo,
    /// One member's media keys entering a new epoch (MLS exporter and
    /// SFrame key extraction; sender keys are derived on first use).
    EnterEpoch,
}

impl MediaOp {
    /// Every media operation, in report order.
    pub const ALL: [MediaOp; 5] = [
        MediaOp::EncryptAudio,
        MediaOp::EncryptVideo,
        MediaOp::DecryptAudio,
        MediaOp::DecryptVideo,
        MediaOp::EnterEpoch,
    ];

    /// Its key in report.json.
    pub fn key(self) -> &'static str {
        match self {
            MediaOp::EncryptAudio => "sframe_encrypt_audio",
            MediaOp::EncryptVideo => "sframe_encrypt_video",
            MediaOp::DecryptAudio => "sframe_decrypt_audio",
            MediaOp::DecryptVideo => "sframe_decrypt_video",
            MediaOp::EnterEpoch => "media_keys_enter_epoch",
        }
    }

    /// Its label in report.md.
    pub fn label(self) -> &'static str {
        match self {
            MediaOp::EncryptAudio => "SFrame encrypt, audio frame",
            MediaOp::EncryptVideo => "SFrame encrypt, video packet",
            MediaOp::DecryptAudio => "SFrame decrypt, audio frame",
            MediaOp::DecryptVideo => "SFrame decrypt, video packet",
            MediaOp::EnterEpoch => "media keys of a new epoch (per member)",
        }
    }
}

/// Media events counted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MediaCounters {
    /// Frames encrypted by speakers.
    pub frames_sent: u64,
    /// Frame decryptions that succeeded (one per receiver and frame).
    pub frames_decrypted: u64,
    /// Decryptions of frames delivered after their round's epoch changes.
    pub frames_late: u64,
    /// Of which the receiver had moved to a later epoch by then.
    pub frames_late_across_epochs: u64,
    /// Decryptions that failed because the frame's epoch keys were gone,
    /// with the scenario's retention window.
    pub frames_lost: u64,
    /// The same late frames tried on a ring without retention: failed.
    pub frames_lost_without_retention: u64,
    /// Any other failure (should be 0).
    pub errors: u64,
    /// Sender keys derived (lazily, on a sender's first frame of an epoch).
    pub sender_keys_derived: u64,
    /// SFrame receiving keys held at the end, all receivers.
    pub keys_held: u64,
    /// Epochs held by one receiver's ring at the end (the most).
    pub epochs_held: u64,
    /// Mean bytes of MLS state kept for retained epochs per full member at
    /// the end.
    pub mls_retained_bytes: u64,
}

impl MediaCounters {
    /// Adds `other`'s event counts.
    pub fn add(&mut self, other: &MediaCounters) {
        self.frames_sent += other.frames_sent;
        self.frames_decrypted += other.frames_decrypted;
        self.frames_late += other.frames_late;
        self.frames_late_across_epochs += other.frames_late_across_epochs;
        self.frames_lost += other.frames_lost;
        self.frames_lost_without_retention += other.frames_lost_without_retention;
        self.errors += other.errors;
    }
}

/// Tree health of one group after one epoch.
#[derive(Clone, Debug, Serialize)]
pub struct TreeSample {
    /// Committer policy of the run.
    pub policy: String,
    /// Group number.
    pub group: u32,
    /// Epoch.
    pub epoch: u64,
    /// Members.
    pub members: u32,
    /// Leaves (blank ones included).
    pub leaves: u32,
    /// Blank parent nodes.
    pub blank_parents: u32,
    /// Blank parents as a fraction of all parents.
    pub blank_parent_fraction: f64,
    /// Mean size of the resolution of a parent node (1 in a full tree).
    pub mean_resolution: f64,
    /// HPKE ciphertexts in this epoch's commit path.
    pub path_encryptions: u32,
}

/// Memory at one point of the run.
#[derive(Clone, Debug, Serialize)]
pub struct MemorySample {
    /// Seconds since the start.
    pub seconds: f64,
    /// Resident set size, bytes.
    pub rss_bytes: u64,
}

/// What the soak sampler follows per interval: the latency of creating a
/// commit (with or without Welcome), of a full member processing one, and
/// of one group's churn round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tracked {
    /// `create_commit` and `create_commit_with_welcome` together.
    Commit,
    /// `process_commit`.
    Process,
    /// One group's churn round, wall clock: proposals, the racing commits,
    /// every full member processing and merging, the Welcome joins, the
    /// external joins (one epoch each) and the application messages.
    Round,
}

impl Tracked {
    /// Every tracked measure, in report order.
    pub const ALL: [Tracked; 3] = [Tracked::Commit, Tracked::Process, Tracked::Round];

    /// Its key in report.json and the CSV header.
    pub fn key(self) -> &'static str {
        match self {
            Tracked::Commit => "commit",
            Tracked::Process => "process",
            Tracked::Round => "round",
        }
    }

    /// Its label in report.md.
    pub fn label(self) -> &'static str {
        match self {
            Tracked::Commit => "create commit",
            Tracked::Process => "process commit",
            Tracked::Round => "churn round (one group)",
        }
    }

    fn of(op: Op) -> Option<Tracked> {
        match op {
            Op::CreateCommit | Op::CreateCommitWithWelcome => Some(Tracked::Commit),
            Op::ProcessCommit => Some(Tracked::Process),
            _ => None,
        }
    }
}

#[derive(Debug, Default)]
struct Latencies {
    all: BTreeMap<Op, Histogram<u64>>,
    /// Soak mode: the tracked measures since the sampler last drained them.
    interval: Option<BTreeMap<Tracked, Histogram<u64>>>,
}

/// Everything measured, shared by the simulation's threads.
#[derive(Debug)]
pub struct Metrics {
    start: Instant,
    latencies: Mutex<Latencies>,
    wire: Mutex<BTreeMap<Wire, WireStats>>,
    /// Counters.
    pub counters: Mutex<Counters>,
    /// Tree-health series.
    pub tree: Mutex<Vec<TreeSample>>,
    /// RSS over time.
    pub memory: Mutex<Vec<MemorySample>>,
    /// First error messages of members or DS, for the report.
    pub errors: Mutex<Vec<String>>,
    /// Media counters (scenarios with `[media]`).
    pub media: Mutex<MediaCounters>,
    media_latencies: Mutex<BTreeMap<MediaOp, Histogram<u64>>>,
    /// Per DS node: events, and the store's append latency (µs).
    nodes: Mutex<Vec<(NodeCounters, Histogram<u64>)>>,
    /// Most tree and memory samples kept (0: all). A long (soak) run sets
    /// it so that these series stay bounded; see [`Metrics::bound_series`].
    series_cap: AtomicUsize,
    /// Tree samples are kept for epochs that are multiples of this.
    tree_stride: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Empty metrics; the clock starts now.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            latencies: Mutex::new(Latencies::default()),
            wire: Mutex::new(BTreeMap::new()),
            counters: Mutex::new(Counters::default()),
            tree: Mutex::new(Vec::new()),
            memory: Mutex::new(Vec::new()),
            errors: Mutex::new(Vec::new()),
            media: Mutex::new(MediaCounters::default()),
            media_latencies: Mutex::new(BTreeMap::new()),
            nodes: Mutex::new(Vec::new()),
            series_cap: AtomicUsize::new(0),
            tree_stride: AtomicU64::new(1),
        }
    }

    /// Soak mode: keeps at most about `cap` tree-health and memory samples
    /// however long the run (older samples are thinned out: the tree series
    /// keeps every 2nd, 4th, … epoch, the memory series every other
    /// sample), and starts the per-interval latency histograms that the
    /// sampler drains ([`Metrics::drain_interval`]).
    pub fn bound_series(&self, cap: usize) {
        self.series_cap.store(cap.max(2), Ordering::Relaxed);
        lock(&self.latencies).interval.get_or_insert_with(BTreeMap::new);
    }

    /// Records one latency.
    pub fn record(&self, op: Op, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX).max(1);
        let mut l = lock(&self.latencies);
        l.all.entry(op).or_insert_with(new_histogram).saturating_record(micros);
        if let (Some(interval), Some(t)) = (l.interval.as_mut(), Tracked::of(op)) {
            interval.entry(t).or_insert_with(new_histogram).saturating_record(micros);
        }
    }

    /// Soak mode: records one group's churn round (interval histograms only).
    pub fn record_round(&self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX).max(1);
        if let Some(interval) = lock(&self.latencies).interval.as_mut() {
            interval.entry(Tracked::Round).or_insert_with(new_histogram).saturating_record(micros);
        }
    }

    /// Soak mode: adds the interval histograms to `into` (created on first
    /// use), returns the interval's figures and starts a new interval.
    pub fn drain_interval(&self, into: &mut BTreeMap<Tracked, Histogram<u64>>) -> BTreeMap<Tracked, IntervalLatency> {
        let mut l = lock(&self.latencies);
        let mut out = BTreeMap::new();
        let Some(interval) = l.interval.as_mut() else { return out };
        for t in Tracked::ALL {
            let Some(h) = interval.get_mut(&t) else {
                out.insert(t, IntervalLatency::default());
                continue;
            };
            out.insert(t, IntervalLatency::of(h));
            let _ = into.entry(t).or_insert_with(new_histogram).add(&*h);
            h.reset();
        }
        out
    }

    /// Keeps a tree-health sample (thinned out under [`Metrics::bound_series`]).
    pub fn push_tree(&self, sample: TreeSample) {
        let cap = self.series_cap.load(Ordering::Relaxed);
        let mut v = lock(&self.tree);
        if cap == 0 {
            v.push(sample);
            return;
        }
        let stride = self.tree_stride.load(Ordering::Relaxed);
        if !sample.epoch.is_multiple_of(stride) {
            return;
        }
        v.push(sample);
        if v.len() > cap {
            let stride = stride * 2;
            v.retain(|s| s.epoch.is_multiple_of(stride));
            self.tree_stride.store(stride, Ordering::Relaxed);
        }
    }

    /// Runs `f`, recording how long it took.
    pub fn time<T>(&self, op: Op, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = f();
        self.record(op, t.elapsed());
        out
    }

    /// Records one message of `bytes` sent to the DS and delivered to
    /// `recipients`.
    pub fn wire(&self, kind: Wire, bytes: usize, recipients: usize) {
        let mut map = lock(&self.wire);
        let s = map.entry(kind).or_default();
        s.count += 1;
        s.bytes += bytes as u64;
        s.max_bytes = s.max_bytes.max(bytes as u64);
        s.fanout_bytes += (bytes * recipients) as u64;
    }

    /// Updates the counters.
    pub fn count(&self, f: impl FnOnce(&mut Counters)) {
        f(&mut lock(&self.counters));
    }

    /// Records one media latency, in nanoseconds.
    pub fn media_record(&self, op: MediaOp, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX).max(1);
        lock(&self.media_latencies).entry(op).or_insert_with(new_histogram).saturating_record(nanos);
    }

    /// Updates the media counters.
    pub fn media_count(&self, f: impl FnOnce(&mut MediaCounters)) {
        f(&mut lock(&self.media));
    }

    /// A copy of the media latency histograms (nanoseconds).
    pub fn media_latencies(&self) -> BTreeMap<MediaOp, Histogram<u64>> {
        lock(&self.media_latencies).clone()
    }

    /// Updates the counters of DS node `node`.
    pub fn node_count(&self, node: usize, f: impl FnOnce(&mut NodeCounters)) {
        let mut nodes = lock(&self.nodes);
        if nodes.len() <= node {
            nodes.resize_with(node + 1, || (NodeCounters::default(), new_histogram()));
        }
        f(&mut nodes[node].0);
    }

    /// Records one compare-and-set append of DS node `node` to its store.
    pub fn node_append(&self, node: usize, elapsed: Duration, conflict: bool) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX).max(1);
        let mut nodes = lock(&self.nodes);
        if nodes.len() <= node {
            nodes.resize_with(node + 1, || (NodeCounters::default(), new_histogram()));
        }
        let (c, h) = &mut nodes[node];
        c.store_appends += 1;
        c.store_conflicts += u64::from(conflict);
        h.saturating_record(micros);
    }

    /// A copy of the per-node counters and append histograms.
    pub fn nodes(&self) -> Vec<(NodeCounters, Histogram<u64>)> {
        lock(&self.nodes).clone()
    }

    /// Keeps an error message (the first 20).
    pub fn error(&self, message: String) {
        let mut e = lock(&self.errors);
        if e.len() < 20 {
            e.push(message);
        }
    }

    /// Samples the RSS now.
    pub fn sample_memory(&self) {
        if let Some(rss) = crate::profile::rss_bytes() {
            let cap = self.series_cap.load(Ordering::Relaxed);
            let mut v = lock(&self.memory);
            v.push(MemorySample { seconds: self.start.elapsed().as_secs_f64(), rss_bytes: rss });
            if cap > 0 && v.len() > cap {
                // Every other sample, the first and the last kept.
                let last = v.len() - 1;
                let mut i = 0;
                v.retain(|_| {
                    let keep = i % 2 == 0 || i == last;
                    i += 1;
                    keep
                });
            }
        }
    }

    /// Seconds since the start.
    pub fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// A copy of the latency histograms.
    pub fn latencies(&self) -> BTreeMap<Op, Histogram<u64>> {
        lock(&self.latencies).all.clone()
    }

    /// A copy of the wire statistics.
    pub fn wire_stats(&self) -> BTreeMap<Wire, WireStats> {
        lock(&self.wire).clone()
    }
}

/// Latency of one tracked measure over one soak interval, microseconds
/// (zeros when nothing was measured).
#[derive(Clone, Copy, Debug, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct IntervalLatency {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest.
    pub max: u64,
}

impl IntervalLatency {
    /// The figures of a histogram.
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        Self { count: h.len(), p50: h.value_at_quantile(0.5), p99: h.value_at_quantile(0.99), max: h.max() }
    }
}

/// An empty latency histogram, microseconds.
#[allow(clippy::expect_used)] // constant bounds that hdrhistogram accepts
pub fn new_histogram() -> Histogram<u64> {
    // 1 µs to 1 hour at 3 significant digits; `saturating_record` clamps.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// Locks, ignoring poisoning: a panicked simulation thread already fails
/// the run; the metrics it left are still worth reporting.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

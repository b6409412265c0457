//! Scenario files (TOML): what to simulate. Every field is documented in
//! the bundled `scenarios/default.toml`; unknown fields are errors, so a
//! typo is reported instead of silently ignored.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A complete scenario.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, used for the output folder.
    pub name: String,
    /// One line saying what it simulates.
    pub description: String,
    /// RFC 9420 cipher suite number (1–7).
    #[serde(default = "default_suite")]
    pub cipher_suite: u16,
    /// Seed of the churn and policy random streams.
    #[serde(default)]
    pub seed: u64,
    /// How many groups, how large, and how they are simulated.
    pub groups: Groups,
    /// How long the run lasts after the groups are built.
    pub duration: Duration,
    /// Membership and traffic churn, in expected events per epoch per group.
    #[serde(default)]
    pub churn: Churn,
    /// Who commits and how much a commit carries.
    #[serde(default)]
    pub policy: Policy,
    /// Media frames (SFrame, RFC 9605) sent by active speakers; none when
    /// absent.
    #[serde(default)]
    pub media: Option<Media>,
    /// The delivery service's nodes and their store; one node over an
    /// in-memory store when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<Backend>,
    /// What `--quick` shrinks the scenario to.
    #[serde(default)]
    pub quick: Quick,
}

fn default_suite() -> u16 {
    1
}

/// The groups of a scenario.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Groups {
    /// Number of groups run side by side.
    pub count: u32,
    /// Members of each group once it is built (2 to 100,000).
    pub members: u32,
    /// Members per group that process every message independently (the
    /// latency sample); the others are passive (see the README).
    #[serde(default = "default_full")]
    pub full_members: u32,
    /// Adds per commit while the creator builds the group.
    #[serde(default = "default_build_batch")]
    pub adds_per_build_commit: u32,
    /// Most partial members (draft-ietf-mls-partial) per group at once:
    /// Welcome joiners of the churn join as partial members from annotated
    /// Welcomes while there are fewer (see `sim/partial.rs`); 0 for none.
    #[serde(default)]
    pub partial_members: u32,
}

fn default_full() -> u32 {
    8
}

fn default_build_batch() -> u32 {
    1000
}

/// How long a run lasts: epochs per group, or wall-clock seconds, or both
/// (whichever ends first).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Duration {
    /// Epochs (commits) per group after the build.
    pub epochs: Option<u64>,
    /// Wall-clock seconds after the build.
    pub seconds: Option<f64>,
}

/// Expected events per epoch per group (each count drawn from a Poisson
/// distribution with this mean).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Churn {
    /// New members added by a member's commit and joining from its Welcome.
    #[serde(default)]
    pub welcome_joins: f64,
    /// New members joining by external commit (GroupInfo and tree from the DS).
    #[serde(default)]
    pub external_joins: f64,
    /// Members leaving by SelfRemove (draft-ietf-mls-extensions), committed
    /// by a remaining member.
    #[serde(default)]
    pub self_removes: f64,
    /// Members removed by the server (an external sender's Remove proposal).
    #[serde(default)]
    pub server_removes: f64,
    /// Members removed by the epoch's committer (a Remove in its commit:
    /// a host removing an attendee). Partial members first, as for
    /// `server_removes`.
    #[serde(default)]
    pub host_removes: f64,
    /// Members proposing an Update of their leaf.
    #[serde(default)]
    pub updates: f64,
    /// Application messages, each sent by a full member and decrypted by
    /// every other full member.
    #[serde(default)]
    pub application_messages: f64,
}

/// Media in every group: active speakers send SFrame frames keyed from
/// their MLS state while the meeting churns (see `sim/media.rs`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Media {
    /// Full members sending audio and video (the lowest leaves of the full
    /// set).
    pub speakers: u32,
    /// Meeting time one round (one or more epochs) stands for.
    #[serde(default = "default_epoch_interval")]
    pub epoch_interval_ms: u32,
    /// Frames sent in this last part of a round arrive after its epoch
    /// changes.
    #[serde(default = "default_in_flight")]
    pub in_flight_ms: u32,
    /// Audio frames per second per speaker.
    #[serde(default = "default_audio_fps")]
    pub audio_fps: u32,
    /// Bytes of one audio frame.
    #[serde(default = "default_audio_bytes")]
    pub audio_bytes: u32,
    /// Video packets per second per speaker.
    #[serde(default = "default_video_fps")]
    pub video_fps: u32,
    /// Bytes of one video packet.
    #[serde(default = "default_video_bytes")]
    pub video_bytes: u32,
    /// Past epochs whose SFrame keys (and MLS application keys) receivers
    /// keep; 0 turns retention off.
    #[serde(default = "default_retained_epochs")]
    pub retained_epochs: u32,
    /// How long a past epoch is kept, if bounded by time too.
    #[serde(default)]
    pub retention_ms: Option<u64>,
}

fn default_epoch_interval() -> u32 {
    2000
}
fn default_in_flight() -> u32 {
    100
}
fn default_audio_fps() -> u32 {
    50
}
fn default_audio_bytes() -> u32 {
    100
}
fn default_video_fps() -> u32 {
    30
}
fn default_video_bytes() -> u32 {
    1200
}
fn default_retained_epochs() -> u32 {
    4
}

/// Where the delivery service keeps its groups, and how many nodes share
/// them: each node is its own `Registry` with its own store connection,
/// all over one store, so commits of one group sent to different nodes
/// race in the store's compare-and-set append.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    /// The store the nodes share.
    pub store: StoreKind,
    /// DS nodes (1 to 8).
    #[serde(default = "default_nodes")]
    pub nodes: u32,
    /// How each request (commit, proposal, GroupInfo, …) picks its node.
    #[serde(default = "default_routing")]
    pub routing: Routing,
}

fn default_nodes() -> u32 {
    1
}
fn default_routing() -> Routing {
    Routing::Random
}

/// A store kind of `[backend]`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum StoreKind {
    /// One `MemoryStore` in the process, shared by the nodes.
    Memory,
    /// PostgreSQL (`throng_store::PgStore`, a pool per node), at the URL
    /// given by `--pg-url`, `THRONG_PG_URL` or `THRONG_TEST_PG_URL`.
    Postgres,
}

impl StoreKind {
    /// Its name in scenario files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Postgres => "postgres",
        }
    }
}

/// How a request picks its DS node.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Routing {
    /// A node drawn at random (seeded) for each request.
    Random,
    /// Each request to the node after the previous request's.
    Alternate,
}

impl Routing {
    /// Its name in scenario files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Random => "random",
            Self::Alternate => "alternate",
        }
    }
}

/// How a committer is chosen.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CommitterChoice {
    /// Uniformly random member (the naive policy).
    Random,
    /// Among `candidates` random members, the one whose direct path has the
    /// most blank nodes: its commit refills them (keeps the tree healthy).
    BlankAware,
}

impl CommitterChoice {
    /// Its name in scenario files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Random => "random",
            Self::BlankAware => "blank-aware",
        }
    }
}

/// The commit policy.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// How the committer of an epoch is chosen.
    #[serde(default = "default_choice")]
    pub committer: CommitterChoice,
    /// Members sampled when choosing a committer by blank count.
    #[serde(default = "default_candidates")]
    pub candidates: u32,
    /// Most proposals (and Adds) one commit carries; churn beyond it waits
    /// for the next epoch.
    #[serde(default = "default_max_proposals")]
    pub max_proposals_per_commit: u32,
    /// Members that try to commit each epoch; the DS accepts the first
    /// valid one, the others lose the race and retry in the next epoch.
    #[serde(default = "default_racers")]
    pub concurrent_committers: u32,
    /// Run the scenario twice on the same seed, once with `random` and once
    /// with `blank-aware` committers, and chart both tree-health series.
    #[serde(default)]
    pub compare_policies: bool,
}

fn default_choice() -> CommitterChoice {
    CommitterChoice::Random
}
fn default_candidates() -> u32 {
    32
}
fn default_max_proposals() -> u32 {
    32
}
fn default_racers() -> u32 {
    1
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            committer: default_choice(),
            candidates: default_candidates(),
            max_proposals_per_commit: default_max_proposals(),
            concurrent_committers: default_racers(),
            compare_policies: false,
        }
    }
}

/// What `--quick` shrinks a scenario to (unset fields use the defaults
/// below, never more than the full scenario).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Quick {
    /// Groups (default: at most 4).
    pub groups: Option<u32>,
    /// Members per group (default: at most 200).
    pub members: Option<u32>,
    /// Epochs (default: at most 10).
    pub epochs: Option<u64>,
    /// Partial members per group (default: at most 50).
    pub partial_members: Option<u32>,
}

/// The largest group a scenario may ask for.
pub const MAX_MEMBERS: u32 = 100_000;

/// A scenario that failed to load, with where.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid scenario.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong, naming the field.
        message: String,
    },
    /// No bundled scenario has this name.
    #[error("no bundled scenario named `{0}` (see `loadgen list`)")]
    UnknownBundled(String),
}

/// The scenarios shipped in `loadgen/scenarios/`, compiled in so that
/// `loadgen run` works from any directory.
pub const BUNDLED: &[(&str, &str)] = &[
    ("default", include_str!("../scenarios/default.toml")),
    ("meeting-1k", include_str!("../scenarios/meeting-1k.toml")),
    ("meeting-media-1k", include_str!("../scenarios/meeting-media-1k.toml")),
    ("webinar-10k", include_str!("../scenarios/webinar-10k.toml")),
    ("backend-1000x50", include_str!("../scenarios/backend-1000x50.toml")),
    ("stress-100k", include_str!("../scenarios/stress-100k.toml")),
    ("webinar-100k-partial", include_str!("../scenarios/webinar-100k-partial.toml")),
    ("backend-pg-2nodes", include_str!("../scenarios/backend-pg-2nodes.toml")),
];

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.len(), |i| before.len() - i - 1) + 1;
    (line, column)
}

/// The line of `key = ...` inside `[table]` (or at the top level when
/// `table` is empty), for errors found after parsing.
fn locate(text: &str, table: &str, key: &str) -> usize {
    let mut current = String::new();
    let mut table_line = 1;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.trim().to_string();
            if current == table {
                table_line = i + 1;
            }
            continue;
        }
        if current == table {
            if let Some((k, _)) = line.split_once('=') {
                if k.trim() == key {
                    return i + 1;
                }
            }
        }
    }
    table_line
}

impl Scenario {
    /// Parses and checks a scenario; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ScenarioError> {
        let scenario: Scenario = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            ScenarioError::Invalid { path: path.to_path_buf(), line, column, message: e.message().trim().to_string() }
        })?;
        scenario.check().map_err(|(table, key, message)| ScenarioError::Invalid {
            path: path.to_path_buf(),
            line: locate(text, table, key),
            column: 1,
            message: if table.is_empty() {
                format!("`{key}`: {message}")
            } else {
                format!("`{table}.{key}`: {message}")
            },
        })?;
        Ok(scenario)
    }

    /// Loads a scenario file, or a bundled scenario by name.
    pub fn load(name_or_path: &str) -> Result<Self, ScenarioError> {
        if let Some((name, text)) = BUNDLED.iter().find(|(n, _)| *n == name_or_path) {
            return Self::parse(text, Path::new(&format!("scenarios/{name}.toml")));
        }
        let path = Path::new(name_or_path);
        if !path.exists() && !name_or_path.contains(['/', '.']) {
            return Err(ScenarioError::UnknownBundled(name_or_path.to_string()));
        }
        let text =
            std::fs::read_to_string(path).map_err(|source| ScenarioError::Read { path: path.to_path_buf(), source })?;
        Self::parse(&text, path)
    }

    /// Range checks serde cannot express: (table, field, what is wrong).
    fn check(&self) -> Result<(), (&'static str, &'static str, String)> {
        let g = &self.groups;
        if !(1..=7).contains(&self.cipher_suite) {
            return Err((
                "",
                "cipher_suite",
                format!("{} is not an RFC 9420 cipher suite (1 to 7)", self.cipher_suite),
            ));
        }
        if g.count == 0 {
            return Err(("groups", "count", "must be at least 1".into()));
        }
        if !(2..=MAX_MEMBERS).contains(&g.members) {
            return Err(("groups", "members", format!("{} is outside 2..={MAX_MEMBERS}", g.members)));
        }
        if g.full_members == 0 || g.full_members > g.members {
            return Err((
                "groups",
                "full_members",
                format!("{} must be between 1 and members ({})", g.full_members, g.members),
            ));
        }
        if g.partial_members > g.members - g.full_members {
            return Err((
                "groups",
                "partial_members",
                format!(
                    "{} is more than the members that are not full ({})",
                    g.partial_members,
                    g.members - g.full_members
                ),
            ));
        }
        if g.adds_per_build_commit == 0 {
            return Err(("groups", "adds_per_build_commit", "must be at least 1".into()));
        }
        match (self.duration.epochs, self.duration.seconds) {
            (None, None) => return Err(("duration", "epochs", "set `epochs` or `seconds`".into())),
            (Some(0), _) => return Err(("duration", "epochs", "must be at least 1".into())),
            (_, Some(s)) if s.is_nan() || s <= 0.0 => return Err(("duration", "seconds", "must be positive".into())),
            _ => {}
        }
        let c = &self.churn;
        for (key, rate) in [
            ("welcome_joins", c.welcome_joins),
            ("external_joins", c.external_joins),
            ("self_removes", c.self_removes),
            ("server_removes", c.server_removes),
            ("host_removes", c.host_removes),
            ("updates", c.updates),
            ("application_messages", c.application_messages),
        ] {
            if !(0.0..=10_000.0).contains(&rate) {
                return Err(("churn", key, format!("{rate} is not a rate between 0 and 10000 per epoch")));
            }
        }
        if let Some(m) = &self.media {
            if m.speakers == 0 || m.speakers > g.full_members {
                return Err(("media", "speakers", format!("must be between 1 and full_members ({})", g.full_members)));
            }
            if m.epoch_interval_ms == 0 || m.in_flight_ms > m.epoch_interval_ms {
                return Err(("media", "in_flight_ms", "must not exceed a positive epoch_interval_ms".into()));
            }
            if m.audio_fps > 1000 || m.video_fps > 1000 || m.audio_bytes > 65_536 || m.video_bytes > 65_536 {
                return Err(("media", "audio_fps", "rates up to 1000/s and frames up to 64 KiB".into()));
            }
            // KIDs carry 4 epoch bits (the default layout): 15 past epochs at most.
            if m.retained_epochs > 15 {
                return Err(("media", "retained_epochs", "at most 15 (4 epoch bits in the KID)".into()));
            }
        }
        if let Some(b) = &self.backend {
            if !(1..=8).contains(&b.nodes) {
                return Err(("backend", "nodes", format!("{} is outside 1..=8", b.nodes)));
            }
        }
        let p = &self.policy;
        if p.max_proposals_per_commit == 0 {
            return Err(("policy", "max_proposals_per_commit", "must be at least 1".into()));
        }
        if p.concurrent_committers == 0 || p.concurrent_committers > 16 {
            return Err(("policy", "concurrent_committers", "must be between 1 and 16".into()));
        }
        if p.candidates == 0 {
            return Err(("policy", "candidates", "must be at least 1".into()));
        }
        Ok(())
    }

    /// The `--quick` version: fewer groups, members and epochs.
    pub fn quick(mut self) -> Self {
        let q = self.quick.clone();
        self.groups.count = q.groups.unwrap_or(4).min(self.groups.count).max(1);
        self.groups.members = q.members.unwrap_or(200).min(self.groups.members).max(2);
        self.groups.full_members = self.groups.full_members.min(self.groups.members).min(8);
        self.groups.partial_members = q
            .partial_members
            .unwrap_or(50)
            .min(self.groups.partial_members)
            .min(self.groups.members - self.groups.full_members);
        let epochs = q.epochs.unwrap_or(10);
        self.duration.epochs = Some(self.duration.epochs.map_or(epochs, |e| e.min(epochs)));
        self.duration.seconds = self.duration.seconds.map(|s| s.min(30.0));
        self
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bundled_scenarios_parse() {
        for (name, text) in BUNDLED {
            let s = Scenario::parse(text, Path::new(name)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(&s.name, name);
        }
    }

    #[test]
    fn errors_name_field_and_line() {
        let text = "name = \"x\"\ndescription = \"d\"\n[groups]\ncount = 1\nmembers = 7\nfull_memberz = 2\n[duration]\nepochs = 3\n";
        let e = Scenario::parse(text, Path::new("x.toml")).unwrap_err().to_string();
        assert!(e.starts_with("x.toml:6:"), "{e}");
        assert!(e.contains("full_memberz"), "{e}");

        let text = "name = \"x\"\ndescription = \"d\"\n[groups]\ncount = 1\nmembers = 200000\n[duration]\nepochs = 3\n";
        let e = Scenario::parse(text, Path::new("x.toml")).unwrap_err().to_string();
        assert!(e.starts_with("x.toml:5:"), "{e}");
        assert!(e.contains("groups.members"), "{e}");

        let text =
            "name = \"x\"\ndescription = \"d\"\n[groups]\ncount = \"one\"\nmembers = 7\n[duration]\nepochs = 3\n";
        let e = Scenario::parse(text, Path::new("x.toml")).unwrap_err().to_string();
        assert!(e.starts_with("x.toml:4:"), "{e}");
    }
}

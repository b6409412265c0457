//! The measured scenarios, written once for every [`Peer`].
//!
//! Members are named by leaf index (RFC 9420 §7.7), in a group of `n` built by
//! the creator:
//!
//! * `A`, leaf 0, the creator;
//! * `B`, the committer of every `commit`, `add_one` and `remove_one` (a
//!   member other than the creator), at one of three positions
//!   ([`Committer`]): `first` (leaf 2), `middle` (leaf `n / 2`) or `last`
//!   (leaf `n - 1`);
//! * `C`, leaf 1, the member that processes those commits, and the joiner of
//!   `join`.
//!
//! Only these and the warmers below ever hold a state; the other members
//! are key packages whose clients are dropped once published, which is what
//! lets one process simulate a group of 100,000.
//!
//! **Cold** (`*_cold`): B and C as they join the freshly built group, whose
//! only non-blank parent nodes are the creator's direct path (the build commit
//! carries a path). B's UpdatePath is encrypted to the resolution of its
//! copath: every copath node off the creator's path is a blank parent whose
//! resolution is all its leaves. How many depends on where B sits: at
//! 10,000 members (width 16,384) `last` (leaf 9,999) encrypts to 1,808 nodes
//! (the creator's left-half root and the 1,807 other leaves of the right
//! half), `middle` (leaf 5,000) to 5,904, and `first` (leaf 2), whose copath
//! is blank everywhere above its neighbour's subtree, to 9,998: almost every
//! member. `first` is the cold case with a mostly blank copath.
//!
//! **Warm**: before measuring, one member in each of B's copath subtrees
//! (the subtree's leftmost leaf) joins and commits a self-update, from the
//! largest subtree down, skipping subtrees the creator's path already covers;
//! B and C process each. Then B commits once more and C processes it. After
//! this every node of B's copath is non-blank (or has a one-node resolution),
//! so B's UpdatePath is encrypted to one node per filtered-path node, as in
//! a long-lived group, rather than to ~n/2 leaves as on the cold tree. That
//! is the length of B's *filtered* direct path (§4.1.2), not log2(n): at
//! 10,000 members (14 levels) it is 8 nodes for `last`, whose copath
//! subtrees near the right edge of the tree are empty, and 14 for `first`
//! and `middle`. The warming commits cost about one cold commit in total;
//! the warmers' states are dropped after their commit.
//!
//! `remove_one` removes B's nearest neighbour ([`neighbour`]: its sibling
//! leaf, or leaf `B - 1` when B has none), so the removal blanks (almost)
//! only nodes B's own path rewrites: removing a far member
//! would blank nodes of B's copath and measure a partly cold tree. `add_one`
//! adds a fresh member (leaf `n` after a commit). Each commit pair (commit +
//! process) starts from its own copy ([`Peer::fork`], untimed) of B and C.
//!
//! **Repetitions.** A worker repeats each commit/process pair, each `build`
//! and (where the library can join twice with one client, [`Peer::rejoin`])
//! each `join` up to `reps` times, every repetition on fresh untimed copies,
//! and stops repeating an operation once its samples in this worker add up
//! to [`Config::rep_budget`]: sub-second operations get many samples, the
//! slow ones one per worker.
//!
//! **`state_bytes`**: heap bytes requested and not freed across C's `join`
//! (the Welcome and tree are borrowed, so the difference is what the new
//! member state holds), read from a counting global allocator; allocator
//! overhead is not included. An earlier, untimed join of B has already paid
//! any one-time initialization (thread pools, lazy statics).

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::metric::{Metric, Scenario};
use crate::peer::{Peer, PeerResult};

/// The scenario definitions, as printed with every report.
pub const DEFINITIONS: &str = "Definitions. Group of n: creator A = leaf 0; committer B (commit, \
add_one, remove_one) at leaf 2 (first), n/2 (middle) or n-1 (last); processor C = leaf 1 (process*, and the joiner of join). \
build: A creates the group and adds n-1 members in one commit with a path (key packages made \
beforehand, untimed); build_tree_in_welcome: the same build by another creator whose Welcome \
carries the ratchet tree in the GroupInfo (same key packages). join: C processes the Welcome with the ratchet tree delivered out of band. \
Every commit carries an UpdatePath; create + merge is timed, encoding included; process = decode, \
validate, merge. Handshake messages are PublicMessages; cipher suite 1. \
Cold (*_cold): B and C as they join the freshly built tree (only A's direct path is non-blank; \
B = first has an almost entirely blank copath and encrypts to ~n leaves). \
Warm: before measuring, the leftmost member of each of B's copath subtrees not covered by A's path \
joins and commits a self-update (largest subtree first), B and C process each; then B commits once \
and C processes it; every node on B's copath then has a one-node resolution. remove_one removes \
B's neighbour (its sibling leaf, else B-1: the removal does not blank B's copath); add_one adds a \
fresh member. Each commit/process pair starts from untimed copies of B and C; a worker repeats \
pairs, builds and (throng) joins on fresh copies up to --reps times within a time budget. \
state_bytes: heap bytes requested and not freed across C's join (counting global allocator over \
mimalloc; allocator overhead excluded; an untimed join ran before it). tree_bytes: the encoded \
ratchet tree; welcome_bytes: the encoded Welcome of build (without the tree); commit_bytes: the \
encoded self-update commit. server_process, server_process_cold: a delivery service that follows \
the group from B's signed GroupInfo and the tree (throng PublicGroup, mls-rs ExternalGroup, OpenMLS \
PublicGroup) decodes, validates as far as a non-member can (no confirmation or membership tag: \
it has no epoch secrets) and applies B's commit of commit / commit_cold, on an untimed copy of its \
view; server_build: the same for a build commit (n-1 Adds with a path), the service following the \
creator's one-member group. \
annotate_commit (throng only, Partial MLS): after each warm \
commit sample, a server holding its own copy of C's public state (the epoch before the commit) \
validates and merges the commit, untimed, taking the committer's proof in the tree before (one \
proof, as much as one recipient's); timed: the encoded AnnotatedCommits (draft-ietf-mls-partial; \
the bytes a server sends, CommitAnnotator::annotate_encoded) for \
every member but B and the 9 lowest other leaves (n - 10 recipients), on the rayon pool; \
annotate_commit_per_member is the same sample divided by n - 10. Its floor is zero primitives: \
every tree hash a proof carries is cached by a party that follows the group, so the work is \
copying (a proof of O(log n) nodes and hashes per recipient, and a copy of the commit). \
join_partial (throng only, Partial MLS): after join, a copy of A adds one more member D alone (untimed) and makes D's AnnotatedWelcome from its view (the one-entry Welcome with A's and D's membership proofs), as when an attendee joins a webinar of n; timed: D's PartialGroup::join (HPKE open, GroupInfo decryption and signature, the two proofs' hashes, path secrets, key schedule); state_bytes_partial: heap retained across it. process_partial (throng only): after annotate_commit, an untimed copy of C downgrades to a partial member and the server makes C's AnnotatedCommit; timed: PartialGroup::process_commit (the three proofs' hashes, signature, membership tag, one HPKE open, path secrets, key schedule, confirmation tag). Their floors count the same primitives. Each (run, scenario, implementation) runs in its own process.";

/// One line of a worker's report to the harness.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// An untimed setup phase begins.
    Phase {
        /// What the phase does.
        name: String,
    },
    /// A timed operation begins (the harness's time cap starts).
    Start {
        /// The operation.
        op: Metric,
    },
    /// A timed operation ended.
    Time {
        /// The operation.
        op: Metric,
        /// Its wall time.
        ms: f64,
        /// CPU time of all the worker's threads during it, where the OS
        /// tells ([`cpu_time`]); less sensitive than wall time to other load
        /// on the machine, larger than it when the operation runs in parallel
        /// (thread pools spinning while idle count too).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cpu_ms: Option<f64>,
    },
    /// A size was measured.
    Bytes {
        /// The size metric.
        op: Metric,
        /// Its value.
        bytes: u64,
    },
    /// An operation failed; the scenario goes on without what needs it.
    Fail {
        /// The operation.
        op: Metric,
        /// The library's error.
        error: String,
    },
    /// Setup failed: no further metric of the scenario can be had.
    SetupFailed {
        /// The phase that failed.
        phase: String,
        /// Why.
        error: String,
    },
}

/// What a scenario needs besides the peer.
pub struct Config {
    /// Group size `n` (at least 4).
    pub members: u32,
    /// The metrics to measure; others are only run when a wanted one needs them.
    pub wanted: Vec<Metric>,
    /// Live heap bytes, from a counting global allocator; without it
    /// `state_bytes` is reported as an error.
    pub heap_bytes: Option<fn() -> usize>,
    /// Test hook: this operation never returns (timed or as setup), to
    /// exercise the time caps.
    pub stall: Option<Metric>,
    /// Where B, the committer, sits.
    pub committer: Committer,
    /// Most samples of one operation per worker (at least 1).
    pub reps: usize,
    /// A worker stops repeating an operation once its samples add up to this.
    pub rep_budget: Duration,
}

/// Where the committer B sits in the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Committer {
    /// Leaf 2: on the cold tree its copath is blank above its neighbour.
    First,
    /// Leaf `n / 2`.
    Middle,
    /// Leaf `n - 1`.
    Last,
}

impl Committer {
    /// Every position, in report order.
    pub const ALL: [Committer; 3] = [Committer::First, Committer::Middle, Committer::Last];

    /// The name in the output.
    pub fn name(self) -> &'static str {
        match self {
            Committer::First => "first",
            Committer::Middle => "middle",
            Committer::Last => "last",
        }
    }

    /// B's leaf in a group of `n` (at least [`MIN_MEMBERS`]).
    pub fn leaf(self, n: u32) -> u32 {
        match self {
            Committer::First => 2,
            Committer::Middle => n / 2,
            Committer::Last => n - 1,
        }
    }
}

impl std::fmt::Display for Committer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Smallest group the scenarios support: A, B, C and the member `remove_one`
/// removes must be distinct.
pub const MIN_MEMBERS: u32 = 4;

/// Runs `scenario` against `peer`, reporting through `emit`.
pub fn run<P: Peer>(peer: &mut P, scenario: Scenario, config: &Config, emit: &mut dyn FnMut(Event)) {
    let mut runner = Runner { peer, config, emit, phase: String::new(), last: Duration::ZERO };
    let result = match scenario {
        Scenario::Join => runner.join_scenario(),
        Scenario::Cold => runner.commit_scenario(false),
        Scenario::Warm => runner.commit_scenario(true),
    };
    if let Err(error) = result {
        let phase = std::mem::take(&mut runner.phase);
        (runner.emit)(Event::SetupFailed { phase, error: error.to_string() });
    }
}

/// CPU time consumed so far by all threads of this process
/// (`CLOCK_PROCESS_CPUTIME_ID`), `None` where the OS does not tell.
pub fn cpu_time() -> Option<Duration> {
    cpu_time::ProcessTime::try_now().ok().map(|t| t.as_duration())
}

/// Leaf of B at the `last` position (the criterion benches' committer).
pub fn committer(n: u32) -> u32 {
    Committer::Last.leaf(n)
}

/// Leaf of C, the processor and joiner.
pub const PROCESSOR: u32 = 1;

/// Members that get no AnnotatedCommit in `annotate_commit`: the committer
/// and nine others (full members, say).
pub const ANNOTATION_SKIPPED: u32 = 10;

/// Leaf `remove_one` removes when B is [`committer`]`(n)`.
pub fn removed(n: u32) -> u32 {
    neighbour(committer(n), n)
}

/// The leaf `remove_one` removes when B is leaf `b`: B's sibling leaf if it
/// exists, else `b - 1`, so that the removal does not blank B's copath;
/// never A or C (for `b >= 2`).
pub fn neighbour(b: u32, n: u32) -> u32 {
    let sibling = b ^ 1;
    if sibling < n && sibling > PROCESSOR { sibling } else { b - 1 }
}

/// The warmers of `committer` in a group of `n`: the leftmost leaf of each of
/// its copath subtrees (RFC 9420 §4.1.2, Appendix C), from the root down,
/// leaving out empty subtrees, single leaves (a leaf is its own resolution)
/// and subtrees holding leaf 0, whose root the creator's build commit filled.
pub fn warmers(n: u32, committer: u32) -> Vec<u32> {
    let width = n.next_power_of_two();
    let levels = width.trailing_zeros();
    (1..levels)
        .rev()
        .filter_map(|k| {
            let size = 1u32 << k;
            let base = committer & !(2 * size - 1);
            let sibling = if committer & size != 0 { base } else { base + size };
            (sibling != 0 && sibling < n).then_some(sibling)
        })
        .collect()
}

struct Runner<'a, P: Peer> {
    peer: &'a mut P,
    config: &'a Config,
    emit: &'a mut dyn FnMut(Event),
    /// The setup phase in progress, named in a `SetupFailed`.
    phase: String,
    /// Wall time of the last successful timed operation.
    last: Duration,
}

/// The creator, every other member's key package, and the clients kept by leaf.
type Clients<P> = (<P as Peer>::Client, Vec<Vec<u8>>, Vec<(u32, <P as Peer>::Client)>);

/// What the commit scenarios start from.
struct Fixture<P: Peer> {
    welcome: Vec<u8>,
    tree: Vec<u8>,
    b: P::Member,
    c: P::Member,
    /// Clients of the warmers, by leaf, in warming order.
    warmers: Vec<(u32, P::Client)>,
    /// The key package `add_one` adds.
    newcomer: Vec<u8>,
}

impl<P: Peer> Runner<'_, P> {
    fn phase(&mut self, name: impl Into<String>) {
        self.phase = name.into();
        (self.emit)(Event::Phase { name: self.phase.clone() });
    }

    fn wanted(&self, m: Metric) -> bool {
        self.config.wanted.iter().any(|&w| w == m || w.needs(m))
    }

    /// Test hook (`--debug-stall`): never returns where `op` would run.
    fn stall_point(&self, op: Metric) {
        if self.config.stall == Some(op) {
            loop {
                std::thread::park();
            }
        }
    }

    /// Times `op`; on failure reports it and returns `None`.
    fn timed<T>(&mut self, op: Metric, f: impl FnOnce(&mut P) -> PeerResult<T>) -> Option<T> {
        (self.emit)(Event::Start { op });
        self.stall_point(op);
        let cpu_start = cpu_time();
        let start = Instant::now();
        let result = f(self.peer);
        let elapsed = start.elapsed();
        self.last = elapsed;
        let cpu = cpu_start.zip(cpu_time()).map(|(a, b)| b.saturating_sub(a));
        match result {
            Ok(value) => {
                (self.emit)(Event::Time {
                    op,
                    ms: elapsed.as_secs_f64() * 1e3,
                    cpu_ms: cpu.map(|c| c.as_secs_f64() * 1e3),
                });
                Some(value)
            }
            Err(error) => {
                (self.emit)(Event::Fail { op, error: error.to_string() });
                None
            }
        }
    }

    /// Whether to sample an operation again, `done` samples and `spent`
    /// wall time into this worker.
    fn again(&self, done: usize, spent: Duration) -> bool {
        done < self.config.reps && spent < self.config.rep_budget
    }

    fn bytes(&mut self, op: Metric, bytes: usize) {
        (self.emit)(Event::Bytes { op, bytes: bytes as u64 });
    }

    /// Checks that two members reached the same epoch state.
    fn same_epoch(&self, x: &P::Member, y: &P::Member) -> PeerResult<()> {
        if self.peer.epoch_authenticator(x)? == self.peer.epoch_authenticator(y)? {
            Ok(())
        } else {
            Err("members disagree on the epoch authenticator".into())
        }
    }

    fn expect_leaf(&self, member: &P::Member, leaf: u32) -> PeerResult<()> {
        let got = self.peer.leaf_index(member);
        if got == leaf { Ok(()) } else { Err(format!("member expected at leaf {leaf} is at leaf {got}").into()) }
    }

    /// Creates the creator and `n - 1` key packages; keeps the clients of
    /// `keep` (by leaf) and drops the others.
    fn clients(&mut self, keep: &[u32]) -> PeerResult<Clients<P>> {
        let n = self.config.members;
        self.phase(format!("{} key packages", n - 1));
        let (creator, _) = self.peer.client(0)?;
        let mut key_packages = Vec::with_capacity(n as usize - 1);
        let mut kept = Vec::with_capacity(keep.len());
        for leaf in 1..n {
            let (client, key_package) = self.peer.client(leaf)?;
            key_packages.push(key_package);
            if keep.contains(&leaf) {
                kept.push((leaf, client));
            }
        }
        Ok((creator, key_packages, kept))
    }

    fn take_client(kept: &mut Vec<(u32, P::Client)>, leaf: u32) -> PeerResult<P::Client> {
        let at = kept.iter().position(|(l, _)| *l == leaf).ok_or("client not kept")?;
        Ok(kept.swap_remove(at).1)
    }

    fn join_scenario(&mut self) -> PeerResult<()> {
        let n = self.config.members;
        let (creator, key_packages, kept) = self.clients(&[committer(n), PROCESSOR])?;
        let first_build = [Metric::Build, Metric::Join, Metric::WelcomeBytes, Metric::TreeBytes, Metric::StateBytes];
        if first_build.into_iter().any(|m| self.wanted(m)) {
            // Timed when wanted; otherwise (e.g. after a `build` ran past
            // the cap in an earlier attempt) a setup phase, so `join` can
            // still be had.
            self.phase("build");
            let (a, welcome) = if self.wanted(Metric::Build) {
                let first = self
                    .timed(Metric::Build, |p| p.build(creator, &key_packages))
                    .ok_or("the group could not be built")?;
                let (mut done, mut spent) = (1, self.last);
                while self.again(done, spent) {
                    self.phase("another creator, to build again");
                    let (creator, _) = self.peer.client(n + 10 + done as u32)?;
                    if self.timed(Metric::Build, |p| p.build(creator, &key_packages)).is_none() {
                        break;
                    }
                    (done, spent) = (done + 1, spent + self.last);
                }
                first
            } else {
                self.stall_point(Metric::Build);
                self.peer.build(creator, &key_packages)?
            };
            self.bytes(Metric::WelcomeBytes, welcome.len());
            self.phase("export the ratchet tree");
            let tree = self.peer.ratchet_tree(&a)?;
            self.bytes(Metric::TreeBytes, tree.len());
            if self.wanted(Metric::Join) {
                self.join_and_state(&a, &welcome, &tree, kept)?;
            }
        }

        if self.wanted(Metric::ServerBuild) {
            self.phase("another creator commits the build; the delivery service follows it from epoch 0");
            let (creator, _) = self.peer.client(n + 2000)?;
            let (server, commit) = self.peer.build_commit(creator, &key_packages)?;
            let (mut done, mut spent) = (0, Duration::ZERO);
            while done == 0 || self.again(done, spent) {
                self.phase("a copy of the delivery service's view for server_build");
                let mut copy = self.peer.fork_server(&server)?;
                if self.timed(Metric::ServerBuild, |p| p.server_process(&mut copy, &commit)).is_none() {
                    break;
                }
                (done, spent) = (done + 1, spent + self.last);
            }
        }

        if self.wanted(Metric::BuildTreeInWelcome) {
            self.phase("a creator whose groups send the tree in the Welcome");
            self.peer.tree_in_welcome();
            let (mut done, mut spent) = (0, Duration::ZERO);
            while done == 0 || self.again(done, spent) {
                self.phase("a creator whose groups send the tree in the Welcome");
                let (creator, _) = self.peer.client(n + 1000 + done as u32)?;
                if self.timed(Metric::BuildTreeInWelcome, |p| p.build(creator, &key_packages)).is_none() {
                    break;
                }
                (done, spent) = (done + 1, spent + self.last);
            }
        }
        Ok(())
    }

    /// `join` and `state_bytes`: B joins untimed, then C timed.
    fn join_and_state(
        &mut self,
        a: &P::Member,
        welcome: &[u8],
        tree: &[u8],
        mut kept: Vec<(u32, P::Client)>,
    ) -> PeerResult<()> {
        let n = self.config.members;
        let b_leaf = committer(n);

        self.phase("untimed join of B (one-time initialization)");
        let b_client = Self::take_client(&mut kept, b_leaf)?;
        let b = self.peer.join(b_client, welcome, tree)?;
        self.expect_leaf(&b, b_leaf)?;
        self.same_epoch(a, &b)?;

        self.phase("join of C");
        let c_client = Self::take_client(&mut kept, PROCESSOR)?;
        let spare = self.peer.rejoin(&c_client);
        let heap_before = self.config.heap_bytes.map(|heap| heap());
        let Some(c) = self.timed(Metric::Join, |p| p.join(c_client, welcome, tree)) else {
            return Ok(());
        };
        let first = self.last;
        match (self.config.heap_bytes, heap_before) {
            (Some(heap), Some(before)) => {
                let retained = heap().saturating_sub(before);
                self.bytes(Metric::StateBytes, retained);
            }
            _ => (self.emit)(Event::Fail { op: Metric::StateBytes, error: "no counting allocator installed".into() }),
        }
        self.phase("check C");
        self.expect_leaf(&c, PROCESSOR)?;
        self.same_epoch(a, &c)?;
        drop(c);
        // Repeated joins where the library can join twice with one client.
        let (mut done, mut spent) = (1, first);
        while let (Some(spare), true) = (&spare, self.again(done, spent)) {
            self.phase("the same client, to join again");
            let Some(client) = self.peer.rejoin(spare) else { break };
            if self.timed(Metric::Join, |p| p.join(client, welcome, tree)).is_none() {
                break;
            }
            (done, spent) = (done + 1, spent + self.last);
        }
        if self.wanted(Metric::JoinPartial) {
            self.join_partial(a)?;
        }
        Ok(())
    }

    /// `join_partial` and `state_bytes_partial`: a copy of A adds one more
    /// member, D, untimed, and makes its AnnotatedWelcome; D joins as a
    /// partial member (an attendee joining a webinar of n).
    fn join_partial(&mut self, a: &P::Member) -> PeerResult<()> {
        let n = self.config.members;
        self.phase("A adds D alone and annotates its Welcome");
        let (d, key_package) = self.peer.client(n + 2000)?;
        let (annotated, want) = match self.peer.add_for_partial_join(a, &key_package) {
            Ok(made) => made,
            Err(error) => {
                (self.emit)(Event::Fail { op: Metric::JoinPartial, error: error.to_string() });
                return Ok(());
            }
        };
        let spare = self.peer.rejoin(&d);
        let mut next = Some(d);
        let (mut done, mut spent) = (0, Duration::ZERO);
        while done == 0 || self.again(done, spent) {
            self.phase("partial join of D");
            let Some(client) = next.take().or_else(|| spare.as_ref().and_then(|s| self.peer.rejoin(s))) else {
                break;
            };
            self.peer.drop_partial();
            let heap_before = self.config.heap_bytes.map(|heap| heap());
            let Some(got) = self.timed(Metric::JoinPartial, |p| p.join_partial(client, &annotated)) else { break };
            (done, spent) = (done + 1, spent + self.last);
            let agrees = got == want;
            drop(got);
            if done == 1 {
                match (self.config.heap_bytes, heap_before) {
                    (Some(heap), Some(before)) => {
                        let retained = heap().saturating_sub(before);
                        self.bytes(Metric::StateBytesPartial, retained);
                    }
                    _ => {
                        let error = "no counting allocator installed".to_string();
                        (self.emit)(Event::Fail { op: Metric::StateBytesPartial, error });
                    }
                }
            }
            if !agrees {
                return Err("the partial member disagrees with A on the epoch authenticator".into());
            }
        }
        self.peer.drop_partial();
        Ok(())
    }

    /// Build and the joins of B and C (and, when warming, keeps the warmers' clients).
    fn fixture(&mut self, warm: bool) -> PeerResult<Fixture<P>> {
        let n = self.config.members;
        let b_leaf = self.config.committer.leaf(n);
        let warmer_leaves = if warm { warmers(n, b_leaf) } else { Vec::new() };
        let mut keep = vec![b_leaf, PROCESSOR];
        keep.extend(&warmer_leaves);
        let (creator, key_packages, mut kept) = self.clients(&keep)?;
        self.phase("newcomer key package");
        let (_newcomer, newcomer) = self.peer.client(n)?;

        self.phase("build");
        self.stall_point(Metric::Build);
        let (a, welcome) = self.peer.build(creator, &key_packages)?;
        drop(key_packages);
        let tree = self.peer.ratchet_tree(&a)?;

        self.phase("join of B");
        let b = self.peer.join(Self::take_client(&mut kept, b_leaf)?, &welcome, &tree)?;
        self.expect_leaf(&b, b_leaf)?;
        self.phase("join of C");
        let c = self.peer.join(Self::take_client(&mut kept, PROCESSOR)?, &welcome, &tree)?;
        self.expect_leaf(&c, PROCESSOR)?;
        self.same_epoch(&b, &c)?;
        drop(a);

        let mut warmers = Vec::with_capacity(warmer_leaves.len());
        for leaf in warmer_leaves {
            warmers.push((leaf, Self::take_client(&mut kept, leaf)?));
        }
        Ok(Fixture { welcome, tree, b, c, warmers, newcomer })
    }

    /// Warms B's copath as the module documentation describes.
    fn warm(&mut self, fixture: &mut Fixture<P>) -> PeerResult<()> {
        let mut commits: Vec<Vec<u8>> = Vec::new();
        for (leaf, client) in std::mem::take(&mut fixture.warmers) {
            self.phase(format!("warming: member {leaf} joins and catches up"));
            let mut warmer = self.peer.join(client, &fixture.welcome, &fixture.tree)?;
            self.expect_leaf(&warmer, leaf)?;
            for commit in &commits {
                self.peer.process(&mut warmer, commit)?;
            }
            self.phase(format!("warming: member {leaf} commits, B and C process"));
            let commit = self.peer.commit_update(&mut warmer)?;
            self.peer.process(&mut fixture.b, &commit)?;
            self.peer.process(&mut fixture.c, &commit)?;
            self.same_epoch(&warmer, &fixture.b)?;
            commits.push(commit);
        }
        self.phase("warming: B commits once, C processes");
        let commit = self.peer.commit_update(&mut fixture.b)?;
        self.peer.process(&mut fixture.c, &commit)?;
        self.same_epoch(&fixture.b, &fixture.c)
    }

    /// `annotate_commit` of `commit`, made in the epoch `c` is in (see
    /// [`DEFINITIONS`]); the wall time it took.
    fn annotate(&mut self, c: &P::Member, commit: &[u8]) -> Duration {
        let n = self.config.members;
        let b = self.config.committer.leaf(n);
        let recipients: Vec<u32> = (0..n).filter(|&l| l != b).skip(ANNOTATION_SKIPPED as usize - 1).collect();
        self.phase("a server follows the commit for annotate_commit");
        if let Err(error) = self.peer.prepare_annotations(c, commit) {
            (self.emit)(Event::Fail { op: Metric::AnnotateCommit, error: error.to_string() });
            return Duration::ZERO;
        }
        let Some(made) = self.timed(Metric::AnnotateCommit, |p| p.annotate_commit(&recipients)) else {
            return Duration::ZERO;
        };
        if made != recipients.len() || made == 0 {
            let error = format!("{made} AnnotatedCommits for {} recipients", recipients.len());
            (self.emit)(Event::Fail { op: Metric::AnnotateCommitPerMember, error });
            return self.last;
        }
        let ms = self.last.as_secs_f64() * 1e3 / made as f64;
        (self.emit)(Event::Time { op: Metric::AnnotateCommitPerMember, ms, cpu_ms: None });
        self.last
    }

    /// `process_partial`: C, as a partial member, processes the
    /// AnnotatedCommit the server prepared by [`Self::annotate`] made for
    /// it, and lands on B's epoch; the wall time it took.
    fn process_partial(&mut self, b: &P::Member, c: &P::Member) -> Duration {
        self.phase("C as a partial member, and its AnnotatedCommit");
        if let Err(error) = self.peer.prepare_partial_process(c) {
            (self.emit)(Event::Fail { op: Metric::ProcessPartial, error: error.to_string() });
            return Duration::ZERO;
        }
        let Some(got) = self.timed(Metric::ProcessPartial, |p| p.process_partial()) else {
            return Duration::ZERO;
        };
        if self.peer.epoch_authenticator(b).ok() != Some(got) {
            let error = "the partial member disagrees with B on the epoch authenticator".to_string();
            (self.emit)(Event::Fail { op: Metric::ProcessPartial, error });
        }
        self.last
    }

    fn commit_scenario(&mut self, warm: bool) -> PeerResult<()> {
        let mut fixture = self.fixture(warm)?;
        if warm {
            self.warm(&mut fixture)?;
        }
        let pick = |warm_metric: Metric, cold_metric: Metric| if warm { warm_metric } else { cold_metric };
        let n = self.config.members;
        let pairs = [
            (Op::Update, pick(Metric::Commit, Metric::CommitCold), pick(Metric::Process, Metric::ProcessCold)),
            (Op::Add, pick(Metric::AddOne, Metric::AddOneCold), pick(Metric::ProcessAdd, Metric::ProcessAddCold)),
            (
                Op::Remove,
                pick(Metric::RemoveOne, Metric::RemoveOneCold),
                pick(Metric::ProcessRemove, Metric::ProcessRemoveCold),
            ),
        ];
        let removed = neighbour(self.config.committer.leaf(n), n);
        let server_metric = pick(Metric::ServerProcess, Metric::ServerProcessCold);
        let server = if self.wanted(server_metric) {
            self.phase("the delivery service follows the group from B's GroupInfo");
            Some(self.peer.observe(&fixture.b)?)
        } else {
            None
        };
        for (op, commit_metric, process_metric) in pairs {
            if !self.wanted(commit_metric) {
                continue;
            }
            let (mut done, mut spent) = (0, Duration::ZERO);
            while done == 0 || self.again(done, spent) {
                done += 1;
                self.phase(format!("copies of B and C for {commit_metric}"));
                let mut b = self.peer.fork(&fixture.b)?;
                let mut c = self.peer.fork(&fixture.c)?;
                let newcomer = &fixture.newcomer;
                let Some(commit) = self.timed(commit_metric, |p| match op {
                    Op::Update => p.commit_update(&mut b),
                    Op::Add => p.commit_add(&mut b, newcomer),
                    Op::Remove => p.commit_remove(&mut b, removed),
                }) else {
                    break;
                };
                spent += self.last;
                if done == 1 && commit_metric == Metric::Commit {
                    self.bytes(Metric::CommitBytes, commit.len());
                } else if done == 1 && commit_metric == Metric::CommitCold {
                    self.bytes(Metric::CommitBytesCold, commit.len());
                }
                if matches!(op, Op::Update) && warm && self.wanted(Metric::AnnotateCommit) {
                    spent += self.annotate(&c, &commit);
                }
                if matches!(op, Op::Update) && warm && self.wanted(Metric::ProcessPartial) {
                    spent += self.process_partial(&b, &c);
                }
                if self.wanted(process_metric) {
                    if self.timed(process_metric, |p| p.process(&mut c, &commit)).is_none() {
                        break;
                    }
                    spent += self.last;
                    if let Err(error) = self.same_epoch(&b, &c) {
                        (self.emit)(Event::Fail { op: process_metric, error: error.to_string() });
                        break;
                    }
                }
                if let (Op::Update, Some(server)) = (op, &server) {
                    self.phase(format!("a copy of the delivery service's view for {server_metric}"));
                    let mut copy = self.peer.fork_server(server)?;
                    if self.timed(server_metric, |p| p.server_process(&mut copy, &commit)).is_none() {
                        break;
                    }
                    spent += self.last;
                }
            }
        }
        Ok(())
    }
}

/// The commit operations the scenarios measure.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Op {
    /// An empty commit with a path (`commit`, `process`).
    Update,
    /// Adding the newcomer (`add_one`, `process_add`).
    Add,
    /// Removing B's neighbour (`remove_one`, `process_remove`).
    Remove,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmers_cover_the_committer_copath() {
        // n = 8, B = 7: copath subtrees {6}, {4,5}, {0..3}; {0..3} holds the creator.
        assert_eq!(warmers(8, 7), vec![4]);
        // n = 1000 (width 1024), B = 999.
        let w = warmers(1000, 999);
        assert_eq!(w, vec![512, 768, 896, 960, 992, 996]);
        // Subtrees beyond the last leaf are empty and skipped.
        assert_eq!(warmers(9, 8), Vec::<u32>::new());
        assert!(warmers(100_000, 99_999).len() <= 16);
        for w in warmers(100_000, 99_999) {
            assert!(w > PROCESSOR && w != removed(100_000) && w < 99_999);
        }
        // Every position, every size: no warmer is A, C, B or the removed leaf.
        for n in [4, 5, 37, 100, 1000, 10_000, 100_000] {
            for position in Committer::ALL {
                let b = position.leaf(n);
                let r = neighbour(b, n);
                assert!(r > PROCESSOR && r < n && r != b, "n = {n}, {position}");
                for w in warmers(n, b) {
                    assert!(w > PROCESSOR && w != r && w != b && w < n, "n = {n}, {position}: {w}");
                }
            }
        }
    }
}

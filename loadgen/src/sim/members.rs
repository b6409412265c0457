//! One simulated group: its members and what they do each epoch.
//!
//! # Full and passive members
//!
//! Every member has a leaf in the group's real ratchet tree, created from a
//! real KeyPackage, and keeps its own identity (credential and signature
//! key pair). Two kinds:
//!
//! - **Full** members (`groups.full_members` per group: the creator, the
//!   last members of the build, then joiners refilling the set) hold a
//!   complete [`Group`] and process every proposal, commit and application
//!   message independently: every latency of processing in the report is
//!   theirs. They share one public tree (`Arc`): each stages a commit on its
//!   own (validation, HPKE decryption, path and tree hashes, key schedule),
//!   then, having computed the new tree hash itself, adopts the committer's
//!   merged tree (`merge_staged_commit_sharing`) rather than writing the
//!   same diff into a private copy.
//! - **Passive** members hold only their identity. When one is chosen to
//!   act (commit, propose an Update, leave by SelfRemove), its state is
//!   built from a full member of the same epoch (`Group::materialize`: the
//!   epoch secrets and cached proposals every member shares, its own
//!   identity), it acts with real cryptography, and the state is dropped.
//!   Its commit replaces its whole direct path, so no key of its own path
//!   is needed. Passive members do not process messages.
//!
//! Joiners do join for real (Welcome or external commit, with full tree
//! validation); they become full members while the full set is below its
//! size, passive otherwise.
//!
//! With `groups.partial_members`, Welcome joiners join as **partial**
//! members (`sim/partial.rs`) while that set is below its size: they hold
//! no tree, follow the group through the DS's AnnotatedCommits, never act,
//! and leave when a host or the DS removes them.

use std::sync::Arc;

use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use throng::crypto::{CipherSuite, CryptoProvider};
use throng::internals::codec::Encode;
use throng::internals::group::{
    CommitOptions, EpochRetention, Group, GroupConfig, Identity, KeyPackageBundle, PendingCommit, Processed, PskStore,
};
use throng::internals::tree_math::LeafIndex;
use throng::messages::content::{FramedContentBody, MlsMessage, MlsMessageBody, PrivateMessage};
use throng::messages::{Add, GroupInfo, Proposal, RatchetTreeExtension as RatchetTreeExt, Welcome};
use throng::partial::{AnnotatedWelcome, CommitAnnotator, SenderAuthenticatedMessage};

use crate::metrics::{Metrics, Op, TreeSample, Wire};
use crate::scenario::{Churn, CommitterChoice, Media, Policy};

use super::churn::{Balance, Plan, next_plan};
use super::ds::Annotations;
use super::media::MediaSim;
use super::partial::PartialSet;
use super::policy::{choose_committers, health};

/// A member's slot at its leaf.
#[derive(Debug)]
struct Slot {
    identity: Identity,
    /// `Some` for full members.
    group: Option<Box<Group>>,
}

/// A commit a member created for this epoch.
#[derive(Debug)]
pub struct Candidate {
    /// The committer's leaf.
    pub leaf: LeafIndex,
    group: Box<Group>,
    /// Whether the committer is a full member.
    full: bool,
    /// The commit (message, Welcome, GroupInfo).
    pub pending: PendingCommit,
}

/// What an epoch's preparation produced.
#[derive(Debug, Default)]
pub struct Prepared {
    /// The epoch's events.
    pub plan: Plan,
    /// Member proposals to send: message and the sender's leaf.
    pub proposals: Vec<(MlsMessage, LeafIndex)>,
    /// Leaves the DS is asked to remove.
    pub server_removes: Vec<LeafIndex>,
    /// Members that will commit (racing).
    pub committers: Vec<LeafIndex>,
    /// How many of `proposals` are self-removals.
    pub self_removes: usize,
    /// Leaves the committer removes in its commit.
    pub host_removes: Vec<LeafIndex>,
    /// Joiners' KeyPackages, to be added by the commit.
    pub joiners: Vec<KeyPackageBundle>,
}

/// One simulated group.
pub struct GroupSim {
    /// Group number in the run.
    pub index: u32,
    /// Its id.
    pub group_id: Vec<u8>,
    cs: CipherSuite,
    provider: Arc<dyn CryptoProvider>,
    config: GroupConfig,
    slots: Vec<Option<Slot>>,
    full: Vec<u32>,
    full_target: usize,
    churn: Churn,
    policy: Policy,
    choice: CommitterChoice,
    plan_rng: ChaCha8Rng,
    actor_rng: ChaCha8Rng,
    committer_rng: ChaCha8Rng,
    backlog: Plan,
    balance: Option<Balance>,
    names: u64,
    /// Epochs since the build.
    pub epochs: u64,
    metrics: Arc<Metrics>,
    policy_name: String,
    /// Media frames across epoch changes (scenarios with `[media]`).
    media: Option<MediaSim>,
    /// Partial members (scenarios with `groups.partial_members`).
    partial: PartialSet,
}

fn rng(seed: u64, group: u32, stream: u64) -> ChaCha8Rng {
    use rand::SeedableRng;
    let mut r = ChaCha8Rng::seed_from_u64(seed ^ (u64::from(group) << 20));
    r.set_stream(stream);
    r
}

fn welcome_of(message: &MlsMessage) -> Option<&Welcome> {
    match &message.body {
        MlsMessageBody::Welcome(w) => Some(w),
        _ => None,
    }
}

/// HPKE ciphertexts in a commit's UpdatePath.
pub fn path_encryptions(message: &MlsMessage) -> u32 {
    match &message.body {
        MlsMessageBody::PublicMessage(m) => match &m.content.body {
            FramedContentBody::Commit(c) => {
                c.path.as_ref().map_or(0, |p| p.nodes.iter().map(|n| n.encrypted_path_secret.len() as u32).sum())
            }
            _ => 0,
        },
        _ => 0,
    }
}

/// Everything a group needs to be set up.
pub struct Setup {
    /// Group number.
    pub index: u32,
    /// Cipher suite.
    pub cs: CipherSuite,
    /// Full members kept.
    pub full: u32,
    /// Churn rates.
    pub churn: Churn,
    /// Commit policy.
    pub policy: Policy,
    /// Committer choice of this run.
    pub choice: CommitterChoice,
    /// Scenario seed.
    pub seed: u64,
    /// The DS's signing identity, listed as the group's external sender.
    pub ds_sender: throng::messages::registered_extensions::ExternalSender,
    /// The pool for the engine's parallel work.
    pub pool: Arc<rayon::ThreadPool>,
    /// Soak mode: the size band the group is kept in.
    pub balance: Option<Balance>,
    /// Media frames, if the scenario has them.
    pub media: Option<Media>,
    /// Most partial members at once.
    pub partial: u32,
}

impl GroupSim {
    /// Creates the group (one member: the creator).
    pub fn create(setup: &Setup, metrics: Arc<Metrics>) -> Result<Self, String> {
        use throng::messages::ProposalType;
        use throng::messages::registered_extensions::{ExtensionData, ExternalSenders, RequiredCapabilities};
        let provider: Arc<dyn CryptoProvider> = Arc::new(throng::crypto::AwsLcProvider);
        let config = GroupConfig {
            pool: Some(setup.pool.clone()),
            // Joiners get the tree from the DS, as at scale a tree in every
            // Welcome and GroupInfo would dominate the bytes on the wire.
            ratchet_tree_in_welcome: false,
            // The committer publishes each epoch's GroupInfo to the DS for
            // external joiners.
            group_info_with_commit: true,
            // With media, MLS keeps the same window of past epochs as the
            // SFrame keys (application messages in flight decrypt too).
            retention: setup.media.as_ref().map_or_else(EpochRetention::default, |m| {
                EpochRetention::new(m.retained_epochs as usize, m.retention_ms.map(std::time::Duration::from_millis))
            }),
            ..GroupConfig::default()
        };
        let group_id = format!("group-{}", setup.index).into_bytes();
        let identity =
            Identity::basic(&*provider, setup.cs, format!("g{}-creator", setup.index)).map_err(|e| e.to_string())?;
        // Members leave by SelfRemove; requiring it (every throng client
        // supports it) spares receivers a look at every leaf's capabilities
        // for each one (RFC 9420 §12.2, draft-ietf-mls-extensions).
        let required =
            RequiredCapabilities { proposal_types: vec![ProposalType::SELF_REMOVE], ..RequiredCapabilities::default() };
        let extensions = vec![ExternalSenders(vec![setup.ds_sender.clone()]).to_extension(), required.to_extension()];
        let group = Group::create_with_provider(
            provider.clone(),
            setup.cs,
            &identity,
            group_id.clone(),
            extensions,
            config.clone(),
        )
        .map_err(|e| format!("create group: {e}"))?;
        Ok(Self {
            index: setup.index,
            group_id,
            cs: setup.cs,
            provider,
            config,
            slots: vec![Some(Slot { identity, group: Some(Box::new(group)) })],
            full: vec![0],
            full_target: setup.full as usize,
            churn: setup.churn.clone(),
            policy: setup.policy.clone(),
            choice: setup.choice,
            plan_rng: rng(setup.seed, setup.index, 1),
            actor_rng: rng(setup.seed, setup.index, 2),
            committer_rng: rng(setup.seed, setup.index, 3),
            backlog: Plan::default(),
            balance: setup.balance,
            names: 0,
            epochs: 0,
            metrics,
            policy_name: setup.choice.name().to_string(),
            media: setup.media.clone().map(MediaSim::new),
            partial: PartialSet::new(setup.partial as usize),
        })
    }

    /// Records into `metrics` from now on (the churn phase after the build).
    pub fn set_metrics(&mut self, metrics: Arc<Metrics>) {
        self.metrics = metrics;
    }

    /// The creator's GroupInfo with the tree, to register the group at the DS.
    pub fn initial_group_info(&self) -> Result<GroupInfo, String> {
        self.donor().group_info(true, true).map_err(|e| e.to_string())
    }

    fn donor(&self) -> &Group {
        // `full` is never empty: the last full member is never removed.
        let leaf = self.full[0] as usize;
        match self.slots.get(leaf).and_then(|s| s.as_ref()).and_then(|s| s.group.as_deref()) {
            Some(g) => g,
            None => unreachable!("full member {leaf} has no group"),
        }
    }

    fn full_group_mut(&mut self, leaf: u32) -> Option<&mut Group> {
        self.slots.get_mut(leaf as usize)?.as_mut()?.group.as_deref_mut()
    }

    /// The full members' groups, by leaf.
    fn full_groups(&self) -> impl Iterator<Item = (u32, &Group)> + '_ {
        self.full.iter().filter_map(|&l| Some((l, &**self.slots.get(l as usize)?.as_ref()?.group.as_ref()?)))
    }

    /// The epoch, epoch authenticator and tree hash every full member is
    /// on (a fork check: they must agree), or where two differ.
    pub fn agreement(&self) -> Result<(u64, Vec<u8>, Vec<u8>), String> {
        let mut first: Option<(u32, u64, &[u8], &[u8])> = None;
        for (leaf, g) in self.full_groups() {
            let here = (g.epoch(), g.epoch_authenticator(), g.tree().root_hash());
            match first {
                None => first = Some((leaf, here.0, here.1, here.2)),
                Some((l, e, a, t)) if (e, a, t) != here => {
                    return Err(format!(
                        "full members {l} and {leaf} differ (epochs {e} and {}{})",
                        here.0,
                        if a != here.1 { ", epoch authenticators differ" } else { ", tree hashes differ" }
                    ));
                }
                Some(_) => {}
            }
        }
        first.map(|(_, e, a, t)| (e, a.to_vec(), t.to_vec())).ok_or_else(|| "no full member left".to_string())
    }

    /// Media of one round's interval: every full member's SFrame keys
    /// follow its epoch, the speakers send, the frames not in flight are
    /// decrypted (see `sim/media.rs`).
    pub fn media_send(&mut self) {
        let Some(mut media) = self.media.take() else { return };
        media.sync(self.full_groups(), &self.metrics);
        media.send_interval(self.epochs, &self.metrics);
        self.media = Some(media);
    }

    /// After the round's epoch changes: keys follow, then the frames that
    /// were in flight arrive.
    pub fn media_deliver_late(&mut self) {
        let Some(mut media) = self.media.take() else { return };
        media.sync(self.full_groups(), &self.metrics);
        media.deliver_late(&self.metrics);
        self.media = Some(media);
    }

    /// End of the run: what the media keys and MLS retention hold.
    pub fn media_summary(&mut self) {
        let Some(media) = self.media.as_ref() else { return };
        let (keys, epochs) = media.held();
        let derived = media.derived_keys();
        let retained: Vec<usize> = self.full_groups().map(|(_, g)| g.retained_state_len()).collect();
        let mean = retained.iter().sum::<usize>() / retained.len().max(1);
        self.metrics.media_count(|m| {
            m.keys_held += keys as u64;
            m.epochs_held = m.epochs_held.max(epochs as u64);
            m.sender_keys_derived += derived;
            m.mls_retained_bytes = m.mls_retained_bytes.max(mean as u64);
        });
    }

    /// Current members.
    pub fn member_count(&self) -> u32 {
        self.donor().member_count()
    }

    /// Full members now.
    pub fn full_count(&self) -> usize {
        self.full.len()
    }

    /// Generates `n` KeyPackages in parallel (timed each).
    pub fn key_packages(&mut self, n: usize) -> Result<Vec<KeyPackageBundle>, String> {
        let first = self.names;
        self.names += n as u64;
        let (cs, index, provider, metrics) = (self.cs, self.index, self.provider.clone(), self.metrics.clone());
        self.config.pool.clone().map_or_else(
            || Err("no pool".to_string()),
            |pool| {
                pool.install(|| {
                    (first..first + n as u64)
                        .into_par_iter()
                        .map(|i| {
                            metrics.time(Op::GenerateKeyPackage, || {
                                let id = Identity::basic(&*provider, cs, format!("g{index}-m{i}"))?;
                                KeyPackageBundle::generate(&*provider, cs, &id)
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| format!("key package: {e}"))
                })
            },
        )
    }

    /// The creator adds `batch` (the build): creates and merges the commit.
    pub fn build_commit(&mut self, batch: &[KeyPackageBundle]) -> Result<PendingCommit, String> {
        let adds: Vec<Proposal> =
            batch.iter().map(|b| Proposal::Add(Add { key_package: b.key_package.clone() })).collect();
        let metrics = self.metrics.clone();
        let creator = self.full_group_mut(0).ok_or("creator missing")?;
        let pending = metrics
            .time(Op::CreateCommitWithWelcome, || creator.commit(CommitOptions::with_proposals(adds)))
            .map_err(|e| format!("build commit: {e}"))?;
        Ok(pending)
    }

    /// Installs an accepted build commit: the creator merges, existing full
    /// members follow, `batch` gets leaves; members of `batch` marked in
    /// `full` join from the Welcome with `tree`.
    pub fn apply_build_commit(
        &mut self,
        pending: PendingCommit,
        batch: Vec<KeyPackageBundle>,
        joining: usize,
        tree: Option<&RatchetTreeExt>,
    ) -> Result<(), String> {
        let message = pending.message.clone();
        let welcome = pending.welcome.clone();
        let added: Vec<LeafIndex> = pending.applied().added.iter().map(|(l, _)| *l).collect();
        let metrics = self.metrics.clone();
        {
            let creator = self.full_group_mut(0).ok_or("creator missing")?;
            metrics.time(Op::MergeOwnCommit, || creator.merge_pending_commit(pending)).map_err(|e| e.to_string())?;
        }
        metrics.wire(Wire::Commit, message.to_bytes().len(), self.full.len());
        // Full members other than the creator follow (build commits are not
        // in the latency figures: they carry thousands of Adds).
        let others: Vec<u32> = self.full.iter().copied().filter(|&l| l != 0).collect();
        self.process_on_full(&others, &message, 0, false)?;
        let width = added.iter().map(|l| l.0 + 1).max().unwrap_or(0) as usize;
        if self.slots.len() < width {
            self.slots.resize_with(width, || None);
        }
        if let Some(w) = &welcome {
            metrics.wire(Wire::Welcome, w.to_bytes().len(), batch.len());
        }
        let first_joining = batch.len().saturating_sub(joining);
        let joined = self.join_all(welcome.as_ref(), &batch[first_joining..], tree)?;
        let mut joined = joined.into_iter();
        for (i, (leaf, bundle)) in added.iter().zip(batch).enumerate() {
            let group = if i >= first_joining { joined.next() } else { None };
            self.place(*leaf, bundle.identity().clone(), group.map(Box::new));
        }
        Ok(())
    }

    /// Puts a member at `leaf`, full if it has a group and there is room.
    fn place(&mut self, leaf: LeafIndex, identity: Identity, group: Option<Box<Group>>) {
        let group = group.filter(|_| self.full.len() < self.full_target);
        if group.is_some() {
            self.full.push(leaf.0);
        }
        if self.slots.len() <= leaf.0 as usize {
            self.slots.resize_with(leaf.0 as usize + 1, || None);
        }
        self.slots[leaf.0 as usize] = Some(Slot { identity, group });
        // A joiner imported its own copy of the tree: drop it for the
        // shared one.
        self.share_trees();
    }

    /// Every full member adopts the first one's tree when equal.
    fn share_trees(&mut self) {
        let Some(&first) = self.full.first() else { return };
        let Some(donor) = self.slots[first as usize].as_mut().and_then(|s| s.group.take()) else { return };
        for &l in self.full.iter().skip(1) {
            if let Some(g) = self.slots[l as usize].as_mut().and_then(|s| s.group.as_deref_mut()) {
                g.share_tree_with(&donor);
            }
        }
        if let Some(s) = self.slots[first as usize].as_mut() {
            s.group = Some(donor);
        }
    }

    /// Joins each bundle from the Welcome (in parallel, timed).
    fn join_all(
        &self,
        welcome: Option<&MlsMessage>,
        bundles: &[KeyPackageBundle],
        tree: Option<&RatchetTreeExt>,
    ) -> Result<Vec<Group>, String> {
        if bundles.is_empty() {
            return Ok(Vec::new());
        }
        let welcome = welcome.and_then(welcome_of).ok_or("commit with Adds but no Welcome")?;
        let metrics = &self.metrics;
        bundles
            .par_iter()
            .map(|b| {
                metrics
                    .time(Op::Join, || {
                        Group::join(self.provider.clone(), self.config.clone(), welcome, b, tree, PskStore::default())
                    })
                    .map_err(|e| format!("join: {e}"))
            })
            .collect()
    }

    /// Full members in `leaves` process `message` (a commit by `committer`)
    /// and merge it, adopting `peer`'s tree when given; `timed` records
    /// their latencies. Removed full members leave the full set.
    fn process_on_full(
        &mut self,
        leaves: &[u32],
        message: &MlsMessage,
        committer: u32,
        timed: bool,
    ) -> Result<(), String> {
        let mut taken: Vec<(u32, Box<Group>)> =
            leaves.iter().filter_map(|&l| self.slots[l as usize].as_mut()?.group.take().map(|g| (l, g))).collect();
        let peer_leaf = committer;
        let peer: Option<Box<Group>> = self.slots.get_mut(peer_leaf as usize).and_then(|s| s.as_mut()?.group.take());
        let metrics = self.metrics.clone();
        let results: Vec<Result<bool, String>> = taken
            .par_iter_mut()
            .map(|(_, g)| {
                let t = std::time::Instant::now();
                let processed = g.process_message(message.clone()).map_err(|e| format!("process commit: {e}"))?;
                let Processed::Commit(staged) = processed else { return Err("expected a commit".into()) };
                if timed {
                    metrics.record(Op::ProcessCommit, t.elapsed());
                }
                let removed = staged.removes_self();
                let t = std::time::Instant::now();
                match &peer {
                    Some(p) => g.merge_staged_commit_sharing(*staged, p),
                    None => g.merge_staged_commit(*staged),
                }
                .map_err(|e| format!("merge: {e}"))?;
                if timed {
                    metrics.record(Op::MergeStagedCommit, t.elapsed());
                }
                Ok(removed)
            })
            .collect();
        if let (Some(p), Some(s)) = (peer, self.slots.get_mut(peer_leaf as usize).and_then(|s| s.as_mut())) {
            s.group = Some(p);
        }
        let mut error = None;
        for ((leaf, g), r) in taken.into_iter().zip(results) {
            match r {
                Ok(false) => {
                    if let Some(s) = self.slots[leaf as usize].as_mut() {
                        s.group = Some(g);
                    }
                }
                Ok(true) => {}
                Err(e) => {
                    // A full member that cannot follow is dropped (counted);
                    // the run goes on with the others.
                    self.metrics.count(|c| c.member_errors += 1);
                    self.metrics.error(format!("group {} leaf {leaf}: {e}", self.index));
                    error.get_or_insert(e);
                }
            }
        }
        if timed {
            self.metrics.count(|c| c.commits_processed += leaves.len() as u64);
        }
        self.full
            .retain(|&l| self.slots.get(l as usize).is_some_and(|s| s.as_ref().is_some_and(|s| s.group.is_some())));
        if self.full.is_empty() {
            return Err(error.unwrap_or_else(|| "every full member left".into()));
        }
        Ok(())
    }

    fn members(&self) -> Vec<LeafIndex> {
        self.slots.iter().enumerate().filter(|(_, s)| s.is_some()).map(|(i, _)| LeafIndex(i as u32)).collect()
    }

    fn is_full(&self, leaf: LeafIndex) -> bool {
        self.full.contains(&leaf.0)
    }

    /// A passive member's state, built from a full member (timed).
    fn materialize(&self, leaf: LeafIndex) -> Result<Box<Group>, String> {
        let slot = self.slots.get(leaf.0 as usize).and_then(|s| s.as_ref()).ok_or("no member at leaf")?;
        let donor = self.donor();
        let g = self
            .metrics
            .time(Op::Materialize, || Group::materialize(donor, &slot.identity))
            .map_err(|e| format!("materialize: {e}"))?;
        self.metrics.count(|c| c.materialized += 1);
        Ok(Box::new(g))
    }

    /// Draws the epoch's events and creates the member proposals.
    pub fn prepare(&mut self) -> Result<Prepared, String> {
        let (mut plan, postponed) =
            next_plan(&self.churn, &mut self.plan_rng, &mut self.backlog, self.policy.max_proposals_per_commit);
        self.metrics.count(|c| c.postponed += u64::from(postponed));
        if let Some(b) = self.balance {
            let (joins, leaves) = b.apply(self.member_count(), &mut plan);
            if joins + leaves > 0 {
                self.metrics.count(|c| {
                    c.balance_skipped_joins += u64::from(joins);
                    c.balance_skipped_leaves += u64::from(leaves);
                });
            }
        }
        let mut members = self.members();
        // Partial members never act; the DS's removes go to them first.
        let mut partial_removed: Vec<LeafIndex> = Vec::new();
        if self.partial.enabled() {
            let partial: std::collections::HashSet<u32> = self.partial.leaves().iter().map(|l| l.0).collect();
            members.retain(|l| !partial.contains(&l.0));
            partial_removed = self
                .partial
                .leaves()
                .choose_multiple(&mut self.actor_rng, (plan.server_removes + plan.host_removes) as usize)
                .copied()
                .collect();
        }
        let n = members.len();
        // Removal targets: distinct members, never the last two full
        // members (one must stay to lend its state to passive ones).
        let wanted = (plan.self_removes + plan.server_removes + plan.host_removes) as usize - partial_removed.len();
        let mut removable: Vec<LeafIndex> =
            members.choose_multiple(&mut self.actor_rng, (wanted * 2 + 4).min(n)).copied().collect();
        let mut full_left = self.full.len();
        removable.retain(|l| {
            if self.full.contains(&l.0) {
                if full_left <= 2 {
                    return false;
                }
                full_left -= 1;
            }
            true
        });
        removable.truncate(wanted.min(n.saturating_sub(2)));
        let self_removes: Vec<LeafIndex> = removable.iter().take(plan.self_removes as usize).copied().collect();
        // The DS's and the host's removes: partial members first, then the
        // other removable members, the DS's first.
        let mut others = removable.iter().skip(self_removes.len()).copied();
        let host_partial = partial_removed.split_off((plan.server_removes as usize).min(partial_removed.len()));
        let server_removes: Vec<LeafIndex> = partial_removed
            .iter()
            .copied()
            .chain(others.by_ref().take(plan.server_removes as usize - partial_removed.len()))
            .collect();
        let host_removes: Vec<LeafIndex> = host_partial.into_iter().chain(others).collect();
        let busy: std::collections::HashSet<u32> = removable.iter().map(|l| l.0).collect();
        let free: Vec<LeafIndex> = members.iter().copied().filter(|l| !busy.contains(&l.0)).collect();
        let updaters: Vec<LeafIndex> =
            free.choose_multiple(&mut self.actor_rng, plan.updates as usize).copied().collect();
        let busy: std::collections::HashSet<u32> = busy.into_iter().chain(updaters.iter().map(|l| l.0)).collect();
        let eligible: Vec<LeafIndex> = members.iter().copied().filter(|l| !busy.contains(&l.0)).collect();
        let tree = self.donor().tree_arc().clone();
        let committers = choose_committers(
            self.choice,
            &tree,
            &eligible,
            self.policy.concurrent_committers as usize,
            self.policy.candidates as usize,
            &mut self.committer_rng,
        );

        let mut proposals = Vec::new();
        for &l in &updaters {
            let msg = self.propose(l, None)?;
            proposals.push((msg, l));
        }
        for &l in &self_removes {
            // draft-ietf-mls-extensions: the leaver's SelfRemove, which a
            // remaining member commits by reference.
            let msg = self.propose(l, Some(Proposal::SelfRemove))?;
            proposals.push((msg, l));
        }
        let joiners = self.key_packages(plan.welcome_joins as usize)?;
        for j in &joiners {
            self.metrics.wire(Wire::KeyPackage, j.encoded_len(), 1);
        }
        Ok(Prepared {
            plan,
            proposals,
            server_removes,
            committers,
            self_removes: self_removes.len(),
            host_removes,
            joiners,
        })
    }

    /// `leaf` proposes an Update (`None`) or `proposal`.
    fn propose(&mut self, leaf: LeafIndex, proposal: Option<Proposal>) -> Result<MlsMessage, String> {
        let metrics = self.metrics.clone();
        let run = |g: &mut Group| match proposal {
            None => metrics.time(Op::ProposeUpdate, || g.propose_update()).map(|(m, _)| m),
            Some(p) => g.propose(p).map(|(m, _)| m),
        };
        if self.is_full(leaf) {
            let g = self.full_group_mut(leaf.0).ok_or("full member without group")?;
            run(g).map_err(|e| format!("propose: {e}"))
        } else {
            let mut g = self.materialize(leaf)?;
            run(&mut g).map_err(|e| format!("propose (passive): {e}"))
        }
    }

    /// Full members other than the sender process accepted proposals.
    pub fn deliver_proposals(&mut self, proposals: &[(MlsMessage, Option<LeafIndex>)]) {
        let metrics = self.metrics.clone();
        let mut taken: Vec<(u32, Box<Group>)> =
            self.full.iter().filter_map(|&l| self.slots[l as usize].as_mut()?.group.take().map(|g| (l, g))).collect();
        let errors: Vec<String> = taken
            .par_iter_mut()
            .flat_map_iter(|(leaf, g)| {
                let mut errors = Vec::new();
                for (m, sender) in proposals {
                    if sender.is_some_and(|s| s.0 == *leaf) {
                        continue;
                    }
                    let t = std::time::Instant::now();
                    match g.process_message(m.clone()) {
                        Ok(Processed::Proposal { .. }) => metrics.record(Op::ProcessProposal, t.elapsed()),
                        Ok(_) => errors.push(format!("leaf {leaf}: expected a proposal")),
                        Err(e) => errors.push(format!("leaf {leaf}: process proposal: {e}")),
                    }
                }
                errors
            })
            .collect();
        for (leaf, g) in taken {
            if let Some(s) = self.slots[leaf as usize].as_mut() {
                s.group = Some(g);
            }
        }
        for e in errors {
            self.metrics.count(|c| c.member_errors += 1);
            self.metrics.error(format!("group {}: {e}", self.index));
        }
        self.partial.receive_proposals(proposals, &metrics, self.index);
    }

    /// The racing committers create their commits, adding `joiners` and
    /// removing `removed` (in parallel, timed).
    pub fn create_commits(
        &mut self,
        committers: &[LeafIndex],
        joiners: &[KeyPackageBundle],
        removed: &[LeafIndex],
    ) -> Result<Vec<Candidate>, String> {
        let adds: Vec<Proposal> = joiners
            .iter()
            .map(|b| Proposal::Add(Add { key_package: b.key_package.clone() }))
            .chain(removed.iter().map(|&l| Proposal::Remove(throng::messages::Remove { removed: l })))
            .collect();
        // Passive committers first: materializing needs the donor's state
        // in its slot.
        let mut groups = Vec::new();
        for &l in committers.iter().filter(|&&l| !self.is_full(l)) {
            groups.push((l, self.materialize(l)?, false));
        }
        let full: Vec<LeafIndex> = committers.iter().copied().filter(|&l| self.is_full(l)).collect();
        for l in full {
            if let Some(g) = self.slots[l.0 as usize].as_mut().and_then(|s| s.group.take()) {
                groups.push((l, g, true));
            }
        }
        let metrics = self.metrics.clone();
        let op = if adds.is_empty() { Op::CreateCommit } else { Op::CreateCommitWithWelcome };
        let results: Vec<_> = groups
            .into_par_iter()
            .map(|(leaf, mut group, full)| {
                let r = metrics.time(op, || group.commit(CommitOptions::with_proposals(adds.clone())));
                (leaf, group, full, r)
            })
            .collect();
        let mut out = Vec::new();
        let mut error = None;
        for (leaf, group, full, r) in results {
            match r {
                Ok(pending) => out.push(Candidate { leaf, group, full, pending }),
                Err(e) => {
                    if full {
                        if let Some(s) = self.slots[leaf.0 as usize].as_mut() {
                            s.group = Some(group);
                        }
                    }
                    error = Some(format!("commit by leaf {}: {e}", leaf.0));
                }
            }
        }
        match (out.is_empty(), error) {
            (true, Some(e)) => Err(e),
            (_, Some(e)) => {
                self.metrics.count(|c| c.member_errors += 1);
                self.metrics.error(format!("group {}: {e}", self.index));
                Ok(out)
            }
            _ => Ok(out),
        }
    }

    /// Losing candidates give their state back (full) or drop it.
    pub fn return_losers(&mut self, losers: Vec<Candidate>) {
        for c in losers {
            if c.full {
                if let Some(s) = self.slots[c.leaf.0 as usize].as_mut() {
                    s.group = Some(c.group);
                }
            }
        }
    }

    /// Installs the winning commit: the committer merges (timed, the
    /// copy-on-write of the shared tree included), full members process and
    /// merge it, removed members leave, partial members follow with the
    /// DS's `annotations`, and the Welcome's joiners join: the first ones
    /// (one per entry of `partial_welcomes`) as partial members, the others
    /// with `tree` (fetched from the DS).
    #[allow(clippy::too_many_arguments)] // the commit and what the DS made of it
    pub fn apply_commit(
        &mut self,
        winner: Candidate,
        fanout: usize,
        joiners: Vec<KeyPackageBundle>,
        tree: Option<&RatchetTreeExt>,
        annotations: Annotations,
        partial_welcomes: Vec<Result<AnnotatedWelcome, throng::Error>>,
    ) -> Result<GroupInfo, String> {
        let Candidate { leaf, mut group, full, pending } = winner;
        let message = pending.message.clone();
        let welcome = pending.welcome.clone();
        let group_info = pending.group_info.clone().ok_or("commit produced no GroupInfo")?;
        let applied = pending.applied().clone();
        self.metrics.wire(Wire::Commit, message.to_bytes().len(), fanout);
        if let Some(w) = &welcome {
            self.metrics.wire(Wire::Welcome, w.to_bytes().len(), joiners.len());
        }
        // The DS's annotation work, redone on the committer's view: timed,
        // and its AnnotatedCommits must be the DS's.
        let annotator = if annotations.leaves.is_empty() {
            None
        } else {
            let t = std::time::Instant::now();
            let a = CommitAnnotator::new(group.public(), pending.public(), &message)
                .map_err(|e| format!("annotator: {e}"))?;
            Some((a, t.elapsed()))
        };
        self.metrics
            .time(Op::MergeOwnCommit, || group.merge_pending_commit(pending))
            .map_err(|e| format!("merge own commit: {e}"))?;
        if let Some((annotator, before)) = annotator {
            let t = std::time::Instant::now();
            let own = annotator.annotate(group.public(), &annotations.leaves).map_err(|e| format!("annotate: {e}"))?;
            self.metrics.record(Op::AnnotateCommit, before + t.elapsed());
            let made = own.iter().filter(|a| a.is_ok()).count() as u64;
            self.metrics.count(|c| c.partial_annotations += made);
            let differ = own.iter().zip(&annotations.annotated).filter(|(a, b)| a != b).count();
            if differ > 0 {
                self.metrics.count(|c| c.annotation_mismatches += differ as u64);
                self.metrics
                    .error(format!("group {}: {differ} DS annotations differ from the committer's", self.index));
            }
        }
        // The committer's group goes (back) into its slot, so that full
        // members can adopt its tree.
        if let Some(s) = self.slots[leaf.0 as usize].as_mut() {
            s.group = Some(group);
        }
        let others: Vec<u32> = self.full.iter().copied().filter(|&l| l != leaf.0).collect();
        self.process_on_full(&others, &message, leaf.0, true)?;
        if !full {
            // A passive committer goes back to holding its identity only.
            if let Some(s) = self.slots[leaf.0 as usize].as_mut() {
                s.group = None;
            }
        }
        let removed: Vec<LeafIndex> = applied.removed.iter().map(|(l, _)| *l).collect();
        for l in &removed {
            if let Some(s) = self.slots.get_mut(l.0 as usize) {
                *s = None;
            }
        }
        self.full.retain(|l| !removed.iter().any(|r| r.0 == *l));
        self.metrics.count(|c| c.updates += applied.updated.len() as u64);
        self.follow_partial(&annotations, &removed);
        let added: Vec<LeafIndex> = applied.added.iter().map(|(l, _)| *l).collect();
        let k = partial_welcomes.len().min(joiners.len()).min(added.len());
        if k > 0 {
            let mut partial = std::mem::take(&mut self.partial);
            partial.join(
                &self.provider,
                &self.config,
                partial_welcomes,
                &joiners[..k],
                &added[..k],
                self.donor(),
                &self.metrics,
                self.index,
            );
            self.partial = partial;
            for (l, bundle) in added[..k].iter().zip(&joiners[..k]) {
                self.place(*l, bundle.identity().clone(), None);
            }
        }
        let joined = self.join_all(welcome.as_ref(), &joiners[k..], tree)?;
        self.metrics.count(|c| c.welcome_joins += (k + joined.len()) as u64);
        for (l, (bundle, g)) in added[k..].iter().zip(joiners[k..].iter().zip(joined)) {
            self.place(*l, bundle.identity().clone(), Some(Box::new(g)));
        }
        self.after_epoch(path_encryptions(&message));
        Ok(group_info)
    }

    /// Partial members follow the commit that removed `removed`.
    fn follow_partial(&mut self, annotations: &Annotations, removed: &[LeafIndex]) {
        let mut partial = std::mem::take(&mut self.partial);
        partial.follow(annotations, removed, self.donor(), &self.metrics, self.index);
        self.partial = partial;
    }

    /// The partial members' leaves when there are any (the DS annotates
    /// commits for them).
    pub fn partial_leaves(&self) -> Option<Vec<LeafIndex>> {
        (!self.partial.is_empty()).then(|| self.partial.leaves())
    }

    /// How many more partial members may join now.
    pub fn partial_room(&self) -> usize {
        self.partial.room()
    }

    /// Partial members read the application messages (with their senders'
    /// proofs).
    pub fn partial_read(&mut self, messages: &[(SenderAuthenticatedMessage<PrivateMessage>, LeafIndex)]) {
        self.partial.read(messages, &self.metrics, self.index);
    }

    /// Bytes each partial member keeps.
    pub fn partial_state_bytes(&self) -> Vec<usize> {
        self.partial.state_bytes()
    }

    /// Counts removals by kind (the DS's Remove or the member's SelfRemove).
    pub fn count_removals(&self, self_removes: usize, server_removes: usize, host_removes: usize) {
        self.metrics.count(|c| {
            c.host_removes += host_removes as u64;
            c.self_removes += self_removes as u64;
            c.server_removes += server_removes as u64;
        });
    }

    /// A new member joins by external commit from `info` and `tree` (timed).
    pub fn external_join(
        &mut self,
        info: &GroupInfo,
        tree: &RatchetTreeExt,
    ) -> Result<(Box<Group>, MlsMessage, Identity), String> {
        let name = self.names;
        self.names += 1;
        let identity =
            Identity::basic(&*self.provider, self.cs, format!("g{}-x{name}", self.index)).map_err(|e| e.to_string())?;
        let (g, commit) = self
            .metrics
            .time(Op::ExternalJoin, || {
                Group::join_by_external_commit(self.provider.clone(), self.config.clone(), &identity, info, Some(tree))
            })
            .map_err(|e| format!("external join: {e}"))?;
        Ok((Box::new(g), commit, identity))
    }

    /// Installs an accepted external commit.
    pub fn apply_external(
        &mut self,
        joiner: Box<Group>,
        identity: Identity,
        commit: &MlsMessage,
        fanout: usize,
        annotations: Annotations,
    ) -> Result<GroupInfo, String> {
        self.metrics.wire(Wire::ExternalCommit, commit.to_bytes().len(), fanout);
        let leaf = joiner.own_leaf();
        let info = joiner.group_info(false, true).map_err(|e| e.to_string())?;
        if self.slots.len() <= leaf.0 as usize {
            self.slots.resize_with(leaf.0 as usize + 1, || None);
        }
        self.slots[leaf.0 as usize] = Some(Slot { identity, group: Some(joiner) });
        let others = self.full.clone();
        self.process_on_full(&others, commit, leaf.0, true)?;
        self.follow_partial(&annotations, &[]);
        // The joiner stays full if there is room.
        if self.full.len() < self.full_target {
            self.full.push(leaf.0);
        } else if let Some(s) = self.slots[leaf.0 as usize].as_mut() {
            s.group = None;
        }
        self.metrics.count(|c| c.external_joins += 1);
        self.after_epoch(path_encryptions(commit));
        Ok(info)
    }

    /// Application messages from random full members (timed).
    pub fn encrypt_messages(&mut self, n: u32) -> Vec<(MlsMessage, LeafIndex)> {
        let mut out = Vec::new();
        for i in 0..n {
            let Some(&leaf) = self.full.choose(&mut self.actor_rng) else { break };
            let metrics = self.metrics.clone();
            let payload = format!("message {i} of epoch {} from leaf {leaf}", self.epochs).into_bytes();
            let Some(g) = self.full_group_mut(leaf) else { continue };
            match metrics.time(Op::EncryptApplication, || g.encrypt_application(&payload, Vec::new())) {
                Ok(m) => out.push((m, LeafIndex(leaf))),
                Err(e) => {
                    self.metrics.count(|c| c.member_errors += 1);
                    self.metrics.error(format!("group {} leaf {leaf}: encrypt: {e}", self.index));
                }
            }
        }
        out
    }

    /// Full members other than the sender decrypt (timed).
    pub fn deliver_messages(&mut self, messages: &[(MlsMessage, LeafIndex)]) {
        let metrics = self.metrics.clone();
        let mut taken: Vec<(u32, Box<Group>)> =
            self.full.iter().filter_map(|&l| self.slots[l as usize].as_mut()?.group.take().map(|g| (l, g))).collect();
        let outcomes: Vec<(u64, Vec<String>)> = taken
            .par_iter_mut()
            .map(|(leaf, g)| {
                let mut ok = 0;
                let mut errors = Vec::new();
                for (m, sender) in messages {
                    if sender.0 == *leaf {
                        continue;
                    }
                    let t = std::time::Instant::now();
                    match g.process_message(m.clone()) {
                        Ok(Processed::Application { .. }) => {
                            metrics.record(Op::DecryptApplication, t.elapsed());
                            ok += 1;
                        }
                        Ok(_) => errors.push(format!("leaf {leaf}: expected application data")),
                        Err(e) => errors.push(format!("leaf {leaf}: decrypt: {e}")),
                    }
                }
                (ok, errors)
            })
            .collect();
        for (leaf, g) in taken {
            if let Some(s) = self.slots[leaf as usize].as_mut() {
                s.group = Some(g);
            }
        }
        for (ok, errors) in outcomes {
            self.metrics.count(|c| c.application_decryptions += ok);
            for e in errors {
                self.metrics.count(|c| c.member_errors += 1);
                self.metrics.error(format!("group {}: {e}", self.index));
            }
        }
    }

    /// Records tree health after an epoch.
    fn after_epoch(&mut self, path_encryptions: u32) {
        self.epochs += 1;
        let tree = self.donor().tree();
        let h = health(tree);
        let sample = TreeSample {
            policy: self.policy_name.clone(),
            group: self.index,
            epoch: self.epochs,
            members: tree.member_count(),
            leaves: h.leaves,
            blank_parents: h.blank_parents,
            blank_parent_fraction: if h.parents == 0 { 0.0 } else { f64::from(h.blank_parents) / f64::from(h.parents) },
            mean_resolution: h.mean_resolution,
            path_encryptions,
        };
        self.metrics.push_tree(sample);
        self.metrics.count(|c| c.epochs += 1);
    }

    /// Bytes of private state per full member (the engine's estimate) and
    /// of the shared tree.
    pub fn state_sizes(&self) -> (usize, usize, usize) {
        let full: Vec<usize> = self
            .full
            .iter()
            .filter_map(|&l| self.slots[l as usize].as_ref()?.group.as_ref().map(|g| g.private_state_len()))
            .collect();
        let mean_full = if full.is_empty() { 0 } else { full.iter().sum::<usize>() / full.len() };
        let passive = self.slots.iter().flatten().find(|s| s.group.is_none()).map_or(0, |s| {
            // The slot itself plus the heap it owns: credential, public
            // and private signature key.
            std::mem::size_of::<Slot>()
                + s.identity.credential.to_bytes().len()
                + s.identity.signer.public.as_bytes().len()
                + s.identity.signer.private.0.len()
        });
        (mean_full, passive, self.donor().tree().heap_bytes())
    }
}

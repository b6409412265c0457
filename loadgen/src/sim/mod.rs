//! The simulation: groups built and churned with real cryptography, a
//! delivery service in front of `throng::Registry`, on tokio for
//! the message flow and a rayon pool for every CPU-bound step (the
//! embedding docs/ARCHITECTURE.md recommends, performance design 4: the
//! embedder owns the threads, the async threads never run cryptography).

pub mod backend;
pub mod churn;
pub mod ds;
pub mod media;
pub mod members;
pub mod partial;
pub mod policy;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use indicatif::ProgressBar;
use throng::Rejected;
use throng::crypto::{CipherSuite, CryptoProvider, Suite};
use throng::internals::codec::Encode;
use throng::internals::tree_math::LeafIndex;
use throng::messages::content::{MlsMessage, MlsMessageBody};
use throng::messages::registered_extensions::ExternalSender;
use throng::messages::{Credential, Proposal, Remove};
use tokio::sync::oneshot;

use crate::metrics::{Metrics, Wire};
use crate::scenario::{CommitterChoice, Scenario};
use crate::soak::{Probe, Sampler, SamplerOutput, SoakConfig};

use ds::DsClient;
use members::{Candidate, GroupSim, Setup};

/// Runs `f` on the rayon pool and awaits its result without blocking the
/// async thread.
pub async fn cpu<T: Send + 'static>(pool: &rayon::ThreadPool, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = oneshot::channel();
    pool.spawn(move || {
        let _ = tx.send(f());
    });
    match rx.await {
        Ok(v) => v,
        // The closure panicked on the pool: surface it here.
        Err(_) => panic!("a simulation task panicked on the rayon pool"),
    }
}

/// What one simulated run measured besides the metrics.
#[derive(Clone, Debug, Default)]
pub struct RunStats {
    /// Seconds spent building the groups.
    pub build_seconds: f64,
    /// Seconds of churn after the build.
    pub churn_seconds: f64,
    /// RSS before the build, bytes.
    pub rss_before_build: u64,
    /// RSS after every group was built.
    pub rss_after_build: u64,
    /// Members per group at the end (mean).
    pub final_members: f64,
    /// Mean private state of a full member, bytes (engine estimate).
    pub full_member_state_bytes: usize,
    /// State of a passive member, bytes.
    pub passive_member_state_bytes: usize,
    /// Heap of one group's shared public tree, bytes.
    pub tree_bytes: usize,
    /// Heap of the DS's public group of group 0, bytes.
    pub ds_group_bytes: usize,
    /// Epochs per group (mean).
    pub epochs_per_group: f64,
    /// Soak mode: what the sampler recorded.
    pub soak: Option<SamplerOutput>,
    /// Whether the scenario sent media.
    pub media: bool,
    /// Scenarios with `[backend]`: the nodes and what they agreed on.
    pub backend: Option<BackendStats>,
    /// Scenarios with partial members: the most each group may hold.
    pub partial_target: u32,
    /// Bytes each partial member of group 0 keeps at the end
    /// (`PartialGroup::state_bytes`).
    pub partial_state_bytes: Vec<usize>,
}

/// The DS nodes of a `[backend]` run, and the end-of-run agreement check.
#[derive(Clone, Debug, Default)]
pub struct BackendStats {
    /// The store, as the report names it.
    pub store: String,
    /// Nodes.
    pub nodes: usize,
    /// How requests picked their node.
    pub routing: String,
    /// Groups checked at the end.
    pub groups_checked: u64,
    /// Groups whose full members, or whose nodes, did not end on the same
    /// epoch, epoch authenticator (members) and tree hash (members and
    /// nodes): a fork. Should be 0.
    pub forks: u64,
}

struct Ctx {
    scenario: Scenario,
    choice: CommitterChoice,
    pool: Arc<rayon::ThreadPool>,
    metrics: Arc<Metrics>,
    build_metrics: Arc<Metrics>,
    ds: DsClient,
    progress: ProgressBar,
    built: tokio::sync::Barrier,
    churn_start: std::sync::Mutex<Option<Instant>>,
    /// Soak mode (`--duration`).
    soak: Option<SoakConfig>,
    /// Members of each group, for the soak sampler.
    members: Arc<Vec<AtomicU32>>,
    sampler: std::sync::Mutex<Option<Sampler>>,
    /// The DS nodes' timed stores (`[backend]` only).
    stores: Vec<Arc<backend::TimedStore>>,
}

/// Simulates `scenario` with committers chosen by `choice`; `soak` (for
/// `--duration`) churns until its duration ends, keeps each group's size in
/// a band around the scenario's, and samples the run (see [`crate::soak`]).
#[allow(clippy::too_many_arguments)] // one per input of a run; a struct would only rename them
pub fn simulate(
    scenario: &Scenario,
    choice: CommitterChoice,
    pool: Arc<rayon::ThreadPool>,
    metrics: Arc<Metrics>,
    build_metrics: Arc<Metrics>,
    progress: ProgressBar,
    soak: Option<SoakConfig>,
    pg_url: Option<&str>,
) -> Result<RunStats, String> {
    let provider: Arc<dyn CryptoProvider> = Arc::new(throng::crypto::AwsLcProvider);
    let nodes = backend::Nodes::open(scenario.backend.as_ref(), pg_url, provider.clone())?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().map_err(|e| e.to_string())?;
    let out = runtime.block_on(simulate_async(
        scenario,
        choice,
        pool,
        metrics,
        build_metrics,
        progress,
        soak,
        provider,
        &nodes,
    ));
    drop(runtime);
    // The schema goes even when the run failed.
    let closed = nodes.close();
    let stats = out?;
    closed?;
    Ok(stats)
}

#[allow(clippy::too_many_arguments)]
async fn simulate_async(
    scenario: &Scenario,
    choice: CommitterChoice,
    pool: Arc<rayon::ThreadPool>,
    metrics: Arc<Metrics>,
    build_metrics: Arc<Metrics>,
    progress: ProgressBar,
    soak: Option<SoakConfig>,
    provider: Arc<dyn CryptoProvider>,
    nodes: &backend::Nodes,
) -> Result<RunStats, String> {
    let cs = CipherSuite(scenario.cipher_suite);
    let signer = Suite::new(&*provider, cs).and_then(|s| s.generate_signature_key_pair()).map_err(|e| e.to_string())?;
    let ds_sender =
        ExternalSender { signature_key: signer.public.clone(), credential: Credential::basic("delivery-service") };
    let registry = nodes.registries.first().cloned().ok_or("no DS node")?;
    let routing = scenario.backend.as_ref().map_or(crate::scenario::Routing::Random, |b| b.routing);
    let ds = ds::spawn(&nodes.registries, Arc::new(signer), pool.clone(), routing, scenario.seed);
    let groups = scenario.groups.count;
    let ctx = Arc::new(Ctx {
        scenario: scenario.clone(),
        choice,
        pool: pool.clone(),
        metrics: metrics.clone(),
        build_metrics,
        ds,
        progress,
        built: tokio::sync::Barrier::new(groups as usize),
        churn_start: std::sync::Mutex::new(None),
        soak: soak.clone(),
        members: Arc::new((0..groups).map(|_| AtomicU32::new(0)).collect()),
        sampler: std::sync::Mutex::new(None),
        stores: nodes.stores.clone(),
    });
    if soak.is_some() {
        metrics.bound_series(crate::soak::SERIES_CAP);
    }
    let rss_before_build = crate::profile::rss_bytes().unwrap_or(0);
    metrics.sample_memory();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for index in 0..groups {
        let setup = Setup {
            index,
            cs,
            full: scenario.groups.full_members,
            churn: scenario.churn.clone(),
            policy: scenario.policy.clone(),
            choice,
            seed: scenario.seed,
            ds_sender: ds_sender.clone(),
            pool: pool.clone(),
            balance: soak.as_ref().map(|_| churn::Balance::around(scenario.groups.members)),
            media: scenario.media.clone(),
            partial: scenario.groups.partial_members,
        };
        let ctx = ctx.clone();
        tasks.push(tokio::spawn(async move { drive(setup, ctx).await }));
    }
    let mut sims = Vec::new();
    let mut first_error = None;
    for t in tasks {
        match t.await {
            Ok(Ok((mut sim, _))) => {
                sim.media_summary();
                sims.push(sim);
            }
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(format!("group task failed: {e}"));
            }
        }
    }
    // The sampler's last sample sees the churn's end state.
    let sampler = crate::metrics::lock(&ctx.sampler).take();
    let soak_out = sampler.map(Sampler::finish);
    if let Some(e) = first_error {
        return Err(e);
    }
    let total = start.elapsed().as_secs_f64();
    let churn_start = *crate::metrics::lock(&ctx.churn_start);
    let churn_seconds = churn_start.map_or(0.0, |t| t.elapsed().as_secs_f64());
    metrics.sample_memory();
    let (full_member_state_bytes, passive_member_state_bytes, tree_bytes) =
        sims.first().map_or((0, 0, 0), |s| s.state_sizes());
    let ds_group_bytes =
        sims.first().and_then(|s| registry.with_group(&s.group_id, |g| g.tree().heap_bytes())).unwrap_or(0);
    let n = sims.len().max(1) as f64;
    let backend = match &scenario.backend {
        Some(b) => Some(BackendStats {
            routing: b.routing.name().to_string(),
            ..agreement(&sims, nodes, &metrics, &pool).await
        }),
        None => None,
    };
    Ok(RunStats {
        build_seconds: total - churn_seconds,
        churn_seconds,
        rss_before_build,
        rss_after_build: crate::metrics::lock(&BUILT_RSS).unwrap_or(0),
        final_members: sims.iter().map(|s| f64::from(s.member_count())).sum::<f64>() / n,
        full_member_state_bytes,
        passive_member_state_bytes,
        tree_bytes,
        ds_group_bytes,
        epochs_per_group: sims.iter().map(|s| s.epochs as f64).sum::<f64>() / n,
        soak: soak_out,
        media: scenario.media.is_some(),
        backend,
        partial_target: scenario.groups.partial_members,
        partial_state_bytes: sims.first().map(GroupSim::partial_state_bytes).unwrap_or_default(),
    })
}

/// The fork check of a `[backend]` run: in every group, the full members
/// end on one epoch, epoch authenticator and tree hash, and every node,
/// brought up to the store's head, on that epoch and tree hash.
async fn agreement(
    sims: &[GroupSim],
    nodes: &backend::Nodes,
    metrics: &Metrics,
    pool: &rayon::ThreadPool,
) -> BackendStats {
    let mut stats = BackendStats {
        store: nodes.description.clone(),
        nodes: nodes.registries.len(),
        routing: String::new(),
        groups_checked: 0,
        forks: 0,
    };
    for sim in sims {
        stats.groups_checked += 1;
        let gid = sim.group_id.clone();
        let agreed = sim.agreement();
        let registries = nodes.registries.clone();
        let verdict = cpu(pool, move || {
            let (epoch, _, tree_hash) = agreed?;
            for (node, r) in registries.iter().enumerate() {
                r.refresh(&gid).map_err(|e| format!("node {node}: {e}"))?;
                let seen = (r.epoch(&gid), r.with_group(&gid, |g| g.tree().root_hash().to_vec()));
                if seen != (Some(epoch), Some(tree_hash.clone())) {
                    return Err(format!(
                        "node {node} is in epoch {:?}, the members in {epoch}{}",
                        seen.0,
                        if seen.0 == Some(epoch) { ", with another tree" } else { "" }
                    ));
                }
            }
            Ok(())
        })
        .await;
        if let Err(e) = verdict {
            stats.forks += 1;
            metrics.error(format!("group {}: fork: {e}", sim.index));
        }
    }
    stats
}

/// RSS when the last group finished its build (set by the barrier's leader).
static BUILT_RSS: std::sync::Mutex<Option<u64>> = std::sync::Mutex::new(None);

/// Moves `sim` onto the pool for `f` and back.
async fn on_pool<T: Send + 'static>(
    pool: &rayon::ThreadPool,
    mut sim: GroupSim,
    f: impl FnOnce(&mut GroupSim) -> T + Send + 'static,
) -> (GroupSim, T) {
    cpu(pool, move || {
        let out = f(&mut sim);
        (sim, out)
    })
    .await
}

/// One group's life: build, then churn until the scenario's duration.
async fn drive(setup: Setup, ctx: Arc<Ctx>) -> Result<(GroupSim, ()), String> {
    let metrics = ctx.metrics.clone();
    let sim = GroupSim::create(&setup, ctx.build_metrics.clone())?;
    let gid = sim.group_id.clone();
    ctx.ds.create(sim.initial_group_info()?).await.map_err(|e| format!("DS create: {e}"))?;
    let mut sim = build(sim, &ctx).await?;
    // From here on, everything is recorded as the churn phase.
    sim.set_metrics(metrics.clone());

    // Every group starts churning together, after the RSS of the built
    // state is read.
    if let Some(m) = ctx.members.get(sim.index as usize) {
        m.store(sim.member_count(), Ordering::Relaxed);
    }
    if ctx.built.wait().await.is_leader() {
        *crate::metrics::lock(&BUILT_RSS) = crate::profile::rss_bytes();
        for store in &ctx.stores {
            store.record_into(metrics.clone());
        }
        metrics.sample_memory();
        *crate::metrics::lock(&ctx.churn_start) = Some(Instant::now());
        ctx.progress.set_position(0);
        if let Some(soak) = &ctx.soak {
            ctx.progress.set_length(soak.duration.as_secs());
            ctx.progress.set_message(format!("soak ({})", ctx.choice.name()));
            let probe =
                Probe { metrics: metrics.clone(), members: ctx.members.clone(), progress: ctx.progress.clone() };
            *crate::metrics::lock(&ctx.sampler) = Some(Sampler::start(soak.clone(), probe)?);
        } else {
            ctx.progress.set_length(u64::from(ctx.scenario.groups.count) * ctx.scenario.duration.epochs.unwrap_or(0));
            ctx.progress.set_message(format!("churn ({})", ctx.choice.name()));
        }
    }
    let churn_start = Instant::now();
    let target_epochs = ctx.scenario.duration.epochs.unwrap_or(u64::MAX);
    let seconds = ctx.scenario.duration.seconds.unwrap_or(f64::INFINITY);
    let mut rounds = 0u64;
    while sim.epochs < target_epochs && churn_start.elapsed().as_secs_f64() < seconds {
        let before = sim.epochs;
        let started = Instant::now();
        sim = round(sim, &ctx, &gid, target_epochs).await?;
        if ctx.soak.is_some() {
            metrics.record_round(started.elapsed());
            if let Some(m) = ctx.members.get(sim.index as usize) {
                m.store(sim.member_count(), Ordering::Relaxed);
            }
        } else {
            ctx.progress.inc(sim.epochs - before);
        }
        rounds += 1;
        if rounds.is_multiple_of(16) && sim.index == 0 {
            metrics.sample_memory();
        }
        if sim.epochs == before && rounds > target_epochs.saturating_mul(4) + 64 {
            return Err(format!("group {}: no commit accepted in many rounds", sim.index));
        }
    }
    Ok((sim, ()))
}

/// The build: the creator adds everyone, `adds_per_build_commit` per
/// commit, through the DS; the last members added are the full ones and
/// join from their Welcome.
async fn build(mut sim: GroupSim, ctx: &Ctx) -> Result<GroupSim, String> {
    let pool = &ctx.pool;
    let gid = sim.group_id.clone();
    let to_add = (ctx.scenario.groups.members - 1) as usize;
    let full_joiners = (ctx.scenario.groups.full_members as usize).saturating_sub(1).min(to_add);
    let batch = ctx.scenario.groups.adds_per_build_commit as usize;
    let mut added = 0;
    while added < to_add {
        let n = batch.min(to_add - added);
        let (s, bundles) = on_pool(pool, sim, move |s| s.key_packages(n)).await;
        let bundles = bundles?;
        let (s, pending) = on_pool(pool, s, move |s| {
            let p = s.build_commit(&bundles);
            p.map(|p| (p, bundles))
        })
        .await;
        sim = s;
        let (pending, bundles) = pending?;
        ctx.ds
            .handle(&gid, pending.message.clone(), Some(ctx.build_metrics.clone()))
            .await
            .map_err(|e| format!("DS refused a build commit: {e}"))?;
        let group_info = pending.group_info.clone().ok_or("build commit produced no GroupInfo")?;
        // Members of this batch past `to_add - full_joiners` are full.
        let joining = (added + n).saturating_sub(to_add - full_joiners).min(n);
        let tree = if joining > 0 { ctx.ds.join_info(&gid).await.map(|(_, t)| t) } else { None };
        if let Some(t) = &tree {
            ctx.build_metrics.wire(Wire::RatchetTree, t.to_bytes().len(), joining);
        }
        let (s, r) = on_pool(pool, sim, move |s| s.apply_build_commit(pending, bundles, joining, tree.as_ref())).await;
        sim = s;
        r?;
        ctx.ds.publish(&gid, group_info).await.map_err(|e| format!("DS refused a GroupInfo: {e}"))?;
        added += n;
        ctx.progress.inc(n as u64);
    }
    Ok(sim)
}

/// One round: proposals, the racing commits (one epoch), external joins
/// (one epoch each), application messages.
async fn round(sim: GroupSim, ctx: &Ctx, gid: &[u8], target_epochs: u64) -> Result<GroupSim, String> {
    let pool = &ctx.pool;
    let metrics = &ctx.metrics;
    // Media of this round's interval, sent in the epoch it starts in.
    let (sim, ()) = on_pool(pool, sim, |s| s.media_send()).await;
    let (sim, prepared) = on_pool(pool, sim, |s| s.prepare()).await;
    let prepared = prepared?;

    // Proposals go through the DS, then to every full member.
    let mut accepted: Vec<(MlsMessage, Option<LeafIndex>)> = Vec::new();
    for (m, sender) in prepared.proposals {
        match ctx.ds.handle(gid, m.clone(), Some(metrics.clone())).await {
            Ok(a) => {
                metrics.wire(Wire::Proposal, m.to_bytes().len(), a.fanout.len());
                accepted.push((m, Some(sender)));
            }
            Err(e) => reject(metrics, sim.index, "proposal", &e),
        }
    }
    let self_removes = prepared.self_removes;
    let mut server_removes = 0;
    for leaf in prepared.server_removes {
        match ctx.ds.propose(gid, Proposal::Remove(Remove { removed: leaf })).await {
            Ok(m) => {
                metrics.wire(Wire::ExternalProposal, m.to_bytes().len(), sim.member_count() as usize);
                accepted.push((m, None));
                server_removes += 1;
            }
            Err(e) => {
                metrics.count(|c| c.ds_rejections += 1);
                metrics.error(format!("group {}: DS proposal: {e}", sim.index));
            }
        }
    }
    let (sim, ()) = on_pool(pool, sim, move |s| s.deliver_proposals(&accepted)).await;

    // The racing committers; the DS accepts the first valid commit.
    let committers = prepared.committers;
    let joiners = prepared.joiners;
    let joiner_kps = joiners.clone();
    let host_removes = prepared.host_removes;
    let removed = host_removes.len();
    let (sim, candidates) =
        on_pool(pool, sim, move |s| s.create_commits(&committers, &joiner_kps, &host_removes)).await;
    let candidates = candidates?;
    let mut verdicts = Vec::new();
    let mut routed = Vec::new();
    for c in &candidates {
        let ds = ctx.ds.clone();
        let m = c.pending.message.clone();
        let gid = gid.to_vec();
        let record = Some(metrics.clone());
        let node = ds.pick();
        let partial = sim.partial_leaves();
        routed.push(node);
        verdicts.push(tokio::spawn(async move { ds.handle_annotating_on(node, &gid, m, record, partial).await }));
    }
    let mut winner: Option<(usize, usize)> = None;
    let mut annotations = ds::Annotations::default();
    let mut lost = Vec::new();
    for (i, v) in verdicts.into_iter().enumerate() {
        match v.await.map_err(|e| e.to_string())? {
            Ok((a, annotated)) => {
                winner = Some((i, a.fanout.len()));
                annotations = annotated;
            }
            Err(Rejected::LostRace { .. } | Rejected::WrongEpoch { .. }) => {
                metrics.count(|c| c.lost_races += 1);
                lost.push(i);
            }
            Err(e) => reject(metrics, sim.index, "commit", &e),
        }
    }
    // A loser whose winner went through another node lost in the store.
    if let Some(&won_on) = winner.and_then(|(w, _)| routed.get(w)) {
        for node in lost.iter().filter_map(|&i| routed.get(i)).filter(|&&n| n != won_on) {
            metrics.node_count(*node, |c| c.lost_races_to_other_node += 1);
        }
    }
    let mut sim = sim;
    let mut candidates: Vec<Option<Candidate>> = candidates.into_iter().map(Some).collect();
    if let Some((i, fanout)) = winner {
        let win = candidates[i].take().ok_or("winner taken twice")?;
        for c in candidates.iter().flatten() {
            metrics.wire(Wire::Commit, c.pending.message.to_bytes().len(), 0);
        }
        let losers: Vec<Candidate> = candidates.into_iter().flatten().collect();
        // The first joiners join as partial members, from the DS's
        // AnnotatedWelcomes (the DS is in the epoch the commit started).
        let partial_joiners: Vec<LeafIndex> =
            win.pending.applied().added.iter().take(sim.partial_room()).map(|(l, _)| *l).collect();
        let partial_welcomes = match (&win.pending.welcome, partial_joiners.is_empty()) {
            (Some(w), false) => ctx
                .ds
                .annotate_welcome(gid, w.clone(), win.leaf, partial_joiners)
                .await
                .map_err(|e| format!("DS annotate_welcome: {e}"))?,
            _ => Vec::new(),
        };
        let full_joiners = joiners.len().saturating_sub(partial_welcomes.len());
        let tree = if full_joiners == 0 { None } else { ctx.ds.join_info(gid).await.map(|(_, t)| t) };
        if let Some(t) = &tree {
            metrics.wire(Wire::RatchetTree, t.to_bytes().len(), full_joiners);
        }
        let (s, info) = on_pool(pool, sim, move |s| {
            s.return_losers(losers);
            s.apply_commit(win, fanout, joiners, tree.as_ref(), annotations, partial_welcomes)
        })
        .await;
        sim = s;
        let info = info?;
        sim.count_removals(self_removes, server_removes, removed);
        if let Err(e) = ctx.ds.publish(gid, info).await {
            reject(metrics, sim.index, "GroupInfo", &e);
        }
    } else {
        let losers: Vec<Candidate> = candidates.into_iter().flatten().collect();
        let (s, ()) = on_pool(pool, sim, move |s| s.return_losers(losers)).await;
        sim = s;
    }

    // External joins, one epoch each; a joiner that loses the epoch
    // fetches the new GroupInfo and tries again.
    for _ in 0..prepared.plan.external_joins {
        if sim.epochs >= target_epochs {
            break;
        }
        for _attempt in 0..4 {
            let Some((Some(info), tree)) = ctx.ds.join_info(gid).await else { break };
            metrics.wire(Wire::GroupInfo, info.to_bytes().len(), 1);
            metrics.wire(Wire::RatchetTree, tree.to_bytes().len(), 1);
            let (s, joined) = on_pool(pool, sim, move |s| s.external_join(&info, &tree)).await;
            sim = s;
            let (group, commit, identity) = joined?;
            let partial = sim.partial_leaves();
            let node = ctx.ds.pick();
            match ctx.ds.handle_annotating_on(node, gid, commit.clone(), Some(metrics.clone()), partial).await {
                Ok((a, annotations)) => {
                    let fanout = a.fanout.len();
                    let (s, info) =
                        on_pool(pool, sim, move |s| s.apply_external(group, identity, &commit, fanout, annotations))
                            .await;
                    sim = s;
                    if let Err(e) = ctx.ds.publish(gid, info?).await {
                        reject(metrics, sim.index, "GroupInfo", &e);
                    }
                    break;
                }
                Err(Rejected::LostRace { .. } | Rejected::WrongEpoch { .. }) => {
                    metrics.count(|c| c.external_join_retries += 1)
                }
                Err(e) => {
                    reject(metrics, sim.index, "external commit", &e);
                    break;
                }
            }
        }
    }

    // The media frames in flight arrive after the epoch changes.
    let (sim, ()) = on_pool(pool, sim, |s| s.media_deliver_late()).await;

    // Application messages: routed by the DS, decrypted by full members.
    let n = prepared.plan.application_messages;
    let (sim, messages) = on_pool(pool, sim, move |s| s.encrypt_messages(n)).await;
    let mut delivered = Vec::new();
    for (m, sender) in messages {
        match ctx.ds.handle(gid, m.clone(), None).await {
            Ok(a) => {
                metrics.wire(Wire::Application, m.to_bytes().len(), a.fanout.len().saturating_sub(1));
                delivered.push((m, sender));
            }
            Err(e) => reject(metrics, sim.index, "application message", &e),
        }
    }
    metrics.count(|c| c.application_messages += delivered.len() as u64);
    // Partial members get each with its sender's proof, made by the DS.
    let mut proven = Vec::new();
    if sim.partial_leaves().is_some() {
        for (m, sender) in &delivered {
            let MlsMessageBody::PrivateMessage(private) = &m.body else { continue };
            match ctx.ds.sender_authenticate(gid, private.clone(), *sender).await {
                Ok(p) => proven.push((p, *sender)),
                Err(e) => {
                    metrics.count(|c| c.partial_errors += 1);
                    metrics.error(format!("group {}: DS sender_authenticate: {e}", sim.index));
                }
            }
        }
    }
    let (sim, ()) = on_pool(pool, sim, move |s| {
        s.deliver_messages(&delivered);
        s.partial_read(&proven);
    })
    .await;
    Ok(sim)
}

fn reject(metrics: &Metrics, group: u32, what: &str, e: &Rejected) {
    metrics.count(|c| c.ds_rejections += 1);
    metrics.error(format!("group {group}: DS rejected a {what}: {e}"));
}

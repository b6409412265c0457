//! report.md: what a reader needs to judge the numbers (provenance first,
//! docs/STYLE.md 10), then the tables and charts.

use std::fmt::Write;

use super::{Report, Run};
use crate::metrics::{Op, Tracked};
use crate::soak::{SoakReport, secs};

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / 1048576.0)
}

fn bytes(b: f64) -> String {
    if b >= 1048576.0 {
        format!("{:.1} MiB", b / 1048576.0)
    } else if b >= 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{b:.0} B")
    }
}

fn us(v: u64) -> String {
    if v >= 10_000 { format!("{:.1} ms", v as f64 / 1000.0) } else { format!("{v} µs") }
}

/// Renders the report; `charts` are (title, file) pairs beside it.
pub fn render(r: &Report, charts: &[(String, String)]) -> String {
    let mut s = String::new();
    let p = &r.provenance;
    let sc = &r.scenario;
    let _ = writeln!(s, "# loadgen report: {}{}\n", sc.name, if r.quick { " (--quick)" } else { "" });
    let _ = writeln!(s, "{}\n", sc.description);
    let _ = writeln!(s, "| | |\n|---|---|");
    let _ = writeln!(s, "| command | `{}` |", p.command);
    let _ = writeln!(s, "| started | {} |", p.started_at);
    let _ = writeln!(
        s,
        "| throng | {}{} |",
        p.throng_version,
        p.git_commit.as_deref().map_or(String::new(), |c| format!(" (git {c})"))
    );
    let _ = writeln!(
        s,
        "| machine | {} × {}, {} RAM, {} (kernel {}) |",
        p.machine.nproc,
        p.machine.cpu_model,
        mib(p.machine.memory_bytes),
        p.machine.os,
        p.machine.kernel
    );
    let _ = writeln!(s, "| threads | {} (rayon pool; the DS and members share it) |", p.threads);
    let _ = writeln!(s, "| build | {} |", p.build_profile);
    let _ = writeln!(s, "| noise | {} |", p.noise);
    let _ = writeln!(
        s,
        "| scenario | {} group(s) × {} members, {} full members per group, cipher suite {}, seed {} |",
        sc.groups.count, sc.groups.members, sc.groups.full_members, sc.cipher_suite, sc.seed
    );
    let c = &sc.churn;
    let _ = writeln!(
        s,
        "| churn per epoch | {} Welcome joins, {} external joins, {} self-removes, {} server removes, {} host removes, {} updates, {} application messages |",
        c.welcome_joins,
        c.external_joins,
        c.self_removes,
        c.server_removes,
        c.host_removes,
        c.updates,
        c.application_messages
    );
    let _ = writeln!(
        s,
        "| policy | committer `{}`, ≤ {} proposals per commit, {} racing committers |\n",
        sc.policy.committer.name(),
        sc.policy.max_proposals_per_commit,
        sc.policy.concurrent_committers
    );
    let _ = writeln!(
        s,
        "Every figure below is measured in this run. Latencies of processing are those of the *full* members, which process every message independently; passive members hold only their identity and act through `Group::materialize` (see loadgen/README.md).\n"
    );
    if let Some(soak) = &r.soak {
        render_soak(&mut s, soak);
    }
    for (i, run) in r.runs.iter().enumerate() {
        if i == 0 {
            render_run(&mut s, run, true);
        }
    }
    if r.runs.len() > 1 {
        let _ = writeln!(s, "## Tree health: committer policies on the same seed\n");
        let _ = writeln!(
            s,
            "| policy | mean blank parents | mean resolution size | mean path encryptions per commit | last epoch: blank parents | last epoch: resolution | epochs/s |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|---|");
        for run in &r.runs {
            let t = &run.tree_health;
            let (lb, lr) = t.last.as_ref().map_or((0.0, 0.0), |l| (l.blank_parent_fraction, l.mean_resolution));
            let _ = writeln!(
                s,
                "| {} | {:.1}% | {:.2} | {:.1} | {:.1}% | {:.2} | {:.2} |",
                run.policy,
                t.mean_blank_parent_fraction * 100.0,
                t.mean_resolution,
                t.mean_path_encryptions,
                lb * 100.0,
                lr,
                run.throughput.commits_per_second
            );
        }
        let _ = writeln!(s);
        for run in r.runs.iter().skip(1) {
            let _ = writeln!(s, "<details><summary>Full figures of the `{}` run</summary>\n", run.policy);
            render_run(&mut s, run, false);
            let _ = writeln!(s, "</details>\n");
        }
    }
    if !charts.is_empty() {
        let _ = writeln!(s, "## Charts\n");
        for (title, file) in charts {
            let _ = writeln!(s, "**{title}**\n\n![{title}]({file})\n");
        }
    }
    s
}

fn clock(seconds: f64) -> String {
    let t = seconds.round() as u64;
    format!("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)
}

fn opt_mib(b: Option<u64>) -> String {
    b.map_or("— (the run ended before)".into(), mib)
}

fn render_soak(s: &mut String, k: &SoakReport) {
    let _ = writeln!(
        s,
        "## Soak: {} of churn on the same groups
",
        secs(k.duration_seconds)
    );
    let _ = writeln!(
        s,
        "**Verdict: {}.**
",
        k.verdict
    );
    let _ = writeln!(
        s,
        "The groups were built once, then churned until the duration ended (the scenario's epoch limit does not apply; only the scenario's own committer policy runs). Time is counted from the end of the build. A sampler thread read VmRSS from /proc/self/status every {} together with the epochs, the members and the interval's latencies.\n",
        secs(k.sample_every_seconds)
    );
    let _ = writeln!(s, "| | |\n|---|---|");
    let _ = writeln!(
        s,
        "| churn | {:.0} s (asked {}), {} epochs over all groups, {} samples ([{}]({})) |",
        k.churn_seconds,
        secs(k.duration_seconds),
        k.epochs,
        k.samples,
        k.samples_file,
        k.samples_file
    );
    let _ = writeln!(
        s,
        "| members (all groups) | {} at the start, {} at the end, {} to {} in the samples; {} |",
        k.members_start, k.members_end, k.members_min, k.members_max, k.balance
    );
    let _ = writeln!(s, "| RSS after the build (t = 0) | {} |", mib(k.rss_start_bytes));
    let _ = writeln!(s, "| RSS at 1 min | {} |", opt_mib(k.rss_1min_bytes));
    let _ = writeln!(s, "| RSS at 5 min | {} |", opt_mib(k.rss_5min_bytes));
    if (k.warmup_seconds - 300.0).abs() > 0.5 {
        let _ =
            writeln!(s, "| RSS at the end of the warm-up ({}) | {} |", secs(k.warmup_seconds), mib(k.rss_warmup_bytes));
    }
    let _ = writeln!(s, "| RSS at the end | {} |", mib(k.rss_end_bytes));
    let _ = writeln!(s, "| largest RSS sampled | {} |", mib(k.rss_max_bytes));
    let _ = writeln!(
        s,
        "| growth from the end of the warm-up ({}) to the end | {:+.2} MiB ({:+.2}%) |",
        secs(k.warmup_seconds),
        k.growth_after_warmup_mib,
        k.growth_after_warmup_percent
    );
    let _ = writeln!(
        s,
        "| RSS slope after the warm-up (least squares, {} samples) | {:+.2} MiB/h (second half of them: {:+.2} MiB/h) |",
        k.samples_after_warmup, k.slope_mib_per_hour, k.slope_second_half_mib_per_hour
    );
    let _ = writeln!(s, "| growth threshold | {:.1} MiB/h ({}) |\n", k.threshold_mib_per_hour, k.threshold_rule);
    let _ = writeln!(s, "Latency over the whole soak:\n");
    let _ = writeln!(s, "| measure | count | p50 | p99 | max |\n|---|---:|---:|---:|---:|");
    for t in Tracked::ALL {
        if let Some(l) = k.latency_us.get(&t) {
            let _ = writeln!(s, "| {} | {} | {} | {} | {} |", t.label(), l.count, us(l.p50), us(l.p99), us(l.max));
        }
    }
    let _ = writeln!(
        s,
        "\nOver time, one row per {} (percentiles exact per row; per-sample figures in the CSV). A churn round is one group's wall clock from drawing the epoch's events to the last application message: its commit, the full members processing it, the Welcome joins, and each external join (an epoch of its own).\n",
        k.rows.first().map_or_else(|| "row".to_string(), |r| secs(r.to_seconds - r.from_seconds))
    );
    let mut head = String::from("| from | to | RSS | epochs | members |");
    let mut rule = String::from("|---|---|---:|---:|---:|");
    for t in Tracked::ALL {
        let _ = write!(head, " {} n | p50 | p99 | max |", t.key());
        rule.push_str("---:|---:|---:|---:|");
    }
    let _ = writeln!(s, "{head}\n{rule}");
    for r in &k.rows {
        let _ = write!(
            s,
            "| {} | {} | {} | {} | {} |",
            clock(r.from_seconds),
            clock(r.to_seconds),
            mib(r.rss_bytes),
            r.epochs,
            r.members
        );
        for t in Tracked::ALL {
            let l = r.latency_us.get(&t).copied().unwrap_or_default();
            let _ = write!(s, " {} | {} | {} | {} |", l.count, us(l.p50), us(l.p99), us(l.max));
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s);
}

fn render_run(s: &mut String, run: &Run, headline: bool) {
    let h = if headline { "##" } else { "###" };
    let _ = writeln!(s, "{h} Run with `{}` committers\n", run.policy);
    let _ = writeln!(
        s,
        "Build {:.1} s, churn {:.1} s, {:.1} epochs per group, {:.0} members per group at the end.\n",
        run.build_seconds, run.churn_seconds, run.epochs_per_group, run.final_members
    );
    let _ = writeln!(s, "{h}# Latency (churn phase)\n");
    let _ = writeln!(s, "| operation | count | p50 | p90 | p99 | max |");
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    for op in Op::ALL {
        if let Some(l) = run.latency(op) {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                op.label(),
                l.count,
                us(l.p50),
                us(l.p90),
                us(l.p99),
                us(l.max)
            );
        }
    }
    let _ = writeln!(s, "\n{h}# Build phase\n");
    let _ = writeln!(
        s,
        "{:.1} s. Build commits carry up to the scenario's `adds_per_build_commit` Adds; joins are the full members' at the full group size.\n",
        run.build.seconds
    );
    let _ = writeln!(s, "| operation | count | p50 | p90 | p99 | max |");
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    for op in Op::ALL {
        if let Some(l) = run.build.latency_us.get(op.key()) {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                op.label(),
                l.count,
                us(l.p50),
                us(l.p90),
                us(l.p99),
                us(l.max)
            );
        }
    }
    let _ = writeln!(s, "\n| build message | count | mean | max |\n|---|---:|---:|---:|");
    for (k, w) in &run.build.wire {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            k.replace('_', " "),
            w.count,
            bytes(w.mean_bytes),
            bytes(w.max_bytes as f64)
        );
    }
    let t = &run.throughput;
    let _ = writeln!(s, "\n{h}# Throughput (churn phase)\n");
    let _ = writeln!(
        s,
        "{:.2} commits/s accepted, {:.1} commit processings/s by full members, {:.1} application messages/s sent, {:.1} decryptions/s.\n",
        t.commits_per_second,
        t.commit_processings_per_second,
        t.application_messages_per_second,
        t.decryptions_per_second
    );
    let _ = writeln!(s, "{h}# Bytes on the wire (churn phase)\n");
    let _ = writeln!(s, "| message | count | mean | max | sent to DS | delivered by DS |");
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    for (k, w) in &run.wire {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            k.replace('_', " "),
            w.count,
            bytes(w.mean_bytes),
            bytes(w.max_bytes as f64),
            bytes(w.total_bytes as f64),
            bytes(w.fanout_bytes as f64)
        );
    }
    let m = &run.memory;
    let _ = writeln!(s, "\n{h}# Memory\n");
    let _ = writeln!(s, "| | |\n|---|---|");
    let _ = writeln!(s, "| peak RSS | {} |", mib(m.peak_rss_bytes));
    let _ = writeln!(
        s,
        "| RSS before / after the build | {} / {} |",
        mib(m.rss_before_build_bytes),
        mib(m.rss_after_build_bytes)
    );
    let _ = writeln!(s, "| RSS growth per member during the build | {} |", bytes(m.rss_per_member_bytes));
    let _ = writeln!(s, "| full member private state | {} |", bytes(m.full_member_private_bytes as f64));
    let _ = writeln!(s, "| passive member state | {} |", bytes(m.passive_member_bytes as f64));
    let _ = writeln!(s, "| shared public tree (one group) | {} |", bytes(m.shared_tree_bytes as f64));
    let _ = writeln!(s, "| DS public group tree (one group) | {} |", bytes(m.ds_public_group_bytes as f64));
    let th = &run.tree_health;
    let _ = writeln!(s, "\n{h}# Tree health\n");
    let _ = writeln!(
        s,
        "Mean over epochs: {:.1}% blank parent nodes, mean resolution size {:.2}, {:.1} HPKE encryptions per commit path.\n",
        th.mean_blank_parent_fraction * 100.0,
        th.mean_resolution,
        th.mean_path_encryptions
    );
    let c = &run.counters;
    let _ = writeln!(s, "{h}# Events\n");
    let _ = writeln!(
        s,
        "{} epochs; {} lost commit races; {} Welcome joins, {} external joins ({} retries after a lost epoch); {} self-removes, {} server removes, {} host removes; {} updates; {} application messages, {} decryptions; {} passive members materialized; {} churn events postponed by the proposal cap; {} DS rejections and {} member errors.\n",
        c.epochs,
        c.lost_races,
        c.welcome_joins,
        c.external_joins,
        c.external_join_retries,
        c.self_removes,
        c.server_removes,
        c.host_removes,
        c.updates,
        c.application_messages,
        c.application_decryptions,
        c.materialized,
        c.postponed,
        c.ds_rejections,
        c.member_errors
    );
    if let Some(backend) = &run.backend {
        render_backend(s, backend, h);
    }
    if let Some(media) = &run.media {
        render_media(s, run, media, h);
    }
    if let Some(partial) = &run.partial {
        render_partial(s, run, partial, h);
    }
    if !run.errors.is_empty() {
        let _ = writeln!(s, "Errors:\n");
        for e in &run.errors {
            let _ = writeln!(s, "- {e}");
        }
        let _ = writeln!(s);
    }
}

fn render_backend(s: &mut String, b: &crate::report::BackendReport, h: &str) {
    let _ = writeln!(s, "{h}# DS nodes and their store (churn phase)\n");
    let _ = writeln!(
        s,
        "{} node(s), each a `Registry` with its own store handle, over {}; each request went to a node chosen by `{}` routing. {} racing member commits lost to a commit another node had accepted (the race was decided by the store's compare-and-set append). Fork check at the end: {} group(s), {} fork(s) (every full member on one epoch, epoch authenticator and tree hash; every node, brought up to the store's head, on that epoch and tree hash).\n",
        b.nodes.len(),
        b.store,
        b.routing,
        b.lost_races_across_nodes,
        b.groups_checked,
        b.forks
    );
    let _ = writeln!(
        s,
        "| node | commits accepted | commits/s | lost races answered | of which to the other node | store appends | append conflicts | append p50 | p90 | p99 | max |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in &b.nodes {
        let c = &n.counters;
        let l = &n.store_append_us;
        let _ = writeln!(
            s,
            "| {} | {} | {:.2} | {} | {} | {} | {} | {} | {} | {} | {} |",
            n.node,
            c.commits,
            n.commits_per_second,
            c.lost_races,
            c.lost_races_to_other_node,
            c.store_appends,
            c.store_conflicts,
            us(l.p50),
            us(l.p90),
            us(l.p99),
            us(l.max)
        );
    }
    let _ = writeln!(
        s,
        "\nA store append is `Store::append` as the node called it, the compare-and-set of one handshake message (commits and proposals; for PostgreSQL one statement and one round trip, measured around the call). Lost races answered count the commits (members' and external joiners') the node refused as `LostRace` or `WrongEpoch`, whether it knew before any signature work or learned it from the store; an append conflict is the store refusing an append because the group's head had moved.\n"
    );
}

fn ns(v: u64) -> String {
    if v < 10_000 { format!("{v} ns") } else { us(v / 1000) }
}

fn render_media(s: &mut String, run: &Run, media: &crate::report::MediaReport, h: &str) {
    let c = &media.counters;
    let _ = writeln!(s, "{h}# Media (SFrame, RFC 9605)\n");
    let _ = writeln!(
        s,
        "{} frames sent, {} decryptions. {} decryptions of frames delivered after their round's commits, {} of them by a receiver already in a later epoch.\n",
        c.frames_sent, c.frames_decrypted, c.frames_late, c.frames_late_across_epochs
    );
    let _ = writeln!(s, "| late frames lost to key changes | count |\n|---|---:|");
    let _ = writeln!(s, "| with the scenario's retention window | {} |", c.frames_lost);
    let _ = writeln!(
        s,
        "| with no retention (a second key ring fed the same epochs) | {} |",
        c.frames_lost_without_retention
    );
    let _ = writeln!(s, "| other failures | {} |\n", c.errors);
    let _ = writeln!(s, "| operation | count | p50 | p90 | p99 | max |\n|---|---:|---:|---:|---:|---:|");
    for op in crate::metrics::MediaOp::ALL {
        if let Some(l) = run.media_latency(op) {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                op.label(),
                l.count,
                ns(l.p50),
                ns(l.p90),
                ns(l.p99),
                ns(l.max)
            );
        }
    }
    let _ = writeln!(
        s,
        "\n{} sender keys derived (each on a sender's first frame of an epoch). At the end: {} SFrame receiving keys held by all receivers, at most {} epochs per key ring, and {} of MLS state per full member for retained epochs.\n",
        c.sender_keys_derived,
        c.keys_held,
        c.epochs_held,
        bytes(c.mls_retained_bytes as f64)
    );
}

/// A latency's p50 / p99 / max, or a dash.
fn spread(l: Option<&crate::report::Latency>) -> String {
    l.map_or("–".to_string(), |l| format!("{} / {} / {} ({})", us(l.p50), us(l.p99), us(l.max), l.count))
}

fn render_partial(s: &mut String, run: &Run, p: &crate::report::PartialReport, h: &str) {
    let c = &run.counters;
    let _ = writeln!(s, "{h}# Partial members (draft-ietf-mls-partial)\n");
    let _ = writeln!(
        s,
        "Up to {} partial members per group: they join from the DS's AnnotatedWelcomes, follow every commit through the DS's AnnotatedCommits (`Registry::handle_annotating`) and read application messages with the sender's proof. {} partial joins, {} partial members removed ({} removes by a host in its commit, {} by the DS's Remove proposal, partial members first), {} AnnotatedCommits processed, {} application messages read; **{} disagreements** with the full members' epoch authenticator, {} partial errors, {} DS annotations differing from the committer's.\n",
        p.target,
        c.partial_joins,
        c.partial_removes,
        c.host_removes,
        c.server_removes,
        c.partial_commits_processed,
        c.partial_decryptions,
        p.disagreements,
        c.partial_errors,
        c.annotation_mismatches
    );
    let full_join = run.latency(Op::Join).or_else(|| run.build.latency_us.get(Op::Join.key()));
    let full_join_where = if run.latency(Op::Join).is_some() { "churn" } else { "build" };
    let _ = writeln!(s, "| p50 / p99 / max (count) | partial member | full member |\n|---|---|---|");
    let _ = writeln!(
        s,
        "| join (usable state from the Welcome) | {} | {} ({full_join_where}) |",
        spread(run.latency(Op::PartialJoin)),
        spread(full_join)
    );
    let _ = writeln!(
        s,
        "| process a commit | {} | {} |",
        spread(run.latency(Op::PartialProcessCommit)),
        spread(run.latency(Op::ProcessCommit))
    );
    let _ = writeln!(
        s,
        "| read an application message | {} | {} |",
        spread(run.latency(Op::PartialDecryptApplication)),
        spread(run.latency(Op::DecryptApplication))
    );
    let _ = writeln!(
        s,
        "| state kept | {} p50, {} max ({} members) | {} (private state + public tree) |",
        bytes(p.state_bytes.p50 as f64),
        bytes(p.state_bytes.max as f64),
        p.state_bytes.count,
        bytes(p.full_member_state_bytes as f64)
    );
    let _ = writeln!(
        s,
        "\nAnnotating a commit for every partial member (`CommitAnnotator`, the work `handle_annotating` adds to the DS's validation; timed on the committer's view, whose AnnotatedCommits must equal the DS's): {}; {:.1} µs per member on average.\n",
        spread(run.latency(Op::AnnotateCommit)),
        p.annotation_us_per_member
    );
}

//! Partial members (draft-ietf-mls-partial): real [`PartialGroup`]s that
//! hold no tree. They join from AnnotatedWelcomes, follow every commit
//! through the AnnotatedCommits the DS makes from its full view
//! (`Registry::handle_annotating`), and read application messages with
//! the proof of their sender (`PublicGroup::sender_authenticate`).
//!
//! They never act (commit, propose, leave by SelfRemove): a partial client
//! cannot check the proposals that need the tree (draft §"Protocol
//! Overview"). They leave when removed: by the DS's Remove proposal, which
//! a full or passive member commits, or by a Remove in a committer's own
//! commit (a host removing an attendee).
//!
//! Their correctness check is the full members': after each epoch (and
//! each join) every partial member holds the epoch authenticator the full
//! members hold (RFC 9420 §8.7), and every application message sent to it
//! reads back with its sender.

use std::sync::Arc;

use rayon::prelude::*;
use throng::Error;
use throng::crypto::CryptoProvider;
use throng::internals::group::{Group, GroupConfig, KeyPackageBundle, PskStore};
use throng::internals::tree_math::LeafIndex;
use throng::messages::content::{MlsMessage, PrivateMessage};
use throng::partial::{AnnotatedWelcome, PartialCommitOutcome, PartialGroup, SenderAuthenticatedMessage};

use crate::metrics::{Metrics, Op};

use super::ds::Annotations;

/// The partial members of one group.
#[derive(Debug, Default)]
pub struct PartialSet {
    /// By leaf.
    members: Vec<(LeafIndex, PartialGroup)>,
    /// Most members at once (the scenario's `groups.partial_members`).
    target: usize,
}

/// What one partial member's step did, tallied after the parallel part.
#[derive(Default)]
struct Tally {
    processed: u64,
    read: u64,
    disagreements: u64,
    errors: Vec<String>,
}

impl Tally {
    fn add(mut self, other: Tally) -> Tally {
        self.processed += other.processed;
        self.read += other.read;
        self.disagreements += other.disagreements;
        self.errors.extend(other.errors);
        self
    }

    fn record(self, metrics: &Metrics, group: u32) {
        let errors = self.errors.len() as u64;
        metrics.count(|c| {
            c.partial_commits_processed += self.processed;
            c.partial_decryptions += self.read;
            c.partial_disagreements += self.disagreements;
            c.partial_errors += errors;
        });
        for e in self.errors {
            metrics.error(format!("group {group}: partial {e}"));
        }
    }
}

impl PartialSet {
    /// An empty set of at most `target` members.
    pub fn new(target: usize) -> Self {
        Self { members: Vec::new(), target }
    }

    /// Whether the scenario has partial members.
    pub fn enabled(&self) -> bool {
        self.target > 0
    }

    /// Members now.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// How many more may join.
    pub fn room(&self) -> usize {
        self.target.saturating_sub(self.members.len())
    }

    /// Their leaves, in order.
    pub fn leaves(&self) -> Vec<LeafIndex> {
        self.members.iter().map(|(l, _)| *l).collect()
    }

    /// Whether `leaf` is a partial member.
    pub fn contains(&self, leaf: LeafIndex) -> bool {
        self.members.iter().any(|(l, _)| *l == leaf)
    }

    /// Bytes each member keeps (`PartialGroup::state_bytes`).
    pub fn state_bytes(&self) -> Vec<usize> {
        self.members.iter().map(|(_, g)| g.state_bytes()).collect()
    }

    /// Every member records the epoch's accepted proposals, for a commit
    /// that names them by reference (RFC 9420 §12.4.2).
    pub fn receive_proposals(&mut self, proposals: &[(MlsMessage, Option<LeafIndex>)], metrics: &Metrics, group: u32) {
        if self.members.is_empty() || proposals.is_empty() {
            return;
        }
        let tally = self
            .members
            .par_iter_mut()
            .map(|(leaf, g)| {
                let mut t = Tally::default();
                for (m, _) in proposals {
                    if let Err(e) = g.receive_proposal(m.clone(), None) {
                        t.errors.push(format!("leaf {}: proposal: {e}", leaf.0));
                    }
                }
                t
            })
            .reduce(Tally::default, Tally::add);
        tally.record(metrics, group);
    }

    /// The joiners at `leaves` join from their AnnotatedWelcomes (timed,
    /// in parallel) and must hold `reference`'s epoch authenticator.
    #[allow(clippy::too_many_arguments)] // the joiners' inputs, in the order the DS gave them
    pub fn join(
        &mut self,
        provider: &Arc<dyn CryptoProvider>,
        config: &GroupConfig,
        welcomes: Vec<Result<AnnotatedWelcome, Error>>,
        bundles: &[KeyPackageBundle],
        leaves: &[LeafIndex],
        reference: &Group,
        metrics: &Metrics,
        group: u32,
    ) {
        let authenticator = reference.epoch_authenticator();
        let joined: Vec<Result<(LeafIndex, PartialGroup), String>> = welcomes
            .into_par_iter()
            .zip(bundles.par_iter())
            .zip(leaves.par_iter())
            .map(|((w, b), &leaf)| {
                let w = w.map_err(|e| format!("leaf {}: no AnnotatedWelcome: {e}", leaf.0))?;
                let g = metrics
                    .time(Op::PartialJoin, || {
                        PartialGroup::join(provider.clone(), config.clone(), &w, b, PskStore::default())
                    })
                    .map_err(|e| format!("leaf {}: join: {e}", leaf.0))?;
                if g.own_leaf() != leaf {
                    return Err(format!("leaf {}: joined at leaf {}", leaf.0, g.own_leaf().0));
                }
                Ok((leaf, g))
            })
            .collect();
        let mut tally = Tally::default();
        for j in joined {
            match j {
                Ok((leaf, g)) => {
                    if g.epoch() != reference.epoch() || g.epoch_authenticator() != authenticator {
                        tally.disagreements += 1;
                        tally.errors.push(format!("leaf {}: joined on another epoch authenticator", leaf.0));
                    }
                    self.members.push((leaf, g));
                    metrics.count(|c| c.partial_joins += 1);
                }
                Err(e) => tally.errors.push(e),
            }
        }
        tally.record(metrics, group);
    }

    /// Every member processes its AnnotatedCommit of the commit that
    /// removed `removed` (timed, in parallel) and must then hold
    /// `reference`'s epoch authenticator; a removed member, for which the
    /// DS has no proof in the new tree, learns its removal from another
    /// member's annotation (draft §"Annotated Commit") and leaves the set.
    pub fn follow(
        &mut self,
        annotations: &Annotations,
        removed: &[LeafIndex],
        reference: &Group,
        metrics: &Metrics,
        group: u32,
    ) {
        if self.members.is_empty() {
            return;
        }
        let any = annotations.annotated.iter().find_map(|a| a.as_ref().ok());
        let authenticator = reference.epoch_authenticator();
        let epoch = reference.epoch();
        let outcomes: Vec<(bool, Tally)> = self
            .members
            .par_iter_mut()
            .map(|(leaf, g)| {
                let mut t = Tally::default();
                let is_removed = removed.contains(leaf);
                let own = annotations.leaves.iter().position(|l| l == leaf).and_then(|i| annotations.annotated.get(i));
                let annotated = match (own, is_removed) {
                    (Some(Ok(a)), _) => Some(a),
                    (_, true) => any,
                    (Some(Err(e)), false) => {
                        t.errors.push(format!("leaf {}: no AnnotatedCommit: {e}", leaf.0));
                        None
                    }
                    (None, false) => {
                        t.errors.push(format!("leaf {}: not annotated", leaf.0));
                        None
                    }
                };
                let Some(annotated) = annotated else {
                    t.disagreements += 1;
                    return (false, t);
                };
                let outcome = metrics.time(Op::PartialProcessCommit, || g.process_commit(annotated));
                match (outcome, is_removed) {
                    (Ok(PartialCommitOutcome::Removed), true) => (true, t),
                    (Ok(PartialCommitOutcome::Advanced { .. }), false) => {
                        t.processed += 1;
                        if g.epoch() != epoch || g.epoch_authenticator() != authenticator {
                            t.disagreements += 1;
                            t.errors.push(format!("leaf {}: epoch {} on another epoch authenticator", leaf.0, epoch));
                        }
                        (false, t)
                    }
                    (Ok(other), _) => {
                        t.disagreements += 1;
                        t.errors.push(format!("leaf {}: {other:?} (removed: {is_removed})", leaf.0));
                        (is_removed, t)
                    }
                    (Err(e), _) => {
                        t.disagreements += 1;
                        t.errors.push(format!("leaf {}: process commit: {e}", leaf.0));
                        (is_removed, t)
                    }
                }
            })
            .collect();
        let mut tally = Tally::default();
        let mut gone = Vec::new();
        for ((leaf, _), (left, t)) in self.members.iter().zip(outcomes) {
            if left {
                gone.push(*leaf);
            }
            tally = tally.add(t);
        }
        // A member the commit removed leaves whatever it made of it.
        self.members.retain(|(l, _)| !gone.contains(l) && !removed.contains(l));
        metrics.count(|c| c.partial_removes += gone.len() as u64);
        tally.record(metrics, group);
    }

    /// Every member reads `messages` (each with its sender's proof; timed)
    /// and must get the sender back.
    pub fn read(
        &mut self,
        messages: &[(SenderAuthenticatedMessage<PrivateMessage>, LeafIndex)],
        metrics: &Metrics,
        group: u32,
    ) {
        if self.members.is_empty() || messages.is_empty() {
            return;
        }
        let tally = self
            .members
            .par_iter_mut()
            .map(|(leaf, g)| {
                let mut t = Tally::default();
                for (m, sender) in messages {
                    match metrics.time(Op::PartialDecryptApplication, || g.process_application(m.clone())) {
                        Ok((from, _)) if from == *sender => t.read += 1,
                        Ok((from, _)) => {
                            t.errors.push(format!("leaf {}: message of {} read as {}", leaf.0, sender.0, from.0))
                        }
                        Err(e) => t.errors.push(format!("leaf {}: read: {e}", leaf.0)),
                    }
                }
                t
            })
            .reduce(Tally::default, Tally::add);
        tally.record(metrics, group);
    }
}

//! Proposals (RFC 9420 §12.1) and a commit's proposal list: validated as a
//! list (§12.2) and applied in the order of §12.3 to a staged tree. The one
//! implementation of these rules, run by committers, receiving members and
//! servers alike.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use crate::crypto::Suite;
use crate::identity::{IdentityScope, ValidationPoint};
use crate::limits::{Limit, LimitExceeded, Limits};
use crate::messages::extensions::check_extension_list;

use super::PublicGroupConfig;
use crate::custom_proposals::{CustomProposalCheck, ProposalStage};
use crate::error::{
    CommitError, CredentialError, CustomProposalError, Error, InternalError, KeyPackageError, LeafNodeError,
    ProposalError, UpdatePathError,
};
use crate::messages::registered_extensions::{ExtensionData, ExternalSenders, RequiredCapabilities};
use crate::messages::{
    Commit, Credential, Extension, GroupContext, KeyPackage, LeafNode, LeafNodeSource, Lifetime, PreSharedKeyId,
    Proposal, ProposalOrRef, ProposalRef, ProposalType, ProtocolVersion, Psk, ReInit, ResumptionPskUsage, Sender,
};
use crate::tree::{LeafNodeRules, RatchetTree, StagedTree, TreeView, validate_leaf_node};
use crate::tree_math::LeafIndex;

/// A proposal received (or sent) in the current epoch, kept for commits
/// that reference it (§12.1).
#[derive(Clone, Debug)]
pub(crate) struct CachedProposal {
    pub(crate) reference: ProposalRef,
    pub(crate) proposal: Proposal,
    pub(crate) sender: Sender,
}

/// The proposals of the current epoch (§12.1), in arrival order, indexed
/// by reference and counted by sender so that both lookups and the bounds
/// of [`Limits`] cost O(1) whatever peers send.
#[derive(Clone, Debug, Default)]
pub(crate) struct ProposalCache {
    items: Vec<CachedProposal>,
    by_reference: HashMap<ProposalRef, usize>,
    per_sender: HashMap<Sender, usize>,
}

impl ProposalCache {
    /// Caches a proposal unless it is already cached; fails, changing
    /// nothing, when the cache is full in total or for its sender. A
    /// committer's own proposals count like anyone's.
    pub(crate) fn insert(&mut self, proposal: CachedProposal, limits: &Limits) -> Result<(), Error> {
        if self.check_insert(&proposal, limits)? {
            self.push(proposal);
        }
        Ok(())
    }

    /// Whether [`insert`](Self::insert) would add `proposal` (`false`: it
    /// is cached already), or the bound it would break; changes nothing
    /// (a server decides before it stores the proposal, `server`).
    pub(crate) fn check_insert(&self, proposal: &CachedProposal, limits: &Limits) -> Result<bool, Error> {
        if self.by_reference.contains_key(&proposal.reference) {
            return Ok(false);
        }
        let sender = Self::counted_as(proposal.sender);
        let of_sender = self.per_sender.get(&sender).copied().unwrap_or(0);
        Limits::check(Limit::CachedProposals, self.items.len() + 1, limits.max_cached_proposals)?;
        Limits::check(Limit::CachedProposalsPerSender, of_sender + 1, limits.max_cached_proposals_per_sender)?;
        Ok(true)
    }

    /// Appends a proposal not cached yet, indexed and counted.
    fn push(&mut self, proposal: CachedProposal) {
        *self.per_sender.entry(Self::counted_as(proposal.sender)).or_default() += 1;
        self.by_reference.insert(proposal.reference.clone(), self.items.len());
        self.items.push(proposal);
    }

    /// The sender a proposal counts against: new members are one sender,
    /// as their number is not bounded by the tree.
    fn counted_as(sender: Sender) -> Sender {
        match sender {
            Sender::NewMemberProposal | Sender::NewMemberCommit => Sender::NewMemberProposal,
            s => s,
        }
    }

    /// A cache restored from exported state, which was bounded when it was
    /// received (a duplicate reference keeps its first entry).
    pub(crate) fn restore(items: Vec<CachedProposal>) -> Self {
        let mut cache = Self::default();
        for p in items {
            if !cache.by_reference.contains_key(&p.reference) {
                cache.push(p);
            }
        }
        cache
    }

    /// The cached proposal with this reference.
    pub(crate) fn get(&self, reference: &ProposalRef) -> Option<&CachedProposal> {
        self.by_reference.get(reference).map(|&i| &self.items[i])
    }

    /// Every cached proposal, in arrival order.
    pub(crate) fn iter(&self) -> std::slice::Iter<'_, CachedProposal> {
        self.items.iter()
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Empties the cache (a new epoch, §12.4.2).
    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }
}

/// A proposal as committed: its content, who proposed it, and its
/// reference when it came by reference.
#[derive(Clone, Debug)]
pub struct CommittedProposal {
    /// The proposal.
    pub proposal: Proposal,
    /// Who sent it (the committer for inline proposals).
    pub sender: Sender,
    /// Its reference, when the Commit named it by reference.
    pub reference: Option<ProposalRef>,
}

/// The proposals a Commit covers (§12.4): references resolved against the
/// epoch's cache, inline proposals attributed to the committer `sender`.
pub(crate) fn resolve_committed(
    cache: &ProposalCache,
    commit: &Commit,
    sender: Sender,
    limits: &Limits,
) -> Result<Vec<CommittedProposal>, Error> {
    Limits::check(Limit::ProposalsPerCommit, commit.proposals.len(), limits.max_proposals_per_commit)?;
    commit
        .proposals
        .iter()
        .map(|p| match p {
            ProposalOrRef::Reference(r) => {
                let cached = cache.get(r).ok_or(CommitError::UnknownProposalReference)?;
                Ok(CommittedProposal {
                    proposal: cached.proposal.clone(),
                    sender: cached.sender,
                    reference: Some(r.clone()),
                })
            }
            ProposalOrRef::Proposal(p) => Ok(CommittedProposal { proposal: (**p).clone(), sender, reference: None }),
        })
        .collect()
}

/// Who is committing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Committer {
    /// A member at this leaf.
    Member(LeafIndex),
    /// A new member joining by external commit (§12.4.3.2).
    External,
    /// Nobody yet: a proposal checked on its own, before any commit names
    /// it, so the rules about the committer's own Update or Remove cannot
    /// apply.
    Unknown,
}

impl Committer {
    /// The committer of a commit from `sender` (§6: members, and new
    /// members by external commit).
    pub(crate) fn of(sender: Sender) -> Result<Self, Error> {
        match sender {
            Sender::Member(l) => Ok(Committer::Member(l)),
            Sender::NewMemberCommit => Ok(Committer::External),
            _ => Err(CommitError::SenderCannotCommit.into()),
        }
    }
}

/// What applying a valid proposal list did.
#[derive(Clone, Debug, Default)]
pub struct AppliedProposals {
    /// New members and where they landed, in proposal order.
    pub added: Vec<(LeafIndex, KeyPackage)>,
    /// Removed members and the leaf they held.
    pub removed: Vec<(LeafIndex, LeafNode)>,
    /// Members whose leaf an Update replaced.
    pub updated: Vec<LeafIndex>,
    /// Members removed by their own SelfRemove (draft-ietf-mls-extensions),
    /// also listed in `removed`.
    pub self_removed: Vec<LeafIndex>,
    /// The application-defined proposals the commit covers, in list order,
    /// each accepted by the application's validator
    /// ([`crate::custom_proposals`]): for the application to act on when
    /// it merges the commit.
    pub custom: Vec<CommittedProposal>,
    /// PSKs to inject, in proposal order (§8.4).
    pub psks: Vec<PreSharedKeyId>,
    /// The new GroupContext extensions, if a proposal replaced them.
    pub extensions: Option<Vec<Extension>>,
    /// The ExternalInit KEM output of an external commit.
    pub external_init: Option<Vec<u8>>,
    /// A ReInit to carry out after this commit.
    pub reinit: Option<ReInit>,
    /// Whether the commit must carry an UpdatePath (§12.4).
    pub path_required: bool,
}

impl AppliedProposals {
    /// The leaves the commit adds, which UpdatePath encryption skips (§7.6).
    pub(crate) fn new_members(&self) -> Vec<LeafIndex> {
        self.added.iter().map(|(l, _)| *l).collect()
    }
}

/// The leaf-node rules in force under `extensions` (§7.3).
pub(crate) fn leaf_rules<'a>(
    context: &GroupContext,
    required: Option<&'a RequiredCapabilities>,
    config: &PublicGroupConfig,
) -> LeafNodeRules<'a> {
    LeafNodeRules {
        cipher_suite: context.cipher_suite,
        required_capabilities: required,
        now: config.now(),
        limits: config.limits,
    }
}

/// The application's credential validation (§5.3.1) for one operation in
/// the epoch of `context`.
pub(crate) fn identity_scope<'a>(context: &'a GroupContext, config: &'a PublicGroupConfig) -> IdentityScope<'a> {
    IdentityScope {
        validator: &*config.identity,
        group_id: &context.group_id,
        epoch: context.epoch,
        cipher_suite: context.cipher_suite,
        now: Lifetime::now(),
    }
}

/// Every external sender of `extensions` (§12.1.8.1), validated as any
/// credential a member encounters (§5.3.1).
pub(crate) fn check_external_senders(identity: &IdentityScope<'_>, extensions: &[Extension]) -> Result<(), Error> {
    if let Some(senders) = ExternalSenders::find_in(extensions)? {
        for sender in &senders.0 {
            identity.check(
                ValidationPoint::ExternalSender,
                &sender.credential,
                sender.signature_key.as_bytes(),
                None,
            )?;
        }
    }
    Ok(())
}

/// Validates `proposals` as a list (§12.2) and applies them in the order
/// of §12.3 to `staged`, one function per step. Every check runs before
/// the tree is touched where it can, and the caller drops the stage on
/// error, so a rejected list changes nothing. `parallel` checks the Adds'
/// KeyPackages on rayon.
pub(crate) fn apply_proposals(
    suite: &Suite<'_>,
    context: &GroupContext,
    staged: &mut StagedTree<'_>,
    proposals: &[CommittedProposal],
    committer: Committer,
    config: &PublicGroupConfig,
    parallel: bool,
) -> Result<AppliedProposals, Error> {
    let limits = &config.limits;
    // Every commit (made, received or staged by a server) passes here, so
    // this is where an epoch at 2^64 - 1 stops: it cannot advance (§8).
    if context.epoch.checked_add(1).is_none() {
        return Err(LimitExceeded { limit: Limit::Counter, value: context.epoch, max: u64::MAX - 1 }.into());
    }
    Limits::check(Limit::ProposalsPerCommit, proposals.len(), limits.max_proposals_per_commit)?;
    let psks = proposals.iter().filter(|p| matches!(p.proposal, Proposal::PreSharedKey(_))).count();
    Limits::check(Limit::PsksPerCommit, psks, limits.max_psks_per_commit)?;
    check_list_shape(proposals, committer)?;
    // §12.3 step 1: new extensions first; later checks use them.
    let new_extensions = new_extensions(proposals)?;
    if let Some(new) = &new_extensions {
        check_extension_list(new, limits)?;
    }
    let identity = identity_scope(context, config);
    if let Some(new) = &new_extensions {
        check_external_senders(&identity, new)?;
    }
    let extensions = new_extensions.as_deref().unwrap_or(&context.extensions);
    let required = RequiredCapabilities::find_in(extensions)?;
    let rules = leaf_rules(context, required.as_ref(), config);

    let mut touched: HashSet<u32> = HashSet::new();
    let updated = apply_updates(suite, context, staged, proposals, committer, &rules, &identity, &mut touched)?;
    // draft-ietf-mls-extensions: SelfRemoves after Updates, before Removes
    // (so a Remove of a leaf that removes itself is the invalid one).
    let (self_removed, mut removed) = apply_self_removes(staged, proposals, committer, &mut touched)?;
    removed.extend(apply_removes(staged, proposals, committer, &mut touched)?);
    let adds = proposals.iter().filter(|p| matches!(p.proposal, Proposal::Add(_))).count();
    // Adds fill blank leaves first (§7.7): count members only when the
    // width alone would not fit.
    if (staged.leaf_count() as usize).saturating_add(adds) > limits.max_leaves as usize {
        let leaves = staged.members().len().saturating_add(adds);
        Limits::check(Limit::Leaves, leaves, limits.max_leaves as usize)?;
    }
    let added = apply_adds(suite, staged, proposals, &rules, &identity, parallel)?;
    check_types_supported(staged, proposals, required.as_ref(), &added, parallel)?;
    let custom = check_custom(context, proposals, committer, config)?;
    let path_required = proposals.is_empty()
        || proposals.iter().any(|p| match &p.proposal {
            Proposal::Custom(c) => config.custom_proposals.path_required(c.proposal_type),
            other => other.requires_path(),
        });
    let mut out =
        AppliedProposals { added, removed, updated, self_removed, custom, path_required, ..Default::default() };
    apply_rest(suite, context, proposals, &mut out)?;
    if new_extensions.is_some() {
        check_members_support(staged, extensions, required.as_ref())?;
    }
    out.extensions = new_extensions;
    Ok(out)
}

/// The GroupContextExtensions of the list, if any: at most one (§12.2).
fn new_extensions(proposals: &[CommittedProposal]) -> Result<Option<Vec<Extension>>, Error> {
    let mut gce = proposals.iter().filter_map(|p| match &p.proposal {
        Proposal::GroupContextExtensions(g) => Some(g.extensions.clone()),
        _ => None,
    });
    let first = gce.next();
    if gce.next().is_some() {
        return Err(ProposalError::MultipleGroupContextExtensions.into());
    }
    Ok(first)
}

/// §12.3 step 2: Updates replace their senders' leaves.
#[allow(clippy::too_many_arguments)] // the stage's parts, each needed once
fn apply_updates(
    suite: &Suite<'_>,
    context: &GroupContext,
    staged: &mut StagedTree<'_>,
    proposals: &[CommittedProposal],
    committer: Committer,
    rules: &LeafNodeRules<'_>,
    identity: &IdentityScope<'_>,
    touched: &mut HashSet<u32>,
) -> Result<Vec<LeafIndex>, Error> {
    let mut updated = Vec::new();
    for p in proposals {
        let Proposal::Update(update) = &p.proposal else { continue };
        let Sender::Member(leaf) = p.sender else {
            return Err(ProposalError::UpdateFromNonMember.into());
        };
        if committer == Committer::Member(leaf) {
            return Err(ProposalError::CommitterUpdate.into());
        }
        if !touched.insert(leaf.0) {
            return Err(ProposalError::LeafTouchedTwice(leaf.0).into());
        }
        check_update_leaf(suite, context, staged, leaf, &update.leaf_node, rules, identity)?;
        check_unique_keys(staged, &update.leaf_node, Some(leaf))?;
        staged.update_leaf(leaf, update.leaf_node.clone())?;
        updated.push(leaf);
    }
    Ok(updated)
}

/// An Update's new leaf for `leaf` (§12.1.2): an update-source leaf valid
/// under `rules`, signed for this group and leaf, with a new encryption key,
/// and a credential the application accepts, a valid successor of the
/// leaf's current one if it changed (§5.3.1).
fn check_update_leaf(
    suite: &Suite<'_>,
    context: &GroupContext,
    tree: &impl TreeView,
    leaf: LeafIndex,
    new: &LeafNode,
    rules: &LeafNodeRules<'_>,
    identity: &IdentityScope<'_>,
) -> Result<(), Error> {
    let current = tree.leaf(leaf).ok_or(ProposalError::UpdateOfBlankLeaf(leaf.0))?;
    if !matches!(new.leaf_node_source, LeafNodeSource::Update) {
        return Err(LeafNodeError::WrongSource { expected: "update" }.into());
    }
    if new.encryption_key() == current.encryption_key() {
        return Err(ProposalError::UpdateKeepsEncryptionKey.into());
    }
    validate_leaf_node(suite, new, Some((&context.group_id, leaf)), rules)?;
    identity.check_leaf(ValidationPoint::Update, new, Some(leaf))?;
    identity.check_successor(ValidationPoint::Update, leaf, &current.credential, &new.credential)
}

/// §12.3 step 3: Removes blank their leaves.
fn apply_removes(
    staged: &mut StagedTree<'_>,
    proposals: &[CommittedProposal],
    committer: Committer,
    touched: &mut HashSet<u32>,
) -> Result<Vec<(LeafIndex, LeafNode)>, Error> {
    let mut removed = Vec::new();
    for p in proposals {
        let Proposal::Remove(remove) = &p.proposal else { continue };
        let leaf = remove.removed;
        if committer == Committer::Member(leaf) {
            return Err(ProposalError::CommitterRemoved.into());
        }
        if !touched.insert(leaf.0) {
            return Err(ProposalError::LeafTouchedTwice(leaf.0).into());
        }
        let old = staged.leaf(leaf).cloned().ok_or(ProposalError::RemoveOfBlankLeaf(leaf.0))?;
        staged.remove_leaf(leaf)?;
        removed.push((leaf, old));
    }
    Ok(removed)
}

/// SelfRemoves (draft-ietf-mls-extensions): each removes its sender, a
/// member, like a Remove of the sender's leaf. Returns the leaves, and the
/// removed leaves as `apply_removes` does.
#[allow(clippy::type_complexity)] // the two lists AppliedProposals keeps
fn apply_self_removes(
    staged: &mut StagedTree<'_>,
    proposals: &[CommittedProposal],
    committer: Committer,
    touched: &mut HashSet<u32>,
) -> Result<(Vec<LeafIndex>, Vec<(LeafIndex, LeafNode)>), Error> {
    let mut leaves = Vec::new();
    let mut removed = Vec::new();
    for p in proposals {
        if !matches!(p.proposal, Proposal::SelfRemove) {
            continue;
        }
        // check_list_shape admits SelfRemoves from members only.
        let Sender::Member(leaf) = p.sender else {
            return Err(ProposalError::NotAllowedFromSender.into());
        };
        if committer == Committer::Member(leaf) {
            return Err(ProposalError::CommitterRemoved.into());
        }
        if !touched.insert(leaf.0) {
            return Err(ProposalError::LeafTouchedTwice(leaf.0).into());
        }
        let old = staged.leaf(leaf).cloned().ok_or(ProposalError::RemoveOfBlankLeaf(leaf.0))?;
        staged.remove_leaf(leaf)?;
        leaves.push(leaf);
        removed.push((leaf, old));
    }
    Ok((leaves, removed))
}

/// §12.2: a proposal of a non-default type only when every member that
/// will process the commit supports it (members added or removed by it
/// need not). A type the group's `required_capabilities` lists needs no
/// look at the members: every leaf was checked against it (§11.1). For
/// SelfRemove this is the draft's "self-remove-capable group". The look
/// runs on rayon when `parallel` (see [`apply_adds`] for when it is not).
fn check_types_supported(
    staged: &StagedTree<'_>,
    proposals: &[CommittedProposal],
    required: Option<&RequiredCapabilities>,
    added: &[(LeafIndex, KeyPackage)],
    parallel: bool,
) -> Result<(), Error> {
    let mut types: Vec<ProposalType> = proposals
        .iter()
        .map(|p| p.proposal.proposal_type())
        .filter(|t| !t.is_default() && !required.is_some_and(|r| r.proposal_types.contains(t)))
        .collect();
    if types.is_empty() {
        return Ok(());
    }
    types.sort_unstable();
    types.dedup();
    let new: HashSet<u32> = added.iter().map(|(l, _)| l.0).collect();
    let lacks = |(leaf, member): &(LeafIndex, &LeafNode)| {
        !new.contains(&leaf.0) && !member.capabilities.supports_proposals(&types)
    };
    let members = staged.members();
    let lacking = if parallel { members.into_par_iter().find_first(lacks) } else { members.into_iter().find(lacks) };
    match lacking {
        Some((leaf, member)) => {
            let missing = types.iter().find(|t| !member.capabilities.supports_proposal(**t)).copied();
            let proposal_type = missing.map_or(0, |t| t.0);
            Err(ProposalError::UnsupportedProposalType { proposal_type, leaf: leaf.0 }.into())
        }
        None => Ok(()),
    }
}

/// The application's verdict on each custom proposal (§12.2), asked on
/// receipt (`Committer::Unknown`) and in a commit.
fn check_custom(
    context: &GroupContext,
    proposals: &[CommittedProposal],
    committer: Committer,
    config: &PublicGroupConfig,
) -> Result<Vec<CommittedProposal>, Error> {
    let stage = if committer == Committer::Unknown { ProposalStage::Received } else { ProposalStage::Committed };
    let mut custom = Vec::new();
    for p in proposals {
        let Proposal::Custom(proposal) = &p.proposal else { continue };
        if proposal.proposal_type.is_known() {
            return Err(ProposalError::CustomProposalOfKnownType(proposal.proposal_type.0).into());
        }
        let check = CustomProposalCheck {
            stage,
            group_id: &context.group_id,
            epoch: context.epoch,
            sender: p.sender,
            proposal,
        };
        config.custom_proposals.validate(&check).map_err(|r| CustomProposalError::Refused {
            proposal_type: proposal.proposal_type.0,
            stage,
            reason: r.0,
        })?;
        custom.push(p.clone());
    }
    Ok(custom)
}

/// §12.3 step 4: Adds, in list order, each at the leftmost blank leaf. The
/// KeyPackages are checked first, on rayon when `parallel`. The server
/// runs this under its group's lock, where a worker waiting on a parallel
/// join may steal a job that needs the same lock, so it passes `false`.
fn apply_adds(
    suite: &Suite<'_>,
    staged: &mut StagedTree<'_>,
    proposals: &[CommittedProposal],
    rules: &LeafNodeRules<'_>,
    identity: &IdentityScope<'_>,
    parallel: bool,
) -> Result<Vec<(LeafIndex, KeyPackage)>, Error> {
    let adds: Vec<&KeyPackage> = proposals
        .iter()
        .filter_map(|p| match &p.proposal {
            Proposal::Add(add) => Some(&add.key_package),
            _ => None,
        })
        .collect();
    // One KeyPackage is checked in place: handing it to a sleeping worker
    // costs more than its two signatures.
    let check = |kp: &&KeyPackage| {
        validate_key_package(suite, kp, rules)?;
        identity.check_leaf(ValidationPoint::AddKeyPackage, &kp.leaf_node, None)
    };
    if parallel && adds.len() > 1 {
        adds.par_iter().try_for_each(check)?;
    } else {
        adds.iter().try_for_each(check)?;
    }
    let mut added = Vec::with_capacity(adds.len());
    for kp in adds {
        check_unique_keys(staged, &kp.leaf_node, None)?;
        if staged.find_encryption_key(kp.init_key.as_bytes()).is_some() {
            return Err(ProposalError::InitKeyInTree.into());
        }
        let leaf = staged.add_leaf(kp.leaf_node.clone());
        added.push((leaf, kp.clone()));
    }
    Ok(added)
}

/// §12.3 steps 5–7: PSKs, ExternalInit, ReInit (none touches the tree).
fn apply_rest(
    suite: &Suite<'_>,
    context: &GroupContext,
    proposals: &[CommittedProposal],
    out: &mut AppliedProposals,
) -> Result<(), Error> {
    let mut seen_psks = HashSet::new();
    for p in proposals {
        match &p.proposal {
            Proposal::PreSharedKey(psk) => {
                check_psk(suite, context, &psk.psk)?;
                if !seen_psks.insert(psk.psk.clone()) {
                    return Err(ProposalError::DuplicatePsk.into());
                }
                out.psks.push(psk.psk.clone());
            }
            Proposal::ExternalInit(e) => out.external_init = Some(e.kem_output.clone()),
            Proposal::ReInit(r) => {
                if r.version.0 < context.version.0 {
                    return Err(ProposalError::ReInitOlderVersion.into());
                }
                out.reinit = Some(r.clone());
            }
            _ => {}
        }
    }
    Ok(())
}

/// A PreSharedKey proposal on its own (§12.1.4): an Nh-byte nonce, and a
/// reinit or branch PSK only in the first commit of the group it starts
/// (§11.2, §11.3: epoch 0 of another group).
fn check_psk(suite: &Suite<'_>, context: &GroupContext, psk: &PreSharedKeyId) -> Result<(), Error> {
    if psk.psk_nonce.len() != suite.hash_len() {
        return Err(ProposalError::PskNonceLength.into());
    }
    if let Psk::Resumption { usage, psk_group_id, .. } = &psk.psk {
        let starts_new_group = context.epoch == 0 && *psk_group_id != context.group_id;
        if *usage != ResumptionPskUsage::Application && !starts_new_group {
            return Err(ProposalError::ResumptionPskUsage.into());
        }
    }
    Ok(())
}

/// New GroupContext extensions must be supported by everyone left, and a
/// new `required_capabilities` must hold for them (§12.1.7).
fn check_members_support(
    staged: &StagedTree<'_>,
    extensions: &[Extension],
    required: Option<&RequiredCapabilities>,
) -> Result<(), Error> {
    let used: Vec<_> = extensions.iter().map(|e| e.extension_type).collect();
    let lacking = staged.members().into_par_iter().find_first(|(_, member)| {
        let caps = &member.capabilities;
        !required.is_none_or(|required| caps.meets(required)) || !caps.supports_extensions(&used)
    });
    match lacking {
        Some((leaf, _)) => Err(ProposalError::MemberLacksCapability(leaf.0).into()),
        None => Ok(()),
    }
}

/// The list-level rules of §12.2 that need no tree: ReInit alone,
/// ExternalInit only (and exactly once) in external commits, SelfRemoves
/// by reference only (draft-ietf-mls-extensions), the sender types each
/// proposal allows (§12.1.8).
fn check_list_shape(proposals: &[CommittedProposal], committer: Committer) -> Result<(), Error> {
    let count = |f: fn(&Proposal) -> bool| proposals.iter().filter(|p| f(&p.proposal)).count();
    if count(|p| matches!(p, Proposal::ReInit(_))) > 0 && proposals.len() > 1 {
        return Err(ProposalError::ReInitNotAlone.into());
    }
    match committer {
        Committer::Member(_) => {
            if count(|p| matches!(p, Proposal::ExternalInit(_))) > 0 {
                return Err(ProposalError::ExternalInitInRegularCommit.into());
            }
        }
        Committer::External => {
            // draft-ietf-mls-extensions: "An external Commit can contain
            // zero or more SelfRemove proposals".
            let ok = count(|p| matches!(p, Proposal::ExternalInit(_))) == 1
                && count(|p| matches!(p, Proposal::Remove(_))) <= 1
                && proposals.iter().all(|p| {
                    matches!(
                        p.proposal,
                        Proposal::ExternalInit(_)
                            | Proposal::Remove(_)
                            | Proposal::PreSharedKey(_)
                            | Proposal::SelfRemove
                    )
                });
            if !ok {
                return Err(ProposalError::ExternalCommitProposals.into());
            }
        }
        Committer::Unknown => {}
    }
    // A proposal checked on its own has no commit to be inline in.
    if committer != Committer::Unknown
        && proposals.iter().any(|p| matches!(p.proposal, Proposal::SelfRemove) && p.reference.is_none())
    {
        return Err(ProposalError::SelfRemoveByValue.into());
    }
    for p in proposals {
        let allowed = match p.sender {
            Sender::Member(_) => true,
            Sender::External(_) => p.proposal.allowed_from_external_sender(),
            Sender::NewMemberProposal => matches!(p.proposal, Proposal::Add(_)),
            Sender::NewMemberCommit => committer == Committer::External,
        };
        if !allowed {
            return Err(ProposalError::NotAllowedFromSender.into());
        }
    }
    Ok(())
}

/// Signature and encryption keys of a new leaf must be unique in the
/// group (§7.3); `replacing` is the leaf the node replaces, whose old
/// keys do not count.
pub(crate) fn check_unique_keys(
    staged: &StagedTree<'_>,
    leaf: &LeafNode,
    replacing: Option<LeafIndex>,
) -> Result<(), Error> {
    if staged.find_signature_key(leaf.signature_key()).is_some_and(|l| Some(l) != replacing) {
        return Err(LeafNodeError::DuplicateSignatureKey.into());
    }
    if staged.find_encryption_key(leaf.encryption_key()).is_some() {
        return Err(LeafNodeError::DuplicateEncryptionKey.into());
    }
    Ok(())
}

/// Where the committer of `commit` sits in the staged tree: its own leaf,
/// or for an external commit the leftmost blank leaf, which the joiner's
/// path leaf node takes (§12.4.3.2: an external commit always has a path).
pub(crate) fn place_committer(
    staged: &mut StagedTree<'_>,
    committer: Committer,
    commit: &Commit,
) -> Result<LeafIndex, Error> {
    match committer {
        Committer::Member(l) => Ok(l),
        Committer::Unknown => Err(InternalError::invariant("a commit names its committer")),
        Committer::External => {
            let path = commit.path.as_ref().ok_or(CommitError::ExternalCommitWithoutPath)?;
            check_unique_keys(staged, &path.leaf_node, None)?;
            Ok(staged.add_leaf(path.leaf_node.clone()))
        }
    }
}

/// The checks of an UpdatePath's leaf node before the path is applied: a
/// commit-source leaf valid under the extensions the commit leaves in
/// force (§7.3), a new encryption key, a signature key no other member
/// holds (§12.4.2), and a credential the application accepts (§5.3.1): for
/// a member, a valid successor of its current one if it changed; for an
/// external joiner that removes a leaf (its old one, a resync), a valid
/// successor of the removed leaf's (§12.2: the path leaf meets the
/// criteria of an Update of the removed leaf).
#[allow(clippy::too_many_arguments)] // the stage's parts, each needed once
pub(crate) fn check_path_leaf(
    suite: &Suite<'_>,
    context: &GroupContext,
    applied: &AppliedProposals,
    staged: &StagedTree<'_>,
    committer: Committer,
    committer_leaf: LeafIndex,
    leaf: &LeafNode,
    config: &PublicGroupConfig,
) -> Result<(), Error> {
    if !matches!(leaf.leaf_node_source, LeafNodeSource::Commit { .. }) {
        return Err(LeafNodeError::WrongSource { expected: "commit" }.into());
    }
    let required = RequiredCapabilities::find_in(applied.extensions.as_deref().unwrap_or(&context.extensions))?;
    let rules = leaf_rules(context, required.as_ref(), config);
    validate_leaf_node(suite, leaf, Some((&context.group_id, committer_leaf)), &rules)?;
    let identity = identity_scope(context, config);
    match committer {
        Committer::Member(l) => {
            let current = staged.leaf(l);
            if current.is_some_and(|current| current.encryption_key() == leaf.encryption_key()) {
                return Err(UpdatePathError::KeepsEncryptionKey.into());
            }
            if staged.find_signature_key(leaf.signature_key()).is_some_and(|x| x != l) {
                return Err(LeafNodeError::DuplicateSignatureKey.into());
            }
            identity.check_leaf(ValidationPoint::CommitPath, leaf, Some(l))?;
            if let Some(current) = current {
                identity.check_successor(ValidationPoint::CommitPath, l, &current.credential, &leaf.credential)?;
            }
        }
        Committer::External => {
            identity.check_leaf(ValidationPoint::ExternalJoiner, leaf, Some(committer_leaf))?;
            // A resync (§12.4.3.2): the Remove's leaf, not the members who
            // removed themselves, must be the joiner's own.
            let resynced = applied.removed.iter().filter(|(l, _)| !applied.self_removed.contains(l));
            for (old_leaf, old) in resynced {
                check_resync_identity(&identity, *old_leaf, &old.credential, &leaf.credential)?;
                identity.check_successor(
                    ValidationPoint::ExternalJoiner,
                    *old_leaf,
                    &old.credential,
                    &leaf.credential,
                )?;
            }
        }
        Committer::Unknown => {}
    }
    Ok(())
}

/// An external commit that removes `leaf` (a resync, §12.4.3.2) must come
/// from the member who held it: both credentials name one identity, as the
/// application's validator extracts it (§12.2: "the credential in the
/// LeafNode MUST present a set of identifiers that is acceptable to the
/// application for the removed participant").
pub(crate) fn check_resync_identity(
    identity: &IdentityScope<'_>,
    leaf: LeafIndex,
    old: &Credential,
    new: &Credential,
) -> Result<(), Error> {
    let refused = |r: crate::identity::CredentialRejected| CredentialError::Refused {
        point: ValidationPoint::ExternalJoiner,
        leaf: Some(leaf.0),
        reason: r.0,
    };
    let old = identity.validator.identity(old).map_err(refused)?;
    let new = identity.validator.identity(new).map_err(refused)?;
    if old != new {
        return Err(CredentialError::ResyncIdentityMismatch { leaf: leaf.0 }.into());
    }
    Ok(())
}

/// Validates a KeyPackage received for the group's suite (§10.1): version
/// and suite, its signature, its leaf node as a key_package leaf (§7.3),
/// and an init key distinct from the leaf's encryption key.
pub fn validate_key_package(
    suite: &Suite<'_>,
    key_package: &KeyPackage,
    rules: &LeafNodeRules<'_>,
) -> Result<(), Error> {
    if key_package.version != ProtocolVersion::MLS10 {
        return Err(KeyPackageError::UnsupportedVersion.into());
    }
    if key_package.cipher_suite != suite.cipher_suite() {
        return Err(KeyPackageError::CipherSuiteMismatch.into());
    }
    if !matches!(key_package.leaf_node.leaf_node_source, LeafNodeSource::KeyPackage(_)) {
        return Err(LeafNodeError::WrongSource { expected: "key_package" }.into());
    }
    if key_package.init_key.as_bytes() == key_package.leaf_node.encryption_key() {
        return Err(KeyPackageError::InitKeyIsEncryptionKey.into());
    }
    if key_package.init_key.as_bytes().len() != suite.algorithms().kem.public_key_len() {
        return Err(KeyPackageError::InitKeyLength.into());
    }
    check_extension_list(&key_package.extensions, &rules.limits)?;
    key_package.verify_signature(suite)?;
    validate_leaf_node(suite, &key_package.leaf_node, None, rules)
}

/// A proposal received on its own (§12.1), checked in full when it
/// arrives, by members and servers alike, so that nothing uncommittable is
/// cached: who may send it, the Add's KeyPackage (§12.1.1), the Update's
/// leaf (§12.1.2), and the list rules of §12.2 and §12.3 for a list of
/// just this proposal, on a throwaway stage. The committer is not known
/// yet, so the rules about a committer's own Update or Remove wait for the
/// commit.
///
/// Key uniqueness of Adds and Updates is left to the commit: a Remove in
/// the same commit may free a key they reuse (§12.3 applies Removes first).
pub(crate) fn check_received_proposal(
    suite: &Suite<'_>,
    context: &GroupContext,
    tree: &RatchetTree,
    sender: Sender,
    proposal: &Proposal,
    config: &PublicGroupConfig,
) -> Result<(), Error> {
    let required = RequiredCapabilities::find_in(&context.extensions)?;
    let rules = leaf_rules(context, required.as_ref(), config);
    let identity = identity_scope(context, config);
    match (proposal, sender) {
        (Proposal::ExternalInit(_), _) => Err(ProposalError::ExternalInitOutsideExternalCommit.into()),
        (Proposal::Add(add), _) => {
            validate_key_package(suite, &add.key_package, &rules)?;
            identity.check_leaf(ValidationPoint::AddKeyPackage, &add.key_package.leaf_node, None)
        }
        (Proposal::Update(update), Sender::Member(leaf)) => {
            check_update_leaf(suite, context, tree, leaf, &update.leaf_node, &rules, &identity)
        }
        (Proposal::Update(_), _) => Err(ProposalError::UpdateFromNonMember.into()),
        _ => {
            let list = [CommittedProposal { proposal: proposal.clone(), sender, reference: None }];
            let mut staged = tree.stage();
            apply_proposals(suite, context, &mut staged, &list, Committer::Unknown, config, false).map(|_| ())
        }
    }
}

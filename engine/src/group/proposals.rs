//! Proposal-list validation (RFC 9420 §12.2) and application (§12.3) to a
//! staged tree, shared by the committer and every receiver so that both
//! sides run exactly the same rules.

use std::collections::HashSet;

use rayon::prelude::*;

use crate::crypto::Suite;
use crate::error::{Error, ValidationError};
use crate::messages::registered_extensions::{ExtensionData, RequiredCapabilities};
use crate::messages::{
    Commit, Extension, GroupContext, KeyPackage, LeafNode, LeafNodeSource, PreSharedKeyId, Proposal, ProposalRef, Psk,
    ReInit, ResumptionPskUsage, Sender,
};
use crate::tree::math::LeafIndex;
use crate::tree::{LeafNodeRules, StagedTree, TreeView, validate_leaf_node};

use super::key_package::validate_key_package;

fn rule(text: &'static str) -> Error {
    ValidationError::Rule(text).into()
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
    cache: &[super::CachedProposal],
    commit: &crate::messages::Commit,
    sender: Sender,
) -> Result<Vec<CommittedProposal>, Error> {
    commit
        .proposals
        .iter()
        .map(|p| match p {
            crate::messages::ProposalOrRef::Reference(r) => {
                let cached = cache
                    .iter()
                    .find(|c| &c.reference == r)
                    .ok_or_else(|| rule("commit references an unknown proposal (RFC 9420 §12.4.2)"))?;
                Ok(CommittedProposal {
                    proposal: cached.proposal.clone(),
                    sender: cached.sender,
                    reference: Some(r.clone()),
                })
            }
            crate::messages::ProposalOrRef::Proposal(p) => {
                Ok(CommittedProposal { proposal: (**p).clone(), sender, reference: None })
            }
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

/// Validates `proposals` as a list (§12.2) and applies them in the order
/// of §12.3 to `staged`. Every check runs before the tree is touched where
/// it can, and the caller drops the stage on error, so a rejected list
/// changes nothing.
pub(crate) fn apply_proposals(
    suite: &Suite<'_>,
    context: &GroupContext,
    staged: &mut StagedTree<'_>,
    proposals: &[CommittedProposal],
    committer: Committer,
    now: Option<u64>,
    parallel: bool,
) -> Result<AppliedProposals, Error> {
    let mut out = AppliedProposals {
        path_required: proposals.is_empty() || proposals.iter().any(|p| p.proposal.requires_path()),
        ..Default::default()
    };
    check_list_shape(proposals, committer)?;

    // §12.3 step 1: new extensions first; later checks use them.
    let mut gce = proposals.iter().filter_map(|p| match &p.proposal {
        Proposal::GroupContextExtensions(g) => Some(g.extensions.clone()),
        _ => None,
    });
    out.extensions = gce.next();
    if gce.next().is_some() {
        return Err(rule("more than one GroupContextExtensions proposal (RFC 9420 §12.2)"));
    }
    let extensions = out.extensions.as_deref().unwrap_or(&context.extensions);
    let required = RequiredCapabilities::find_in(extensions)?;
    let rules = LeafNodeRules { cipher_suite: context.cipher_suite, required_capabilities: required.as_ref(), now };

    let mut touched: HashSet<u32> = HashSet::new();
    // §12.3 step 2: updates.
    for p in proposals {
        let Proposal::Update(update) = &p.proposal else { continue };
        let Sender::Member(leaf) = p.sender else {
            return Err(rule("Update proposal from a non-member (RFC 9420 §12.1.2)"));
        };
        if committer == Committer::Member(leaf) {
            return Err(rule("Commit contains an Update from the committer (RFC 9420 §12.2)"));
        }
        if !touched.insert(leaf.0) {
            return Err(rule("two Update/Remove proposals for one leaf (RFC 9420 §12.2)"));
        }
        let current = staged.leaf(leaf).ok_or_else(|| rule("Update for a blank leaf (RFC 9420 §12.1.2)"))?;
        let new = &update.leaf_node;
        if !matches!(new.leaf_node_source, LeafNodeSource::Update) {
            return Err(rule("Update leaf node source is not update (RFC 9420 §7.3)"));
        }
        if new.encryption_key == current.encryption_key {
            return Err(rule("Update keeps the old encryption key (RFC 9420 §7.3)"));
        }
        validate_leaf_node(suite, new, Some((&context.group_id, leaf)), &rules)?;
        check_unique_keys(staged, new, Some(leaf))?;
        staged.update_leaf(leaf, new.clone())?;
        out.updated.push(leaf);
    }
    // §12.3 step 3: removes.
    for p in proposals {
        let Proposal::Remove(remove) = &p.proposal else { continue };
        let leaf = remove.removed;
        if committer == Committer::Member(leaf) {
            return Err(rule("Commit removes the committer (RFC 9420 §12.2)"));
        }
        if !touched.insert(leaf.0) {
            return Err(rule("two Update/Remove proposals for one leaf (RFC 9420 §12.2)"));
        }
        let old = staged.leaf(leaf).cloned().ok_or_else(|| rule("Remove of a blank leaf (RFC 9420 §12.1.3)"))?;
        staged.remove_leaf(leaf)?;
        out.removed.push((leaf, old));
    }
    // §12.3 step 4: adds, in list order. The KeyPackages are checked
    // first, on rayon when `parallel` (members); the server calls
    // this under a per-group lock, where a worker waiting on a parallel
    // join may steal a job that needs the same lock, so it stays sequential.
    let adds: Vec<&KeyPackage> = proposals
        .iter()
        .filter_map(|p| match &p.proposal {
            Proposal::Add(add) => Some(&add.key_package),
            _ => None,
        })
        .collect();
    // One KeyPackage is checked in place: handing it to a sleeping
    // worker costs more than its two signatures.
    if parallel && adds.len() > 1 {
        adds.par_iter().try_for_each(|kp| validate_key_package(suite, kp, &rules))?;
    } else {
        adds.iter().try_for_each(|kp| validate_key_package(suite, kp, &rules))?;
    }
    for kp in adds {
        check_unique_keys(staged, &kp.leaf_node, None)?;
        if staged.find_encryption_key(kp.init_key.as_bytes()).is_some() {
            return Err(rule("Add's init key is already in the tree (RFC 9420 §12.2)"));
        }
        let leaf = staged.add_leaf(kp.leaf_node.clone());
        out.added.push((leaf, kp.clone()));
    }
    // §12.3 steps 5–7: PSKs, ExternalInit, ReInit.
    let mut seen_psks = HashSet::new();
    for p in proposals {
        match &p.proposal {
            Proposal::PreSharedKey(psk) => {
                if psk.psk.psk_nonce.len() != suite.hash_len() {
                    return Err(rule("psk_nonce is not Nh bytes (RFC 9420 §12.1.4)"));
                }
                if let Psk::Resumption { usage, psk_group_id, .. } = &psk.psk.psk {
                    // A reinit or branch PSK is valid only in the first commit of
                    // the new group it starts (§11.2, §11.3): epoch 0, another group.
                    let starts_new_group = context.epoch == 0 && *psk_group_id != context.group_id;
                    if *usage != ResumptionPskUsage::Application && !starts_new_group {
                        return Err(rule("reinit/branch resumption PSK in a Commit (RFC 9420 §12.1.4)"));
                    }
                }
                if !seen_psks.insert(psk.psk.clone()) {
                    return Err(rule("one PreSharedKeyID proposed twice (RFC 9420 §12.2)"));
                }
                out.psks.push(psk.psk.clone());
            }
            Proposal::ExternalInit(e) => out.external_init = Some(e.kem_output.clone()),
            Proposal::ReInit(r) => {
                if r.version.0 < context.version.0 {
                    return Err(rule("ReInit to an older version (RFC 9420 §12.1.5)"));
                }
                out.reinit = Some(r.clone());
            }
            _ => {}
        }
    }
    // A new required_capabilities must hold for everyone left (§12.1.7).
    if out.extensions.is_some() {
        if let Some(required) = &required {
            for (_, member) in staged.members() {
                let caps = &member.capabilities;
                let ok = required.extension_types.iter().all(|&t| caps.supports_extension(t))
                    && required.proposal_types.iter().all(|&t| caps.supports_proposal(t))
                    && required.credential_types.iter().all(|&t| caps.supports_credential(t));
                if !ok {
                    return Err(rule("a member lacks the new required capabilities (RFC 9420 §12.1.7)"));
                }
            }
        }
        let members = staged.members();
        for ext in extensions {
            if members.iter().any(|(_, m)| !m.capabilities.supports_extension(ext.extension_type)) {
                return Err(rule("a member does not support a new group context extension (RFC 9420 §12.1.7)"));
            }
        }
    }
    Ok(out)
}

/// The list-level rules of §12.2 that need no tree: ReInit alone,
/// ExternalInit only (and exactly once) in external commits, the sender
/// types each proposal allows (§12.1.8).
fn check_list_shape(proposals: &[CommittedProposal], committer: Committer) -> Result<(), Error> {
    let count = |f: fn(&Proposal) -> bool| proposals.iter().filter(|p| f(&p.proposal)).count();
    if count(|p| matches!(p, Proposal::ReInit(_))) > 0 && proposals.len() > 1 {
        return Err(rule("ReInit together with other proposals (RFC 9420 §12.2)"));
    }
    match committer {
        Committer::Member(_) => {
            if count(|p| matches!(p, Proposal::ExternalInit(_))) > 0 {
                return Err(rule("ExternalInit in a regular Commit (RFC 9420 §12.2)"));
            }
        }
        Committer::External => {
            let ok = count(|p| matches!(p, Proposal::ExternalInit(_))) == 1
                && count(|p| matches!(p, Proposal::Remove(_))) <= 1
                && proposals.iter().all(|p| {
                    matches!(p.proposal, Proposal::ExternalInit(_) | Proposal::Remove(_) | Proposal::PreSharedKey(_))
                });
            if !ok {
                return Err(rule(
                    "external Commit proposals are not ExternalInit, Remove and PSKs only (RFC 9420 §12.2)",
                ));
            }
        }
    }
    for p in proposals {
        let allowed = match p.sender {
            Sender::Member(_) => true,
            Sender::External(_) => p.proposal.allowed_from_external_sender(),
            Sender::NewMemberProposal => matches!(p.proposal, Proposal::Add(_)),
            Sender::NewMemberCommit => committer == Committer::External,
        };
        if !allowed {
            return Err(rule("proposal type not allowed from its sender (RFC 9420 §12.1.8)"));
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
    if staged.find_signature_key(leaf.signature_key.as_bytes()).is_some_and(|l| Some(l) != replacing) {
        return Err(rule("signature key already in the group (RFC 9420 §7.3)"));
    }
    if staged.find_encryption_key(leaf.encryption_key.as_bytes()).is_some() {
        return Err(rule("encryption key already in the group (RFC 9420 §7.3)"));
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
        Committer::External => {
            let path =
                commit.path.as_ref().ok_or_else(|| rule("external commit without a path (RFC 9420 §12.4.3.2)"))?;
            check_unique_keys(staged, &path.leaf_node, None)?;
            Ok(staged.add_leaf(path.leaf_node.clone()))
        }
    }
}

/// The checks of an UpdatePath's leaf node before the path is applied,
/// shared by members and the server: a commit-source leaf valid under the
/// extensions the commit leaves in force (§7.3), a new encryption key, and
/// a signature key no other member holds (§12.4.2).
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_path_leaf(
    suite: &Suite<'_>,
    context: &GroupContext,
    applied: &AppliedProposals,
    staged: &StagedTree<'_>,
    committer: Committer,
    committer_leaf: LeafIndex,
    leaf: &LeafNode,
    now: Option<u64>,
) -> Result<(), Error> {
    if !matches!(leaf.leaf_node_source, LeafNodeSource::Commit { .. }) {
        return Err(rule("UpdatePath leaf node source is not commit (RFC 9420 §7.3)"));
    }
    let required = RequiredCapabilities::find_in(applied.extensions.as_deref().unwrap_or(&context.extensions))?;
    let rules = LeafNodeRules { cipher_suite: context.cipher_suite, required_capabilities: required.as_ref(), now };
    validate_leaf_node(suite, leaf, Some((&context.group_id, committer_leaf)), &rules)?;
    if let Committer::Member(l) = committer {
        if staged.leaf(l).is_some_and(|current| current.encryption_key == leaf.encryption_key) {
            return Err(rule("UpdatePath keeps the committer's encryption key (RFC 9420 §12.4.2)"));
        }
        if staged.find_signature_key(leaf.signature_key.as_bytes()).is_some_and(|x| x != l) {
            return Err(rule("signature key already in the group (RFC 9420 §7.3)"));
        }
    }
    Ok(())
}

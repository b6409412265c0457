//! Applying a received UpdatePath (RFC 9420 §7.5, §7.9.2).

use crate::crypto::{Secret, Suite};
use crate::error::{Error, InternalError, LeafNodeError, UpdatePathError};
use crate::messages::{LeafNodeSource, UpdatePath};
use crate::schedule::CommitSecret;
use crate::tree::{PathStep, StagedTree, TreeView};
use crate::tree_math::{self as math, LeafIndex, NodeIndex};

use super::{PrivateTree, UPDATE_PATH_NODE, next_path_secret, node_key_pairs, path_secret_chain};

/// What a receiver learns from an UpdatePath.
#[derive(Debug)]
pub struct AppliedPath {
    /// `commit_secret` for the key schedule (§8).
    pub commit_secret: CommitSecret,
    /// The path secret the receiver decrypted (at the lowest node of the
    /// sender's filtered direct path above the receiver).
    pub decrypted_path_secret: Secret,
    /// The receiver's private keys after the commit.
    pub private: PrivateTree,
}

/// The public result of applying an UpdatePath: what a receiver with keys
/// needs to find the ciphertext addressed to it.
#[derive(Debug)]
pub struct PublicPath {
    /// The sender's filtered direct path (§4.1.2) before the path was merged.
    pub steps: Vec<PathStep>,
    /// For each step, the resolution of its copath child without the
    /// commit's new members: the nodes `encrypted_path_secret` is addressed
    /// to, in order (§7.6).
    pub resolutions: Vec<Vec<NodeIndex>>,
}

impl PublicPath {
    /// The sender's filtered direct path in `tree` and, for each step, the
    /// nodes its ciphertexts are addressed to ([`encryption_targets`]).
    ///
    /// `tree` may be the tree before the path is merged or after: the
    /// filtered direct path depends only on which leaves are occupied, and
    /// the copath subtrees are disjoint from the sender's leaf and direct
    /// path, the only nodes a path writes.
    pub fn of(tree: &impl TreeView, sender: LeafIndex, new_members: &[LeafIndex]) -> Self {
        let steps = tree.filtered_direct_path(sender);
        let resolutions = steps.iter().map(|step| encryption_targets(tree, step, new_members)).collect();
        Self { steps, resolutions }
    }

    /// Where the path secret for `receiver` is: the index of the step whose
    /// copath subtree holds it, and the index, in that step's resolution,
    /// of the node whose private key it holds ([`locate_in_path`]). `None`
    /// when no step's subtree holds it (the sender itself, or a leaf outside
    /// the tree).
    pub fn locate(&self, receiver: LeafIndex) -> Option<(usize, usize)> {
        locate_in_path(&self.steps, receiver, |step, x| self.resolutions.get(step)?.iter().position(|&y| y == x))
    }
}

/// The nodes an UpdatePath's ciphertext at `step` is addressed to, in
/// order: the resolution of its copath child (§4.1.1) without the
/// `new_members` the same commit adds, who get their path secret in the
/// Welcome instead (§7.5, §12.4.3.1).
pub(crate) fn encryption_targets(tree: &impl TreeView, step: &PathStep, new_members: &[LeafIndex]) -> Vec<NodeIndex> {
    let mut resolution = tree.resolution(step.copath_child);
    resolution.retain(|x| !x.leaf().is_some_and(|l| new_members.contains(&l)));
    resolution
}

/// The rule that says which ciphertext of an UpdatePath a receiver
/// decrypts (§7.5, §7.6): the step whose copath child is an ancestor of the
/// receiver's leaf, and in that step's resolution the node whose private key
/// the receiver holds by the tree invariant (§4.2): its own leaf when the
/// leaf is listed (an unmerged leaf, or no non-blank node above it in the
/// subtree), otherwise its one ancestor listed. Resolution nodes other than
/// unmerged leaves head disjoint subtrees, so the first of the receiver's
/// leaf and its ancestors (bottom up) that is listed is that node.
///
/// `position(step, node)` says where `node` is in the step's resolution.
/// Members and servers both locate through this function.
pub(crate) fn locate_in_path(
    steps: &[PathStep],
    receiver: LeafIndex,
    position: impl Fn(usize, NodeIndex) -> Option<usize>,
) -> Option<(usize, usize)> {
    let me = receiver.node();
    let step_index = steps.iter().position(|step| math::is_ancestor(step.copath_child, me))?;
    let top = steps[step_index].copath_child;
    let mut x = me;
    loop {
        if let Some(slot) = position(step_index, x) {
            return Some((step_index, slot));
        }
        if x == top {
            return None;
        }
        // `top` is a strict ancestor of `x`: the parent is inside its subtree.
        x = math::full_parent(x);
    }
}

/// Checks and merges the public half of `path` from `sender` into `staged`
/// (§7.5, §7.6, §7.9.2, §12.4.2): everything a party without private keys
/// can verify, such as a Delivery Service following the group (RFC 9750).
///
/// - the path has one node per step of the sender's filtered direct path,
///   and each node one ciphertext per node of its copath child's
///   resolution, without the `new_members` added by the same commit (§7.6);
/// - none of the path's public keys is already in the tree, and they are
///   pairwise distinct (§12.4.2, §7.3);
/// - the keys are merged with [`StagedTree::apply_path`] and the parent
///   hash the sender's leaf carries equals the computed one (§7.9.2);
/// - the sender's leaf is set to `path.leaf_node`.
///
/// The leaf node itself (§7.3 rules, signature) is the caller's to
/// validate first. Any failure is a typed error; the caller drops the
/// stage, so nothing changes.
pub fn apply_update_path_public(
    suite: &Suite<'_>,
    staged: &mut StagedTree<'_>,
    sender: LeafIndex,
    path: &UpdatePath,
    new_members: &[LeafIndex],
) -> Result<PublicPath, Error> {
    let steps = staged.filtered_direct_path(sender);
    if steps.len() != path.nodes.len() {
        return Err(UpdatePathError::Length { expected: steps.len(), got: path.nodes.len() }.into());
    }
    let mut resolutions = Vec::with_capacity(steps.len());
    for (step, node) in steps.iter().zip(&path.nodes) {
        let resolution = encryption_targets(staged, step, new_members);
        if node.encrypted_path_secret.len() != resolution.len() {
            return Err(UpdatePathError::CiphertextCount.into());
        }
        resolutions.push(resolution);
    }

    let keys: Vec<_> = path.nodes.iter().map(|n| n.encryption_key.clone()).collect();
    // §12.4.2: no key of the UpdatePath may already be in the tree (an
    // external committer's leaf was just placed at `sender` itself).
    let leaf_key = path.leaf_node.encryption_key();
    if keys.iter().any(|k| staged.find_encryption_key(k.as_bytes()).is_some())
        || staged.find_encryption_key(leaf_key).is_some_and(|x| x != sender.node())
    {
        return Err(UpdatePathError::KeyInTree.into());
    }
    // Nor may two of its own keys be equal: after the merge they would be
    // two nodes sharing an encryption key (§7.3). Receivers only compare the
    // keys above their own position with derived ones, and a server derives
    // none, so this is checked here for everyone.
    let mut distinct = std::collections::HashSet::with_capacity(keys.len() + 1);
    if !keys
        .iter()
        .map(crate::crypto::HpkePublicKey::as_bytes)
        .chain(std::iter::once(leaf_key))
        .all(|k| distinct.insert(k))
    {
        return Err(UpdatePathError::RepeatedKey.into());
    }
    let expected_parent_hash = staged.apply_path(suite, sender, &keys)?;
    match &path.leaf_node.leaf_node_source {
        LeafNodeSource::Commit { parent_hash } if *parent_hash == expected_parent_hash => {}
        LeafNodeSource::Commit { .. } => return Err(UpdatePathError::ParentHashMismatch.into()),
        _ => return Err(LeafNodeError::WrongSource { expected: "commit" }.into()),
    }
    staged.set_path_leaf(sender, path.leaf_node.clone());
    Ok(PublicPath { steps, resolutions })
}

/// Merges `path` from `sender` into `staged` and decrypts it with the
/// receiver's keys `own` (§7.5): [`apply_update_path_public`], then
/// [`decrypt_update_path`]. `group_context` maps the new tree hash to the
/// encoded provisional GroupContext.
pub fn apply_update_path(
    suite: &Suite<'_>,
    staged: &mut StagedTree<'_>,
    sender: LeafIndex,
    path: &UpdatePath,
    own: &PrivateTree,
    new_members: &[LeafIndex],
    group_context: impl FnOnce(&[u8]) -> Vec<u8>,
) -> Result<AppliedPath, Error> {
    if own.own_leaf == sender {
        return Err(InternalError::invariant("a member never applies its own UpdatePath"));
    }
    let public = apply_update_path_public(suite, staged, sender, path, new_members)?;
    let context = group_context(&staged.root_hash(suite));
    decrypt_update_path(suite, staged, path, &public, own, &context)
}

/// The receiver's half of applying an UpdatePath whose public half is
/// already merged into `staged` (§7.5): decrypts the one ciphertext
/// addressed to the receiver under the provisional GroupContext `context`,
/// derives the path secrets above it, and checks that each derived public
/// key equals the one sent. Any mismatch is a typed error; the caller drops
/// the stage, so nothing changes.
pub fn decrypt_update_path(
    suite: &Suite<'_>,
    staged: &StagedTree<'_>,
    path: &UpdatePath,
    public: &PublicPath,
    own: &PrivateTree,
    context: &[u8],
) -> Result<AppliedPath, Error> {
    let me = own.own_leaf;
    let PublicPath { steps, resolutions } = public;
    // Copath subtrees are disjoint from the sender's direct path, so merging
    // the path did not change the resolutions located in.
    let (step_index, slot) =
        public.locate(me).ok_or(InternalError::invariant("a receiver sits below the sender's filtered direct path"))?;
    let key = own
        .key(resolutions[step_index][slot])
        .ok_or(InternalError::invariant("a member holds the key of its node in every resolution above it (§4.2)"))?;
    let ciphertext = path.nodes[step_index]
        .encrypted_path_secret
        .get(slot)
        .ok_or(InternalError::invariant("the ciphertext count was checked against the resolution"))?;
    let decrypted = suite.decrypt_with_label(key, UPDATE_PATH_NODE, context, &ciphertext)?;
    if decrypted.len() != suite.hash_len() {
        return Err(UpdatePathError::PathSecretLength.into());
    }
    let remaining = steps.len() - step_index;
    let (secrets, commit_secret) = path_secret_chain(suite, decrypted.clone(), remaining)?;
    let pairs = node_key_pairs(suite, &secrets)?;
    for (pair, sent) in pairs.iter().zip(&path.nodes[step_index..]) {
        if pair.public != sent.encryption_key {
            return Err(UpdatePathError::DerivedKeyMismatch.into());
        }
    }

    let mut private = own.clone();
    for (step, pair) in steps[step_index..].iter().zip(pairs) {
        private.insert(step.node, pair);
    }
    private.retain_consistent(staged);
    Ok(AppliedPath { commit_secret: CommitSecret::new(commit_secret), decrypted_path_secret: decrypted, private })
}

/// The path secret of the parent above a decrypted one, for joiners that
/// receive one node's secret in a Welcome and derive the rest (§12.4.3.1).
pub fn derive_up(suite: &Suite<'_>, path_secret: &Secret) -> Result<Secret, Error> {
    next_path_secret(suite, path_secret)
}

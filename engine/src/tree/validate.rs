//! Leaf node validation (RFC 9420 §7.3) and the full validation a joiner
//! runs on a tree it did not build (§12.4.3.1): leaf signatures and rules
//! in parallel, unmerged-leaf consistency, and parent-hash validity
//! (§7.9.2) checked per parent in O(n log n) hashes.

use std::collections::BTreeSet;

use rayon::prelude::*;

use crate::crypto::{CipherSuite, Suite};
use crate::error::{Error, LeafNodeError, TreeError};
use crate::limits::{Limit, Limits};
use crate::messages::extensions::check_extension_list;
use crate::messages::registered_extensions::RequiredCapabilities;
use crate::messages::{CredentialType, LeafNode, LeafNodeSource, ParentNode, ProtocolVersion};

use super::RatchetTree;
use super::hash::{leaf_tree_hash, parent_hash, parent_tree_hash};
use super::view::TreeView;
use crate::tree_math::{self as math, LeafIndex, NodeIndex};

/// The group parameters a leaf node is checked against (§7.3).
#[derive(Clone, Copy, Debug)]
pub struct LeafNodeRules<'a> {
    /// The group's cipher suite, which the leaf must support.
    pub cipher_suite: CipherSuite,
    /// The group's `required_capabilities`, if any.
    pub required_capabilities: Option<&'a RequiredCapabilities>,
    /// Current time (seconds since the Unix epoch) for lifetime checks of
    /// key_package leaves, or `None` to skip them (they are only
    /// RECOMMENDED for received leaves, §7.3).
    pub now: Option<u64>,
    /// Bounds on the leaf's capabilities and extensions, checked first.
    pub limits: Limits,
}

/// Checks one leaf node against §7.3, except uniqueness (the tree index
/// does that) and credential-type agreement with the other members.
/// `group` is the group id and leaf index a group-bound leaf signed.
pub fn validate_leaf_node(
    suite: &Suite<'_>,
    leaf: &LeafNode,
    group: Option<(&[u8], LeafIndex)>,
    rules: &LeafNodeRules<'_>,
) -> Result<(), Error> {
    let caps = &leaf.capabilities;
    let max = rules.limits.max_capability_entries;
    // The counts first: every later check scans these lists.
    let lengths = [
        caps.versions.len(),
        caps.cipher_suites.len(),
        caps.extensions.len(),
        caps.proposals.len(),
        caps.credentials.len(),
    ];
    for len in lengths {
        Limits::check(Limit::CapabilityEntries, len, max)?;
    }
    check_extension_list(&leaf.extensions, &rules.limits)?;
    if leaf.encryption_key().len() != suite.algorithms().kem.public_key_len() {
        return Err(LeafNodeError::EncryptionKeyLength.into());
    }
    if !caps.cipher_suites.contains(&rules.cipher_suite) {
        return Err(LeafNodeError::UnsupportedCipherSuite.into());
    }
    if !caps.versions.contains(&ProtocolVersion::MLS10) {
        return Err(LeafNodeError::UnsupportedVersion.into());
    }
    if !caps.supports_credential(leaf.credential.credential_type()) {
        return Err(LeafNodeError::CredentialNotInCapabilities.into());
    }
    if let Some(required) = rules.required_capabilities {
        if !caps.meets(required) {
            return Err(LeafNodeError::MissingRequiredCapabilities.into());
        }
    }
    let used: Vec<_> = leaf.extensions.iter().map(|e| e.extension_type).collect();
    if !caps.supports_extensions(&used) {
        return Err(LeafNodeError::UnlistedExtension.into());
    }
    if let (LeafNodeSource::KeyPackage(lifetime), Some(now)) = (&leaf.leaf_node_source, rules.now) {
        if !lifetime.contains(now) {
            return Err(LeafNodeError::Lifetime.into());
        }
    }
    leaf.verify_signature(suite, group)
}

impl RatchetTree {
    /// Validates the whole tree as a joiner must (§12.4.3.1), except the
    /// comparison of the root hash with the GroupInfo (the caller's): every
    /// leaf against §7.3 (signatures in parallel), credential types
    /// supported by all, unmerged leaves consistent, every non-blank parent
    /// parent-hash valid (§7.9.2). Encryption and signature key uniqueness
    /// was enforced when the tree was imported.
    pub fn validate(&self, suite: &Suite<'_>, group_id: &[u8], rules: &LeafNodeRules<'_>) -> Result<(), Error> {
        self.validate_with(suite, group_id, rules, &|_, _| Ok(()))
    }

    /// [`Self::validate`], with `check_leaf` also run on every non-blank
    /// leaf, in the same parallel pass and after the leaf's own checks and
    /// signature (the application's credential validation, RFC 9420
    /// §5.3.1, rides here so that a large join pays no second pass).
    pub fn validate_with(
        &self,
        suite: &Suite<'_>,
        group_id: &[u8],
        rules: &LeafNodeRules<'_>,
        check_leaf: &(dyn Fn(LeafIndex, &LeafNode) -> Result<(), Error> + Sync),
    ) -> Result<(), Error> {
        self.validate_leaves(suite, group_id, rules, check_leaf)?;
        self.validate_unmerged_leaves()?;
        self.validate_parent_hashes(suite)
    }

    fn validate_leaves(
        &self,
        suite: &Suite<'_>,
        group_id: &[u8],
        rules: &LeafNodeRules<'_>,
        check_leaf: &(dyn Fn(LeafIndex, &LeafNode) -> Result<(), Error> + Sync),
    ) -> Result<(), Error> {
        let in_use: BTreeSet<CredentialType> =
            self.leaves.iter().flatten().map(|l| l.credential.credential_type()).collect();
        self.leaves.par_iter().enumerate().try_for_each(|(i, leaf)| {
            let Some(leaf) = leaf else { return Ok(()) };
            if !in_use.iter().all(|&t| leaf.capabilities.supports_credential(t)) {
                return Err(LeafNodeError::CredentialTypeUnsupported.into());
            }
            let index = LeafIndex(i as u32);
            validate_leaf_node(suite, leaf, Some((group_id, index)), rules)?;
            check_leaf(index, leaf)
        })
    }

    /// §12.4.3.1: each unmerged leaf is a non-blank descendant, listed in
    /// increasing order (§7.1), and listed again at every non-blank node
    /// between it and the parent.
    fn validate_unmerged_leaves(&self) -> Result<(), Error> {
        let n = self.leaf_count();
        for (i, parent) in self.parents.iter().enumerate() {
            let Some(parent) = parent else { continue };
            let p = NodeIndex(2 * i as u32 + 1);
            if !parent.unmerged_leaves.windows(2).all(|w| w[0].0 < w[1].0) {
                return Err(TreeError::UnmergedLeavesOrder.into());
            }
            for &l in &parent.unmerged_leaves {
                if l.0 >= n || self.leaf(l).is_none() || !math::is_ancestor(p, l.node()) || p == l.node() {
                    return Err(TreeError::UnmergedLeafNotBelow.into());
                }
                let mut x = math::parent(l.node(), n);
                while let Some(node) = x {
                    if node == p {
                        break;
                    }
                    if let Some(between) = self.parent_node(node) {
                        if between.unmerged_leaves.binary_search(&l).is_err() {
                            return Err(TreeError::UnmergedLeafMissing.into());
                        }
                    }
                    x = math::parent(node, n);
                }
            }
        }
        Ok(())
    }

    /// §7.9.2: every non-blank parent P must be vouched for by exactly one
    /// node D, and a node can only vouch for its first non-blank ancestor
    /// (anything set between them by a later commit would have reset P
    /// too). So the check runs per parent, in parallel: for each child C of
    /// P, the resolution of C must be P's unmerged leaves under C plus
    /// exactly one node D found directly (not as an unmerged leaf of
    /// another), and D's parent hash must equal P's, computed with the
    /// original tree hash of C's sibling. That hash is computed once per
    /// (P, C), and only when such a D exists.
    ///
    /// Cost, for `n` leaves, in the worst case: O(n log n) hash
    /// computations. A side of P with a candidate rehashes only nodes of
    /// the other side's subtree that hold one of P's unmerged leaves (and
    /// one parent hash), so P rehashes at most the nodes below it, and all
    /// parents together at most the (node, ancestor) pairs: 2n log2 n. (It
    /// is also at most level(P) hashes per unmerged leaf of P.) Each blank
    /// parent is walked by one resolution only, that of the side of its
    /// first non-blank ancestor, and a walk stops once it finds more than
    /// P's unmerged leaves plus one node, so resolutions cost O(n) node
    /// visits and one read of the unmerged lists. A rehashed parent is
    /// re-encoded with its unmerged list filtered by binary search, at most
    /// once per non-blank ancestor: the bytes hashed are at most log2 n
    /// times the tree's own encoding. Expects the unmerged lists checked
    /// first (sorted, below their parent: `validate_unmerged_leaves`).
    fn validate_parent_hashes(&self, suite: &Suite<'_>) -> Result<(), Error> {
        self.check_parent_hashes(suite).0
    }

    /// Parent-hash validity alone (§7.9.2, after the unmerged-leaf checks
    /// it relies on), with the number of hashes computed to decide it: the
    /// tests bound the cost of adversarial trees by this count rather than
    /// by time.
    #[doc(hidden)]
    pub fn parent_hash_validation_cost(&self, suite: &Suite<'_>) -> Result<usize, Error> {
        self.validate_unmerged_leaves()?;
        let (result, hashes) = self.check_parent_hashes(suite);
        result.map(|()| hashes)
    }

    /// [`Self::validate_parent_hashes`], with the number of hashes computed.
    fn check_parent_hashes(&self, suite: &Suite<'_>) -> (Result<(), Error>, usize) {
        // (vouches, hashes) per parent; `None` for a blank one.
        let checked: Vec<Option<(u8, usize)>> = self
            .parents
            .par_iter()
            .enumerate()
            .map(|(i, parent)| {
                let parent = parent?;
                let mut hashes = 0;
                let vouches = self.parent_hash_vouches(suite, NodeIndex(2 * i as u32 + 1), parent, &mut hashes);
                Some((vouches, hashes))
            })
            .collect();
        let hashes = checked.iter().flatten().map(|&(_, h)| h).sum();
        // The first invalid parent, whatever the thread count.
        let invalid = checked.iter().position(|c| matches!(c, Some((v, _)) if *v != 1));
        let result = match invalid {
            Some(i) => Err(TreeError::ParentHashInvalid(2 * i as u32 + 1).into()),
            None => Ok(()),
        };
        (result, hashes)
    }

    /// How many nodes validly vouch for the non-blank parent `parent` at
    /// `p` (0, 1 or 2: at most one per side), adding the hashes computed
    /// to `hashes`.
    fn parent_hash_vouches(&self, suite: &Suite<'_>, p: NodeIndex, parent: &ParentNode, hashes: &mut usize) -> u8 {
        // A parent's children always exist in a full tree.
        let (Some(left), Some(right)) = (math::left(p), math::right(p)) else { return 0 };
        let mut vouches = 0;
        for (c, s) in [(left, right), (right, left)] {
            if self.vouches_from(suite, parent, c, s, hashes) {
                vouches += 1;
            }
        }
        vouches
    }

    /// Whether a node under child `c` of `parent` (with `s` the other
    /// child) validly vouches for it.
    fn vouches_from(
        &self,
        suite: &Suite<'_>,
        parent: &ParentNode,
        c: NodeIndex,
        s: NodeIndex,
        hashes: &mut usize,
    ) -> bool {
        let Some(d) = self.sole_new_node(c, leaves_in(&parent.unmerged_leaves, c)) else { return false };
        let claimed: &[u8] = match d.leaf() {
            Some(l) => match self.leaf(l).map(|n| &n.leaf_node_source) {
                Some(LeafNodeSource::Commit { parent_hash }) => parent_hash,
                _ => return false,
            },
            None => match self.parent_node(d) {
                Some(n) => &n.parent_hash,
                None => return false,
            },
        };
        if claimed.is_empty() {
            return false;
        }
        let sibling_hash = self.original_tree_hash(suite, s, leaves_in(&parent.unmerged_leaves, s), hashes);
        *hashes += 1;
        parent_hash(suite, parent.encryption_key.as_bytes(), &parent.parent_hash, &sibling_hash) == claimed
    }

    /// The node D such that the resolution of `c` is D plus exactly
    /// `expected` (sorted leaves under `c`), D being in the resolution in
    /// its own right: a non-blank node all of whose ancestors up to `c` are
    /// blank, hence whose first non-blank ancestor is `c`'s parent. `None`
    /// otherwise, found once the resolution leaves `expected` twice, so the
    /// walk stays within `expected.len() + 1` resolution nodes. Empty
    /// subtrees are skipped through the occupancy bitmap, as
    /// [`TreeView::resolution`] would return them.
    fn sole_new_node(&self, c: NodeIndex, expected: &[LeafIndex]) -> Option<NodeIndex> {
        let mut found = None;
        let mut matched = 0;
        let mut stack = vec![c];
        while let Some(x) = stack.pop() {
            if self.resolution_is_empty(x) {
                continue;
            }
            if let Some(l) = x.leaf() {
                // Not empty: the leaf is occupied.
                if expected.binary_search(&l).is_ok() {
                    matched += 1;
                } else if found.replace(x).is_some() {
                    return None;
                }
            } else if let Some(p) = self.parent_node(x) {
                if found.replace(x).is_some() {
                    return None;
                }
                // Its unmerged leaves are in the resolution too, but never
                // as D: they must all be expected.
                for l in &p.unmerged_leaves {
                    if expected.binary_search(l).is_err() {
                        return None;
                    }
                    matched += 1;
                }
            } else if let (Some(left), Some(right)) = (math::left(x), math::right(x)) {
                stack.push(right);
                stack.push(left);
            }
        }
        // The resolution holds no node twice (unmerged leaves lie below
        // their parent, whose subtrees are disjoint), so counting matches
        // shows every expected leaf is in it.
        if matched == expected.len() { found } else { None }
    }

    /// The tree hash of `s` with every leaf of `excluded` blanked and
    /// dropped from unmerged lists: the original sibling tree hash of
    /// §7.9. `excluded` is sorted and within `s`. Only the paths from the
    /// excluded leaves up to `s` are rehashed, each child given its part of
    /// `excluded`; the rest come from the cache. Adds the hashes computed
    /// to `hashes`: at most the nodes of `s`'s subtree, and at most
    /// level(s) + 1 per excluded leaf.
    pub(crate) fn original_tree_hash(
        &self,
        suite: &Suite<'_>,
        s: NodeIndex,
        excluded: &[LeafIndex],
        hashes: &mut usize,
    ) -> Vec<u8> {
        if excluded.is_empty() {
            return self.tree_hash(suite, s);
        }
        *hashes += 1;
        let mut buf = Vec::new();
        match s.leaf() {
            // The leaf itself is excluded: hash it as blank.
            Some(l) => leaf_tree_hash(suite, l, None, &mut buf),
            None => {
                let (l, r) = (math::left(s).unwrap_or(s), math::right(s).unwrap_or(s));
                let split = excluded.partition_point(|x| x.0 < math::leaf_span(r).0);
                let (in_l, in_r) = excluded.split_at(split);
                let lh = self.original_tree_hash(suite, l, in_l, hashes);
                let rh = self.original_tree_hash(suite, r, in_r, hashes);
                let node = self.parent_node(s).map(|p| {
                    let mut p = p.clone();
                    p.unmerged_leaves.retain(|u| excluded.binary_search(u).is_err());
                    p
                });
                parent_tree_hash(suite, node.as_ref(), &lh, &rh, &mut buf)
            }
        }
    }
}

/// The part of the sorted `leaves` that lies under `x`, by binary search.
fn leaves_in(leaves: &[LeafIndex], x: NodeIndex) -> &[LeafIndex] {
    let (first, count) = math::leaf_span(x);
    let end = u64::from(first) + u64::from(count);
    let lo = leaves.partition_point(|l| l.0 < first);
    let hi = leaves.partition_point(|l| u64::from(l.0) < end);
    leaves.get(lo..hi.max(lo)).unwrap_or(&[])
}

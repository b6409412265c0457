//! Leaf node validation (RFC 9420 §7.3) and the full validation a joiner
//! runs on a tree it did not build (§12.4.3.1): leaf signatures and rules
//! in parallel, unmerged-leaf consistency, and parent-hash validity
//! (§7.9.2) checked bottom-up in O(n log n).

use std::collections::BTreeSet;

use rayon::prelude::*;

use crate::crypto::{CipherSuite, Suite};
use crate::error::{Error, LeafNodeError, TreeError};
use crate::limits::{Limit, Limits};
use crate::messages::extensions::check_extension_list;
use crate::messages::registered_extensions::RequiredCapabilities;
use crate::messages::{CredentialType, LeafNode, LeafNodeSource, ProtocolVersion};

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
    for len in [caps.versions.len(), caps.cipher_suites.len(), caps.extensions.len(), caps.proposals.len()] {
        Limits::check(Limit::CapabilityEntries, len, max)?;
    }
    Limits::check(Limit::CapabilityEntries, caps.credentials.len(), max)?;
    check_extension_list(&leaf.extensions, &rules.limits)?;
    if leaf.encryption_key.as_bytes().len() != suite.algorithms().kem.public_key_len() {
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
        self.validate_leaves(suite, group_id, rules)?;
        self.validate_unmerged_leaves()?;
        self.validate_parent_hashes(suite)
    }

    fn validate_leaves(&self, suite: &Suite<'_>, group_id: &[u8], rules: &LeafNodeRules<'_>) -> Result<(), Error> {
        let in_use: BTreeSet<CredentialType> =
            self.leaves.iter().flatten().map(|l| l.credential.credential_type()).collect();
        self.leaves.par_iter().enumerate().try_for_each(|(i, leaf)| {
            let Some(leaf) = leaf else { return Ok(()) };
            if !in_use.iter().all(|&t| leaf.capabilities.supports_credential(t)) {
                return Err(LeafNodeError::CredentialTypeUnsupported.into());
            }
            validate_leaf_node(suite, leaf, Some((group_id, LeafIndex(i as u32))), rules)
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

    /// §7.9.2, bottom up: every node D that carries a parent hash can only
    /// vouch for its first non-blank ancestor P (anything set between them
    /// by a later commit would have reset P too). Each D is checked in
    /// parallel; every non-blank parent must be vouched for exactly once.
    fn validate_parent_hashes(&self, suite: &Suite<'_>) -> Result<(), Error> {
        let width = self.node_width();
        let covered: Vec<u32> = (0..width)
            .into_par_iter()
            .filter_map(|x| self.parent_hash_target(suite, NodeIndex(x)))
            .map(|p| p.0)
            .collect();
        let mut counts = vec![0u8; width as usize];
        for p in covered {
            let c = &mut counts[p as usize];
            *c = c.saturating_add(1);
        }
        for (i, parent) in self.parents.iter().enumerate() {
            if parent.is_some() && counts[2 * i + 1] != 1 {
                return Err(TreeError::ParentHashInvalid(2 * i as u32 + 1).into());
            }
        }
        Ok(())
    }

    /// The parent node that `d`'s parent_hash validly points at, if any.
    fn parent_hash_target(&self, suite: &Suite<'_>, d: NodeIndex) -> Option<NodeIndex> {
        let claimed: &[u8] = match d.leaf() {
            Some(l) => match &self.leaf(l)?.leaf_node_source {
                LeafNodeSource::Commit { parent_hash } => parent_hash,
                _ => return None,
            },
            None => &self.parent_node(d)?.parent_hash,
        };
        if claimed.is_empty() {
            return None;
        }
        let n = self.leaf_count();
        let mut c = d;
        let mut p = math::parent(c, n)?;
        while self.is_blank(p) {
            c = p;
            p = math::parent(p, n)?;
        }
        let parent = self.parent_node(p)?;
        let s = math::sibling(c, n)?;
        let sibling_hash = self.original_tree_hash(suite, s, &parent.unmerged_leaves);
        if parent_hash(suite, parent.encryption_key.as_bytes(), &parent.parent_hash, &sibling_hash) != claimed {
            return None;
        }
        // D must be in the resolution of C, and the rest of that resolution
        // must be exactly P's unmerged leaves under C (§7.9.2).
        let (first, count) = math::leaf_span(c);
        let unmerged_under_c: Vec<NodeIndex> =
            parent.unmerged_leaves.iter().filter(|l| l.0 >= first && l.0 < first + count).map(|l| l.node()).collect();
        let resolution = self.bounded_resolution(c, unmerged_under_c.len() + 1)?;
        if !resolution.contains(&d) {
            return None;
        }
        let mut rest: Vec<NodeIndex> = resolution.into_iter().filter(|&x| x != d).collect();
        rest.sort();
        let mut expected = unmerged_under_c;
        expected.sort();
        (rest == expected).then_some(p)
    }

    /// The resolution of `x`, or `None` once it exceeds `limit` nodes;
    /// empty subtrees are skipped through the occupancy bitmap.
    fn bounded_resolution(&self, x: NodeIndex, limit: usize) -> Option<Vec<NodeIndex>> {
        let mut out = Vec::new();
        let mut stack = vec![x];
        while let Some(node) = stack.pop() {
            if self.resolution_is_empty(node) {
                continue;
            }
            if let Some(l) = node.leaf() {
                if self.leaf(l).is_some() {
                    out.push(node);
                }
            } else if let Some(p) = self.parent_node(node) {
                out.push(node);
                out.extend(p.unmerged_leaves.iter().map(|l| l.node()));
            } else if let (Some(left), Some(right)) = (math::left(node), math::right(node)) {
                stack.push(right);
                stack.push(left);
            }
            if out.len() > limit {
                return None;
            }
        }
        Some(out)
    }

    /// The tree hash of `s` with every leaf of `excluded` blanked and
    /// dropped from unmerged lists: the original sibling tree hash of
    /// §7.9. Only subtrees holding an excluded leaf are rehashed; the rest
    /// come from the cache.
    pub(crate) fn original_tree_hash(&self, suite: &Suite<'_>, s: NodeIndex, excluded: &[LeafIndex]) -> Vec<u8> {
        let (first, count) = math::leaf_span(s);
        let inside: Vec<LeafIndex> = excluded.iter().copied().filter(|l| l.0 >= first && l.0 < first + count).collect();
        if inside.is_empty() {
            return self.tree_hash(s).to_vec();
        }
        let mut buf = Vec::new();
        match s.leaf() {
            // The leaf itself is excluded: hash it as blank.
            Some(l) => leaf_tree_hash(suite, l, None, &mut buf),
            None => {
                let (l, r) = (math::left(s).unwrap_or(s), math::right(s).unwrap_or(s));
                let lh = self.original_tree_hash(suite, l, &inside);
                let rh = self.original_tree_hash(suite, r, &inside);
                let node = self.parent_node(s).map(|p| {
                    let mut p = p.clone();
                    p.unmerged_leaves.retain(|u| !inside.contains(u));
                    p
                });
                parent_tree_hash(suite, node.as_ref(), &lh, &rh, &mut buf)
            }
        }
    }
}

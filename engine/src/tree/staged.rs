//! Staged changes: an overlay on a [`RatchetTree`] that records only what
//! a commit changes (docs/ARCHITECTURE.md, performance design 1). Staging
//! clones no part of the tree; dropping a stage costs nothing; merging
//! writes the changed nodes and rehashes only the stale paths.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::crypto::{HpkePublicKey, Suite};
use crate::error::{Error, InternalError, ProposalError, UpdatePathError};
use crate::messages::{LeafNode, ParentNode};

use super::RatchetTree;
use super::hash::{CACHED_LEVEL, leaf_tree_hash, parent_hash, parent_tree_hash};
use super::occupancy::Occupancy;
use super::view::{PathStep, TreeView};
use crate::tree_math::{self as math, LeafIndex, NodeIndex};

/// What a stage changed, detached from the tree it applies to so that a
/// staged or pending commit can hold it without borrowing the group.
#[derive(Clone, Debug)]
pub struct TreeDiff {
    pub(crate) leaf_count: u32,
    // The maps keyed by node index hold O(log n) entries per commit and are
    // read on every view access; ordered maps of small integers beat
    // SipHash there (SipHash was a third of a commit's hash update) and
    // need no DoS-resistant hasher.
    /// Leaf index → its new value (`None`: blanked).
    pub(crate) leaves: BTreeMap<u32, Option<LeafNode>>,
    /// Parent node index → its new value (`None`: blanked).
    pub(crate) parents: BTreeMap<u32, Option<ParentNode>>,
    /// Nodes whose cached hash in the base tree no longer holds.
    stale: BTreeSet<u32>,
    /// Recomputed hashes of stale nodes, and of unchanged nodes below the
    /// base cache's levels once computed.
    pub(crate) hashes: BTreeMap<u32, Vec<u8>>,
    /// Keys this diff introduced, for uniqueness checks within one commit
    /// (the base tree's index covers the rest).
    signature_keys: HashMap<Vec<u8>, u32>,
    encryption_keys: HashMap<Vec<u8>, u32>,
    /// The leaf bitmap after the changes; `None` while no leaf's
    /// occupancy changed (the base's holds).
    pub(crate) occupancy: Option<Occupancy>,
}

impl TreeDiff {
    pub(crate) fn new(leaf_count: u32) -> Self {
        Self {
            leaf_count,
            leaves: BTreeMap::new(),
            parents: BTreeMap::new(),
            stale: BTreeSet::new(),
            hashes: BTreeMap::new(),
            signature_keys: HashMap::new(),
            encryption_keys: HashMap::new(),
            occupancy: None,
        }
    }

    /// Whether the diff changes nothing.
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty() && self.parents.is_empty() && self.stale.is_empty()
    }
}

impl Default for TreeDiff {
    fn default() -> Self {
        Self::new(0)
    }
}

/// A tree with staged changes: reads see the changes, the base is untouched.
#[derive(Debug)]
pub struct StagedTree<'t> {
    base: &'t RatchetTree,
    diff: TreeDiff,
    /// Borrowed from the base until a leaf's occupancy changes, so staging
    /// an UpdatePath copies no O(n) bitmap.
    occupancy: Cow<'t, Occupancy>,
}

impl TreeView for StagedTree<'_> {
    fn leaf_count(&self) -> u32 {
        self.diff.leaf_count
    }

    fn leaf(&self, leaf: LeafIndex) -> Option<&LeafNode> {
        if leaf.0 >= self.diff.leaf_count {
            return None;
        }
        match self.diff.leaves.get(&leaf.0) {
            Some(changed) => changed.as_ref(),
            None => self.base.leaf(leaf),
        }
    }

    fn parent_node(&self, node: NodeIndex) -> Option<&ParentNode> {
        if node.is_leaf() || node.0 >= self.node_width() {
            return None;
        }
        match self.diff.parents.get(&node.0) {
            Some(changed) => changed.as_ref(),
            None => self.base.parent_node(node),
        }
    }

    fn has_leaf_in(&self, first: u32, count: u32) -> bool {
        self.occupancy.any_in(first, count)
    }
}

impl<'t> StagedTree<'t> {
    pub(crate) fn new(base: &'t RatchetTree, mut diff: TreeDiff) -> Self {
        let occupancy = diff.occupancy.take().map_or(Cow::Borrowed(&base.occupancy), Cow::Owned);
        Self { base, diff, occupancy }
    }

    /// Detaches the changes from the tree.
    pub fn into_diff(mut self) -> TreeDiff {
        if let Cow::Owned(occupancy) = self.occupancy {
            self.diff.occupancy = Some(occupancy);
        }
        self.diff
    }

    /// The tree the changes apply to.
    pub fn base(&self) -> &'t RatchetTree {
        self.base
    }

    fn is_stale(&self, x: NodeIndex) -> bool {
        x.0 >= self.base.node_width() || self.diff.stale.contains(&x.0)
    }

    /// Marks `x` and its ancestors stale: their hashes must be recomputed.
    ///
    /// Stops at the first ancestor that was already stale and had no
    /// recomputed hash: its own ancestors are then stale and uncached too
    /// (a node is marked together with its whole chain to the root, and a
    /// hash is only cached after those of its stale descendants). So an
    /// UpdatePath of `k` nodes costs `O(k + log n)` marks, not `O(k log n)`.
    fn touch(&mut self, x: NodeIndex) {
        let n = self.diff.leaf_count;
        let mut cur = Some(x);
        while let Some(node) = cur {
            let newly_stale = self.diff.stale.insert(node.0);
            let had_hash = self.diff.hashes.remove(&node.0).is_some();
            if !newly_stale && !had_hash {
                break;
            }
            cur = math::parent(node, n);
        }
    }

    fn set_leaf(&mut self, leaf: LeafIndex, node: Option<LeafNode>) {
        if let Some(n) = &node {
            self.diff.signature_keys.insert(n.signature_key().to_vec(), leaf.0);
            self.diff.encryption_keys.insert(n.encryption_key().to_vec(), leaf.node().0);
        }
        if self.occupancy.get(leaf.0) != node.is_some() {
            self.occupancy.to_mut().set(leaf.0, node.is_some());
        }
        self.diff.leaves.insert(leaf.0, node);
        self.touch(leaf.node());
    }

    fn set_parent(&mut self, x: NodeIndex, node: Option<ParentNode>) {
        if let Some(n) = &node {
            self.diff.encryption_keys.insert(n.encryption_key.as_bytes().to_vec(), x.0);
        }
        self.diff.parents.insert(x.0, node);
        self.touch(x);
    }

    fn resize(&mut self, leaf_count: u32) {
        self.diff.leaf_count = leaf_count;
        self.occupancy.to_mut().resize(leaf_count);
        // Hashes of nodes the base never had depend on the new shape.
        let base_width = self.base.node_width();
        self.diff.hashes.retain(|&x, _| x < base_width);
    }

    /// Blanks every parent on the direct path of `leaf` (§12.1.2, §12.1.3).
    pub fn blank_direct_path(&mut self, leaf: LeafIndex) {
        for x in math::direct_path(leaf.node(), self.diff.leaf_count) {
            if !self.is_blank(x) {
                self.set_parent(x, None);
            }
        }
    }

    /// Adds a member at the leftmost blank leaf, extending the tree if it
    /// is full, and lists it as unmerged at every non-blank ancestor
    /// (§12.1.1, §7.7). Uniqueness is the caller's to check first.
    pub fn add_leaf(&mut self, node: LeafNode) -> LeafIndex {
        let n = self.diff.leaf_count;
        let leaf = match self.occupancy.first_vacant(0) {
            Some(i) => LeafIndex(i),
            None => {
                self.resize((n * 2).max(1));
                LeafIndex(n)
            }
        };
        for x in math::direct_path(leaf.node(), self.diff.leaf_count) {
            if let Some(parent) = self.parent_node(x) {
                let mut parent = parent.clone();
                let pos = parent.unmerged_leaves.partition_point(|l| l.0 < leaf.0);
                // §7.1: unmerged_leaves stays sorted.
                parent.unmerged_leaves.insert(pos, leaf);
                self.set_parent(x, Some(parent));
            }
        }
        self.set_leaf(leaf, Some(node));
        leaf
    }

    /// Replaces a member's leaf and blanks its direct path (§12.1.2).
    pub fn update_leaf(&mut self, leaf: LeafIndex, node: LeafNode) -> Result<(), Error> {
        if self.leaf(leaf).is_none() {
            return Err(ProposalError::UpdateOfBlankLeaf(leaf.0).into());
        }
        self.set_leaf(leaf, Some(node));
        self.blank_direct_path(leaf);
        Ok(())
    }

    /// Removes a member: blanks its leaf and direct path, then truncates
    /// the tree while its right half is empty (§12.1.3, §7.7).
    pub fn remove_leaf(&mut self, leaf: LeafIndex) -> Result<(), Error> {
        if self.leaf(leaf).is_none() {
            return Err(ProposalError::RemoveOfBlankLeaf(leaf.0).into());
        }
        self.set_leaf(leaf, None);
        self.blank_direct_path(leaf);
        self.truncate();
        Ok(())
    }

    fn truncate(&mut self) {
        let mut n = self.diff.leaf_count;
        while n > 1 && !self.occupancy.any_in(n / 2, n / 2) {
            n /= 2;
        }
        if n != self.diff.leaf_count {
            self.resize(n);
        }
    }

    /// Merges an UpdatePath's public keys into the tree (§7.5): blanks the
    /// sender's direct path, sets each node of its filtered direct path to
    /// the given key with no unmerged leaves, and computes the parent
    /// hashes top-down (§7.9). Returns the parent hash the sender's new
    /// leaf must carry.
    ///
    /// The sender's leaf itself is set by the caller afterwards (a
    /// committer signs it with this parent hash; a receiver checks it).
    pub fn apply_path(
        &mut self,
        suite: &Suite<'_>,
        sender: LeafIndex,
        keys: &[HpkePublicKey],
    ) -> Result<Vec<u8>, Error> {
        let path = self.filtered_direct_path(sender);
        if path.len() != keys.len() {
            return Err(UpdatePathError::Length { expected: path.len(), got: keys.len() }.into());
        }
        // §7.5: blank the direct path, then set the filtered direct path.
        // One pass, so a node on both is written once.
        let mut keys = path.iter().zip(keys).peekable();
        for x in math::direct_path(sender.node(), self.diff.leaf_count) {
            match keys.next_if(|(step, _)| step.node == x) {
                Some((_, key)) => {
                    let node = ParentNode {
                        encryption_key: key.clone(),
                        parent_hash: Vec::new(),
                        unmerged_leaves: Vec::new(),
                    };
                    self.set_parent(x, Some(node));
                }
                None if !self.is_blank(x) => self.set_parent(x, None),
                None => {}
            }
        }
        self.set_path_parent_hashes(suite, &path)
    }

    /// Fills `parent_hash` along `path` from the root down and returns the
    /// hash the leaf below the path must carry (§7.9).
    fn set_path_parent_hashes(&mut self, suite: &Suite<'_>, path: &[PathStep]) -> Result<Vec<u8>, Error> {
        let mut above: Vec<u8> = Vec::new();
        for step in path.iter().rev() {
            let sibling_hash = self.tree_hash(suite, step.copath_child);
            // apply_path has just written every path node into the diff.
            let Some(Some(node)) = self.diff.parents.get_mut(&step.node.0) else {
                return Err(InternalError::invariant("path node vanished while hashing"));
            };
            node.parent_hash = std::mem::take(&mut above);
            above = parent_hash(suite, node.encryption_key.as_bytes(), &node.parent_hash, &sibling_hash);
            // Only parent_hash changed, and the node and its ancestors are
            // already stale; drop any hash computed since.
            self.touch(step.node);
        }
        Ok(above)
    }

    /// Sets a leaf to `node` without touching the path (the last step of
    /// applying an UpdatePath; §7.5 step 4).
    pub fn set_path_leaf(&mut self, leaf: LeafIndex, node: LeafNode) {
        self.set_leaf(leaf, Some(node));
    }

    /// The tree hash of `x`, recomputing stale nodes (each once) and
    /// reusing the base tree's cache everywhere else (§7.8).
    pub fn tree_hash(&mut self, suite: &Suite<'_>, x: NodeIndex) -> Vec<u8> {
        let mut buf = Vec::new();
        self.tree_hash_with(suite, x, &mut buf)
    }

    fn tree_hash_with(&mut self, suite: &Suite<'_>, x: NodeIndex, buf: &mut Vec<u8>) -> Vec<u8> {
        if let Some(h) = self.diff.hashes.get(&x.0) {
            return h.clone();
        }
        if !self.is_stale(x) {
            let h = self.base.tree_hash_with(suite, x, buf);
            // Below the cached levels the base rehashes; keep the result, as
            // a path's copath nodes are asked for twice (parent hashes, then
            // the tree hash). A node that turns stale drops it (`touch`).
            if x.level() < CACHED_LEVEL {
                self.diff.hashes.insert(x.0, h.clone());
            }
            return h;
        }
        let h = match x.leaf() {
            Some(l) => leaf_tree_hash(suite, l, self.leaf(l), buf),
            None => {
                // A parent always has both children in a full tree.
                let (l, r) = (math::left(x).unwrap_or(x), math::right(x).unwrap_or(x));
                let lh = self.tree_hash_with(suite, l, buf);
                let rh = self.tree_hash_with(suite, r, buf);
                parent_tree_hash(suite, self.parent_node(x), &lh, &rh, buf)
            }
        };
        self.diff.hashes.insert(x.0, h.clone());
        h
    }

    /// The root's tree hash after the staged changes.
    pub fn root_hash(&mut self, suite: &Suite<'_>) -> Vec<u8> {
        let root = self.root();
        self.tree_hash(suite, root)
    }

    /// The leaf holding a signature key, seeing the staged changes.
    pub fn find_signature_key(&self, key: &[u8]) -> Option<LeafIndex> {
        let staged = self.diff.signature_keys.get(key).map(|&l| LeafIndex(l));
        staged
            .into_iter()
            .chain(self.base.find_signature_key(key))
            .find(|&l| self.leaf(l).is_some_and(|n| n.signature_key() == key))
    }

    /// The node holding an HPKE key, seeing the staged changes.
    pub fn find_encryption_key(&self, key: &[u8]) -> Option<NodeIndex> {
        let staged = self.diff.encryption_keys.get(key).map(|&x| NodeIndex(x));
        staged.into_iter().chain(self.base.find_encryption_key(key)).find(|&x| self.encryption_key(x) == Some(key))
    }

    /// Leaves added by this stage that are still present (for excluding
    /// new members from UpdatePath encryption, §7.5).
    pub fn changed_leaves(&self) -> impl Iterator<Item = LeafIndex> + '_ {
        self.diff.leaves.keys().map(|&l| LeafIndex(l))
    }
}

//! The public ratchet tree (RFC 9420 §4, §7).
//!
//! A flat node array (Appendix C) with cached tree hashes (level 2 and up,
//! and the root) and an index for the uniqueness checks. Changes are staged in a [`TreeDiff`]
//! overlay and written back by [`RatchetTree::merge`], which touches only
//! the changed nodes and rehashes only their paths (docs/ARCHITECTURE.md,
//! performance design 1).

pub(crate) mod hash;
mod index;

mod occupancy;
mod persist;
mod slots;
mod staged;
mod validate;
mod view;

use rayon::prelude::*;

use crate::codec::Encode;
use crate::crypto::{HpkePublicKey, Suite};
use crate::error::{Error, LeafNodeError, TreeError};
use std::sync::Arc;

use crate::messages::{Capabilities, Credential, LeafNode, Node, ParentNode, RatchetTreeExtension};

use crate::tree_math::{self as math, LeafIndex, NodeIndex};
use hash::{HashCache, leaf_tree_hash, parent_tree_hash};
use index::{Entries, TreeIndex, shared_fingerprints};
use occupancy::Occupancy;
use slots::Slots;
pub use staged::{StagedTree, TreeDiff};
pub use validate::{LeafNodeRules, validate_leaf_node};
pub use view::{PathStep, TreeView};

/// The public state of a group's ratchet tree: every node's public
/// content, the tree hashes of the nodes at level 2 and up, and an index by
/// key.
///
/// Parallel work (hashing a whole tree, validating it) runs on the rayon
/// pool of the caller: call inside `pool.install(..)` to choose it.
#[derive(Clone, Debug)]
pub struct RatchetTree {
    /// Boxed so that a blank leaf costs one pointer, not a LeafNode, and
    /// a blank run nothing ([`Slots`]).
    leaves: Slots<LeafNode>,
    /// Parent at odd node index `x` is `parents[x / 2]`. Most parents of a
    /// large tree are blank.
    parents: Slots<ParentNode>,
    hashes: HashCache,
    occupancy: Occupancy,
    index: TreeIndex,
}

impl TreeView for RatchetTree {
    fn leaf_count(&self) -> u32 {
        self.leaves.len() as u32
    }

    fn leaf(&self, leaf: LeafIndex) -> Option<&LeafNode> {
        self.leaves.get(leaf.0 as usize)
    }

    fn parent_node(&self, node: NodeIndex) -> Option<&ParentNode> {
        if node.is_leaf() {
            return None;
        }
        self.parents.get((node.0 / 2) as usize)
    }

    fn has_leaf_in(&self, first: u32, count: u32) -> bool {
        self.occupancy.any_in(first, count)
    }
}

impl RatchetTree {
    /// A one-member tree: the creator's leaf (§11).
    pub fn new(suite: &Suite<'_>, creator: LeafNode) -> Result<Self, Error> {
        Self::from_nodes(suite, vec![Some(Box::new(creator))], Vec::new())
    }

    /// Imports the `ratchet_tree` extension (§12.4.3.3): checks its shape,
    /// pads it to a full tree, indexes it (rejecting duplicate signature or
    /// encryption keys, §7.3) and hashes every node, in parallel.
    ///
    /// This is the syntactic part of joining; [`RatchetTree::validate`]
    /// does the rest of §12.4.3.1.
    pub fn import(suite: &Suite<'_>, nodes: &RatchetTreeExtension) -> Result<Self, Error> {
        nodes.check_shape()?;
        let n_nodes = nodes.0.len() as u64;
        // Leaves whose full tree (2 * leaves - 1 nodes) holds every node,
        // rounded up to a power of two (§7.7: the tree is always full). A
        // list that ends in a parent has an even count and needs the leaf
        // to its right too.
        let n_leaves = (n_nodes + 1).div_ceil(2).next_power_of_two();
        if n_leaves > u64::from(u32::MAX / 2) {
            return Err(TreeError::TooLarge.into());
        }
        let mut leaves = vec![None; n_leaves as usize];
        let mut parents = vec![None; (n_leaves - 1) as usize];
        let mut distinct: Vec<Arc<Capabilities>> = Vec::new();
        for (i, node) in nodes.0.iter().enumerate() {
            match node {
                Some(Node::Leaf(l)) => {
                    let mut leaf = Box::new(l.clone());
                    share_capabilities(&mut leaf, &mut distinct);
                    leaves[i / 2] = Some(leaf);
                }
                Some(Node::Parent(p)) => parents[i / 2] = Some(Box::new(p.clone())),
                None => {}
            }
        }
        Self::from_nodes(suite, leaves, parents)
    }

    fn from_nodes(
        suite: &Suite<'_>,
        leaves: Vec<Option<Box<LeafNode>>>,
        parents: Vec<Option<Box<ParentNode>>>,
    ) -> Result<Self, Error> {
        let width = math::node_width(leaves.len() as u32);
        let mut tree = Self {
            occupancy: Occupancy::from_leaves(&leaves),
            leaves: Slots::from_vec(leaves),
            parents: Slots::from_vec(parents),
            hashes: HashCache::new(suite.hash_len(), width),
            index: TreeIndex::default(),
        };
        tree.build_index()?;
        tree.rehash_all(suite);
        Ok(tree)
    }

    /// Indexes every node, checking the uniqueness rules on the way (§7.3:
    /// leaf signature and encryption keys; §12.4.3.1: parent encryption
    /// keys). Of several repeats, the one reported is the first a check in
    /// node order meets: leaf by leaf, signature key before encryption key,
    /// then the parents.
    fn build_index(&mut self) -> Result<(), Error> {
        let index = TreeIndex::default();
        let (mut signature_keys, mut encryption_keys, mut credentials) =
            (Entries::new(), Entries::new(), Entries::new());
        for (i, leaf) in self.leaves.iter().enumerate() {
            let Some(leaf) = leaf else { continue };
            let i = i as u32;
            signature_keys.push((index.fingerprint(leaf.signature_key()), i));
            encryption_keys.push((index.fingerprint(leaf.encryption_key()), LeafIndex(i).node().0));
            credentials.push((index.fingerprint(&leaf.credential.to_bytes()), i));
        }
        for (i, parent) in self.parents.iter().enumerate() {
            let Some(parent) = parent else { continue };
            encryption_keys.push((index.fingerprint(parent.encryption_key.as_bytes()), 2 * i as u32 + 1));
        }
        // Equal values share a fingerprint, so only those groups are compared.
        let leaf_count = u64::from(self.leaf_count());
        let mut first: Option<(u64, Error)> = None;
        for group in shared_fingerprints(&signature_keys) {
            if let Some(leaf) = first_repeat(&group, |l| self.leaf(LeafIndex(l)).map(|n| n.signature_key())) {
                keep_first(&mut first, 2 * u64::from(leaf), LeafNodeError::DuplicateSignatureKey.into());
            }
        }
        for mut group in shared_fingerprints(&encryption_keys) {
            // Leaves (even node indices) before parents.
            group.sort_by_key(|&x| (x % 2, x));
            if let Some(x) = first_repeat(&group, |x| self.encryption_key(NodeIndex(x))) {
                if x % 2 == 0 {
                    keep_first(&mut first, u64::from(x) + 1, LeafNodeError::DuplicateEncryptionKey.into());
                } else {
                    keep_first(&mut first, 2 * leaf_count + u64::from(x), TreeError::DuplicateEncryptionKey(x).into());
                }
            }
        }
        if let Some((_, error)) = first {
            return Err(error);
        }
        self.index = index.bulk(&signature_keys, &encryption_keys, &credentials);
        Ok(())
    }

    /// Computes every tree hash from scratch: leaves in parallel, then each
    /// level of parents in parallel (each level needs only the one below),
    /// keeping the levels the cache holds and the root.
    fn rehash_all(&mut self, suite: &Suite<'_>) {
        let mut below: Vec<Vec<u8>> = self
            .leaves
            .par_iter()
            .enumerate()
            .map_init(Vec::new, |buf, (i, leaf)| leaf_tree_hash(suite, LeafIndex(i as u32), leaf, buf))
            .collect();
        let root_level = self.root().level();
        for level in 1..=root_level {
            let first = (1u32 << level) - 1;
            let step = 1u32 << (level + 1);
            let count = (self.node_width() - first).div_ceil(step);
            let (this, children) = (&*self, &below);
            let level_hashes: Vec<Vec<u8>> = (0..count)
                .into_par_iter()
                .map_init(Vec::new, |buf, j| {
                    // A full tree: node j of this level has nodes 2j and
                    // 2j + 1 of the level below as children.
                    let child = |k: u32| children.get(k as usize).map_or(&[][..], Vec::as_slice);
                    let x = NodeIndex(first + j * step);
                    parent_tree_hash(suite, this.parent_node(x), child(2 * j), child(2 * j + 1), buf)
                })
                .collect();
            for (j, h) in level_hashes.iter().enumerate() {
                self.hashes.set(NodeIndex(first + j as u32 * step), h);
            }
            below = level_hashes;
        }
        let root = below.into_iter().next().unwrap_or_default();
        self.hashes.set_root(root);
    }

    /// Recomputes every cached tree hash from scratch, in parallel, as
    /// [`RatchetTree::import`] does. The cache is always current, so this
    /// changes nothing; it exists so the benches can set the full hash of
    /// §7.8 against the cached update of one commit.
    #[doc(hidden)]
    pub fn rehash(&mut self, suite: &Suite<'_>) {
        self.rehash_all(suite);
    }

    /// The tree hash of the root: `tree_hash` in the GroupContext (§7.8).
    pub fn root_hash(&self) -> &[u8] {
        self.hashes.root()
    }

    /// The tree hash of any node (§7.8): from the cache at level 2 and
    /// above, else rehashed from the at most 4 leaves below it (3 or 7
    /// hashes).
    pub fn tree_hash(&self, suite: &Suite<'_>, node: NodeIndex) -> Vec<u8> {
        self.tree_hash_with(suite, node, &mut Vec::new())
    }

    pub(crate) fn tree_hash_with(&self, suite: &Suite<'_>, x: NodeIndex, buf: &mut Vec<u8>) -> Vec<u8> {
        if x == self.root() {
            return self.root_hash().to_vec();
        }
        if let Some(h) = self.hashes.get(x) {
            return h.to_vec();
        }
        match x.leaf() {
            Some(l) => leaf_tree_hash(suite, l, self.leaf(l), buf),
            None => {
                // A parent always has both children in a full tree.
                let (l, r) = (math::left(x).unwrap_or(x), math::right(x).unwrap_or(x));
                let lh = self.tree_hash_with(suite, l, buf);
                let rh = self.tree_hash_with(suite, r, buf);
                parent_tree_hash(suite, self.parent_node(x), &lh, &rh, buf)
            }
        }
    }

    /// The `ratchet_tree` extension form: every node in array order, with
    /// trailing blanks dropped (§12.4.3.3).
    pub fn export(&self) -> RatchetTreeExtension {
        export_view(self)
    }

    /// Starts staging changes on top of this tree.
    pub fn stage(&self) -> StagedTree<'_> {
        StagedTree::new(self, TreeDiff::new(self.leaf_count()))
    }

    /// Resumes staging on top of an earlier diff of this tree.
    pub fn stage_on(&self, diff: TreeDiff) -> StagedTree<'_> {
        StagedTree::new(self, diff)
    }

    /// The leaf holding a signature key, in O(log n).
    pub fn find_signature_key(&self, key: &[u8]) -> Option<LeafIndex> {
        let index = &self.index;
        index
            .signature_keys
            .candidates(index.fingerprint(key))
            .map(LeafIndex)
            .find(|&l| self.leaf(l).is_some_and(|n| n.signature_key() == key))
    }

    /// The node (leaf or parent) holding an HPKE key, in O(log n).
    pub fn find_encryption_key(&self, key: &[u8]) -> Option<NodeIndex> {
        let index = &self.index;
        index
            .encryption_keys
            .candidates(index.fingerprint(key))
            .map(NodeIndex)
            .find(|&x| self.encryption_key(x) == Some(key))
    }

    /// The leaves whose credential equals `credential`, in O(log n) plus one comparison per match.
    pub fn find_credential(&self, credential: &Credential) -> Vec<LeafIndex> {
        let bytes = credential.to_bytes();
        let mut found: Vec<LeafIndex> = self
            .index
            .credentials
            .candidates(self.index.fingerprint(&bytes))
            .map(LeafIndex)
            .filter(|&l| self.leaf(l).is_some_and(|n| &n.credential == credential))
            .collect();
        found.sort();
        found
    }

    /// Number of non-blank leaves.
    pub fn member_count(&self) -> u32 {
        self.occupancy.count()
    }

    /// Writes a staged diff into the tree: only changed nodes are written,
    /// only stale hashes recomputed, and the index follows the changes.
    pub fn merge(&mut self, suite: &Suite<'_>, diff: TreeDiff) {
        // Bring every stale hash up to date while the base is still intact.
        let mut staged = StagedTree::new(self, diff);
        let root_hash = staged.root_hash(suite);
        let mut diff = staged.into_diff();

        let new_leaves = diff.leaf_count as usize;
        if new_leaves > self.leaves.len() {
            self.leaves.resize(new_leaves);
            self.parents.resize(new_leaves - 1);
        }
        for (i, leaf) in std::mem::take(&mut diff.leaves) {
            self.replace_leaf(LeafIndex(i), leaf.map(Box::new));
        }
        for (x, parent) in std::mem::take(&mut diff.parents) {
            self.replace_parent(NodeIndex(x), parent);
        }
        // Truncation drops blank leaves and blank parents, except possibly
        // old roots (§7.7 discards the root whether or not it is blank),
        // which must leave the index.
        for i in new_leaves.saturating_sub(1)..self.parents.len() {
            self.replace_parent(NodeIndex(2 * i as u32 + 1), None);
        }
        self.leaves.resize(new_leaves);
        self.parents.resize(new_leaves.saturating_sub(1));
        // No bitmap in the diff: no leaf's occupancy changed.
        if let Some(occupancy) = diff.occupancy.take() {
            self.occupancy = occupancy;
        }
        self.hashes.resize(self.node_width());
        for (x, h) in diff.hashes {
            if x < self.node_width() {
                self.hashes.set(NodeIndex(x), &h);
            }
        }
        self.hashes.set_root(root_hash);
    }

    fn replace_leaf(&mut self, leaf: LeafIndex, mut new: Option<Box<LeafNode>>) {
        if let Some(new) = &mut new {
            // Share with the leaf replaced or the first leaf, when equal.
            let first = self.leaves.nodes().next();
            if let Some(same) =
                [self.leaf(leaf), first].into_iter().flatten().find(|l| l.capabilities == new.capabilities)
            {
                new.capabilities = Arc::clone(&same.capabilities);
            }
        }
        let old = self.leaves.replace(leaf.0 as usize, new);
        let index = &mut self.index;
        if let Some(old) = old {
            index.signature_keys.remove(index.fingerprint(old.signature_key()), leaf.0);
            index.encryption_keys.remove(index.fingerprint(old.encryption_key()), leaf.node().0);
            index.credentials.remove(index.fingerprint(&old.credential.to_bytes()), leaf.0);
        }
        if let Some(new) = self.leaves.get(leaf.0 as usize) {
            index.signature_keys.insert(index.fingerprint(new.signature_key()), leaf.0);
            index.encryption_keys.insert(index.fingerprint(new.encryption_key()), leaf.node().0);
            index.credentials.insert(index.fingerprint(&new.credential.to_bytes()), leaf.0);
        }
    }

    fn replace_parent(&mut self, node: NodeIndex, new: Option<ParentNode>) {
        let old = self.parents.replace((node.0 / 2) as usize, new.map(Box::new));
        let index = &mut self.index;
        if let Some(old) = old {
            index.encryption_keys.remove(index.fingerprint(old.encryption_key.as_bytes()), node.0);
        }
        if let Some(new) = self.parents.get((node.0 / 2) as usize) {
            index.encryption_keys.insert(index.fingerprint(new.encryption_key.as_bytes()), node.0);
        }
    }

    /// Public key at `node`, cloned (for callers that outlive the borrow).
    pub fn public_key(&self, node: NodeIndex) -> Option<HpkePublicKey> {
        self.encryption_key(node).map(HpkePublicKey::from)
    }

    /// Heap bytes of the tree-hash cache, for the memory breakdown
    /// (`benches/examples/state_breakdown.rs`).
    #[doc(hidden)]
    pub fn hash_cache_bytes(&self) -> usize {
        self.hashes.heap_bytes()
    }

    /// Heap bytes of the leaf and parent slots (not the nodes), for the
    /// same breakdown.
    #[doc(hidden)]
    pub fn slot_bytes(&self) -> (usize, usize) {
        (self.leaves.heap_bytes(), self.parents.heap_bytes())
    }

    /// Approximate heap bytes held by the tree (nodes, hashes, index); for
    /// memory reports.
    pub fn heap_bytes(&self) -> usize {
        // A boxed node: the struct, plus about its encoding for the field
        // buffers.
        let leaf = |l: &LeafNode| std::mem::size_of::<LeafNode>() + l.to_bytes().len();
        let parent = |p: &ParentNode| std::mem::size_of::<ParentNode>() + p.to_bytes().len();
        let nodes: usize =
            self.leaves.nodes().map(leaf).sum::<usize>() + self.parents.nodes().map(parent).sum::<usize>();
        nodes
            + self.leaves.heap_bytes()
            + self.parents.heap_bytes()
            + self.hashes.heap_bytes()
            + self.index.heap_bytes()
    }
}

/// The first index of `group` (in its order) whose value equals an earlier
/// one's; `None` for a blank node.
fn first_repeat<'a>(group: &[u32], value: impl Fn(u32) -> Option<&'a [u8]>) -> Option<u32> {
    group.iter().enumerate().find_map(|(j, &x)| {
        let v = value(x)?;
        group.iter().take(j).any(|&y| value(y) == Some(v)).then_some(x)
    })
}

/// Keeps the error a sequential check would meet first (lowest `order`).
fn keep_first(first: &mut Option<(u64, Error)>, order: u64, error: Error) {
    if first.as_ref().is_none_or(|(o, _)| order < *o) {
        *first = Some((order, error));
    }
}

/// Members of one group nearly always advertise identical capabilities:
/// `leaf` takes the shared copy of its value from `distinct` when there is
/// one (the tree then holds one copy for all), and its own value joins
/// `distinct` otherwise (up to a few values, to bound the search).
fn share_capabilities(leaf: &mut LeafNode, distinct: &mut Vec<Arc<Capabilities>>) {
    match distinct.iter().find(|c| Arc::ptr_eq(c, &leaf.capabilities) || **c == leaf.capabilities) {
        Some(shared) => leaf.capabilities = shared.clone(),
        None if distinct.len() < 8 => distinct.push(leaf.capabilities.clone()),
        None => {}
    }
}

/// The `ratchet_tree` extension form of any view (a staged tree included):
/// every node in array order, trailing blanks dropped (§12.4.3.3).
pub fn export_view(view: &impl TreeView) -> RatchetTreeExtension {
    let mut nodes: Vec<Option<Node>> = (0..view.node_width())
        .map(|x| {
            let x = NodeIndex(x);
            match x.leaf() {
                Some(l) => view.leaf(l).cloned().map(Node::Leaf),
                None => view.parent_node(x).cloned().map(Node::Parent),
            }
        })
        .collect();
    while matches!(nodes.last(), Some(None)) {
        nodes.pop();
    }
    RatchetTreeExtension(nodes)
}

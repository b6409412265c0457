//! What every view of a tree answers — the merged tree and a staged one
//! alike — and the RFC's derived notions on top: resolution (§4.1.1),
//! filtered direct path (§4.1.2).

use crate::messages::{LeafNode, ParentNode};

use crate::tree_math::{self as math, LeafIndex, NodeIndex};

/// A node on a leaf's filtered direct path, with the child of it that is
/// on the leaf's copath.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathStep {
    /// The parent node on the filtered direct path.
    pub node: NodeIndex,
    /// Its child that is not on the leaf's direct path.
    pub copath_child: NodeIndex,
}

/// Read access to a ratchet tree.
pub trait TreeView {
    /// Number of leaves (a power of two, §7.7).
    fn leaf_count(&self) -> u32;

    /// The leaf node at `leaf`, `None` if blank or outside the tree.
    fn leaf(&self, leaf: LeafIndex) -> Option<&LeafNode>;

    /// The parent node at odd index `node`, `None` if blank or outside.
    fn parent_node(&self, node: NodeIndex) -> Option<&ParentNode>;

    /// Whether any of the `count` leaves from `first` on is non-blank.
    /// Views answer from an occupancy bitmap, so this costs O(count / 64),
    /// not a walk of the subtree.
    fn has_leaf_in(&self, first: u32, count: u32) -> bool;

    /// Number of nodes.
    fn node_width(&self) -> u32 {
        math::node_width(self.leaf_count())
    }

    /// The root node.
    fn root(&self) -> NodeIndex {
        math::root(self.leaf_count())
    }

    /// Whether `node` is blank (or outside the tree).
    fn is_blank(&self, node: NodeIndex) -> bool {
        match node.leaf() {
            Some(l) => self.leaf(l).is_none(),
            None => self.parent_node(node).is_none(),
        }
    }

    /// The HPKE public key at a non-blank node.
    fn encryption_key(&self, node: NodeIndex) -> Option<&[u8]> {
        match node.leaf() {
            Some(l) => self.leaf(l).map(LeafNode::encryption_key),
            None => self.parent_node(node).map(|n| n.encryption_key.as_bytes()),
        }
    }

    /// Appends the resolution of `node` (§4.1.1) to `out`: a non-blank node
    /// and its unmerged leaves, or the resolutions of a blank node's
    /// children; nothing for a blank leaf.
    fn resolution_into(&self, node: NodeIndex, out: &mut Vec<NodeIndex>) {
        // An explicit stack, right child pushed first, keeps the RFC's
        // left-to-right order without recursion.
        let mut stack = vec![node];
        while let Some(x) = stack.pop() {
            if let Some(l) = x.leaf() {
                if self.leaf(l).is_some() {
                    out.push(x);
                }
            } else if let Some(p) = self.parent_node(x) {
                out.push(x);
                out.extend(p.unmerged_leaves.iter().map(|l| l.node()));
            } else if let (Some(left), Some(right)) = (math::left(x), math::right(x)) {
                stack.push(right);
                stack.push(left);
            }
        }
    }

    /// The resolution of `node` (§4.1.1).
    fn resolution(&self, node: NodeIndex) -> Vec<NodeIndex> {
        let mut out = Vec::new();
        self.resolution_into(node, &mut out);
        out
    }

    /// Whether the resolution of `node` is empty, without building it.
    ///
    /// A non-blank parent always has a non-blank leaf below it: it was set
    /// by an UpdatePath from such a leaf, and removing any leaf below blanks
    /// it (§12.1.3); joiners check this through parent-hash validity
    /// (§7.9.2). So the resolution is empty exactly when no leaf of the
    /// subtree is occupied, which the occupancy bitmap answers without
    /// walking a possibly huge blank subtree.
    fn resolution_is_empty(&self, node: NodeIndex) -> bool {
        let (first, count) = math::leaf_span(node);
        !self.has_leaf_in(first, count)
    }

    /// The filtered direct path of `leaf` (§4.1.2): its direct path without
    /// the nodes whose copath child has an empty resolution.
    fn filtered_direct_path(&self, leaf: LeafIndex) -> Vec<PathStep> {
        let n = self.leaf_count();
        let mut steps = Vec::with_capacity(32);
        let mut child = leaf.node();
        while let Some(node) = math::parent(child, n) {
            if let Some(copath_child) = math::sibling(child, n) {
                if !self.resolution_is_empty(copath_child) {
                    steps.push(PathStep { node, copath_child });
                }
            }
            child = node;
        }
        steps
    }

    /// The non-blank leaves, in order.
    fn members(&self) -> Vec<(LeafIndex, &LeafNode)> {
        (0..self.leaf_count()).filter_map(|i| self.leaf(LeafIndex(i)).map(|n| (LeafIndex(i), n))).collect()
    }
}

//! Array-based left-balanced binary tree arithmetic (RFC 9420 Appendix C).
//!
//! Nodes are numbered in-order: leaves at even indices, parents at odd ones.
//! A node's level is the number of trailing one bits of its index. All
//! functions here are O(1) or O(log n) bit arithmetic on `u32` indices.

/// Index of a leaf among the leaves (0, 1, 2, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LeafIndex(pub u32);

/// Index of a node in the flat array (leaves even, parents odd).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeIndex(pub u32);

impl LeafIndex {
    /// The leaf's node index, `2 * leaf`.
    pub fn node(self) -> NodeIndex {
        NodeIndex(self.0 * 2)
    }
}

impl NodeIndex {
    /// The leaf at this node, if it is a leaf.
    pub fn leaf(self) -> Option<LeafIndex> {
        self.is_leaf().then_some(LeafIndex(self.0 / 2))
    }

    /// Whether this is a leaf (even index).
    pub fn is_leaf(self) -> bool {
        self.0 & 1 == 0
    }

    /// Height above the leaves: trailing one bits (Appendix C `level`).
    pub fn level(self) -> u32 {
        self.0.trailing_ones()
    }
}

/// Number of nodes in a tree of `n_leaves` leaves: `2n - 1` (0 for none).
pub fn node_width(n_leaves: u32) -> u32 {
    if n_leaves == 0 { 0 } else { 2 * (n_leaves - 1) + 1 }
}

/// The root of a tree of `n_leaves` leaves (Appendix C `root`).
pub fn root(n_leaves: u32) -> NodeIndex {
    let w = node_width(n_leaves);
    NodeIndex(if w <= 1 { 0 } else { (1u32 << (31 - w.leading_zeros())) - 1 })
}

/// Left child of an intermediate node; `None` for a leaf.
pub fn left(x: NodeIndex) -> Option<NodeIndex> {
    let k = x.level();
    (k > 0).then(|| NodeIndex(x.0 ^ (1 << (k - 1))))
}

/// Right child of an intermediate node; `None` for a leaf.
pub fn right(x: NodeIndex) -> Option<NodeIndex> {
    let k = x.level();
    (k > 0).then(|| NodeIndex(x.0 ^ (3 << (k - 1))))
}

/// Parent of `x` in a tree of `n_leaves` leaves; `None` for the root.
///
/// Appendix C's `parent` assumes a full tree; in a left-balanced tree the
/// parent of a node on the right edge may be further up, so we climb until
/// the candidate lies inside the tree.
pub fn parent(x: NodeIndex, n_leaves: u32) -> Option<NodeIndex> {
    if x == root(n_leaves) {
        return None;
    }
    let w = node_width(n_leaves);
    let mut p = full_parent(x);
    while p.0 >= w {
        p = full_parent(p);
    }
    Some(p)
}

/// Parent in the infinite full tree (no bound check): the parent inside
/// any subtree that holds both.
pub(crate) fn full_parent(x: NodeIndex) -> NodeIndex {
    let k = x.level();
    let b = (x.0 >> (k + 1)) & 1;
    NodeIndex((x.0 | (1 << k)) ^ (b << (k + 1)))
}

/// The other child of `x`'s parent; `None` for the root.
pub fn sibling(x: NodeIndex, n_leaves: u32) -> Option<NodeIndex> {
    let p = parent(x, n_leaves)?;
    let (l, r) = (left(p)?, right(p)?);
    if x.0 < p.0 {
        // `r` may lie beyond the tree's right edge; step down its left spine.
        let w = node_width(n_leaves);
        let mut s = r;
        while s.0 >= w {
            s = left(s)?;
        }
        Some(s)
    } else {
        Some(l)
    }
}

/// The direct path of a leaf: its ancestors from parent to root, excluding
/// the leaf (RFC 9420 §4.1.2).
pub fn direct_path(x: NodeIndex, n_leaves: u32) -> Vec<NodeIndex> {
    let mut path = Vec::with_capacity(32);
    let mut cur = x;
    while let Some(p) = parent(cur, n_leaves) {
        path.push(p);
        cur = p;
    }
    path
}

/// The copath: the sibling of each node on the path from `x` up to (not
/// including) the root (RFC 9420 §4.1.2).
pub fn copath(x: NodeIndex, n_leaves: u32) -> Vec<NodeIndex> {
    let mut out = Vec::with_capacity(32);
    let mut cur = x;
    while let Some(s) = sibling(cur, n_leaves) {
        out.push(s);
        // The loop ends at the root, whose sibling is None.
        match parent(cur, n_leaves) {
            Some(p) => cur = p,
            None => break,
        }
    }
    out
}

/// The lowest common ancestor of two nodes (RFC 9420 Appendix C `common_ancestor_semantic`).
pub fn common_ancestor(x: NodeIndex, y: NodeIndex) -> NodeIndex {
    let (lx, ly) = (x.level() + 1, y.level() + 1);
    if lx <= ly && (x.0 >> ly) == (y.0 >> ly) {
        return y;
    }
    if ly <= lx && (x.0 >> lx) == (y.0 >> lx) {
        return x;
    }
    let (mut xn, mut yn, mut k) = (x.0, y.0, 0);
    while xn != yn {
        xn >>= 1;
        yn >>= 1;
        k += 1;
    }
    NodeIndex((xn << k) + (1 << (k - 1)) - 1)
}

/// The leaves under `x`: the first leaf index and how many (`2^level`).
pub fn leaf_span(x: NodeIndex) -> (u32, u32) {
    let k = x.level();
    let first_node = x.0 - ((1u32 << k) - 1);
    (first_node / 2, 1u32 << k)
}

/// Whether `ancestor` lies on the path from `x` to the root (or is `x`).
pub fn is_ancestor(ancestor: NodeIndex, x: NodeIndex) -> bool {
    let k = ancestor.level() + 1;
    (ancestor.0 >> k) == (x.0 >> k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_tree_shape() {
        // Eight leaves: RFC 9420 §4.1.2 figure.
        assert_eq!(root(8), NodeIndex(7));
        assert_eq!(direct_path(NodeIndex(4), 8), vec![NodeIndex(5), NodeIndex(3), NodeIndex(7)]);
        assert_eq!(copath(NodeIndex(4), 8), vec![NodeIndex(6), NodeIndex(1), NodeIndex(11)]);
        // Five leaves: the right edge climbs past missing parents.
        assert_eq!(parent(NodeIndex(8), 5), Some(NodeIndex(7)));
        assert_eq!(sibling(NodeIndex(3), 5), Some(NodeIndex(8)));
        assert_eq!(common_ancestor(NodeIndex(2), NodeIndex(8)), NodeIndex(7));
    }
}

//! Which nodes of the ratchet tree are blank, as the comparison's scenarios
//! leave them, and what an UpdatePath over that tree must encrypt.
//!
//! A model of RFC 9420's tree rules (§4.1, §7.1, §7.8, §12.1) written for the
//! crypto floor only, independent of the engine: the floor of an operation
//! must not be derived from the implementation it judges. Nodes use the
//! array numbering of Appendix C (leaf `i` is node `2i`).

use std::collections::BTreeMap;

/// Blank/non-blank state of every node, and unmerged leaves of parents.
#[derive(Clone, Debug)]
pub struct Shape {
    /// Leaves in the tree (a power of two, §7.8).
    width: u32,
    /// Indexed by node; `true` when the node is non-blank.
    filled: Vec<bool>,
    /// Unmerged leaves (by leaf index) of non-blank parents.
    unmerged: BTreeMap<u32, Vec<u32>>,
    /// Leaves whose node or direct path changed since the last
    /// [`Shape::take_changed`] (tree hashes to recompute, §7.8).
    changed: Vec<u32>,
}

/// The hashes of the tree (§7.8, §7.9) an operation must compute, by
/// input kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TreeHashes {
    /// Tree hashes of non-blank leaves.
    pub leaves: u32,
    /// Tree hashes of blank leaves.
    pub blank_leaves: u32,
    /// Tree hashes of non-blank parents.
    pub parents: u32,
    /// Tree hashes of blank parents.
    pub blank_parents: u32,
    /// Parent hashes (one per filtered-path node of an UpdatePath).
    pub parent_hashes: u32,
}

impl TreeHashes {
    /// All of them.
    pub fn total(&self) -> u32 {
        self.leaves + self.blank_leaves + self.parents + self.blank_parents + self.parent_hashes
    }
}

/// What one UpdatePath costs its sender.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Path {
    /// Nodes on the filtered direct path (each gets a path secret and key pair).
    pub nodes: u32,
    /// HPKE encryptions: the copath resolutions, new members excluded (§12.4.2).
    pub encryptions: u32,
}

fn level(x: u32) -> u32 {
    x.trailing_ones()
}

fn parent(x: u32) -> u32 {
    let k = level(x);
    (x | (1 << k)) & !(1 << (k + 1))
}

fn sibling(x: u32) -> u32 {
    let p = parent(x);
    if x < p { p + (p - x) } else { p - (x - p) }
}

fn children(x: u32) -> (u32, u32) {
    let k = level(x);
    (x ^ (1 << (k - 1)), x ^ (3 << (k - 1)))
}

impl Shape {
    /// A tree whose first `members` leaves are filled and every parent blank.
    pub fn new(members: u32) -> Self {
        let width = members.next_power_of_two();
        let mut filled = vec![false; 2 * width as usize - 1];
        for leaf in 0..members {
            filled[2 * leaf as usize] = true;
        }
        Self { width, filled, unmerged: BTreeMap::new(), changed: Vec::new() }
    }

    /// The tree hashes to recompute after the changes since the last call
    /// (every changed leaf and every node above one, each once: a node's
    /// tree hash covers its subtree), and forgets the changes.
    pub fn take_changed(&mut self) -> TreeHashes {
        let mut nodes = std::collections::BTreeSet::new();
        for leaf in std::mem::take(&mut self.changed) {
            nodes.insert(2 * leaf);
            for (p, _) in self.direct_path(leaf) {
                nodes.insert(p);
            }
        }
        let mut out = TreeHashes::default();
        for x in nodes {
            match (level(x) == 0, self.filled[x as usize]) {
                (true, true) => out.leaves += 1,
                (true, false) => out.blank_leaves += 1,
                (false, true) => out.parents += 1,
                (false, false) => out.blank_parents += 1,
            }
        }
        out
    }

    fn root(&self) -> u32 {
        self.width - 1
    }

    /// Parents from `leaf`'s parent up to the root, each with its copath child.
    fn direct_path(&self, leaf: u32) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        let mut x = 2 * leaf;
        while x != self.root() {
            out.push((parent(x), sibling(x)));
            x = parent(x);
        }
        out
    }

    /// The resolution of `x` (§4.1.2), as node indices, leaving out `except`.
    fn resolution(&self, x: u32, except: &[u32], out: &mut Vec<u32>) {
        if self.filled[x as usize] {
            if !except.contains(&x) {
                out.push(x);
            }
            for &leaf in self.unmerged.get(&x).into_iter().flatten() {
                if !except.contains(&(2 * leaf)) {
                    out.push(2 * leaf);
                }
            }
        } else if level(x) > 0 {
            let (left, right) = children(x);
            self.resolution(left, except, out);
            self.resolution(right, except, out);
        }
    }

    /// `committer`'s filtered direct path (§4.1.2) with the encryptions each
    /// node needs, new leaves `added` excluded from the encryptions (they
    /// still count for the filtering, being non-blank).
    fn filtered_path(&self, committer: u32, added: &[u32]) -> Vec<(u32, u32)> {
        let except: Vec<u32> = added.iter().map(|l| 2 * l).collect();
        let mut out = Vec::new();
        for (p, copath) in self.direct_path(committer) {
            let mut all = Vec::new();
            self.resolution(copath, &[], &mut all);
            if all.is_empty() {
                continue;
            }
            let mut sent = Vec::new();
            self.resolution(copath, &except, &mut sent);
            out.push((p, sent.len() as u32));
        }
        out
    }

    /// `committer` sends an UpdatePath: returns its cost and applies it (the
    /// direct path is blanked, the filtered path filled, §12.4.2).
    pub fn commit(&mut self, committer: u32, added: &[u32]) -> Path {
        let path = self.filtered_path(committer, added);
        for (p, _) in self.direct_path(committer) {
            self.filled[p as usize] = false;
            self.unmerged.remove(&p);
        }
        for &(p, _) in &path {
            self.filled[p as usize] = true;
        }
        self.changed.push(committer);
        Path { nodes: path.len() as u32, encryptions: path.iter().map(|(_, e)| e).sum() }
    }

    /// How many of `committer`'s path secrets `receiver` derives: those of
    /// the filtered-path nodes above both leaves (it decrypts the lowest one).
    pub fn derived_by(&self, committer: u32, receiver: u32, added: &[u32]) -> u32 {
        let receiver_path: Vec<u32> = self.direct_path(receiver).into_iter().map(|(p, _)| p).collect();
        self.filtered_path(committer, added).iter().filter(|(p, _)| receiver_path.contains(p)).count() as u32
    }

    /// Adds a member at the leftmost blank leaf (§12.1.1), widening the tree
    /// when it is full; returns its leaf index.
    pub fn add(&mut self) -> u32 {
        let leaf = match (0..self.width).find(|&l| !self.filled[2 * l as usize]) {
            Some(leaf) => leaf,
            None => {
                let leaf = self.width;
                self.width *= 2;
                self.filled.resize(2 * self.width as usize - 1, false);
                // Every node of the new half, and the new root, is new.
                self.changed.extend(leaf..self.width);
                leaf
            }
        };
        self.changed.push(leaf);
        self.filled[2 * leaf as usize] = true;
        for (p, _) in self.direct_path(leaf) {
            if self.filled[p as usize] {
                self.unmerged.entry(p).or_default().push(leaf);
            }
        }
        leaf
    }

    /// Removes the member at `leaf` (§12.1.3): blanks the leaf and its direct
    /// path. (Truncation does not arise in the scenarios.)
    pub fn remove(&mut self, leaf: u32) {
        self.filled[2 * leaf as usize] = false;
        self.changed.push(leaf);
        for (p, _) in self.direct_path(leaf) {
            self.filled[p as usize] = false;
            self.unmerged.remove(&p);
        }
    }

    /// Non-blank leaves and parents (for the joiner's hashing).
    pub fn counts(&self) -> (u32, u32) {
        let leaves = (0..self.width).filter(|l| self.filled[2 * *l as usize]).count() as u32;
        let parents = (0..self.width - 1).filter(|i| self.filled[2 * *i as usize + 1]).count() as u32;
        (leaves, parents)
    }

    /// Leaves in the tree.
    pub fn width(&self) -> u32 {
        self.width
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_tree_resolves_to_its_leaves() {
        // 8 members, A (leaf 0) adds the other 7 in its commit: its path
        // (nodes 1, 3, 7) encrypts to nobody.
        let mut shape = Shape::new(8);
        assert_eq!(shape.commit(0, &[1, 2, 3, 4, 5, 6, 7]), Path { nodes: 3, encryptions: 0 });
        // Leaf 7 then commits: copath {6}, {4,5} (parent 9 blank), and
        // node 3 (filled by A): 1 + 2 + 1.
        assert_eq!(shape.commit(7, &[]), Path { nodes: 3, encryptions: 4 });
        // Once leaf 4 has committed, 7's copath has one-node resolutions.
        shape.commit(4, &[]);
        assert_eq!(shape.commit(7, &[]), Path { nodes: 3, encryptions: 3 });
        // Leaf 1 shares only the root with 7.
        assert_eq!(shape.derived_by(7, 1, &[]), 1);
        assert_eq!(shape.derived_by(7, 6, &[]), 3);
    }

    #[test]
    fn adds_are_unmerged_and_widen_a_full_tree() {
        let mut shape = Shape::new(4);
        shape.commit(0, &[1, 2, 3]);
        shape.take_changed();
        assert_eq!(shape.add(), 4);
        assert_eq!(shape.width(), 8);
        // Leaf 3 commits adding 4: copath {2}, node 1, and the new
        // subtree {4..7} whose only member is new: filtered in, sent to none.
        assert_eq!(shape.commit(3, &[4]), Path { nodes: 3, encryptions: 2 });
        // Widening made the whole right half (nodes 8-14) and the root
        // new; 3's path adds nodes 6, 5 and 3.
        let hashes = shape.take_changed();
        assert_eq!(hashes.total(), 11);
        shape.remove(2);
        // Leaf 2 and its parents 5, 3, 7.
        let hashes = shape.take_changed();
        assert_eq!((hashes.blank_leaves, hashes.parents + hashes.blank_parents), (1, 3));
        assert_eq!(shape.counts(), (4, 1));
    }
}

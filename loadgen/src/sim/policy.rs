//! Commit policy: who commits an epoch, and the tree-health measures the
//! blank-aware policy and the report use.

use rand::Rng;
use rand::seq::IndexedRandom;
use throng::internals::tree::{RatchetTree, TreeView};
use throng::internals::tree_math::{self as math, LeafIndex, NodeIndex};

use crate::scenario::CommitterChoice;

/// Blank nodes on `leaf`'s direct path: the nodes its commit would refill.
pub fn blanks_on_path(tree: &RatchetTree, leaf: LeafIndex) -> u32 {
    let n = tree.leaf_count();
    let mut count = 0;
    let mut x = leaf.node();
    while let Some(p) = math::parent(x, n) {
        if tree.is_blank(p) {
            count += 1;
        }
        x = p;
    }
    count
}

/// Chooses up to `k` distinct committers among `eligible`.
///
/// - `Random`: uniformly at random (the naive policy).
/// - `BlankAware`: samples `candidates` eligible members and takes the `k`
///   with the most blank nodes on their direct path. Blank parents make
///   resolutions, and so every later commit's HPKE encryptions, grow
///   (RFC 9420 §7.5, §16.8); a commit from such a member refills its path.
///   Sampling keeps the choice O(candidates · log n) at 100,000 members.
pub fn choose_committers(
    choice: CommitterChoice,
    tree: &RatchetTree,
    eligible: &[LeafIndex],
    k: usize,
    candidates: usize,
    rng: &mut impl Rng,
) -> Vec<LeafIndex> {
    match choice {
        CommitterChoice::Random => eligible.choose_multiple(rng, k).copied().collect(),
        CommitterChoice::BlankAware => {
            let mut sample: Vec<(u32, LeafIndex)> =
                eligible.choose_multiple(rng, candidates.max(k)).map(|&l| (blanks_on_path(tree, l), l)).collect();
            // Most blanks first; ties keep the random sample's order.
            sample.sort_by_key(|b| std::cmp::Reverse(b.0));
            sample.into_iter().take(k).map(|(_, l)| l).collect()
        }
    }
}

/// Tree health at one point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Health {
    /// Leaves, blank ones included.
    pub leaves: u32,
    /// Parent nodes above at least one member.
    pub parents: u32,
    /// Blank parent nodes above at least one member.
    pub blank_parents: u32,
    /// Mean size of the resolution (§4.1.1) of a parent above at least one
    /// member: 1 when every such parent is set and has no unmerged leaves.
    pub mean_resolution: f64,
}

/// Measures a tree in one bottom-up pass: the resolution size of a node is
/// 1 plus its unmerged leaves if it is set, the sum of its children's if it
/// is a blank parent, 0 for a blank leaf.
pub fn health(tree: &RatchetTree) -> Health {
    let n = tree.leaf_count();
    let width = tree.node_width();
    let mut size = vec![0u64; width as usize];
    for i in 0..n {
        size[(2 * i) as usize] = u64::from(tree.leaf(LeafIndex(i)).is_some());
    }
    // Only parents above at least one member count: the empty right part
    // of a tree that just doubled is blank by construction, not by churn.
    let mut parents = 0u32;
    let mut blank_parents = 0u32;
    let mut total = 0u64;
    let mut level = 1;
    // Parents of level k sit at 2^k - 1 + j·2^(k+1); children are below,
    // so walking levels upwards sees them first.
    while (1u64 << level) - 1 < u64::from(width) {
        let first = (1u32 << level) - 1;
        let step = 1u32 << (level + 1);
        let mut x = first;
        while x < width {
            let node = NodeIndex(x);
            let s = match tree.parent_node(node) {
                Some(p) => 1 + p.unmerged_leaves.len() as u64,
                None => {
                    let l = math::left(node).map_or(0, |c| size.get(c.0 as usize).copied().unwrap_or(0));
                    let r = math::right(node).map_or(0, |c| size.get(c.0 as usize).copied().unwrap_or(0));
                    if l + r > 0 {
                        blank_parents += 1;
                    }
                    l + r
                }
            };
            size[x as usize] = s;
            if s > 0 {
                parents += 1;
                total += s;
            }
            x += step;
        }
        level += 1;
    }
    Health {
        leaves: n,
        parents,
        blank_parents,
        mean_resolution: if parents == 0 { 1.0 } else { total as f64 / f64::from(parents) },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use throng::crypto::{AwsLcProvider, CipherSuite};
    use throng::internals::group::{CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle};
    use throng::messages::{Add, Proposal};

    #[test]
    fn health_of_a_fresh_batch_added_group() {
        let cs = CipherSuite(1);
        let p = AwsLcProvider;
        let mut g =
            Group::create(cs, &Identity::basic(&p, cs, "c").unwrap(), b"g".to_vec(), vec![], GroupConfig::default())
                .unwrap();
        let h = health(g.tree());
        assert_eq!((h.leaves, h.parents, h.blank_parents), (1, 0, 0));
        // Five Adds: 8 leaves, 7 parents, 6 members. The creator's path
        // (1, 3, 7) is set with the new leaves unmerged; the other parents
        // above members are blank.
        let adds = (0..5)
            .map(|i| {
                let id = Identity::basic(&p, cs, format!("m{i}")).unwrap();
                Proposal::Add(Add { key_package: KeyPackageBundle::generate(&p, cs, &id).unwrap().key_package })
            })
            .collect();
        let pending = g.commit(CommitOptions::with_proposals(adds)).unwrap();
        g.merge_pending_commit(pending).unwrap();
        let h = health(g.tree());
        assert_eq!(h.leaves, 8);
        // Leaves 6 and 7 are empty: parent 13 is above no member.
        assert_eq!(h.parents, 6);
        // Blank: 5 (leaves 2–3), 9 (leaves 4–5), 11 (leaves 4–7).
        assert_eq!(h.blank_parents, 3);
        assert!(h.mean_resolution > 1.0);
        assert_eq!(blanks_on_path(g.tree(), LeafIndex(0)), 0);
        assert_eq!(blanks_on_path(g.tree(), LeafIndex(5)), 2);
    }
}

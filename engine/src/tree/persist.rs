//! The ratchet tree in exported state ([`crate::state`]).
//!
//! The nodes are written straight from the tree's arrays (no clone, no
//! intermediate `ratchet_tree` extension), leaves then parents, each as
//! `optional<LeafNode>` / `optional<ParentNode>`. The hashes and the index
//! are not written: import recomputes them in one parallel pass, and the
//! caller checks the recomputed root hash against the GroupContext's
//! `tree_hash`, which catches a damaged node.

use crate::codec::{Decode, Encode, Reader};
use crate::crypto::Suite;
use crate::error::StateError;
use crate::messages::{LeafNode, ParentNode};

use super::RatchetTree;

impl RatchetTree {
    /// Appends the tree's nodes: `uint32 leaf_count`, then every leaf, then
    /// every parent, in array order.
    pub(crate) fn encode_state(&self, out: &mut Vec<u8>) {
        (self.leaves.len() as u32).encode(out);
        for leaf in self.leaves.iter() {
            match leaf {
                None => out.push(0),
                Some(leaf) => {
                    out.push(1);
                    leaf.encode(out);
                }
            }
        }
        for parent in self.parents.iter() {
            match parent {
                None => out.push(0),
                Some(parent) => {
                    out.push(1);
                    parent.encode(out);
                }
            }
        }
    }

    /// About the bytes [`encode_state`](Self::encode_state) writes, from
    /// one leaf's and one parent's size, so that an export can size its
    /// buffer once instead of doubling through a 100,000-member tree. A
    /// hint, not a bound: node sizes vary a little.
    pub(crate) fn state_len_hint(&self) -> usize {
        let leaf = self.leaves.nodes().next().map_or(0, |l| l.to_bytes().len());
        let parent = self.parents.nodes().next().map_or(0, |p| p.to_bytes().len());
        let parents = self.parents.nodes().count();
        let estimate =
            4 + self.leaves.len() + self.parents.len() + self.member_count() as usize * leaf + parents * parent;
        // Leaves differ by their credential and signature lengths.
        estimate + estimate / 16
    }

    /// Reads what [`encode_state`](Self::encode_state) wrote and rebuilds
    /// the index and every tree hash (in parallel, on the caller's pool).
    pub(crate) fn decode_state(suite: &Suite<'_>, r: &mut Reader<'_>) -> Result<Self, StateError> {
        let leaf_count = u32::decode(r).map_err(StateError::Corrupt)?;
        // §7.7: the tree is always full. The bound keeps node indices in a
        // u32, as `RatchetTree::import` does.
        if !leaf_count.is_power_of_two() || leaf_count > u32::MAX / 2 {
            return Err(StateError::Inconsistent("ratchet tree leaf count is not a power of two"));
        }
        let n = leaf_count as usize;
        // Every node takes at least its presence octet, so a count the bytes
        // cannot hold is refused before anything is allocated for it.
        if 2 * n - 1 > r.remaining() {
            return Err(StateError::Corrupt(crate::codec::DecodeError::Truncated {
                needed: 2 * n - 1,
                available: r.remaining(),
            }));
        }
        let mut leaves = Vec::with_capacity(n);
        for _ in 0..n {
            leaves.push(Option::<LeafNode>::decode(r).map_err(StateError::Corrupt)?.map(Box::new));
        }
        let mut parents = Vec::with_capacity(n - 1);
        for _ in 0..n - 1 {
            parents.push(Option::<ParentNode>::decode(r).map_err(StateError::Corrupt)?.map(Box::new));
        }
        Self::from_nodes(suite, leaves, parents)
            .map_err(|_| StateError::Inconsistent("ratchet tree holds a key twice (RFC 9420 §7.3)"))
    }
}

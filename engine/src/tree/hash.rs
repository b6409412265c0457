//! Tree hashes (RFC 9420 §7.8) and the per-node cache that keeps a commit's
//! rehashing to the changed paths.

use crate::codec::{Encode, write_bytes};
use crate::crypto::Suite;
use crate::messages::{LeafNode, ParentNode};

use crate::tree_math::{LeafIndex, NodeIndex};

/// `TreeHashInput` of a leaf (§7.8): `node_type = leaf(1)`, then
/// `LeafNodeHashInput { uint32 leaf_index; optional<LeafNode> leaf_node; }`.
pub(crate) fn leaf_tree_hash(
    suite: &Suite<'_>,
    leaf: LeafIndex,
    node: Option<&LeafNode>,
    buf: &mut Vec<u8>,
) -> Vec<u8> {
    buf.clear();
    buf.push(1);
    leaf.0.encode(buf);
    match node {
        None => buf.push(0),
        Some(n) => {
            buf.push(1);
            n.encode(buf);
        }
    }
    suite.hash(buf)
}

/// `TreeHashInput` of a parent (§7.8): `node_type = parent(2)`, then
/// `ParentNodeHashInput { optional<ParentNode>; left_hash<V>; right_hash<V> }`.
pub(crate) fn parent_tree_hash(
    suite: &Suite<'_>,
    node: Option<&ParentNode>,
    left: &[u8],
    right: &[u8],
    buf: &mut Vec<u8>,
) -> Vec<u8> {
    buf.clear();
    buf.push(2);
    match node {
        None => buf.push(0),
        Some(n) => {
            buf.push(1);
            n.encode(buf);
        }
    }
    write_bytes(buf, left);
    write_bytes(buf, right);
    suite.hash(buf)
}

/// `ParentHashInput` hashed (§7.9): the parent hash of a node `P` as seen
/// from its child on the path, with `S` the other child.
pub(crate) fn parent_hash(
    suite: &Suite<'_>,
    encryption_key: &[u8],
    parent_hash_of_p: &[u8],
    original_sibling_tree_hash: &[u8],
) -> Vec<u8> {
    let mut buf =
        Vec::with_capacity(encryption_key.len() + parent_hash_of_p.len() + original_sibling_tree_hash.len() + 6);
    write_bytes(&mut buf, encryption_key);
    write_bytes(&mut buf, parent_hash_of_p);
    write_bytes(&mut buf, original_sibling_tree_hash);
    suite.hash(&buf)
}

/// Lowest level whose tree hashes are cached. The levels below hold three
/// quarters of a tree's nodes; a node there is rehashed from its at most
/// `2^CACHED_LEVEL` leaves when asked for (a commit's copath asks for one
/// node per level), so the cache costs `Nh` bytes per two leaves, not per
/// node.
pub(crate) const CACHED_LEVEL: u32 = 2;

/// The tree hashes of the nodes at [`CACHED_LEVEL`] and above, `Nh` bytes
/// each in one flat allocation, and the root's (whatever its level).
#[derive(Clone, Debug, Default)]
pub(crate) struct HashCache {
    nh: usize,
    /// Node `x` at level `CACHED_LEVEL` or above is `2^CACHED_LEVEL * m - 1`:
    /// slot `m - 1`, that is `x >> CACHED_LEVEL`.
    bytes: Vec<u8>,
    root: Vec<u8>,
}

impl HashCache {
    pub(crate) fn new(nh: usize, width: u32) -> Self {
        Self { nh, bytes: vec![0; nh * Self::slots(width)], root: Vec::new() }
    }

    fn slots(width: u32) -> usize {
        ((u64::from(width) + 1) >> CACHED_LEVEL) as usize
    }

    /// The cached hash of `x`; `None` below [`CACHED_LEVEL`].
    pub(crate) fn get(&self, x: NodeIndex) -> Option<&[u8]> {
        if x.level() < CACHED_LEVEL {
            return None;
        }
        let start = (x.0 >> CACHED_LEVEL) as usize * self.nh;
        // Callers only ask for nodes inside the tree, for which the cache
        // always holds a value (it is resized with the tree).
        self.bytes.get(start..start + self.nh)
    }

    /// Stores the hash of `x` if its level is cached; a no-op otherwise.
    pub(crate) fn set(&mut self, x: NodeIndex, hash: &[u8]) {
        if x.level() < CACHED_LEVEL {
            return;
        }
        let start = (x.0 >> CACHED_LEVEL) as usize * self.nh;
        if let Some(slot) = self.bytes.get_mut(start..start + self.nh) {
            slot.copy_from_slice(hash);
        }
    }

    /// The root's tree hash: the GroupContext's `tree_hash` (§7.8).
    pub(crate) fn root(&self) -> &[u8] {
        &self.root
    }

    pub(crate) fn set_root(&mut self, hash: Vec<u8>) {
        self.root = hash;
    }

    pub(crate) fn resize(&mut self, width: u32) {
        self.bytes.resize(self.nh * Self::slots(width), 0);
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.root.capacity()
    }
}

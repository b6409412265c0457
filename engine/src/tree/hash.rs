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

/// One tree hash per node, `Nh` bytes each, in one flat allocation.
#[derive(Clone, Debug, Default)]
pub(crate) struct HashCache {
    nh: usize,
    bytes: Vec<u8>,
}

impl HashCache {
    pub(crate) fn new(nh: usize, width: u32) -> Self {
        Self { nh, bytes: vec![0; nh * width as usize] }
    }

    pub(crate) fn get(&self, x: NodeIndex) -> &[u8] {
        let start = x.0 as usize * self.nh;
        // Callers only ask for nodes inside the tree, for which the cache
        // always holds a value (it is resized with the tree).
        self.bytes.get(start..start + self.nh).unwrap_or(&[])
    }

    pub(crate) fn set(&mut self, x: NodeIndex, hash: &[u8]) {
        let start = x.0 as usize * self.nh;
        if let Some(slot) = self.bytes.get_mut(start..start + self.nh) {
            slot.copy_from_slice(hash);
        }
    }

    pub(crate) fn resize(&mut self, width: u32) {
        self.bytes.resize(self.nh * width as usize, 0);
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
    }
}

//! TreeKEM (RFC 9420 §7.4–§7.6): creating an UpdatePath as a committer and
//! applying one as a receiver, with the private keys a member holds.
//!
//! Path secrets are a cheap sequential HKDF chain; deriving each node's key
//! pair and sealing the path secrets to the copath resolutions are the
//! expensive parts, and run in parallel on the caller's rayon pool
//! (docs/ARCHITECTURE.md, performance design 2 and 3). Results do not
//! depend on the number of threads: every parallel map keeps its input
//! order.

mod apply;
mod create;
mod persist;

pub(crate) use apply::locate_in_path;
pub use apply::{AppliedPath, PublicPath, apply_update_path, apply_update_path_public, decrypt_update_path, derive_up};
pub use create::{CreatedPath, create_update_path};

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::crypto::{HpkeKeyPair, HpkePrivateKey, HpkePublicKey, Secret, Suite};
use crate::error::Error;
use crate::tree::TreeView;
use crate::tree_math::{LeafIndex, NodeIndex};

/// The label of UpdatePath encryption (§7.6).
pub(crate) const UPDATE_PATH_NODE: &str = "UpdatePathNode";

/// The private half of a member's view of the tree (§4.2): its leaf key
/// and the keys of the parent nodes above it that it knows.
#[derive(Clone, Debug)]
pub struct PrivateTree {
    /// The member's leaf.
    pub own_leaf: LeafIndex,
    /// Private keys by node index, each with its public key so that a key
    /// that no longer matches the tree can be dropped.
    keys: BTreeMap<u32, (HpkePrivateKey, HpkePublicKey)>,
}

impl PrivateTree {
    /// A member holding only its leaf key.
    pub fn new(own_leaf: LeafIndex, leaf_key: HpkePrivateKey, leaf_public: HpkePublicKey) -> Self {
        let mut keys = BTreeMap::new();
        keys.insert(own_leaf.node().0, (leaf_key, leaf_public));
        Self { own_leaf, keys }
    }

    /// The private key this member holds for `node`, if any.
    pub fn key(&self, node: NodeIndex) -> Option<&HpkePrivateKey> {
        self.keys.get(&node.0).map(|(k, _)| k)
    }

    /// Records the key pair of `node`.
    pub fn insert(&mut self, node: NodeIndex, pair: HpkeKeyPair) {
        self.keys.insert(node.0, (pair.private, pair.public));
    }

    /// Sets the key of a parent from its path secret (§7.4: node_secret =
    /// DeriveSecret(path_secret, "node")).
    pub fn insert_path_secret(
        &mut self,
        suite: &Suite<'_>,
        node: NodeIndex,
        path_secret: &Secret,
    ) -> Result<(), Error> {
        let pair = node_key_pair(suite, path_secret)?;
        self.insert(node, pair);
        Ok(())
    }

    /// Drops every key whose node no longer carries the matching public key
    /// (after blanking, truncation or another member's path, §7.5: outdated
    /// key material MUST be deleted).
    pub fn retain_consistent(&mut self, tree: &impl TreeView) {
        self.keys.retain(|&x, (_, public)| tree.encryption_key(NodeIndex(x)) == Some(public.as_bytes()));
    }

    /// Whether every key held matches the tree's public key at its node.
    pub fn is_consistent(&self, tree: &impl TreeView) -> bool {
        self.keys.iter().all(|(&x, (_, public))| tree.encryption_key(NodeIndex(x)) == Some(public.as_bytes()))
    }

    /// Number of node keys held (the leaf included).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// `path_secret[n+1] = DeriveSecret(path_secret[n], "path")` (§7.4).
pub(crate) fn next_path_secret(suite: &Suite<'_>, path_secret: &Secret) -> Result<Secret, Error> {
    Ok(suite.derive_secret(path_secret.as_bytes(), "path")?)
}

/// A node's key pair from its path secret (§7.4).
pub(crate) fn node_key_pair(suite: &Suite<'_>, path_secret: &Secret) -> Result<HpkeKeyPair, Error> {
    let node_secret = suite.derive_secret(path_secret.as_bytes(), "node")?;
    Ok(suite.derive_key_pair(node_secret.as_bytes())?)
}

/// The chain of `len` path secrets starting at `first`, plus the secret one
/// past the end (the commit secret when the chain reaches the root, §8).
pub(crate) fn path_secret_chain(suite: &Suite<'_>, first: Secret, len: usize) -> Result<(Vec<Secret>, Secret), Error> {
    let mut chain = Vec::with_capacity(len);
    let mut cur = first;
    for _ in 0..len {
        let next = next_path_secret(suite, &cur)?;
        chain.push(std::mem::replace(&mut cur, next));
    }
    Ok((chain, cur))
}

/// Derives the key pairs of a chain of path secrets in parallel.
pub(crate) fn node_key_pairs(suite: &Suite<'_>, secrets: &[Secret]) -> Result<Vec<HpkeKeyPair>, Error> {
    secrets.par_iter().map(|s| node_key_pair(suite, s)).collect()
}

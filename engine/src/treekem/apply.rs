//! Applying a received UpdatePath (RFC 9420 §7.5, §7.9.2).

use crate::crypto::{Secret, Suite};
use crate::error::{Error, ValidationError};
use crate::messages::{LeafNodeSource, UpdatePath};
use crate::schedule::CommitSecret;
use crate::tree::math::{self, LeafIndex};
use crate::tree::{StagedTree, TreeView};

use super::{PrivateTree, UPDATE_PATH_NODE, next_path_secret, node_key_pairs, path_secret_chain};

fn rule(text: &'static str) -> Error {
    ValidationError::Rule(text).into()
}

/// What a receiver learns from an UpdatePath.
#[derive(Debug)]
pub struct AppliedPath {
    /// `commit_secret` for the key schedule (§8).
    pub commit_secret: CommitSecret,
    /// The path secret the receiver decrypted (at the lowest node of the
    /// sender's filtered direct path above the receiver).
    pub decrypted_path_secret: Secret,
    /// The receiver's private keys after the commit.
    pub private: PrivateTree,
}

/// Merges `path` from `sender` into `staged` and decrypts it with the
/// receiver's keys `own` (§7.5). Checks the path length and every
/// ciphertext count (§7.6), the leaf's parent hash (§7.9.2), and that each
/// derived public key equals the one sent; any mismatch is a typed error,
/// and the caller drops the stage, so nothing changes.
///
/// `new_members` are the leaves added by the same commit, excluded from
/// the resolutions; `group_context` maps the new tree hash to the encoded
/// provisional GroupContext.
pub fn apply_update_path(
    suite: &Suite<'_>,
    staged: &mut StagedTree<'_>,
    sender: LeafIndex,
    path: &UpdatePath,
    own: &PrivateTree,
    new_members: &[LeafIndex],
    group_context: impl FnOnce(&[u8]) -> Vec<u8>,
) -> Result<AppliedPath, Error> {
    let me = own.own_leaf;
    if me == sender {
        return Err(rule("a member cannot apply its own UpdatePath (RFC 9420 §12.4.2)"));
    }
    let steps = staged.filtered_direct_path(sender);
    if steps.len() != path.nodes.len() {
        return Err(rule("UpdatePath length differs from the filtered direct path (RFC 9420 §7.6)"));
    }
    // The step whose copath subtree holds the receiver, and the node of its
    // resolution the receiver has a key for.
    let mut position = None;
    for (i, step) in steps.iter().enumerate() {
        let mut resolution = staged.resolution(step.copath_child);
        resolution.retain(|x| !x.leaf().is_some_and(|l| new_members.contains(&l)));
        if path.nodes[i].encrypted_path_secret.len() != resolution.len() {
            return Err(rule("UpdatePath ciphertext count differs from the copath resolution (RFC 9420 §7.6)"));
        }
        if position.is_none() && math::is_ancestor(step.copath_child, me.node()) {
            let (slot, node) = resolution
                .iter()
                .enumerate()
                .find(|&(_, &x)| own.key(x).is_some())
                .ok_or_else(|| rule("no key to decrypt the UpdatePath (tree invariant, RFC 9420 §4.2)"))?;
            position = Some((i, slot, *node));
        }
    }
    let Some((step_index, slot, holder)) = position else {
        return Err(rule("receiver is not below the sender's filtered direct path (RFC 9420 §7.5)"));
    };

    let keys: Vec<_> = path.nodes.iter().map(|n| n.encryption_key.clone()).collect();
    // §12.4.2: no key of the UpdatePath may already be in the tree (an
    // external committer's leaf was just placed at `sender` itself).
    let leaf_key = &path.leaf_node.encryption_key;
    if keys.iter().any(|k| staged.find_encryption_key(k.as_bytes()).is_some())
        || staged.find_encryption_key(leaf_key.as_bytes()).is_some_and(|x| x != sender.node())
    {
        return Err(rule("UpdatePath key already in the tree (RFC 9420 §12.4.2)"));
    }
    let expected_parent_hash = staged.apply_path(suite, sender, &keys)?;
    match &path.leaf_node.leaf_node_source {
        LeafNodeSource::Commit { parent_hash } if *parent_hash == expected_parent_hash => {}
        LeafNodeSource::Commit { .. } => return Err(rule("UpdatePath leaf parent hash mismatch (RFC 9420 §7.9.2)")),
        _ => return Err(rule("UpdatePath leaf node source is not commit (RFC 9420 §7.3)")),
    }
    staged.set_path_leaf(sender, path.leaf_node.clone());
    let context = group_context(&staged.root_hash(suite));

    let key = own.key(holder).ok_or_else(|| rule("decryption key vanished"))?;
    let ciphertext = &path.nodes[step_index].encrypted_path_secret[slot];
    let decrypted = suite.decrypt_with_label(key, UPDATE_PATH_NODE, &context, ciphertext)?;
    if decrypted.len() != suite.hash_len() {
        return Err(rule("path secret has the wrong length (RFC 9420 §7.4)"));
    }
    let remaining = steps.len() - step_index;
    let (secrets, commit_secret) = path_secret_chain(suite, decrypted.clone(), remaining)?;
    let pairs = node_key_pairs(suite, &secrets)?;
    for (pair, sent) in pairs.iter().zip(&keys[step_index..]) {
        if &pair.public != sent {
            return Err(rule("derived path key differs from the UpdatePath's (RFC 9420 §7.5)"));
        }
    }

    let mut private = own.clone();
    for (step, pair) in steps[step_index..].iter().zip(pairs) {
        private.insert(step.node, pair);
    }
    private.retain_consistent(staged);
    Ok(AppliedPath { commit_secret: CommitSecret::new(commit_secret), decrypted_path_secret: decrypted, private })
}

/// The path secret of the parent above a decrypted one, for joiners that
/// receive one node's secret in a Welcome and derive the rest (§12.4.3.1).
pub fn derive_up(suite: &Suite<'_>, path_secret: &Secret) -> Result<Secret, Error> {
    next_path_secret(suite, path_secret)
}

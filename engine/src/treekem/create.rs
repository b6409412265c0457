//! Creating an UpdatePath (RFC 9420 §7.4, §7.5, §7.6).

use rayon::prelude::*;

use crate::crypto::{HpkeCiphertext, Secret, SignaturePrivateKey, Suite};
use crate::error::Error;
use crate::messages::{LeafNode, LeafNodeSource, UpdatePath, UpdatePathNode};
use crate::schedule::CommitSecret;
use crate::tree::{StagedTree, TreeView};
use crate::tree_math::{LeafIndex, NodeIndex};

use super::apply::encryption_targets;
use super::{PrivateTree, UPDATE_PATH_NODE, node_key_pairs, path_secret_chain};

/// What creating an UpdatePath gives the committer.
#[derive(Debug)]
pub struct CreatedPath {
    /// The UpdatePath to put in the Commit.
    pub update_path: UpdatePath,
    /// `commit_secret` for the key schedule (§8).
    pub commit_secret: CommitSecret,
    /// The committer's private keys after the commit.
    pub private: PrivateTree,
    /// The path secret of each filtered-direct-path node, by node, for the
    /// Welcome's `path_secret` to new members (§12.4.3.1).
    pub path_secrets: Vec<(NodeIndex, Secret)>,
}

/// Creates an UpdatePath for `sender` on the staged tree (after the
/// commit's proposals are applied), merges its public half into `staged`,
/// and encrypts the path secrets to every copath resolution except the
/// `new_members` added by the same commit (§7.5).
///
/// `leaf` is the committer's new leaf node content: its encryption key is
/// replaced with a fresh one, its source set to commit with the computed
/// parent hash, and it is signed. `group_context` turns the new tree hash
/// into the encoded provisional GroupContext the encryptions bind to.
#[allow(clippy::too_many_arguments)]
pub fn create_update_path(
    suite: &Suite<'_>,
    staged: &mut StagedTree<'_>,
    sender: LeafIndex,
    mut leaf: LeafNode,
    signer: &SignaturePrivateKey,
    group_id: &[u8],
    new_members: &[LeafIndex],
    group_context: impl FnOnce(&[u8]) -> Vec<u8>,
) -> Result<CreatedPath, Error> {
    let leaf_pair = suite.generate_hpke_key_pair()?;
    let path = staged.filtered_direct_path(sender);

    // §7.4: path_secret[0] random, then the HKDF chain; the secret one past
    // the root is the commit secret.
    let first = suite.random_secret(suite.hash_len())?;
    let (path_secrets, commit_secret) = path_secret_chain(suite, first, path.len())?;
    let pairs = node_key_pairs(suite, &path_secrets)?;
    let keys: Vec<_> = pairs.iter().map(|p| p.public.clone()).collect();

    let leaf_parent_hash = staged.apply_path(suite, sender, &keys)?;
    leaf.set_encryption_key(leaf_pair.public.as_bytes())?;
    leaf.leaf_node_source = LeafNodeSource::Commit { parent_hash: leaf_parent_hash };
    leaf.sign(suite, signer, Some((group_id, sender)))?;
    staged.set_path_leaf(sender, leaf.clone());

    let tree_hash = staged.root_hash(suite);
    let context = group_context(&tree_hash);

    // The copath resolutions, without the joiners of this commit: they get
    // their path secret in the Welcome instead (§7.5).
    let resolutions: Vec<Vec<NodeIndex>> =
        path.iter().map(|step| encryption_targets(staged, step, new_members)).collect();
    let nodes = path
        .par_iter()
        .zip(resolutions.par_iter())
        .zip(path_secrets.par_iter())
        .zip(keys.par_iter())
        .map(|(((_, resolution), secret), key)| {
            let pks: Vec<&[u8]> = resolution.iter().filter_map(|&x| staged.encryption_key(x)).collect();
            let encrypted_path_secret = seal_batch(suite, &pks, &context, secret)?.into();
            Ok(UpdatePathNode { encryption_key: key.clone(), encrypted_path_secret })
        })
        .collect::<Result<Vec<_>, Error>>()?;

    let mut private = PrivateTree::new(sender, leaf_pair.private, leaf_pair.public);
    for (step, pair) in path.iter().zip(pairs) {
        private.insert(step.node, pair);
    }
    Ok(CreatedPath {
        update_path: UpdatePath { leaf_node: leaf, nodes },
        commit_secret: CommitSecret::new(commit_secret),
        private,
        path_secrets: path.iter().map(|s| s.node).zip(path_secrets).collect(),
    })
}

/// One path secret sealed to many keys: the EncryptContext is encoded once
/// and the seals run in parallel (docs/ARCHITECTURE.md, performance design 3).
fn seal_batch(suite: &Suite<'_>, pks: &[&[u8]], context: &[u8], secret: &Secret) -> Result<Vec<HpkeCiphertext>, Error> {
    Ok(suite.encrypt_with_label_batch(pks, UPDATE_PATH_NODE, context, secret.as_bytes(), |pks, seal| {
        pks.par_iter().map(|pk| seal(pk)).collect()
    })?)
}

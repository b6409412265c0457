//! `treekem.json`: applying other implementations' UpdatePaths and having
//! every member apply ours (RFC 9420 §7.4–§7.6).

use serde::Deserialize;
use throng::crypto::{CipherSuite, HpkePrivateKey, Secret, SignaturePrivateKey, Suite};
use throng::internals::codec::{Decode, Encode};
use throng::internals::tree::{RatchetTree, TreeView};
use throng::internals::tree_math::{LeafIndex, NodeIndex};
use throng::internals::treekem::{PrivateTree, apply_update_path, create_update_path};
use throng::messages::{GroupContext, ProtocolVersion, RatchetTreeExtension as RatchetTreeExt, UpdatePath};

use super::{CaseError, Outcome, check, check_eq, hex_bytes};

#[derive(Deserialize)]
struct PathSecretEntry {
    node: u32,
    #[serde(with = "hex_bytes")]
    path_secret: Vec<u8>,
}

#[derive(Deserialize)]
struct LeafPrivate {
    index: u32,
    #[serde(with = "hex_bytes")]
    encryption_priv: Vec<u8>,
    #[serde(with = "hex_bytes")]
    signature_priv: Vec<u8>,
    path_secrets: Vec<PathSecretEntry>,
}

#[derive(Deserialize)]
struct UpdatePathCase {
    sender: u32,
    #[serde(with = "hex_bytes")]
    update_path: Vec<u8>,
    path_secrets: Vec<Option<String>>,
    #[serde(with = "hex_bytes")]
    commit_secret: Vec<u8>,
    #[serde(with = "hex_bytes")]
    tree_hash_after: Vec<u8>,
}

#[derive(Deserialize)]
struct Case {
    cipher_suite: u16,
    #[serde(with = "hex_bytes")]
    group_id: Vec<u8>,
    epoch: u64,
    #[serde(with = "hex_bytes")]
    confirmed_transcript_hash: Vec<u8>,
    #[serde(with = "hex_bytes")]
    ratchet_tree: Vec<u8>,
    leaves_private: Vec<LeafPrivate>,
    update_paths: Vec<UpdatePathCase>,
}

pub fn run(json: &str) -> Result<Outcome, String> {
    super::run_suite_cases(json, |c: &Case| c.cipher_suite, check_case)
}

fn group_context(c: &Case, tree_hash: &[u8]) -> Vec<u8> {
    GroupContext {
        version: ProtocolVersion::MLS10,
        cipher_suite: CipherSuite(c.cipher_suite),
        group_id: c.group_id.clone(),
        epoch: c.epoch,
        tree_hash: tree_hash.to_vec(),
        confirmed_transcript_hash: c.confirmed_transcript_hash.clone(),
        extensions: Vec::new(),
    }
    .to_bytes()
}

fn private_state(suite: &Suite<'_>, tree: &RatchetTree, leaf: &LeafPrivate) -> Result<PrivateTree, CaseError> {
    let me = LeafIndex(leaf.index);
    let public =
        tree.leaf(me).ok_or_else(|| CaseError::Failed("private leaf is blank".into()))?.encryption_key().into();
    let mut private = PrivateTree::new(me, HpkePrivateKey(Secret::from_slice(&leaf.encryption_priv)), public);
    for entry in &leaf.path_secrets {
        private.insert_path_secret(suite, NodeIndex(entry.node), &Secret::from_slice(&entry.path_secret))?;
    }
    check(private.is_consistent(tree), || format!("leaf {} private state disagrees with the tree", leaf.index))?;
    Ok(private)
}

fn check_case(c: &Case, suite: Suite<'static>) -> Result<(), CaseError> {
    let tree = RatchetTree::import(&suite, &RatchetTreeExt::from_bytes(&c.ratchet_tree)?)?;
    let privates: Vec<PrivateTree> =
        c.leaves_private.iter().map(|l| private_state(&suite, &tree, l)).collect::<Result<_, _>>()?;

    for (p, up) in c.update_paths.iter().enumerate() {
        let sender = LeafIndex(up.sender);
        let path = UpdatePath::from_bytes(&up.update_path)?;
        // Every other member decrypts the foreign path.
        for private in privates.iter().filter(|pt| pt.own_leaf != sender) {
            let mut staged = tree.stage();
            let applied =
                apply_update_path(&suite, &mut staged, sender, &path, private, &[], |th| group_context(c, th))?;
            let j = private.own_leaf.0 as usize;
            let want = up.path_secrets.get(j).cloned().flatten().map(|h| super::hex(&h));
            check_eq(
                &format!("path {p}: path secret of leaf {j}"),
                &Some(applied.decrypted_path_secret.as_bytes().to_vec()),
                &want,
            )?;
            check_eq(
                &format!("path {p}: commit secret at leaf {j}"),
                applied.commit_secret.as_secret().as_bytes(),
                &up.commit_secret[..],
            )?;
            check_eq(&format!("path {p}: tree hash after"), &staged.root_hash(&suite)[..], &up.tree_hash_after[..])?;
            check(applied.private.is_consistent(&staged), || format!("path {p}: leaf {j} keys disagree"))?;
        }
        // Tampered copies of the path are rejected by the first receiver
        // (§7.5: derived keys must match; §7.6: one ciphertext per
        // resolution node; §7.9.2: the leaf's parent hash).
        if let Some(receiver) = privates.iter().find(|pt| pt.own_leaf != sender) {
            let mut tampered = Vec::new();
            if let Some(last) = path.nodes.last() {
                let mut t = path.clone();
                let mut key = last.encryption_key.clone();
                key.0[0] ^= 1;
                if let Some(n) = t.nodes.last_mut() {
                    n.encryption_key = key;
                }
                tampered.push(("public key", t));
            }
            if let Some(i) = path.nodes.iter().position(|n| !n.encrypted_path_secret.is_empty()) {
                let mut t = path.clone();
                let ciphertexts = &t.nodes[i].encrypted_path_secret;
                t.nodes[i].encrypted_path_secret =
                    ciphertexts.iter().take(ciphertexts.len().saturating_sub(1)).collect();
                tampered.push(("ciphertext count", t));
            }
            let mut t = path.clone();
            if let throng::messages::LeafNodeSource::Commit { parent_hash } = &mut t.leaf_node.leaf_node_source {
                if let Some(b) = parent_hash.first_mut() {
                    *b ^= 1;
                }
            }
            tampered.push(("leaf parent hash", t));
            for (what, t) in tampered {
                let mut staged = tree.stage();
                let result =
                    apply_update_path(&suite, &mut staged, sender, &t, receiver, &[], |th| group_context(c, th));
                check(result.is_err(), || format!("path {p}: tampered {what} accepted"))?;
            }
        }

        // Our own path from the same sender, applied by everyone else.
        let sender_private = c.leaves_private.iter().find(|l| l.index == up.sender);
        let Some(sender_private) = sender_private else { continue };
        let signer = SignaturePrivateKey(Secret::from_slice(&sender_private.signature_priv));
        let leaf = tree.leaf(sender).ok_or_else(|| CaseError::Failed("sender leaf blank".into()))?.clone();
        let mut staged = tree.stage();
        let created = create_update_path(&suite, &mut staged, sender, leaf, &signer, &c.group_id, &[], |th| {
            group_context(c, th)
        })?;
        let ours = created.update_path;
        let commit_secret = created.commit_secret.as_secret().as_bytes().to_vec();
        let mut merged = tree.clone();
        merged.merge(&suite, staged.into_diff());
        for private in privates.iter().filter(|pt| pt.own_leaf != sender) {
            let mut staged = tree.stage();
            let applied =
                apply_update_path(&suite, &mut staged, sender, &ours, private, &[], |th| group_context(c, th))?;
            check_eq(
                &format!("our path {p}: commit secret"),
                applied.commit_secret.as_secret().as_bytes(),
                &commit_secret[..],
            )?;
            check_eq(&format!("our path {p}: tree hash"), &staged.root_hash(&suite)[..], merged.root_hash())?;
        }
    }
    Ok(())
}

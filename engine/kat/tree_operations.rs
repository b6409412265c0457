//! `tree-operations.json`: Add, Update and Remove applied to a tree
//! (RFC 9420 §12.1.1–§12.1.3, §7.7) through a staged diff and a merge.

use serde::Deserialize;
use throng::internals::codec::{Decode, Encode};
use throng::internals::crypto::Suite;
use throng::internals::tree::RatchetTree;
use throng::internals::tree_math::LeafIndex;
use throng::messages::RatchetTreeExtension as RatchetTreeExt;
use throng::messages::proposal::Proposal;

use super::{CaseError, Outcome, check_eq, hex_bytes};

#[derive(Deserialize)]
struct Case {
    cipher_suite: u16,
    #[serde(with = "hex_bytes")]
    tree_before: Vec<u8>,
    #[serde(with = "hex_bytes")]
    proposal: Vec<u8>,
    proposal_sender: u32,
    #[serde(with = "hex_bytes")]
    tree_hash_before: Vec<u8>,
    #[serde(with = "hex_bytes")]
    tree_after: Vec<u8>,
    #[serde(with = "hex_bytes")]
    tree_hash_after: Vec<u8>,
}

pub fn run(json: &str) -> Result<Outcome, String> {
    super::run_suite_cases(json, |c: &Case| c.cipher_suite, check_case)
}

fn check_case(c: &Case, suite: Suite<'static>) -> Result<(), CaseError> {
    let mut tree = RatchetTree::import(&suite, &RatchetTreeExt::from_bytes(&c.tree_before)?)?;
    check_eq("tree_hash_before", tree.root_hash(), &c.tree_hash_before[..])?;
    let mut staged = tree.stage();
    match Proposal::from_bytes(&c.proposal)? {
        Proposal::Add(add) => {
            staged.add_leaf(add.key_package.leaf_node);
        }
        Proposal::Update(update) => staged.update_leaf(LeafIndex(c.proposal_sender), update.leaf_node)?,
        Proposal::Remove(remove) => staged.remove_leaf(remove.removed)?,
        other => return Err(CaseError::Failed(format!("unexpected proposal {other:?}"))),
    }
    let staged_hash = staged.root_hash(&suite);
    check_eq("staged tree_hash_after", &staged_hash[..], &c.tree_hash_after[..])?;
    let diff = staged.into_diff();
    tree.merge(&suite, diff);
    check_eq("tree_after", &tree.export().to_bytes()[..], &c.tree_after[..])?;
    check_eq("tree_hash_after", tree.root_hash(), &c.tree_hash_after[..])?;
    // The merged cache must equal a from-scratch hash of the same tree.
    let fresh = RatchetTree::import(&suite, &tree.export())?;
    check_eq("rehash from scratch", fresh.root_hash(), tree.root_hash())
}

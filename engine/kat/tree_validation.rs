//! `tree-validation.json`: resolutions (§4.1.1), tree hashes (§7.8),
//! parent hashes (§7.9.2) and leaf signatures of trees built by others.

use serde::Deserialize;
use throng::crypto::{CipherSuite, Suite};
use throng::internals::codec::Decode;
use throng::internals::tree::{LeafNodeRules, RatchetTree, TreeView};
use throng::internals::tree_math::NodeIndex;
use throng::messages::RatchetTreeExtension as RatchetTreeExt;

use super::{CaseError, Outcome, check_eq, hex_bytes};

#[derive(Deserialize)]
struct Case {
    cipher_suite: u16,
    #[serde(with = "hex_bytes")]
    tree: Vec<u8>,
    #[serde(with = "hex_bytes")]
    group_id: Vec<u8>,
    resolutions: Vec<Vec<u32>>,
    tree_hashes: Vec<String>,
}

pub fn run(json: &str) -> Result<Outcome, String> {
    super::run_suite_cases(json, |c: &Case| c.cipher_suite, check_case)
}

fn check_case(c: &Case, suite: Suite<'static>) -> Result<(), CaseError> {
    let tree = RatchetTree::import(&suite, &RatchetTreeExt::from_bytes(&c.tree)?)?;
    for (i, want) in c.resolutions.iter().enumerate() {
        let got: Vec<u32> = tree.resolution(NodeIndex(i as u32)).iter().map(|x| x.0).collect();
        check_eq(&format!("resolution of node {i}"), &got, want)?;
    }
    for (i, want) in c.tree_hashes.iter().enumerate() {
        check_eq(
            &format!("tree hash of node {i}"),
            &tree.tree_hash(&suite, NodeIndex(i as u32))[..],
            &super::hex(want)[..],
        )?;
    }
    let rules = LeafNodeRules {
        cipher_suite: CipherSuite(c.cipher_suite),
        required_capabilities: None,
        now: None,
        limits: Default::default(),
    };
    tree.validate(&suite, &c.group_id, &rules)?;
    Ok(())
}

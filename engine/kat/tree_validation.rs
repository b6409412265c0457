//! `tree-validation.json`: resolutions (§4.1.1), tree hashes (§7.8),
//! parent hashes (§7.9.2) and leaf signatures of trees built by others.

use serde::Deserialize;
use throng::codec::Decode;
use throng::crypto::CipherSuite;
use throng::messages::RatchetTree as RatchetTreeExt;
use throng::tree::math::NodeIndex;
use throng::tree::{LeafNodeRules, RatchetTree, TreeView};

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
    let cases: Vec<Case> = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let mut out = Outcome::default();
    for (i, c) in cases.iter().enumerate() {
        out.record(i, c.cipher_suite, check_case(c));
    }
    Ok(out)
}

fn check_case(c: &Case) -> Result<(), CaseError> {
    let suite = super::suite(c.cipher_suite)?;
    let tree = RatchetTree::import(&suite, &RatchetTreeExt::from_bytes(&c.tree)?)?;
    for (i, want) in c.resolutions.iter().enumerate() {
        let got: Vec<u32> = tree.resolution(NodeIndex(i as u32)).iter().map(|x| x.0).collect();
        check_eq(&format!("resolution of node {i}"), &got, want)?;
    }
    for (i, want) in c.tree_hashes.iter().enumerate() {
        check_eq(&format!("tree hash of node {i}"), tree.tree_hash(NodeIndex(i as u32)), &super::hex(want)[..])?;
    }
    let rules = LeafNodeRules { cipher_suite: CipherSuite(c.cipher_suite), required_capabilities: None, now: None };
    tree.validate(&suite, &c.group_id, &rules)?;
    Ok(())
}

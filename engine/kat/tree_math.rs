//! `tree-math.json`: Appendix C arithmetic against the vectors.

use serde::Deserialize;
use throng::internals::tree_math::{self as math, NodeIndex};

use super::{Outcome, check_eq};

#[derive(Deserialize)]
struct Case {
    n_leaves: u32,
    n_nodes: u32,
    root: u32,
    left: Vec<Option<u32>>,
    right: Vec<Option<u32>>,
    parent: Vec<Option<u32>>,
    sibling: Vec<Option<u32>>,
}

pub fn run(json: &str) -> Result<Outcome, String> {
    super::run_cases(json, check_case)
}

fn check_case(c: &Case) -> Result<(), super::CaseError> {
    let n = c.n_leaves;
    check_eq("n_nodes", &math::node_width(n), &c.n_nodes)?;
    check_eq("root", &math::root(n).0, &c.root)?;
    for x in 0..c.n_nodes {
        let node = NodeIndex(x);
        let i = x as usize;
        check_eq("left", &math::left(node).map(|v| v.0), &c.left[i])?;
        check_eq("right", &math::right(node).map(|v| v.0), &c.right[i])?;
        check_eq("parent", &math::parent(node, n).map(|v| v.0), &c.parent[i])?;
        check_eq("sibling", &math::sibling(node, n).map(|v| v.0), &c.sibling[i])?;
    }
    Ok(())
}

//! Ratchet tree properties beyond the vectors: results do not depend on the
//! thread count, merged caches equal a from-scratch hash, and rejected
//! changes leave the tree as it was.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use throng::crypto::{AwsLcProvider, CipherSuite, CryptoProvider, Suite};
use throng::error::ProposalError;
use throng::internals::group::{CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle};
use throng::internals::tree::{LeafNodeRules, RatchetTree, TreeView};
use throng::internals::tree_math::{LeafIndex, NodeIndex};
use throng::messages::{Add, Proposal, Remove};

fn group_of(n: usize) -> Group {
    let p: Arc<dyn CryptoProvider> = Arc::new(AwsLcProvider);
    let cs = CipherSuite(1);
    let mut g =
        Group::create(cs, &Identity::basic(&*p, cs, "c").unwrap(), b"g".to_vec(), vec![], GroupConfig::default())
            .unwrap();
    let adds = (1..n)
        .map(|i| {
            let b = KeyPackageBundle::generate(&*p, cs, &Identity::basic(&*p, cs, format!("m{i}")).unwrap()).unwrap();
            Proposal::Add(Add { key_package: b.key_package })
        })
        .collect();
    let pending = g.commit(CommitOptions::with_proposals(adds)).unwrap();
    g.merge_pending_commit(pending).unwrap();
    // Remove a few members so the tree has blanks and unmerged leaves.
    let removes = [5u32, 9, 17]
        .iter()
        .filter(|&&l| (l as usize) < n)
        .map(|&l| Proposal::Remove(Remove { removed: LeafIndex(l) }))
        .collect();
    let pending = g.commit(CommitOptions { force_path: false, ..CommitOptions::with_proposals(removes) }).unwrap();
    g.merge_pending_commit(pending).unwrap();
    g
}

#[test]
fn hashing_and_validation_do_not_depend_on_threads() {
    let g = group_of(40);
    let provider = AwsLcProvider;
    let suite = Suite::new(&provider, CipherSuite(1)).unwrap();
    let exported = g.tree().export();
    let in_pool = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let tree = RatchetTree::import(&suite, &exported).unwrap();
            let rules = LeafNodeRules {
                cipher_suite: CipherSuite(1),
                required_capabilities: None,
                now: None,
                limits: Default::default(),
            };
            tree.validate(&suite, b"g", &rules).unwrap();
            (0..tree.node_width()).map(|x| tree.tree_hash(NodeIndex(x)).to_vec()).collect::<Vec<_>>()
        })
    };
    let one = in_pool(1);
    assert_eq!(one, in_pool(2));
    assert_eq!(one, in_pool(4));
    // The incrementally maintained cache equals the from-scratch hashes.
    let cached: Vec<Vec<u8>> = (0..g.tree().node_width()).map(|x| g.tree().tree_hash(NodeIndex(x)).to_vec()).collect();
    assert_eq!(one, cached);
}

#[test]
fn rejected_stage_leaves_the_tree_unchanged() {
    let g = group_of(12);
    let tree = g.tree().clone();
    let before = tree.export();
    let mut staged = tree.stage();
    // Removing a blank leaf is refused; an Update of a blank leaf too.
    assert_eq!(staged.remove_leaf(LeafIndex(9)), Err(ProposalError::RemoveOfBlankLeaf(9).into()));
    let some_leaf = tree.leaf(LeafIndex(1)).unwrap().clone();
    assert_eq!(staged.update_leaf(LeafIndex(9), some_leaf), Err(ProposalError::UpdateOfBlankLeaf(9).into()));
    drop(staged);
    assert_eq!(tree.export(), before);
}

#[test]
fn lookups_are_by_key_and_credential() {
    let g = group_of(12);
    let tree = g.tree();
    for (leaf, node) in tree.members() {
        assert_eq!(tree.find_signature_key(node.signature_key.as_bytes()), Some(leaf));
        assert_eq!(tree.find_encryption_key(node.encryption_key.as_bytes()), Some(leaf.node()));
        assert_eq!(tree.find_credential(&node.credential), vec![leaf]);
    }
    assert_eq!(tree.find_signature_key(b"nobody"), None);
}

/// Issue 12, class 1: a `ratchet_tree` whose node list ends in a parent at
/// an even count (`[leaf, parent]`, or the even-length prefix of a real
/// tree) used to index past the parent array in `RatchetTree::import`, a
/// crash reachable before any signature check. Every prefix of a real tree,
/// and each with a parent appended, now imports or is refused with a typed
/// error; none panics.
#[test]
fn every_node_count_imports_or_is_refused() {
    let g = group_of(23);
    let suite = Suite::new(&AwsLcProvider, CipherSuite(1)).unwrap();
    let full = g.tree().export();
    let parent = full.0.iter().flatten().find_map(|n| match n {
        throng::messages::Node::Parent(p) => Some(p.clone()),
        _ => None,
    });
    let parent = parent.unwrap();
    let mut outcomes = (0, 0);
    for len in 1..=full.0.len() {
        let prefix = throng::messages::RatchetTreeExtension(full.0[..len].to_vec());
        let mut with_parent = prefix.clone();
        if len % 2 == 1 {
            with_parent.0.push(Some(throng::messages::Node::Parent(parent.clone())));
        }
        for nodes in [prefix, with_parent] {
            match RatchetTree::import(&suite, &nodes) {
                Ok(_) => outcomes.0 += 1,
                Err(_) => outcomes.1 += 1,
            }
        }
    }
    // The full tree itself imports.
    assert!(RatchetTree::import(&suite, &full).is_ok());
    assert!(outcomes.1 > 0, "{outcomes:?}");
}

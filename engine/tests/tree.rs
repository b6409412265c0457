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
            (0..tree.node_width()).map(|x| tree.tree_hash(&suite, NodeIndex(x))).collect::<Vec<_>>()
        })
    };
    let one = in_pool(1);
    assert_eq!(one, in_pool(2));
    assert_eq!(one, in_pool(4));
    // The incrementally maintained cache equals the from-scratch hashes.
    let cached: Vec<Vec<u8>> = (0..g.tree().node_width()).map(|x| g.tree().tree_hash(&suite, NodeIndex(x))).collect();
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
        assert_eq!(tree.find_signature_key(node.signature_key()), Some(leaf));
        assert_eq!(tree.find_encryption_key(node.encryption_key()), Some(leaf.node()));
        assert_eq!(tree.find_credential(&node.credential), vec![leaf]);
    }
    assert_eq!(tree.find_signature_key(b"nobody"), None);
}

/// §7.3 and §12.4.3.1: an imported tree with a repeated key is refused,
/// and the error names the first repeat a check in node order meets (leaf
/// by leaf, the signature key before the encryption key, then parents).
#[test]
fn import_refuses_repeated_keys() {
    use throng::error::{Error, LeafNodeError, TreeError};
    use throng::messages::Node;
    let g = group_of(12);
    let suite = Suite::new(&AwsLcProvider, CipherSuite(1)).unwrap();
    let full = g.tree().export();
    let leaf = |nodes: &throng::messages::RatchetTreeExtension, x: usize| match &nodes.0[x] {
        Some(Node::Leaf(l)) => l.clone(),
        _ => panic!("node {x} is not a leaf"),
    };
    let set_leaf = |nodes: &mut throng::messages::RatchetTreeExtension, x: usize, l| nodes.0[x] = Some(Node::Leaf(l));
    let parent_at =
        full.0.iter().enumerate().find_map(|(x, n)| matches!(n, Some(Node::Parent(_))).then_some(x)).unwrap();

    // Leaf 6 (node 12) reuses leaf 2's signature key.
    let mut nodes = full.clone();
    let mut l = leaf(&nodes, 12);
    l.set_signature_key(leaf(&nodes, 4).signature_key()).unwrap();
    set_leaf(&mut nodes, 12, l);
    assert_eq!(RatchetTree::import(&suite, &nodes).err(), Some(Error::from(LeafNodeError::DuplicateSignatureKey)));

    // Leaf 6 reuses leaf 2's encryption key; leaf 7 also reuses a signature
    // key, but leaf 6 comes first.
    let mut nodes = full.clone();
    let mut l = leaf(&nodes, 12);
    l.set_encryption_key(leaf(&nodes, 4).encryption_key()).unwrap();
    set_leaf(&mut nodes, 12, l);
    let mut l = leaf(&nodes, 14);
    l.set_signature_key(leaf(&nodes, 0).signature_key()).unwrap();
    set_leaf(&mut nodes, 14, l);
    assert_eq!(RatchetTree::import(&suite, &nodes).err(), Some(Error::from(LeafNodeError::DuplicateEncryptionKey)));

    // A parent reuses a leaf's encryption key: the parent is named.
    let mut nodes = full.clone();
    let Some(Node::Parent(mut p)) = nodes.0[parent_at].clone() else { unreachable!() };
    p.encryption_key = leaf(&nodes, 2).encryption_key().into();
    nodes.0[parent_at] = Some(Node::Parent(p));
    assert_eq!(
        RatchetTree::import(&suite, &nodes).err(),
        Some(Error::from(TreeError::DuplicateEncryptionKey(parent_at as u32)))
    );
    assert!(RatchetTree::import(&suite, &full).is_ok());
}

/// The index follows every change a commit makes: after adds, removals and
/// updates over many commits, every member is found by its keys and
/// credential, and removed members are not.
#[test]
fn lookups_follow_many_commits() {
    let p: Arc<dyn CryptoProvider> = Arc::new(AwsLcProvider);
    let cs = CipherSuite(1);
    let mut g = group_of(150);
    let mut gone = Vec::new();
    for round in 0..6u32 {
        let removed: Vec<LeafIndex> = g
            .tree()
            .members()
            .into_iter()
            .map(|(l, _)| l)
            .filter(|l| l.0 > 0 && (l.0 + round) % 7 == 0)
            .take(20)
            .collect();
        for &l in &removed {
            gone.push(g.tree().leaf(l).unwrap().clone());
        }
        let mut proposals: Vec<Proposal> = removed.iter().map(|&l| Proposal::Remove(Remove { removed: l })).collect();
        for i in 0..25 {
            let id = Identity::basic(&*p, cs, format!("r{round}-{i}")).unwrap();
            let b = KeyPackageBundle::generate(&*p, cs, &id).unwrap();
            proposals.push(Proposal::Add(Add { key_package: b.key_package }));
        }
        let pending = g.commit(CommitOptions::with_proposals(proposals)).unwrap();
        g.merge_pending_commit(pending).unwrap();
    }
    let tree = g.tree();
    assert!(tree.member_count() > 150);
    for (leaf, node) in tree.members() {
        assert_eq!(tree.find_signature_key(node.signature_key()), Some(leaf));
        assert_eq!(tree.find_encryption_key(node.encryption_key()), Some(leaf.node()));
        assert_eq!(tree.find_credential(&node.credential), vec![leaf]);
    }
    for node in &gone {
        assert_eq!(tree.find_signature_key(node.signature_key()), None);
        assert!(tree.find_credential(&node.credential).is_empty());
    }
    // The committer's path keys are indexed as parents.
    for x in (0..tree.node_width()).map(NodeIndex).filter(|x| x.0 % 2 == 1) {
        if let Some(key) = tree.encryption_key(x) {
            assert_eq!(tree.find_encryption_key(key), Some(x));
        }
    }
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

/// The tree hash (§7.8) of the subtree at `x` when every parent in it is
/// blank and leaf `i` is `leaf(i)` (encoded), computed here from the RFC's
/// definition rather than by the engine.
fn blank_parents_hash(suite: &Suite<'_>, x: NodeIndex, leaf: &dyn Fn(u32) -> Option<Vec<u8>>) -> Vec<u8> {
    use throng::internals::codec::write_bytes;
    use throng::internals::tree_math as math;
    let mut buf = Vec::new();
    match x.leaf() {
        Some(l) => {
            buf.push(1);
            buf.extend(l.0.to_be_bytes());
            match leaf(l.0) {
                None => buf.push(0),
                Some(encoded) => {
                    buf.push(1);
                    buf.extend(encoded);
                }
            }
        }
        None => {
            let left = blank_parents_hash(suite, math::left(x).unwrap(), leaf);
            let right = blank_parents_hash(suite, math::right(x).unwrap(), leaf);
            buf.extend([2, 0]);
            write_bytes(&mut buf, &left);
            write_bytes(&mut buf, &right);
        }
    }
    suite.hash(&buf)
}

/// `Hash(ParentHashInput)` (§7.9) of a parent with an empty parent_hash.
fn root_parent_hash(suite: &Suite<'_>, key: &[u8], original_sibling: &[u8]) -> Vec<u8> {
    use throng::internals::codec::write_bytes;
    let mut buf = Vec::new();
    write_bytes(&mut buf, key);
    write_bytes(&mut buf, &[]);
    write_bytes(&mut buf, original_sibling);
    suite.hash(&buf)
}

/// Issue 12, class 2: the layout that made parent-hash validation
/// quadratic. `n` leaves, every one signed with a commit source and a
/// non-empty parent hash; every parent blank but the root, whose unmerged
/// leaves are all the leaves but `committers`. Leaf 0 claims the root
/// from the left and leaf `n / 2` from the right, each over the sibling
/// half as it was when the root was set (leaf 0 alone on the left, nothing
/// on the right; which is right depends on `committers`); the other claims are stale, which §7.9.2 allows. The old
/// check rehashed half the tree for every one of those `n` claims.
struct Adversarial {
    n: u32,
    leaves: Vec<throng::messages::LeafNode>,
    root_key: Vec<u8>,
}

impl Adversarial {
    fn new(suite: &Suite<'_>, n: u32) -> Self {
        use rayon::prelude::*;
        use throng::internals::codec::Encode;
        use throng::messages::{Capabilities, Credential, CredentialType, LeafNode, LeafNodeSource, ProtocolVersion};
        let root_key = vec![0xee; 32];
        let capabilities = Arc::new(Capabilities {
            versions: vec![ProtocolVersion::MLS10],
            cipher_suites: vec![CipherSuite(1)],
            extensions: vec![],
            proposals: vec![],
            credentials: vec![CredentialType::BASIC],
        });
        let make = |i: u32, parent_hash: Vec<u8>| {
            let keys = suite.generate_signature_key_pair().unwrap();
            let mut encryption_key = vec![0; 28];
            encryption_key.extend(i.to_be_bytes());
            let mut leaf = LeafNode::new(
                &encryption_key,
                keys.public.as_bytes(),
                Credential::basic(format!("m{i}")),
                capabilities.clone(),
                LeafNodeSource::Commit { parent_hash },
                vec![],
            )
            .unwrap();
            leaf.sign(suite, &keys.private, Some((b"g", LeafIndex(i)))).unwrap();
            leaf
        };
        let root = NodeIndex(n - 1);
        let (left, right) = (NodeIndex(root.0 - n / 2), NodeIndex(root.0 + n / 2));
        let leaf0 = make(0, root_parent_hash(suite, &root_key, &blank_parents_hash(suite, right, &|_| None)));
        let encoded0 = leaf0.to_bytes();
        let original_left = blank_parents_hash(suite, left, &|i| (i == 0).then(|| encoded0.clone()));
        let leaf_half = make(n / 2, root_parent_hash(suite, &root_key, &original_left));
        let mut leaves: Vec<LeafNode> = (0..n).into_par_iter().map(|i| make(i, vec![0x5a; 32])).collect();
        leaves[0] = leaf0;
        leaves[(n / 2) as usize] = leaf_half;
        Self { n, leaves, root_key }
    }

    /// The tree with every leaf but `committers` unmerged at the root,
    /// whose encryption key is `root_key`.
    fn tree(&self, suite: &Suite<'_>, committers: &[u32], root_key: &[u8]) -> RatchetTree {
        use throng::messages::{Node, ParentNode, RatchetTreeExtension};
        let mut nodes: Vec<Option<Node>> = vec![None; 2 * self.n as usize - 1];
        for (i, leaf) in self.leaves.iter().enumerate() {
            nodes[2 * i] = Some(Node::Leaf(leaf.clone()));
        }
        nodes[self.n as usize - 1] = Some(Node::Parent(ParentNode {
            encryption_key: root_key.to_vec().into(),
            parent_hash: vec![],
            unmerged_leaves: (0..self.n).filter(|i| !committers.contains(i)).map(LeafIndex).collect(),
        }));
        RatchetTree::import(suite, &RatchetTreeExtension(nodes)).unwrap()
    }
}

/// Issue 12, class 2: parent-hash validation of the adversarial layout
/// costs O(n) hashes (the old per-node check made about n² of them, 38 s
/// at 8,192 leaves), and still accepts a parent vouched for exactly once,
/// from either side, and refuses one vouched for never or with a wrong
/// hash.
#[test]
fn parent_hashes_of_an_adversarial_layout() {
    use throng::error::TreeError;
    let suite = Suite::new(&AwsLcProvider, CipherSuite(1)).unwrap();
    let n = 8192;
    let adversarial = Adversarial::new(&suite, n);
    let rules = LeafNodeRules {
        cipher_suite: CipherSuite(1),
        required_capabilities: None,
        now: None,
        limits: Default::default(),
    };
    let key = &adversarial.root_key;
    let root_invalid = Err(TreeError::ParentHashInvalid(n - 1).into());

    // Leaf 0 vouches for the root; the other n - 1 claims are stale.
    let tree = adversarial.tree(&suite, &[0], key);
    assert_eq!(tree.validate(&suite, b"g", &rules), Ok(()));
    let cost = tree.parent_hash_validation_cost(&suite).unwrap();
    // The right half rehashed once, with every leaf blanked, and one
    // parent hash.
    assert_eq!(cost, n as usize);
    // Leaf n / 2 vouches from the right, over a left half where leaf 0
    // was present; leaf 0's claim, over a right half without leaf n / 2,
    // is then stale. Two paths rehashed, one per side.
    let tree = adversarial.tree(&suite, &[0, n / 2], key);
    assert_eq!(tree.validate(&suite, b"g", &rules), Ok(()));
    assert!(tree.parent_hash_validation_cost(&suite).unwrap() <= 2 * n as usize);
    // Leaf n / 2 alone: its claim covers leaf 0, now unmerged, so it is
    // wrong and nobody vouches. (Both sides vouching at once cannot be
    // built: each claim would cover the other's signed leaf.)
    assert_eq!(adversarial.tree(&suite, &[n / 2], key).validate(&suite, b"g", &rules), root_invalid);
    // Every leaf unmerged: no candidate on either side.
    assert_eq!(adversarial.tree(&suite, &[], key).validate(&suite, b"g", &rules), root_invalid);
    // A root key other than the one leaf 0 hashed: a wrong parent hash.
    assert_eq!(adversarial.tree(&suite, &[0], &[0xdd; 32]).validate(&suite, b"g", &rules), root_invalid);
}

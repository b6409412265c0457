//! Synthetic but valid ratchet trees of 1,000 to 100,000 members, for the
//! tree and TreeKEM benches.
//!
//! Growing a 100,000-member tree through 100,000 real commits would take
//! hours, so the tree is written directly in the shape such a history
//! leaves behind (RFC 9420 §7.9): every parent whose subtree holds a member
//! is populated, each is parent-hash valid through exactly one child chain
//! (its left child when that subtree holds a member, else its right), the
//! leaf at the bottom of each chain is a `commit` leaf carrying the chain's
//! parent hash, and every other leaf is a `key_package` leaf that never
//! committed. Parent keys come from path secrets chained up each chain as
//! in §7.4, so chosen members get the private keys they would really hold.
//! The result is checked with [`RatchetTree::validate`] and against this
//! module's own tree hash (§7.8) before it is handed out.
//!
//! The hash and parent-hash inputs are written out here from §7.8 and §7.9
//! rather than taken from the engine, so the engine's import and validation
//! check an independent construction.

// A fixture that cannot be built is a broken benchmark, never peer input:
// it stops with a message rather than threading errors through the walk.
#![allow(clippy::expect_used)]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use throng::crypto::{
    CipherSuite, HpkePublicKey, Secret, SignatureKeyPair, SignaturePrivateKey, Suite, default_provider,
};
use throng::internals::codec::{Encode, write_bytes};
use throng::internals::tree::{LeafNodeRules, RatchetTree, TreeView};
use throng::internals::tree_math::{self as math, LeafIndex, NodeIndex};
use throng::internals::treekem::PrivateTree;
use throng::messages::{
    Capabilities, Credential, CredentialType, GroupContext, LeafNode, LeafNodeSource, Lifetime, Node, ParentNode,
    ProtocolVersion, RatchetTreeExtension,
};

/// Which leaves of the tree hold a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Leaves `0..n` all hold a member.
    Full,
    /// A quarter of leaves `0..n`, chosen at random with the seed, are blank.
    QuarterBlank,
}

impl Shape {
    /// A short name for bench ids.
    pub fn name(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::QuarterBlank => "blank25",
        }
    }
}

/// A member whose private state the fixture knows.
#[derive(Clone, Debug)]
pub struct Member {
    /// Its leaf.
    pub leaf: LeafIndex,
    /// Its leaf node as in the tree.
    pub leaf_node: LeafNode,
    /// Its signature private key.
    pub signer: SignaturePrivateKey,
    /// Its leaf key and the keys of every parent above it (§4.2).
    pub private: PrivateTree,
}

/// A valid tree with a few members' private state.
#[derive(Debug)]
pub struct TreeFixture {
    /// Leaves asked for (the tree is the next power of two wide, §7.7).
    pub leaves: u32,
    /// Which of them hold a member.
    pub shape: Shape,
    /// Cipher suite 1 on the default (aws-lc-rs) provider.
    pub suite: Suite<'static>,
    /// The group id the leaves are signed for.
    pub group_id: Vec<u8>,
    /// The `ratchet_tree` extension a joiner would receive.
    pub nodes: RatchetTreeExtension,
    /// The imported, validated tree.
    pub tree: RatchetTree,
    /// Number of non-blank leaves.
    pub members: u32,
    /// The first member: a committer with the longest filtered direct path.
    pub sender: Member,
    /// The next member: shares the sender's lowest subtrees, so applying
    /// the sender's path derives nearly the whole path (worst receiver).
    pub near: Member,
    /// The last member: in the other half of the tree, so it decrypts at
    /// the root and derives one key (the typical receiver: half of all
    /// receivers sit there).
    pub far: Member,
    /// How long building took.
    pub build_time: Duration,
}

/// `splitmix64`: a tiny seeded generator for the blank pattern; no
/// cryptographic quality needed.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        // Modulo bias is irrelevant for a blank pattern.
        self.next() % n
    }
}

/// Which of the `width` leaves hold a member.
fn occupancy(leaves: u32, width: u32, shape: Shape, seed: u64) -> Vec<bool> {
    let mut occupied: Vec<bool> = (0..width).map(|i| i < leaves).collect();
    if shape == Shape::QuarterBlank {
        // Partial Fisher–Yates: the first leaves/4 entries of a shuffled
        // 0..leaves are the blanked ones.
        let mut order: Vec<u32> = (0..leaves).collect();
        let mut rng = SplitMix(seed);
        for i in 0..(leaves / 4) as usize {
            let j = i + rng.below((order.len() - i) as u64) as usize;
            order.swap(i, j);
            occupied[order[i] as usize] = false;
        }
    }
    occupied
}

/// Everything fixed before the parent hashes are known.
struct Plan<'a> {
    suite: &'a Suite<'static>,
    group_id: &'a [u8],
    n_leaves: u32,
    /// Prefix sums of occupancy: `count[i]` = members among leaves `0..i`.
    count: Vec<u32>,
    leaf_keys: Vec<Option<HpkePublicKey>>,
    signature_keys: Vec<Option<SignatureKeyPair>>,
    /// Parent at node `2i + 1`: its path secret and public key.
    parent_secrets: Vec<Option<Secret>>,
    parent_keys: Vec<Option<HpkePublicKey>>,
    /// Filled once each by the chain walk.
    leaf_nodes: Vec<OnceLock<LeafNode>>,
    parent_nodes: Vec<OnceLock<ParentNode>>,
}

impl Plan<'_> {
    fn subtree_has_member(&self, x: NodeIndex) -> bool {
        let (first, span) = math::leaf_span(x);
        let end = (first + span).min(self.n_leaves);
        first < end && self.count[end as usize] > self.count[first as usize]
    }

    /// The child whose chain makes `x` parent-hash valid: the left one
    /// unless its subtree is empty.
    fn covering_child(&self, x: NodeIndex) -> (NodeIndex, NodeIndex) {
        // Only called on parents, which have both children.
        let (l, r) = (math::left(x).unwrap_or(x), math::right(x).unwrap_or(x));
        if self.subtree_has_member(l) { (l, r) } else { (r, l) }
    }

    fn hash(&self, data: &[u8]) -> Vec<u8> {
        self.suite.hash(data)
    }

    /// `TreeHashInput` of a leaf, hashed (§7.8).
    fn leaf_tree_hash(&self, leaf: u32, node: Option<&LeafNode>) -> Vec<u8> {
        let mut buf = vec![1];
        leaf.encode(&mut buf);
        match node {
            None => buf.push(0),
            Some(n) => {
                buf.push(1);
                n.encode(&mut buf);
            }
        }
        self.hash(&buf)
    }

    /// `TreeHashInput` of a parent, hashed (§7.8).
    fn parent_tree_hash(&self, node: Option<&ParentNode>, left: &[u8], right: &[u8]) -> Vec<u8> {
        let mut buf = vec![2];
        match node {
            None => buf.push(0),
            Some(n) => {
                buf.push(1);
                n.encode(&mut buf);
            }
        }
        write_bytes(&mut buf, left);
        write_bytes(&mut buf, right);
        self.hash(&buf)
    }

    /// `ParentHashInput` of `p` hashed (§7.9); no unmerged leaves, so the
    /// original sibling tree hash is the sibling's tree hash.
    fn parent_hash(&self, key: &HpkePublicKey, parent_hash_of_p: &[u8], sibling_tree_hash: &[u8]) -> Vec<u8> {
        let mut buf = Vec::new();
        write_bytes(&mut buf, key.as_bytes());
        write_bytes(&mut buf, parent_hash_of_p);
        write_bytes(&mut buf, sibling_tree_hash);
        self.hash(&buf)
    }

    /// The parent hash a parent left over from an older commit carries: it
    /// pointed at an ancestor that has since been replaced.
    fn stale_parent_hash(&self, x: NodeIndex) -> Vec<u8> {
        let mut buf = b"stale parent hash".to_vec();
        x.0.encode(&mut buf);
        self.hash(&buf)
    }

    fn make_leaf(&self, leaf: u32, chained_parent_hash: Option<Vec<u8>>) -> LeafNode {
        let i = leaf as usize;
        // Only occupied leaves are signed, and each has keys by now.
        let keys = self.signature_keys[i].as_ref().expect("occupied leaf has a signature key");
        let source = match chained_parent_hash {
            Some(parent_hash) => LeafNodeSource::Commit { parent_hash },
            None => LeafNodeSource::KeyPackage(Lifetime { not_before: 0, not_after: u64::MAX }),
        };
        let mut node = LeafNode::new(
            self.leaf_keys[i].as_ref().expect("occupied leaf has an HPKE key").as_bytes(),
            keys.public.as_bytes(),
            Credential::basic(format!("member-{leaf:06}").into_bytes()),
            std::sync::Arc::new(Capabilities {
                versions: vec![ProtocolVersion::MLS10],
                cipher_suites: vec![CipherSuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519],
                extensions: Vec::new(),
                proposals: Vec::new(),
                credentials: vec![CredentialType::BASIC],
            }),
            source,
            Vec::new(),
        )
        .expect("fixture keys fit");
        node.sign(self.suite, &keys.private, Some((self.group_id, LeafIndex(leaf)))).expect("sign fixture leaf");
        node
    }

    /// Fills the subtree under `x` and returns its tree hash. `incoming` is
    /// the parent hash `x` must carry when `x` is the covering child of its
    /// parent; `None` otherwise.
    ///
    /// The chain of covering children below `x` is walked in one go: the
    /// subtrees hanging off it do not depend on `incoming`, so they are
    /// built first and in parallel; then parent hashes run down the chain,
    /// the leaf at its bottom is signed, and tree hashes run back up.
    fn build(&self, x: NodeIndex, incoming: Option<Vec<u8>>) -> Vec<u8> {
        if !self.subtree_has_member(x) {
            return self.blank_tree_hash(x);
        }
        let mut chain = vec![x];
        let mut siblings = Vec::new();
        let mut cur = x;
        while !cur.is_leaf() {
            let (c, s) = self.covering_child(cur);
            chain.push(c);
            siblings.push(s);
            cur = c;
        }
        let sibling_hashes: Vec<Vec<u8>> = siblings.par_iter().map(|&s| self.build(s, None)).collect();

        // Down the chain: each parent's own parent hash, then the hash its
        // covering child carries.
        let mut parent_hash_of = incoming;
        for (&p, sibling_hash) in chain.iter().zip(&sibling_hashes) {
            let i = (p.0 / 2) as usize;
            let own = parent_hash_of.take().unwrap_or_else(|| self.stale_parent_hash(p));
            let key = self.parent_keys[i].clone().expect("chain parents have keys");
            parent_hash_of = Some(self.parent_hash(&key, &own, sibling_hash));
            let node = ParentNode { encryption_key: key, parent_hash: own, unmerged_leaves: Vec::new() };
            let _ = self.parent_nodes[i].set(node);
        }
        let bottom = cur.leaf().map_or(0, |l| l.0);
        let leaf = self.make_leaf(bottom, parent_hash_of);
        let mut hash = self.leaf_tree_hash(bottom, Some(&leaf));
        let _ = self.leaf_nodes[bottom as usize].set(leaf);

        // Back up: combine with the sibling on the correct side.
        for (k, (&p, sibling_hash)) in chain.iter().zip(&sibling_hashes).enumerate().rev() {
            let child = chain[k + 1];
            let parent = self.parent_nodes[(p.0 / 2) as usize].get();
            hash = if math::left(p) == Some(child) {
                self.parent_tree_hash(parent, &hash, sibling_hash)
            } else {
                self.parent_tree_hash(parent, sibling_hash, &hash)
            };
        }
        hash
    }

    /// The tree hash of a subtree with no member in it.
    fn blank_tree_hash(&self, x: NodeIndex) -> Vec<u8> {
        match x.leaf() {
            Some(l) => self.leaf_tree_hash(l.0, None),
            None => {
                let (l, r) = (math::left(x).unwrap_or(x), math::right(x).unwrap_or(x));
                let (lh, rh) = rayon::join(|| self.blank_tree_hash(l), || self.blank_tree_hash(r));
                self.parent_tree_hash(None, &lh, &rh)
            }
        }
    }
}

/// The suite every fixture uses: MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519.
pub fn suite() -> Suite<'static> {
    // Suite 1 is always implemented by the default provider.
    Suite::new(default_provider(), CipherSuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519).expect("suite 1")
}

fn seeded(suite: &Suite<'_>, seed: u64, label: &[u8], index: u32) -> Vec<u8> {
    let mut buf = label.to_vec();
    seed.encode(&mut buf);
    index.encode(&mut buf);
    suite.hash(&buf)
}

/// The HPKE key pair of leaf `leaf` in a fixture built with `seed`.
fn leaf_key_ikm(suite: &Suite<'_>, seed: u64, leaf: u32) -> Vec<u8> {
    seeded(suite, seed, b"fixture leaf key", leaf)
}

/// Builds a valid tree of `leaves` leaves (members at `0..leaves`, a quarter
/// of them blanked for [`Shape::QuarterBlank`]). Runs on the current rayon
/// pool; takes a few seconds per 100,000 leaves per core.
///
/// # Panics
/// If the construction is not a valid tree (a bug in this module): the
/// engine's import, validation or tree hash disagrees with it.
pub fn build(leaves: u32, shape: Shape, seed: u64) -> TreeFixture {
    let start = Instant::now();
    assert!(leaves >= 4, "a fixture needs at least four leaves");
    let suite = suite();
    let group_id = b"throng bench group".to_vec();
    let n_leaves = leaves.next_power_of_two();
    let width = math::node_width(n_leaves);
    let occupied = occupancy(leaves, n_leaves, shape, seed);
    let mut count = Vec::with_capacity(n_leaves as usize + 1);
    count.push(0u32);
    for &o in &occupied {
        count.push(count[count.len() - 1] + u32::from(o));
    }

    // Keys of every occupied leaf, in parallel.
    let keys: Vec<Option<(HpkePublicKey, SignatureKeyPair)>> = (0..n_leaves)
        .into_par_iter()
        .map(|i| {
            occupied[i as usize].then(|| {
                let hpke = suite.derive_key_pair(&leaf_key_ikm(&suite, seed, i)).expect("leaf key");
                (hpke.public, suite.generate_signature_key_pair().expect("signature key"))
            })
        })
        .collect();
    let (leaf_keys, signature_keys): (Vec<_>, Vec<_>) =
        keys.into_iter().map(|k| k.map(|(h, s)| (Some(h), Some(s))).unwrap_or((None, None))).unzip();

    let mut plan = Plan {
        suite: &suite,
        group_id: &group_id,
        n_leaves,
        count,
        leaf_keys,
        signature_keys,
        parent_secrets: Vec::new(),
        parent_keys: Vec::new(),
        leaf_nodes: (0..n_leaves).map(|_| OnceLock::new()).collect(),
        parent_nodes: (0..n_leaves.saturating_sub(1)).map(|_| OnceLock::new()).collect(),
    };

    // Path secrets, level by level from the bottom: a parent whose covering
    // child is a parent continues that child's chain (§7.4: path_secret[n+1]
    // = DeriveSecret(path_secret[n], "path")); one above a leaf starts a
    // chain with a fresh secret, as the committing leaf did.
    let mut parent_secrets: Vec<Option<Secret>> = vec![None; (n_leaves - 1) as usize];
    let root_level = math::root(n_leaves).level();
    for level in 1..=root_level {
        let first = (1u32 << level) - 1;
        let step = 1u32 << (level + 1);
        let at_level: Vec<NodeIndex> = (first..width).step_by(step as usize).map(NodeIndex).collect();
        let secrets: Vec<(usize, Option<Secret>)> = at_level
            .par_iter()
            .map(|&p| {
                if !plan.subtree_has_member(p) {
                    return ((p.0 / 2) as usize, None);
                }
                let (c, _) = plan.covering_child(p);
                let secret = match c.leaf() {
                    Some(_) => Secret::new(seeded(&suite, seed, b"fixture path secret", p.0)),
                    None => {
                        let below = parent_secrets[(c.0 / 2) as usize].as_ref().expect("covering child populated");
                        suite.derive_secret(below.as_bytes(), "path").expect("path secret")
                    }
                };
                ((p.0 / 2) as usize, Some(secret))
            })
            .collect();
        for (i, s) in secrets {
            parent_secrets[i] = s;
        }
    }
    plan.parent_keys = parent_secrets.par_iter().map(|s| s.as_ref().map(|s| node_key_pair(&suite, s).public)).collect();
    plan.parent_secrets = parent_secrets;

    let root = math::root(n_leaves);
    let root_hash = plan.build(root, None);

    let Plan { leaf_nodes, parent_nodes, parent_secrets, signature_keys, .. } = plan;
    let mut nodes: Vec<Option<Node>> = (0..width)
        .map(|x| {
            if x % 2 == 0 {
                leaf_nodes[(x / 2) as usize].get().cloned().map(Node::Leaf)
            } else {
                parent_nodes[(x / 2) as usize].get().cloned().map(Node::Parent)
            }
        })
        .collect();
    drop((leaf_nodes, parent_nodes));
    while matches!(nodes.last(), Some(None)) {
        nodes.pop();
    }
    let nodes = RatchetTreeExtension(nodes);
    let tree = RatchetTree::import(&suite, &nodes).expect("fixture imports");
    assert_eq!(tree.root_hash(), &root_hash[..], "engine and fixture disagree on the tree hash");
    tree.validate(&suite, &group_id, &leaf_rules()).expect("fixture validates");

    let members: Vec<u32> = (0..n_leaves).filter(|&i| occupied[i as usize]).collect();
    let member = |leaf: u32| -> Member {
        let leaf = LeafIndex(leaf);
        let leaf_node = tree.leaf(leaf).expect("member leaf").clone();
        let pair = suite.derive_key_pair(&leaf_key_ikm(&suite, seed, leaf.0)).expect("leaf key");
        let mut private = PrivateTree::new(leaf, pair.private, pair.public);
        for x in math::direct_path(leaf.node(), n_leaves) {
            if let Some(secret) = &parent_secrets[(x.0 / 2) as usize] {
                private.insert_path_secret(&suite, x, secret).expect("path key");
            }
        }
        assert!(private.is_consistent(&tree), "member keys disagree with the tree");
        let signer = signature_keys[leaf.0 as usize].as_ref().expect("member signature key").private.clone();
        Member { leaf, leaf_node, signer, private }
    };
    let (sender, near, far) = (member(members[0]), member(members[1]), member(members[members.len() - 1]));
    TreeFixture {
        leaves,
        shape,
        suite,
        group_id,
        nodes,
        tree,
        members: members.len() as u32,
        sender,
        near,
        far,
        build_time: start.elapsed(),
    }
}

/// The leaf rules the fixture's leaves satisfy (§7.3); lifetimes are
/// checked against the current time.
pub fn leaf_rules() -> LeafNodeRules<'static> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    LeafNodeRules {
        cipher_suite: CipherSuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519,
        required_capabilities: None,
        now: Some(now),
        limits: Default::default(),
    }
}

/// A node's key pair from its path secret (§7.4: node_secret =
/// DeriveSecret(path_secret, "node"), then DeriveKeyPair).
fn node_key_pair(suite: &Suite<'_>, path_secret: &Secret) -> throng::crypto::HpkeKeyPair {
    let node_secret = suite.derive_secret(path_secret.as_bytes(), "node").expect("node secret");
    suite.derive_key_pair(node_secret.as_bytes()).expect("node key pair")
}

impl TreeFixture {
    /// The encoded provisional GroupContext (§8.1) the UpdatePath
    /// encryptions bind to, for a given new tree hash.
    pub fn group_context(&self, tree_hash: &[u8]) -> Vec<u8> {
        GroupContext {
            version: ProtocolVersion::MLS10,
            cipher_suite: self.suite.cipher_suite(),
            group_id: self.group_id.clone(),
            epoch: 1,
            tree_hash: tree_hash.to_vec(),
            confirmed_transcript_hash: vec![0; self.suite.hash_len()],
            extensions: Vec::new(),
        }
        .to_bytes()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use throng::internals::treekem::{apply_update_path, create_update_path};

    /// Every shape of small tree builds and validates (inside `build`), and
    /// an UpdatePath from the sender reaches both receivers.
    #[test]
    fn small_fixtures_are_valid_and_usable() {
        for leaves in [4, 5, 37, 64, 300] {
            for shape in [Shape::Full, Shape::QuarterBlank] {
                let f = build(leaves, shape, 7);
                let expected = if shape == Shape::Full { leaves } else { leaves - leaves / 4 };
                assert_eq!(f.members, expected);
                let mut staged = f.tree.stage();
                let created = create_update_path(
                    &f.suite,
                    &mut staged,
                    f.sender.leaf,
                    f.sender.leaf_node.clone(),
                    &f.sender.signer,
                    &f.group_id,
                    &[],
                    |th| f.group_context(th),
                )
                .unwrap();
                let committed = staged.root_hash(&f.suite);
                for receiver in [&f.near, &f.far] {
                    let mut staged = f.tree.stage();
                    let applied = apply_update_path(
                        &f.suite,
                        &mut staged,
                        f.sender.leaf,
                        &created.update_path,
                        &receiver.private,
                        &[],
                        |th| f.group_context(th),
                    )
                    .unwrap();
                    assert_eq!(applied.commit_secret.as_secret(), created.commit_secret.as_secret());
                    assert_eq!(staged.root_hash(&f.suite), committed);
                }
            }
        }
    }

    #[test]
    fn blank_pattern_is_seeded() {
        assert_eq!(occupancy(100, 128, Shape::QuarterBlank, 1), occupancy(100, 128, Shape::QuarterBlank, 1));
        assert_ne!(occupancy(100, 128, Shape::QuarterBlank, 1), occupancy(100, 128, Shape::QuarterBlank, 2));
        assert_eq!(occupancy(100, 128, Shape::QuarterBlank, 1).iter().filter(|&&o| o).count(), 75);
    }
}

//! Partial MLS (draft-ietf-mls-partial): the structures that let a client
//! that never commits follow a group without its ratchet tree.
//!
//! - [`MembershipProof`]: a tree slice, the nodes from a leaf to the root
//!   and the tree hashes of its copath, from which anyone recomputes the
//!   root tree hash (RFC 9420 §7.8) and so checks the leaf against the
//!   group's agreed tree hash (draft §"Membership Proofs and Partial
//!   Trees"). A server or full member makes one from its tree with
//!   [`MembershipProof::new`].
//! - [`SenderAuthenticatedMessage`], [`AnnotatedWelcome`],
//!   [`AnnotatedCommit`]: the draft's annotated messages (wire forms).
//! - [`PartialGroup`]: the partial client itself (`client.rs`): joins,
//!   follows commits, reads messages, upgrades and downgrades.
//! - [`CommitAnnotator`], [`crate::PublicGroup::annotate_welcome`],
//!   [`crate::PublicGroup::sender_authenticate`]: making them from a full
//!   view of the tree, as a server or full member (`annotate.rs`).
//!
//! Every decoded proof is checked for shape before any hash: the depth is
//! at most 31 (`n_leaves` a power of two below 2^32), so a proof costs at
//! most 32 hashes whatever a peer claims.

mod annotate;
mod client;

pub use annotate::CommitAnnotator;
pub use client::{PartialCommitOutcome, PartialGroup, PartialSavedState, path_commit_secret};

use crate::codec::{Decode, DecodeError, Encode, Reader, write_bytes, write_prefixed};
use crate::crypto::Suite;
use crate::error::{Error, PartialError};
use crate::messages::content::{MlsMessage, PrivateMessage, PublicMessage};
use crate::messages::{GroupInfo, LeafNode, Node, ParentNode, Welcome};
use crate::tree::hash::{leaf_tree_hash, parent_tree_hash};
use crate::tree::{RatchetTree, TreeView};
use crate::tree_math::{self as math, LeafIndex, NodeIndex};

crate::wire_struct! {
    /// `CopathHash`: the tree hash of one copath node.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct CopathHash {
        /// The node's tree hash (§7.8).
        pub hash_value: Vec<u8>,
    }
}

crate::wire_struct! {
    /// `MembershipProof`: the leaf at `leaf_index` of a tree of `n_leaves`
    /// leaves, the nodes of its direct path up to the root (blank ones as
    /// `None`), and the tree hashes of its copath, bottom up.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct MembershipProof {
        /// The proven leaf.
        pub leaf_index: LeafIndex,
        /// Leaves of the tree (a power of two, RFC 9420 §7).
        pub n_leaves: u32,
        /// The leaf, then each node of its direct path, the root last.
        pub direct_path_nodes: Vec<Option<Node>>,
        /// The copath's tree hashes, from the leaf's sibling up.
        pub copath_hashes: Vec<CopathHash>,
    }
}

impl MembershipProof {
    /// The proof for `leaf` in `tree`: copath hashes from the tree's cache,
    /// the two lowest (levels 0 and 1) rehashed, 4 hashes in all.
    pub fn new(suite: &Suite<'_>, tree: &RatchetTree, leaf: LeafIndex) -> Result<Self, Error> {
        let n = tree.leaf_count();
        if leaf.0 >= n {
            return Err(PartialError::ProofShape("leaf outside the tree").into());
        }
        let x = NodeIndex(leaf.0 * 2);
        let mut direct_path_nodes = vec![tree.leaf(leaf).cloned().map(Node::Leaf)];
        direct_path_nodes
            .extend(math::direct_path(x, n).into_iter().map(|p| tree.parent_node(p).cloned().map(Node::Parent)));
        let copath_hashes =
            math::copath(x, n).into_iter().map(|c| CopathHash { hash_value: tree.tree_hash(suite, c) }).collect();
        Ok(Self { leaf_index: leaf, n_leaves: n, direct_path_nodes, copath_hashes })
    }

    /// Appends the encoding of `MembershipProof::new(tree, leaf)` to `out`
    /// without building the proof: the nodes are encoded straight from the
    /// tree, not copied first (a server annotating a commit for every
    /// member encodes one proof per recipient).
    pub(crate) fn encode_from_tree(
        suite: &Suite<'_>,
        tree: &RatchetTree,
        leaf: LeafIndex,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let mut buf = Vec::new();
        let n = tree.leaf_count();
        if leaf.0 >= n {
            return Err(PartialError::ProofShape("leaf outside the tree").into());
        }
        let x = NodeIndex(leaf.0 * 2);
        leaf.encode(out);
        n.encode(out);
        // optional<Node>: presence, then the node type (leaf 1, parent 2,
        // RFC 9420 §7.8) and the node.
        write_prefixed(out, |out| {
            match tree.leaf(leaf) {
                Some(node) => {
                    out.extend_from_slice(&[1, 1]);
                    node.encode(out);
                }
                None => out.push(0),
            }
            for p in math::direct_path(x, n) {
                match tree.parent_node(p) {
                    Some(node) => {
                        out.extend_from_slice(&[1, 2]);
                        node.encode(out);
                    }
                    None => out.push(0),
                }
            }
        });
        write_prefixed(out, |out| {
            for c in math::copath(x, n) {
                write_bytes(out, &tree.tree_hash_with(suite, c, &mut buf));
            }
        });
        Ok(())
    }

    /// The proven leaf node, `None` if blank (the shape is not checked).
    pub fn leaf(&self) -> Option<&LeafNode> {
        match self.direct_path_nodes.first() {
            Some(Some(Node::Leaf(leaf))) => Some(leaf),
            _ => None,
        }
    }

    /// The parent nodes of the leaf's direct path, bottom up (`None`:
    /// blank).
    pub fn parents(&self) -> impl Iterator<Item = Option<&ParentNode>> {
        self.direct_path_nodes.iter().skip(1).map(|n| match n {
            Some(Node::Parent(p)) => Some(p),
            _ => None,
        })
    }

    /// The depth of the tree, once the shape is checked: `n_leaves` is a
    /// power of two, the leaf inside it, one node per level plus the leaf,
    /// one copath hash per level, a leaf node first and parent nodes
    /// above it.
    fn depth(&self) -> Result<usize, PartialError> {
        if !self.n_leaves.is_power_of_two() {
            return Err(PartialError::ProofShape("n_leaves is not a power of two"));
        }
        if self.leaf_index.0 >= self.n_leaves {
            return Err(PartialError::ProofShape("leaf_index outside the tree"));
        }
        let depth = self.n_leaves.trailing_zeros() as usize;
        if self.direct_path_nodes.len() != depth + 1 {
            return Err(PartialError::ProofShape("direct_path_nodes is not one node per level"));
        }
        if self.copath_hashes.len() != depth {
            return Err(PartialError::ProofShape("copath_hashes is not one hash per level"));
        }
        let mut nodes = self.direct_path_nodes.iter();
        if matches!(nodes.next(), Some(Some(Node::Parent(_)))) {
            return Err(PartialError::ProofShape("a parent node in the leaf's place"));
        }
        if nodes.any(|n| matches!(n, Some(Node::Leaf(_)))) {
            return Err(PartialError::ProofShape("a leaf node on the direct path"));
        }
        Ok(depth)
    }

    /// The root tree hash the proof leads to (RFC 9420 §7.8, recomputed
    /// along the direct path with the copath's hashes).
    pub fn root_hash(&self, suite: &Suite<'_>) -> Result<Vec<u8>, Error> {
        self.depth()?;
        let mut buf = Vec::new();
        let mut hash = leaf_tree_hash(suite, self.leaf_index, self.leaf(), &mut buf);
        let mut x = NodeIndex(self.leaf_index.0 * 2);
        for (parent, sibling) in self.parents().zip(&self.copath_hashes) {
            let p = math::parent(x, self.n_leaves).ok_or(PartialError::ProofShape("the path ends below the root"))?;
            let sibling = &sibling.hash_value;
            hash = if x.0 < p.0 {
                parent_tree_hash(suite, parent, &hash, sibling, &mut buf)
            } else {
                parent_tree_hash(suite, parent, sibling, &hash, &mut buf)
            };
            x = p;
        }
        Ok(hash)
    }

    /// Checks that the proof is valid relative to `tree_hash`.
    pub fn verify(&self, suite: &Suite<'_>, tree_hash: &[u8]) -> Result<(), Error> {
        if self.root_hash(suite)? != tree_hash {
            return Err(PartialError::ProofTreeHash.into());
        }
        Ok(())
    }

    /// Checks that the proof is valid relative to `tree_hash` and proves a
    /// member at `leaf`; returns its leaf node.
    pub fn verify_member(&self, suite: &Suite<'_>, tree_hash: &[u8], leaf: LeafIndex) -> Result<&LeafNode, Error> {
        if self.leaf_index != leaf {
            return Err(PartialError::WrongLeaf { proof: self.leaf_index.0, named: leaf.0 }.into());
        }
        self.verify(suite, tree_hash)?;
        self.leaf().ok_or_else(|| PartialError::BlankLeaf.into())
    }

    /// Checks that two proofs reference the same tree (equal `n_leaves` and
    /// root tree hash); returns that hash.
    pub fn same_tree(suite: &Suite<'_>, a: &Self, b: &Self) -> Result<Vec<u8>, Error> {
        let root = a.root_hash(suite)?;
        if a.n_leaves != b.n_leaves || b.root_hash(suite)? != root {
            return Err(PartialError::ProofsDiffer.into());
        }
        Ok(root)
    }
}

/// A proof as a view of the tree it proves: its leaf and direct path are
/// known, every other node reads as blank. A partial member checks its keys
/// against it as a full member against its tree.
impl TreeView for MembershipProof {
    fn leaf_count(&self) -> u32 {
        self.n_leaves
    }

    fn leaf(&self, leaf: LeafIndex) -> Option<&LeafNode> {
        if leaf == self.leaf_index { MembershipProof::leaf(self) } else { None }
    }

    fn parent_node(&self, node: NodeIndex) -> Option<&ParentNode> {
        let level = node.level() as usize;
        // The node at level k of the leaf's direct path is its ancestor at
        // that level; it is `node` exactly when `node` covers the leaf.
        if level == 0 || level >= self.direct_path_nodes.len() {
            return None;
        }
        let covers = |x: NodeIndex| {
            let half = (1u64 << level) - 1;
            let x = u64::from(x.0);
            let l = u64::from(self.leaf_index.0) * 2;
            l + half >= x && l <= x + half
        };
        if !covers(node) {
            return None;
        }
        match self.direct_path_nodes.get(level) {
            Some(Some(Node::Parent(p))) => Some(p),
            _ => None,
        }
    }

    fn has_leaf_in(&self, first: u32, count: u32) -> bool {
        let l = self.leaf_index.0;
        l >= first && l - first < count && MembershipProof::leaf(self).is_some()
    }
}

/// `SenderAuthenticatedMessage<T>`: a signed message with a membership
/// proof for its sender (draft §"Sender-Authenticated Messages").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderAuthenticatedMessage<T> {
    /// The message.
    pub message: T,
    /// The sender's membership proof, relative to the tree of the epoch
    /// the message was sent in.
    pub sender_membership_proof: MembershipProof,
}

impl<T: Encode> Encode for SenderAuthenticatedMessage<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        self.message.encode(out);
        self.sender_membership_proof.encode(out);
    }
}

impl<T: Decode> Decode for SenderAuthenticatedMessage<T> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { message: T::decode(r)?, sender_membership_proof: MembershipProof::decode(r)? })
    }
}

/// A Welcome with its sender's proof.
pub type SenderAuthenticatedWelcome = SenderAuthenticatedMessage<Welcome>;
/// A GroupInfo with its signer's proof.
pub type SenderAuthenticatedGroupInfo = SenderAuthenticatedMessage<GroupInfo>;
/// A PublicMessage with its sender's proof.
pub type SenderAuthenticatedPublicMessage = SenderAuthenticatedMessage<PublicMessage>;
/// A PrivateMessage with its sender's proof.
pub type SenderAuthenticatedPrivateMessage = SenderAuthenticatedMessage<PrivateMessage>;

crate::wire_struct! {
    /// `AnnotatedWelcome`: a Welcome with proofs for its sender and the
    /// joiner (draft §"Joining via Annotated Welcome").
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct AnnotatedWelcome {
        /// The Welcome and its sender's proof.
        pub welcome: SenderAuthenticatedWelcome,
        /// The joiner's proof, in the same tree.
        pub joiner_membership_proof: MembershipProof,
    }
}

crate::wire_struct! {
    /// `AnnotatedCommit`: a Commit with what a partial client needs to
    /// process it (draft §"Annotated Commit").
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct AnnotatedCommit {
        /// The Commit, as a PublicMessage or PrivateMessage.
        pub commit: MlsMessage,
        /// The committer's proof in the tree before the commit; present
        /// exactly for a member sender.
        pub sender_membership_proof: Option<MembershipProof>,
        /// The tree hash after the commit (authenticated by the
        /// confirmation tag).
        pub tree_hash_after: Vec<u8>,
        /// Which HPKECiphertext of the relevant UpdatePathNode is the
        /// recipient's; present exactly when the commit has a path.
        pub resolution_index: Option<u32>,
        /// The committer's proof in the tree after the commit.
        pub sender_membership_proof_after: MembershipProof,
        /// The recipient's proof in the tree after the commit.
        pub receiver_membership_proof_after: MembershipProof,
    }
}

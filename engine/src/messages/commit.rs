//! `Commit` and `UpdatePath` (RFC 9420 §12.4, §7.6).

use crate::crypto::{HpkeCiphertext, HpkePublicKey};

use super::{LeafNode, ProposalOrRef};

crate::wire_struct! {
    /// `UpdatePathNode` (RFC 9420 §7.6): one node of the committer's
    /// filtered direct path.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct UpdatePathNode {
        /// The node's new HPKE public key.
        pub encryption_key: HpkePublicKey,
        /// The node's path secret, encrypted to each node of the copath
        /// child's resolution (minus the leaves this Commit adds), in order.
        pub encrypted_path_secret: Vec<HpkeCiphertext>,
    }
}

crate::wire_struct! {
    /// `UpdatePath` (RFC 9420 §7.6).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct UpdatePath {
        /// The committer's new leaf node (source `commit`).
        pub leaf_node: LeafNode,
        /// One node per entry of the filtered direct path, leaf to root.
        pub nodes: Vec<UpdatePathNode>,
    }
}

crate::wire_struct! {
    /// `Commit` (RFC 9420 §12.4).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Commit {
        /// The proposals covered, in the order they apply.
        pub proposals: Vec<ProposalOrRef>,
        /// The committer's new path, when present.
        pub path: Option<UpdatePath>,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::leaf_node::tests::sample_leaf_node;
    use super::*;
    use crate::codec::{Decode, Encode};
    use crate::messages::{LeafNodeSource, Proposal, ProposalRef, Remove};
    use crate::tree_math::LeafIndex;

    #[test]
    fn commit_round_trips() {
        let path = UpdatePath {
            leaf_node: sample_leaf_node(LeafNodeSource::Commit { parent_hash: vec![1; 32] }),
            nodes: vec![UpdatePathNode {
                encryption_key: HpkePublicKey(vec![2; 32].into()),
                encrypted_path_secret: vec![HpkeCiphertext { kem_output: vec![3; 32], ciphertext: vec![4; 48] }; 3],
            }],
        };
        for commit in [
            Commit { proposals: vec![], path: Some(path) },
            Commit {
                proposals: vec![
                    ProposalOrRef::Proposal(Box::new(Proposal::Remove(Remove { removed: LeafIndex(1) }))),
                    ProposalOrRef::Reference(ProposalRef(vec![5; 32])),
                ],
                path: None,
            },
        ] {
            assert_eq!(Commit::from_bytes(&commit.to_bytes()).unwrap(), commit);
        }
    }
}

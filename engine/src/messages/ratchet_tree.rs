//! Tree nodes on the wire and the `ratchet_tree` extension (RFC 9420 §7.1,
//! §12.4.3.3).

use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::crypto::HpkePublicKey;
use crate::error::{TreeError, ValidationError};
use crate::tree_math::LeafIndex;

use super::LeafNode;

crate::wire_struct! {
    /// `ParentNode` (RFC 9420 §7.1).
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub struct ParentNode {
        /// HPKE key whose private half the leaves below hold.
        pub encryption_key: HpkePublicKey,
        /// Parent hash of this node's parent (§7.9).
        pub parent_hash: Vec<u8>,
        /// Leaves below that do not know the private key, in increasing
        /// order (§7.1; checked by tree validation, not here).
        pub unmerged_leaves: Vec<LeafIndex>,
    }
}

/// `Node` (RFC 9420 §12.4.3.3), selected by `NodeType`: leaf(1), parent(2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A member.
    Leaf(LeafNode),
    /// An intermediate node.
    Parent(ParentNode),
}

impl Node {
    /// The leaf node, if this is a leaf.
    pub fn as_leaf(&self) -> Option<&LeafNode> {
        match self {
            Self::Leaf(l) => Some(l),
            Self::Parent(_) => None,
        }
    }

    /// The parent node, if this is a parent.
    pub fn as_parent(&self) -> Option<&ParentNode> {
        match self {
            Self::Leaf(_) => None,
            Self::Parent(p) => Some(p),
        }
    }

    /// The node's HPKE public key.
    pub fn encryption_key(&self) -> &[u8] {
        match self {
            Self::Leaf(l) => l.encryption_key(),
            Self::Parent(p) => p.encryption_key.as_bytes(),
        }
    }
}

impl Encode for Node {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Leaf(leaf) => {
                out.push(1);
                leaf.encode(out);
            }
            Self::Parent(parent) => {
                out.push(2);
                parent.encode(out);
            }
        }
    }
}

impl Decode for Node {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode(r)? {
            1 => Ok(Self::Leaf(LeafNode::decode(r)?)),
            2 => Ok(Self::Parent(ParentNode::decode(r)?)),
            v => Err(DecodeError::InvalidValue { field: "NodeType", value: u64::from(v) }),
        }
    }
}

/// The `ratchet_tree` extension (RFC 9420 §12.4.3.3): `optional<Node>
/// ratchet_tree<V>`, the nodes in array order (Appendix C), `None` for a
/// blank node.
///
/// Decoding checks only the syntax. The shape rules (the last node is not
/// blank, leaves sit at even positions and parents at odd ones) are the
/// tree's to check when it imports the nodes, with
/// [`RatchetTreeExtension::check_shape`] as a first step.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RatchetTreeExtension(pub Vec<Option<Node>>);

impl RatchetTreeExtension {
    /// Checks the rules of §12.4.3.3 that concern the node array itself:
    /// it is not empty, its last node is not blank, and every node sits at
    /// a position of its kind (leaves even, parents odd; Appendix C). The
    /// receiver extends the array with blanks to a full tree itself.
    pub fn check_shape(&self) -> Result<(), ValidationError> {
        match self.0.last() {
            None => return Err(TreeError::Empty.into()),
            Some(None) => return Err(TreeError::TrailingBlank.into()),
            Some(Some(_)) => {}
        }
        for (i, node) in self.0.iter().enumerate() {
            let misplaced = match node {
                Some(Node::Leaf(_)) => i % 2 == 1,
                Some(Node::Parent(_)) => i % 2 == 0,
                None => false,
            };
            if misplaced {
                return Err(TreeError::MisplacedNode(i).into());
            }
        }
        Ok(())
    }
}

impl Encode for RatchetTreeExtension {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }
}

impl Decode for RatchetTreeExtension {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Vec::decode(r).map(Self)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::leaf_node::tests::sample_leaf_node;
    use super::*;
    use crate::messages::LeafNodeSource;

    #[test]
    fn tree_round_trips_and_shape() {
        let parent = ParentNode {
            encryption_key: HpkePublicKey(vec![8; 32].into()),
            parent_hash: vec![],
            unmerged_leaves: vec![LeafIndex(1), LeafIndex(2)],
        };
        let tree = RatchetTreeExtension(vec![
            Some(Node::Leaf(sample_leaf_node(LeafNodeSource::Update))),
            Some(Node::Parent(parent)),
            None,
            None,
            Some(Node::Leaf(sample_leaf_node(LeafNodeSource::Commit { parent_hash: vec![1] }))),
        ]);
        let bytes = tree.to_bytes();
        let back = RatchetTreeExtension::from_bytes(&bytes).unwrap();
        assert_eq!(back, tree);
        back.check_shape().unwrap();

        let mut trailing_blank = tree.clone();
        trailing_blank.0.push(None);
        assert_eq!(trailing_blank.check_shape(), Err(TreeError::TrailingBlank.into()));
        assert_eq!(RatchetTreeExtension::default().check_shape(), Err(TreeError::Empty.into()));
        let mut swapped = tree;
        swapped.0.swap(0, 1);
        assert_eq!(swapped.check_shape(), Err(TreeError::MisplacedNode(0).into()));
    }

    #[test]
    fn unknown_node_type_is_an_error() {
        assert_eq!(
            RatchetTreeExtension::from_bytes(&[2, 1, 3]),
            Err(DecodeError::InvalidValue { field: "NodeType", value: 3 })
        );
    }
}

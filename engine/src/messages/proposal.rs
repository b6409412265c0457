//! Proposals (RFC 9420 §12.1) and how a Commit names them (§12.4).

use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::crypto::CipherSuite;
use crate::tree_math::LeafIndex;

use super::{Extension, KeyPackage, LeafNode, PreSharedKeyId, ProtocolVersion};

/// `ProposalType` (RFC 9420 §12.1). Any value decodes: capability lists
/// carry GREASE and types we do not know, which must be ignored (§13.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProposalType(pub u16);

#[allow(missing_docs)]
impl ProposalType {
    pub const ADD: Self = Self(1);
    pub const UPDATE: Self = Self(2);
    pub const REMOVE: Self = Self(3);
    pub const PSK: Self = Self(4);
    pub const REINIT: Self = Self(5);
    pub const EXTERNAL_INIT: Self = Self(6);
    pub const GROUP_CONTEXT_EXTENSIONS: Self = Self(7);
    /// `self_remove` (draft-ietf-mls-extensions, "SelfRemove Proposal" and
    /// its IANA entry: 0x000a). Not a default type: members list it in
    /// their capabilities.
    pub const SELF_REMOVE: Self = Self(0x000a);

    /// Whether this is one of the "default" types every client supports
    /// and that capabilities must not list (§7.2).
    pub fn is_default(self) -> bool {
        (1..=7).contains(&self.0)
    }

    /// Whether throng gives this type a meaning of its own: the defaults
    /// and SelfRemove. Any other type is an application's
    /// ([`CustomProposal`]).
    pub fn is_known(self) -> bool {
        self.is_default() || self == Self::SELF_REMOVE
    }
}

impl Encode for ProposalType {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }
}

impl Decode for ProposalType {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        u16::decode(r).map(Self)
    }
}

crate::wire_struct! {
    /// `Add` (RFC 9420 §12.1.1): add the client of a KeyPackage.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Add {
        /// The new member's KeyPackage.
        pub key_package: KeyPackage,
    }
}

crate::wire_struct! {
    /// `Update` (RFC 9420 §12.1.2): replace the sender's leaf node.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Update {
        /// The new leaf node (source `update`).
        pub leaf_node: LeafNode,
    }
}

crate::wire_struct! {
    /// `Remove` (RFC 9420 §12.1.3): remove the member at a leaf.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Remove {
        /// The leaf to blank.
        pub removed: LeafIndex,
    }
}

crate::wire_struct! {
    /// `PreSharedKey` (RFC 9420 §12.1.4): inject a PSK into the next epoch.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub struct PreSharedKey {
        /// Which PSK.
        pub psk: PreSharedKeyId,
    }
}

crate::wire_struct! {
    /// `ReInit` (RFC 9420 §12.1.5): restart the group with new parameters.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct ReInit {
        /// The new group's id.
        pub group_id: Vec<u8>,
        /// Its protocol version.
        pub version: ProtocolVersion,
        /// Its cipher suite.
        pub cipher_suite: CipherSuite,
        /// Its group context extensions.
        pub extensions: Vec<Extension>,
    }
}

crate::wire_struct! {
    /// `ExternalInit` (RFC 9420 §12.1.6): the KEM output an external
    /// joiner derives the init secret from (§8.3).
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub struct ExternalInit {
        /// The KEM encapsulation to the group's external_pub.
        pub kem_output: Vec<u8>,
    }
}

crate::wire_struct! {
    /// `GroupContextExtensions` (RFC 9420 §12.1.7): replace the group
    /// context extensions wholesale.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct GroupContextExtensions {
        /// The new list.
        pub extensions: Vec<Extension>,
    }
}

crate::wire_struct! {
    /// A proposal of a type throng does not know, defined by the
    /// application (RFC 9420 §13.2: negotiated through capabilities before
    /// anyone sends it). Its body is carried as `opaque data<V>`, the
    /// framing OpenMLS and mls-rs give custom proposals, since RFC 9420
    /// gives an unknown type's body no framing to skip over. Whether one is
    /// valid, and whether a commit of it needs a path, the application
    /// decides ([`crate::CustomProposalValidator`]).
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub struct CustomProposal {
        /// Its type: neither a default type (§7.2) nor SelfRemove.
        pub proposal_type: ProposalType,
        /// Its body, opaque to throng.
        pub data: Vec<u8>,
    }
}

/// `Proposal` (RFC 9420 §12.1), selected by its `ProposalType`: the seven
/// types of RFC 9420, SelfRemove (draft-ietf-mls-extensions), and any
/// other type as an opaque [`CustomProposal`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Proposal {
    Add(Add),
    Update(Update),
    Remove(Remove),
    PreSharedKey(PreSharedKey),
    ReInit(ReInit),
    ExternalInit(ExternalInit),
    GroupContextExtensions(GroupContextExtensions),
    /// `SelfRemove` (draft-ietf-mls-extensions): the sender leaves; its
    /// body is empty (`struct {} SelfRemove`).
    SelfRemove,
    /// An application-defined type (RFC 9420 §13.2).
    Custom(CustomProposal),
}

impl Proposal {
    /// The proposal's type.
    pub fn proposal_type(&self) -> ProposalType {
        match self {
            Self::Add(_) => ProposalType::ADD,
            Self::Update(_) => ProposalType::UPDATE,
            Self::Remove(_) => ProposalType::REMOVE,
            Self::PreSharedKey(_) => ProposalType::PSK,
            Self::ReInit(_) => ProposalType::REINIT,
            Self::ExternalInit(_) => ProposalType::EXTERNAL_INIT,
            Self::GroupContextExtensions(_) => ProposalType::GROUP_CONTEXT_EXTENSIONS,
            Self::SelfRemove => ProposalType::SELF_REMOVE,
            Self::Custom(c) => c.proposal_type,
        }
    }

    /// Whether a Commit covering this proposal must carry a path
    /// (RFC 9420 §12.4: `pathRequiredTypes`; SelfRemove: "Path Required:
    /// Y"). For a custom proposal this says yes; the application's
    /// validator decides when a commit is staged.
    pub fn requires_path(&self) -> bool {
        !matches!(self, Self::Add(_) | Self::PreSharedKey(_) | Self::ReInit(_))
    }

    /// Whether an external sender may send this proposal (RFC 9420
    /// §12.1.8; SelfRemove "cannot be sent as an external proposal").
    /// throng accepts no application-defined type from external senders.
    pub fn allowed_from_external_sender(&self) -> bool {
        !matches!(self, Self::Update(_) | Self::ExternalInit(_) | Self::SelfRemove | Self::Custom(_))
    }
}

impl Encode for Proposal {
    fn encode(&self, out: &mut Vec<u8>) {
        self.proposal_type().encode(out);
        match self {
            Self::Add(p) => p.encode(out),
            Self::Update(p) => p.encode(out),
            Self::Remove(p) => p.encode(out),
            Self::PreSharedKey(p) => p.encode(out),
            Self::ReInit(p) => p.encode(out),
            Self::ExternalInit(p) => p.encode(out),
            Self::GroupContextExtensions(p) => p.encode(out),
            Self::SelfRemove => {}
            Self::Custom(c) => c.data.encode(out),
        }
    }
}

impl Decode for Proposal {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match ProposalType::decode(r)? {
            ProposalType::ADD => Self::Add(Decode::decode(r)?),
            ProposalType::UPDATE => Self::Update(Decode::decode(r)?),
            ProposalType::REMOVE => Self::Remove(Decode::decode(r)?),
            ProposalType::PSK => Self::PreSharedKey(Decode::decode(r)?),
            ProposalType::REINIT => Self::ReInit(Decode::decode(r)?),
            ProposalType::EXTERNAL_INIT => Self::ExternalInit(Decode::decode(r)?),
            ProposalType::GROUP_CONTEXT_EXTENSIONS => Self::GroupContextExtensions(Decode::decode(r)?),
            ProposalType::SELF_REMOVE => Self::SelfRemove,
            proposal_type => Self::Custom(CustomProposal { proposal_type, data: Decode::decode(r)? }),
        })
    }
}

super::hash_reference! {
    /// `ProposalRef` (RFC 9420 §5.2): `RefHash("MLS 1.0 Proposal
    /// Reference", AuthenticatedContent)` of the message that carried the
    /// proposal.
    ProposalRef
}

/// `ProposalOrRef` (RFC 9420 §12.4): a proposal a Commit covers, inline or
/// by reference. `ProposalOrRefType`: proposal(1), reference(2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProposalOrRef {
    /// The proposal itself, from the committer. Boxed: an Add carries a
    /// whole KeyPackage, while most entries of a large commit are
    /// 32-byte references.
    Proposal(Box<Proposal>),
    /// A proposal sent earlier in the epoch.
    Reference(ProposalRef),
}

impl Encode for ProposalOrRef {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Proposal(p) => {
                out.push(1);
                p.encode(out);
            }
            Self::Reference(r) => {
                out.push(2);
                r.encode(out);
            }
        }
    }
}

impl Decode for ProposalOrRef {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode(r)? {
            1 => Ok(Self::Proposal(Box::new(Proposal::decode(r)?))),
            2 => Ok(Self::Reference(ProposalRef::decode(r)?)),
            v => Err(DecodeError::InvalidValue { field: "ProposalOrRefType", value: u64::from(v) }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::leaf_node::tests::sample_leaf_node;
    use super::*;
    use crate::messages::{ExtensionType, LeafNodeSource, Psk};

    fn sample_proposals() -> Vec<Proposal> {
        vec![
            Proposal::Update(Update { leaf_node: sample_leaf_node(LeafNodeSource::Update) }),
            Proposal::Remove(Remove { removed: LeafIndex(5) }),
            Proposal::PreSharedKey(PreSharedKey {
                psk: PreSharedKeyId { psk: Psk::External { psk_id: vec![1, 2] }, psk_nonce: vec![0; 32] },
            }),
            Proposal::ReInit(ReInit {
                group_id: b"new".to_vec(),
                version: ProtocolVersion::MLS10,
                cipher_suite: CipherSuite(3),
                extensions: vec![],
            }),
            Proposal::ExternalInit(ExternalInit { kem_output: vec![9; 32] }),
            Proposal::GroupContextExtensions(GroupContextExtensions {
                extensions: vec![Extension { extension_type: ExtensionType(5), extension_data: vec![0] }],
            }),
            Proposal::SelfRemove,
            Proposal::Custom(CustomProposal { proposal_type: ProposalType(0xff01), data: vec![1, 2, 3] }),
        ]
    }

    #[test]
    fn proposals_round_trip() {
        for p in sample_proposals() {
            let bytes = p.to_bytes();
            assert_eq!(Proposal::from_bytes(&bytes).unwrap(), p);
            let por = ProposalOrRef::Proposal(Box::new(p));
            assert_eq!(ProposalOrRef::from_bytes(&por.to_bytes()).unwrap(), por);
        }
        let r = ProposalOrRef::Reference(ProposalRef(vec![7; 32]));
        assert_eq!(ProposalOrRef::from_bytes(&r.to_bytes()).unwrap(), r);
    }

    #[test]
    fn self_remove_and_custom_encodings() {
        // draft-ietf-mls-extensions: type 0x000a, empty body.
        assert_eq!(Proposal::SelfRemove.to_bytes(), [0x00, 0x0a]);
        // An unknown type's body is opaque<V>.
        assert_eq!(
            Proposal::from_bytes(&[0xf0, 0x00, 0x02, 7, 8]).unwrap(),
            Proposal::Custom(CustomProposal { proposal_type: ProposalType(0xf000), data: vec![7, 8] })
        );
    }

    #[test]
    fn unknown_selectors_are_errors() {
        // An unknown type without its opaque body is truncated.
        assert!(Proposal::from_bytes(&[0x0a, 0x0a]).is_err());
        assert!(matches!(ProposalOrRef::from_bytes(&[3]), Err(DecodeError::InvalidValue { .. })));
    }
}

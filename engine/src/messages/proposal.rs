//! Proposals (RFC 9420 §12.1) and how a Commit names them (§12.4).

use crate::codec::{Decode, DecodeError, Encode, Reader};

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

    /// Whether this is one of the "default" types every client supports
    /// and that capabilities must not list (§7.2).
    pub fn is_default(self) -> bool {
        (1..=7).contains(&self.0)
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

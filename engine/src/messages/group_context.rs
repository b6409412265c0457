//! `GroupContext` (RFC 9420 §8.1): the group state every epoch secret binds to.

use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::crypto::CipherSuite;

use super::Extension;

/// `ProtocolVersion` (RFC 9420 §6). Only `mls10` (1) is defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProtocolVersion(pub u16);

impl ProtocolVersion {
    /// MLS 1.0.
    pub const MLS10: Self = Self(1);
}

impl Encode for ProtocolVersion {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }
}

impl Decode for ProtocolVersion {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        u16::decode(r).map(Self)
    }
}

crate::wire_struct! {
    /// `GroupContext` (RFC 9420 §8.1).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct GroupContext {
        /// Protocol version.
        pub version: ProtocolVersion,
        /// The group's cipher suite.
        pub cipher_suite: CipherSuite,
        /// Application-chosen group identifier.
        pub group_id: Vec<u8>,
        /// Epoch number.
        pub epoch: u64,
        /// Tree hash of the ratchet tree's root (§7.8).
        pub tree_hash: Vec<u8>,
        /// Confirmed transcript hash (§8.2).
        pub confirmed_transcript_hash: Vec<u8>,
        /// Group context extensions.
        pub extensions: Vec<Extension>,
    }
}

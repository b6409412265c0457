//! Wire structs of RFC 9420 §6–§12, each with its encoding next to it.
//! One file per message family; semantics (validation, state changes) live
//! in the modules that act on them.

pub mod app_data;
pub mod commit;
pub mod content;
pub mod credential;
pub mod extensions;
pub mod group_context;
pub mod key_package;
pub mod leaf_node;
pub mod proposal;
pub mod psk;
pub mod ratchet_tree;
pub mod registered_extensions;
pub mod welcome;

pub use app_data::{AppDataDictionary, ComponentData, ComponentId, LAST_RESORT_KEY_PACKAGE};
pub use commit::{Commit, EncryptedPathSecrets, UpdatePath, UpdatePathNode};
pub use content::{
    AuthenticatedContent, ContentType, FramedContent, FramedContentAuthData, FramedContentBody, MlsMessage,
    MlsMessageBody, PrivateContentAad, PrivateMessage, PrivateMessageContent, PublicMessage, Sender, SenderData,
    SenderDataAad, WireFormat,
};
pub use credential::{Certificate, Credential, CredentialType};
pub use extensions::{Extension, ExtensionType};
pub use group_context::{GroupContext, ProtocolVersion};
pub use key_package::{KeyPackage, KeyPackageRef};
pub use leaf_node::{Capabilities, LeafNode, LeafNodeSource, Lifetime};
pub use proposal::{
    Add, CustomProposal, ExternalInit, GroupContextExtensions, PreSharedKey, Proposal, ProposalOrRef, ProposalRef,
    ProposalType, ReInit, Remove, Update,
};
pub use psk::{PreSharedKeyId, Psk, ResumptionPskUsage};
pub use ratchet_tree::{Node, ParentNode, RatchetTreeExtension};
pub use registered_extensions::{
    ApplicationId, ExtensionData, ExternalPub, ExternalSender, ExternalSenders, RequiredCapabilities,
};
pub use welcome::{EncryptedGroupSecrets, GroupInfo, GroupSecrets, PathSecret, Welcome};

use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::tree_math::LeafIndex;

/// A leaf index is a `uint32` wherever a message carries one (RFC 9420
/// §7.1 `unmerged_leaves`, §12.1.3 `removed`, §12.4.3 `signer`, §6.3.2).
impl Encode for LeafIndex {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }
}

impl Decode for LeafIndex {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        u32::decode(r).map(Self)
    }
}

/// Declares a `HashReference` newtype (RFC 9420 §5.2: `opaque
/// HashReference<V>`).
macro_rules! hash_reference {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Vec<u8>);

        impl $name {
            /// The hash bytes.
            pub fn as_bytes(&self) -> &[u8] {
                &self.0
            }
        }

        impl $crate::codec::Encode for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                self.0.encode(out);
            }
        }

        impl $crate::codec::Decode for $name {
            fn decode(r: &mut $crate::codec::Reader<'_>) -> Result<Self, $crate::codec::DecodeError> {
                Vec::decode(r).map(Self)
            }
        }
    };
}
pub(crate) use hash_reference;

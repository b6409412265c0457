//! Typed views of the extensions RFC 9420 registers (§17.3), decoded from
//! and encoded into an [`Extension`]'s `extension_data`.

use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::crypto::{HpkePublicKey, SignaturePublicKey};

use super::{Credential, CredentialType, Extension, ExtensionType, ProposalType, RatchetTreeExtension};

/// The body of an extension of one registered type.
pub trait ExtensionData: Encode + Decode {
    /// The type it is carried under.
    const EXTENSION_TYPE: ExtensionType;

    /// Decodes `extension.extension_data`; the whole data must be consumed,
    /// and the extension must be of [`Self::EXTENSION_TYPE`].
    fn from_extension(extension: &Extension) -> Result<Self, DecodeError> {
        if extension.extension_type != Self::EXTENSION_TYPE {
            return Err(DecodeError::InvalidValue {
                field: "extension_type",
                value: u64::from(extension.extension_type.0),
            });
        }
        Self::from_bytes(&extension.extension_data)
    }

    /// Wraps the encoding in an [`Extension`].
    fn to_extension(&self) -> Extension {
        Extension { extension_type: Self::EXTENSION_TYPE, extension_data: self.to_bytes() }
    }

    /// Finds and decodes the extension of this type in a list: `Ok(None)`
    /// if the list has none (§13.4 allows at most one of each type).
    fn find_in(extensions: &[Extension]) -> Result<Option<Self>, DecodeError> {
        super::extensions::find(extensions, Self::EXTENSION_TYPE).map(Self::from_extension).transpose()
    }
}

/// `application_id` (RFC 9420 §5.3.3): `opaque application_id<V>`, a
/// leaf node extension naming the client to the application.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ApplicationId(pub Vec<u8>);

impl Encode for ApplicationId {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }
}

impl Decode for ApplicationId {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Vec::decode(r).map(Self)
    }
}

impl ExtensionData for ApplicationId {
    const EXTENSION_TYPE: ExtensionType = ExtensionType::APPLICATION_ID;
}

impl ExtensionData for RatchetTreeExtension {
    const EXTENSION_TYPE: ExtensionType = ExtensionType::RATCHET_TREE;
}

crate::wire_struct! {
    /// `required_capabilities` (RFC 9420 §11.1): what every member of the
    /// group must support, beyond the defaults.
    #[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
    pub struct RequiredCapabilities {
        /// Extension types.
        pub extension_types: Vec<ExtensionType>,
        /// Proposal types.
        pub proposal_types: Vec<ProposalType>,
        /// Credential types.
        pub credential_types: Vec<CredentialType>,
    }
}

impl ExtensionData for RequiredCapabilities {
    const EXTENSION_TYPE: ExtensionType = ExtensionType::REQUIRED_CAPABILITIES;
}

crate::wire_struct! {
    /// `external_pub` (RFC 9420 §12.4.3.2): the GroupInfo extension an
    /// external joiner encapsulates to.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub struct ExternalPub {
        /// The group's external HPKE public key (§8.3).
        pub external_pub: HpkePublicKey,
    }
}

impl ExtensionData for ExternalPub {
    const EXTENSION_TYPE: ExtensionType = ExtensionType::EXTERNAL_PUB;
}

crate::wire_struct! {
    /// `ExternalSender` (RFC 9420 §12.1.8.1).
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub struct ExternalSender {
        /// The key its proposals are signed with.
        pub signature_key: SignaturePublicKey,
        /// Who it is.
        pub credential: Credential,
    }
}

/// `external_senders` (RFC 9420 §12.1.8.1): `ExternalSender
/// external_senders<V>`, indexed by `Sender::External`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct ExternalSenders(pub Vec<ExternalSender>);

impl Encode for ExternalSenders {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }
}

impl Decode for ExternalSenders {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Vec::decode(r).map(Self)
    }
}

impl ExtensionData for ExternalSenders {
    const EXTENSION_TYPE: ExtensionType = ExtensionType::EXTERNAL_SENDERS;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn views_round_trip_through_extensions() {
        let rc = RequiredCapabilities {
            extension_types: vec![ExtensionType(0xff00)],
            proposal_types: vec![ProposalType(0xff01)],
            credential_types: vec![CredentialType::BASIC],
        };
        let senders = ExternalSenders(vec![ExternalSender {
            signature_key: SignaturePublicKey(vec![1; 32].into()),
            credential: Credential::basic(b"ds".to_vec()),
        }]);
        let list = vec![
            ApplicationId(b"app".to_vec()).to_extension(),
            rc.to_extension(),
            ExternalPub { external_pub: HpkePublicKey(vec![2; 32].into()) }.to_extension(),
            senders.to_extension(),
            RatchetTreeExtension(vec![]).to_extension(),
        ];
        assert_eq!(RequiredCapabilities::find_in(&list).unwrap(), Some(rc));
        assert_eq!(ExternalSenders::find_in(&list).unwrap(), Some(senders));
        assert_eq!(ApplicationId::find_in(&list).unwrap(), Some(ApplicationId(b"app".to_vec())));
        assert_eq!(RatchetTreeExtension::find_in(&list).unwrap(), Some(RatchetTreeExtension(vec![])));
        assert_eq!(ExternalPub::find_in(&list[..1]).unwrap(), None);
        assert!(ExternalPub::from_extension(&list[0]).is_err());
        let mut trailing = list[2].clone();
        trailing.extension_data.push(0);
        assert!(ExternalPub::from_extension(&trailing).is_err());
    }
}

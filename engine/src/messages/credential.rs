//! Credentials (RFC 9420 §5.3, §13.3, §17.5).

use crate::codec::{Decode, DecodeError, Encode, Reader};

/// `CredentialType` (RFC 9420 §5.3). Any value decodes: capability lists
/// carry GREASE and types we do not know, which must be ignored (§13.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CredentialType(pub u16);

impl CredentialType {
    /// `basic(1)`: a bare identity.
    pub const BASIC: Self = Self(1);
    /// `x509(2)`: a chain of DER-encoded X.509 certificates.
    pub const X509: Self = Self(2);
}

impl Encode for CredentialType {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }
}

impl Decode for CredentialType {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        u16::decode(r).map(Self)
    }
}

crate::wire_struct! {
    /// `Certificate` (RFC 9420 §5.3): one DER-encoded X.509 certificate.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub struct Certificate {
        /// The DER encoding.
        pub cert_data: Vec<u8>,
    }
}

/// `Credential` (RFC 9420 §5.3). Its bodies are boxed slices, not vectors:
/// a tree holds one credential per member (8 bytes each, issue 16).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Credential {
    /// `basic`: an identity whose format the application defines.
    Basic {
        /// The identity.
        identity: Box<[u8]>,
    },
    /// `x509`: the end-entity certificate first (`certificates[0]`).
    X509 {
        /// The chain.
        certificates: Box<[Certificate]>,
    },
    /// A type RFC 9420 does not define. §13.3 lets applications register
    /// new credential types without saying how their body is framed, so
    /// we carry the body as one `opaque<V>`, the framing every
    /// registered type uses for its outermost field. Such a credential
    /// can still be stored, compared and re-encoded byte for byte.
    Other {
        /// The unregistered type.
        credential_type: CredentialType,
        /// The body, as `opaque data<V>`.
        data: Box<[u8]>,
    },
}

impl Credential {
    /// A basic credential.
    pub fn basic(identity: impl Into<Vec<u8>>) -> Self {
        Self::Basic { identity: identity.into().into_boxed_slice() }
    }

    /// The credential's type.
    pub fn credential_type(&self) -> CredentialType {
        match self {
            Self::Basic { .. } => CredentialType::BASIC,
            Self::X509 { .. } => CredentialType::X509,
            Self::Other { credential_type, .. } => *credential_type,
        }
    }
}

impl Encode for Credential {
    fn encode(&self, out: &mut Vec<u8>) {
        self.credential_type().encode(out);
        match self {
            Self::Basic { identity } => identity.encode(out),
            Self::X509 { certificates } => certificates.encode(out),
            Self::Other { data, .. } => data.encode(out),
        }
    }
}

impl Decode for Credential {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match CredentialType::decode(r)? {
            CredentialType::BASIC => Self::Basic { identity: Decode::decode(r)? },
            CredentialType::X509 => Self::X509 { certificates: Decode::decode(r)? },
            credential_type => Self::Other { credential_type, data: Decode::decode(r)? },
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn credentials_round_trip() {
        let creds = [
            Credential::basic(b"alice".to_vec()),
            Credential::X509 {
                certificates: vec![Certificate { cert_data: vec![1, 2, 3] }, Certificate { cert_data: vec![] }].into(),
            },
            Credential::Other { credential_type: CredentialType(0x0a0a), data: vec![9; 70].into() },
        ];
        for c in creds {
            let bytes = c.to_bytes();
            assert_eq!(Credential::from_bytes(&bytes).unwrap(), c);
        }
        assert_eq!(Credential::basic(b"a".to_vec()).to_bytes(), [0, 1, 1, b'a']);
    }
}

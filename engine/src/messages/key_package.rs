//! `KeyPackage` (RFC 9420 §10) and its reference (§5.2).

use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::crypto::{CipherSuite, HpkePublicKey, SignaturePrivateKey, Suite};
use crate::error::Error;

use super::{Extension, LeafNode, ProtocolVersion};

/// Signature label of a KeyPackage (RFC 9420 §10, §17.6).
pub const KEY_PACKAGE_TBS_LABEL: &str = "KeyPackageTBS";

/// `KeyPackage` (RFC 9420 §10): what a client pre-publishes so that others
/// can add it to a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPackage {
    /// Protocol version.
    pub version: ProtocolVersion,
    /// The one cipher suite this KeyPackage is for.
    pub cipher_suite: CipherSuite,
    /// HPKE key a Welcome's GroupSecrets are encrypted to.
    pub init_key: HpkePublicKey,
    /// The leaf the client will occupy (source `key_package`).
    pub leaf_node: LeafNode,
    /// KeyPackage extensions.
    pub extensions: Vec<Extension>,
    /// `SignWithLabel(., "KeyPackageTBS", KeyPackageTBS)` with the leaf's
    /// signature key.
    pub signature: Vec<u8>,
}

impl KeyPackage {
    fn encode_content(&self, out: &mut Vec<u8>) {
        self.version.encode(out);
        self.cipher_suite.encode(out);
        self.init_key.encode(out);
        self.leaf_node.encode(out);
        self.extensions.encode(out);
    }

    /// The encoded `KeyPackageTBS` (RFC 9420 §10): every field but the
    /// signature.
    pub fn tbs_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_content(&mut out);
        out
    }

    /// Signs with the private key matching `leaf_node.signature_key`,
    /// replacing `signature`.
    pub fn sign(&mut self, suite: &Suite<'_>, key: &SignaturePrivateKey) -> Result<(), Error> {
        self.signature = suite.sign_with_label(key, KEY_PACKAGE_TBS_LABEL, &self.tbs_bytes())?;
        Ok(())
    }

    /// Whether this is a last-resort KeyPackage (draft-ietf-mls-extensions,
    /// "Last-Resort KeyPackages"; RFC 9420 §16.8), which its owner allows
    /// to be used more than once: see [`super::app_data::marks_last_resort`].
    pub fn is_last_resort(&self) -> bool {
        super::app_data::marks_last_resort(&self.extensions)
    }

    /// Verifies `signature` against `leaf_node.signature_key` (RFC 9420 §10.1).
    pub fn verify_signature(&self, suite: &Suite<'_>) -> Result<(), Error> {
        let key = self.leaf_node.signature_key();
        suite.verify_with_label(key, KEY_PACKAGE_TBS_LABEL, &self.tbs_bytes(), &self.signature)?;
        Ok(())
    }

    /// `MakeKeyPackageRef` over this KeyPackage's encoding (RFC 9420 §5.2);
    /// `suite` must be the KeyPackage's own cipher suite.
    pub fn make_ref(&self, suite: &Suite<'_>) -> KeyPackageRef {
        KeyPackageRef(suite.key_package_ref(&self.to_bytes()))
    }
}

impl Encode for KeyPackage {
    fn encode(&self, out: &mut Vec<u8>) {
        self.encode_content(out);
        self.signature.encode(out);
    }
}

impl Decode for KeyPackage {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            version: Decode::decode(r)?,
            cipher_suite: Decode::decode(r)?,
            init_key: Decode::decode(r)?,
            leaf_node: Decode::decode(r)?,
            extensions: Decode::decode(r)?,
            signature: Decode::decode(r)?,
        })
    }
}

super::hash_reference! {
    /// `KeyPackageRef` (RFC 9420 §5.2): `RefHash("MLS 1.0 KeyPackage
    /// Reference", KeyPackage)`.
    KeyPackageRef
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::leaf_node::tests::sample_leaf_node;
    use super::*;
    use crate::messages::{ExtensionType, LeafNodeSource, Lifetime};

    fn sample() -> KeyPackage {
        KeyPackage {
            version: ProtocolVersion::MLS10,
            cipher_suite: CipherSuite(1),
            init_key: HpkePublicKey(vec![6; 32].into()),
            leaf_node: sample_leaf_node(LeafNodeSource::KeyPackage(Lifetime { not_before: 0, not_after: 9 })),
            extensions: vec![Extension { extension_type: ExtensionType(0x3a3a), extension_data: vec![] }],
            signature: vec![1; 64],
        }
    }

    #[test]
    fn round_trip_and_tbs() {
        let kp = sample();
        let bytes = kp.to_bytes();
        assert_eq!(KeyPackage::from_bytes(&bytes).unwrap(), kp);
        assert_eq!(kp.tbs_bytes().len() + 66, bytes.len());
        assert!(bytes.starts_with(&kp.tbs_bytes()));
    }

    #[test]
    fn sign_verify_and_ref() {
        let suite = Suite::new(crate::crypto::default_provider(), CipherSuite(1)).unwrap();
        let keys = suite.generate_signature_key_pair().unwrap();
        let mut kp = sample();
        kp.leaf_node.set_signature_key(keys.public.as_bytes()).unwrap();
        kp.sign(&suite, &keys.private).unwrap();
        kp.verify_signature(&suite).unwrap();
        assert_eq!(kp.make_ref(&suite).as_bytes().len(), 32);
        kp.init_key.0[0] ^= 1;
        assert!(kp.verify_signature(&suite).is_err());
    }
}

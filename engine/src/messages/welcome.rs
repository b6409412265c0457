//! Joining a group: `GroupInfo`, `GroupSecrets`, `Welcome` (RFC 9420 §12.4.3).

use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::crypto::{CipherSuite, HpkeCiphertext, Secret, SignaturePrivateKey, Suite};
use crate::error::Error;
use crate::tree_math::LeafIndex;

use super::{Extension, GroupContext, KeyPackageRef, PreSharedKeyId};

/// Signature label of a GroupInfo (RFC 9420 §12.4.3, §17.6).
pub const GROUP_INFO_TBS_LABEL: &str = "GroupInfoTBS";

/// `GroupInfo` (RFC 9420 §12.4.3): the group's state for a joiner, signed
/// by a member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupInfo {
    /// The group context of the current epoch.
    pub group_context: GroupContext,
    /// GroupInfo extensions (ratchet_tree, external_pub, …).
    pub extensions: Vec<Extension>,
    /// The confirmation tag of the epoch (`MAC confirmation_tag`).
    pub confirmation_tag: Vec<u8>,
    /// The leaf of the member that signed.
    pub signer: LeafIndex,
    /// `SignWithLabel(., "GroupInfoTBS", GroupInfoTBS)`.
    pub signature: Vec<u8>,
}

impl GroupInfo {
    fn encode_content(&self, out: &mut Vec<u8>) {
        self.group_context.encode(out);
        self.extensions.encode(out);
        self.confirmation_tag.encode(out);
        self.signer.encode(out);
    }

    /// The encoded `GroupInfoTBS` (RFC 9420 §12.4.3): every field but the
    /// signature.
    pub fn tbs_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_content(&mut out);
        out
    }

    /// Signs with the signer's private key, replacing `signature`.
    pub fn sign(&mut self, suite: &Suite<'_>, key: &SignaturePrivateKey) -> Result<(), Error> {
        self.signature = suite.sign_with_label(key, GROUP_INFO_TBS_LABEL, &self.tbs_bytes())?;
        Ok(())
    }

    /// Verifies `signature` with the signature key of the leaf at `signer`,
    /// which the caller looks up in the tree (RFC 9420 §12.4.3.1).
    pub fn verify_signature(&self, suite: &Suite<'_>, signer_key: &[u8]) -> Result<(), Error> {
        suite.verify_with_label(signer_key, GROUP_INFO_TBS_LABEL, &self.tbs_bytes(), &self.signature)?;
        Ok(())
    }
}

impl Encode for GroupInfo {
    fn encode(&self, out: &mut Vec<u8>) {
        self.encode_content(out);
        self.signature.encode(out);
    }
}

impl Decode for GroupInfo {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            group_context: Decode::decode(r)?,
            extensions: Decode::decode(r)?,
            confirmation_tag: Decode::decode(r)?,
            signer: Decode::decode(r)?,
            signature: Decode::decode(r)?,
        })
    }
}

crate::wire_struct! {
    /// `PathSecret` (RFC 9420 §12.4.3.1): the path secret of the lowest
    /// node the committer's and the joiner's direct paths share.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct PathSecret {
        /// The secret.
        pub path_secret: Secret,
    }
}

crate::wire_struct! {
    /// `GroupSecrets` (RFC 9420 §12.4.3.1): what a Welcome encrypts to each
    /// joiner's init key.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct GroupSecrets {
        /// The joiner secret of the new epoch (§8).
        pub joiner_secret: Secret,
        /// The path secret, when the Commit had a path.
        pub path_secret: Option<PathSecret>,
        /// The PSKs the epoch secret mixes in, in order.
        pub psks: Vec<PreSharedKeyId>,
    }
}

crate::wire_struct! {
    /// `EncryptedGroupSecrets` (RFC 9420 §12.4.3.1).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct EncryptedGroupSecrets {
        /// The joiner's KeyPackage.
        pub new_member: KeyPackageRef,
        /// `EncryptWithLabel(init_key, "Welcome", encrypted_group_info, group_secrets)`.
        pub encrypted_group_secrets: HpkeCiphertext,
    }
}

crate::wire_struct! {
    /// `Welcome` (RFC 9420 §12.4.3.1).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Welcome {
        /// The group's cipher suite.
        pub cipher_suite: CipherSuite,
        /// One entry per joiner.
        pub secrets: Vec<EncryptedGroupSecrets>,
        /// The GroupInfo, AEAD-encrypted with the welcome key and nonce.
        pub encrypted_group_info: Vec<u8>,
    }
}

impl Welcome {
    /// The entry for a KeyPackage, if the Welcome has one.
    pub fn secrets_for(&self, key_package: &KeyPackageRef) -> Option<&EncryptedGroupSecrets> {
        self.secrets.iter().find(|s| &s.new_member == key_package)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::messages::{ExtensionType, ProtocolVersion, Psk, ResumptionPskUsage};

    #[test]
    fn welcome_structs_round_trip() {
        let gi = GroupInfo {
            group_context: GroupContext {
                version: ProtocolVersion::MLS10,
                cipher_suite: CipherSuite(1),
                group_id: b"g".to_vec(),
                epoch: 7,
                tree_hash: vec![1; 32],
                confirmed_transcript_hash: vec![2; 32],
                extensions: vec![],
            },
            extensions: vec![Extension { extension_type: ExtensionType::EXTERNAL_PUB, extension_data: vec![0] }],
            confirmation_tag: vec![3; 32],
            signer: LeafIndex(4),
            signature: vec![5; 64],
        };
        assert_eq!(GroupInfo::from_bytes(&gi.to_bytes()).unwrap(), gi);
        assert!(gi.to_bytes().starts_with(&gi.tbs_bytes()));

        let gs = GroupSecrets {
            joiner_secret: Secret::new(vec![6; 32]),
            path_secret: Some(PathSecret { path_secret: Secret::new(vec![7; 32]) }),
            psks: vec![PreSharedKeyId {
                psk: Psk::Resumption { usage: ResumptionPskUsage::Branch, psk_group_id: b"h".to_vec(), psk_epoch: 3 },
                psk_nonce: vec![8; 32],
            }],
        };
        assert_eq!(GroupSecrets::from_bytes(&gs.to_bytes()).unwrap(), gs);

        let w = Welcome {
            cipher_suite: CipherSuite(1),
            secrets: vec![EncryptedGroupSecrets {
                new_member: KeyPackageRef(vec![9; 32]),
                encrypted_group_secrets: HpkeCiphertext { kem_output: vec![1; 32], ciphertext: vec![2; 80] },
            }],
            encrypted_group_info: vec![3; 200],
        };
        assert_eq!(Welcome::from_bytes(&w.to_bytes()).unwrap(), w);
        assert!(w.secrets_for(&KeyPackageRef(vec![9; 32])).is_some());
    }
}

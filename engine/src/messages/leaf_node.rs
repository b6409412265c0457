//! `LeafNode` and what it carries (RFC 9420 §7.2).

use std::sync::Arc;

use crate::codec::{Decode, DecodeError, Encode, Reader, write_bytes};
use crate::crypto::{CipherSuite, HpkePublicKey, SignaturePrivateKey, SignaturePublicKey, Suite};
use crate::error::{Error, UsageError};
use crate::tree_math::LeafIndex;

use super::{Credential, CredentialType, Extension, ExtensionType, ProposalType, ProtocolVersion};

/// Signature label of a LeafNode (RFC 9420 §7.2, §17.6).
pub const LEAF_NODE_TBS_LABEL: &str = "LeafNodeTBS";

crate::wire_struct! {
    /// `Capabilities` (RFC 9420 §7.2): what the client supports. Unknown
    /// values (GREASE, §13.5) decode and must be ignored (§13.4).
    #[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
    pub struct Capabilities {
        /// Protocol versions.
        pub versions: Vec<ProtocolVersion>,
        /// Cipher suites.
        pub cipher_suites: Vec<CipherSuite>,
        /// Non-default extension types (the §7.2 defaults must not be listed).
        pub extensions: Vec<ExtensionType>,
        /// Non-default proposal types.
        pub proposals: Vec<ProposalType>,
        /// Credential types (there are no defaults).
        pub credentials: Vec<CredentialType>,
    }
}

impl Capabilities {
    /// Whether an extension type is supported: every registered type is a
    /// default one that need not be listed (§7.2).
    pub fn supports_extension(&self, ty: ExtensionType) -> bool {
        ty.is_registered() || self.extensions.contains(&ty)
    }

    /// Whether a proposal type is supported, defaults included (§7.2).
    pub fn supports_proposal(&self, ty: ProposalType) -> bool {
        ty.is_default() || self.proposals.contains(&ty)
    }

    /// Whether a credential type is listed (§7.2: no defaults).
    pub fn supports_credential(&self, ty: CredentialType) -> bool {
        self.credentials.contains(&ty)
    }

    /// Whether these capabilities meet a group's `required_capabilities`
    /// (§11.1).
    pub fn meets(&self, required: &crate::messages::registered_extensions::RequiredCapabilities) -> bool {
        self.supports_extensions(&required.extension_types)
            && self.supports_proposals(&required.proposal_types)
            && self.supports_credentials(&required.credential_types)
    }

    /// Whether every extension type of `types` is supported.
    pub fn supports_extensions(&self, types: &[ExtensionType]) -> bool {
        supports_all(types, &self.extensions, ExtensionType::is_registered)
    }

    /// Whether every proposal type of `types` is supported.
    pub fn supports_proposals(&self, types: &[ProposalType]) -> bool {
        supports_all(types, &self.proposals, ProposalType::is_default)
    }

    /// Whether every credential type of `types` is listed.
    pub fn supports_credentials(&self, types: &[CredentialType]) -> bool {
        supports_all(types, &self.credentials, |_| false)
    }
}

/// Whether each of `needed` is a default or listed. Both lengths are a
/// peer's choice (bounded by `Limits`): past a few hundred comparisons the
/// listed types go into a set, so the check is linear, not a product.
fn supports_all<T: Copy + Eq + std::hash::Hash>(needed: &[T], listed: &[T], default: fn(T) -> bool) -> bool {
    if needed.len().saturating_mul(listed.len()) <= 256 {
        needed.iter().all(|&t| default(t) || listed.contains(&t))
    } else {
        let listed: std::collections::HashSet<T> = listed.iter().copied().collect();
        needed.iter().all(|&t| default(t) || listed.contains(&t))
    }
}

crate::wire_struct! {
    /// `Lifetime` (RFC 9420 §7.2): seconds since the Unix epoch, inclusive.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Lifetime {
        /// First second of validity.
        pub not_before: u64,
        /// Last second of validity.
        pub not_after: u64,
    }
}

impl Lifetime {
    /// Whether `now` (seconds since the Unix epoch) lies within the lifetime.
    pub fn contains(&self, now: u64) -> bool {
        self.not_before <= now && now <= self.not_after
    }

    /// The clock lifetimes are generated and checked against: seconds since
    /// the Unix epoch (0 if the system clock is before it).
    pub fn now() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    }
}

/// `LeafNodeSource` with the field each source adds (RFC 9420 §7.2).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LeafNodeSource {
    /// `key_package(1)`: published in a KeyPackage, bounded by a lifetime.
    KeyPackage(Lifetime),
    /// `update(2)`: sent in an Update proposal.
    Update,
    /// `commit(3)`: sent in a Commit's UpdatePath, bound to the tree by the
    /// parent hash of §7.9.
    Commit {
        /// The parent hash of the leaf's parent on its filtered direct path.
        parent_hash: Vec<u8>,
    },
}

impl LeafNodeSource {
    /// The `LeafNodeSource` selector value.
    pub fn code(&self) -> u8 {
        match self {
            Self::KeyPackage(_) => 1,
            Self::Update => 2,
            Self::Commit { .. } => 3,
        }
    }

    /// Whether the LeafNodeTBS binds the group (§7.2: update and commit).
    pub fn binds_group(&self) -> bool {
        !matches!(self, Self::KeyPackage(_))
    }
}

impl Encode for LeafNodeSource {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.code());
        match self {
            Self::KeyPackage(lifetime) => lifetime.encode(out),
            Self::Update => {}
            Self::Commit { parent_hash } => parent_hash.encode(out),
        }
    }
}

impl Decode for LeafNodeSource {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode(r)? {
            1 => Ok(Self::KeyPackage(Lifetime::decode(r)?)),
            2 => Ok(Self::Update),
            3 => Ok(Self::Commit { parent_hash: Vec::decode(r)? }),
            v => Err(DecodeError::InvalidValue { field: "LeafNodeSource", value: u64::from(v) }),
        }
    }
}

/// `LeafNode` (RFC 9420 §7.2): a member as it appears at a leaf, signed by
/// that member.
///
/// The two public keys and the signature are read and set through methods:
/// they share one allocation (see [`LeafKeys`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafNode {
    /// `encryption_key`, `signature_key` and `signature`.
    keys: LeafKeys,
    /// Who the member is.
    pub credential: Credential,
    /// What the member supports (shared: a tree keeps one copy per
    /// distinct value).
    pub capabilities: Arc<Capabilities>,
    /// How the leaf node came to be, with its source-specific field.
    pub leaf_node_source: LeafNodeSource,
    /// Leaf node extensions (boxed: see [`Credential`]).
    pub extensions: Box<[Extension]>,
}

/// A leaf node's HPKE key, signature key and signature in one boxed slice:
/// `enc_len (u16) || sig_len (u16) || encryption_key || signature_key ||
/// signature`. Three boxes would cost 28 bytes more per member of a tree,
/// 0.28 MB of a 10,000-member state (issue 16).
#[derive(Clone, PartialEq, Eq)]
struct LeafKeys(Box<[u8]>);

/// The 4-byte header of [`LeafKeys`].
const KEYS_HEADER: usize = 4;

impl LeafKeys {
    /// Packs the three fields. A key must fit the u16 length: no suite's
    /// key comes near (the largest, P-521's, is 133 bytes).
    fn new(encryption_key: &[u8], signature_key: &[u8], signature: &[u8]) -> Option<Self> {
        let enc = u16::try_from(encryption_key.len()).ok()?;
        let sig = u16::try_from(signature_key.len()).ok()?;
        let mut bytes = Vec::with_capacity(KEYS_HEADER + encryption_key.len() + signature_key.len() + signature.len());
        bytes.extend_from_slice(&enc.to_be_bytes());
        bytes.extend_from_slice(&sig.to_be_bytes());
        bytes.extend_from_slice(encryption_key);
        bytes.extend_from_slice(signature_key);
        bytes.extend_from_slice(signature);
        Some(Self(bytes.into_boxed_slice()))
    }

    /// Where the signature key starts and ends.
    fn bounds(&self) -> (usize, usize) {
        let enc = usize::from(u16::from_be_bytes([self.0[0], self.0[1]]));
        let sig = usize::from(u16::from_be_bytes([self.0[2], self.0[3]]));
        (KEYS_HEADER + enc, KEYS_HEADER + enc + sig)
    }

    fn encryption_key(&self) -> &[u8] {
        &self.0[KEYS_HEADER..self.bounds().0]
    }

    fn signature_key(&self) -> &[u8] {
        let (start, end) = self.bounds();
        &self.0[start..end]
    }

    fn signature(&self) -> &[u8] {
        &self.0[self.bounds().1..]
    }
}

impl std::fmt::Debug for LeafKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeafKeys")
            .field("encryption_key", &HpkePublicKey::from(self.encryption_key()))
            .field("signature_key", &SignaturePublicKey::from(self.signature_key()))
            .field("signature_len", &self.signature().len())
            .finish()
    }
}

/// A key too long for [`LeafKeys`].
const KEY_TOO_LONG: UsageError = UsageError::InvalidArgument("a leaf node's public key is longer than 65,535 bytes");

impl LeafNode {
    /// A leaf node without a signature yet ([`LeafNode::sign`] makes it).
    pub fn new(
        encryption_key: &[u8],
        signature_key: &[u8],
        credential: Credential,
        capabilities: Arc<Capabilities>,
        leaf_node_source: LeafNodeSource,
        extensions: Vec<Extension>,
    ) -> Result<Self, Error> {
        let keys = LeafKeys::new(encryption_key, signature_key, &[]).ok_or(KEY_TOO_LONG)?;
        Ok(Self { keys, credential, capabilities, leaf_node_source, extensions: extensions.into() })
    }

    /// The HPKE key whose private half only this member holds.
    pub fn encryption_key(&self) -> &[u8] {
        self.keys.encryption_key()
    }

    /// The member's signature key.
    pub fn signature_key(&self) -> &[u8] {
        self.keys.signature_key()
    }

    /// `SignWithLabel(., "LeafNodeTBS", LeafNodeTBS)`.
    pub fn signature(&self) -> &[u8] {
        self.keys.signature()
    }

    /// Replaces the encryption key (the signature then needs remaking).
    pub fn set_encryption_key(&mut self, key: &[u8]) -> Result<(), Error> {
        self.keys = LeafKeys::new(key, self.signature_key(), self.signature()).ok_or(KEY_TOO_LONG)?;
        Ok(())
    }

    /// Replaces the signature key (the signature then needs remaking).
    pub fn set_signature_key(&mut self, key: &[u8]) -> Result<(), Error> {
        self.keys = LeafKeys::new(self.encryption_key(), key, self.signature()).ok_or(KEY_TOO_LONG)?;
        Ok(())
    }

    /// Replaces the signature.
    pub fn set_signature(&mut self, signature: &[u8]) {
        let (_, end) = self.keys.bounds();
        let mut bytes = Vec::with_capacity(end + signature.len());
        bytes.extend_from_slice(&self.keys.0[..end]);
        bytes.extend_from_slice(signature);
        self.keys = LeafKeys(bytes.into_boxed_slice());
    }

    /// Writes every field above `signature`: the common prefix of LeafNode
    /// and LeafNodeTBS.
    fn encode_content(&self, out: &mut Vec<u8>) {
        write_bytes(out, self.encryption_key());
        write_bytes(out, self.signature_key());
        self.credential.encode(out);
        self.capabilities.encode(out);
        self.leaf_node_source.encode(out);
        self.extensions.encode(out);
    }

    /// The encoded `LeafNodeTBS` (RFC 9420 §7.2), the bytes the signature
    /// covers.
    ///
    /// `group` is the group id and the leaf's index. LeafNodeTBS contains
    /// them only for the update and commit sources; for a key_package
    /// source they are ignored (a KeyPackage is signed before it knows its
    /// group, and keeps that signature once its leaf is in a tree), so a
    /// caller holding a tree may always pass them. An update or commit
    /// leaf node without them is a usage error.
    pub fn tbs_bytes(&self, group: Option<(&[u8], LeafIndex)>) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.encode_content(&mut out);
        if self.leaf_node_source.binds_group() {
            let (group_id, leaf_index) = group.ok_or(UsageError::MissingLeafNodeGroup)?;
            write_bytes(&mut out, group_id);
            leaf_index.encode(&mut out);
        }
        Ok(out)
    }

    /// Signs the leaf node with the private key matching `signature_key`,
    /// replacing `signature`.
    pub fn sign(
        &mut self,
        suite: &Suite<'_>,
        key: &SignaturePrivateKey,
        group: Option<(&[u8], LeafIndex)>,
    ) -> Result<(), Error> {
        let tbs = self.tbs_bytes(group)?;
        let signature = suite.sign_with_label(key, LEAF_NODE_TBS_LABEL, &tbs)?;
        self.set_signature(&signature);
        Ok(())
    }

    /// Verifies `signature` against the leaf node's own `signature_key`
    /// (RFC 9420 §7.3).
    pub fn verify_signature(&self, suite: &Suite<'_>, group: Option<(&[u8], LeafIndex)>) -> Result<(), Error> {
        let tbs = self.tbs_bytes(group)?;
        suite.verify_with_label(self.signature_key(), LEAF_NODE_TBS_LABEL, &tbs, self.signature())?;
        Ok(())
    }
}

impl Encode for LeafNode {
    fn encode(&self, out: &mut Vec<u8>) {
        self.encode_content(out);
        write_bytes(out, self.signature());
    }
}

impl Decode for LeafNode {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let encryption_key = r.read_bytes()?;
        let signature_key = r.read_bytes()?;
        let credential = Decode::decode(r)?;
        let capabilities = Arc::new(Decode::decode(r)?);
        let leaf_node_source = Decode::decode(r)?;
        let extensions = Decode::decode(r)?;
        let signature = r.read_bytes()?;
        let too_long = |len: usize| DecodeError::InvalidValue {
            field: "LeafNode public key length",
            value: u64::try_from(len).unwrap_or(u64::MAX),
        };
        let long = encryption_key.len().max(signature_key.len());
        let keys = LeafKeys::new(encryption_key, signature_key, signature).ok_or_else(|| too_long(long))?;
        Ok(Self { keys, credential, capabilities, leaf_node_source, extensions })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;

    /// A leaf node with every field populated, for the tests of the
    /// structs that carry one.
    pub(crate) fn sample_leaf_node(source: LeafNodeSource) -> LeafNode {
        let mut leaf = LeafNode::new(
            &[1; 32],
            &[2; 32],
            Credential::basic(b"alice".to_vec()),
            Arc::new(Capabilities {
                versions: vec![ProtocolVersion::MLS10],
                cipher_suites: vec![CipherSuite(1), CipherSuite(0x0a0a)],
                extensions: vec![ExtensionType(0x1a1a)],
                proposals: vec![ProposalType(0x2a2a)],
                credentials: vec![CredentialType::BASIC],
            }),
            source,
            vec![Extension { extension_type: ExtensionType(0xf000), extension_data: vec![7] }],
        )
        .unwrap();
        leaf.set_signature(&[3; 64]);
        leaf
    }

    #[test]
    fn every_source_round_trips() {
        for source in [
            LeafNodeSource::KeyPackage(Lifetime { not_before: 1, not_after: u64::MAX }),
            LeafNodeSource::Update,
            LeafNodeSource::Commit { parent_hash: vec![4; 32] },
        ] {
            let leaf = sample_leaf_node(source);
            let bytes = leaf.to_bytes();
            assert_eq!(LeafNode::from_bytes(&bytes).unwrap(), leaf);
        }
    }

    #[test]
    fn unknown_source_is_an_error() {
        let mut bytes = sample_leaf_node(LeafNodeSource::Update).to_bytes();
        // The source octet follows the keys, credential and capabilities.
        let leaf = sample_leaf_node(LeafNodeSource::Update);
        let mut prefix = Vec::new();
        write_bytes(&mut prefix, leaf.encryption_key());
        write_bytes(&mut prefix, leaf.signature_key());
        leaf.credential.encode(&mut prefix);
        leaf.capabilities.encode(&mut prefix);
        assert_eq!(bytes[prefix.len()], 2);
        bytes[prefix.len()] = 9;
        assert_eq!(LeafNode::from_bytes(&bytes), Err(DecodeError::InvalidValue { field: "LeafNodeSource", value: 9 }));
    }

    #[test]
    fn tbs_binds_group_only_for_update_and_commit() {
        let kp = sample_leaf_node(LeafNodeSource::KeyPackage(Lifetime { not_before: 0, not_after: 1 }));
        let plain = kp.tbs_bytes(None).unwrap();
        assert_eq!(kp.tbs_bytes(Some((b"g", LeafIndex(3)))).unwrap(), plain);
        assert_eq!(plain.len() + 66, kp.to_bytes().len()); // signature<V>: 2-byte length, 64 bytes

        let up = sample_leaf_node(LeafNodeSource::Update);
        assert_eq!(up.tbs_bytes(None), Err(UsageError::MissingLeafNodeGroup.into()));
        let tbs = up.tbs_bytes(Some((b"g", LeafIndex(3)))).unwrap();
        assert!(tbs.ends_with(&[1, b'g', 0, 0, 0, 3]));
    }

    #[test]
    fn keys_and_signature_are_set_apart() {
        let mut leaf = sample_leaf_node(LeafNodeSource::Update);
        leaf.set_encryption_key(&[9; 65]).unwrap();
        assert_eq!(
            (leaf.encryption_key(), leaf.signature_key(), leaf.signature()),
            (&[9; 65][..], &[2; 32][..], &[3; 64][..])
        );
        leaf.set_signature_key(&[]).unwrap();
        leaf.set_signature(&[4; 3]);
        assert_eq!(
            (leaf.encryption_key(), leaf.signature_key(), leaf.signature()),
            (&[9; 65][..], &[][..], &[4; 3][..])
        );
        let bytes = leaf.to_bytes();
        assert_eq!(LeafNode::from_bytes(&bytes).unwrap(), leaf);
        assert!(leaf.set_encryption_key(&vec![0; 65_536]).is_err());
        assert_eq!(leaf.encryption_key(), &[9; 65][..]);
    }

    #[test]
    fn a_key_over_the_length_field_is_a_decode_error() {
        let leaf = sample_leaf_node(LeafNodeSource::Update);
        let mut bytes = Vec::new();
        write_bytes(&mut bytes, &vec![1; 65_536]);
        bytes.extend_from_slice(&leaf.to_bytes()[33..]);
        assert_eq!(
            LeafNode::from_bytes(&bytes),
            Err(DecodeError::InvalidValue { field: "LeafNode public key length", value: 65_536 })
        );
    }

    #[test]
    fn sign_then_verify() {
        let suite = Suite::new(crate::crypto::default_provider(), CipherSuite(1)).unwrap();
        let keys = suite.generate_signature_key_pair().unwrap();
        let mut leaf = sample_leaf_node(LeafNodeSource::Commit { parent_hash: vec![5; 32] });
        leaf.set_signature_key(keys.public.as_bytes()).unwrap();
        let group = Some((&b"group"[..], LeafIndex(7)));
        leaf.sign(&suite, &keys.private, group).unwrap();
        leaf.verify_signature(&suite, group).unwrap();
        assert!(leaf.verify_signature(&suite, Some((b"group", LeafIndex(6)))).is_err());
    }
}

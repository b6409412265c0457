//! KeyPackages (RFC 9420 §10): generating one with its private keys, and
//! validating one received from a peer (§10.1).

use crate::codec::Encode;
use crate::crypto::{CipherSuite, CryptoProvider, HpkePrivateKey, SignatureKeyPair, Suite};
use crate::error::Error;
use crate::messages::registered_extensions::ExtensionData;
use crate::messages::{
    AppDataDictionary, Capabilities, ComponentData, Credential, Extension, ExtensionType, KeyPackage, KeyPackageRef,
    LAST_RESORT_KEY_PACKAGE, LeafNode, LeafNodeSource, Lifetime, ProposalType, ProtocolVersion,
};

/// A member's long-term signing identity: its credential and key pair.
#[derive(Clone, Debug)]
pub struct Identity {
    /// Who the member is (§5.3).
    pub credential: Credential,
    /// The key pair its credential binds.
    pub signer: SignatureKeyPair,
}

impl Identity {
    /// A basic-credential identity with a fresh signature key pair.
    pub fn basic(provider: &dyn CryptoProvider, suite: CipherSuite, name: impl Into<Vec<u8>>) -> Result<Self, Error> {
        let suite = Suite::new(provider, suite)?;
        Ok(Self { credential: Credential::basic(name), signer: suite.generate_signature_key_pair()? })
    }
}

/// Default capabilities: MLS 1.0, the one suite, basic credentials, and
/// SelfRemove (draft-ietf-mls-extensions), which throng implements.
pub fn default_capabilities(suite: CipherSuite) -> Capabilities {
    Capabilities {
        versions: vec![ProtocolVersion::MLS10],
        cipher_suites: vec![suite],
        extensions: Vec::new(),
        proposals: vec![ProposalType::SELF_REMOVE],
        credentials: vec![crate::messages::CredentialType::BASIC],
    }
}

/// A KeyPackage with the private keys needed to join through it (§10):
/// the init key (decrypts the Welcome's GroupSecrets) and the leaf's
/// encryption key. Both zeroize on drop.
#[derive(Clone, Debug)]
pub struct KeyPackageBundle {
    /// The public KeyPackage to publish.
    pub key_package: KeyPackage,
    pub(crate) init_private: HpkePrivateKey,
    pub(crate) encryption_private: HpkePrivateKey,
    pub(crate) identity: Identity,
}

/// Lifetime of generated KeyPackages: 90 days, starting one hour in the
/// past to absorb clock skew (§7.2 asks applications to bound it).
const LIFETIME_SECS: u64 = 90 * 24 * 3600;

impl KeyPackageBundle {
    /// Generates a KeyPackage for `identity` in `suite`, with fresh init and
    /// encryption keys, default capabilities and a 90-day lifetime.
    pub fn generate(provider: &dyn CryptoProvider, suite: CipherSuite, identity: &Identity) -> Result<Self, Error> {
        Self::generate_with(provider, suite, identity, default_capabilities(suite), Vec::new(), Vec::new())
    }

    /// Generates a last-resort KeyPackage (draft-ietf-mls-extensions,
    /// "Last-Resort KeyPackages"): as [`generate`](Self::generate), marked
    /// by the `last_resort_key_package` component of an
    /// `app_data_dictionary` KeyPackage extension, whose type the leaf's
    /// capabilities list. A delivery service hands it out when the
    /// client's other KeyPackages are used up
    /// ([`KeyPackage::is_last_resort`]), possibly more than once: the
    /// bundle joins any number of groups (RFC 9420 §16.8).
    pub fn generate_last_resort(
        provider: &dyn CryptoProvider,
        suite: CipherSuite,
        identity: &Identity,
    ) -> Result<Self, Error> {
        let mut capabilities = default_capabilities(suite);
        capabilities.extensions.push(ExtensionType::APP_DATA_DICTIONARY);
        let mark = AppDataDictionary {
            component_data: vec![ComponentData { component_id: LAST_RESORT_KEY_PACKAGE, data: Vec::new() }],
        };
        Self::generate_with(provider, suite, identity, capabilities, Vec::new(), vec![mark.to_extension()])
    }

    /// Generates a KeyPackage with the given capabilities and leaf node and
    /// KeyPackage extensions.
    pub fn generate_with(
        provider: &dyn CryptoProvider,
        cipher_suite: CipherSuite,
        identity: &Identity,
        capabilities: Capabilities,
        leaf_extensions: Vec<Extension>,
        extensions: Vec<Extension>,
    ) -> Result<Self, Error> {
        let suite = Suite::new(provider, cipher_suite)?;
        let init = suite.generate_hpke_key_pair()?;
        let encryption = suite.generate_hpke_key_pair()?;
        let start = Lifetime::now().saturating_sub(3600);
        let mut leaf_node = LeafNode::new(
            encryption.public.as_bytes(),
            identity.signer.public.as_bytes(),
            identity.credential.clone(),
            std::sync::Arc::new(capabilities),
            LeafNodeSource::KeyPackage(Lifetime { not_before: start, not_after: start + LIFETIME_SECS }),
            leaf_extensions,
        )?;
        leaf_node.sign(&suite, &identity.signer.private, None)?;
        let mut key_package = KeyPackage {
            version: ProtocolVersion::MLS10,
            cipher_suite,
            init_key: init.public.clone(),
            leaf_node,
            extensions,
            signature: Vec::new(),
        };
        key_package.sign(&suite, &identity.signer.private)?;
        Ok(Self {
            key_package,
            init_private: init.private.clone(),
            encryption_private: encryption.private.clone(),
            identity: identity.clone(),
        })
    }

    /// A bundle from existing keys (e.g. restored from storage or given by
    /// a test vector); checks that each private key matches its public key
    /// by a signature and an HPKE round trip.
    pub fn from_keys(
        provider: &dyn CryptoProvider,
        key_package: KeyPackage,
        init_private: HpkePrivateKey,
        encryption_private: HpkePrivateKey,
        signature_private: crate::crypto::SignaturePrivateKey,
    ) -> Result<Self, Error> {
        let suite = Suite::new(provider, key_package.cipher_suite)?;
        let leaf = &key_package.leaf_node;
        let probe = suite.sign_with_label(&signature_private, "probe", b"probe")?;
        suite.verify_with_label(leaf.signature_key(), "probe", b"probe", &probe)?;
        for (public, private) in
            [(key_package.init_key.as_bytes(), &init_private), (leaf.encryption_key(), &encryption_private)]
        {
            let ct = suite.encrypt_with_label(public, "probe", b"", b"probe")?;
            suite.decrypt_with_label(private, "probe", b"", &ct)?;
        }
        let identity = Identity {
            credential: leaf.credential.clone(),
            signer: SignatureKeyPair { private: signature_private, public: leaf.signature_key().into() },
        };
        Ok(Self { key_package, init_private, encryption_private, identity })
    }

    /// A bundle that can only open Welcomes: the init key is real, the
    /// leaf and signature keys are placeholders. For inspecting a Welcome
    /// (`open_welcome`), never for joining.
    pub fn for_welcome_only(key_package: KeyPackage, init_private: HpkePrivateKey) -> Self {
        let identity = Identity {
            credential: key_package.leaf_node.credential.clone(),
            signer: SignatureKeyPair {
                private: crate::crypto::SignaturePrivateKey(crate::crypto::Secret::zero(0)),
                public: key_package.leaf_node.signature_key().into(),
            },
        };
        Self { key_package, init_private, encryption_private: HpkePrivateKey(crate::crypto::Secret::zero(0)), identity }
    }

    /// The reference a Welcome uses to address this KeyPackage (§5.2).
    pub fn reference(&self, provider: &dyn CryptoProvider) -> Result<KeyPackageRef, Error> {
        let suite = Suite::new(provider, self.key_package.cipher_suite)?;
        Ok(self.key_package.make_ref(&suite))
    }

    /// The identity the KeyPackage was made for.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Encoded size of the KeyPackage.
    pub fn encoded_len(&self) -> usize {
        self.key_package.to_bytes().len()
    }
}

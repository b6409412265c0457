//! mls-rs with its aws-lc crypto provider and in-memory storage.

use mls_rs::client_builder::{BaseConfig, IntoConfigOutput, WithCryptoProvider, WithIdentityProvider, WithMlsRules};
use mls_rs::group::{CommitEffect, ExportedTree, ReceivedMessage};
use mls_rs::identity::SigningIdentity;
use mls_rs::identity::basic::{BasicCredential, BasicIdentityProvider};
use mls_rs::mls_rules::{CommitOptions, DefaultMlsRules, EncryptionOptions};
use mls_rs::psk::{ExternalPskId, PreSharedKey};
use mls_rs::{CipherSuite, CipherSuiteProvider, CryptoProvider, ExtensionList, MlsMessage};
use mls_rs_crypto_awslc::AwsLcCryptoProvider;

use crate::peer::{
    APPLICATION_AAD, Change, Client, Committed, EXTERNAL_PSK, EXTERNAL_PSK_ID, Failure, Handshake, Member, Outcome,
    Propose, Received, Setup, application,
};

type Config = IntoConfigOutput<
    WithMlsRules<
        DefaultMlsRules,
        WithCryptoProvider<AwsLcCryptoProvider, WithIdentityProvider<BasicIdentityProvider, BaseConfig>>,
    >,
>;

fn decode(bytes: &[u8]) -> Outcome<MlsMessage> {
    Ok(MlsMessage::from_bytes(bytes)?)
}

fn tree(bytes: Option<&[u8]>) -> Outcome<Option<ExportedTree<'static>>> {
    Ok(bytes.map(ExportedTree::from_bytes).transpose()?)
}

pub struct MlsRsClient {
    tree_in_group_info: bool,
    client: mls_rs::Client<Config>,
    key_package: Vec<u8>,
}

impl MlsRsClient {
    pub fn new(setup: Setup, name: &str) -> Outcome<Self> {
        let crypto = AwsLcCryptoProvider::default();
        let suite = CipherSuite::from(setup.suite);
        let provider = crypto.cipher_suite_provider(suite).ok_or_else(|| Failure::new("unsupported cipher suite"))?;
        let (secret, public) = provider.signature_key_generate()?;
        let identity = SigningIdentity::new(BasicCredential::new(name.as_bytes().to_vec()).into_credential(), public);
        // mls-rs's defaults: a path only where RFC 9420 §12.4 requires
        // one (so its Adds go without), the tree in the Welcome, one
        // Welcome for all new members.
        let tree_in_group_info = setup.tree_in_group_info();
        let commit_options =
            CommitOptions::new().with_ratchet_tree_extension(tree_in_group_info).with_single_welcome_message(true);
        // `EncryptionOptions` is non-exhaustive and its padding type
        // private: set the one field on the default.
        let mut encryption_options = EncryptionOptions::default();
        encryption_options.encrypt_control_messages = setup.handshake == Handshake::Private;
        let rules =
            DefaultMlsRules::new().with_commit_options(commit_options).with_encryption_options(encryption_options);
        let client = mls_rs::Client::builder()
            .identity_provider(BasicIdentityProvider)
            .crypto_provider(crypto)
            .mls_rules(rules)
            .signing_identity(identity, secret, suite)
            .build();
        client
            .secret_store()
            .insert(ExternalPskId::new(EXTERNAL_PSK_ID.to_vec()), PreSharedKey::new(EXTERNAL_PSK.to_vec()));
        let key_package = client
            .generate_key_package_message(ExtensionList::default(), ExtensionList::default(), None)?
            .to_bytes()?;
        Ok(Self { tree_in_group_info, client, key_package })
    }

    fn member(self, group: mls_rs::Group<Config>) -> Box<dyn Member> {
        Box::new(MlsRsMember { tree_in_group_info: self.tree_in_group_info, client: self.client, group })
    }
}

impl Client for MlsRsClient {
    fn key_package(&self) -> Vec<u8> {
        self.key_package.clone()
    }

    fn create(self: Box<Self>) -> Outcome<Box<dyn Member>> {
        let group = self.client.create_group(ExtensionList::default(), ExtensionList::default(), None)?;
        Ok(self.member(group))
    }

    fn join(self: Box<Self>, welcome: &[u8], tree_bytes: Option<&[u8]>) -> Outcome<Box<dyn Member>> {
        let (group, _) = self.client.join_group(tree(tree_bytes)?, &decode(welcome)?, None)?;
        Ok(self.member(group))
    }

    fn join_external(
        self: Box<Self>,
        group_info: &[u8],
        tree_bytes: Option<&[u8]>,
    ) -> Outcome<(Box<dyn Member>, Vec<u8>)> {
        let (group, commit) = external_commit(&self.client, group_info, tree_bytes, None)?;
        Ok((self.member(group), commit))
    }
}

/// An external commit from `group_info` (and the tree, if out of band),
/// removing the member at `remove` in the same commit.
fn external_commit(
    client: &mls_rs::Client<Config>,
    group_info: &[u8],
    tree_bytes: Option<&[u8]>,
    remove: Option<u32>,
) -> Outcome<(mls_rs::Group<Config>, Vec<u8>)> {
    let mut builder = client.external_commit_builder()?;
    if let Some(leaf) = remove {
        builder = builder.with_removal(leaf);
    }
    if let Some(tree) = tree(tree_bytes)? {
        builder = builder.with_tree_data(tree);
    }
    let (group, commit) = builder.build(decode(group_info)?)?;
    Ok((group, commit.to_bytes()?))
}

struct MlsRsMember {
    tree_in_group_info: bool,
    /// Kept to rejoin with the same identity.
    client: mls_rs::Client<Config>,
    group: mls_rs::Group<Config>,
}

impl Member for MlsRsMember {
    fn leaf(&self) -> u32 {
        self.group.current_member_index()
    }

    fn epoch(&self) -> u64 {
        self.group.current_epoch()
    }

    fn commit(&mut self, change: Change<'_>) -> Outcome<Committed> {
        // Proposals by value; pending ones go by reference. A commit without
        // any (Update, Pending) carries a path (RFC 9420 §12.4).
        let mut builder = self.group.commit_builder();
        if change.injects_psk() {
            builder = builder.add_external_psk(ExternalPskId::new(EXTERNAL_PSK_ID.to_vec()))?;
        }
        for leaf in change.removed() {
            builder = builder.remove_member(*leaf)?;
        }
        for key_package in change.added() {
            builder = builder.add_member(decode(key_package)?)?;
        }
        let output = builder.build()?;
        self.group.apply_pending_commit()?;
        let welcome = match output.welcome_messages.as_slice() {
            [] => None,
            [welcome] => Some(welcome.to_bytes()?),
            _ => return Err(Failure::new("one Welcome for all new members was configured")),
        };
        Ok(Committed { commit: output.commit_message.to_bytes()?, welcome })
    }

    fn propose(&mut self, proposal: Propose<'_>) -> Outcome<Vec<u8>> {
        let message = match proposal {
            Propose::Update => self.group.propose_update(Vec::new())?,
            Propose::Add(kp) => self.group.propose_add(decode(kp)?, Vec::new())?,
            Propose::Remove(leaf) => self.group.propose_remove(leaf, Vec::new())?,
            // mls-rs 0.57's SelfRemove (feature `self_remove_proposal`) has
            // the private-use code 0xF003 (mls-rs-core
            // `ProposalType::SELF_REMOVE`), not the draft's 0x000a.
            Propose::SelfRemove => return Err(Failure::new("mls-rs 0.57 has no SelfRemove of type 0x000a")),
        };
        Ok(message.to_bytes()?)
    }

    fn send(&mut self, data: &[u8]) -> Outcome<Vec<u8>> {
        Ok(self.group.encrypt_application_message(data, APPLICATION_AAD.to_vec())?.to_bytes()?)
    }

    fn process(&mut self, message: &[u8]) -> Outcome<Received> {
        match self.group.process_incoming_message(decode(message)?)? {
            ReceivedMessage::ApplicationMessage(m) => application(m.data().to_vec(), &m.authenticated_data),
            ReceivedMessage::Proposal(_) => Ok(Received::Proposal),
            ReceivedMessage::Commit(c) => match c.effect {
                CommitEffect::Removed { .. } => Ok(Received::Removed),
                _ => Ok(Received::Commit),
            },
            other => Err(Failure::new(format!("unexpected {other:?}"))),
        }
    }

    fn group_info(&mut self) -> Outcome<Vec<u8>> {
        Ok(self.group.group_info_message_allowing_ext_commit(self.tree_in_group_info)?.to_bytes()?)
    }

    fn ratchet_tree(&self) -> Outcome<Vec<u8>> {
        Ok(self.group.export_tree().to_bytes()?)
    }

    fn rejoin(&mut self, group_info: &[u8], tree_bytes: Option<&[u8]>) -> Option<Outcome<Vec<u8>>> {
        let joined = external_commit(&self.client, group_info, tree_bytes, Some(self.leaf()));
        Some(joined.map(|(group, commit)| {
            self.group = group;
            commit
        }))
    }

    fn epoch_authenticator(&self) -> Outcome<Vec<u8>> {
        Ok(self.group.epoch_authenticator()?.to_vec())
    }

    fn export(&self, label: &str, context: &[u8], length: u16) -> Outcome<Vec<u8>> {
        Ok(self.group.export_secret(label.as_bytes(), context, length.into())?.as_bytes().to_vec())
    }
}

//! mls-rs with its aws-lc crypto provider and in-memory storage.
//!
//! mls-rs keeps a member's state in the `Group` object; its storage is written
//! only when the application asks (`write_to_storage`), which the comparison
//! never does, so `state_bytes` counts the `Group` alone. The delivery
//! service's view is an `ExternalGroup` (`mls_rs::external_client`).

use mls_rs::client_builder::{BaseConfig, IntoConfigOutput, WithCryptoProvider, WithIdentityProvider, WithMlsRules};
use mls_rs::external_client::builder::{
    ExternalBaseConfig, IntoConfigOutput as IntoExternalConfig, WithCryptoProvider as WithExternalCrypto,
    WithIdentityProvider as WithExternalIdentity,
};
use mls_rs::external_client::{ExternalClient, ExternalGroup, ExternalReceivedMessage};
use mls_rs::group::ExportedTree;
use mls_rs::group::ReceivedMessage;
use mls_rs::identity::SigningIdentity;
use mls_rs::identity::basic::{BasicCredential, BasicIdentityProvider};
use mls_rs::mls_rules::{CommitOptions, DefaultMlsRules};
use mls_rs::{CipherSuite, CipherSuiteProvider, CryptoProvider, ExtensionList, MlsMessage};
use mls_rs_crypto_awslc::AwsLcCryptoProvider;

use crate::peer::{Peer, PeerResult};

/// RFC 9420 §17.1, cipher suite 1.
const SUITE: CipherSuite = CipherSuite::CURVE25519_AES128;

type Config = IntoConfigOutput<
    WithMlsRules<
        DefaultMlsRules,
        WithCryptoProvider<AwsLcCryptoProvider, WithIdentityProvider<BasicIdentityProvider, BaseConfig>>,
    >,
>;

/// A client before it joins; its in-memory key package store holds the
/// private keys of the key package it published.
pub type Client = mls_rs::Client<Config>;

/// A member: the mls-rs group object.
pub type Member = mls_rs::Group<Config>;

type ExternalConfig = IntoExternalConfig<
    WithExternalCrypto<AwsLcCryptoProvider, WithExternalIdentity<BasicIdentityProvider, ExternalBaseConfig>>,
>;

/// A delivery service's view of a group.
pub type Server = ExternalGroup<ExternalConfig>;

/// The mls-rs adapter.
#[derive(Default)]
pub struct MlsRs {
    crypto: AwsLcCryptoProvider,
    /// Clients made now put the ratchet tree in their Welcomes.
    tree_in_welcome: bool,
}

fn message(bytes: &[u8]) -> PeerResult<MlsMessage> {
    Ok(MlsMessage::from_bytes(bytes)?)
}

impl Peer for MlsRs {
    type Client = Client;
    type Member = Member;
    type Server = Server;

    fn name(&self) -> &'static str {
        "mls-rs"
    }

    fn client(&mut self, identity: u32) -> PeerResult<(Client, Vec<u8>)> {
        let suite = self.crypto.cipher_suite_provider(SUITE).ok_or("cipher suite 1 unsupported")?;
        let (secret, public) = suite.signature_key_generate()?;
        let credential = BasicCredential::new(format!("member {identity}").into_bytes());
        let signing_identity = SigningIdentity::new(credential.into_credential(), public);
        let rules = DefaultMlsRules::new().with_commit_options(
            CommitOptions::new().with_path_required(true).with_ratchet_tree_extension(self.tree_in_welcome),
        );
        let client = mls_rs::Client::builder()
            .identity_provider(BasicIdentityProvider)
            .crypto_provider(self.crypto.clone())
            .mls_rules(rules)
            .signing_identity(signing_identity, secret, SUITE)
            .build();
        let key_package = client
            .generate_key_package_message(ExtensionList::default(), ExtensionList::default(), None)?
            .to_bytes()?;
        Ok((client, key_package))
    }

    fn build(&mut self, creator: Client, key_packages: &[Vec<u8>]) -> PeerResult<(Member, Vec<u8>)> {
        let mut group = creator.create_group(ExtensionList::default(), ExtensionList::default(), None)?;
        let mut commit = group.commit_builder();
        for kp in key_packages {
            commit = commit.add_member(message(kp)?)?;
        }
        let output = commit.build()?;
        group.apply_pending_commit()?;
        let [welcome] = output.welcome_messages.as_slice() else {
            return Err("expected exactly one Welcome".into());
        };
        Ok((group, welcome.to_bytes()?))
    }

    fn tree_in_welcome(&mut self) {
        // mls-rs takes this from the creating client's rules.
        self.tree_in_welcome = true;
    }

    fn ratchet_tree(&mut self, member: &Member) -> PeerResult<Vec<u8>> {
        Ok(member.export_tree().to_bytes()?)
    }

    fn join(&mut self, client: Client, welcome: &[u8], ratchet_tree: &[u8]) -> PeerResult<Member> {
        let tree = ExportedTree::from_bytes(ratchet_tree)?;
        let (group, _info) = client.join_group(Some(tree), &message(welcome)?, None)?;
        Ok(group)
    }

    fn commit_update(&mut self, member: &mut Member) -> PeerResult<Vec<u8>> {
        // `path_required` makes the empty commit carry an UpdatePath.
        let output = member.commit(Vec::new())?;
        member.apply_pending_commit()?;
        Ok(output.commit_message.to_bytes()?)
    }

    fn commit_add(&mut self, member: &mut Member, key_package: &[u8]) -> PeerResult<Vec<u8>> {
        let output = member.commit_builder().add_member(message(key_package)?)?.build()?;
        member.apply_pending_commit()?;
        // The adder sends the Welcome too: encoding it is part of the operation.
        for welcome in &output.welcome_messages {
            let _welcome = welcome.to_bytes()?;
        }
        Ok(output.commit_message.to_bytes()?)
    }

    fn commit_remove(&mut self, member: &mut Member, leaf: u32) -> PeerResult<Vec<u8>> {
        let output = member.commit_builder().remove_member(leaf)?.build()?;
        member.apply_pending_commit()?;
        Ok(output.commit_message.to_bytes()?)
    }

    fn process(&mut self, member: &mut Member, commit: &[u8]) -> PeerResult<()> {
        match member.process_incoming_message(message(commit)?)? {
            ReceivedMessage::Commit(_) => Ok(()),
            _ => Err("not a commit".into()),
        }
    }

    fn observe(&mut self, member: &Member) -> PeerResult<Server> {
        let client: ExternalClient<ExternalConfig> = ExternalClient::builder()
            .identity_provider(BasicIdentityProvider)
            .crypto_provider(self.crypto.clone())
            .build();
        let group_info = member.group_info_message(false)?;
        Ok(client.observe_group(group_info, Some(member.export_tree()), None)?)
    }

    fn build_commit(&mut self, creator: Client, key_packages: &[Vec<u8>]) -> PeerResult<(Server, Vec<u8>)> {
        let mut group = creator.create_group(ExtensionList::default(), ExtensionList::default(), None)?;
        let server = self.observe(&group)?;
        let mut commit = group.commit_builder();
        for kp in key_packages {
            commit = commit.add_member(message(kp)?)?;
        }
        let output = commit.build()?;
        Ok((server, output.commit_message.to_bytes()?))
    }

    fn server_process(&mut self, server: &mut Server, commit: &[u8]) -> PeerResult<()> {
        // An ExternalGroup applies a valid commit as it processes it.
        match server.process_incoming_message(message(commit)?)? {
            ExternalReceivedMessage::Commit(_) => Ok(()),
            _ => Err("not a commit".into()),
        }
    }

    fn fork_server(&mut self, server: &Server) -> PeerResult<Server> {
        // Owned state, as `Group`'s.
        Ok(server.clone())
    }

    fn fork(&mut self, member: &Member) -> PeerResult<Member> {
        // `Group` is `Clone` and owns its state; shared parts (configuration,
        // stores) are never written by the comparison.
        Ok(member.clone())
    }

    fn leaf_index(&self, member: &Member) -> u32 {
        member.current_member_index()
    }

    fn epoch_authenticator(&self, member: &Member) -> PeerResult<Vec<u8>> {
        Ok(member.epoch_authenticator()?.to_vec())
    }
}

//! OpenMLS with its RustCrypto provider and in-memory storage.

use openmls::prelude::tls_codec::{Deserialize as _, Serialize as _};
use openmls::prelude::*;
use openmls::schedule::{ExternalPsk, PreSharedKeyId, Psk};
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;

use crate::peer::{
    APPLICATION_AAD, Change, Client, Committed, EXTERNAL_PSK, EXTERNAL_PSK_ID, Failure, Handshake, Member, Outcome,
    Propose, Received, Setup, application,
};

/// Handshakes out as configured, either format in: external commits
/// are always PublicMessages (application data is always a
/// PrivateMessage in OpenMLS).
fn wire_format_policy(handshake: Handshake) -> WireFormatPolicy {
    match handshake {
        Handshake::Public => MIXED_PLAINTEXT_WIRE_FORMAT_POLICY,
        Handshake::Private => MIXED_CIPHERTEXT_WIRE_FORMAT_POLICY,
    }
}

/// Padding of PrivateMessages: with encrypted handshakes, everyone pads.
fn padding_size(handshake: Handshake) -> usize {
    match handshake {
        Handshake::Public => 0,
        Handshake::Private => 32,
    }
}

/// OpenMLS's default capabilities and SelfRemove (draft-ietf-mls-extensions).
fn capabilities() -> Capabilities {
    Capabilities::new(None, None, None, Some(&[ProposalType::SelfRemove]), None)
}

fn join_config(setup: Setup) -> MlsGroupJoinConfig {
    MlsGroupJoinConfig::builder()
        .wire_format_policy(wire_format_policy(setup.handshake))
        .padding_size(padding_size(setup.handshake))
        .use_ratchet_tree_extension(setup.tree_in_group_info())
        .build()
}

fn tree(bytes: Option<&[u8]>) -> Outcome<Option<RatchetTreeIn>> {
    Ok(bytes.map(RatchetTreeIn::tls_deserialize_exact).transpose()?)
}

fn decode(bytes: &[u8]) -> Outcome<MlsMessageBodyIn> {
    Ok(MlsMessageIn::tls_deserialize_exact(bytes)?.extract())
}

/// A provider (crypto and storage) that holds the external PSK.
fn provider() -> Outcome<OpenMlsRustCrypto> {
    let provider = OpenMlsRustCrypto::default();
    PreSharedKeyId::external(EXTERNAL_PSK_ID.to_vec(), Vec::new()).store(&provider, &EXTERNAL_PSK)?;
    Ok(provider)
}

fn bytes(message: MlsMessageOut) -> Outcome<Vec<u8>> {
    Ok(message.to_bytes()?)
}

fn key_packages(provider: &OpenMlsRustCrypto, bytes: &[Vec<u8>]) -> Outcome<Vec<KeyPackage>> {
    bytes.iter().map(|kp| key_package(provider, kp)).collect()
}

fn key_package(provider: &OpenMlsRustCrypto, bytes: &[u8]) -> Outcome<KeyPackage> {
    match decode(bytes)? {
        MlsMessageBodyIn::KeyPackage(kp) => Ok(kp.validate(provider.crypto(), ProtocolVersion::Mls10)?),
        _ => Err(Failure::new("not a KeyPackage")),
    }
}

pub struct OpenMlsClient {
    suite: Ciphersuite,
    setup: Setup,
    provider: OpenMlsRustCrypto,
    signer: SignatureKeyPair,
    credential: CredentialWithKey,
    key_package: Vec<u8>,
}

impl OpenMlsClient {
    pub fn new(setup: Setup, name: &str) -> Outcome<Self> {
        let suite = Ciphersuite::try_from(setup.suite)?;
        let provider = provider()?;
        let signer = SignatureKeyPair::new(suite.signature_algorithm())?;
        let credential = CredentialWithKey {
            credential: BasicCredential::new(name.as_bytes().to_vec()).into(),
            signature_key: signer.to_public_vec().into(),
        };
        // The bundle's private keys go to the provider's storage. Every
        // client supports SelfRemove (OpenMLS lists no proposal type by
        // default).
        let bundle = KeyPackage::builder().leaf_node_capabilities(capabilities()).build(
            suite,
            &provider,
            &signer,
            credential.clone(),
        )?;
        let key_package = bytes(MlsMessageOut::from(bundle.key_package().clone()))?;
        Ok(Self { suite, setup, provider, signer, credential, key_package })
    }

    fn member(self, group: MlsGroup) -> Box<dyn Member> {
        let Self { setup, provider, signer, credential, .. } = self;
        Box::new(OpenMlsMember { setup, provider, signer, credential, group })
    }
}

impl Client for OpenMlsClient {
    fn key_package(&self) -> Vec<u8> {
        self.key_package.clone()
    }

    fn create(self: Box<Self>) -> Outcome<Box<dyn Member>> {
        let config = MlsGroupCreateConfig::builder()
            .ciphersuite(self.suite)
            .wire_format_policy(wire_format_policy(self.setup.handshake))
            .padding_size(padding_size(self.setup.handshake))
            .use_ratchet_tree_extension(self.setup.tree_in_group_info())
            .capabilities(capabilities())
            .build();
        let group = MlsGroup::new(&self.provider, &self.signer, &config, self.credential.clone())?;
        Ok(self.member(group))
    }

    fn join(self: Box<Self>, welcome: &[u8], tree_bytes: Option<&[u8]>) -> Outcome<Box<dyn Member>> {
        let MlsMessageBodyIn::Welcome(welcome) = decode(welcome)? else { return Err(Failure::new("not a Welcome")) };
        let group =
            StagedWelcome::new_from_welcome(&self.provider, &join_config(self.setup), welcome, tree(tree_bytes)?)?
                .into_group(&self.provider)?;
        Ok(self.member(group))
    }

    fn join_external(
        self: Box<Self>,
        group_info: &[u8],
        tree_bytes: Option<&[u8]>,
    ) -> Outcome<(Box<dyn Member>, Vec<u8>)> {
        let (group, commit) =
            external_commit(self.setup, &self.provider, &self.signer, self.credential.clone(), group_info, tree_bytes)?;
        Ok((self.member(group), commit))
    }
}

/// An external commit from a GroupInfo (and the tree, if out of band); if a
/// member has the same signature key, OpenMLS removes it in the commit.
fn external_commit(
    setup: Setup,
    provider: &OpenMlsRustCrypto,
    signer: &SignatureKeyPair,
    credential: CredentialWithKey,
    group_info: &[u8],
    tree_bytes: Option<&[u8]>,
) -> Outcome<(MlsGroup, Vec<u8>)> {
    let MlsMessageBodyIn::GroupInfo(info) = decode(group_info)? else { return Err(Failure::new("not a GroupInfo")) };
    let mut builder = MlsGroup::external_commit_builder().with_config(join_config(setup));
    if let Some(tree) = tree(tree_bytes)? {
        builder = builder.with_ratchet_tree(tree);
    }
    let (group, bundle) = builder
        .build_group(provider, info, credential)?
        .load_psks(provider.storage())?
        .build(provider.rand(), provider.crypto(), signer, |_| true)?
        .finalize(provider)?;
    Ok((group, bytes(bundle.into_commit())?))
}

struct OpenMlsMember {
    setup: Setup,
    provider: OpenMlsRustCrypto,
    signer: SignatureKeyPair,
    credential: CredentialWithKey,
    group: MlsGroup,
}

impl Member for OpenMlsMember {
    fn leaf(&self) -> u32 {
        self.group.own_leaf_index().u32()
    }

    fn epoch(&self) -> u64 {
        self.group.epoch().as_u64()
    }

    fn commit(&mut self, change: Change<'_>) -> Outcome<Committed> {
        let (p, s) = (&self.provider, &self.signer);
        let (commit, welcome) = match change {
            Change::Update => (self.group.self_update(p, s, LeafNodeParameters::default())?.into_commit(), None),
            Change::Pending => {
                let (commit, welcome, _) = self.group.commit_to_pending_proposals(p, s)?;
                (commit, welcome)
            }
            Change::Add(kps) => {
                let (commit, welcome, _) = self.group.add_members(p, s, &key_packages(p, kps)?)?;
                (commit, Some(welcome))
            }
            Change::AddWithoutPath(kps) => {
                let (commit, welcome, _) = self.group.add_members_without_update(p, s, &key_packages(p, kps)?)?;
                (commit, Some(welcome))
            }
            Change::Remove(leaves) => {
                let leaves: Vec<LeafNodeIndex> = leaves.iter().map(|l| LeafNodeIndex::new(*l)).collect();
                let (commit, welcome, _) = self.group.remove_members(p, s, &leaves)?;
                (commit, welcome)
            }
            // A PSK proposal has no shortcut, and `swap_members` wants as
            // many adds as removes: the commit builder takes any mix.
            Change::Psk(_) | Change::Replace(..) => {
                let mut psks = Vec::new();
                if change.injects_psk() {
                    let psk = Psk::External(ExternalPsk::new(EXTERNAL_PSK_ID.to_vec()));
                    let psk = PreSharedKeyId::new(self.group.ciphersuite(), p.rand(), psk)?;
                    psks.push(Proposal::PreSharedKey(Box::new(PreSharedKeyProposal::new(psk))));
                }
                let (commit, welcome, _) = self
                    .group
                    .commit_builder()
                    .add_proposals(psks)
                    .propose_removals(change.removed().iter().map(|l| LeafNodeIndex::new(*l)))
                    .propose_adds(key_packages(p, change.added())?)
                    .load_psks(p.storage())?
                    .build(p.rand(), p.crypto(), s, |_| true)?
                    .stage_commit(p)?
                    .into_messages();
                (commit, welcome)
            }
        };
        self.group.merge_pending_commit(p)?;
        Ok(Committed { commit: bytes(commit)?, welcome: welcome.map(bytes).transpose()? })
    }

    fn propose(&mut self, proposal: Propose<'_>) -> Outcome<Vec<u8>> {
        let (p, s) = (&self.provider, &self.signer);
        let (message, _) = match proposal {
            Propose::Update => self.group.propose_self_update(p, s, LeafNodeParameters::default())?,
            Propose::Add(kp) => self.group.propose_add_member(p, s, &key_package(p, kp)?)?,
            Propose::Remove(leaf) => self.group.propose_remove_member(p, s, LeafNodeIndex::new(leaf))?,
            Propose::SelfRemove => return bytes(self.group.leave_group_via_self_remove(p, s)?),
        };
        bytes(message)
    }

    fn send(&mut self, data: &[u8]) -> Outcome<Vec<u8>> {
        self.group.set_aad(APPLICATION_AAD.to_vec());
        bytes(self.group.create_message(&self.provider, &self.signer, data)?)
    }

    fn process(&mut self, message: &[u8]) -> Outcome<Received> {
        let message = MlsMessageIn::tls_deserialize_exact(message)?.try_into_protocol_message()?;
        let processed = self.group.process_message(&self.provider, message)?;
        let aad = processed.aad().to_vec();
        match processed.into_content() {
            ProcessedMessageContent::ApplicationMessage(m) => application(m.into_bytes(), &aad),
            ProcessedMessageContent::ProposalMessage(p) => {
                self.group.store_pending_proposal(self.provider.storage(), *p)?;
                Ok(Received::Proposal)
            }
            ProcessedMessageContent::StagedCommitMessage(staged) => {
                let removed = staged.self_removed();
                self.group.merge_staged_commit(&self.provider, *staged)?;
                Ok(if removed { Received::Removed } else { Received::Commit })
            }
            other => Err(Failure::new(format!("unexpected {other:?}"))),
        }
    }

    fn group_info(&mut self) -> Outcome<Vec<u8>> {
        let with_tree = self.setup.tree_in_group_info();
        bytes(self.group.export_group_info(self.provider.crypto(), &self.signer, with_tree)?)
    }

    fn ratchet_tree(&self) -> Outcome<Vec<u8>> {
        Ok(self.group.export_ratchet_tree().tls_serialize_detached()?)
    }

    fn rejoin(&mut self, group_info: &[u8], tree_bytes: Option<&[u8]>) -> Option<Outcome<Vec<u8>>> {
        // The old state is gone: a fresh provider (storage) for the new one.
        let joined = provider().and_then(|provider| {
            let credential = self.credential.clone();
            let (group, commit) =
                external_commit(self.setup, &provider, &self.signer, credential, group_info, tree_bytes)?;
            (self.provider, self.group) = (provider, group);
            Ok(commit)
        });
        Some(joined)
    }

    fn epoch_authenticator(&self) -> Outcome<Vec<u8>> {
        Ok(self.group.epoch_authenticator().as_slice().to_vec())
    }

    fn export(&self, label: &str, context: &[u8], length: u16) -> Outcome<Vec<u8>> {
        Ok(self.group.export_secret(self.provider.crypto(), label, context, length.into())?)
    }
}

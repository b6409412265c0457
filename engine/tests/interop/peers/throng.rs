//! throng, this repository's engine, with its aws-lc-rs provider.

use std::num::NonZeroU16;
use std::sync::Arc;

use throng::crypto::{AwsLcProvider, CipherSuite, CryptoProvider, Secret};
use throng::internals::codec::{Decode, Encode};
use throng::internals::framing::PaddingPolicy;
use throng::internals::group::{CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle, Processed, PskStore};
use throng::internals::tree_math::LeafIndex;
use throng::messages::content::{MlsMessage, MlsMessageBody, WireFormat};
use throng::messages::{Add, PreSharedKey, PreSharedKeyId, Proposal, Psk, RatchetTreeExtension, Remove};
use throng::{ExternalJoinOptions, Resync};

use crate::peer::{
    APPLICATION_AAD, Change, Client, Committed, EXTERNAL_PSK, EXTERNAL_PSK_ID, Failure, Handshake, Member, Outcome,
    Propose, Received, Setup,
};

fn provider() -> Arc<dyn CryptoProvider> {
    Arc::new(AwsLcProvider)
}

fn decode(bytes: &[u8]) -> Outcome<MlsMessageBody> {
    Ok(MlsMessage::from_bytes(bytes)?.body)
}

fn tree(bytes: Option<&[u8]>) -> Outcome<Option<RatchetTreeExtension>> {
    Ok(bytes.map(RatchetTreeExtension::from_bytes).transpose()?)
}

/// An Add proposal of a KeyPackage (MLSMessage bytes).
fn add(key_package: &[u8]) -> Outcome<Proposal> {
    match decode(key_package)? {
        MlsMessageBody::KeyPackage(key_package) => Ok(Proposal::Add(Add { key_package })),
        _ => Err(Failure::new("not a KeyPackage")),
    }
}

fn remove(leaf: u32) -> Proposal {
    Proposal::Remove(Remove { removed: LeafIndex(leaf) })
}

fn psk_store() -> PskStore {
    let mut store = PskStore::default();
    store.insert(EXTERNAL_PSK_ID.to_vec(), Secret::new(EXTERNAL_PSK.to_vec()));
    store
}

/// PrivateMessages are padded to a multiple of this where handshakes are
/// encrypted.
const PADDING: NonZeroU16 = NonZeroU16::new(64).unwrap();

pub struct ThrongClient {
    group_id: Vec<u8>,
    suite: CipherSuite,
    config: GroupConfig,
    identity: Identity,
    bundle: KeyPackageBundle,
}

impl ThrongClient {
    pub fn new(setup: Setup, name: &str) -> Outcome<Self> {
        let p = provider();
        let suite = CipherSuite(setup.suite);
        let identity = Identity::basic(&*p, suite, name.to_owned())?;
        let bundle = KeyPackageBundle::generate(&*p, suite, &identity)?;
        let (handshake_wire_format, padding) = match setup.handshake {
            Handshake::Public => (WireFormat::PUBLIC_MESSAGE, PaddingPolicy::None),
            // With encrypted handshakes, throng pads its PrivateMessages too
            // (mls-rs pads by default; OpenMLS is told to).
            Handshake::Private => (WireFormat::PRIVATE_MESSAGE, PaddingPolicy::ToMultipleOf(PADDING)),
        };
        let ratchet_tree_in_welcome = setup.tree_in_group_info();
        let config = GroupConfig { handshake_wire_format, padding, ratchet_tree_in_welcome, ..GroupConfig::default() };
        let group_id = format!("group of {name}").into_bytes();
        Ok(Self { group_id, suite, config, identity, bundle })
    }
}

impl Client for ThrongClient {
    fn key_package(&self) -> Vec<u8> {
        MlsMessage::new(MlsMessageBody::KeyPackage(self.bundle.key_package.clone())).to_bytes()
    }

    fn create(self: Box<Self>) -> Outcome<Box<dyn Member>> {
        let tree_in_group_info = self.config.ratchet_tree_in_welcome;
        let group = Group::create(self.suite, &self.identity, self.group_id, vec![], self.config.clone())?;
        Ok(ThrongMember::boxed(tree_in_group_info, group, self.identity, self.config))
    }

    fn join(self: Box<Self>, welcome: &[u8], tree_bytes: Option<&[u8]>) -> Outcome<Box<dyn Member>> {
        let MlsMessageBody::Welcome(welcome) = decode(welcome)? else { return Err(Failure::new("not a Welcome")) };
        let tree = tree(tree_bytes)?;
        let tree_in_group_info = self.config.ratchet_tree_in_welcome;
        let group = Group::join(provider(), self.config.clone(), &welcome, &self.bundle, tree.as_ref(), psk_store())?;
        Ok(ThrongMember::boxed(tree_in_group_info, group, self.identity, self.config))
    }

    fn join_external(
        self: Box<Self>,
        group_info: &[u8],
        tree_bytes: Option<&[u8]>,
    ) -> Outcome<(Box<dyn Member>, Vec<u8>)> {
        let MlsMessageBody::GroupInfo(info) = decode(group_info)? else { return Err(Failure::new("not a GroupInfo")) };
        let tree = tree(tree_bytes)?;
        let tree_in_group_info = self.config.ratchet_tree_in_welcome;
        let (group, commit) =
            Group::join_by_external_commit(provider(), self.config.clone(), &self.identity, &info, tree.as_ref())?;
        Ok((ThrongMember::boxed(tree_in_group_info, group, self.identity, self.config), commit.to_bytes()))
    }
}

struct ThrongMember {
    tree_in_group_info: bool,
    group: Group,
    /// Kept to rejoin as the same client.
    identity: Identity,
    config: GroupConfig,
}

impl ThrongMember {
    fn boxed(tree_in_group_info: bool, mut group: Group, identity: Identity, config: GroupConfig) -> Box<dyn Member> {
        *group.psk_store_mut() = psk_store();
        Box::new(Self { tree_in_group_info, group, identity, config })
    }
}

impl Member for ThrongMember {
    fn leaf(&self) -> u32 {
        self.group.own_leaf().0
    }

    fn epoch(&self) -> u64 {
        self.group.epoch()
    }

    fn commit(&mut self, change: Change<'_>) -> Outcome<Committed> {
        // Proposals by value, in the order RFC 9420 §12.3 applies them;
        // pending ones go by reference (`include_pending`, the default).
        let mut proposals = Vec::new();
        if change.injects_psk() {
            // A fresh Nh-byte nonce (RFC 9420 §8.4); the exporter gives one
            // without another source of randomness.
            let psk_nonce = self.group.export_secret("psk nonce", b"", 32)?.as_bytes().to_vec();
            let psk = PreSharedKeyId { psk: Psk::External { psk_id: EXTERNAL_PSK_ID.to_vec() }, psk_nonce };
            proposals.push(Proposal::PreSharedKey(PreSharedKey { psk }));
        }
        proposals.extend(change.removed().iter().copied().map(remove));
        for key_package in change.added() {
            proposals.push(add(key_package)?);
        }
        let force_path = !matches!(change, Change::AddWithoutPath(_));
        let pending = self.group.commit(CommitOptions { force_path, ..CommitOptions::with_proposals(proposals) })?;
        let commit = pending.message.to_bytes();
        let welcome = pending.welcome.as_ref().map(Encode::to_bytes);
        self.group.merge_pending_commit(pending)?;
        Ok(Committed { commit, welcome })
    }

    fn propose(&mut self, proposal: Propose<'_>) -> Outcome<Vec<u8>> {
        let (message, _) = match proposal {
            Propose::Update => self.group.propose_update()?,
            Propose::Add(key_package) => self.group.propose(add(key_package)?)?,
            Propose::Remove(leaf) => self.group.propose(remove(leaf))?,
            Propose::SelfRemove => self.group.propose_self_remove()?,
        };
        Ok(message.to_bytes())
    }

    fn send(&mut self, data: &[u8]) -> Outcome<Vec<u8>> {
        Ok(self.group.encrypt_application(data, APPLICATION_AAD.to_vec())?.to_bytes())
    }

    fn process(&mut self, message: &[u8]) -> Outcome<Received> {
        // throng does not hand out the authenticated_data of application
        // messages; decryption checks it as part of the AEAD's input.
        match self.group.process_message(MlsMessage::from_bytes(message)?)? {
            Processed::Application { data, .. } => Ok(Received::Application(data)),
            Processed::Proposal { .. } => Ok(Received::Proposal),
            Processed::Commit(staged) => {
                let removed = staged.removes_self();
                self.group.merge_staged_commit(*staged)?;
                Ok(if removed { Received::Removed } else { Received::Commit })
            }
        }
    }

    fn group_info(&mut self) -> Outcome<Vec<u8>> {
        let info = self.group.group_info(self.tree_in_group_info, true)?;
        Ok(MlsMessage::new(MlsMessageBody::GroupInfo(info)).to_bytes())
    }

    fn ratchet_tree(&self) -> Outcome<Vec<u8>> {
        Ok(self.group.tree().export().to_bytes())
    }

    fn rejoin(&mut self, group_info: &[u8], tree_bytes: Option<&[u8]>) -> Option<Outcome<Vec<u8>>> {
        // The old state is dropped; the old leaf is found by identity
        // (RFC 9420 §12.4.3.2 resync).
        let rejoined = (|| {
            let MlsMessageBody::GroupInfo(info) = decode(group_info)? else {
                return Err(Failure::new("not a GroupInfo"));
            };
            let tree = tree(tree_bytes)?;
            let options = ExternalJoinOptions { resync: Some(Resync::SameIdentity), ..ExternalJoinOptions::default() };
            let config = self.config.clone();
            let (mut group, commit) =
                Group::join_by_external_commit_with(provider(), config, &self.identity, &info, tree.as_ref(), options)?;
            *group.psk_store_mut() = psk_store();
            self.group = group;
            Ok(commit.to_bytes())
        })();
        Some(rejoined)
    }

    fn epoch_authenticator(&self) -> Outcome<Vec<u8>> {
        Ok(self.group.epoch_authenticator().to_vec())
    }

    fn export(&self, label: &str, context: &[u8], length: u16) -> Outcome<Vec<u8>> {
        Ok(self.group.export_secret(label, context, length)?.as_bytes().to_vec())
    }
}

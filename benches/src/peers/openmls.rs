//! OpenMLS with its RustCrypto provider and in-memory storage.
//!
//! OpenMLS keeps a member's state twice: the `MlsGroup` object and the
//! provider's storage, which every operation writes through to. Both are part
//! of the member here, so `state_bytes` counts both, as a deployment pays both.
//! The delivery service's view is a `PublicGroup` with storage of its own.

use std::sync::Arc;

use openmls::prelude::tls_codec::{Deserialize as _, Serialize as _};
use openmls::prelude::*;
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;

use crate::peer::{Peer, PeerResult};

/// RFC 9420 §17.1, cipher suite 1.
const SUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

/// The OpenMLS adapter.
pub struct OpenMls {
    config: MlsGroupCreateConfig,
}

impl Default for OpenMls {
    fn default() -> Self {
        Self { config: create_config(false) }
    }
}

fn create_config(tree_in_welcome: bool) -> MlsGroupCreateConfig {
    MlsGroupCreateConfig::builder()
        .ciphersuite(SUITE)
        .wire_format_policy(PURE_PLAINTEXT_WIRE_FORMAT_POLICY)
        .use_ratchet_tree_extension(tree_in_welcome)
        .build()
}

/// A client before it joins: its provider holds the key package's private keys.
pub struct Client {
    provider: OpenMlsRustCrypto,
    signer: Arc<SignatureKeyPair>,
    credential: CredentialWithKey,
}

/// A member: the group object, its storage (inside the provider) and signer.
pub struct Member {
    provider: OpenMlsRustCrypto,
    signer: Arc<SignatureKeyPair>,
    group: MlsGroup,
}

/// A delivery service's view of a group: the public group and its storage,
/// which `merge_commit` writes through to.
pub struct Server {
    provider: OpenMlsRustCrypto,
    group: PublicGroup,
}

/// An independent copy of `source`'s storage.
fn copy_storage(source: &OpenMlsRustCrypto) -> PeerResult<OpenMlsRustCrypto> {
    let provider = OpenMlsRustCrypto::default();
    {
        let source = source.storage().values.read().map_err(|_| "storage lock poisoned")?;
        let mut target = provider.storage().values.write().map_err(|_| "storage lock poisoned")?;
        target.extend(source.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    Ok(provider)
}

fn decode(bytes: &[u8]) -> PeerResult<MlsMessageBodyIn> {
    Ok(MlsMessageIn::tls_deserialize_exact(bytes)?.extract())
}

fn key_package(bytes: &[u8], provider: &OpenMlsRustCrypto) -> PeerResult<KeyPackage> {
    match decode(bytes)? {
        MlsMessageBodyIn::KeyPackage(kp) => Ok(kp.validate(provider.crypto(), ProtocolVersion::Mls10)?),
        _ => Err("not a key package".into()),
    }
}

impl Peer for OpenMls {
    type Client = Client;
    type Member = Member;
    type Server = Server;

    fn name(&self) -> &'static str {
        "openmls"
    }

    fn client(&mut self, identity: u32) -> PeerResult<(Client, Vec<u8>)> {
        let provider = OpenMlsRustCrypto::default();
        let signer = SignatureKeyPair::new(SUITE.signature_algorithm())?;
        let credential = CredentialWithKey {
            credential: BasicCredential::new(format!("member {identity}").into_bytes()).into(),
            signature_key: signer.to_public_vec().into(),
        };
        let bundle = KeyPackage::builder().build(SUITE, &provider, &signer, credential.clone())?;
        let key_package = MlsMessageOut::from(bundle.key_package().clone()).to_bytes()?;
        let client = Client { provider, signer: Arc::new(signer), credential };
        Ok((client, key_package))
    }

    fn build(&mut self, creator: Client, key_packages: &[Vec<u8>]) -> PeerResult<(Member, Vec<u8>)> {
        let Client { provider, signer, credential } = creator;
        let mut group = MlsGroup::new(&provider, signer.as_ref(), &self.config, credential)?;
        let key_packages = key_packages.iter().map(|kp| key_package(kp, &provider)).collect::<PeerResult<Vec<_>>>()?;
        // `add_members` always includes a path (`add_members_without_update` would not).
        let (_commit, welcome, _group_info) = group.add_members(&provider, signer.as_ref(), &key_packages)?;
        group.merge_pending_commit(&provider)?;
        let welcome = welcome.to_bytes()?;
        Ok((Member { provider, signer, group }, welcome))
    }

    fn tree_in_welcome(&mut self) {
        self.config = create_config(true);
    }

    fn ratchet_tree(&mut self, member: &Member) -> PeerResult<Vec<u8>> {
        Ok(member.group.export_ratchet_tree().tls_serialize_detached()?)
    }

    fn join(&mut self, client: Client, welcome: &[u8], ratchet_tree: &[u8]) -> PeerResult<Member> {
        let MlsMessageBodyIn::Welcome(welcome) = decode(welcome)? else {
            return Err("not a Welcome".into());
        };
        let ratchet_tree = RatchetTreeIn::tls_deserialize_exact(ratchet_tree)?;
        let Client { provider, signer, .. } = client;
        let group = StagedWelcome::new_from_welcome(&provider, self.config.join_config(), welcome, Some(ratchet_tree))?
            .into_group(&provider)?;
        Ok(Member { provider, signer, group })
    }

    fn commit_update(&mut self, member: &mut Member) -> PeerResult<Vec<u8>> {
        let Member { provider, signer, group } = member;
        let bundle = group.self_update(provider, signer.as_ref(), LeafNodeParameters::default())?;
        group.merge_pending_commit(provider)?;
        Ok(bundle.into_commit().to_bytes()?)
    }

    fn commit_add(&mut self, member: &mut Member, key_package_bytes: &[u8]) -> PeerResult<Vec<u8>> {
        let Member { provider, signer, group } = member;
        let kp = key_package(key_package_bytes, provider)?;
        let (commit, welcome, _group_info) = group.add_members(provider, signer.as_ref(), &[kp])?;
        group.merge_pending_commit(provider)?;
        // The adder sends the Welcome too: encoding it is part of the operation.
        let _welcome = welcome.to_bytes()?;
        Ok(commit.to_bytes()?)
    }

    fn commit_remove(&mut self, member: &mut Member, leaf: u32) -> PeerResult<Vec<u8>> {
        let Member { provider, signer, group } = member;
        let (commit, _welcome, _group_info) =
            group.remove_members(provider, signer.as_ref(), &[LeafNodeIndex::new(leaf)])?;
        group.merge_pending_commit(provider)?;
        Ok(commit.to_bytes()?)
    }

    fn process(&mut self, member: &mut Member, commit: &[u8]) -> PeerResult<()> {
        let Member { provider, group, .. } = member;
        let message = MlsMessageIn::tls_deserialize_exact(commit)?.try_into_protocol_message()?;
        let processed = group.process_message(provider, message)?;
        let ProcessedMessageContent::StagedCommitMessage(staged) = processed.into_content() else {
            return Err("not a commit".into());
        };
        group.merge_staged_commit(provider, *staged)?;
        Ok(())
    }

    fn observe(&mut self, member: &Member) -> PeerResult<Server> {
        let Member { provider, signer, group } = member;
        // Through the wire format, as a delivery service receives them.
        let group_info = group.export_group_info(provider.crypto(), signer.as_ref(), false)?.to_bytes()?;
        let MlsMessageBodyIn::GroupInfo(group_info) = decode(&group_info)? else {
            return Err("not a GroupInfo".into());
        };
        let tree = RatchetTreeIn::tls_deserialize_exact(group.export_ratchet_tree().tls_serialize_detached()?)?;
        let server_provider = OpenMlsRustCrypto::default();
        let (group, _info) = PublicGroup::from_external(
            server_provider.crypto(),
            server_provider.storage(),
            tree,
            group_info,
            ProposalStore::new(),
        )?;
        Ok(Server { provider: server_provider, group })
    }

    fn build_commit(&mut self, creator: Client, key_packages: &[Vec<u8>]) -> PeerResult<(Server, Vec<u8>)> {
        let Client { provider, signer, credential } = creator;
        let group = MlsGroup::new(&provider, signer.as_ref(), &self.config, credential)?;
        let mut member = Member { provider, signer, group };
        let server = self.observe(&member)?;
        let Member { provider, signer, group } = &mut member;
        let key_packages = key_packages.iter().map(|kp| key_package(kp, provider)).collect::<PeerResult<Vec<_>>>()?;
        let (commit, _welcome, _group_info) = group.add_members(provider, signer.as_ref(), &key_packages)?;
        Ok((server, commit.to_bytes()?))
    }

    fn server_process(&mut self, server: &mut Server, commit: &[u8]) -> PeerResult<()> {
        let Server { provider, group } = server;
        let message = MlsMessageIn::tls_deserialize_exact(commit)?.try_into_protocol_message()?;
        let processed = group.process_message(provider.crypto(), message)?;
        let ProcessedMessageContent::StagedCommitMessage(staged) = processed.into_content() else {
            return Err("not a commit".into());
        };
        group.merge_commit(provider.storage(), *staged)?;
        Ok(())
    }

    fn fork_server(&mut self, server: &Server) -> PeerResult<Server> {
        // As `fork`: the public group writes through to its storage.
        let provider = copy_storage(&server.provider)?;
        let group = PublicGroup::load(provider.storage(), server.group.group_id())?
            .ok_or("group missing from the copied storage")?;
        Ok(Server { provider, group })
    }

    fn fork(&mut self, member: &Member) -> PeerResult<Member> {
        // OpenMLS writes every state change through to its storage, so a copy
        // of the storage loaded back is an independent copy of the member.
        let provider = copy_storage(&member.provider)?;
        let group = MlsGroup::load(provider.storage(), member.group.group_id())?
            .ok_or("group missing from the copied storage")?;
        Ok(Member { provider, signer: Arc::clone(&member.signer), group })
    }

    fn leaf_index(&self, member: &Member) -> u32 {
        member.group.own_leaf_index().u32()
    }

    fn epoch_authenticator(&self, member: &Member) -> PeerResult<Vec<u8>> {
        Ok(member.group.epoch_authenticator().as_slice().to_vec())
    }
}

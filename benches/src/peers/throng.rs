//! throng, this repository's engine, with its aws-lc-rs provider.
//!
//! Parallel work (key-package and tree validation, path encryption, Welcome
//! sealing) runs on rayon's global pool, one thread per core. A member's
//! state is the `Group` alone: throng keeps no storage beside it. The
//! delivery service's view is a `PublicGroup` on the same pool.

use std::sync::Arc;

use throng::crypto::{AwsLcProvider, CipherSuite, CryptoProvider};
use throng::internals::codec::{Decode, Encode};
use throng::internals::group::{CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle, Processed, PskStore};
use throng::internals::tree_math::LeafIndex;
use throng::messages::content::{MlsMessage, MlsMessageBody};
use throng::messages::{Add, Proposal, RatchetTreeExtension, Remove};
use throng::partial::{AnnotatedCommit, AnnotatedWelcome, CommitAnnotator, PartialGroup};
use throng::{BasicAllowList, Limits, TreeView};
use throng::{PublicGroup, PublicGroupConfig, PublicProcessed};

use crate::peer::{Peer, PeerResult};

/// RFC 9420 §17.1, cipher suite 1.
const SUITE: CipherSuite = CipherSuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519;

/// A client before it joins: its identity and the private keys of the key
/// package it published. Cloning lets a bench join with the same key
/// package again and again.
#[derive(Clone)]
pub struct Client {
    identity: Identity,
    bundle: KeyPackageBundle,
}

/// The throng adapter.
pub struct Throng {
    provider: Arc<dyn CryptoProvider>,
    config: GroupConfig,
    /// With `Impl::ThrongAllowList`: the validator every group uses; each
    /// client's identity is allowed when the client is made, as a backend
    /// allows a meeting's invitees.
    allow_list: Option<Arc<BasicAllowList>>,
    /// A server after a commit, and the annotator of that commit
    /// (`annotate_commit`).
    annotating: Option<(PublicGroup, CommitAnnotator)>,
    /// The partial member of `join_partial`, kept for `state_bytes_partial`.
    partial: Option<PartialGroup>,
    /// A partial member and its AnnotatedCommit (`process_partial`).
    partial_process: Option<(PartialGroup, AnnotatedCommit)>,
}

impl Default for Throng {
    fn default() -> Self {
        Self {
            provider: Arc::new(AwsLcProvider),
            // The comparison's rules: tree out of band, PublicMessage
            // handshakes (the default), a path in every commit (the default).
            // The build adds n - 1 members in one commit: up to 100,000, over
            // the default cap of 20,000 proposals a commit.
            config: GroupConfig {
                ratchet_tree_in_welcome: false,
                limits: Limits { max_proposals_per_commit: 1 << 17, ..Limits::default() },
                ..GroupConfig::default()
            },
            allow_list: None,
            annotating: None,
            partial: None,
            partial_process: None,
        }
    }
}

fn decode(bytes: &[u8]) -> PeerResult<MlsMessageBody> {
    Ok(MlsMessage::from_bytes(bytes)?.body)
}

fn key_package(bytes: &[u8]) -> PeerResult<Proposal> {
    match decode(bytes)? {
        MlsMessageBody::KeyPackage(key_package) => Ok(Proposal::Add(Add { key_package })),
        _ => Err("not a KeyPackage".into()),
    }
}

impl Throng {
    /// The adapter over another provider (the floor's counting provider).
    pub fn with_provider(provider: Arc<dyn CryptoProvider>) -> Self {
        Self { provider, ..Self::default() }
    }

    /// The adapter with a [`BasicAllowList`] validator for members.
    pub fn with_allow_list() -> Self {
        let list = Arc::new(BasicAllowList::default());
        let mut throng = Self::default();
        throng.config.identity = list.clone();
        throng.allow_list = Some(list);
        throng
    }

    /// Creates, encodes and merges a commit of `proposals`; returns the
    /// encoded commit and Welcome.
    fn commit(&self, member: &mut Group, proposals: Vec<Proposal>) -> PeerResult<(Vec<u8>, Option<Vec<u8>>)> {
        let pending = member.commit(CommitOptions::with_proposals(proposals))?;
        let commit = pending.message.to_bytes();
        let welcome = pending.welcome.as_ref().map(Encode::to_bytes);
        member.merge_pending_commit(pending)?;
        Ok((commit, welcome))
    }
}

impl Throng {
    fn create(&self, creator: &Client) -> PeerResult<Group> {
        Ok(Group::create_with_provider(
            self.provider.clone(),
            SUITE,
            &creator.identity,
            b"compare".to_vec(),
            Vec::new(),
            self.config.clone(),
        )?)
    }
}

impl Peer for Throng {
    type Client = Client;
    type Member = Group;
    type Server = PublicGroup;

    fn name(&self) -> &'static str {
        "throng"
    }

    fn client(&mut self, identity: u32) -> PeerResult<(Client, Vec<u8>)> {
        let name = format!("member {identity}");
        if let Some(list) = &self.allow_list {
            list.allow(name.as_bytes());
        }
        let identity = Identity::basic(&*self.provider, SUITE, name)?;
        let bundle = KeyPackageBundle::generate(&*self.provider, SUITE, &identity)?;
        let key_package = MlsMessage::new(MlsMessageBody::KeyPackage(bundle.key_package.clone())).to_bytes();
        Ok((Client { identity, bundle }, key_package))
    }

    fn build(&mut self, creator: Client, key_packages: &[Vec<u8>]) -> PeerResult<(Group, Vec<u8>)> {
        let mut group = self.create(&creator)?;
        let adds = key_packages.iter().map(|kp| key_package(kp)).collect::<PeerResult<Vec<_>>>()?;
        let (_commit, welcome) = self.commit(&mut group, adds)?;
        Ok((group, welcome.ok_or("an Add commit has a Welcome")?))
    }

    fn tree_in_welcome(&mut self) {
        self.config.ratchet_tree_in_welcome = true;
    }

    fn ratchet_tree(&mut self, member: &Group) -> PeerResult<Vec<u8>> {
        Ok(member.tree().export().to_bytes())
    }

    fn join(&mut self, client: Client, welcome: &[u8], ratchet_tree: &[u8]) -> PeerResult<Group> {
        let MlsMessageBody::Welcome(welcome) = decode(welcome)? else {
            return Err("not a Welcome".into());
        };
        let tree = RatchetTreeExtension::from_bytes(ratchet_tree)?;
        Ok(Group::join(
            self.provider.clone(),
            self.config.clone(),
            &welcome,
            &client.bundle,
            Some(&tree),
            PskStore::default(),
        )?)
    }

    fn commit_update(&mut self, member: &mut Group) -> PeerResult<Vec<u8>> {
        Ok(self.commit(member, Vec::new())?.0)
    }

    fn commit_add(&mut self, member: &mut Group, key_package_bytes: &[u8]) -> PeerResult<Vec<u8>> {
        // The Welcome is encoded inside `commit`, as the adder would send it.
        Ok(self.commit(member, vec![key_package(key_package_bytes)?])?.0)
    }

    fn commit_remove(&mut self, member: &mut Group, leaf: u32) -> PeerResult<Vec<u8>> {
        let remove = Proposal::Remove(Remove { removed: LeafIndex(leaf) });
        Ok(self.commit(member, vec![remove])?.0)
    }

    fn process(&mut self, member: &mut Group, commit: &[u8]) -> PeerResult<()> {
        match member.process_message(MlsMessage::from_bytes(commit)?)? {
            Processed::Commit(staged) => Ok(member.merge_staged_commit(*staged)?),
            _ => Err("not a commit".into()),
        }
    }

    fn observe(&mut self, member: &Group) -> PeerResult<PublicGroup> {
        let group_info = member.group_info(false, false)?;
        let tree = member.tree().export();
        // The same limits as the members': the build commit's n - 1 Adds
        // are over the default cap at 100,000 (server_build).
        let config = PublicGroupConfig { limits: self.config.limits, ..PublicGroupConfig::default() };
        Ok(PublicGroup::from_group_info(self.provider.clone(), config, &group_info, Some(&tree))?)
    }

    fn build_commit(&mut self, creator: Client, key_packages: &[Vec<u8>]) -> PeerResult<(PublicGroup, Vec<u8>)> {
        let mut group = self.create(&creator)?;
        let server = self.observe(&group)?;
        let adds = key_packages.iter().map(|kp| key_package(kp)).collect::<PeerResult<Vec<_>>>()?;
        let (commit, _welcome) = self.commit(&mut group, adds)?;
        Ok((server, commit))
    }

    fn server_process(&mut self, server: &mut PublicGroup, commit: &[u8]) -> PeerResult<()> {
        match server.process_message(MlsMessage::from_bytes(commit)?)? {
            PublicProcessed::Commit(staged) => Ok(server.merge_staged_commit(*staged)?),
            _ => Err("not a commit".into()),
        }
    }

    fn fork_server(&mut self, server: &PublicGroup) -> PeerResult<PublicGroup> {
        // As `fork`: the copy's tree is its own before the clock starts.
        let mut fork = server.clone();
        fork.unshare_tree();
        Ok(fork)
    }

    fn fork(&mut self, member: &Group) -> PeerResult<Group> {
        // `clone` shares the tree (copy on write); a fork that will merge
        // gets its own copy here, untimed, as the other adapters' deep
        // copies are.
        let mut fork = member.clone();
        fork.unshare_tree();
        Ok(fork)
    }

    fn rejoin(&self, client: &Client) -> Option<Client> {
        Some(client.clone())
    }

    fn prepare_annotations(&mut self, member: &Group, commit: &[u8]) -> PeerResult<()> {
        self.annotating = None;
        // The server's own copy of the public state (its tree is not shared
        // with the member's, as a server's is not).
        let mut fork = member.clone();
        fork.unshare_tree();
        let mut server = fork.public().clone();
        drop(fork);
        let message = MlsMessage::from_bytes(commit)?;
        let PublicProcessed::Commit(staged) = server.process_message(message.clone())? else {
            return Err("not a commit".into());
        };
        let annotator = CommitAnnotator::new(&server, &staged, &message)?;
        server.merge_staged_commit(*staged)?;
        self.annotating = Some((server, annotator));
        Ok(())
    }

    fn annotate_commit(&mut self, recipients: &[u32]) -> PeerResult<usize> {
        let (server, annotator) = self.annotating.as_ref().ok_or("no commit prepared for annotation")?;
        let recipients: Vec<LeafIndex> = recipients.iter().map(|&l| LeafIndex(l)).collect();
        // The bytes a server sends.
        let annotated = annotator.annotate_encoded(server, &recipients)?;
        let made = annotated.iter().filter(|a| a.is_ok()).count();
        // Dropped outside the clock would be fairer, but the caller times
        // the whole call; the drop is part of a server's work per message.
        drop(std::hint::black_box(annotated));
        Ok(made)
    }

    fn add_for_partial_join(&mut self, creator: &Group, key_package: &[u8]) -> PeerResult<(Vec<u8>, Vec<u8>)> {
        let mut a = self.fork(creator)?;
        let add = self::key_package(key_package)?;
        let Proposal::Add(Add { key_package: added }) = &add else { return Err("not an Add".into()) };
        let leaf_node = added.leaf_node.clone();
        let (_, welcome) = self.commit(&mut a, vec![add])?;
        let welcome = MlsMessage::from_bytes(&welcome.ok_or("no Welcome")?)?;
        let tree = a.tree();
        let joiner = (0..tree.leaf_count())
            .map(LeafIndex)
            .find(|l| tree.leaf(*l) == Some(&leaf_node))
            .ok_or("the added member is not in the tree")?;
        let mut annotated = a.public().annotate_welcome(&welcome, a.own_leaf(), &[joiner])?;
        let annotated = annotated.pop().ok_or("no AnnotatedWelcome")??;
        Ok((annotated.to_bytes(), a.epoch_authenticator().to_vec()))
    }

    fn join_partial(&mut self, client: Client, annotated_welcome: &[u8]) -> PeerResult<Vec<u8>> {
        self.partial = None;
        let welcome = AnnotatedWelcome::from_bytes(annotated_welcome)?;
        let partial = PartialGroup::join(
            self.provider.clone(),
            self.config.clone(),
            &welcome,
            &client.bundle,
            PskStore::default(),
        )?;
        let authenticator = partial.epoch_authenticator().to_vec();
        self.partial = Some(partial);
        Ok(authenticator)
    }

    fn drop_partial(&mut self) {
        self.partial = None;
    }

    fn prepare_partial_process(&mut self, member: &Group) -> PeerResult<()> {
        self.partial_process = None;
        let (server, annotator) = self.annotating.as_ref().ok_or("no commit prepared for annotation")?;
        let annotated = annotator.annotate(server, &[member.own_leaf()])?.pop().ok_or("no AnnotatedCommit")??;
        let partial = PartialGroup::downgrade(member.clone())?;
        self.partial_process = Some((partial, annotated));
        Ok(())
    }

    fn process_partial(&mut self) -> PeerResult<Vec<u8>> {
        let (partial, annotated) = self.partial_process.as_mut().ok_or("no partial member prepared")?;
        partial.process_commit(annotated)?;
        Ok(partial.epoch_authenticator().to_vec())
    }

    fn leaf_index(&self, member: &Group) -> u32 {
        member.own_leaf().0
    }

    fn epoch_authenticator(&self, member: &Group) -> PeerResult<Vec<u8>> {
        Ok(member.epoch_authenticator().to_vec())
    }
}

//! A member's group state machine (RFC 9420 §11, §12).
//!
//! [`Group`] is one member's view of one epoch. Changing the epoch goes
//! through two distinct state types (docs/STYLE.md 4): a commit this member
//! creates is a [`PendingCommit`] until [`Group::merge_pending_commit`] (the
//! delivery service decides whether it won the epoch); a commit received
//! is a [`StagedCommit`], inspectable, until [`Group::merge_staged_commit`].
//! Both hold the complete next epoch, so merging is a swap, and a rejected
//! message leaves the group exactly as it was.

mod commit;
mod external;
mod key_package;
mod proposals;
mod reinit;
mod retention;
#[cfg(feature = "simulation")]
mod simulation;
#[cfg(test)]
mod tests;
mod welcome;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

pub use commit::{CommitOptions, PendingCommit, StagedCommit};
pub use external::{ExternalJoinOptions, Resync};
pub use key_package::{Identity, KeyPackageBundle, default_capabilities};
use proposals::own_proposal_wire_format;
pub use welcome::{OpenedWelcome, open_welcome};

use crate::codec::Encode as _;
use crate::crypto::{CipherSuite, CryptoProvider, Secret, Suite, default_provider};
use crate::error::{CommitError, Error, InternalError, PskError, UsageError, ValidationError};
use crate::framing::{self, PaddingPolicy};
use crate::identity::{AcceptAnyCredential, IdentityValidator};
use crate::limits::{Limit, Limits};
use crate::messages::RatchetTreeExtension;
use crate::messages::content::{
    AuthenticatedContent, ContentType, FramedContent, FramedContentBody, MlsMessage, MlsMessageBody, Sender, WireFormat,
};
use crate::messages::registered_extensions::{ExtensionData, ExternalPub};
use crate::messages::{
    Credential, Extension, GroupContext, GroupInfo, LeafNode, PreSharedKeyId, Proposal, ProposalRef, ProtocolVersion,
    Psk,
};
pub use crate::public_group::{AppliedProposals, CommittedProposal, EpochRetention, Member, validate_key_package};
use crate::public_group::{CachedProposal, PublicGroup, PublicGroupConfig, signer_key};
use crate::schedule::{EpochSecrets, TranscriptHashes};
use crate::secret_tree::{SecretTree, SecretTreeConfig};
use crate::tree::{RatchetTree, TreeView};
use crate::tree_math::LeafIndex;
use crate::treekem::PrivateTree;

/// How a group behaves; every field has a sensible default.
#[derive(Clone, Debug)]
pub struct GroupConfig {
    /// Padding of PrivateMessages (§6.3).
    pub padding: PaddingPolicy,
    /// The secret tree's out-of-order window (§9.2).
    pub secret_tree: SecretTreeConfig,
    /// Wire format for proposals and commits: PublicMessage by default, so
    /// that a delivery service can validate them (RFC 9750).
    pub handshake_wire_format: WireFormat,
    /// Whether Welcomes carry the ratchet tree in the GroupInfo (§12.4.3.3).
    pub ratchet_tree_in_welcome: bool,
    /// Whether every commit also produces the new epoch's signed GroupInfo
    /// (for a delivery service that serves external joiners). Off by
    /// default: [`Group::group_info`] makes one on demand.
    pub group_info_with_commit: bool,
    /// Whether received key-package leaves must be within their lifetime
    /// (§7.3 recommends it).
    pub check_lifetimes: bool,
    /// Resumption PSKs of this many past epochs are kept (§8.6).
    pub resumption_psk_epochs: usize,
    /// The rayon pool for parallel work; rayon's global pool when `None`.
    pub pool: Option<Arc<rayon::ThreadPool>>,
    /// Past epochs whose application messages still decrypt (frames in
    /// flight across an epoch change); none by default.
    pub retention: EpochRetention,
    /// Bounds on what peers send (sizes, counts, cached proposals).
    pub limits: Limits,
    /// The application's authentication of credentials (§5.3.1), asked at
    /// every point [`crate::identity`] lists (the group's public part and a
    /// server following it ask the same). [`AcceptAnyCredential`] by
    /// default.
    pub identity: Arc<dyn IdentityValidator>,
    /// The application's rules for proposal types it defines (§12.2,
    /// [`crate::custom_proposals`]); the server following the group needs
    /// the same. [`RefuseCustomProposals`](crate::RefuseCustomProposals) by
    /// default.
    pub custom_proposals: Arc<dyn crate::CustomProposalValidator>,
}

impl Default for GroupConfig {
    fn default() -> Self {
        Self {
            padding: PaddingPolicy::None,
            secret_tree: SecretTreeConfig::default(),
            handshake_wire_format: WireFormat::PUBLIC_MESSAGE,
            ratchet_tree_in_welcome: true,
            group_info_with_commit: false,
            check_lifetimes: true,
            resumption_psk_epochs: 8,
            pool: None,
            retention: EpochRetention::default(),
            limits: Limits::default(),
            identity: Arc::new(AcceptAnyCredential),
            custom_proposals: Arc::new(crate::RefuseCustomProposals),
        }
    }
}

impl GroupConfig {
    /// Runs `f` on the configured pool.
    pub(crate) fn on_pool<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }

    /// The validation choices the group's public part runs with.
    pub(crate) fn public(&self) -> PublicGroupConfig {
        PublicGroupConfig {
            check_lifetimes: self.check_lifetimes,
            pool: self.pool.clone(),
            limits: self.limits,
            identity: self.identity.clone(),
            retention: self.retention,
            custom_proposals: self.custom_proposals.clone(),
        }
    }
}

/// Pre-shared keys this member can inject or resolve (§8.4).
#[derive(Clone, Debug, Default)]
pub struct PskStore {
    external: HashMap<Vec<u8>, Secret>,
    /// Resumption PSKs of other groups (a ReInit's old group, §11.2).
    resumption: HashMap<(Vec<u8>, u64), Secret>,
}

impl PskStore {
    /// Registers the resumption PSK of another group's epoch.
    pub fn insert_resumption(&mut self, group_id: Vec<u8>, epoch: u64, psk: Secret) {
        self.resumption.insert((group_id, epoch), psk);
    }

    /// The resumption PSK of another group's epoch.
    pub fn get_resumption(&self, group_id: &[u8], epoch: u64) -> Option<&Secret> {
        self.resumption.get(&(group_id.to_vec(), epoch))
    }

    /// Registers an external PSK under its id.
    pub fn insert(&mut self, psk_id: Vec<u8>, psk: Secret) {
        self.external.insert(psk_id, psk);
    }

    /// The external PSK with this id.
    pub fn get(&self, psk_id: &[u8]) -> Option<&Secret> {
        self.external.get(psk_id)
    }

    /// Every PSK, for exporting state (`crate::state`).
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&Vec<u8>, &Secret)> {
        self.external.iter()
    }

    /// Number of PSKs held.
    pub fn len(&self) -> usize {
        self.external.len()
    }

    /// Whether no PSK is held.
    pub fn is_empty(&self) -> bool {
        self.external.is_empty()
    }
}

/// One member's state of one group in one epoch: the group's public state
/// (a [`PublicGroup`], what a server following the group also holds) and
/// this member's secrets.
///
/// `Clone` duplicates every secret; two clones must never both send in the
/// same epoch (key and nonce reuse, §9). It exists for persistence tests and
/// benchmark forks.
#[derive(Clone, Debug)]
pub struct Group {
    pub(crate) public: PublicGroup,
    pub(crate) config: GroupConfig,
    pub(crate) private: PrivateTree,
    pub(crate) identity: Identity,
    pub(crate) epoch: EpochSecrets,
    pub(crate) secret_tree: SecretTree,
    pub(crate) resumption_psks: VecDeque<(u64, Secret)>,
    pub(crate) psks: PskStore,
    pub(crate) active: bool,
    /// Leaf keys of this member's own Update proposals, used only if a
    /// commit applies the Update (§12.1.2).
    pub(crate) pending_leaf_keys: Vec<crate::crypto::HpkeKeyPair>,
    /// Commits received as PrivateMessages that named a proposal not yet
    /// received, by the hash of the message: decrypting consumed their key
    /// (§9.2), so what was decrypted is kept, never the key, and the same
    /// message processes from here once the proposal has arrived. At most
    /// [`DEFERRED_COMMITS`], dropped at every epoch change.
    pub(crate) deferred: VecDeque<(Vec<u8>, AuthenticatedContent)>,
    /// Epochs left within [`GroupConfig::retention`]'s window.
    pub(crate) retained: retention::Retained,
}

/// How many undecidable private commits a member keeps per epoch.
pub const DEFERRED_COMMITS: usize = 8;

/// The outcome of processing one message.
#[derive(Debug)]
pub enum Processed {
    /// Application data from a member.
    Application {
        /// Who sent it (a leaf of the epoch it was sent in).
        sender: LeafIndex,
        /// The epoch it was sent in: the current one, or a retained one.
        epoch: u64,
        /// The plaintext.
        data: Vec<u8>,
    },
    /// A proposal, now cached for a later commit.
    Proposal {
        /// Its reference.
        reference: ProposalRef,
        /// The proposal.
        proposal: Box<Proposal>,
        /// Who sent it.
        sender: Sender,
    },
    /// A commit, validated and staged; merge it to enter the new epoch.
    Commit(Box<StagedCommit>),
}

impl Group {
    /// Creates a one-member group (§11) with the default provider.
    pub fn create(
        cipher_suite: CipherSuite,
        identity: &Identity,
        group_id: Vec<u8>,
        extensions: Vec<Extension>,
        config: GroupConfig,
    ) -> Result<Self, Error> {
        Self::create_with_provider(Arc::new(*default_provider()), cipher_suite, identity, group_id, extensions, config)
    }

    /// Creates a one-member group (§11) with the given provider.
    pub fn create_with_provider(
        provider: Arc<dyn CryptoProvider>,
        cipher_suite: CipherSuite,
        identity: &Identity,
        group_id: Vec<u8>,
        extensions: Vec<Extension>,
        config: GroupConfig,
    ) -> Result<Self, Error> {
        let bundle = KeyPackageBundle::generate(&*provider, cipher_suite, identity)?;
        Self::create_from_bundle(provider, &bundle, group_id, extensions, config)
    }

    /// Creates a one-member group (§11) whose creator's leaf is the leaf of
    /// `bundle`: with the capabilities and leaf extensions the application
    /// chose ([`KeyPackageBundle::generate_with`]), e.g. a custom proposal
    /// type (RFC 9420 §13.2).
    pub fn create_from_bundle(
        provider: Arc<dyn CryptoProvider>,
        bundle: &KeyPackageBundle,
        group_id: Vec<u8>,
        extensions: Vec<Extension>,
        config: GroupConfig,
    ) -> Result<Self, Error> {
        let cipher_suite = bundle.key_package.cipher_suite;
        let identity = &bundle.identity;
        let suite = Suite::new(&*provider, cipher_suite)?;
        let tree = RatchetTree::new(&suite, bundle.key_package.leaf_node.clone())?;
        let context = GroupContext {
            version: ProtocolVersion::MLS10,
            cipher_suite,
            group_id,
            epoch: 0,
            tree_hash: tree.root_hash().to_vec(),
            confirmed_transcript_hash: Vec::new(),
            extensions,
        };
        let mut epoch = EpochSecrets::for_new_group(&suite)?;
        // §11: the interim hash of epoch 0 uses a tag over the empty hash.
        let confirmation_tag = crate::schedule::transcript::confirmation_tag(&suite, epoch.confirmation_key(), &[]);
        let transcript = TranscriptHashes::new(&suite, Vec::new(), &confirmation_tag);
        let secret_tree = new_secret_tree(&suite, &mut epoch, tree.leaf_count(), &config)?;
        let private = PrivateTree::new(
            LeafIndex(0),
            bundle.encryption_private.clone(),
            bundle.key_package.leaf_node.encryption_key().into(),
        );
        let public =
            PublicGroup::from_parts(provider.clone(), config.public(), context, tree, transcript, confirmation_tag);
        Ok(Self::from_public(public, config, private, identity.clone(), epoch, secret_tree, PskStore::default()))
    }

    /// A member of the epoch `public` describes, holding `private` and the
    /// epoch's secrets.
    pub(crate) fn from_public(
        public: PublicGroup,
        config: GroupConfig,
        private: PrivateTree,
        identity: Identity,
        epoch: EpochSecrets,
        secret_tree: SecretTree,
        psks: PskStore,
    ) -> Self {
        Self {
            public,
            config,
            private,
            identity,
            epoch,
            secret_tree,
            resumption_psks: VecDeque::new(),
            psks,
            active: true,
            pending_leaf_keys: Vec::new(),
            deferred: VecDeque::new(),
            retained: retention::Retained::default(),
        }
    }

    pub(crate) fn suite(&self) -> Result<Suite<'_>, Error> {
        self.public.suite()
    }

    /// The group's public state: GroupContext, ratchet tree, transcript,
    /// roster; what a server following the group also holds.
    pub fn public(&self) -> &PublicGroup {
        &self.public
    }

    /// The group id.
    pub fn group_id(&self) -> &[u8] {
        self.public.group_id()
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.public.epoch()
    }

    /// The group's cipher suite.
    pub fn cipher_suite(&self) -> CipherSuite {
        self.public.cipher_suite()
    }

    /// The current GroupContext.
    pub fn context(&self) -> &GroupContext {
        self.public.context()
    }

    /// The public ratchet tree.
    pub fn tree(&self) -> &RatchetTree {
        self.public.tree()
    }

    /// Members in leaf order.
    pub fn members(&self) -> Vec<Member> {
        self.public.members()
    }

    /// Number of members.
    pub fn member_count(&self) -> u32 {
        self.public.member_count()
    }

    /// This member's leaf.
    pub fn own_leaf(&self) -> LeafIndex {
        self.private.own_leaf
    }

    /// The private key this member holds for `node` (§4.2), if any: for
    /// tests that check which ciphertexts of an UpdatePath a member can
    /// open (Partial MLS annotations). Not part of the stable API.
    #[doc(hidden)]
    pub fn node_private_key(&self, node: crate::tree_math::NodeIndex) -> Option<&crate::crypto::HpkePrivateKey> {
        self.private.key(node)
    }

    /// The shared handle to the tree (for co-resident members).
    pub fn tree_arc(&self) -> &Arc<RatchetTree> {
        &self.public.tree
    }

    /// Adopts `other`'s shared tree when it is the same tree, so that
    /// co-resident members of one group hold one copy
    /// (docs/ARCHITECTURE.md, performance design 6). The trees are the same
    /// exactly when their root hashes are (the tree hash covers every node,
    /// §7.8), so nothing this member validated is taken on trust. Returns
    /// whether the tree is now shared. A later merge copies the tree first
    /// (`Arc::make_mut`), so sharing never lets one member's epoch change
    /// leak into another's.
    pub fn share_tree_with(&mut self, other: &Group) -> bool {
        let (mine, theirs) = (&mut self.public, &other.public);
        if Arc::ptr_eq(&mine.tree, &theirs.tree) {
            return true;
        }
        if mine.context.cipher_suite != theirs.context.cipher_suite || mine.tree.root_hash() != theirs.tree.root_hash()
        {
            return false;
        }
        mine.tree = theirs.tree.clone();
        true
    }

    /// Gives this member its own copy of a tree it shares (after
    /// [`share_tree_with`](Self::share_tree_with) or `clone`), paying the
    /// O(n) copy now rather than inside the next merge.
    pub fn unshare_tree(&mut self) {
        self.public.unshare_tree();
    }

    /// Whether this member is still in the group (not removed, no ReInit).
    pub fn is_active(&self) -> bool {
        self.active && self.public.reinit.is_none()
    }

    /// The ReInit this group committed, if any (§11.2).
    pub fn pending_reinit(&self) -> Option<&crate::messages::ReInit> {
        self.public.reinit()
    }

    /// The epoch authenticator (§8.7): equal at every member of an epoch.
    pub fn epoch_authenticator(&self) -> &[u8] {
        self.epoch.epoch_authenticator().as_bytes()
    }

    /// `MLS-Exporter(label, context, length)` (§8.5).
    pub fn export_secret(&self, label: &str, context: &[u8], length: u16) -> Result<Secret, Error> {
        let suite = self.suite()?;
        self.epoch.export(&suite, label.as_bytes(), context, length)
    }

    /// `MLS-Exporter` (§8.5) of `epoch`: the current one or one still
    /// retained ([`GroupConfig::retention`]), for media keys of frames in
    /// flight across an epoch change.
    pub fn export_secret_of_epoch(
        &self,
        epoch: u64,
        label: &str,
        context: &[u8],
        length: u16,
    ) -> Result<Secret, Error> {
        if epoch == self.public.context.epoch {
            return self.export_secret(label, context, length);
        }
        let suite = self.suite()?;
        self.retained.export(&suite, epoch, label, context, length).unwrap_or(Err(ValidationError::EpochNotRetained {
            current: self.public.context.epoch,
            got: epoch,
        }
        .into()))
    }

    /// `MLS-Exporter` (§8.5) of the epoch a received commit starts, before
    /// it is merged: a client prepares the next media keys, and switches
    /// once the delivery service confirms the commit. Fails with
    /// [`UsageError::RemovedByCommit`] if the commit removes this member.
    pub fn export_staged_secret(
        &self,
        staged: &StagedCommit,
        label: &str,
        context: &[u8],
        length: u16,
    ) -> Result<Secret, Error> {
        let epoch = staged.next_epoch_secrets().ok_or(UsageError::RemovedByCommit)?;
        epoch.export(&self.suite()?, label.as_bytes(), context, length)
    }

    /// `MLS-Exporter` (§8.5) of the epoch this member's own commit starts,
    /// before the delivery service has accepted it.
    pub fn export_pending_secret(
        &self,
        pending: &PendingCommit,
        label: &str,
        context: &[u8],
        length: u16,
    ) -> Result<Secret, Error> {
        pending.next_epoch_secrets().export(&self.suite()?, label.as_bytes(), context, length)
    }

    /// The past epochs whose application messages still decrypt, oldest
    /// first (after dropping those the window has left).
    pub fn retained_epochs(&mut self) -> Vec<u64> {
        self.retained.prune(&self.config.retention, std::time::Instant::now());
        self.retained.epochs().collect()
    }

    /// Bytes of secret state kept for retained epochs.
    pub fn retained_state_len(&self) -> usize {
        self.retained.state_len()
    }

    /// The resumption PSK of the current epoch (§8.6).
    pub fn resumption_psk(&self) -> &Secret {
        self.epoch.resumption_psk()
    }

    /// The external PSKs this member can use.
    pub fn psk_store_mut(&mut self) -> &mut PskStore {
        &mut self.psks
    }

    /// Proposals cached in this epoch.
    pub fn pending_proposals(&self) -> impl Iterator<Item = (&ProposalRef, &Proposal, &Sender)> {
        self.public.pending_proposals()
    }

    pub(crate) fn require_active(&self) -> Result<(), Error> {
        if self.is_active() { Ok(()) } else { Err(UsageError::GroupInactive.into()) }
    }

    /// Signs `body` as this member and protects it for the wire (§6).
    pub(crate) fn frame(
        &mut self,
        body: FramedContentBody,
        authenticated_data: Vec<u8>,
        wire_format: WireFormat,
    ) -> Result<(MlsMessage, Option<ProposalRef>), Error> {
        let provider = self.public.provider.clone();
        let suite = Suite::new(&*provider, self.public.context.cipher_suite)?;
        let content = FramedContent {
            group_id: self.public.context.group_id.clone(),
            epoch: self.public.context.epoch,
            sender: Sender::Member(self.private.own_leaf),
            authenticated_data,
            body,
        };
        let signed = framing::sign_content(
            &suite,
            &self.identity.signer.private,
            wire_format,
            content,
            Some(&self.public.context),
        )?;
        let authenticated = signed.into_authenticated()?;
        let reference = matches!(authenticated.content.body, FramedContentBody::Proposal(_))
            .then(|| authenticated.proposal_ref(&suite));
        Ok((self.protect(&suite, authenticated)?, reference))
    }

    /// Protects signed content with the current epoch's keys, in the wire
    /// format it was signed for (§6.2, §6.3).
    pub(crate) fn protect(
        &mut self,
        suite: &Suite<'_>,
        authenticated: crate::messages::content::AuthenticatedContent,
    ) -> Result<MlsMessage, Error> {
        let body = if authenticated.wire_format == WireFormat::PRIVATE_MESSAGE {
            MlsMessageBody::PrivateMessage(framing::protect_private(
                suite,
                authenticated,
                &mut self.secret_tree,
                self.epoch.sender_data_secret(),
                self.config.padding,
            )?)
        } else {
            MlsMessageBody::PublicMessage(framing::protect_public(
                suite,
                authenticated,
                Some(&self.public.context),
                Some(self.epoch.membership_key()),
            )?)
        };
        Ok(MlsMessage::new(body))
    }

    /// Encrypts application data as a PrivateMessage (§6.3).
    pub fn encrypt_application(&mut self, data: &[u8], authenticated_data: Vec<u8>) -> Result<MlsMessage, Error> {
        self.require_active()?;
        if !self.public.proposals.is_empty() {
            // §12.4: a member that has seen proposals commits before sending data.
            return Err(UsageError::PendingProposals.into());
        }
        Ok(self
            .frame(FramedContentBody::Application(data.to_vec()), authenticated_data, WireFormat::PRIVATE_MESSAGE)?
            .0)
    }

    /// Sends a proposal (§12.1); it is cached here too, so this member's
    /// own commit can reference it.
    pub fn propose(&mut self, proposal: Proposal) -> Result<(MlsMessage, ProposalRef), Error> {
        self.require_active()?;
        self.check_own_proposal(&proposal)?;
        let wire = own_proposal_wire_format(&proposal, self.config.handshake_wire_format);
        let (message, reference) = self.frame(FramedContentBody::Proposal(proposal.clone()), Vec::new(), wire)?;
        let reference = reference.ok_or(InternalError::invariant("a framed proposal has a reference"))?;
        self.public.proposals.insert(
            CachedProposal { reference: reference.clone(), proposal, sender: Sender::Member(self.private.own_leaf) },
            &self.config.limits,
        )?;
        Ok((message, reference))
    }

    /// Proposes replacing this member's leaf with fresh keys (§12.1.2).
    pub fn propose_update(&mut self) -> Result<(MlsMessage, ProposalRef), Error> {
        self.propose_update_with(None)
    }

    /// Proposes replacing this member's leaf with fresh keys and, when
    /// given, a new credential (§12.1.2), which every receiver's
    /// [`IdentityValidator`] must accept as a valid successor of the
    /// current one (§5.3.1). Its type must be in the leaf's capabilities
    /// (§7.2).
    pub fn propose_update_with(&mut self, credential: Option<Credential>) -> Result<(MlsMessage, ProposalRef), Error> {
        let suite = self.suite()?;
        let pair = suite.generate_hpke_key_pair()?;
        let mut leaf = self.own_leaf_node()?.clone();
        if let Some(credential) = credential {
            leaf.credential = credential;
        }
        leaf.set_encryption_key(pair.public.as_bytes())?;
        leaf.leaf_node_source = crate::messages::LeafNodeSource::Update;
        leaf.sign(&suite, &self.identity.signer.private, Some((&self.public.context.group_id, self.private.own_leaf)))?;
        let out = self.propose(Proposal::Update(crate::messages::Update { leaf_node: leaf }))?;
        // The new key is only used if a commit applies this Update.
        self.pending_leaf_keys.push(pair);
        Ok(out)
    }

    pub(crate) fn own_leaf_node(&self) -> Result<&LeafNode, Error> {
        self.public.tree.leaf(self.private.own_leaf).ok_or(UsageError::GroupInactive.into())
    }

    /// A signed GroupInfo for the current epoch (§12.4.3), optionally with
    /// the ratchet tree and the external public key (for external joins).
    pub fn group_info(&self, with_ratchet_tree: bool, with_external_pub: bool) -> Result<GroupInfo, Error> {
        let suite = self.suite()?;
        let mut extensions = Vec::new();
        if with_ratchet_tree {
            // The tree is the one value built from every member's parts.
            let tree = crate::codec::checked(|| RatchetTreeExtension::to_extension(&self.public.tree.export()))?;
            extensions.push(tree);
        }
        if with_external_pub {
            extensions.push(ExternalPub { external_pub: self.epoch.external_pub(&suite)? }.to_extension());
        }
        let mut info = GroupInfo {
            group_context: self.public.context.clone(),
            extensions,
            confirmation_tag: self.public.confirmation_tag.clone(),
            signer: self.private.own_leaf,
            signature: Vec::new(),
        };
        info.sign(&suite, &self.identity.signer.private)?;
        Ok(info)
    }

    /// Resolves a PSK for the key schedule (§8.4): external ones from the
    /// store, resumption ones from this group's past epochs.
    pub(crate) fn resolve_psk(&self, id: &PreSharedKeyId) -> Result<Secret, Error> {
        let context = &self.public.context;
        match &id.psk {
            Psk::External { psk_id } => self.psks.get(psk_id).cloned().ok_or(PskError::UnknownExternal.into()),
            Psk::Resumption { psk_group_id, psk_epoch, .. } => {
                if *psk_group_id != context.group_id {
                    return self
                        .psks
                        .get_resumption(psk_group_id, *psk_epoch)
                        .cloned()
                        .ok_or(PskError::UnknownResumptionGroup.into());
                }
                if *psk_epoch == context.epoch {
                    return Ok(self.epoch.resumption_psk().clone());
                }
                self.resumption_psks
                    .iter()
                    .find(|(e, _)| e == psk_epoch)
                    .map(|(_, s)| s.clone())
                    .ok_or(PskError::UnknownResumptionEpoch(*psk_epoch).into())
            }
        }
    }

    /// Bytes of this member's state that are its own (private keys, secret
    /// tree, cached proposals), excluding the shared public tree.
    pub fn private_state_len(&self) -> usize {
        use crate::codec::Encode;
        self.private.len() * 96 + self.public.proposals.iter().map(|p| p.proposal.to_bytes().len()).sum::<usize>()
    }
}

/// Builds the epoch's secret tree from its encryption secret (§9).
pub(crate) fn new_secret_tree(
    suite: &Suite<'_>,
    epoch: &mut EpochSecrets,
    leaf_count: u32,
    config: &GroupConfig,
) -> Result<SecretTree, Error> {
    let secret =
        epoch.take_encryption_secret().ok_or(InternalError::invariant("an epoch's encryption secret is taken once"))?;
    SecretTree::new(suite, secret, leaf_count, config.secret_tree)
}

impl Group {
    /// Processes a message for this group (§6, §12): application data is
    /// returned, a proposal is validated and cached, a commit is validated
    /// and staged. On any error the group is unchanged (a PrivateMessage
    /// that decrypted but then failed still consumes its key, §9.2).
    pub fn process_message(&mut self, message: MlsMessage) -> Result<Processed, Error> {
        self.require_active()?;
        if message.version != ProtocolVersion::MLS10 {
            return Err(ValidationError::UnsupportedVersion.into());
        }
        let provider = self.public.provider.clone();
        let suite = Suite::new(&*provider, self.public.context.cipher_suite)?;
        let mut deferred_digest = None;
        let authenticated = match message.body {
            MlsMessageBody::PublicMessage(m) => {
                let public = &self.public;
                let (authenticated, checks) = framing::unprotect_public_deferred(
                    m,
                    &public.context,
                    Some(self.epoch.membership_key()),
                    |content| signer_key(&public.context, &public.tree, content),
                )?;
                if let FramedContentBody::Commit(commit) = &authenticated.content.body {
                    let staged = checks.verify_with(&suite, self.config.pool.as_deref(), || {
                        self.stage_commit(&authenticated, commit, Some(checks.confirmed_input()))
                    })?;
                    return Ok(Processed::Commit(Box::new(staged)));
                }
                checks.verify(&suite)?;
                authenticated
            }
            MlsMessageBody::PrivateMessage(m) => {
                // Bounded before any key is derived or consumed.
                let size = m.ciphertext.len().saturating_add(m.authenticated_data.len());
                Limits::check(Limit::MessageBytes, size, self.config.limits.max_message_bytes)?;
                let current = self.public.context.epoch;
                if m.epoch < current
                    && m.content_type == ContentType::Application
                    && m.group_id == self.public.context.group_id
                {
                    self.retained.prune(&self.config.retention, std::time::Instant::now());
                    self.retained.unprotect(&suite, m, &self.public.tree, current)?
                } else {
                    if m.content_type == ContentType::Commit {
                        let digest = suite.hash(&m.to_bytes());
                        if let Some((_, kept)) = self.deferred.iter().find(|(d, _)| *d == digest) {
                            let FramedContentBody::Commit(commit) = &kept.content.body else {
                                return Err(InternalError::invariant("a deferred message is a commit"));
                            };
                            return Ok(Processed::Commit(Box::new(self.stage_commit(kept, commit, None)?)));
                        }
                        deferred_digest = Some(digest);
                    }
                    let tree = self.public.tree.clone();
                    framing::unprotect_private(
                        &suite,
                        m,
                        &self.public.context,
                        &mut self.secret_tree,
                        self.epoch.sender_data_secret(),
                        |leaf| tree.leaf(leaf).map(|n| n.signature_key().to_vec()),
                    )?
                }
            }
            _ => return Err(UsageError::WrongMessageKind("a Welcome, GroupInfo or KeyPackage").into()),
        };
        match &authenticated.content.body {
            FramedContentBody::Application(data) => {
                let Sender::Member(sender) = authenticated.content.sender else {
                    // unprotect_private admits members only (§6.3.2); kept total.
                    return Err(ValidationError::PrivateMessageFromNonMember.into());
                };
                Ok(Processed::Application { sender, epoch: authenticated.content.epoch, data: data.clone() })
            }
            FramedContentBody::Proposal(proposal) => {
                let reference = self.public.receive_proposal(&suite, &authenticated, proposal)?;
                Ok(Processed::Proposal {
                    reference,
                    proposal: Box::new(proposal.clone()),
                    sender: authenticated.content.sender,
                })
            }
            FramedContentBody::Commit(commit) => match self.stage_commit(&authenticated, commit, None) {
                Ok(staged) => Ok(Processed::Commit(Box::new(staged))),
                Err(e @ Error::Invalid(ValidationError::Commit(CommitError::UnknownProposalReference))) => {
                    if let Some(digest) = deferred_digest {
                        if self.deferred.len() == DEFERRED_COMMITS {
                            self.deferred.pop_front();
                        }
                        self.deferred.push_back((digest, authenticated.clone()));
                    }
                    Err(e)
                }
                Err(e) => Err(e),
            },
        }
    }
}

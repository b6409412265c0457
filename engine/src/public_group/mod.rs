//! A group followed without private keys (RFC 9420 §12; RFC 9750, the
//! Delivery Service): what a server sees of a group whose handshake
//! messages travel as PublicMessages.
//!
//! A [`PublicGroup`] starts from a GroupInfo and its ratchet tree, checked
//! as a joiner checks them (§12.4.3.1: GroupInfo signature, tree hash, full
//! tree validation). It then follows every proposal and commit and checks
//! each as a member would, except for what needs the epoch's secrets:
//!
//! | checked | not checked (needs secrets) |
//! |---|---|
//! | group id, epoch, sender, wire format, content type (§6) | PrivateMessages (§6.3): not readable |
//! | signatures (§6.1), of members, external senders, new members | |
//! | membership tag (§6.2) — only with [`PublicGroup::set_membership_key`] | the membership tag otherwise (only its presence) |
//! | each proposal (§12.1) and the proposal list (§12.2, §12.3) | PSK availability (§12.4.2) |
//! | KeyPackages (§10.1), leaf nodes (§7.3), key uniqueness | ExternalInit's KEM output (§12.4.3.2) |
//! | credentials, by [`PublicGroupConfig::identity`] (§5.3.1, [`crate::identity`]) | |
//! | UpdatePath shape, ciphertext counts, parent hashes (§7.5, §7.6, §7.9.2) | the path secrets' values (§7.5) |
//! | tree hash, confirmed transcript hash (§7.8, §8.2) | **the confirmation tag (§6.1)** |
//!
//! The confirmation tag is a MAC under the new epoch's `confirmation_key`,
//! which only members derive, so a commit whose tag is wrong passes here and
//! is rejected by every member. The interim transcript hash (§8.2) the server
//! keeps is computed from that unverified tag, so after such a commit the
//! server and the members disagree from then on; a committer gains nothing
//! by it (its own commit is dropped by every member), and a server that
//! needs certainty can compare a member's signed GroupInfo (which carries the
//! tag the members accepted) with [`PublicGroup::confirmation_tag`] through
//! [`PublicGroup::verify_group_info`].
//!
//! Processing a commit yields a [`StagedPublicCommit`] (docs/STYLE.md 4), which
//! [`PublicGroup::merge_staged_commit`] consumes; nothing changes before
//! that, and a rejected message changes nothing.
//!
//! Roster questions are answered in O(1) per member from the tree and its
//! index: [`PublicGroup::member`], [`PublicGroup::find_member`].

mod process;
mod proposals;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

pub use process::{PublicProcessed, StagedPublicCommit};
pub(crate) use process::{PublicStage, Validated};
pub use proposals::{AppliedProposals, CommittedProposal, validate_key_package};
pub(crate) use proposals::{
    CachedProposal, Committer, ProposalCache, apply_proposals, check_received_proposal, check_resync_identity,
    check_unique_keys, identity_scope,
};

use crate::codec::Encode;
use crate::crypto::{CipherSuite, CryptoProvider, Secret, SignatureKeyPair, Suite};
use crate::custom_proposals::{CustomProposalValidator, RefuseCustomProposals};
use crate::error::{Error, GroupInfoError, InternalError, TreeError, UsageError, ValidationError};
use crate::framing;
use crate::identity::{AcceptAnyCredential, IdentityValidator, ValidationPoint};
use crate::limits::{Limit, Limits};
use crate::messages::RatchetTreeExtension;
use crate::messages::content::{FramedContent, FramedContentBody, MlsMessage, MlsMessageBody, Sender, WireFormat};
use crate::messages::extensions::check_extension_list;
use crate::messages::registered_extensions::{ExtensionData, ExternalSenders, RequiredCapabilities};
use crate::messages::{
    Credential, GroupContext, GroupInfo, LeafNode, Lifetime, Proposal, ProposalRef, ProtocolVersion, ReInit,
};
use crate::schedule::TranscriptHashes;
use crate::tree::{RatchetTree, TreeView};
use crate::tree_math::LeafIndex;

/// How a public group validates; every field has a sensible default.
#[derive(Clone, Debug)]
pub struct PublicGroupConfig {
    /// Whether KeyPackage leaves must be within their lifetime (§7.3
    /// recommends it).
    pub check_lifetimes: bool,
    /// The rayon pool for parallel work (tree validation, hashing); rayon's
    /// global pool when `None` (docs/ARCHITECTURE.md, performance design 4).
    pub pool: Option<Arc<rayon::ThreadPool>>,
    /// Bounds on what peers send (sizes, counts, cached proposals).
    pub limits: Limits,
    /// The application's authentication of credentials (§5.3.1), asked at
    /// every point [`crate::identity`] lists. [`AcceptAnyCredential`] by
    /// default.
    pub identity: Arc<dyn IdentityValidator>,
    /// Past epochs whose application messages a server still routes
    /// (members decrypt them with [`crate::GroupConfig::retention`]); none
    /// by default.
    pub retention: EpochRetention,
    /// The application's rules for proposal types it defines (§12.2,
    /// [`crate::custom_proposals`]). [`RefuseCustomProposals`] by default.
    pub custom_proposals: Arc<dyn CustomProposalValidator>,
}

/// How many past epochs a member keeps for application messages still in
/// flight (`group/retention.rs`), or a server routes them, and for how
/// long. An epoch leaves the window when either bound
/// is passed. The default keeps none (messages must be of the current
/// epoch, as before retention existed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct EpochRetention {
    /// Past epochs kept, newest first; `0` turns retention off.
    pub epochs: usize,
    /// How long an epoch is kept after the group left it; `None`: as long
    /// as it is among the last `epochs`.
    pub max_age: Option<Duration>,
}

impl EpochRetention {
    /// Keeps the last `epochs` epochs, each for at most `max_age` after it
    /// ended.
    pub fn new(epochs: usize, max_age: Option<Duration>) -> Self {
        Self { epochs, max_age }
    }

    pub(crate) fn expired(&self, left_at: Instant, now: Instant) -> bool {
        self.max_age.is_some_and(|age| now.saturating_duration_since(left_at) > age)
    }
}

impl Default for PublicGroupConfig {
    fn default() -> Self {
        Self {
            check_lifetimes: true,
            pool: None,
            limits: Limits::default(),
            identity: Arc::new(AcceptAnyCredential),
            retention: EpochRetention::default(),
            custom_proposals: Arc::new(RefuseCustomProposals),
        }
    }
}

impl PublicGroupConfig {
    /// Runs `f` on the configured pool.
    pub(crate) fn on_pool<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }

    /// The time lifetimes are checked against, or `None` when they are not.
    pub(crate) fn now(&self) -> Option<u64> {
        self.check_lifetimes.then(Lifetime::now)
    }
}

/// A member as the roster shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Its leaf.
    pub leaf_index: LeafIndex,
    /// Its credential.
    pub credential: Credential,
    /// Its signature key.
    pub signature_key: Vec<u8>,
}

/// What a joiner needs of the current epoch that a server can give (a
/// server cannot sign a GroupInfo, §12.4.3): the GroupContext, the
/// confirmation tag of the commit that started the epoch (unverified, see
/// the module documentation) and the ratchet tree (§12.4.3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupInfoView {
    /// The current GroupContext.
    pub group_context: GroupContext,
    /// The confirmation tag of the current epoch.
    pub confirmation_tag: Vec<u8>,
    /// The ratchet tree, in the form of the `ratchet_tree` extension.
    pub ratchet_tree: RatchetTreeExtension,
}

/// A server's view of one group: the public state of the current epoch and
/// the proposals received in it.
#[derive(Clone, Debug)]
pub struct PublicGroup {
    pub(crate) provider: Arc<dyn CryptoProvider>,
    pub(crate) config: PublicGroupConfig,
    pub(crate) context: GroupContext,
    /// Shared so that co-resident members of one group can hold one tree
    /// (copy-on-write through `Arc::make_mut` when merging).
    pub(crate) tree: Arc<RatchetTree>,
    pub(crate) transcript: TranscriptHashes,
    pub(crate) confirmation_tag: Vec<u8>,
    pub(crate) proposals: ProposalCache,
    /// The current epoch's `membership_key`, when the application gives it
    /// to the server (§6.2); dropped at every epoch change.
    pub(crate) membership_key: Option<Secret>,
    /// Set once a commit with a ReInit is merged: the group is over
    /// (§11.2, §12.4.2).
    pub(crate) reinit: Option<ReInit>,
    /// Epochs the group left and when, newest last, within
    /// `config.retention` (application messages of these are routed).
    pub(crate) left_epochs: VecDeque<(u64, Instant)>,
}

impl PublicGroup {
    /// Starts following a group from a member's signed GroupInfo and the
    /// ratchet tree (given, or from the GroupInfo's `ratchet_tree`
    /// extension), validated as a joiner validates them (§12.4.3.1). The
    /// tree validation is linear and runs on the configured pool.
    pub fn from_group_info(
        provider: Arc<dyn CryptoProvider>,
        config: PublicGroupConfig,
        group_info: &GroupInfo,
        ratchet_tree: Option<&RatchetTreeExtension>,
    ) -> Result<Self, Error> {
        let context = &group_info.group_context;
        if context.version != ProtocolVersion::MLS10 {
            return Err(GroupInfoError::UnsupportedVersion.into());
        }
        let suite = Suite::new(&*provider, context.cipher_suite)?;
        check_extension_list(&group_info.extensions, &config.limits)?;
        check_extension_list(&context.extensions, &config.limits)?;
        let from_info;
        let tree_ext = match ratchet_tree {
            Some(t) => t,
            None => {
                from_info =
                    RatchetTreeExtension::find_in(&group_info.extensions)?.ok_or(GroupInfoError::MissingRatchetTree)?;
                &from_info
            }
        };
        let tree = config.on_pool(|| import_tree(&suite, tree_ext, group_info, &config))?;
        // The joiner's transcript starts from the GroupInfo's tag (§8.2).
        let transcript =
            TranscriptHashes::new(&suite, context.confirmed_transcript_hash.clone(), &group_info.confirmation_tag);
        Ok(Self::from_parts(provider, config, context.clone(), tree, transcript, group_info.confirmation_tag.clone()))
    }

    /// A view of an epoch whose parts the caller computed and checked.
    pub(crate) fn from_parts(
        provider: Arc<dyn CryptoProvider>,
        config: PublicGroupConfig,
        context: GroupContext,
        tree: RatchetTree,
        transcript: TranscriptHashes,
        confirmation_tag: Vec<u8>,
    ) -> Self {
        Self {
            provider,
            config,
            context,
            tree: Arc::new(tree),
            transcript,
            confirmation_tag,
            proposals: ProposalCache::default(),
            membership_key: None,
            reinit: None,
            left_epochs: VecDeque::new(),
        }
    }

    pub(crate) fn suite(&self) -> Result<Suite<'_>, Error> {
        Ok(Suite::new(&*self.provider, self.context.cipher_suite)?)
    }

    /// The group id.
    pub fn group_id(&self) -> &[u8] {
        &self.context.group_id
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.context.epoch
    }

    /// Whether application messages of `epoch` are routed at `now`: the
    /// current epoch, or one the group left within
    /// [`PublicGroupConfig::retention`]'s window.
    pub fn routes_epoch(&self, epoch: u64, now: Instant) -> bool {
        let window = &self.config.retention;
        epoch == self.context.epoch
            || self
                .left_epochs
                .iter()
                .rev()
                .take(window.epochs)
                .any(|&(e, left_at)| e == epoch && !window.expired(left_at, now))
    }

    /// Forgets the epochs that left the retention window.
    pub(crate) fn prune_left_epochs(&mut self, now: Instant) {
        let window = self.config.retention;
        while self.left_epochs.len() > window.epochs
            || self.left_epochs.front().is_some_and(|&(_, at)| window.expired(at, now))
        {
            self.left_epochs.pop_front();
        }
    }

    /// The group's cipher suite.
    pub fn cipher_suite(&self) -> CipherSuite {
        self.context.cipher_suite
    }

    /// The current GroupContext.
    pub fn context(&self) -> &GroupContext {
        &self.context
    }

    /// The public ratchet tree.
    pub fn tree(&self) -> &RatchetTree {
        &self.tree
    }

    /// Gives this view its own copy of a tree it shares (after `clone`),
    /// paying the O(n) copy now rather than inside the next merge.
    pub fn unshare_tree(&mut self) {
        Arc::make_mut(&mut self.tree);
    }

    /// The tree hash of the current epoch (§7.8).
    pub fn tree_hash(&self) -> &[u8] {
        self.tree.root_hash()
    }

    /// The confirmation tag of the commit that started this epoch (or of the
    /// GroupInfo this view started from). Not verified: see the module
    /// documentation.
    pub fn confirmation_tag(&self) -> &[u8] {
        &self.confirmation_tag
    }

    /// The transcript hashes of the current epoch (§8.2).
    pub fn transcript(&self) -> &TranscriptHashes {
        &self.transcript
    }

    /// The ReInit a merged commit carried (§11.2): once set, the group
    /// accepts no more handshake messages.
    pub fn reinit(&self) -> Option<&ReInit> {
        self.reinit.as_ref()
    }

    /// Gives the current epoch's `membership_key` (§6.2), for an
    /// application that shares it with the server: member PublicMessages
    /// then have their membership tag verified too. It is dropped when the
    /// epoch changes (every epoch has its own key).
    pub fn set_membership_key(&mut self, membership_key: Secret) {
        self.membership_key = Some(membership_key);
    }

    /// Number of members.
    pub fn member_count(&self) -> u32 {
        self.tree.member_count()
    }

    /// The member at `leaf`, in O(1).
    pub fn member(&self, leaf: LeafIndex) -> Option<&LeafNode> {
        self.tree.leaf(leaf)
    }

    /// The credential of the member at `leaf`, in O(1).
    pub fn credential(&self, leaf: LeafIndex) -> Option<&Credential> {
        self.tree.leaf(leaf).map(|n| &n.credential)
    }

    /// The leaf of the member holding `signature_key`, in O(1) (§7.3 keeps
    /// signature keys unique).
    pub fn find_member(&self, signature_key: &[u8]) -> Option<LeafIndex> {
        self.tree.find_signature_key(signature_key)
    }

    /// The leaves whose credential equals `credential`, in O(1) per match.
    pub fn find_credential(&self, credential: &Credential) -> Vec<LeafIndex> {
        self.tree.find_credential(credential)
    }

    /// The identity of the member at `leaf`, as the configured
    /// [`IdentityValidator`] extracts it from its credential; `None` for a
    /// blank leaf or a credential the validator names no identity for.
    pub fn member_identity(&self, leaf: LeafIndex) -> Option<Vec<u8>> {
        self.config.identity.identity(&self.tree.leaf(leaf)?.credential).ok()
    }

    /// The leaves of the members whose credential names `identity` (by the
    /// configured [`IdentityValidator`]), in leaf order: several when one
    /// person has several devices. A linear pass over the tree, run on the
    /// configured pool.
    pub fn find_identity(&self, identity: &[u8]) -> Vec<LeafIndex> {
        let validator = &*self.config.identity;
        self.config.on_pool(|| {
            self.tree
                .members()
                .into_par_iter()
                .filter(|(_, leaf)| validator.identity(&leaf.credential).is_ok_and(|id| id == identity))
                .map(|(l, _)| l)
                .collect()
        })
    }

    /// Members in leaf order.
    pub fn members(&self) -> Vec<Member> {
        self.tree
            .members()
            .into_iter()
            .map(|(leaf_index, n)| Member {
                leaf_index,
                credential: n.credential.clone(),
                signature_key: n.signature_key().to_vec(),
            })
            .collect()
    }

    /// Every member's leaf and credential, in leaf order.
    pub fn roster(&self) -> Vec<(LeafIndex, Credential)> {
        self.tree.members().into_iter().map(|(l, n)| (l, n.credential.clone())).collect()
    }

    /// Every member's leaf, in leaf order (the fan-out of a message).
    pub fn member_leaves(&self) -> Vec<LeafIndex> {
        (0..self.tree.leaf_count()).map(LeafIndex).filter(|&l| self.tree.leaf(l).is_some()).collect()
    }

    /// The proposals received in this epoch, for commits that reference
    /// them (§12.4.2).
    pub fn pending_proposals(&self) -> impl Iterator<Item = (&ProposalRef, &Proposal, &Sender)> {
        self.proposals.iter().map(|p| (&p.reference, &p.proposal, &p.sender))
    }

    /// The group's external senders (§12.1.8.1), if the GroupContext has
    /// the extension.
    pub fn external_senders(&self) -> Result<Option<ExternalSenders>, Error> {
        Ok(ExternalSenders::find_in(&self.context.extensions)?)
    }

    /// The ratchet tree for joiners, in the `ratchet_tree` extension form
    /// (§12.4.3.3).
    pub fn export_tree(&self) -> RatchetTreeExtension {
        self.tree.export()
    }

    /// The GroupInfo-ready view of the current epoch (a member signs the
    /// GroupInfo; the server can only serve its parts).
    pub fn group_info_view(&self) -> GroupInfoView {
        GroupInfoView {
            group_context: self.context.clone(),
            confirmation_tag: self.confirmation_tag.clone(),
            ratchet_tree: self.tree.export(),
        }
    }

    /// Checks that a GroupInfo a member uploads describes the current epoch
    /// (§12.4.3): the same GroupContext and confirmation tag, signed by the
    /// member at its `signer` leaf, and if it carries a `ratchet_tree`, that
    /// tree is the current one. Its `external_pub` cannot be checked (it
    /// derives from the epoch's secrets).
    pub fn verify_group_info(&self, group_info: &GroupInfo) -> Result<(), Error> {
        if group_info.group_context.group_id != self.context.group_id {
            return Err(ValidationError::WrongGroup.into());
        }
        if group_info.group_context.epoch != self.context.epoch {
            return Err(ValidationError::WrongEpoch {
                expected: self.context.epoch,
                got: group_info.group_context.epoch,
            }
            .into());
        }
        if group_info.group_context != self.context {
            return Err(GroupInfoError::ContextMismatch.into());
        }
        if group_info.confirmation_tag != self.confirmation_tag {
            return Err(GroupInfoError::ConfirmationTagMismatch.into());
        }
        let suite = self.suite()?;
        let signer = self.tree.leaf(group_info.signer).ok_or(GroupInfoError::BlankSigner)?;
        group_info.verify_signature(&suite, signer.signature_key())?;
        if let Some(tree) = RatchetTreeExtension::find_in(&group_info.extensions)? {
            // Compared by encoding: the export is the canonical form (trailing
            // blanks dropped, §12.4.3.3).
            if tree.to_bytes() != self.tree.export().to_bytes() {
                return Err(GroupInfoError::RatchetTreeMismatch.into());
            }
        }
        Ok(())
    }

    /// Signs `proposal` as external sender `sender_index` of this group
    /// (§12.1.8.1: the server's signature key must be that entry of the
    /// GroupContext's `external_senders`), validates it as any received
    /// proposal and queues it for the epoch, so that a member's commit can
    /// reference it. Returns the PublicMessage to fan out to every member.
    pub fn propose_external(
        &mut self,
        sender_index: u32,
        signer: &SignatureKeyPair,
        proposal: Proposal,
    ) -> Result<MlsMessage, Error> {
        if external_sender_key(&self.context, sender_index).as_deref() != Some(signer.public.as_bytes()) {
            return Err(UsageError::NotExternalSender(sender_index).into());
        }
        let message = {
            let suite = self.suite()?;
            sign_external_proposal(&suite, &self.context, sender_index, signer, proposal)?
        };
        match self.process_message(message.clone())? {
            PublicProcessed::Proposal { .. } => Ok(message),
            PublicProcessed::Commit(_) => Err(InternalError::invariant("an external proposal stays a proposal")),
        }
    }
}

/// Signs a proposal as external sender `sender_index` of the group's
/// `external_senders` list (§12.1.8.1), e.g. a server's Add or Remove: a
/// PublicMessage members accept and can commit by reference.
pub fn sign_external_proposal(
    suite: &Suite<'_>,
    context: &GroupContext,
    sender_index: u32,
    signer: &SignatureKeyPair,
    proposal: Proposal,
) -> Result<MlsMessage, Error> {
    let content = FramedContent {
        group_id: context.group_id.clone(),
        epoch: context.epoch,
        sender: Sender::External(sender_index),
        authenticated_data: Vec::new(),
        body: FramedContentBody::Proposal(proposal),
    };
    let signed = framing::sign_content(suite, &signer.private, WireFormat::PUBLIC_MESSAGE, content, None)?;
    let message = framing::protect_public(suite, signed.into_authenticated()?, None, None)?;
    Ok(MlsMessage::new(MlsMessageBody::PublicMessage(message)))
}

/// Imports a tree received from outside and runs every joiner check
/// (§12.4.3.1): GroupInfo signature by its signer's leaf, tree hash, and
/// the full tree validation.
pub(crate) fn import_tree(
    suite: &Suite<'_>,
    tree_ext: &RatchetTreeExtension,
    group_info: &GroupInfo,
    config: &PublicGroupConfig,
) -> Result<RatchetTree, Error> {
    let context = &group_info.group_context;
    // Authenticate before any work that grows with the tree (§12.4.3.1
    // orders nothing; a forged Welcome must cost no more than its
    // signature check): the size bound, then the signer's leaf read
    // straight from the node list and the GroupInfo signature over it.
    Limits::check(Limit::TreeNodes, tree_ext.0.len(), config.limits.max_tree_nodes())?;
    let signer = (group_info.signer.0 as usize)
        .checked_mul(2)
        .and_then(|i| tree_ext.0.get(i))
        .and_then(|n| n.as_ref()?.as_leaf())
        .ok_or(GroupInfoError::BlankSigner)?;
    group_info.verify_signature(suite, signer.signature_key())?;
    validate_imported_tree(suite, tree_ext, context, config)
}

/// Imports a tree for the epoch `context` describes and runs the tree
/// checks of §12.4.3.1: the tree hash, then every leaf and parent (with
/// the identity validator and the extensions the group uses), then the
/// external senders. A joiner reaches it after the GroupInfo's signature;
/// a partial member upgrading (draft-ietf-mls-partial §"Upgrading and
/// Downgrading") with the tree hash its key schedule agreed on.
pub(crate) fn validate_imported_tree(
    suite: &Suite<'_>,
    tree_ext: &RatchetTreeExtension,
    context: &GroupContext,
    config: &PublicGroupConfig,
) -> Result<RatchetTree, Error> {
    Limits::check(Limit::TreeNodes, tree_ext.0.len(), config.limits.max_tree_nodes())?;
    let tree = RatchetTree::import(suite, tree_ext)?;
    if tree.root_hash() != context.tree_hash.as_slice() {
        return Err(TreeError::TreeHashMismatch.into());
    }
    let required = RequiredCapabilities::find_in(&context.extensions)?;
    // In the same parallel pass as the leaves' signatures: §13.4, the group
    // uses only extensions every member supports (what a
    // GroupContextExtensions commit checks, §12.1.7); §5.3.1, every
    // credential of the tree joined (and then the group's external
    // senders) is the application's to accept.
    let identity = proposals::identity_scope(context, config);
    let rules = proposals::leaf_rules(context, required.as_ref(), config);
    let used: Vec<_> = context.extensions.iter().map(|e| e.extension_type).collect();
    tree.validate_with(suite, &context.group_id, &rules, &|index, leaf| {
        if !leaf.capabilities.supports_extensions(&used) {
            return Err(GroupInfoError::MemberLacksCapability(index.0).into());
        }
        identity.check_leaf(ValidationPoint::TreeLeaf, leaf, Some(index))
    })?;
    proposals::check_external_senders(&identity, &context.extensions)?;
    Ok(tree)
}

/// The signature key of external sender `index` in the GroupContext's
/// `external_senders` extension (§12.1.8.1).
pub(crate) fn external_sender_key(context: &GroupContext, index: u32) -> Option<Vec<u8>> {
    let senders = ExternalSenders::find_in(&context.extensions).ok()??;
    senders.0.get(index as usize).map(|s| s.signature_key.as_bytes().to_vec())
}

/// The key that signed a PublicMessage (§6.1): a member's leaf, a
/// configured external sender, or the new member's own key.
pub(crate) fn signer_key(context: &GroupContext, tree: &RatchetTree, content: &FramedContent) -> Option<Vec<u8>> {
    match &content.sender {
        Sender::Member(l) => tree.leaf(*l).map(|n| n.signature_key().to_vec()),
        Sender::External(i) => external_sender_key(context, *i),
        Sender::NewMemberProposal => match &content.body {
            FramedContentBody::Proposal(Proposal::Add(add)) => Some(add.key_package.leaf_node.signature_key().to_vec()),
            _ => None,
        },
        Sender::NewMemberCommit => match &content.body {
            FramedContentBody::Commit(c) => c.path.as_ref().map(|p| p.leaf_node.signature_key().to_vec()),
            _ => None,
        },
    }
}

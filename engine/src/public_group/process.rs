//! Following handshake messages (RFC 9420 §6.2, §12.1, §12.4.2): the one
//! staging of a commit that everyone without the epoch's secrets can run.
//! A server merges its result; a member's staging (`group::commit`) is this
//! plus the decryption of its path secret and the key schedule.

use std::sync::Arc;
use std::time::Instant;

use crate::crypto::Suite;
use crate::error::{CommitError, Error, ProposalError, UsageError, ValidationError};
use crate::framing;
use crate::messages::content::{
    AuthenticatedContent, FramedContentBody, MlsMessage, MlsMessageBody, Sender, WireFormat,
};
use crate::messages::{Commit, GroupContext, KeyPackage, LeafNode, Proposal, ProposalRef, ProtocolVersion};
use crate::schedule::TranscriptHashes;
use crate::tree::{RatchetTree, StagedTree, TreeDiff};
use crate::tree_math::LeafIndex;
use crate::treekem::{PublicPath, apply_update_path_public};

use super::proposals::{
    AppliedProposals, CachedProposal, Committer, apply_proposals, check_path_leaf, check_received_proposal,
    place_committer, resolve_committed,
};
use super::{PublicGroup, signer_key};

/// The outcome of following one handshake message.
#[derive(Debug)]
pub enum PublicProcessed {
    /// A valid proposal, now queued for the epoch's commits.
    Proposal {
        /// Its reference (§5.2).
        reference: ProposalRef,
        /// The proposal.
        proposal: Box<Proposal>,
        /// Who sent it.
        sender: Sender,
    },
    /// A valid commit, staged; [`PublicGroup::merge_staged_commit`] enters
    /// the epoch it starts.
    Commit(Box<StagedPublicCommit>),
}

/// What [`PublicGroup::validate_message`] found, before anything changed.
#[derive(Debug)]
pub(crate) enum Validated {
    /// A valid proposal; `new` is false when it is cached already.
    Proposal {
        /// The proposal as the cache keeps it.
        cached: Box<CachedProposal>,
        /// Whether the cache lacks it.
        new: bool,
    },
    /// A valid commit, staged.
    Commit(Box<StagedPublicCommit>),
}

/// A commit checked against the current epoch, holding the public state of
/// the next one: the tree changes, the GroupContext and the transcript.
/// Nothing of the group changes until it is merged.
#[derive(Debug)]
pub struct StagedPublicCommit {
    pub(crate) committer: Sender,
    pub(crate) committer_leaf: LeafIndex,
    pub(crate) applied: AppliedProposals,
    /// Whether the commit has an UpdatePath (a server annotating a
    /// PrivateMessage commit for partial members cannot read it, §"Annotated
    /// Commit" of draft-ietf-mls-partial).
    pub(crate) has_path: bool,
    /// The epoch and tree hash the commit was staged on, so that it cannot
    /// be merged into another state.
    pub(crate) base_epoch: u64,
    pub(crate) base_tree_hash: Vec<u8>,
    pub(crate) context: GroupContext,
    pub(crate) tree_diff: TreeDiff,
    pub(crate) transcript: TranscriptHashes,
    pub(crate) confirmation_tag: Vec<u8>,
}

impl StagedPublicCommit {
    /// Who committed.
    pub fn committer(&self) -> &Sender {
        &self.committer
    }

    /// The committer's leaf (for an external commit, the leaf it joins at).
    pub fn committer_leaf(&self) -> LeafIndex {
        self.committer_leaf
    }

    /// Whether the commit has an UpdatePath (§12.4).
    pub fn has_path(&self) -> bool {
        self.has_path
    }

    /// The epoch the commit was made in.
    pub fn base_epoch(&self) -> u64 {
        self.base_epoch
    }

    /// Everything the commit's proposals do.
    pub fn applied(&self) -> &AppliedProposals {
        &self.applied
    }

    /// Members added, with their leaves.
    pub fn added(&self) -> &[(LeafIndex, KeyPackage)] {
        &self.applied.added
    }

    /// Members removed, with the leaf node they held.
    pub fn removed(&self) -> &[(LeafIndex, LeafNode)] {
        &self.applied.removed
    }

    /// Members whose Update was applied.
    pub fn updated(&self) -> &[LeafIndex] {
        &self.applied.updated
    }

    /// The epoch the commit starts.
    pub fn new_epoch(&self) -> u64 {
        self.context.epoch
    }

    /// The GroupContext of the new epoch.
    pub fn new_context(&self) -> &GroupContext {
        &self.context
    }

    /// The tree hash of the new epoch (§7.8).
    pub fn tree_hash(&self) -> &[u8] {
        &self.context.tree_hash
    }

    /// The commit's confirmation tag (not verifiable without the epoch's
    /// secrets, §6.1).
    pub fn confirmation_tag(&self) -> &[u8] {
        &self.confirmation_tag
    }
}

/// A commit being staged: everything public is checked and computed, the
/// stage of the tree is still open for a member's private part (the path
/// secret it decrypts, the keys it keeps).
pub(crate) struct PublicStage<'t> {
    pub(crate) staged: StagedTree<'t>,
    /// The public half of the UpdatePath: the steps and resolutions a
    /// member needs to find its ciphertext.
    pub(crate) path: Option<PublicPath>,
    pub(crate) committer: Sender,
    pub(crate) committer_leaf: LeafIndex,
    pub(crate) applied: AppliedProposals,
    base_epoch: u64,
    base_tree_hash: Vec<u8>,
    /// The next epoch's GroupContext.
    pub(crate) context: GroupContext,
    pub(crate) transcript: TranscriptHashes,
    pub(crate) confirmation_tag: Vec<u8>,
}

impl PublicStage<'_> {
    /// Closes the stage.
    pub(crate) fn finish(self) -> StagedPublicCommit {
        StagedPublicCommit {
            committer: self.committer,
            committer_leaf: self.committer_leaf,
            applied: self.applied,
            has_path: self.path.is_some(),
            base_epoch: self.base_epoch,
            base_tree_hash: self.base_tree_hash,
            context: self.context,
            tree_diff: self.staged.into_diff(),
            transcript: self.transcript,
            confirmation_tag: self.confirmation_tag,
        }
    }
}

impl PublicGroup {
    /// Follows one handshake message (§6.2, §12): a proposal is validated and
    /// queued; a commit is validated and staged. On any error the group is
    /// unchanged.
    ///
    /// Only PublicMessages can be followed: a server cannot read a
    /// PrivateMessage (§6.3), so groups a server follows send handshake
    /// messages as PublicMessages (`GroupConfig::handshake_wire_format`, the
    /// default).
    ///
    /// A commit's Adds have their KeyPackages checked on the configured
    /// pool, as a member's `Group::process_message` checks them
    /// (docs/ARCHITECTURE.md, performance design 2): the caller must not
    /// hold a lock that a task of that pool may wait on.
    pub fn process_message(&mut self, message: MlsMessage) -> Result<PublicProcessed, Error> {
        match self.validate_message(message, true)? {
            Validated::Proposal { cached, new } => {
                let processed = PublicProcessed::Proposal {
                    reference: cached.reference.clone(),
                    proposal: Box::new(cached.proposal.clone()),
                    sender: cached.sender,
                };
                if new {
                    self.insert_proposal(*cached)?;
                }
                Ok(processed)
            }
            Validated::Commit(staged) => Ok(PublicProcessed::Commit(staged)),
        }
    }

    /// [`process_message`](Self::process_message) without changing the
    /// group: a proposal is validated (its place in the cache included) and
    /// returned for [`insert_proposal`](Self::insert_proposal), a commit is
    /// staged. A server validates on a snapshot of the group with no lock
    /// held, then decides (`server`). `parallel` checks a commit's Adds'
    /// KeyPackages on the configured pool: only for a caller that holds no
    /// lock another task of that pool may wait on.
    pub(crate) fn validate_message(&self, message: MlsMessage, parallel: bool) -> Result<Validated, Error> {
        if message.version != ProtocolVersion::MLS10 {
            return Err(ValidationError::UnsupportedVersion.into());
        }
        if self.reinit.is_some() {
            return Err(CommitError::GroupReinitialized.into());
        }
        let MlsMessageBody::PublicMessage(message) = message.body else {
            return Err(UsageError::PrivateHandshake.into());
        };
        let provider = self.provider.clone();
        let suite = Suite::new(&*provider, self.context.cipher_suite)?;
        let (authenticated, checks) =
            framing::unprotect_public_deferred(message, &self.context, self.membership_key.as_ref(), |content| {
                signer_key(&self.context, &self.tree, content)
            })?;
        match &authenticated.content.body {
            // unprotect_public already refuses this (§6); kept total.
            FramedContentBody::Application(_) => Err(ValidationError::ApplicationInPublicMessage.into()),
            FramedContentBody::Proposal(proposal) => {
                checks.verify(&suite)?;
                let sender = authenticated.content.sender;
                self.check_self_remove_receipt(&suite, &authenticated, proposal)?;
                check_received_proposal(&suite, &self.context, &self.tree, sender, proposal, &self.config)?;
                let cached = CachedProposal {
                    reference: authenticated.proposal_ref(&suite),
                    proposal: proposal.clone(),
                    sender,
                };
                let new = self.proposals.check_insert(&cached, &self.config.limits)?;
                Ok(Validated::Proposal { cached: Box::new(cached), new })
            }
            FramedContentBody::Commit(commit) => {
                let stage = checks.verify_with(&suite, self.config.pool.as_deref(), || {
                    let input = checks.confirmed_input();
                    self.config.on_pool(|| self.stage_commit(&suite, &authenticated, commit, parallel, Some(input)))
                })?;
                Ok(Validated::Commit(Box::new(stage.finish())))
            }
        }
    }

    /// The receipt rules of a SelfRemove (draft-ietf-mls-extensions): sent
    /// as a PublicMessage, so that external joiners can include it; at most
    /// one per member and epoch.
    fn check_self_remove_receipt(
        &self,
        suite: &Suite<'_>,
        authenticated: &AuthenticatedContent,
        proposal: &Proposal,
    ) -> Result<(), Error> {
        let sender = authenticated.content.sender;
        if let (Proposal::SelfRemove, Sender::Member(leaf)) = (proposal, sender) {
            if authenticated.wire_format != WireFormat::PUBLIC_MESSAGE {
                return Err(ProposalError::SelfRemoveNotPublic.into());
            }
            let reference = authenticated.proposal_ref(suite);
            let twice = self
                .proposals
                .iter()
                .any(|p| matches!(p.proposal, Proposal::SelfRemove) && p.sender == sender && p.reference != reference);
            if twice {
                return Err(ProposalError::SelfRemoveTwice(leaf.0).into());
            }
        }
        Ok(())
    }

    /// Caches a proposal [`validate_message`](Self::validate_message)
    /// checked against this same state.
    pub(crate) fn insert_proposal(&mut self, cached: CachedProposal) -> Result<(), Error> {
        self.proposals.insert(cached, &self.config.limits)
    }

    /// Validates a proposal received in this epoch and caches it for the
    /// commits that reference it (§12.1): members and servers run the same
    /// checks, so nothing uncommittable is cached.
    pub(crate) fn receive_proposal(
        &mut self,
        suite: &Suite<'_>,
        authenticated: &AuthenticatedContent,
        proposal: &Proposal,
    ) -> Result<ProposalRef, Error> {
        let sender = authenticated.content.sender;
        self.check_self_remove_receipt(suite, authenticated, proposal)?;
        check_received_proposal(suite, &self.context, &self.tree, sender, proposal, &self.config)?;
        let reference = authenticated.proposal_ref(suite);
        self.proposals.insert(
            CachedProposal { reference: reference.clone(), proposal: proposal.clone(), sender },
            &self.config.limits,
        )?;
        Ok(reference)
    }

    /// Validates a commit as far as the public state allows (§12.4.2) and
    /// computes the next epoch's public state: the proposal list (§12.2,
    /// §12.3), the UpdatePath's leaf and public checks with parent hashes
    /// (§7.5, §7.6, §7.9.2), the tree hash, the next GroupContext and
    /// transcript hashes (§8.2). Not the confirmation tag, which needs the
    /// new epoch's secrets. `parallel` checks Adds' KeyPackages on rayon.
    /// `confirmed_input` is the commit's ConfirmedTranscriptHashInput when
    /// the caller holds it encoded (`PublicChecks::confirmed_input`).
    pub(crate) fn stage_commit(
        &self,
        suite: &Suite<'_>,
        authenticated: &AuthenticatedContent,
        commit: &Commit,
        parallel: bool,
        confirmed_input: Option<[&[u8]; 2]>,
    ) -> Result<PublicStage<'_>, Error> {
        let sender = authenticated.content.sender;
        let committer = Committer::of(sender)?;
        let list = resolve_committed(&self.proposals, commit, sender, &self.config.limits)?;

        let mut staged = self.tree.stage();
        let applied = apply_proposals(suite, &self.context, &mut staged, &list, committer, &self.config, parallel)?;
        if applied.path_required && commit.path.is_none() {
            return Err(CommitError::MissingPath.into());
        }
        let committer_leaf = place_committer(&mut staged, committer, commit)?;
        let path = match &commit.path {
            Some(path) => {
                check_path_leaf(
                    suite,
                    &self.context,
                    &applied,
                    &staged,
                    committer,
                    committer_leaf,
                    &path.leaf_node,
                    &self.config,
                )?;
                Some(apply_update_path_public(suite, &mut staged, committer_leaf, path, &applied.new_members())?)
            }
            None => None,
        };
        // §8.2: the confirmed transcript hash covers the signed commit; the
        // interim one its confirmation tag, verified only by members.
        let tag = authenticated.auth.confirmation_tag.as_ref().ok_or(ValidationError::ConfirmationTagPresence)?;
        // A MAC of the suite (§6.1); a server cannot verify it, but can its length.
        if tag.len() != suite.hash_len() {
            return Err(ValidationError::ConfirmationTagLength.into());
        }
        let encoded;
        let confirmed_input: &[&[u8]] = match &confirmed_input {
            Some(parts) => parts,
            None => {
                encoded = authenticated.confirmed_transcript_hash_input();
                &[&encoded]
            }
        };
        let context = self.next_context(suite, &mut staged, &applied, confirmed_input);
        let transcript = TranscriptHashes::new(suite, context.confirmed_transcript_hash.clone(), tag);
        Ok(PublicStage {
            staged,
            path,
            committer: sender,
            committer_leaf,
            applied,
            base_epoch: self.context.epoch,
            base_tree_hash: self.tree.root_hash().to_vec(),
            context,
            transcript,
            confirmation_tag: tag.clone(),
        })
    }

    /// The GroupContext of the epoch a commit starts (§8, §12.4.1): the next
    /// epoch, the staged tree's hash, the confirmed transcript hash over the
    /// signed commit, the extensions its proposals leave in force. Every
    /// party computes it here: committer, members, servers.
    pub(crate) fn next_context(
        &self,
        suite: &Suite<'_>,
        staged: &mut StagedTree<'_>,
        applied: &AppliedProposals,
        confirmed_input: &[&[u8]],
    ) -> GroupContext {
        GroupContext {
            confirmed_transcript_hash: self.transcript.next_confirmed(suite, confirmed_input),
            ..self.provisional_context(&staged.root_hash(suite), applied)
        }
    }

    /// The provisional GroupContext (§12.4.1) an UpdatePath is encrypted
    /// to: the next epoch, the new tree hash, the extensions the proposals
    /// leave in force, and the current confirmed transcript hash.
    pub(crate) fn provisional_context(&self, tree_hash: &[u8], applied: &AppliedProposals) -> GroupContext {
        GroupContext {
            // apply_proposals, which every commit passes first, refuses
            // an epoch that cannot advance.
            epoch: self.context.epoch.saturating_add(1),
            tree_hash: tree_hash.to_vec(),
            extensions: applied.extensions.clone().unwrap_or_else(|| self.context.extensions.clone()),
            ..self.context.clone()
        }
    }

    /// Enters the epoch a staged commit starts: writes the tree changes
    /// (only the changed nodes), and replaces the GroupContext, transcript
    /// and tag. The epoch's proposals and membership key are dropped.
    pub fn merge_staged_commit(&mut self, staged: StagedPublicCommit) -> Result<(), Error> {
        self.merge_sharing(staged, None)
    }

    /// [`merge_staged_commit`](Self::merge_staged_commit) on the calling
    /// thread, never on the pool: a server merges under its group's lock,
    /// and a thread waiting on a pool while holding a lock that the pool's
    /// tasks wait on deadlocks (the merge of a staged diff is sequential
    /// anyway: its hashes were computed when it was staged).
    pub(crate) fn merge_on_this_thread(&mut self, staged: StagedPublicCommit) -> Result<(), Error> {
        self.merge_with(staged, None, false)
    }

    /// [`merge_staged_commit`](Self::merge_staged_commit), adopting `shared`
    /// instead of writing the diff when it is the tree of the new epoch
    /// (same root hash as the new GroupContext's tree hash).
    pub(crate) fn merge_sharing(
        &mut self,
        staged: StagedPublicCommit,
        shared: Option<&Arc<RatchetTree>>,
    ) -> Result<(), Error> {
        self.merge_with(staged, shared, true)
    }

    fn merge_with(
        &mut self,
        staged: StagedPublicCommit,
        shared: Option<&Arc<RatchetTree>>,
        on_pool: bool,
    ) -> Result<(), Error> {
        if staged.base_epoch != self.context.epoch || staged.base_tree_hash != self.tree.root_hash() {
            return Err(UsageError::StaleCommit.into());
        }
        let provider = self.provider.clone();
        let suite = Suite::new(&*provider, self.context.cipher_suite)?;
        match shared.filter(|tree| tree.root_hash() == staged.context.tree_hash.as_slice()) {
            Some(tree) => self.tree = Arc::clone(tree),
            None => {
                let tree = Arc::make_mut(&mut self.tree);
                let diff = staged.tree_diff;
                if on_pool {
                    self.config.on_pool(|| tree.merge(&suite, diff));
                } else {
                    tree.merge(&suite, diff);
                }
            }
        }
        if self.config.retention.epochs > 0 {
            self.left_epochs.push_back((self.context.epoch, Instant::now()));
            self.prune_left_epochs(Instant::now());
        }
        self.context = staged.context;
        self.transcript = staged.transcript;
        self.confirmation_tag = staged.confirmation_tag;
        self.proposals.clear();
        self.membership_key = None;
        if staged.applied.reinit.is_some() {
            self.reinit = staged.applied.reinit;
        }
        Ok(())
    }
}

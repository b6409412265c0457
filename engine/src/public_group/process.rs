//! Following handshake messages without secrets (RFC 9420 §6.2, §12.1,
//! §12.4.2): the member's checks of `group::commit`, minus decryption and
//! the key schedule.

use crate::crypto::Suite;
use crate::error::{Error, UsageError};
use crate::framing;
use crate::group::{
    AppliedProposals, CachedProposal, CommittedProposal, Committer, apply_proposals, check_path_leaf,
    check_single_proposal, place_committer, resolve_committed, signer_key, validate_key_package,
};
use crate::messages::content::{AuthenticatedContent, FramedContentBody, MlsMessage, MlsMessageBody, Sender};
use crate::messages::registered_extensions::{ExtensionData, RequiredCapabilities};
use crate::messages::{
    Commit, GroupContext, KeyPackage, LeafNode, LeafNodeSource, Proposal, ProposalRef, ProtocolVersion,
};
use crate::schedule::TranscriptHashes;
use crate::tree::math::LeafIndex;
use crate::tree::{LeafNodeRules, TreeDiff, validate_leaf_node};
use crate::treekem::apply_update_path_public;

use super::{PublicGroup, rule};

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

/// A commit checked against the current epoch, holding the public state of
/// the next one: the tree changes, the GroupContext and the transcript.
/// Nothing of the group changes until it is merged.
#[derive(Debug)]
pub struct StagedPublicCommit {
    committer: Sender,
    committer_leaf: LeafIndex,
    applied: AppliedProposals,
    /// The epoch and tree hash the commit was staged on, so that it cannot
    /// be merged into another state.
    base_epoch: u64,
    base_tree_hash: Vec<u8>,
    context: GroupContext,
    tree_diff: TreeDiff,
    transcript: TranscriptHashes,
    confirmation_tag: Vec<u8>,
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

/// The rule set a proposal or leaf is validated with (§7.3), for the
/// extensions in force.
fn leaf_rules<'a>(
    context: &GroupContext,
    required: Option<&'a RequiredCapabilities>,
    now: Option<u64>,
) -> LeafNodeRules<'a> {
    LeafNodeRules { cipher_suite: context.cipher_suite, required_capabilities: required, now }
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
    pub fn process_message(&mut self, message: MlsMessage) -> Result<PublicProcessed, Error> {
        if message.version != ProtocolVersion::MLS10 {
            return Err(rule("message version is not mls10 (RFC 9420 §6)"));
        }
        if self.reinit.is_some() {
            return Err(rule("the group was reinitialized and takes no more messages (RFC 9420 §12.4.2)"));
        }
        let MlsMessageBody::PublicMessage(message) = message.body else {
            return Err(UsageError::InvalidArgument(
                "only PublicMessage handshakes can be followed without the group's secrets (RFC 9420 §6.3)",
            )
            .into());
        };
        let provider = self.provider.clone();
        let suite = Suite::new(&*provider, self.context.cipher_suite)?;
        let authenticated =
            framing::unprotect_public(&suite, message, &self.context, self.membership_key.as_ref(), |content| {
                signer_key(&self.context, &self.tree, content)
            })?;
        match &authenticated.content.body {
            FramedContentBody::Application(_) => {
                // unprotect_public already refuses this (§6); kept total.
                Err(rule("application data in a PublicMessage (RFC 9420 §6)"))
            }
            FramedContentBody::Proposal(proposal) => {
                let sender = authenticated.content.sender;
                self.check_proposal(&suite, &sender, proposal)?;
                let reference = authenticated.proposal_ref(&suite);
                if !self.proposals.iter().any(|p| p.reference == reference) {
                    self.proposals.push(CachedProposal {
                        reference: reference.clone(),
                        proposal: proposal.clone(),
                        sender,
                    });
                }
                Ok(PublicProcessed::Proposal { reference, proposal: Box::new(proposal.clone()), sender })
            }
            FramedContentBody::Commit(commit) => {
                let config = self.config.clone();
                let staged = config.install(|| self.stage_commit(&suite, &authenticated, commit))?;
                Ok(PublicProcessed::Commit(Box::new(staged)))
            }
        }
    }

    /// A proposal on its own (§12.1): the checks a member runs on receipt,
    /// plus what makes the proposal committable at all. A proposal that
    /// could never be committed (a bad KeyPackage, an Update with a bad
    /// leaf) is refused before it reaches the members: a committer that
    /// cached it would fail to commit.
    ///
    /// Key uniqueness is left to the commit: a Remove in the same commit may
    /// free a key an Add or Update reuses (§12.3 applies Removes first).
    fn check_proposal(&self, suite: &Suite<'_>, sender: &Sender, proposal: &Proposal) -> Result<(), Error> {
        check_single_proposal(&self.tree, sender, proposal)?;
        let required = RequiredCapabilities::find_in(&self.context.extensions)?;
        let rules = leaf_rules(&self.context, required.as_ref(), self.config.now());
        match (proposal, sender) {
            // §12.1.1: an Add is invalid if its KeyPackage is (§10.1).
            (Proposal::Add(add), _) => validate_key_package(suite, &add.key_package, &rules),
            // §12.1.2: the new leaf is validated as an update leaf (§7.3).
            (Proposal::Update(update), Sender::Member(leaf)) => {
                if !matches!(update.leaf_node.leaf_node_source, LeafNodeSource::Update) {
                    return Err(rule("Update leaf node source is not update (RFC 9420 §7.3)"));
                }
                validate_leaf_node(suite, &update.leaf_node, Some((&self.context.group_id, *leaf)), &rules)
            }
            _ => {
                // The list rules of §12.2 and §12.3 for a list of just this
                // proposal, on a throwaway stage. The committer is not known
                // yet: a leaf outside the tree, so the rules about the
                // committer's own Update or Remove cannot fire here; they are
                // checked when a commit names it.
                let list = [CommittedProposal { proposal: proposal.clone(), sender: *sender, reference: None }];
                let mut staged = self.tree.stage();
                let nobody = Committer::Member(LeafIndex(u32::MAX));
                apply_proposals(suite, &self.context, &mut staged, &list, nobody, self.config.now(), false).map(|_| ())
            }
        }
    }

    /// Validates a commit as a member does (§12.4.2), without the key
    /// schedule, and computes the next epoch's public state.
    fn stage_commit(
        &self,
        suite: &Suite<'_>,
        authenticated: &AuthenticatedContent,
        commit: &Commit,
    ) -> Result<StagedPublicCommit, Error> {
        let sender = authenticated.content.sender;
        let committer = match sender {
            Sender::Member(l) => Committer::Member(l),
            Sender::NewMemberCommit => Committer::External,
            _ => return Err(rule("commit from a sender that cannot commit (RFC 9420 §6)")),
        };

        let list = resolve_committed(&self.proposals, commit, sender)?;

        let now = self.config.now();
        let mut staged = self.tree.stage();
        let applied = apply_proposals(suite, &self.context, &mut staged, &list, committer, now, false)?;
        if applied.path_required && commit.path.is_none() {
            return Err(rule("commit lacks a required UpdatePath (RFC 9420 §12.4.2)"));
        }
        let new_members: Vec<LeafIndex> = applied.added.iter().map(|(l, _)| *l).collect();

        let committer_leaf = place_committer(&mut staged, committer, commit)?;

        if let Some(path) = &commit.path {
            check_path_leaf(suite, &self.context, &applied, &staged, committer, committer_leaf, &path.leaf_node, now)?;
            // The same public checks a member runs before decrypting (§7.5,
            // §7.6, §7.9.2), shared through treekem.
            apply_update_path_public(suite, &mut staged, committer_leaf, path, &new_members)?;
        }

        // §8.2: the confirmed transcript hash covers the signed commit; the
        // interim one its confirmation tag, which cannot be verified here.
        let tag = authenticated
            .auth
            .confirmation_tag
            .as_ref()
            .ok_or_else(|| rule("commit without confirmation tag (RFC 9420 §6.1)"))?;
        let confirmed = self.transcript.next_confirmed(suite, &authenticated.confirmed_transcript_hash_input());
        let context = GroupContext {
            epoch: self.context.epoch + 1,
            tree_hash: staged.root_hash(suite),
            confirmed_transcript_hash: confirmed,
            extensions: applied.extensions.clone().unwrap_or_else(|| self.context.extensions.clone()),
            ..self.context.clone()
        };
        let transcript = TranscriptHashes::new(suite, context.confirmed_transcript_hash.clone(), tag);
        Ok(StagedPublicCommit {
            committer: sender,
            committer_leaf,
            applied,
            base_epoch: self.context.epoch,
            base_tree_hash: self.tree.root_hash().to_vec(),
            context,
            tree_diff: staged.into_diff(),
            transcript,
            confirmation_tag: tag.clone(),
        })
    }

    /// Enters the epoch a staged commit starts: writes the tree changes
    /// (only the changed nodes), and replaces the GroupContext, transcript
    /// and tag. The epoch's proposals and membership key are dropped.
    pub fn merge_staged_commit(&mut self, staged: StagedPublicCommit) -> Result<(), Error> {
        if staged.base_epoch != self.context.epoch || staged.base_tree_hash != self.tree.root_hash() {
            return Err(
                UsageError::InvalidArgument("staged commit was not staged on this group's current epoch").into()
            );
        }
        let provider = self.provider.clone();
        let suite = Suite::new(&*provider, self.context.cipher_suite)?;
        let tree = &mut self.tree;
        let diff = staged.tree_diff;
        self.config.install(|| tree.merge(&suite, diff));
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

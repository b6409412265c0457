//! Creating, processing and merging Commits (RFC 9420 §12.4).

use rayon::prelude::*;

use crate::codec::Encode;
use crate::crypto::{HpkeCiphertext, Secret, Suite};
use crate::error::Error;
use crate::framing;
use crate::messages::RatchetTree as RatchetTreeExt;
use crate::messages::content::{
    AuthenticatedContent, FramedContent, FramedContentBody, MlsMessage, MlsMessageBody, Sender, WireFormat,
};
use crate::messages::registered_extensions::{ExtensionData, ExternalPub};
use crate::messages::{
    Commit, EncryptedGroupSecrets, GroupContext, GroupInfo, GroupSecrets, KeyPackage, LeafNode, PathSecret, Proposal,
    ProposalOrRef, ReInit, Welcome,
};
use crate::schedule::transcript::{confirmation_tag, verify_confirmation_tag};
use crate::schedule::{
    CommitSecret, EpochDerivation, EpochSecrets, InitSecret, TranscriptHashes, derive_epoch, psk_secret,
};
use crate::secret_tree::SecretTree;
use crate::tree::math::{self, LeafIndex, NodeIndex};
use crate::tree::{StagedTree, TreeDiff, TreeView, export_view};
use crate::treekem::{PrivateTree, apply_update_path, create_update_path};

use super::key_package::now;
use super::proposals::{
    AppliedProposals, CommittedProposal, Committer, apply_proposals, check_path_leaf, place_committer,
    resolve_committed,
};
use super::{Group, new_secret_tree, rule};

/// What to commit.
#[derive(Clone, Debug)]
pub struct CommitOptions {
    /// New proposals to include by value.
    pub proposals: Vec<Proposal>,
    /// Whether to include the proposals cached in this epoch by reference.
    pub include_pending: bool,
    /// Whether to send an UpdatePath even when no proposal requires one
    /// (§12.4: "by default, the path field MUST be populated").
    pub force_path: bool,
    /// `authenticated_data` of the FramedContent.
    pub authenticated_data: Vec<u8>,
}

impl Default for CommitOptions {
    fn default() -> Self {
        Self { proposals: Vec::new(), include_pending: true, force_path: true, authenticated_data: Vec::new() }
    }
}

impl CommitOptions {
    /// A commit of these proposals by value, with a path.
    pub fn with_proposals(proposals: Vec<Proposal>) -> Self {
        Self { proposals, ..Self::default() }
    }
}

/// The complete state of the next epoch, computed before anything of the
/// current one changes.
#[derive(Debug)]
pub(crate) struct NextEpoch {
    pub(crate) context: GroupContext,
    pub(crate) tree_diff: TreeDiff,
    pub(crate) private: PrivateTree,
    pub(crate) epoch: EpochSecrets,
    pub(crate) secret_tree: SecretTree,
    pub(crate) transcript: TranscriptHashes,
    pub(crate) confirmation_tag: Vec<u8>,
    pub(crate) reinit: Option<ReInit>,
}

/// A commit this member created, waiting for the delivery service's
/// verdict: merge it if it won the epoch, drop it otherwise.
#[derive(Debug)]
pub struct PendingCommit {
    /// The Commit to send to the group.
    pub message: MlsMessage,
    /// The Welcome for the members it adds, if any.
    pub welcome: Option<MlsMessage>,
    /// The signed GroupInfo of the new epoch (with the external public key,
    /// and the tree when `ratchet_tree_in_welcome`): present when the commit
    /// adds members or `GroupConfig::group_info_with_commit` is set.
    pub group_info: Option<GroupInfo>,
    applied: AppliedProposals,
    next: NextEpoch,
}

impl PendingCommit {
    /// What the commit's proposals do.
    pub fn applied(&self) -> &AppliedProposals {
        &self.applied
    }

    /// The epoch authenticator of the epoch this commit starts.
    pub fn epoch_authenticator(&self) -> &[u8] {
        self.next.epoch.epoch_authenticator().as_bytes()
    }
}

/// A commit received and validated, not yet merged.
#[derive(Debug)]
pub struct StagedCommit {
    committer: Sender,
    committer_leaf: LeafIndex,
    applied: AppliedProposals,
    /// `None` when the commit removes this member.
    next: Option<NextEpoch>,
}

impl StagedCommit {
    /// Who committed.
    pub fn committer(&self) -> &Sender {
        &self.committer
    }

    /// The committer's leaf (for an external commit, the leaf it joined at).
    pub fn committer_leaf(&self) -> LeafIndex {
        self.committer_leaf
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

    /// Everything the proposals did.
    pub fn applied(&self) -> &AppliedProposals {
        &self.applied
    }

    /// Whether this commit removes the member processing it.
    pub fn removes_self(&self) -> bool {
        self.next.is_none()
    }

    /// The new epoch number.
    pub fn new_epoch(&self) -> Option<u64> {
        self.next.as_ref().map(|n| n.context.epoch)
    }

    /// The epoch authenticator of the new epoch.
    pub fn epoch_authenticator(&self) -> Option<&[u8]> {
        self.next.as_ref().map(|n| n.epoch.epoch_authenticator().as_bytes())
    }
}

/// The provisional GroupContext (§12.4.1): new epoch and tree hash, the
/// old confirmed transcript hash, the new extensions.
fn provisional_context(old: &GroupContext, applied: &AppliedProposals, tree_hash: &[u8]) -> Vec<u8> {
    GroupContext {
        epoch: old.epoch + 1,
        tree_hash: tree_hash.to_vec(),
        extensions: applied.extensions.clone().unwrap_or_else(|| old.extensions.clone()),
        ..old.clone()
    }
    .to_bytes()
}

impl Group {
    fn now(&self) -> Option<u64> {
        self.config.check_lifetimes.then(now)
    }

    /// The cached proposals worth committing (§12.2's SHOULDs): not this
    /// member's own Updates, not its own removal, one Update/Remove per
    /// leaf with a Remove preferred over Updates, the latest Update last.
    /// Cached proposals that the commit's own `by_value` proposals
    /// supersede are left out: an Update or Remove of a leaf the committer
    /// removes, a GroupContextExtensions or PSK it sends itself (§12.2
    /// allows one of each).
    fn committable_proposals(&self, by_value: &[Proposal]) -> Vec<CommittedProposal> {
        let me = self.private.own_leaf;
        let removed_by_value = by_value.iter().filter_map(|p| match p {
            Proposal::Remove(r) => Some(r.removed.0),
            _ => None,
        });
        let removed: std::collections::HashSet<u32> = self
            .proposals
            .iter()
            .filter_map(|p| match &p.proposal {
                Proposal::Remove(r) => Some(r.removed.0),
                _ => None,
            })
            .chain(removed_by_value.clone())
            .collect();
        let extensions_by_value = by_value.iter().any(|p| matches!(p, Proposal::GroupContextExtensions(_)));
        let psks_by_value: Vec<_> = by_value
            .iter()
            .filter_map(|p| match p {
                Proposal::PreSharedKey(psk) => Some(&psk.psk),
                _ => None,
            })
            .collect();
        let mut seen_leaves: std::collections::HashSet<u32> = removed_by_value.collect();
        let mut out: Vec<CommittedProposal> = Vec::new();
        for p in self.proposals.iter().rev() {
            let keep = match (&p.proposal, &p.sender) {
                (Proposal::Update(_), Sender::Member(l)) => {
                    *l != me && !removed.contains(&l.0) && seen_leaves.insert(l.0)
                }
                (Proposal::Remove(r), _) => r.removed != me && seen_leaves.insert(r.removed.0),
                (Proposal::GroupContextExtensions(_), _) => !extensions_by_value,
                (Proposal::PreSharedKey(psk), _) => !psks_by_value.contains(&&psk.psk),
                // §12.2: a ReInit must be alone; other proposals are preferred.
                (Proposal::ReInit(_), _) => self.proposals.len() == 1 && by_value.is_empty(),
                (Proposal::ExternalInit(_), _) => false,
                _ => true,
            };
            if keep {
                out.push(CommittedProposal {
                    proposal: p.proposal.clone(),
                    sender: p.sender,
                    reference: Some(p.reference.clone()),
                });
            }
        }
        out.reverse();
        out
    }

    /// Creates a Commit (§12.4.1) and, when it adds members, the Welcome
    /// (§12.4.3.1). The group does not change until the result is merged.
    pub fn commit(&mut self, options: CommitOptions) -> Result<PendingCommit, Error> {
        if !self.is_active() {
            return Err(crate::error::UsageError::InvalidArgument("group is no longer active").into());
        }
        let config = self.config.clone();
        config.install(|| self.commit_inner(options))
    }

    fn commit_inner(&mut self, options: CommitOptions) -> Result<PendingCommit, Error> {
        let provider = self.provider.clone();
        let suite = Suite::new(&*provider, self.context.cipher_suite)?;
        let me = self.private.own_leaf;
        let mut list =
            if options.include_pending { self.committable_proposals(&options.proposals) } else { Vec::new() };
        list.extend(options.proposals.iter().map(|p| CommittedProposal {
            proposal: p.clone(),
            sender: Sender::Member(me),
            reference: None,
        }));

        let tree = self.tree.clone();
        let mut staged = tree.stage();
        let applied =
            apply_proposals(&suite, &self.context, &mut staged, &list, Committer::Member(me), self.now(), true)?;
        let new_members: Vec<LeafIndex> = applied.added.iter().map(|(l, _)| *l).collect();

        let (path, commit_secret, private, path_secrets) = if options.force_path || applied.path_required {
            let leaf = self.own_leaf_node()?.clone();
            let created = create_update_path(
                &suite,
                &mut staged,
                me,
                leaf,
                &self.identity.signer.private,
                &self.context.group_id,
                &new_members,
                |th| provisional_context(&self.context, &applied, th),
            )?;
            (Some(created.update_path), created.commit_secret, created.private, created.path_secrets)
        } else {
            let mut private = self.private.clone();
            private.retain_consistent(&staged);
            (None, CommitSecret::zero(&suite), private, Vec::new())
        };

        let commit = Commit {
            proposals: list
                .iter()
                .map(|p| match &p.reference {
                    Some(r) => ProposalOrRef::Reference(r.clone()),
                    None => ProposalOrRef::Proposal(Box::new(p.proposal.clone())),
                })
                .collect(),
            path,
        };
        let wire_format = self.config.handshake_wire_format;
        let content = FramedContent {
            group_id: self.context.group_id.clone(),
            epoch: self.context.epoch,
            sender: Sender::Member(me),
            authenticated_data: options.authenticated_data,
            body: FramedContentBody::Commit(commit),
        };
        let signed =
            framing::sign_content(&suite, &self.identity.signer.private, wire_format, content, Some(&self.context))?;
        let (context, derivation) = self.derive_next_epoch(
            &suite,
            &mut staged,
            &applied,
            &commit_secret,
            self.epoch.init_secret(),
            &signed.confirmed_transcript_hash_input(),
        )?;
        let EpochDerivation { joiner_secret, welcome_secret, mut epoch_secrets } = derivation;
        let tag = confirmation_tag(&suite, epoch_secrets.confirmation_key(), &context.confirmed_transcript_hash);
        let transcript = TranscriptHashes::new(&suite, context.confirmed_transcript_hash.clone(), &tag);
        let authenticated = signed.confirm(tag.clone())?;
        let message = self.protect_handshake(&suite, authenticated)?;

        // The GroupInfo of the new epoch (§12.4.3): needed for a Welcome, and
        // published for external joiners when configured. Building it costs
        // a signature and, with the tree, an O(n) export, so it is skipped
        // otherwise.
        let group_info = if !applied.added.is_empty() || self.config.group_info_with_commit {
            let mut extensions = vec![ExternalPub { external_pub: epoch_secrets.external_pub(&suite)? }.to_extension()];
            if self.config.ratchet_tree_in_welcome {
                extensions.push(RatchetTreeExt::to_extension(&export_view(&staged)));
            }
            let mut info = GroupInfo {
                group_context: context.clone(),
                extensions,
                confirmation_tag: tag.clone(),
                signer: me,
                signature: Vec::new(),
            };
            info.sign(&suite, &self.identity.signer.private)?;
            Some(info)
        } else {
            None
        };
        let welcome = match (&group_info, applied.added.is_empty()) {
            (Some(info), false) => {
                let psks = applied.psks.clone();
                Some(build_welcome(
                    &suite,
                    info,
                    &applied.added,
                    me,
                    &path_secrets,
                    &joiner_secret,
                    &welcome_secret,
                    psks,
                )?)
            }
            _ => None,
        };
        let secret_tree = new_secret_tree(&suite, &mut epoch_secrets, staged.leaf_count(), &self.config)?;
        let next = NextEpoch {
            context,
            tree_diff: staged.into_diff(),
            private,
            epoch: epoch_secrets,
            secret_tree,
            transcript,
            confirmation_tag: tag,
            reinit: applied.reinit.clone(),
        };
        Ok(PendingCommit { message, welcome, group_info, applied, next })
    }

    /// Protects a handshake message with the current epoch's keys, in the
    /// configured wire format.
    fn protect_handshake(
        &mut self,
        suite: &Suite<'_>,
        authenticated: AuthenticatedContent,
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
                Some(&self.context),
                Some(self.epoch.membership_key()),
            )?)
        };
        Ok(MlsMessage::new(body))
    }

    /// The new GroupContext and key schedule (§8, §12.4.1): the confirmed
    /// transcript hash over the signed commit, the PSKs, and every secret
    /// of the new epoch.
    pub(crate) fn derive_next_epoch(
        &self,
        suite: &Suite<'_>,
        staged: &mut StagedTree<'_>,
        applied: &AppliedProposals,
        commit_secret: &CommitSecret,
        init_secret: &InitSecret,
        confirmed_input: &[u8],
    ) -> Result<(GroupContext, EpochDerivation), Error> {
        let context = GroupContext {
            epoch: self.context.epoch + 1,
            tree_hash: staged.root_hash(suite),
            confirmed_transcript_hash: self.transcript.next_confirmed(suite, confirmed_input),
            extensions: applied.extensions.clone().unwrap_or_else(|| self.context.extensions.clone()),
            ..self.context.clone()
        };
        let psks: Vec<(crate::messages::PreSharedKeyId, Secret)> =
            applied.psks.iter().map(|id| Ok((id.clone(), self.resolve_psk(id)?))).collect::<Result<_, Error>>()?;
        let psk = psk_secret(suite, psks.iter().map(|(id, s)| (id, s)))?;
        let derivation = derive_epoch(suite, init_secret, commit_secret, &psk, &context.to_bytes())?;
        Ok((context, derivation))
    }

    /// Enters the epoch a pending commit starts (the delivery service
    /// accepted it).
    pub fn merge_pending_commit(&mut self, pending: PendingCommit) -> Result<(), Error> {
        if pending.next.context.epoch != self.context.epoch + 1 {
            return Err(rule("pending commit is not for the current epoch"));
        }
        self.install(pending.next, None)
    }

    /// Enters the epoch a received commit starts; if it removed this
    /// member, the group becomes inactive.
    pub fn merge_staged_commit(&mut self, staged: StagedCommit) -> Result<(), Error> {
        self.merge_staged(staged, None)
    }

    /// [`merge_staged_commit`](Self::merge_staged_commit) for a member
    /// co-resident with `peer`, which already merged the same commit: when
    /// `peer`'s tree hash equals the new tree hash this member computed
    /// itself while staging, the member adopts `peer`'s tree instead of
    /// writing the same diff into a copy of its own (the copy-on-write of a
    /// shared tree costs O(n)). Otherwise it merges as usual.
    pub fn merge_staged_commit_sharing(&mut self, staged: StagedCommit, peer: &Group) -> Result<(), Error> {
        self.merge_staged(staged, Some(peer))
    }

    fn merge_staged(&mut self, staged: StagedCommit, peer: Option<&Group>) -> Result<(), Error> {
        let Some(next) = staged.next else {
            self.active = false;
            return Ok(());
        };
        if next.context.epoch != self.context.epoch + 1 {
            return Err(rule("staged commit is not for the current epoch"));
        }
        let shared = peer.filter(|peer| {
            peer.context.cipher_suite == self.context.cipher_suite
                && peer.tree.root_hash() == next.context.tree_hash.as_slice()
        });
        self.install(next, shared.map(|peer| peer.tree.clone()))
    }

    /// Enters `next`; `shared` is an identical tree of the new epoch (same
    /// root hash as `next.context.tree_hash`) to adopt instead of merging.
    fn install(
        &mut self,
        next: NextEpoch,
        shared: Option<std::sync::Arc<crate::tree::RatchetTree>>,
    ) -> Result<(), Error> {
        let provider = self.provider.clone();
        let suite = Suite::new(&*provider, self.context.cipher_suite)?;
        match shared {
            Some(tree) => self.tree = tree,
            None => {
                let tree = std::sync::Arc::make_mut(&mut self.tree);
                self.config.install(|| tree.merge(&suite, next.tree_diff));
            }
        }
        let old_epoch = self.context.epoch;
        let old_psk = self.epoch.resumption_psk().clone();
        self.resumption_psks.push_back((old_epoch, old_psk));
        while self.resumption_psks.len() > self.config.resumption_psk_epochs {
            self.resumption_psks.pop_front();
        }
        self.context = next.context;
        self.private = next.private;
        self.epoch = next.epoch;
        self.secret_tree = next.secret_tree;
        self.transcript = next.transcript;
        self.confirmation_tag = next.confirmation_tag;
        self.proposals.clear();
        self.pending_leaf_keys.clear();
        if next.reinit.is_some() {
            self.pending_reinit = next.reinit;
        }
        Ok(())
    }

    /// Validates a received commit and computes the epoch it starts
    /// (§12.4.2); nothing of the group changes.
    pub(crate) fn stage_commit(
        &self,
        authenticated: &AuthenticatedContent,
        commit: &Commit,
    ) -> Result<StagedCommit, Error> {
        self.config.install(|| self.stage_commit_inner(authenticated, commit))
    }

    fn stage_commit_inner(&self, authenticated: &AuthenticatedContent, commit: &Commit) -> Result<StagedCommit, Error> {
        let suite = self.suite()?;
        let me = self.private.own_leaf;
        let sender = authenticated.content.sender;
        let committer = match sender {
            Sender::Member(l) if l == me => return Err(rule("own commit: merge the pending commit instead")),
            Sender::Member(l) => Committer::Member(l),
            Sender::NewMemberCommit => Committer::External,
            _ => return Err(rule("commit from a sender that cannot commit (RFC 9420 §6)")),
        };

        let list = resolve_committed(&self.proposals, commit, sender)?;

        let tree = self.tree.clone();
        let mut staged = tree.stage();
        let applied = apply_proposals(&suite, &self.context, &mut staged, &list, committer, self.now(), true)?;
        if applied.path_required && commit.path.is_none() {
            return Err(rule("commit lacks a required UpdatePath (RFC 9420 §12.4.2)"));
        }
        let new_members: Vec<LeafIndex> = applied.added.iter().map(|(l, _)| *l).collect();

        let committer_leaf = place_committer(&mut staged, committer, commit)?;
        if applied.removed.iter().any(|(l, _)| *l == me) {
            return Ok(StagedCommit { committer: sender, committer_leaf, applied, next: None });
        }

        let (commit_secret, private) = match &commit.path {
            Some(path) => {
                check_path_leaf(
                    &suite,
                    &self.context,
                    &applied,
                    &staged,
                    committer,
                    committer_leaf,
                    &path.leaf_node,
                    self.now(),
                )?;
                let mut own = self.private.clone();
                if applied.updated.contains(&me) {
                    let key = staged.leaf(me).map(|n| n.encryption_key.clone());
                    if let Some(pair) = self.pending_leaf_keys.iter().find(|p| Some(&p.public) == key.as_ref()) {
                        own.insert(me.node(), pair.clone());
                    }
                }
                let applied_path =
                    apply_update_path(&suite, &mut staged, committer_leaf, path, &own, &new_members, |th| {
                        provisional_context(&self.context, &applied, th)
                    })?;
                (applied_path.commit_secret, applied_path.private)
            }
            None => {
                let mut own = self.private.clone();
                if applied.updated.contains(&me) {
                    let key = staged.leaf(me).map(|n| n.encryption_key.clone());
                    if let Some(pair) = self.pending_leaf_keys.iter().find(|p| Some(&p.public) == key.as_ref()) {
                        own.insert(me.node(), pair.clone());
                    }
                }
                own.retain_consistent(&staged);
                (CommitSecret::zero(&suite), own)
            }
        };

        let init_secret = match (&committer, &applied.external_init) {
            (Committer::External, Some(kem_output)) => {
                let pair = self.epoch.external_key_pair(&suite)?;
                InitSecret::from_external_init(&suite, &pair.private, kem_output)?
            }
            _ => self.epoch.init_secret().clone(),
        };
        let (context, derivation) = self.derive_next_epoch(
            &suite,
            &mut staged,
            &applied,
            &commit_secret,
            &init_secret,
            &authenticated.confirmed_transcript_hash_input(),
        )?;
        let mut epoch_secrets = derivation.epoch_secrets;
        let tag = authenticated
            .auth
            .confirmation_tag
            .as_ref()
            .ok_or_else(|| rule("commit without confirmation tag (RFC 9420 §6.1)"))?;
        verify_confirmation_tag(&suite, epoch_secrets.confirmation_key(), &context.confirmed_transcript_hash, tag)?;
        let transcript = TranscriptHashes::new(&suite, context.confirmed_transcript_hash.clone(), tag);
        let secret_tree = new_secret_tree(&suite, &mut epoch_secrets, staged.leaf_count(), &self.config)?;
        let next = NextEpoch {
            context,
            tree_diff: staged.into_diff(),
            private,
            epoch: epoch_secrets,
            secret_tree,
            transcript,
            confirmation_tag: tag.clone(),
            reinit: applied.reinit.clone(),
        };
        Ok(StagedCommit { committer: sender, committer_leaf, applied, next: Some(next) })
    }
}

/// Builds the Welcome (§12.4.3.1): the GroupInfo encrypted once under the
/// welcome key, then one GroupSecrets per new member sealed to its init
/// key, in parallel (DESIGN.md, performance design 2).
#[allow(clippy::too_many_arguments)]
fn build_welcome(
    suite: &Suite<'_>,
    group_info: &GroupInfo,
    added: &[(LeafIndex, KeyPackage)],
    committer: LeafIndex,
    path_secrets: &[(NodeIndex, Secret)],
    joiner_secret: &crate::schedule::JoinerSecret,
    welcome_secret: &crate::schedule::WelcomeSecret,
    psks: Vec<crate::messages::PreSharedKeyId>,
) -> Result<MlsMessage, Error> {
    let (key, nonce) = welcome_secret.key_and_nonce(suite)?;
    let encrypted_group_info = suite.aead_seal(key.as_bytes(), nonce.as_bytes(), &[], &group_info.to_bytes())?;
    // The whole encrypted GroupInfo is the HPKE context of every seal: hash
    // it once, not once per joiner.
    let prepared = suite.prepare_encrypt_context("Welcome", &encrypted_group_info);
    let secrets = added
        .par_iter()
        .map(|(leaf, kp)| {
            // The path secret of the lowest common ancestor of the new member
            // and the committer, when the commit has a path (§12.4.3.1).
            let ancestor = math::common_ancestor(leaf.node(), committer.node());
            let path_secret =
                path_secrets.iter().find(|(n, _)| *n == ancestor).map(|(_, s)| PathSecret { path_secret: s.clone() });
            let group_secrets =
                GroupSecrets { joiner_secret: joiner_secret.as_secret().clone(), path_secret, psks: psks.clone() };
            let sealed: HpkeCiphertext =
                suite.encrypt_with_prepared(&prepared, kp.init_key.as_bytes(), &group_secrets.to_bytes())?;
            Ok(EncryptedGroupSecrets { new_member: kp.make_ref(suite), encrypted_group_secrets: sealed })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(MlsMessage::new(MlsMessageBody::Welcome(Welcome {
        cipher_suite: suite.cipher_suite(),
        secrets,
        encrypted_group_info,
    })))
}

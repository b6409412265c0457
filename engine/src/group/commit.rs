//! Creating, processing and merging Commits (RFC 9420 §12.4): the public
//! part of every commit is staged by the group's [`PublicGroup`]; a member
//! adds its secrets (path secrets, key schedule, secret tree).

use rayon::prelude::*;

use crate::codec::Encode;
use crate::crypto::{HpkeCiphertext, Secret, Suite};
use crate::error::{Error, InternalError, UsageError};
use crate::framing;
use crate::messages::RatchetTreeExtension;
use crate::messages::content::{
    AuthenticatedContent, FramedContent, FramedContentBody, MlsMessage, MlsMessageBody, Sender,
};
use crate::messages::registered_extensions::{ExtensionData, ExternalPub};
use crate::messages::{
    Commit, Credential, EncryptedGroupSecrets, GroupContext, GroupInfo, GroupSecrets, KeyPackage, LeafNode, PathSecret,
    Proposal, ProposalOrRef, Welcome,
};
use crate::public_group::{
    AppliedProposals, CachedProposal, CommittedProposal, Committer, PublicStage, StagedPublicCommit, apply_proposals,
};
use crate::schedule::transcript::{confirmation_tag, verify_confirmation_tag};
use crate::schedule::{
    CommitSecret, EpochDerivation, EpochSecrets, InitSecret, TranscriptHashes, derive_epoch, psk_secret,
};
use crate::secret_tree::SecretTree;
use crate::tree::{TreeView, export_view};
use crate::tree_math::{self as math, LeafIndex, NodeIndex};
use crate::treekem::{PrivateTree, create_update_path, decrypt_update_path};

use super::retention::{ReplacedKeys, Retained};
use super::{Group, new_secret_tree};

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
    /// A new credential for this member, carried by the commit's path leaf
    /// (which the commit then always has). Every receiver asks its
    /// [`IdentityValidator`](crate::identity::IdentityValidator) whether it
    /// is a valid successor of the current one (§5.3.1); its type must be
    /// in the leaf's capabilities (§7.2).
    pub credential: Option<Credential>,
}

impl Default for CommitOptions {
    fn default() -> Self {
        Self {
            proposals: Vec::new(),
            include_pending: true,
            force_path: true,
            authenticated_data: Vec::new(),
            credential: None,
        }
    }
}

impl CommitOptions {
    /// A commit of these proposals by value, with a path.
    pub fn with_proposals(proposals: Vec<Proposal>) -> Self {
        Self { proposals, ..Self::default() }
    }
}

/// A member's secrets of the epoch a commit starts, computed before
/// anything of the current one changes.
#[derive(Debug)]
pub(crate) struct NextSecrets {
    pub(crate) private: PrivateTree,
    pub(crate) epoch: EpochSecrets,
    pub(crate) secret_tree: SecretTree,
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
    public: StagedPublicCommit,
    secrets: NextSecrets,
}

impl PendingCommit {
    pub(crate) fn next_epoch_secrets(&self) -> &EpochSecrets {
        &self.secrets.epoch
    }

    /// What the commit's proposals do.
    pub fn applied(&self) -> &AppliedProposals {
        self.public.applied()
    }

    /// The public state of the epoch this commit starts.
    pub fn public(&self) -> &StagedPublicCommit {
        &self.public
    }

    /// The epoch authenticator of the epoch this commit starts.
    pub fn epoch_authenticator(&self) -> &[u8] {
        self.secrets.epoch.epoch_authenticator().as_bytes()
    }
}

/// A commit received and validated, not yet merged.
#[derive(Debug)]
pub struct StagedCommit {
    public: StagedPublicCommit,
    /// `None` when the commit removes this member.
    secrets: Option<NextSecrets>,
}

impl StagedCommit {
    /// The new epoch's secrets; `None` when the commit removes this member.
    pub(crate) fn next_epoch_secrets(&self) -> Option<&EpochSecrets> {
        self.secrets.as_ref().map(|n| &n.epoch)
    }

    /// The public state of the epoch this commit starts, as a server
    /// following the group stages it.
    pub fn public(&self) -> &StagedPublicCommit {
        &self.public
    }

    /// Who committed.
    pub fn committer(&self) -> &Sender {
        self.public.committer()
    }

    /// The committer's leaf (for an external commit, the leaf it joined at).
    pub fn committer_leaf(&self) -> LeafIndex {
        self.public.committer_leaf()
    }

    /// Members added, with their leaves.
    pub fn added(&self) -> &[(LeafIndex, KeyPackage)] {
        self.public.added()
    }

    /// Members removed, with the leaf node they held.
    pub fn removed(&self) -> &[(LeafIndex, LeafNode)] {
        self.public.removed()
    }

    /// Members whose Update was applied.
    pub fn updated(&self) -> &[LeafIndex] {
        self.public.updated()
    }

    /// The application-defined proposals the commit covers, accepted by
    /// the configured [`CustomProposalValidator`](crate::CustomProposalValidator),
    /// for the application to act on when it merges the commit.
    pub fn custom_proposals(&self) -> &[CommittedProposal] {
        &self.public.applied().custom
    }

    /// Everything the proposals did.
    pub fn applied(&self) -> &AppliedProposals {
        self.public.applied()
    }

    /// Whether this commit removes the member processing it.
    pub fn removes_self(&self) -> bool {
        self.secrets.is_none()
    }

    /// The new epoch number.
    pub fn new_epoch(&self) -> Option<u64> {
        self.secrets.as_ref().map(|_| self.public.new_epoch())
    }

    /// The epoch authenticator of the new epoch.
    pub fn epoch_authenticator(&self) -> Option<&[u8]> {
        self.secrets.as_ref().map(|n| n.epoch.epoch_authenticator().as_bytes())
    }
}

impl Group {
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
        let cache = &self.public.proposals;
        // draft-ietf-mls-extensions: a member's SelfRemove wins over a
        // Remove or an Update of its leaf (the Remove would be invalid).
        let self_removing = |p: &CachedProposal| match (&p.proposal, p.sender) {
            (Proposal::SelfRemove, Sender::Member(l)) => Some(l.0),
            _ => None,
        };
        let self_removed: std::collections::HashSet<u32> =
            cache.iter().filter_map(self_removing).filter(|&l| l != me.0).collect();
        let removed: std::collections::HashSet<u32> = cache
            .iter()
            .filter_map(|p| match &p.proposal {
                Proposal::Remove(r) => Some(r.removed.0),
                _ => None,
            })
            .chain(removed_by_value.clone())
            .chain(self_removed.iter().copied())
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
        for p in cache.iter().rev() {
            let keep = match (&p.proposal, &p.sender) {
                (Proposal::Update(_), Sender::Member(l)) => {
                    *l != me && !removed.contains(&l.0) && seen_leaves.insert(l.0)
                }
                (Proposal::Remove(r), _) => {
                    r.removed != me && !self_removed.contains(&r.removed.0) && seen_leaves.insert(r.removed.0)
                }
                // Not this member's own: a committer cannot remove itself.
                (Proposal::SelfRemove, Sender::Member(l)) => *l != me && seen_leaves.insert(l.0),
                (Proposal::GroupContextExtensions(_), _) => !extensions_by_value,
                (Proposal::PreSharedKey(psk), _) => !psks_by_value.contains(&&psk.psk),
                // §12.2: a ReInit must be alone; other proposals are preferred.
                (Proposal::ReInit(_), _) => cache.len() == 1 && by_value.is_empty(),
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
        self.require_active()?;
        let config = self.config.clone();
        // A commit carries peers' KeyPackages and, in its Welcome, the tree.
        config.on_pool(|| crate::codec::checked(|| self.commit_inner(options)))?
    }

    fn commit_inner(&mut self, options: CommitOptions) -> Result<PendingCommit, Error> {
        let provider = self.public.provider.clone();
        let suite = Suite::new(&*provider, self.public.context.cipher_suite)?;
        let me = self.private.own_leaf;
        let mut list =
            if options.include_pending { self.committable_proposals(&options.proposals) } else { Vec::new() };
        list.extend(options.proposals.iter().map(|p| CommittedProposal {
            proposal: p.clone(),
            sender: Sender::Member(me),
            reference: None,
        }));

        let public = &self.public;
        let context = &public.context;
        let tree = public.tree.clone();
        let mut staged = tree.stage();
        let applied =
            apply_proposals(&suite, context, &mut staged, &list, Committer::Member(me), &public.config, true)?;
        let new_members = applied.new_members();

        let with_path = options.force_path || applied.path_required || options.credential.is_some();
        let (path, commit_secret, private, path_secrets) = if with_path {
            let mut leaf = self.own_leaf_node()?.clone();
            if let Some(credential) = &options.credential {
                leaf.credential = credential.clone();
            }
            let created = create_update_path(
                &suite,
                &mut staged,
                me,
                leaf,
                &self.identity.signer.private,
                &context.group_id,
                &new_members,
                |tree_hash| public.provisional_context(tree_hash, &applied).to_bytes(),
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
        let content = FramedContent {
            group_id: context.group_id.clone(),
            epoch: context.epoch,
            sender: Sender::Member(me),
            authenticated_data: options.authenticated_data,
            body: FramedContentBody::Commit(commit),
        };
        let wire_format = self.config.handshake_wire_format;
        let signed = framing::sign_content(&suite, &self.identity.signer.private, wire_format, content, Some(context))?;
        let next_context =
            public.next_context(&suite, &mut staged, &applied, &[&signed.confirmed_transcript_hash_input()]);
        let EpochDerivation { joiner_secret, welcome_secret, mut epoch_secrets } =
            self.derive_epoch(&suite, &next_context, &applied, &commit_secret, self.epoch.init_secret())?;
        let tag = confirmation_tag(&suite, epoch_secrets.confirmation_key(), &next_context.confirmed_transcript_hash);
        let transcript = TranscriptHashes::new(&suite, next_context.confirmed_transcript_hash.clone(), &tag);

        // The GroupInfo of the new epoch (§12.4.3): needed for a Welcome, and
        // published for external joiners when configured. Building it costs
        // a signature and, with the tree, an O(n) export, so it is skipped
        // otherwise.
        let group_info = if !applied.added.is_empty() || self.config.group_info_with_commit {
            let mut extensions = vec![ExternalPub { external_pub: epoch_secrets.external_pub(&suite)? }.to_extension()];
            if self.config.ratchet_tree_in_welcome {
                extensions.push(RatchetTreeExtension::to_extension(&export_view(&staged)));
            }
            let mut info = GroupInfo {
                group_context: next_context.clone(),
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
            (Some(info), false) => Some(build_welcome(
                &suite,
                info,
                &applied.added,
                me,
                &path_secrets,
                &joiner_secret,
                &welcome_secret,
                &applied.psks,
            )?),
            _ => None,
        };
        let secret_tree = new_secret_tree(&suite, &mut epoch_secrets, staged.leaf_count(), &self.config)?;
        let base_tree_hash = public.tree.root_hash().to_vec();
        let next = StagedPublicCommit {
            committer: Sender::Member(me),
            committer_leaf: me,
            applied,
            has_path: with_path,
            base_epoch: context.epoch,
            base_tree_hash,
            context: next_context,
            tree_diff: staged.into_diff(),
            transcript,
            confirmation_tag: tag.clone(),
        };
        let message = self.protect(&suite, signed.confirm(tag)?)?;
        Ok(PendingCommit {
            message,
            welcome,
            group_info,
            public: next,
            secrets: NextSecrets { private, epoch: epoch_secrets, secret_tree },
        })
    }

    /// The key schedule of the epoch `next` starts (§8): the commit's PSKs
    /// resolved, then every secret of the new epoch.
    fn derive_epoch(
        &self,
        suite: &Suite<'_>,
        next: &GroupContext,
        applied: &AppliedProposals,
        commit_secret: &CommitSecret,
        init_secret: &InitSecret,
    ) -> Result<EpochDerivation, Error> {
        let psks: Vec<(crate::messages::PreSharedKeyId, Secret)> =
            applied.psks.iter().map(|id| Ok((id.clone(), self.resolve_psk(id)?))).collect::<Result<_, Error>>()?;
        let psk = psk_secret(suite, psks.iter().map(|(id, s)| (id, s)))?;
        derive_epoch(suite, init_secret, commit_secret, &psk, &next.to_bytes())
    }

    /// Enters the epoch a pending commit starts (the delivery service
    /// accepted it).
    pub fn merge_pending_commit(&mut self, pending: PendingCommit) -> Result<(), Error> {
        self.enter_epoch(pending.public, pending.secrets, None)
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
        let Some(secrets) = staged.secrets else {
            if staged.public.base_epoch != self.public.context.epoch {
                return Err(UsageError::StaleCommit.into());
            }
            self.active = false;
            self.retained.clear();
            return Ok(());
        };
        let shared = peer.filter(|peer| peer.public.context.cipher_suite == self.public.context.cipher_suite);
        self.enter_epoch(staged.public, secrets, shared.map(|peer| &peer.public.tree))
    }

    /// Enters the epoch a commit starts: its public state (the tree diff, or
    /// `shared` when that is the new epoch's tree) and this member's
    /// secrets of it. The current epoch's resumption PSK is kept (§8.6).
    fn enter_epoch(
        &mut self,
        public: StagedPublicCommit,
        secrets: NextSecrets,
        shared: Option<&std::sync::Arc<crate::tree::RatchetTree>>,
    ) -> Result<(), Error> {
        let old_epoch = self.public.context.epoch;
        // Read before the merge: the keys the commit replaces, as this
        // epoch had them (prior-epoch retention).
        let retaining = self.config.retention.epochs > 0;
        let replaced = if retaining {
            Retained::replaced_keys(&self.public.tree, public.tree_diff.leaves.keys().copied())
        } else {
            ReplacedKeys::default()
        };
        let old_context = if retaining { Some(self.public.context.clone()) } else { None };
        self.public.merge_sharing(public, shared)?;
        let old_psk = self.epoch.resumption_psk().clone();
        self.resumption_psks.push_back((old_epoch, old_psk));
        while self.resumption_psks.len() > self.config.resumption_psk_epochs {
            self.resumption_psks.pop_front();
        }
        self.private = secrets.private;
        let old_secrets = std::mem::replace(&mut self.epoch, secrets.epoch);
        let old_tree = std::mem::replace(&mut self.secret_tree, secrets.secret_tree);
        match old_context {
            Some(context) => self.retained.retire(&self.config.retention, context, &old_secrets, old_tree, replaced),
            None => self.retained.clear(),
        }
        // A commit (this member's, or one applying its Update) may have
        // given it a new credential.
        if let Some(own) = self.public.tree.leaf(self.private.own_leaf) {
            if own.credential != self.identity.credential {
                self.identity.credential = own.credential.clone();
            }
        }
        self.pending_leaf_keys.clear();
        self.deferred.clear();
        Ok(())
    }

    /// Validates a received commit and computes the epoch it starts
    /// (§12.4.2); nothing of the group changes.
    /// `confirmed_input`: see `PublicGroup::stage_commit`.
    pub(crate) fn stage_commit(
        &self,
        authenticated: &AuthenticatedContent,
        commit: &Commit,
        confirmed_input: Option<[&[u8]; 2]>,
    ) -> Result<StagedCommit, Error> {
        self.config.on_pool(|| self.stage_commit_inner(authenticated, commit, confirmed_input))
    }

    /// The group's public staging (everything a server checks), then this
    /// member's part: the path secret addressed to it, the key schedule,
    /// the confirmation tag (§12.4.2).
    fn stage_commit_inner(
        &self,
        authenticated: &AuthenticatedContent,
        commit: &Commit,
        confirmed_input: Option<[&[u8]; 2]>,
    ) -> Result<StagedCommit, Error> {
        let suite = self.suite()?;
        let me = self.private.own_leaf;
        if authenticated.content.sender == Sender::Member(me) {
            return Err(UsageError::OwnCommit.into());
        }
        let stage = self.public.stage_commit(&suite, authenticated, commit, true, confirmed_input)?;
        if stage.applied.removed.iter().any(|(l, _)| *l == me) {
            return Ok(StagedCommit { public: stage.finish(), secrets: None });
        }
        let (commit_secret, private) = self.decrypt_commit(&suite, &stage, commit)?;
        let init_secret = match &stage.applied.external_init {
            Some(kem_output) if stage.committer == Sender::NewMemberCommit => {
                let pair = self.epoch.external_key_pair(&suite)?;
                InitSecret::from_external_init(&suite, &pair.private, kem_output)?
            }
            _ => self.epoch.init_secret().clone(),
        };
        let mut epoch =
            self.derive_epoch(&suite, &stage.context, &stage.applied, &commit_secret, &init_secret)?.epoch_secrets;
        verify_confirmation_tag(
            &suite,
            epoch.confirmation_key(),
            &stage.context.confirmed_transcript_hash,
            &stage.confirmation_tag,
        )?;
        let secret_tree = new_secret_tree(&suite, &mut epoch, stage.staged.leaf_count(), &self.config)?;
        Ok(StagedCommit { public: stage.finish(), secrets: Some(NextSecrets { private, epoch, secret_tree }) })
    }

    /// This member's keys after a commit (§7.5): its own leaf key (the new
    /// one if the commit applies its Update), then, when the commit has a
    /// path, the path secret addressed to it and those above it, whose
    /// topmost yields the commit secret.
    fn decrypt_commit(
        &self,
        suite: &Suite<'_>,
        stage: &PublicStage<'_>,
        commit: &Commit,
    ) -> Result<(CommitSecret, PrivateTree), Error> {
        let me = self.private.own_leaf;
        let mut own = self.private.clone();
        if stage.applied.updated.contains(&me) {
            let key = stage.staged.leaf(me).map(LeafNode::encryption_key);
            if let Some(pair) = self.pending_leaf_keys.iter().find(|p| Some(p.public.as_bytes()) == key) {
                own.insert(me.node(), pair.clone());
            }
        }
        match (&commit.path, &stage.path) {
            (Some(path), Some(public_path)) => {
                let context = self.public.provisional_context(&stage.context.tree_hash, &stage.applied).to_bytes();
                let applied = decrypt_update_path(suite, &stage.staged, path, public_path, &own, &context)?;
                Ok((applied.commit_secret, applied.private))
            }
            (None, None) => {
                own.retain_consistent(&stage.staged);
                Ok((CommitSecret::zero(suite), own))
            }
            _ => Err(InternalError::invariant("a staged commit has a public path exactly when it has a path")),
        }
    }
}

/// Builds the Welcome (§12.4.3.1): the GroupInfo encrypted once under the
/// welcome key, then one GroupSecrets per new member sealed to its init
/// key, in parallel (docs/ARCHITECTURE.md, performance design 2).
#[allow(clippy::too_many_arguments)]
fn build_welcome(
    suite: &Suite<'_>,
    group_info: &GroupInfo,
    added: &[(LeafIndex, KeyPackage)],
    committer: LeafIndex,
    path_secrets: &[(NodeIndex, Secret)],
    joiner_secret: &crate::schedule::JoinerSecret,
    welcome_secret: &crate::schedule::WelcomeSecret,
    psks: &[crate::messages::PreSharedKeyId],
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
                GroupSecrets { joiner_secret: joiner_secret.as_secret().clone(), path_secret, psks: psks.to_vec() };
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

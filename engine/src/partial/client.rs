//! A partial client (draft-ietf-mls-partial): a member that holds the
//! group's secrets, its own leaf's membership proof and the private keys
//! of its direct path, never the ratchet tree. It joins from an
//! [`AnnotatedWelcome`], follows the group through [`AnnotatedCommit`]s and
//! reads application messages that carry their sender's proof
//! ([`SenderAuthenticatedMessage`]). It never commits.
//!
//! Its state is O(log n): the GroupContext, the epoch's secrets, a lazily
//! derived secret tree, its own proof (one node and one hash per level) and
//! one key per non-blank node of its direct path. Every check the draft
//! replaces (tree validation by proofs, the signer's key from a proof) is
//! made before any secret is touched, and a rejected message leaves the
//! state as it was (a PrivateMessage that decrypted still consumes its key,
//! RFC 9420 §9.2, as for a full member).

use std::sync::Arc;

use crate::codec::Encode;
use crate::crypto::{CryptoProvider, HpkePrivateKey, Secret, Suite};
use crate::error::{CommitError, Error, PartialError, UpdatePathError, UsageError, ValidationError, WelcomeError};
use crate::framing;
use crate::group::{Group, GroupConfig, Identity, KeyPackageBundle, PskStore, new_secret_tree, open_welcome};
use crate::identity::ValidationPoint;
use crate::limits::{Limit, LimitExceeded, Limits};
use crate::messages::AuthenticatedContent;
use crate::messages::content::{FramedContentBody, MlsMessage, MlsMessageBody, PrivateMessage, Sender};
use crate::messages::{GroupContext, PreSharedKeyId, Proposal, ProposalOrRef, ProposalRef, Psk};
use crate::public_group::external_sender_key;
use crate::public_group::{PublicGroup, identity_scope, validate_imported_tree};
use crate::schedule::transcript::TranscriptHashes;
use crate::schedule::transcript::{confirmed_transcript_hash, interim_transcript_hash, verify_confirmation_tag};
use crate::schedule::{CommitSecret, EpochSecrets, InitSecret, derive_epoch, psk_secret};
use crate::secret_tree::SecretTree;
use crate::tree::TreeView;
use crate::tree_math::{self as math, LeafIndex, NodeIndex};
use crate::treekem::{PrivateTree, derive_up};

use super::{AnnotatedCommit, AnnotatedWelcome, MembershipProof, SenderAuthenticatedMessage};

/// A partial member of one group (draft §"Protocol Overview").
#[derive(Debug)]
pub struct PartialGroup {
    provider: Arc<dyn CryptoProvider>,
    config: GroupConfig,
    context: GroupContext,
    interim_transcript_hash: Vec<u8>,
    /// The current epoch's confirmation tag (empty after a restore from
    /// the vectors' saved form), for an upgrade's GroupInfo checks.
    confirmation_tag: Vec<u8>,
    own_leaf: LeafIndex,
    /// This member's proof in the current tree (`None` after a restore
    /// from a saved state without one, until the next commit).
    own_proof: Option<MembershipProof>,
    /// The leaf key and the keys of the direct path's nodes it knows.
    keys: PrivateTree,
    epoch: EpochSecrets,
    secret_tree: SecretTree,
    /// Proposals received this epoch, by reference (§12.4.2: a commit
    /// names them).
    proposals: Vec<(ProposalRef, Proposal)>,
    psks: PskStore,
    /// The member's signing identity, kept for an upgrade to a full
    /// member; `None` for a state restored without it.
    identity: Option<Identity>,
}

/// What processing an [`AnnotatedCommit`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartialCommitOutcome {
    /// The group moved to this epoch.
    Advanced {
        /// The new epoch.
        epoch: u64,
        /// Its `commit_secret` was derived from a path (otherwise zero).
        with_path: bool,
    },
    /// The commit removed this member: the state is no longer usable.
    Removed,
}

/// A saved partial state in the form the draft's test vectors give it
/// (`state_before` of the annotated-commit vectors): the GroupContext's
/// parts, the secrets processing a commit needs, and the direct path's
/// private state. Secrets the form omits (the exporter, the
/// epoch_authenticator, the external and resumption secrets, the
/// confirmation key) are unavailable after a restore until the next
/// commit, and the GroupContext's extensions are taken as empty.
#[derive(Debug, Clone)]
pub struct PartialSavedState {
    /// The GroupContext's `group_id`.
    pub group_id: Vec<u8>,
    /// Its `epoch`.
    pub epoch: u64,
    /// Its `tree_hash`.
    pub tree_hash: Vec<u8>,
    /// Its `confirmed_transcript_hash`.
    pub confirmed_transcript_hash: Vec<u8>,
    /// The interim transcript hash.
    pub interim_transcript_hash: Vec<u8>,
    /// The next epoch's `init_secret`.
    pub init_secret: Vec<u8>,
    /// The epoch's `encryption_secret` (root of the secret tree).
    pub encryption_secret: Vec<u8>,
    /// The epoch's `sender_data_secret`.
    pub sender_data_secret: Vec<u8>,
    /// The epoch's `membership_key`.
    pub membership_key: Vec<u8>,
    /// This member's leaf.
    pub leaf_index: u32,
    /// `(node, path_secret, encryption_priv)` for each direct-path node
    /// (the leaf possibly included) whose private key is held.
    pub direct_path_secrets: Vec<(u32, Vec<u8>, Vec<u8>)>,
}

impl PartialGroup {
    /// Joins from an AnnotatedWelcome (draft §"Joining via Annotated
    /// Welcome"; RFC 9420 §12.4.3.1 with the tree checks replaced by the
    /// two proofs): the proofs reference one tree whose hash the GroupInfo
    /// names, the GroupInfo is signed by the sender proof's leaf, and this
    /// member's leaf is the joiner proof's, which must be the KeyPackage's
    /// leaf node. The identity validator sees both proven leaves.
    pub fn join(
        provider: Arc<dyn CryptoProvider>,
        config: GroupConfig,
        welcome: &AnnotatedWelcome,
        bundle: &KeyPackageBundle,
        psks: PskStore,
    ) -> Result<Self, Error> {
        let w = &welcome.welcome.message;
        let suite = Suite::new(&*provider, w.cipher_suite)?;
        Limits::check(Limit::MessageBytes, w.encrypted_group_info.len(), config.limits.max_message_bytes)?;
        Limits::check(Limit::Leaves, w.secrets.len(), config.limits.max_leaves as usize)?;
        let sender_proof = &welcome.welcome.sender_membership_proof;
        let joiner_proof = &welcome.joiner_membership_proof;
        // Shapes and hashes first: at most 2 × 32 hashes, before any HPKE.
        let root = MembershipProof::same_tree(&suite, sender_proof, joiner_proof)?;
        Limits::check(Limit::Leaves, joiner_proof.n_leaves as usize, config.limits.max_leaves as usize)?;

        let opened = open_welcome(&suite, w, bundle, &psks)?;
        let group_info = &opened.group_info;
        let context = &group_info.group_context;
        if context.tree_hash != root {
            return Err(PartialError::ProofTreeHash.into());
        }
        if group_info.signer != sender_proof.leaf_index {
            return Err(PartialError::WrongLeaf { proof: sender_proof.leaf_index.0, named: group_info.signer.0 }.into());
        }
        let signer = sender_proof.leaf().ok_or(PartialError::BlankLeaf)?;
        group_info.verify_signature(&suite, signer.signature_key())?;
        let me = joiner_proof.leaf_index;
        if joiner_proof.leaf() != Some(&bundle.key_package.leaf_node) {
            return Err(WelcomeError::OwnLeafMissing.into());
        }
        // §5.3.1: every credential a member encounters is validated; a
        // partial member encounters the two proven leaves.
        let public = config.public();
        let identity = identity_scope(context, &public);
        identity.check_leaf(ValidationPoint::TreeLeaf, signer, Some(sender_proof.leaf_index))?;
        identity.check_leaf(ValidationPoint::TreeLeaf, &bundle.key_package.leaf_node, Some(me))?;

        let mut keys = PrivateTree::new(
            me,
            bundle.encryption_private.clone(),
            bundle.key_package.leaf_node.encryption_key().into(),
        );
        if let Some(path_secret) = &opened.group_secrets.path_secret {
            // From the common ancestor with the signer up, each non-blank
            // node of this member's direct path takes the next secret.
            let ancestor = math::common_ancestor(me.node(), group_info.signer.node());
            let mut secret = path_secret.path_secret.clone();
            for x in path_from(ancestor, joiner_proof.n_leaves) {
                if !joiner_proof.is_blank(x) {
                    keys.insert_path_secret(&suite, x, &secret)?;
                    secret = derive_up(&suite, &secret)?;
                }
            }
            if !keys.is_consistent(joiner_proof) {
                return Err(WelcomeError::PathSecretMismatch.into());
            }
        }
        let resolved = opened.resolved_psks.clone();
        let (group_info, _, mut epoch) = opened.into_epoch(&suite)?;
        let context = group_info.group_context;
        verify_confirmation_tag(
            &suite,
            epoch.confirmation_key(),
            &context.confirmed_transcript_hash,
            &group_info.confirmation_tag,
        )?;
        let interim = interim_transcript_hash(&suite, &context.confirmed_transcript_hash, &group_info.confirmation_tag);
        let secret_tree = new_secret_tree(&suite, &mut epoch, joiner_proof.n_leaves, &config)?;
        let mut store = psks;
        for (id, secret) in resolved {
            if let Psk::External { psk_id } = id.psk {
                store.insert(psk_id, secret);
            }
        }
        Ok(Self {
            provider,
            config,
            context,
            interim_transcript_hash: interim,
            confirmation_tag: group_info.confirmation_tag.clone(),
            own_leaf: me,
            own_proof: Some(joiner_proof.clone()),
            keys,
            epoch,
            secret_tree,
            proposals: Vec::new(),
            psks: store,
            identity: Some(bundle.identity.clone()),
        })
    }

    /// Restores a state saved in the draft's vector form (see
    /// [`PartialSavedState`]) for a tree of `n_leaves` leaves; `own_proof`,
    /// when known, is this member's proof in the current tree and is
    /// checked against the state's tree hash.
    pub fn from_saved_state(
        provider: Arc<dyn CryptoProvider>,
        config: GroupConfig,
        cipher_suite: crate::CipherSuite,
        state: &PartialSavedState,
        n_leaves: u32,
        own_proof: Option<MembershipProof>,
    ) -> Result<Self, Error> {
        let suite = Suite::new(&*provider, cipher_suite)?;
        let me = LeafIndex(state.leaf_index);
        if let Some(proof) = &own_proof {
            proof.verify_member(&suite, &state.tree_hash, me)?;
            if proof.n_leaves != n_leaves {
                return Err(PartialError::ProofShape("n_leaves differs from the proof's").into());
            }
        }
        if !n_leaves.is_power_of_two() || me.0 >= n_leaves {
            return Err(PartialError::ProofShape("the leaf is outside a tree of n_leaves").into());
        }
        Limits::check(Limit::Leaves, n_leaves as usize, config.limits.max_leaves as usize)?;
        let nh = suite.hash_len();
        for s in [&state.init_secret, &state.encryption_secret, &state.sender_data_secret, &state.membership_key] {
            if s.len() != nh {
                return Err(UsageError::InvalidArgument("a saved epoch secret is not KDF.Nh bytes").into());
            }
        }
        // The leaf's own key is listed like the path's when known; without
        // it (or the leaf's public key, from the proof) the entry is empty
        // and is dropped at the next commit as inconsistent.
        let leaf_key = state
            .direct_path_secrets
            .iter()
            .find(|(n, _, _)| *n == me.node().0)
            .map(|(_, _, k)| HpkePrivateKey(Secret::from_slice(k)));
        let leaf_public = own_proof
            .as_ref()
            .and_then(|p| p.leaf())
            .map_or_else(crate::crypto::HpkePublicKey::default, |l| l.encryption_key().into());
        let mut keys = PrivateTree::new(me, leaf_key.unwrap_or(HpkePrivateKey(Secret::from_slice(&[]))), leaf_public);
        for (node, path_secret, _) in &state.direct_path_secrets {
            if *node != me.node().0 {
                keys.insert_path_secret(&suite, NodeIndex(*node), &Secret::from_slice(path_secret))?;
            }
        }
        let context = GroupContext {
            version: crate::messages::ProtocolVersion::MLS10,
            cipher_suite,
            group_id: state.group_id.clone(),
            epoch: state.epoch,
            tree_hash: state.tree_hash.clone(),
            confirmed_transcript_hash: state.confirmed_transcript_hash.clone(),
            extensions: Vec::new(),
        };
        let mut epoch = EpochSecrets::from_saved_parts(
            Secret::from_slice(&state.sender_data_secret),
            Secret::from_slice(&state.encryption_secret),
            Secret::from_slice(&state.membership_key),
            InitSecret::new(Secret::from_slice(&state.init_secret)),
        );
        let secret_tree = new_secret_tree(&suite, &mut epoch, n_leaves, &config)?;
        Ok(Self {
            provider,
            config,
            context,
            interim_transcript_hash: state.interim_transcript_hash.clone(),
            confirmation_tag: Vec::new(),
            own_leaf: me,
            own_proof,
            keys,
            epoch,
            secret_tree,
            proposals: Vec::new(),
            psks: PskStore::default(),
            identity: None,
        })
    }

    /// Upgrades to a full member with the group's ratchet tree (draft
    /// §"Upgrading and Downgrading"): the tree is validated as a joiner
    /// validates it (RFC 9420 §12.4.3.1; its hash must be the one this
    /// epoch's key schedule agreed on), and this member's leaf and keys
    /// must be in it. Proposals received as a partial member are not
    /// carried over (they were checked without the tree). Needs the
    /// member's identity (a state restored from the vectors' form has
    /// none).
    pub fn upgrade(self, ratchet_tree: &crate::messages::RatchetTreeExtension) -> Result<Group, Error> {
        let suite = self.suite()?;
        let identity =
            self.identity.clone().ok_or(UsageError::InvalidArgument("no signing identity to upgrade with"))?;
        let public_config = self.config.public();
        let tree =
            self.config.on_pool(|| validate_imported_tree(&suite, ratchet_tree, &self.context, &public_config))?;
        let own = tree.leaf(self.own_leaf).ok_or(WelcomeError::OwnLeafMissing)?;
        if own.signature_key() != identity.signer.public.as_bytes() {
            return Err(WelcomeError::OwnLeafMissing.into());
        }
        if !self.keys.is_consistent(&tree) {
            return Err(WelcomeError::PathSecretMismatch.into());
        }
        let transcript = TranscriptHashes::from_parts(
            self.context.confirmed_transcript_hash.clone(),
            self.interim_transcript_hash.clone(),
        );
        let public = PublicGroup::from_parts(
            self.provider.clone(),
            public_config,
            self.context,
            tree,
            transcript,
            self.confirmation_tag,
        );
        Ok(Group::from_public(public, self.config, self.keys, identity, self.epoch, self.secret_tree, self.psks))
    }

    /// Downgrades a full member to a partial one by dropping its copy of
    /// the tree (draft §"Upgrading and Downgrading"): it keeps its proof,
    /// its direct path's keys, the epoch's secrets and secret tree, the
    /// proposals of the epoch and its PSKs.
    pub fn downgrade(group: Group) -> Result<Self, Error> {
        group.require_active()?;
        let own_leaf = group.private.own_leaf;
        let proof = MembershipProof::new(&group.suite()?, &group.public.tree, own_leaf)?;
        let mut keys = group.private;
        keys.retain_consistent(&proof);
        let mut psks = group.psks;
        for (epoch, secret) in group.resumption_psks {
            psks.insert_resumption(group.public.context.group_id.clone(), epoch, secret);
        }
        Ok(Self {
            provider: group.public.provider.clone(),
            context: group.public.context.clone(),
            interim_transcript_hash: group.public.transcript.interim().to_vec(),
            confirmation_tag: group.public.confirmation_tag.clone(),
            own_leaf,
            own_proof: Some(proof),
            keys,
            epoch: group.epoch,
            secret_tree: group.secret_tree,
            proposals: group.public.proposals.iter().map(|c| (c.reference.clone(), c.proposal.clone())).collect(),
            psks,
            identity: Some(group.identity),
            config: group.config,
        })
    }

    fn suite(&self) -> Result<Suite<'_>, Error> {
        Ok(Suite::new(&*self.provider, self.context.cipher_suite)?)
    }

    /// The current GroupContext.
    pub fn context(&self) -> &GroupContext {
        &self.context
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.context.epoch
    }

    /// This member's leaf.
    pub fn own_leaf(&self) -> LeafIndex {
        self.own_leaf
    }

    /// This member's proof in the current tree (to authenticate what it
    /// sends, draft §"Application Messages").
    pub fn own_proof(&self) -> Option<&MembershipProof> {
        self.own_proof.as_ref()
    }

    /// The epoch authenticator (§8.7).
    pub fn epoch_authenticator(&self) -> &[u8] {
        self.epoch.epoch_authenticator().as_bytes()
    }

    /// `MLS-Exporter(label, context, length)` of the current epoch (§8.5).
    pub fn export_secret(&self, label: &[u8], context: &[u8], length: u16) -> Result<Secret, Error> {
        let suite = self.suite()?;
        self.epoch.export(&suite, label, context, length)
    }

    /// The private keys of the direct path this member holds, by node
    /// (its leaf included).
    pub fn held_keys(&self) -> usize {
        self.keys.len()
    }

    /// Bytes this member keeps: the GroupContext, the transcript hash, its
    /// proof, its keys, the epoch's secrets and the secret tree's derived
    /// nodes, as encoded (the measure `compare` reports).
    pub fn state_bytes(&self) -> usize {
        let nh = self.interim_transcript_hash.len();
        self.context.to_bytes().len()
            + nh
            + self.own_proof.as_ref().map_or(0, |p| p.to_bytes().len())
            + self.keys.len() * 2 * (nh + 2)
            + self.epoch.state_len_bound()
            + (self.secret_tree.stored_node_secrets() + 2 * self.secret_tree.stored_leaf_ratchets()) * nh
            + self.proposals.iter().map(|(r, p)| r.0.len() + p.to_bytes().len()).sum::<usize>()
    }

    /// Records a proposal sent in this epoch, for a later commit that names
    /// it by reference (RFC 9420 §12.4.2). The partial client cannot apply
    /// the rules that need the tree (draft §"Protocol Overview"), so it
    /// checks what it can: group, epoch, membership tag of a member's
    /// PublicMessage, and the sender's signature when `sender_proof` is
    /// given (the signature of an unproven member's proposal is covered
    /// later by the commit's signature and confirmation tag, which bind its
    /// reference). Returns the reference.
    pub fn receive_proposal(
        &mut self,
        message: MlsMessage,
        sender_proof: Option<&MembershipProof>,
    ) -> Result<ProposalRef, Error> {
        let provider = self.provider.clone();
        let suite = Suite::new(&*provider, self.context.cipher_suite)?;
        // Bounded like a commit's list: more could never be committed.
        Limits::check(
            Limit::ProposalsPerCommit,
            self.proposals.len() + 1,
            self.config.limits.max_proposals_per_commit,
        )?;
        let authenticated = self.authenticate(&suite, message, sender_proof, false)?;
        let FramedContentBody::Proposal(proposal) = &authenticated.content.body else {
            return Err(UsageError::WrongMessageKind("not a proposal").into());
        };
        let reference = authenticated.proposal_ref(&suite);
        if !self.proposals.iter().any(|(r, _)| *r == reference) {
            self.proposals.push((reference.clone(), proposal.clone()));
        }
        Ok(reference)
    }

    /// Reads an application message with its sender's proof (draft
    /// §"Sender-Authenticated Messages"): the proof must prove the
    /// message's sender in the current tree, and its leaf's key verifies
    /// the signature. Returns the sender and the data.
    pub fn process_application(
        &mut self,
        message: SenderAuthenticatedMessage<PrivateMessage>,
    ) -> Result<(LeafIndex, Vec<u8>), Error> {
        let provider = self.provider.clone();
        let suite = Suite::new(&*provider, self.context.cipher_suite)?;
        let SenderAuthenticatedMessage { message, sender_membership_proof: proof } = message;
        let body = MlsMessage {
            version: crate::messages::ProtocolVersion::MLS10,
            body: MlsMessageBody::PrivateMessage(message),
        };
        let authenticated = self.authenticate(&suite, body, Some(&proof), true)?;
        match (authenticated.content.sender, authenticated.content.body) {
            (Sender::Member(leaf), FramedContentBody::Application(data)) => Ok((leaf, data)),
            _ => Err(UsageError::WrongMessageKind("not an application message").into()),
        }
    }

    /// Unprotects a message of the current epoch with the signer's key
    /// taken from `proof` (verified against the current tree hash and the
    /// message's sender) for a member, from the GroupContext for an
    /// external sender. `require_proof`: a member's signature must be
    /// checked (application messages); otherwise an unproven member's
    /// PublicMessage is admitted on its membership tag alone.
    fn authenticate(
        &mut self,
        suite: &Suite<'_>,
        message: MlsMessage,
        proof: Option<&MembershipProof>,
        require_proof: bool,
    ) -> Result<AuthenticatedContent, Error> {
        if message.version != crate::messages::ProtocolVersion::MLS10 {
            return Err(ValidationError::UnsupportedVersion.into());
        }
        let tree_hash = self.context.tree_hash.clone();
        let proven_key = |leaf: LeafIndex| -> Result<Vec<u8>, Error> {
            let proof = proof.ok_or(PartialError::MissingProof)?;
            Ok(proof.verify_member(suite, &tree_hash, leaf)?.signature_key().to_vec())
        };
        match message.body {
            MlsMessageBody::PublicMessage(m) => {
                let sender = m.content.sender;
                let key = match sender {
                    Sender::Member(leaf) if proof.is_some() || require_proof => proven_key(leaf)?,
                    Sender::Member(_) => Vec::new(),
                    Sender::External(i) => {
                        external_sender_key(&self.context, i).ok_or(ValidationError::UnknownSigner)?
                    }
                    _ => return Err(ValidationError::UnknownSigner.into()),
                };
                let (content, checks) =
                    framing::unprotect_public_deferred(m, &self.context, Some(self.epoch.membership_key()), |_| {
                        Some(key.clone())
                    })?;
                if key.is_empty() {
                    checks.verify_tag(suite)?;
                } else {
                    checks.verify(suite)?;
                }
                Ok(content)
            }
            MlsMessageBody::PrivateMessage(m) => {
                let size = m.ciphertext.len().saturating_add(m.authenticated_data.len());
                Limits::check(Limit::MessageBytes, size, self.config.limits.max_message_bytes)?;
                // The proof is checked inside, once the sender is known and
                // before any ratchet moves.
                let mut failure = None;
                let result = framing::unprotect_private(
                    suite,
                    m,
                    &self.context,
                    &mut self.secret_tree,
                    self.epoch.sender_data_secret(),
                    |leaf| match proven_key(leaf) {
                        Ok(k) => Some(k),
                        Err(e) => {
                            failure = Some(e);
                            None
                        }
                    },
                );
                match (result, failure) {
                    (Err(_), Some(e)) => Err(e),
                    (r, _) => r,
                }
            }
            _ => Err(UsageError::WrongMessageKind("a Welcome, GroupInfo or KeyPackage").into()),
        }
    }

    /// Processes an AnnotatedCommit (draft §"Annotated Commit"; RFC 9420
    /// §12.4.2 without the tree): checks the proofs, authenticates the
    /// commit with the committer's proven key, applies the proposals that
    /// do not change the tree (PreSharedKey, GroupContextExtensions,
    /// ExternalInit), decrypts the path secret the annotation points at,
    /// derives the next epoch and verifies its confirmation tag. Nothing
    /// changes unless all of that succeeds.
    pub fn process_commit(&mut self, annotated: &AnnotatedCommit) -> Result<PartialCommitOutcome, Error> {
        self.process_commit_inner(annotated, None)
    }

    /// [`process_commit`](Self::process_commit) with the path's commit
    /// secret supplied instead of decrypted, for the draft's
    /// annotated-commit vectors, whose saved states omit the receiver's
    /// leaf private key (so no implementation can decrypt their paths).
    /// Every other check runs as usual.
    #[doc(hidden)]
    pub fn process_commit_with_commit_secret(
        &mut self,
        annotated: &AnnotatedCommit,
        commit_secret: &[u8],
    ) -> Result<PartialCommitOutcome, Error> {
        self.process_commit_inner(annotated, Some(Secret::from_slice(commit_secret)))
    }

    /// The saved-state view the draft's vectors compare (`state_after`):
    /// the parts of [`PartialSavedState`] this member still holds (not the
    /// encryption_secret, handed to the secret tree, nor path secrets,
    /// deleted once used, §9.2).
    #[doc(hidden)]
    pub fn vector_state(&self) -> PartialSavedState {
        PartialSavedState {
            group_id: self.context.group_id.clone(),
            epoch: self.context.epoch,
            tree_hash: self.context.tree_hash.clone(),
            confirmed_transcript_hash: self.context.confirmed_transcript_hash.clone(),
            interim_transcript_hash: self.interim_transcript_hash.clone(),
            init_secret: self.epoch.init_secret().as_secret().as_bytes().to_vec(),
            encryption_secret: Vec::new(),
            sender_data_secret: self.epoch.sender_data_secret().as_bytes().to_vec(),
            membership_key: self.epoch.membership_key().as_bytes().to_vec(),
            leaf_index: self.own_leaf().0,
            direct_path_secrets: Vec::new(),
        }
    }

    fn process_commit_inner(
        &mut self,
        annotated: &AnnotatedCommit,
        given_commit_secret: Option<Secret>,
    ) -> Result<PartialCommitOutcome, Error> {
        let provider = self.provider.clone();
        let suite = Suite::new(&*provider, self.context.cipher_suite)?;
        let me = self.own_leaf();

        // 1. The committer's proof before, against the current tree.
        let sender_before = annotated.sender_membership_proof.as_ref();
        if let Some(p) = sender_before {
            p.verify(&suite, &self.context.tree_hash)?;
        }
        // 2. Both proofs after reference one tree, `tree_hash_after`.
        let after = MembershipProof::same_tree(
            &suite,
            &annotated.sender_membership_proof_after,
            &annotated.receiver_membership_proof_after,
        )?;
        if after != annotated.tree_hash_after {
            return Err(PartialError::ProofTreeHash.into());
        }
        let receiver_after = &annotated.receiver_membership_proof_after;
        Limits::check(Limit::Leaves, receiver_after.n_leaves as usize, self.config.limits.max_leaves as usize)?;

        // 3. The commit, authenticated with the proven committer's key.
        let authenticated = self.authenticate_commit(&suite, annotated)?;
        let FramedContentBody::Commit(commit) = &authenticated.content.body else {
            return Err(UsageError::WrongMessageKind("an AnnotatedCommit's message is not a commit").into());
        };
        let sender = authenticated.content.sender;
        let committer = match sender {
            Sender::Member(leaf) => leaf,
            Sender::NewMemberCommit => annotated.sender_membership_proof_after.leaf_index,
            _ => return Err(ValidationError::UnknownSigner.into()),
        };
        if annotated.sender_membership_proof_after.leaf_index != committer {
            return Err(PartialError::WrongLeaf {
                proof: annotated.sender_membership_proof_after.leaf_index.0,
                named: committer.0,
            }
            .into());
        }

        // 4. The proposals: only those that do not change the tree apply.
        Limits::check(Limit::ProposalsPerCommit, commit.proposals.len(), self.config.limits.max_proposals_per_commit)?;
        let mut psks: Vec<PreSharedKeyId> = Vec::new();
        let mut extensions = None;
        let mut external_init = None;
        let mut removed = false;
        for entry in &commit.proposals {
            let proposal = match entry {
                ProposalOrRef::Proposal(p) => &**p,
                ProposalOrRef::Reference(r) => self
                    .proposals
                    .iter()
                    .find(|(known, _)| known == r)
                    .map(|(_, p)| p)
                    .ok_or(CommitError::UnknownProposalReference)?,
            };
            match proposal {
                Proposal::PreSharedKey(p) => psks.push(p.psk.clone()),
                Proposal::GroupContextExtensions(g) => extensions = Some(g.extensions.clone()),
                Proposal::ExternalInit(e) => external_init = Some(e.kem_output.clone()),
                Proposal::Remove(r) if r.removed == me => removed = true,
                _ => {}
            }
        }
        if commit.proposals.iter().any(|p| matches!(p, ProposalOrRef::Reference(_)))
            && sender == Sender::NewMemberCommit
        {
            return Err(CommitError::UnknownProposalReference.into());
        }
        if removed {
            return Ok(PartialCommitOutcome::Removed);
        }
        let own_leaf_node = self.own_proof.as_ref().and_then(|p| p.leaf());
        if receiver_after.leaf_index != me
            || receiver_after.leaf().is_none()
            || own_leaf_node.is_some_and(|l| receiver_after.leaf() != Some(l))
        {
            return Err(PartialError::WrongLeaf { proof: receiver_after.leaf_index.0, named: me.0 }.into());
        }

        // 5. The next GroupContext, and the provisional one the path is
        // encrypted to (§12.4.1).
        let provisional = GroupContext {
            epoch: self.context.epoch.checked_add(1).ok_or(LimitExceeded {
                limit: Limit::Counter,
                value: self.context.epoch,
                max: u64::MAX - 1,
            })?,
            tree_hash: annotated.tree_hash_after.clone(),
            extensions: extensions.clone().unwrap_or_else(|| self.context.extensions.clone()),
            ..self.context.clone()
        };
        let confirmed = confirmed_transcript_hash(
            &suite,
            &self.interim_transcript_hash,
            &authenticated.confirmed_transcript_hash_input(),
        );
        let next = GroupContext { confirmed_transcript_hash: confirmed, ..provisional.clone() };

        if let Some(path) = &commit.path {
            let public = self.config.public();
            let point = if sender == Sender::NewMemberCommit {
                ValidationPoint::ExternalJoiner
            } else {
                ValidationPoint::CommitPath
            };
            identity_scope(&self.context, &public).check_leaf(point, &path.leaf_node, Some(committer))?;
        }

        // 6. The path (draft's replacement of the decryption steps). Keys
        // whose node changed or went blank are dropped first; the path's
        // replace those above the common ancestor.
        let mut keys = self.keys.clone();
        keys.retain_consistent(receiver_after);
        let commit_secret = match &commit.path {
            Some(path) => {
                let index = annotated.resolution_index.ok_or(PartialError::ResolutionIndex)?;
                match given_commit_secret {
                    Some(secret) => CommitSecret::new(secret),
                    None => {
                        let proofs = (&annotated.sender_membership_proof_after, receiver_after);
                        decrypt_path(&suite, committer, path, proofs, index, &provisional.to_bytes(), &mut keys)?
                    }
                }
            }
            None => {
                if annotated.resolution_index.is_some() {
                    return Err(PartialError::ResolutionIndex.into());
                }
                CommitSecret::zero(&suite)
            }
        };

        // 7. The key schedule and the confirmation tag.
        let init_secret = match (&external_init, sender) {
            (Some(kem_output), Sender::NewMemberCommit) => {
                let pair = self.epoch.external_key_pair(&suite)?;
                InitSecret::from_external_init(&suite, &pair.private, kem_output)?
            }
            _ => self.epoch.init_secret().clone(),
        };
        let resolved =
            psks.iter().map(|id| Ok((id.clone(), self.resolve_psk(id)?))).collect::<Result<Vec<_>, Error>>()?;
        let psk = psk_secret(&suite, resolved.iter().map(|(id, s)| (id, s)))?;
        let mut epoch = derive_epoch(&suite, &init_secret, &commit_secret, &psk, &next.to_bytes())?.epoch_secrets;
        let tag = authenticated.auth.confirmation_tag.as_ref().ok_or(ValidationError::ConfirmationTagPresence)?;
        verify_confirmation_tag(&suite, epoch.confirmation_key(), &next.confirmed_transcript_hash, tag)?;
        let interim = interim_transcript_hash(&suite, &next.confirmed_transcript_hash, tag);
        let secret_tree = new_secret_tree(&suite, &mut epoch, receiver_after.n_leaves, &self.config)?;

        // 8. Enter the epoch.
        let with_path = commit.path.is_some();
        let resumption = (self.context.epoch, self.epoch.resumption_psk().clone());
        self.psks.insert_resumption(self.context.group_id.clone(), resumption.0, resumption.1);
        self.context = next;
        self.interim_transcript_hash = interim;
        self.confirmation_tag = tag.clone();
        self.own_proof = Some(receiver_after.clone());
        self.keys = keys;
        self.epoch = epoch;
        self.secret_tree = secret_tree;
        self.proposals.clear();
        Ok(PartialCommitOutcome::Advanced { epoch: self.context.epoch, with_path })
    }

    /// The commit of an annotation, authenticated: a member committer's key
    /// from the proof before (which must name the sender), a new member's
    /// from its path's leaf (RFC 9420 §12.4.3.2), for which no proof may be
    /// given.
    fn authenticate_commit(
        &mut self,
        suite: &Suite<'_>,
        annotated: &AnnotatedCommit,
    ) -> Result<AuthenticatedContent, Error> {
        let message = annotated.commit.clone();
        match &message.body {
            MlsMessageBody::PublicMessage(m) if m.content.sender == Sender::NewMemberCommit => {
                if annotated.sender_membership_proof.is_some() {
                    return Err(PartialError::UnexpectedProof.into());
                }
                let FramedContentBody::Commit(commit) = &m.content.body else {
                    return Err(UsageError::WrongMessageKind("not a commit").into());
                };
                let key = commit
                    .path
                    .as_ref()
                    .map(|p| p.leaf_node.signature_key().to_vec())
                    .ok_or(CommitError::MissingPath)?;
                let m = m.clone();
                Ok(framing::unprotect_public(suite, m, &self.context, None, |_| Some(key))?)
            }
            MlsMessageBody::PublicMessage(_) | MlsMessageBody::PrivateMessage(_) => {
                let proof = annotated.sender_membership_proof.as_ref().ok_or(PartialError::MissingProof)?;
                self.authenticate(suite, message, Some(proof), true)
            }
            _ => Err(UsageError::WrongMessageKind("an AnnotatedCommit's message is not a commit").into()),
        }
    }

    /// A PSK a commit names: external ones from the store, this group's
    /// resumption PSKs of the current or a recorded earlier epoch.
    fn resolve_psk(&self, id: &PreSharedKeyId) -> Result<Secret, Error> {
        use crate::error::PskError;
        match &id.psk {
            Psk::External { psk_id } => self.psks.get(psk_id).cloned().ok_or(PskError::UnknownExternal.into()),
            Psk::Resumption { psk_group_id, psk_epoch, .. } => {
                if *psk_group_id == self.context.group_id && *psk_epoch == self.context.epoch {
                    return Ok(self.epoch.resumption_psk().clone());
                }
                self.psks
                    .get_resumption(psk_group_id, *psk_epoch)
                    .cloned()
                    .ok_or(PskError::UnknownResumptionEpoch(*psk_epoch).into())
            }
        }
    }
}

/// The commit secret from an UpdatePath with the annotation's help:
/// the committer's UpdatePathNode at the lowest common ancestor (its
/// position among the non-blank nodes of the committer's direct path
/// after the commit), its ciphertext at `resolution_index`, opened with
/// the key of this member's highest non-blank node below the ancestor
/// (its leaf when it is an unmerged leaf there); then the path secrets
/// of the non-blank nodes from the ancestor up, each checked against
/// the proof after, and one more step for the commit secret.
/// `keys` must hold only keys consistent with the receiver's proof.
fn decrypt_path(
    suite: &Suite<'_>,
    committer: LeafIndex,
    path: &crate::messages::UpdatePath,
    (sender_after, receiver_after): (&MembershipProof, &MembershipProof),
    resolution_index: u32,
    hpke_context: &[u8],
    keys: &mut PrivateTree,
) -> Result<CommitSecret, Error> {
    let me = receiver_after.leaf_index;
    if committer == me {
        return Err(UsageError::OwnCommit.into());
    }
    let n = receiver_after.n_leaves;
    let ancestor = math::common_ancestor(me.node(), committer.node());
    if sender_after.is_blank(ancestor) {
        return Err(PartialError::PathShape("the common ancestor is blank after the commit").into());
    }
    let position = math::direct_path(committer.node(), n)
        .into_iter()
        .take_while(|x| *x != ancestor)
        .filter(|x| !sender_after.is_blank(*x))
        .count();
    let node = path.nodes.get(position).ok_or(PartialError::PathShape("the UpdatePath is shorter than the path"))?;
    let ciphertext = node
        .encrypted_path_secret
        .get(resolution_index as usize)
        .ok_or(PartialError::PathShape("resolution_index outside the node's ciphertexts"))?;
    // This member's node in the copath child's resolution.
    let below: Vec<NodeIndex> =
        std::iter::once(me.node()).chain(math::direct_path(me.node(), n)).take_while(|x| *x != ancestor).collect();
    let top = below.iter().rev().find(|x| !receiver_after.is_blank(**x)).copied().unwrap_or(me.node());
    let holder = match receiver_after.parent_node(top) {
        Some(p) if p.unmerged_leaves.contains(&me) => me.node(),
        _ => top,
    };
    let private = keys.key(holder).ok_or(PartialError::PathShape("no private key for the resolution node"))?;
    let first = suite.decrypt_with_label(private, crate::treekem::UPDATE_PATH_NODE, hpke_context, &ciphertext)?;
    let mut secret = first;
    for x in path_from(ancestor, n) {
        if !receiver_after.is_blank(x) {
            keys.insert_path_secret(suite, x, &secret)?;
            secret = derive_up(suite, &secret)?;
        }
    }
    if !keys.is_consistent(receiver_after) {
        return Err(UpdatePathError::DerivedKeyMismatch.into());
    }
    Ok(CommitSecret::new(secret))
}

/// The commit secret of an UpdatePath for the receiver of
/// `receiver_after`, from its retained direct-path state `(node,
/// path_secret, encryption_priv)` (its leaf's entry gives the private key;
/// a parent's key derives from its path secret), as the draft's
/// tree-operations vectors check it. Their generator encrypts the path
/// secrets to `hpke_context` = the tree hash after the commit, not to the
/// provisional GroupContext of RFC 9420 §12.4.1 (which the vectors do not
/// give).
#[doc(hidden)]
pub fn path_commit_secret(
    suite: &Suite<'_>,
    path: &crate::messages::UpdatePath,
    sender_after: &MembershipProof,
    receiver_after: &MembershipProof,
    resolution_index: u32,
    hpke_context: &[u8],
    path_state: &[(u32, Vec<u8>, Vec<u8>)],
) -> Result<Secret, Error> {
    MembershipProof::same_tree(suite, sender_after, receiver_after)?;
    let me = receiver_after.leaf_index;
    let leaf = receiver_after.leaf().ok_or(PartialError::BlankLeaf)?;
    let leaf_key = path_state
        .iter()
        .find(|(n, _, _)| *n == me.node().0)
        .map_or_else(|| Secret::from_slice(&[]), |(_, _, k)| Secret::from_slice(k));
    let mut keys = PrivateTree::new(me, HpkePrivateKey(leaf_key), leaf.encryption_key().into());
    for (node, path_secret, _) in path_state.iter().filter(|(n, _, _)| *n != me.node().0) {
        keys.insert_path_secret(suite, NodeIndex(*node), &Secret::from_slice(path_secret))?;
    }
    keys.retain_consistent(receiver_after);
    let committer = sender_after.leaf_index;
    let secret = decrypt_path(
        suite,
        committer,
        path,
        (sender_after, receiver_after),
        resolution_index,
        hpke_context,
        &mut keys,
    )?;
    Ok(secret.as_secret().clone())
}

/// `x` and its ancestors up to the root, bottom up.
fn path_from(x: NodeIndex, n_leaves: u32) -> impl Iterator<Item = NodeIndex> {
    std::iter::successors(Some(x), move |&y| math::parent(y, n_leaves))
}

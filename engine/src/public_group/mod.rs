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
//! Processing a commit yields a [`StagedPublicCommit`] (STYLE.md 4), which
//! [`PublicGroup::merge_staged_commit`] consumes; nothing changes before
//! that, and a rejected message changes nothing.
//!
//! Roster questions are answered in O(1) per member from the tree and its
//! index: [`PublicGroup::member`], [`PublicGroup::find_member`].

mod process;

use std::sync::Arc;

pub use process::{PublicProcessed, StagedPublicCommit};

use crate::codec::Encode;
use crate::crypto::{CipherSuite, CryptoProvider, Secret, SignatureKeyPair, Suite};
use crate::error::{Error, UsageError, ValidationError};
use crate::group::{CachedProposal, Group, GroupConfig, Member, external_sender_key, import_and_validate};
use crate::messages::RatchetTree as RatchetTreeExt;
use crate::messages::content::{MlsMessage, Sender};
use crate::messages::registered_extensions::{ExtensionData, ExternalSenders};
use crate::messages::{Credential, GroupContext, GroupInfo, LeafNode, Proposal, ProposalRef, ProtocolVersion, ReInit};
use crate::schedule::TranscriptHashes;
use crate::tree::math::LeafIndex;
use crate::tree::{RatchetTree, TreeView};

pub(crate) fn rule(text: &'static str) -> Error {
    ValidationError::Rule(text).into()
}

/// How a public group validates; every field has a sensible default.
#[derive(Clone, Debug)]
pub struct PublicGroupConfig {
    /// Whether KeyPackage leaves must be within their lifetime (§7.3
    /// recommends it; members check it too, with the default
    /// [`GroupConfig`]).
    pub check_lifetimes: bool,
    /// The rayon pool for parallel work (tree validation, hashing); rayon's
    /// global pool when `None` (DESIGN.md, performance design 4).
    pub pool: Option<Arc<rayon::ThreadPool>>,
}

impl Default for PublicGroupConfig {
    fn default() -> Self {
        Self { check_lifetimes: true, pool: None }
    }
}

impl PublicGroupConfig {
    /// The member-side configuration carrying the same validation choices,
    /// for the checks shared with [`Group`].
    pub(crate) fn as_group_config(&self) -> GroupConfig {
        GroupConfig { check_lifetimes: self.check_lifetimes, pool: self.pool.clone(), ..GroupConfig::default() }
    }

    pub(crate) fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }

    pub(crate) fn now(&self) -> Option<u64> {
        self.check_lifetimes.then(crate::group::key_package::now)
    }
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
    pub ratchet_tree: RatchetTreeExt,
}

/// A server's view of one group: the public state of the current epoch and
/// the proposals received in it.
#[derive(Debug)]
pub struct PublicGroup {
    pub(crate) provider: Arc<dyn CryptoProvider>,
    pub(crate) config: PublicGroupConfig,
    pub(crate) context: GroupContext,
    pub(crate) tree: RatchetTree,
    pub(crate) transcript: TranscriptHashes,
    pub(crate) confirmation_tag: Vec<u8>,
    pub(crate) proposals: Vec<CachedProposal>,
    /// The current epoch's `membership_key`, when the application gives it
    /// to the server (§6.2); dropped at every epoch change.
    pub(crate) membership_key: Option<Secret>,
    /// Set once a commit with a ReInit is merged: the group is over
    /// (§11.2, §12.4.2).
    pub(crate) reinit: Option<ReInit>,
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
        ratchet_tree: Option<&RatchetTreeExt>,
    ) -> Result<Self, Error> {
        let context = &group_info.group_context;
        if context.version != ProtocolVersion::MLS10 {
            return Err(rule("GroupContext version is not mls10 (RFC 9420 §12.4.3.1)"));
        }
        let suite = Suite::new(&*provider, context.cipher_suite)?;
        let tree_ext = match ratchet_tree {
            Some(t) => t.clone(),
            None => RatchetTreeExt::find_in(&group_info.extensions)?
                .ok_or_else(|| rule("no ratchet tree in the GroupInfo or out of band (RFC 9420 §12.4.3.3)"))?,
        };
        let group_config = config.as_group_config();
        let tree = config.install(|| import_and_validate(&suite, &tree_ext, group_info, &group_config))?;
        // The joiner's transcript starts from the GroupInfo's tag (§8.2).
        let transcript =
            TranscriptHashes::new(&suite, context.confirmed_transcript_hash.clone(), &group_info.confirmation_tag);
        Ok(Self {
            provider,
            config,
            context: context.clone(),
            tree,
            transcript,
            confirmation_tag: group_info.confirmation_tag.clone(),
            proposals: Vec::new(),
            membership_key: None,
            reinit: None,
        })
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

    /// Members in leaf order, as [`Group::members`] lists them.
    pub fn members(&self) -> Vec<Member> {
        self.tree
            .members()
            .into_iter()
            .map(|(leaf_index, n)| Member {
                leaf_index,
                credential: n.credential.clone(),
                signature_key: n.signature_key.as_bytes().to_vec(),
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
    pub fn export_tree(&self) -> RatchetTreeExt {
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
            return Err(rule("GroupInfo's GroupContext differs from the group's (RFC 9420 §12.4.3)"));
        }
        if group_info.confirmation_tag != self.confirmation_tag {
            return Err(rule("GroupInfo's confirmation tag differs from the epoch's (RFC 9420 §12.4.3)"));
        }
        let suite = self.suite()?;
        let signer = self
            .tree
            .leaf(group_info.signer)
            .ok_or_else(|| rule("GroupInfo signer leaf is blank (RFC 9420 §12.4.3.1)"))?;
        group_info.verify_signature(&suite, signer.signature_key.as_bytes())?;
        if let Some(tree) = RatchetTreeExt::find_in(&group_info.extensions)? {
            // Compared by encoding: the export is the canonical form (trailing
            // blanks dropped, §12.4.3.3).
            if tree.to_bytes() != self.tree.export().to_bytes() {
                return Err(rule("GroupInfo's ratchet_tree differs from the group's (RFC 9420 §12.4.3.3)"));
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
        let key = external_sender_key(&self.context, sender_index)
            .ok_or(UsageError::InvalidArgument("no such entry in the group's external_senders (RFC 9420 §12.1.8.1)"))?;
        if key != signer.public.as_bytes() {
            return Err(UsageError::InvalidArgument(
                "signer is not the group's external sender at this index (RFC 9420 §12.1.8.1)",
            )
            .into());
        }
        let message = {
            let suite = self.suite()?;
            Group::external_proposal(&suite, &self.context, sender_index, signer, proposal)?
        };
        match self.process_message(message.clone())? {
            PublicProcessed::Proposal { .. } => Ok(message),
            PublicProcessed::Commit(_) => Err(rule("an external proposal became a commit")),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::crypto::AwsLcProvider;
    use crate::group::{CommitOptions, Identity};
    use crate::messages::content::MlsMessageBody;

    /// With the epoch's membership key, a tampered membership tag is caught
    /// (§6.2); without it, only the tag's presence can be checked. The key
    /// is dropped when the epoch changes.
    #[test]
    fn membership_tag_is_checked_when_the_key_is_configured() {
        let provider: Arc<dyn CryptoProvider> = Arc::new(AwsLcProvider);
        let cs = CipherSuite(1);
        let id = Identity::basic(&*provider, cs, "alice").unwrap();
        let mut alice = Group::create(cs, &id, b"m".to_vec(), vec![], GroupConfig::default()).unwrap();
        let info = alice.group_info(true, false).unwrap();
        let mut public =
            PublicGroup::from_group_info(provider.clone(), PublicGroupConfig::default(), &info, None).unwrap();

        let pending = alice.commit(CommitOptions::default()).unwrap();
        let mut tampered = pending.message.clone();
        if let MlsMessageBody::PublicMessage(m) = &mut tampered.body {
            if let Some(tag) = &mut m.membership_tag {
                tag[0] ^= 1;
            }
        }
        // Without the key the tampered tag goes unnoticed.
        assert!(public.process_message(tampered.clone()).is_ok());
        public.set_membership_key(alice.epoch.membership_key().clone());
        assert_eq!(
            public.process_message(tampered).unwrap_err(),
            Error::Crypto(crate::crypto::CryptoError::VerificationFailed)
        );
        let PublicProcessed::Commit(staged) = public.process_message(pending.message.clone()).unwrap() else {
            panic!("not a commit")
        };
        public.merge_staged_commit(*staged).unwrap();
        alice.merge_pending_commit(pending).unwrap();
        assert!(public.membership_key.is_none(), "a key belongs to one epoch");
        assert_eq!(public.context(), alice.context());
    }

    #[test]
    fn public_group_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<PublicGroup>();
        check::<StagedPublicCommit>();
    }
}

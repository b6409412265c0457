//! External joins (RFC 9420 §12.4.3.2) and proposals from external
//! senders (§12.1.8).

use std::sync::Arc;

use crate::codec::Encode;
use crate::crypto::{CryptoProvider, Suite};
use crate::error::{CredentialError, Error, GroupInfoError, ProposalError, UsageError};
use crate::framing;
use crate::identity::ValidationPoint;
use crate::messages::RatchetTreeExtension;
use crate::messages::content::{FramedContent, FramedContentBody, MlsMessage, Sender, WireFormat};
use crate::messages::registered_extensions::{ExtensionData, ExternalPub};
use crate::messages::{Commit, ExternalInit, GroupInfo, Proposal, ProposalOrRef, Remove};
use crate::public_group::{
    CommittedProposal, Committer, PublicGroup, PublicProcessed, StagedPublicCommit, apply_proposals,
    check_resync_identity, check_unique_keys, identity_scope,
};
use crate::schedule::transcript::confirmation_tag;
use crate::schedule::{InitSecret, PskSecret, TranscriptHashes, derive_epoch};
use crate::tree::TreeView;
use crate::tree_math::LeafIndex;
use crate::treekem::create_update_path;

use super::key_package::{Identity, KeyPackageBundle};
use super::{Group, GroupConfig, PskStore, new_secret_tree};

/// Which leaf an external commit replaces: a member that lost its state
/// rejoins and removes its old leaf in the same commit (RFC 9420
/// §12.4.3.2, "resync"). Receivers check that the old leaf's identity is
/// the joiner's, as the configured
/// [`IdentityValidator::identity`](crate::IdentityValidator::identity)
/// names identities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resync {
    /// This leaf.
    Leaf(LeafIndex),
    /// The one leaf whose credential names the joiner's identity (an error
    /// if there is none, or several: then name the leaf).
    SameIdentity,
}

/// What an external join does beyond joining.
#[derive(Clone, Debug, Default)]
pub struct ExternalJoinOptions {
    /// Replace the joiner's old leaf (a resync).
    pub resync: Option<Resync>,
    /// The SelfRemove proposals pending in the epoch, as the delivery
    /// service attaches them to the GroupInfo (draft-ietf-mls-extensions:
    /// the joiner MUST validate them, except their membership tag, and
    /// include them by reference). Anything but a valid SelfRemove of the
    /// GroupInfo's epoch is refused.
    pub self_removes: Vec<MlsMessage>,
}

impl Group {
    /// Joins by external commit (§12.4.3.2) from a GroupInfo carrying the
    /// `external_pub` extension, with the tree from the GroupInfo or given
    /// out of band. Returns the new member's group (already in the new
    /// epoch) and the Commit to send; if the delivery service rejects the
    /// Commit, drop the group and retry from a fresh GroupInfo.
    pub fn join_by_external_commit(
        provider: Arc<dyn CryptoProvider>,
        config: GroupConfig,
        identity: &Identity,
        group_info: &GroupInfo,
        ratchet_tree: Option<&RatchetTreeExtension>,
    ) -> Result<(Self, MlsMessage), Error> {
        Self::join_by_external_commit_with(
            provider,
            config,
            identity,
            group_info,
            ratchet_tree,
            ExternalJoinOptions::default(),
        )
    }

    /// [`join_by_external_commit`](Self::join_by_external_commit) with
    /// options: a resync that removes the joiner's old leaf, and the
    /// epoch's pending SelfRemoves.
    pub fn join_by_external_commit_with(
        provider: Arc<dyn CryptoProvider>,
        config: GroupConfig,
        identity: &Identity,
        group_info: &GroupInfo,
        ratchet_tree: Option<&RatchetTreeExtension>,
        options: ExternalJoinOptions,
    ) -> Result<(Self, MlsMessage), Error> {
        let pool = config.clone();
        pool.on_pool(|| external_join_inner(provider, config, identity, group_info, ratchet_tree, options))
    }
}

/// The leaf a resync removes, checked as receivers will check it: its
/// identity is the joiner's.
fn resync_leaf(public: &PublicGroup, identity: &Identity, resync: Resync) -> Result<LeafIndex, Error> {
    let scope = identity_scope(&public.context, &public.config);
    let leaf = match resync {
        Resync::Leaf(leaf) => leaf,
        Resync::SameIdentity => {
            let own = public.config.identity.identity(&identity.credential).map_err(|r| CredentialError::Refused {
                point: ValidationPoint::ExternalJoiner,
                leaf: None,
                reason: r.0,
            })?;
            match public.find_identity(&own)[..] {
                [leaf] => leaf,
                [] => return Err(UsageError::NoLeafToResync.into()),
                ref several => return Err(UsageError::AmbiguousResync(several.iter().map(|l| l.0).collect()).into()),
            }
        }
    };
    let old = public.tree.leaf(leaf).ok_or(ProposalError::RemoveOfBlankLeaf(leaf.0))?;
    check_resync_identity(&scope, leaf, &old.credential, &identity.credential)?;
    Ok(leaf)
}

fn external_join_inner(
    provider: Arc<dyn CryptoProvider>,
    config: GroupConfig,
    identity: &Identity,
    group_info: &GroupInfo,
    ratchet_tree: Option<&RatchetTreeExtension>,
    options: ExternalJoinOptions,
) -> Result<(Group, MlsMessage), Error> {
    // The joiner follows the group from its GroupInfo as a server would
    // (§12.4.3.1 checks), then commits as its new member.
    let mut public = PublicGroup::from_group_info(provider.clone(), config.public(), group_info, ratchet_tree)?;
    let external_pub = ExternalPub::find_in(&group_info.extensions)?.ok_or(GroupInfoError::MissingExternalPub)?;
    let old = public.context.clone();
    let suite = Suite::new(&*provider, old.cipher_suite)?;
    let (kem_output, init_secret) = InitSecret::for_external_join(&suite, external_pub.external_pub.as_bytes())?;

    let bundle = KeyPackageBundle::generate(&*provider, old.cipher_suite, identity)?;
    let mut list = vec![CommittedProposal {
        proposal: Proposal::ExternalInit(ExternalInit { kem_output }),
        sender: Sender::NewMemberCommit,
        reference: None,
    }];
    // Validated as a server validates them (the joiner has no membership
    // key), then referenced.
    for message in options.self_removes {
        match public.process_message(message)? {
            PublicProcessed::Proposal { reference, proposal, sender } if *proposal == Proposal::SelfRemove => {
                list.push(CommittedProposal { proposal: *proposal, sender, reference: Some(reference) });
            }
            _ => return Err(UsageError::WrongMessageKind("anything but a SelfRemove among the SelfRemoves").into()),
        }
    }
    if let Some(resync) = options.resync {
        let removed = resync_leaf(&public, identity, resync)?;
        list.push(CommittedProposal {
            proposal: Proposal::Remove(Remove { removed }),
            sender: Sender::NewMemberCommit,
            reference: None,
        });
    }
    let tree = public.tree.clone();
    let mut staged = tree.stage();
    let applied = apply_proposals(&suite, &old, &mut staged, &list, Committer::External, &public.config, true)?;
    check_unique_keys(&staged, &bundle.key_package.leaf_node, None)?;
    let me = staged.add_leaf(bundle.key_package.leaf_node.clone());
    let created = create_update_path(
        &suite,
        &mut staged,
        me,
        bundle.key_package.leaf_node.clone(),
        &identity.signer.private,
        &old.group_id,
        &[],
        |tree_hash| public.provisional_context(tree_hash, &applied).to_bytes(),
    )?;
    let commit = Commit {
        proposals: list
            .iter()
            .map(|p| match &p.reference {
                Some(r) => ProposalOrRef::Reference(r.clone()),
                None => ProposalOrRef::Proposal(Box::new(p.proposal.clone())),
            })
            .collect(),
        path: Some(created.update_path),
    };
    let content = FramedContent {
        group_id: old.group_id.clone(),
        epoch: old.epoch,
        sender: Sender::NewMemberCommit,
        authenticated_data: Vec::new(),
        body: FramedContentBody::Commit(commit),
    };
    let signed =
        framing::sign_content(&suite, &identity.signer.private, WireFormat::PUBLIC_MESSAGE, content, Some(&old))?;
    let context = public.next_context(&suite, &mut staged, &applied, &[&signed.confirmed_transcript_hash_input()]);
    let psk = PskSecret::zero(&suite);
    let mut epoch =
        derive_epoch(&suite, &init_secret, &created.commit_secret, &psk, &context.to_bytes())?.epoch_secrets;
    let tag = confirmation_tag(&suite, epoch.confirmation_key(), &context.confirmed_transcript_hash);
    let transcript = TranscriptHashes::new(&suite, context.confirmed_transcript_hash.clone(), &tag);
    let message = MlsMessage::new(crate::messages::content::MlsMessageBody::PublicMessage(framing::protect_public(
        &suite,
        signed.confirm(tag.clone())?,
        Some(&old),
        None,
    )?));
    let secret_tree = new_secret_tree(&suite, &mut epoch, staged.leaf_count(), &config)?;
    let tree_diff = staged.into_diff();
    // The last other handle on the tree goes, so the merge writes in place.
    drop(tree);
    let next = StagedPublicCommit {
        committer: Sender::NewMemberCommit,
        committer_leaf: me,
        applied,
        has_path: true,
        base_epoch: old.epoch,
        base_tree_hash: old.tree_hash.clone(),
        context,
        tree_diff,
        transcript,
        confirmation_tag: tag,
    };
    public.merge_staged_commit(next)?;
    let group =
        Group::from_public(public, config, created.private, identity.clone(), epoch, secret_tree, PskStore::default());
    Ok((group, message))
}

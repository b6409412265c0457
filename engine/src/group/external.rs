//! External joins (RFC 9420 §12.4.3.2) and proposals from external
//! senders (§12.1.8).

use std::collections::VecDeque;
use std::sync::Arc;

use crate::crypto::{CryptoProvider, SignatureKeyPair, Suite};
use crate::error::Error;
use crate::framing;
use crate::messages::RatchetTree as RatchetTreeExt;
use crate::messages::content::{FramedContent, FramedContentBody, MlsMessage, MlsMessageBody, Sender, WireFormat};
use crate::messages::registered_extensions::{ExtensionData, ExternalPub};
use crate::messages::{Commit, ExternalInit, GroupInfo, Proposal, ProposalOrRef};
use crate::schedule::transcript::confirmation_tag;
use crate::schedule::{InitSecret, TranscriptHashes, transcript};
use crate::tree::TreeView;
use crate::treekem::create_update_path;

use super::key_package::{Identity, KeyPackageBundle, now};
use super::proposals::{CommittedProposal, Committer, apply_proposals, check_unique_keys};
use super::welcome::import_and_validate;
use super::{Group, GroupConfig, PskStore, new_secret_tree, rule};

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
        ratchet_tree: Option<&RatchetTreeExt>,
    ) -> Result<(Self, MlsMessage), Error> {
        let pool = config.clone();
        pool.install(|| external_join_inner(provider, config, identity, group_info, ratchet_tree))
    }

    /// Signs a proposal as an external sender of this group's
    /// `external_senders` list (§12.1.8.1), e.g. a server's Add or Remove.
    /// The result is a PublicMessage members accept and can commit by
    /// reference.
    pub fn external_proposal(
        suite: &Suite<'_>,
        context: &crate::messages::GroupContext,
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
}

fn external_join_inner(
    provider: Arc<dyn CryptoProvider>,
    config: GroupConfig,
    identity: &Identity,
    group_info: &GroupInfo,
    ratchet_tree: Option<&RatchetTreeExt>,
) -> Result<(Group, MlsMessage), Error> {
    let old = group_info.group_context.clone();
    let suite = Suite::new(&*provider, old.cipher_suite)?;
    let tree_ext = match ratchet_tree {
        Some(t) => t.clone(),
        None => RatchetTreeExt::find_in(&group_info.extensions)?
            .ok_or_else(|| rule("no ratchet tree for the external join (RFC 9420 §12.4.3.2)"))?,
    };
    let tree = import_and_validate(&suite, &tree_ext, group_info, &config)?;
    let external_pub = ExternalPub::find_in(&group_info.extensions)?
        .ok_or_else(|| rule("GroupInfo lacks external_pub (RFC 9420 §12.4.3.2)"))?;
    let (kem_output, init_secret) = InitSecret::for_external_join(&suite, external_pub.external_pub.as_bytes())?;

    let bundle = KeyPackageBundle::generate(&*provider, old.cipher_suite, identity)?;
    let list = vec![CommittedProposal {
        proposal: Proposal::ExternalInit(ExternalInit { kem_output }),
        sender: Sender::NewMemberCommit,
        reference: None,
    }];
    let mut staged = tree.stage();
    let applied =
        apply_proposals(&suite, &old, &mut staged, &list, Committer::External, config.check_lifetimes.then(now), true)?;
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
        |th| {
            use crate::codec::Encode;
            crate::messages::GroupContext { epoch: old.epoch + 1, tree_hash: th.to_vec(), ..old.clone() }.to_bytes()
        },
    )?;
    let commit = Commit {
        proposals: list.iter().map(|p| ProposalOrRef::Proposal(Box::new(p.proposal.clone()))).collect(),
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

    // The joiner's transcript starts from the GroupInfo's confirmation tag.
    let interim =
        transcript::interim_transcript_hash(&suite, &old.confirmed_transcript_hash, &group_info.confirmation_tag);
    let confirmed = transcript::confirmed_transcript_hash(&suite, &interim, &signed.confirmed_transcript_hash_input());
    let context = crate::messages::GroupContext {
        epoch: old.epoch + 1,
        tree_hash: staged.root_hash(&suite),
        confirmed_transcript_hash: confirmed,
        ..old.clone()
    };
    use crate::codec::Encode;
    let psk = crate::schedule::PskSecret::zero(&suite);
    let derivation =
        crate::schedule::derive_epoch(&suite, &init_secret, &created.commit_secret, &psk, &context.to_bytes())?;
    let mut epoch = derivation.epoch_secrets;
    let tag = confirmation_tag(&suite, epoch.confirmation_key(), &context.confirmed_transcript_hash);
    let transcript = TranscriptHashes::new(&suite, context.confirmed_transcript_hash.clone(), &tag);
    let authenticated = signed.confirm(tag.clone())?;
    let message = MlsMessage::new(MlsMessageBody::PublicMessage(framing::protect_public(
        &suite,
        authenticated,
        Some(&old),
        None,
    )?));
    let secret_tree = new_secret_tree(&suite, &mut epoch, staged.leaf_count(), &config)?;
    let diff = staged.into_diff();
    let mut tree = tree;
    tree.merge(&suite, diff);
    let _ = applied;
    let group = Group {
        provider: provider.clone(),
        config,
        context,
        tree: Arc::new(tree),
        private: created.private,
        identity: identity.clone(),
        epoch,
        secret_tree,
        transcript,
        confirmation_tag: tag,
        proposals: Vec::new(),
        resumption_psks: VecDeque::new(),
        psks: PskStore::default(),
        pending_reinit: None,
        active: true,
        pending_leaf_keys: Vec::new(),
    };
    Ok((group, message))
}

//! Joining a group from a Welcome (RFC 9420 §12.4.3.1).

use std::sync::Arc;

use crate::codec::{Decode, Encode};
use crate::crypto::{CryptoProvider, Suite};
use crate::error::{Error, PskError, WelcomeError};
use crate::limits::{Limit, Limits};
use crate::messages::RatchetTreeExtension;
use crate::messages::{GroupInfo, GroupSecrets, Psk, ResumptionPskUsage, Welcome};
use crate::public_group::PublicGroup;
use crate::schedule::transcript::verify_confirmation_tag;
use crate::schedule::{JoinerSecret, psk_secret};
use crate::tree::TreeView;
use crate::tree_math as math;
use crate::treekem::{PrivateTree, derive_up};

use super::key_package::KeyPackageBundle;
use super::{Group, GroupConfig, PskStore, new_secret_tree};

impl Group {
    /// Joins a group from a Welcome (§12.4.3.1) with the KeyPackage it was
    /// addressed to. The ratchet tree comes from the GroupInfo's
    /// `ratchet_tree` extension, or `ratchet_tree` when given out of band.
    /// The tree is validated in full (parallel on the configured pool).
    pub fn join(
        provider: Arc<dyn CryptoProvider>,
        config: GroupConfig,
        welcome: &Welcome,
        bundle: &KeyPackageBundle,
        ratchet_tree: Option<&RatchetTreeExtension>,
        psks: PskStore,
    ) -> Result<Self, Error> {
        let pool = config.clone();
        pool.on_pool(|| join_inner(provider, config, welcome, bundle, ratchet_tree, psks))
    }
}

/// A Welcome decrypted for one KeyPackage (§12.4.3.1), before any tree
/// work: what a joiner (or a test) can check with no ratchet tree.
#[derive(Debug)]
pub struct OpenedWelcome {
    /// The joiner's secrets.
    pub group_secrets: GroupSecrets,
    /// The decrypted GroupInfo (signature not yet verified).
    pub group_info: GroupInfo,
    pub(crate) intermediate: crate::schedule::IntermediateSecret,
    pub(crate) resolved_psks: Vec<(crate::messages::PreSharedKeyId, crate::crypto::Secret)>,
}

impl OpenedWelcome {
    /// The key schedule of the epoch the Welcome admits to (§8): consumes
    /// the intermediate secret.
    pub fn into_epoch(
        self,
        suite: &Suite<'_>,
    ) -> Result<(GroupInfo, GroupSecrets, crate::schedule::EpochSecrets), Error> {
        let epoch = self.intermediate.into_epoch(suite, &self.group_info.group_context.to_bytes())?;
        Ok((self.group_info, self.group_secrets, epoch))
    }
}

/// Decrypts a Welcome with the KeyPackage's init key (§12.4.3.1): finds the
/// joiner's EncryptedGroupSecrets, opens it, resolves the PSKs, derives the
/// welcome key and decrypts the GroupInfo.
pub fn open_welcome(
    suite: &Suite<'_>,
    welcome: &Welcome,
    bundle: &KeyPackageBundle,
    psks: &PskStore,
) -> Result<OpenedWelcome, Error> {
    if bundle.key_package.cipher_suite != welcome.cipher_suite || suite.cipher_suite() != welcome.cipher_suite {
        return Err(WelcomeError::CipherSuiteMismatch.into());
    }
    let my_ref = bundle.key_package.make_ref(suite);
    let mine = welcome.secrets_for(&my_ref).ok_or(WelcomeError::NotForThisKeyPackage)?;
    let group_secrets_bytes = suite.decrypt_with_label(
        &bundle.init_private,
        "Welcome",
        &welcome.encrypted_group_info,
        &mine.encrypted_group_secrets,
    )?;
    let group_secrets = GroupSecrets::from_bytes(group_secrets_bytes.as_bytes())?;

    let mut resolved = Vec::with_capacity(group_secrets.psks.len());
    for id in &group_secrets.psks {
        let secret = match &id.psk {
            Psk::External { psk_id } => psks.get(psk_id).cloned(),
            Psk::Resumption { psk_group_id, psk_epoch, .. } => psks.get_resumption(psk_group_id, *psk_epoch).cloned(),
        }
        .ok_or(match id.psk {
            Psk::External { .. } => PskError::UnknownExternal,
            Psk::Resumption { .. } => PskError::UnknownResumptionGroup,
        })?;
        resolved.push((id.clone(), secret));
    }
    let psk = psk_secret(suite, resolved.iter().map(|(id, s)| (id, s)))?;
    let joiner_secret = JoinerSecret::new(group_secrets.joiner_secret.clone());
    let intermediate = joiner_secret.with_psk(suite, &psk);
    let (key, nonce) = intermediate.welcome_secret(suite)?.key_and_nonce(suite)?;
    let group_info_bytes = suite.aead_open(key.as_bytes(), nonce.as_bytes(), &[], &welcome.encrypted_group_info)?;
    let group_info = GroupInfo::from_bytes(group_info_bytes.as_bytes())?;
    if group_info.group_context.cipher_suite != welcome.cipher_suite {
        return Err(WelcomeError::GroupInfoCipherSuite.into());
    }
    Ok(OpenedWelcome { group_secrets, group_info, intermediate, resolved_psks: resolved })
}

fn join_inner(
    provider: Arc<dyn CryptoProvider>,
    config: GroupConfig,
    welcome: &Welcome,
    bundle: &KeyPackageBundle,
    ratchet_tree: Option<&RatchetTreeExtension>,
    psks: PskStore,
) -> Result<Group, Error> {
    let suite = Suite::new(&*provider, welcome.cipher_suite)?;
    let limits = &config.limits;
    Limits::check(Limit::MessageBytes, welcome.encrypted_group_info.len(), limits.max_message_bytes)?;
    Limits::check(Limit::Leaves, welcome.secrets.len(), limits.max_leaves as usize)?;
    let OpenedWelcome { group_secrets, group_info, intermediate, resolved_psks: resolved } =
        open_welcome(&suite, welcome, bundle, &psks)?;
    let context = &group_info.group_context;
    for id in &group_secrets.psks {
        if let Psk::Resumption { usage: ResumptionPskUsage::Reinit | ResumptionPskUsage::Branch, .. } = id.psk {
            if context.epoch != 1 {
                return Err(WelcomeError::ResumptionEpoch.into());
            }
        }
    }
    // The GroupInfo's signature, the tree hash and the whole tree, checked
    // as a server following the group checks them (§12.4.3.1).
    let public = PublicGroup::from_group_info(provider.clone(), config.public(), &group_info, ratchet_tree)?;
    let tree = &public.tree;

    let my_leaf = tree
        .members()
        .into_iter()
        .find(|(_, n)| **n == bundle.key_package.leaf_node)
        .map(|(l, _)| l)
        .ok_or(WelcomeError::OwnLeafMissing)?;
    let mut private = PrivateTree::new(
        my_leaf,
        bundle.encryption_private.clone(),
        bundle.key_package.leaf_node.encryption_key().into(),
    );
    if let Some(path_secret) = &group_secrets.path_secret {
        // From the common ancestor with the committer (the signer) up to the
        // root, each non-blank node gets the next path secret.
        let ancestor = math::common_ancestor(my_leaf.node(), group_info.signer.node());
        let mut secret = path_secret.path_secret.clone();
        let mut node = Some(ancestor);
        while let Some(x) = node {
            if !tree.is_blank(x) {
                private.insert_path_secret(&suite, x, &secret)?;
                secret = derive_up(&suite, &secret)?;
            }
            node = math::parent(x, tree.leaf_count());
        }
        if !private.is_consistent(&**tree) {
            return Err(WelcomeError::PathSecretMismatch.into());
        }
    }

    let mut epoch = intermediate.into_epoch(&suite, &context.to_bytes())?;
    verify_confirmation_tag(
        &suite,
        epoch.confirmation_key(),
        &context.confirmed_transcript_hash,
        &group_info.confirmation_tag,
    )?;
    let secret_tree = new_secret_tree(&suite, &mut epoch, tree.leaf_count(), &config)?;
    let mut store = psks;
    for (id, secret) in resolved {
        if let Psk::External { psk_id } = id.psk {
            store.insert(psk_id, secret);
        }
    }
    Ok(Group::from_public(public, config, private, bundle.identity.clone(), epoch, secret_tree, store))
}

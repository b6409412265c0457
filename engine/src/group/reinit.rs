//! Reinitialization (RFC 9420 §11.2): after a committed ReInit, the
//! committer starts the new group with the same members, binding it to the
//! old one with a resumption PSK of usage `reinit`.

use std::sync::Arc;

use crate::crypto::{CryptoProvider, Suite};
use crate::error::{Error, UsageError, WelcomeError};
use crate::messages::{
    Add, KeyPackage, PreSharedKey, PreSharedKeyId, Proposal, Psk, RatchetTreeExtension, ResumptionPskUsage, Welcome,
};

use super::commit::{CommitOptions, PendingCommit};
use super::key_package::KeyPackageBundle;
use super::{Group, GroupConfig, Identity, PskStore};

impl Group {
    /// Starts the group a committed ReInit asked for (§11.2): creates it
    /// with the ReInit's group id, version, suite and extensions, and
    /// returns it with the commit adding `key_packages` (the old members'
    /// new KeyPackages) and injecting the old group's resumption PSK
    /// (usage reinit, the epoch the ReInit commit started). Merge the
    /// commit into the new group once the delivery service accepts it.
    pub fn start_reinit(
        &self,
        identity: &Identity,
        key_packages: Vec<KeyPackage>,
        config: GroupConfig,
    ) -> Result<(Group, PendingCommit), Error> {
        let reinit = self.public.reinit.clone().ok_or(UsageError::NoReInit)?;
        let mut group = Group::create_with_provider(
            self.public.provider.clone(),
            reinit.cipher_suite,
            identity,
            reinit.group_id.clone(),
            reinit.extensions.clone(),
            config,
        )?;
        group.psks.insert_resumption(
            self.public.context.group_id.clone(),
            self.public.context.epoch,
            self.epoch.resumption_psk().clone(),
        );
        let suite = Suite::new(&*self.public.provider, reinit.cipher_suite)?;
        let psk = PreSharedKeyId {
            psk: Psk::Resumption {
                usage: ResumptionPskUsage::Reinit,
                psk_group_id: self.public.context.group_id.clone(),
                psk_epoch: self.public.context.epoch,
            },
            psk_nonce: suite.random_secret(suite.hash_len())?.as_bytes().to_vec(),
        };
        let mut proposals: Vec<Proposal> =
            key_packages.into_iter().map(|key_package| Proposal::Add(Add { key_package })).collect();
        proposals.push(Proposal::PreSharedKey(PreSharedKey { psk }));
        let pending = group.commit(CommitOptions::with_proposals(proposals))?;
        Ok((group, pending))
    }

    /// Joins the group that replaces this one after a ReInit (§11.2,
    /// §12.4.3.1): supplies this group's resumption PSK and checks that the
    /// new group matches the ReInit (group id, version, suite, extensions)
    /// and starts at epoch 1.
    pub fn join_reinit(
        &self,
        provider: Arc<dyn CryptoProvider>,
        config: GroupConfig,
        welcome: &Welcome,
        bundle: &KeyPackageBundle,
        ratchet_tree: Option<&RatchetTreeExtension>,
    ) -> Result<Group, Error> {
        let reinit = self.public.reinit.as_ref().ok_or(UsageError::NoReInit)?;
        let mut psks = PskStore::default();
        psks.insert_resumption(
            self.public.context.group_id.clone(),
            self.public.context.epoch,
            self.epoch.resumption_psk().clone(),
        );
        let group = Group::join(provider, config, welcome, bundle, ratchet_tree, psks)?;
        let c = &group.public.context;
        if c.group_id != reinit.group_id
            || c.version != reinit.version
            || c.cipher_suite != reinit.cipher_suite
            || c.extensions != reinit.extensions
            || c.epoch != 1
        {
            return Err(WelcomeError::ReInitMismatch.into());
        }
        Ok(group)
    }
}

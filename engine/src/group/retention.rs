//! Prior-epoch retention: what a member keeps of the epochs it has left so
//! that application messages still in flight when the epoch changed
//! decrypt (RFC 9420 §14: "an application MAY keep a bounded amount of
//! state for recent epochs"; the same idea as OpenMLS's `max_past_epochs`
//! and mls-rs's prior-epoch retention, and what media keys need: a frame
//! encrypted a moment before a commit arrives a moment after it).
//!
//! A retained epoch holds only what decrypting and authenticating an
//! application message needs: the epoch's GroupContext (signatures cover
//! it, §6.1), its `sender_data_secret`, its secret tree (whose ratchets go
//! on consuming and deleting keys as in the current epoch, §9.2), its
//! `exporter_secret` (media keys of in-flight frames, RFC 9605 §5.2), and
//! the signature keys of the leaves that later commits replaced. The tree
//! itself is not kept: a leaf no later commit touched still has its key in
//! the current tree. Handshake messages of old epochs are never accepted
//! (a commit or proposal only makes sense in its own epoch).
//!
//! Every secret here is a [`Secret`] or inside a [`SecretTree`], both
//! zeroized on drop; an epoch is dropped as soon as it leaves the window.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::crypto::{Secret, Suite};
use crate::error::{Error, ValidationError};
use crate::framing;
use crate::messages::GroupContext;
use crate::messages::content::{AuthenticatedContent, PrivateMessage};
use crate::public_group::EpochRetention;
use crate::schedule::EpochSecrets;
use crate::secret_tree::SecretTree;
use crate::tree::{RatchetTree, TreeView};
use crate::tree_math::LeafIndex;

/// One epoch the group has left.
#[derive(Clone, Debug)]
pub(crate) struct RetainedEpoch {
    pub(crate) context: GroupContext,
    pub(crate) sender_data_secret: Secret,
    pub(crate) secret_tree: SecretTree,
    exporter_secret: Secret,
    /// The signature key each leaf the closing commit changed had in this
    /// epoch (`None`: the leaf was blank), keyed by leaf index.
    replaced_keys: BTreeMap<u32, Option<Vec<u8>>>,
    left_at: Instant,
}

/// Signature keys a commit replaces, read from the tree before it merges.
#[derive(Debug, Default)]
pub(crate) struct ReplacedKeys(BTreeMap<u32, Option<Vec<u8>>>);

/// The retained epochs of one member, oldest first.
#[derive(Clone, Debug, Default)]
pub(crate) struct Retained {
    // A handful of entries: a Vec, popped at the front when one expires.
    epochs: Vec<RetainedEpoch>,
}

impl Retained {
    /// The signature keys, in `tree` (the tree being left), of the leaves
    /// a commit changes: read before the commit is merged.
    pub(crate) fn replaced_keys(tree: &RatchetTree, changed: impl Iterator<Item = u32>) -> ReplacedKeys {
        ReplacedKeys(
            changed.map(|leaf| (leaf, tree.leaf(LeafIndex(leaf)).map(|n| n.signature_key().to_vec()))).collect(),
        )
    }

    /// Keeps the epoch the group is leaving: its context, its secrets and
    /// the keys its closing commit replaced. Then drops what is outside
    /// `window`.
    pub(crate) fn retire(
        &mut self,
        window: &EpochRetention,
        context: GroupContext,
        secrets: &EpochSecrets,
        secret_tree: SecretTree,
        replaced: ReplacedKeys,
    ) {
        if window.epochs == 0 {
            self.epochs.clear();
            return;
        }
        self.epochs.push(RetainedEpoch {
            context,
            sender_data_secret: secrets.sender_data_secret().clone(),
            secret_tree,
            exporter_secret: secrets.exporter_secret().clone(),
            replaced_keys: replaced.0,
            left_at: Instant::now(),
        });
        self.prune(window, Instant::now());
    }

    /// Drops every epoch outside the window at `now`.
    pub(crate) fn prune(&mut self, window: &EpochRetention, now: Instant) {
        let excess = self.epochs.len().saturating_sub(window.epochs);
        // Epochs are left in order, so the expired ones are at the front.
        let expired = self.epochs.iter().skip(excess).take_while(|e| window.expired(e.left_at, now)).count();
        self.epochs.drain(..excess + expired);
    }

    /// Drops every retained epoch (the member left the group, or a ReInit
    /// or resync replaced it).
    pub(crate) fn clear(&mut self) {
        self.epochs.clear();
    }

    fn position(&self, epoch: u64) -> Option<usize> {
        self.epochs.iter().position(|e| e.context.epoch == epoch)
    }

    /// Decrypts an application message of a retained epoch (§6.3) with
    /// that epoch's keys, consuming its generation as in the current epoch
    /// (§9.2). The sender's signature key is the one its leaf had in that
    /// epoch: the value the first later commit that changed the leaf
    /// recorded, or the current tree's if none did. `current_epoch` is only
    /// for the error.
    pub(crate) fn unprotect(
        &mut self,
        suite: &Suite<'_>,
        message: PrivateMessage,
        current: &RatchetTree,
        current_epoch: u64,
    ) -> Result<AuthenticatedContent, Error> {
        let got = message.epoch;
        let i = self.position(got).ok_or(ValidationError::EpochNotRetained { current: current_epoch, got })?;
        let (upto, later) = self.epochs.split_at_mut(i + 1);
        let Some(RetainedEpoch { context, sender_data_secret, secret_tree, replaced_keys, .. }) = upto.last_mut()
        else {
            return Err(ValidationError::EpochNotRetained { current: current_epoch, got }.into());
        };
        let replaced: &BTreeMap<u32, Option<Vec<u8>>> = replaced_keys;
        framing::unprotect_private(suite, message, context, secret_tree, sender_data_secret, |leaf| {
            std::iter::once(replaced)
                .chain(later.iter().map(|e| &e.replaced_keys))
                .find_map(|keys| keys.get(&leaf.0))
                .map_or_else(|| current.leaf(leaf).map(|n| n.signature_key().to_vec()), Clone::clone)
        })
    }

    /// MLS-Exporter (§8.5) of a retained epoch.
    pub(crate) fn export(
        &self,
        suite: &Suite<'_>,
        epoch: u64,
        label: &str,
        context: &[u8],
        length: u16,
    ) -> Option<Result<Secret, Error>> {
        let retained = &self.epochs[self.position(epoch)?];
        Some(crate::schedule::mls_exporter(suite, &retained.exporter_secret, label.as_bytes(), context, length))
    }

    /// The retained epochs' numbers, oldest first.
    pub(crate) fn epochs(&self) -> impl Iterator<Item = u64> + '_ {
        self.epochs.iter().map(|e| e.context.epoch)
    }

    /// Bytes of secret state held for retained epochs (secret trees,
    /// secrets, contexts, replaced keys), for memory reports.
    pub(crate) fn state_len(&self) -> usize {
        self.epochs
            .iter()
            .map(|e| {
                e.secret_tree.state_len_bound()
                    + e.sender_data_secret.as_bytes().len()
                    + e.exporter_secret.as_bytes().len()
                    + crate::codec::Encode::to_bytes(&e.context).len()
                    + e.replaced_keys.values().map(|k| 4 + k.as_ref().map_or(0, Vec::len)).sum::<usize>()
            })
            .sum()
    }
}

// What a retained epoch holds is wiped when it leaves the window: every
// secret in it is a `Secret` or inside a `SecretTree`, whose secrets are
// `Secret`s, and `Secret` zeroizes on drop.
const _: () = {
    fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    let _ = zeroized_on_drop::<Secret>;
};

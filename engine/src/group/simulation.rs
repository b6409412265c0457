//! Load-generator support (feature `simulation`, off by default): a member
//! state built from a co-resident member of the same epoch.
//!
//! A load generator that simulates a 100,000-member group cannot have every
//! member process every commit. Most members are *passive*: they hold only
//! their identity (credential and signature key pair). When one of them is
//! chosen to act, [`Group::materialize`] gives it the state it would hold had
//! it processed the group's history: the epoch secrets, transcript, GroupInfo
//! confirmation tag and cached proposals every member of the epoch shares
//! (copied from `donor`), the shared public tree, and its own identity. What
//! it lacks are the private keys of its own leaf and direct path (only the
//! member itself could have derived them), so it can commit (a commit
//! replaces the whole direct path), propose an Update or its own removal, and
//! send application messages, but cannot process a commit until one of its
//! own path-resetting actions was merged. Never enable this in a product:
//! it copies epoch secrets between members.

use std::sync::Arc;

use crate::error::Error;
use crate::tree::TreeView;
use crate::treekem::PrivateTree;

use super::key_package::Identity;
use super::{Group, rule};

impl Group {
    /// The state of the member holding `identity`'s signature key in
    /// `donor`'s tree, in `donor`'s epoch (see the module documentation for
    /// what it can and cannot do).
    pub fn materialize(donor: &Group, identity: &Identity) -> Result<Group, Error> {
        let leaf = donor
            .tree
            .find_signature_key(identity.signer.public.as_bytes())
            .ok_or_else(|| rule("materialize: identity is not a member of the donor's tree"))?;
        let node = donor.tree.leaf(leaf).ok_or_else(|| rule("materialize: blank leaf"))?;
        if node.credential != identity.credential {
            return Err(rule("materialize: credential differs from the leaf's"));
        }
        // No private key of the member's own leaf or path is known here: a
        // placeholder whose public half matches no node is dropped at once.
        let mut private = PrivateTree::new(
            leaf,
            crate::crypto::HpkePrivateKey(crate::crypto::Secret::zero(0)),
            crate::crypto::HpkePublicKey(Vec::new()),
        );
        private.retain_consistent(&*donor.tree);
        Ok(Group {
            provider: donor.provider.clone(),
            config: donor.config.clone(),
            context: donor.context.clone(),
            tree: Arc::clone(&donor.tree),
            private,
            identity: identity.clone(),
            epoch: donor.epoch.clone(),
            secret_tree: donor.secret_tree.fork(),
            transcript: donor.transcript.clone(),
            confirmation_tag: donor.confirmation_tag.clone(),
            proposals: donor.proposals.clone(),
            resumption_psks: donor.resumption_psks.clone(),
            psks: donor.psks.clone(),
            pending_reinit: donor.pending_reinit.clone(),
            active: donor.active,
            pending_leaf_keys: Vec::new(),
        })
    }
}

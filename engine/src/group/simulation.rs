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

use crate::error::{Error, UsageError};
use crate::tree::TreeView;
use crate::treekem::PrivateTree;

use super::Group;
use super::key_package::Identity;

impl Group {
    /// The state of the member holding `identity`'s signature key in
    /// `donor`'s tree, in `donor`'s epoch (see the module documentation for
    /// what it can and cannot do).
    pub fn materialize(donor: &Group, identity: &Identity) -> Result<Group, Error> {
        let not_a_member = UsageError::InvalidArgument("materialize: identity is not a member of the donor's tree");
        let tree = &donor.public.tree;
        let leaf = tree.find_signature_key(identity.signer.public.as_bytes()).ok_or(not_a_member.clone())?;
        let node = tree.leaf(leaf).ok_or(not_a_member.clone())?;
        if node.credential != identity.credential {
            return Err(not_a_member.into());
        }
        // No private key of the member's own leaf or path is known here: a
        // placeholder whose public half matches no node is dropped at once.
        let mut private = PrivateTree::new(
            leaf,
            crate::crypto::HpkePrivateKey(crate::crypto::Secret::zero(0)),
            crate::crypto::HpkePublicKey::default(),
        );
        private.retain_consistent(&**tree);
        Ok(Group {
            public: donor.public.clone(),
            config: donor.config.clone(),
            private,
            identity: identity.clone(),
            epoch: donor.epoch.clone(),
            secret_tree: donor.secret_tree.fork(),
            resumption_psks: donor.resumption_psks.clone(),
            psks: donor.psks.clone(),
            active: donor.active,
            pending_leaf_keys: Vec::new(),
            deferred: Default::default(),
            retained: Default::default(),
        })
    }
}

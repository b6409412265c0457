//! The producing side of Partial MLS: annotations made from a full view of
//! the tree, by a server following the group ([`PublicGroup`], RFC 9750) or
//! by a full member ([`crate::Group::public`]), for the group's partial
//! members (draft-ietf-mls-partial §"Protocol Overview": "annotations can be
//! computed by any party with knowledge of the group's ratchet tree").
//!
//! - [`CommitAnnotator`]: one [`AnnotatedCommit`] per partial recipient of a
//!   commit (draft §"Annotated Commit"). Made from the group before the
//!   commit is merged and its staged commit, finished on the group after;
//!   what every recipient shares is computed once.
//! - [`PublicGroup::annotate_welcome`]: one [`AnnotatedWelcome`] per joiner
//!   (draft §"Joining via Annotated Welcome").
//! - [`PublicGroup::sender_authenticate`]: a message with its sender's
//!   proof (draft §"Sender-Authenticated Messages", §"Application
//!   Messages").
//!
//! Every proof is read from the tree's cached hashes
//! ([`MembershipProof::new`]): annotating costs copies of the O(log n)
//! nodes and hashes a proof carries, and 4 hashes per proof for the two
//! lowest copath nodes, which the cache does not hold.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::codec::{Encode, write_bytes};
use crate::crypto::Suite;
use crate::error::{Error, InternalError, UsageError};
use crate::messages::content::{ContentType, FramedContentBody, MlsMessage, MlsMessageBody, Sender};
use crate::public_group::{PublicGroup, StagedPublicCommit};
use crate::tree::{RatchetTree, TreeView};
use crate::tree_math::LeafIndex;
use crate::treekem::{PublicPath, locate_in_path};

use super::{AnnotatedCommit, AnnotatedWelcome, MembershipProof, SenderAuthenticatedMessage};

/// What the AnnotatedCommits of one commit share, taken from the tree
/// before the commit (draft-ietf-mls-partial §"Annotated Commit").
///
/// ```text
/// let annotator = CommitAnnotator::new(group.public(), staged, &commit)?;   // before the merge
/// group.merge_staged_commit(staged)?;
/// let annotated = annotator.annotate(group.public(), &partial_members)?;    // after it
/// ```
///
/// Cost, for a tree of n leaves and r recipients: [`new`](Self::new) copies
/// the committer's proof in the tree before (O(log n) nodes and cached
/// hashes). [`annotate`](Self::annotate) computes once the committer's
/// proof after and, for a commit with a path, the nodes each ciphertext is
/// addressed to (the committer's copath resolutions, O(log n) plus their
/// total size, indexed in a hash map); then per recipient, on the group's
/// rayon pool: O(log n) look-ups for its `resolution_index` and a proof of
/// O(log n) nodes and cached hashes, plus 4 hashes for the copath's two
/// lowest nodes (the tree caches the tree hashes from level 2 up). No other
/// cryptographic operation is computed. The rest is
/// copying: each AnnotatedCommit owns a copy of the commit and of the
/// committer's two proofs, which [`annotate_encoded`](Self::annotate_encoded)
/// (the bytes a server sends) encodes once and copies as bytes.
#[derive(Clone, Debug)]
pub struct CommitAnnotator {
    commit: MlsMessage,
    /// Present exactly for a member committer (draft: absent for
    /// `new_member_commit`).
    sender_membership_proof: Option<MembershipProof>,
    committer: LeafIndex,
    /// Leaves the commit adds: they join from the Welcome and the path
    /// secrets are not encrypted to them (RFC 9420 §7.5).
    new_members: Vec<LeafIndex>,
    has_path: bool,
    epoch_after: u64,
    tree_hash_after: Vec<u8>,
}

impl CommitAnnotator {
    /// Takes what the annotations need from the tree before the commit:
    /// `before` is the group the commit was staged on, not yet merged,
    /// `staged` the staged commit (a server's [`StagedPublicCommit`], or a
    /// member's `PendingCommit::public` / `StagedCommit::public`), and
    /// `commit` the message that carried it, PublicMessage or
    /// PrivateMessage (a server reads only the former; a member that made or
    /// processed the commit may annotate either).
    pub fn new(before: &PublicGroup, staged: &StagedPublicCommit, commit: &MlsMessage) -> Result<Self, Error> {
        if staged.base_epoch != before.epoch() || staged.base_tree_hash != before.tree_hash() {
            return Err(UsageError::StaleCommit.into());
        }
        check_commit_message(before, staged, commit)?;
        let sender_membership_proof = match staged.committer() {
            Sender::Member(leaf) => Some(MembershipProof::new(&before.suite()?, before.tree(), *leaf)?),
            Sender::NewMemberCommit => None,
            _ => return Err(InternalError::invariant("a staged commit is from a member or a new member")),
        };
        Ok(Self {
            commit: commit.clone(),
            sender_membership_proof,
            committer: staged.committer_leaf(),
            new_members: staged.added().iter().map(|(leaf, _)| *leaf).collect(),
            has_path: staged.has_path(),
            epoch_after: staged.new_epoch(),
            tree_hash_after: staged.tree_hash().to_vec(),
        })
    }

    /// The tree hash after the commit, every annotation's `tree_hash_after`.
    pub fn tree_hash_after(&self) -> &[u8] {
        &self.tree_hash_after
    }

    /// One AnnotatedCommit per leaf of `recipients` (leaves of the tree
    /// after the commit), in their order, made in parallel on the group's
    /// pool. `after` is the group once the commit is merged (its epoch and
    /// tree hash are checked). A recipient that gets none has a typed
    /// error in its place: a leaf that holds no member after the commit
    /// ([`UsageError::NotAMember`], removed members included), the
    /// committer or a member the commit adds
    /// ([`UsageError::NotAnnotationRecipient`]).
    pub fn annotate(
        &self,
        after: &PublicGroup,
        recipients: &[LeafIndex],
    ) -> Result<Vec<Result<AnnotatedCommit, Error>>, Error> {
        if after.epoch() != self.epoch_after || after.tree_hash() != self.tree_hash_after.as_slice() {
            return Err(UsageError::StaleCommit.into());
        }
        let tree = after.tree();
        let suite = after.suite()?;
        let shared = Shared {
            sender_membership_proof_after: MembershipProof::new(&suite, tree, self.committer)?,
            path: self.has_path.then(|| PathIndex::new(tree, self.committer, &self.new_members)),
        };
        Ok(after
            .config
            .on_pool(|| recipients.par_iter().map(|&r| self.annotate_one(&suite, tree, &shared, r)).collect()))
    }

    /// [`annotate`](Self::annotate) as the bytes a server sends: each
    /// entry is the encoded AnnotatedCommit (equal to `to_bytes` of the
    /// struct `annotate` gives). The parts every recipient shares (the
    /// commit, the committer's proofs, `tree_hash_after`) are encoded once
    /// and copied; each recipient's proof is encoded straight from the
    /// tree. Per recipient: one buffer, O(log n) look-ups, no node copied
    /// but into it.
    pub fn annotate_encoded(
        &self,
        after: &PublicGroup,
        recipients: &[LeafIndex],
    ) -> Result<Vec<Result<Vec<u8>, Error>>, Error> {
        if after.epoch() != self.epoch_after || after.tree_hash() != self.tree_hash_after.as_slice() {
            return Err(UsageError::StaleCommit.into());
        }
        let tree = after.tree();
        let suite = after.suite()?;
        let path = self.has_path.then(|| PathIndex::new(tree, self.committer, &self.new_members));
        // AnnotatedCommit's fields in order: commit,
        // sender_membership_proof, tree_hash_after | resolution_index |
        // sender_membership_proof_after | receiver_membership_proof_after.
        let mut prefix = Vec::new();
        self.commit.encode(&mut prefix);
        self.sender_membership_proof.encode(&mut prefix);
        write_bytes(&mut prefix, &self.tree_hash_after);
        let mut sender_after = Vec::new();
        MembershipProof::encode_from_tree(&suite, tree, self.committer, &mut sender_after)?;
        let encode_one = |recipient: LeafIndex| -> Result<Vec<u8>, Error> {
            let resolution_index = self.resolution_index(tree, path.as_ref(), recipient)?;
            // A receiver proof is about as long as the sender's.
            let mut out = Vec::with_capacity(prefix.len() + 5 + 2 * sender_after.len());
            out.extend_from_slice(&prefix);
            resolution_index.encode(&mut out);
            out.extend_from_slice(&sender_after);
            MembershipProof::encode_from_tree(&suite, tree, recipient, &mut out)?;
            Ok(out)
        };
        Ok(after.config.on_pool(|| recipients.par_iter().map(|&r| encode_one(r)).collect()))
    }

    /// The recipient's `resolution_index`, once it is checked to be one.
    fn resolution_index(
        &self,
        tree: &RatchetTree,
        path: Option<&PathIndex>,
        recipient: LeafIndex,
    ) -> Result<Option<u32>, Error> {
        if recipient == self.committer {
            return Err(UsageError::NotAnnotationRecipient { leaf: recipient.0, reason: "the committer" }.into());
        }
        if self.new_members.contains(&recipient) {
            let reason = "added by this commit, it joins from the Welcome (annotate_welcome)";
            return Err(UsageError::NotAnnotationRecipient { leaf: recipient.0, reason }.into());
        }
        if tree.leaf(recipient).is_none() {
            return Err(UsageError::NotAMember(recipient.0).into());
        }
        match path {
            Some(path) => Ok(Some(path.resolution_index(recipient)?)),
            None => Ok(None),
        }
    }

    fn annotate_one(
        &self,
        suite: &Suite<'_>,
        tree: &RatchetTree,
        shared: &Shared,
        recipient: LeafIndex,
    ) -> Result<AnnotatedCommit, Error> {
        let resolution_index = self.resolution_index(tree, shared.path.as_ref(), recipient)?;
        Ok(AnnotatedCommit {
            commit: self.commit.clone(),
            sender_membership_proof: self.sender_membership_proof.clone(),
            tree_hash_after: self.tree_hash_after.clone(),
            resolution_index,
            sender_membership_proof_after: shared.sender_membership_proof_after.clone(),
            receiver_membership_proof_after: MembershipProof::new(suite, tree, recipient)?,
        })
    }
}

/// What [`CommitAnnotator::annotate`] computes once for all recipients.
struct Shared {
    sender_membership_proof_after: MembershipProof,
    path: Option<PathIndex>,
}

/// The committer's UpdatePath as receivers locate their ciphertext in it,
/// with every addressed node's position in its resolution, so that each
/// recipient costs O(log n) look-ups rather than a scan of a resolution.
struct PathIndex {
    path: PublicPath,
    /// Node index to its position in its step's resolution. A node is in
    /// one step's resolution at most: the copath subtrees are disjoint.
    positions: HashMap<u32, u32>,
}

impl PathIndex {
    fn new(tree: &RatchetTree, committer: LeafIndex, new_members: &[LeafIndex]) -> Self {
        let path = PublicPath::of(tree, committer, new_members);
        let mut positions = HashMap::with_capacity(path.resolutions.iter().map(Vec::len).sum());
        for resolution in &path.resolutions {
            // A resolution has fewer nodes than the tree, whose node indices are u32.
            positions.extend(resolution.iter().enumerate().map(|(i, x)| (x.0, i as u32)));
        }
        Self { path, positions }
    }

    /// The index, within the UpdatePathNode at the lowest common ancestor
    /// of committer and recipient, of the recipient's HPKECiphertext: the
    /// one a full member at that leaf decrypts (the same rule,
    /// `treekem::locate_in_path`).
    fn resolution_index(&self, recipient: LeafIndex) -> Result<u32, Error> {
        let (_, slot) =
            locate_in_path(&self.path.steps, recipient, |_, x| self.positions.get(&x.0).map(|&slot| slot as usize))
                .ok_or(InternalError::invariant(
                    "a member other than the committer and joiners is addressed by the path",
                ))?;
        Ok(slot as u32)
    }
}

/// The commit message must be the staged commit's: same group, epoch and
/// content type; for a PublicMessage also the same sender and path presence.
fn check_commit_message(before: &PublicGroup, staged: &StagedPublicCommit, commit: &MlsMessage) -> Result<(), Error> {
    let (group_id, epoch) = match &commit.body {
        MlsMessageBody::PublicMessage(m) => {
            let FramedContentBody::Commit(body) = &m.content.body else {
                return Err(UsageError::CommitMismatch("not a commit").into());
            };
            if m.content.sender != *staged.committer() {
                return Err(UsageError::CommitMismatch("another sender").into());
            }
            if body.path.is_some() != staged.has_path() {
                return Err(UsageError::CommitMismatch("path presence differs").into());
            }
            (&m.content.group_id, m.content.epoch)
        }
        MlsMessageBody::PrivateMessage(m) => {
            if m.content_type != ContentType::Commit {
                return Err(UsageError::CommitMismatch("not a commit").into());
            }
            (&m.group_id, m.epoch)
        }
        _ => return Err(UsageError::WrongMessageKind("a message other than a PublicMessage or PrivateMessage").into()),
    };
    if group_id.as_slice() != before.group_id() || epoch != staged.base_epoch {
        return Err(UsageError::CommitMismatch("another group or epoch").into());
    }
    Ok(())
}

impl PublicGroup {
    /// One AnnotatedWelcome per leaf of `joiners`, in their order, for a
    /// `welcome` made by the commit that started the current epoch (call
    /// after merging it): the sender's proof (`sender`, the committer's
    /// leaf) and each joiner's, in the current tree (draft-ietf-mls-partial
    /// §"Joining via Annotated Welcome"). A joiner that holds no member has
    /// [`UsageError::NotAMember`] in its place. Cost: one proof per joiner
    /// plus one, from cached hashes (and 4 hashes each); the joiners' run in parallel on the
    /// group's pool.
    pub fn annotate_welcome(
        &self,
        welcome: &MlsMessage,
        sender: LeafIndex,
        joiners: &[LeafIndex],
    ) -> Result<Vec<Result<AnnotatedWelcome, Error>>, Error> {
        let MlsMessageBody::Welcome(welcome) = &welcome.body else {
            return Err(UsageError::WrongMessageKind("a message other than a Welcome").into());
        };
        let sender = self.sender_authenticate(welcome.clone(), sender)?;
        let tree = self.tree();
        let suite = self.suite()?;
        Ok(self.config.on_pool(|| {
            joiners
                .par_iter()
                .map(|&joiner| {
                    if tree.leaf(joiner).is_none() {
                        return Err(UsageError::NotAMember(joiner.0).into());
                    }
                    Ok(AnnotatedWelcome {
                        welcome: sender.clone(),
                        joiner_membership_proof: MembershipProof::new(&suite, tree, joiner)?,
                    })
                })
                .collect()
        }))
    }

    /// `message` with the proof of its sender at `sender` in the current
    /// tree (draft-ietf-mls-partial §"Sender-Authenticated Messages"): for
    /// a PublicMessage or PrivateMessage of the current epoch (a server
    /// learns a PrivateMessage's sender only if told, §6.3.2), a GroupInfo
    /// or Welcome of it. A leaf that holds no member is
    /// [`UsageError::NotAMember`]. One proof from cached hashes and 4 hashes.
    pub fn sender_authenticate<T>(
        &self,
        message: T,
        sender: LeafIndex,
    ) -> Result<SenderAuthenticatedMessage<T>, Error> {
        if self.tree().leaf(sender).is_none() {
            return Err(UsageError::NotAMember(sender.0).into());
        }
        Ok(SenderAuthenticatedMessage {
            message,
            sender_membership_proof: MembershipProof::new(&self.suite()?, self.tree(), sender)?,
        })
    }
}

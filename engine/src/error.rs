//! The engine's one error type, grouped by what went wrong (docs/STYLE.md 5).
//!
//! A caller matches on the kind first: [`Error::Malformed`] and
//! [`Error::Invalid`] are a peer's fault (bytes or a rule of RFC 9420),
//! [`Error::Crypto`] a failed verification or decryption, [`Error::Usage`]
//! the caller's own misuse, [`Error::State`] a damaged store, and
//! [`Error::Internal`] a bug in throng. Each validation variant names the
//! RFC section it enforces, in its documentation and its `Display`.

use thiserror::Error;

pub use crate::codec::DecodeError;
pub use crate::crypto::CryptoError;
pub use crate::custom_proposals::ProposalStage;
pub use crate::identity::ValidationPoint;
pub use crate::limits::{Limit, LimitExceeded};

/// A decode error, except that an exceeded bound is [`Error::Limit`].
impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::Limit(l) => Self::Limit(l),
            e => Self::Malformed(e),
        }
    }
}

/// An encoding too long for its length prefix (RFC 9420 §2.1.2).
impl From<crate::codec::EncodeError> for Error {
    fn from(_: crate::codec::EncodeError) -> Self {
        Self::Limit(LimitExceeded {
            limit: Limit::EncodedVector,
            value: crate::codec::MAX_VARINT + 1,
            max: crate::codec::MAX_VARINT,
        })
    }
}

/// Everything an engine call can fail with.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes from a peer did not decode.
    #[error("malformed message: {0}")]
    Malformed(DecodeError),
    /// A peer's input exceeds a configured bound ([`crate::Limits`]), or a
    /// counter the protocol bounds would overflow.
    #[error("limit: {0}")]
    Limit(#[from] LimitExceeded),
    /// A message decoded but breaks a rule of RFC 9420.
    #[error("invalid: {0}")]
    Invalid(#[from] ValidationError),
    /// A cryptographic operation failed.
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
    /// The caller asked for something the current state does not allow.
    #[error("usage: {0}")]
    Usage(#[from] UsageError),
    /// Exported group state could not be imported.
    #[error("state: {0}")]
    State(#[from] StateError),
    /// An invariant of throng itself broke: a bug, never a peer's fault.
    #[error("internal: {0}")]
    Internal(#[from] InternalError),
    /// SFrame media encryption (RFC 9605, [`crate::sframe`]) failed; whose
    /// fault it is, [`SframeError::is_peer_fault`] says.
    #[error("sframe: {0}")]
    Sframe(#[from] SframeError),
    /// A delivery service's store failed (`throng::store`); the registry
    /// changed nothing.
    #[error("store: {0}")]
    Store(#[from] crate::server::store::StoreError),
}

/// A rule of RFC 9420 that a message broke; each variant names its section.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// An extension list holds two extensions of one type (§13.4).
    #[error("two extensions of type {0} in one list (§13.4)")]
    DuplicateExtension(u16),
    /// A confirmation tag is not a MAC of the suite's length (§6.1, §8.2).
    #[error("confirmation tag has the wrong length (§6.1)")]
    ConfirmationTagLength,
    /// A secret-tree generation is too far behind the ratchet (§9.2 forward secrecy window).
    #[error("generation {generation} is older than the out-of-order window allows (§9.2)")]
    GenerationTooOld {
        /// Requested generation.
        generation: u32,
    },
    /// A secret-tree generation is too far ahead of the ratchet.
    #[error("generation {generation} is further ahead than the window allows (§9.2)")]
    GenerationTooFarAhead {
        /// Requested generation.
        generation: u32,
    },
    /// The key for that generation was already used and deleted (§9.2).
    #[error("key for generation {generation} was already consumed (§9.2)")]
    GenerationConsumed {
        /// Requested generation.
        generation: u32,
    },
    /// A leaf's ratchets were already deleted from the secret tree (§9.2).
    #[error("the secret tree no longer holds leaf {0}'s ratchets (§9.2)")]
    RatchetDeleted(u32),
    /// A leaf index is outside the tree (§4, §9).
    #[error("leaf {0} is outside the tree")]
    LeafOutOfRange(u32),
    /// More PSKs than `PSKLabel.count`, a uint16, can number (§8.4).
    #[error("{0} PSKs exceed the 65535 that PSKLabel can count (§8.4)")]
    TooManyPsks(usize),
    /// The message's protocol version is not mls10 (§6).
    #[error("protocol version is not mls10 (§6)")]
    UnsupportedVersion,
    /// Application data travels only in a PrivateMessage (§6: applications
    /// MUST use PrivateMessage for application messages).
    #[error("application data must be sent as a PrivateMessage (§6)")]
    ApplicationInPublicMessage,
    /// Only a member sends a PrivateMessage (§6.3.2).
    #[error("only a member sender may send a PrivateMessage (§6.3.2)")]
    PrivateMessageFromNonMember,
    /// The sender type may not send this content (§6.1): an external sender
    /// only proposals of a type allowed for it, a new_member_proposal
    /// sender only an Add, a new_member_commit sender only a Commit.
    #[error("a {sender} sender may not send this content (§6.1)")]
    SenderNotAllowed {
        /// The `SenderType`, in the RFC's words.
        sender: &'static str,
    },
    /// The sender's leaf is blank or outside the tree (§6.3.2, §6.1).
    #[error("sender leaf {0} is blank (§6.3.2)")]
    BlankSenderLeaf(u32),
    /// No signature key is known for a non-member sender (§6.1).
    #[error("no signature key for the sender (§6.1)")]
    UnknownSigner,
    /// The message's group_id is not the group's (§6).
    #[error("message is for another group")]
    WrongGroup,
    /// The message's epoch is not the one it is being processed in (§6).
    #[error("message is for epoch {got}, expected {expected}")]
    WrongEpoch {
        /// The epoch of the keys at hand.
        expected: u64,
        /// The message's epoch.
        got: u64,
    },
    /// An application message of an earlier epoch that this member no
    /// longer keeps (outside [`crate::EpochRetention`]'s window, or
    /// retention is off).
    #[error("message is for epoch {got}, which is no longer retained (the group is in epoch {current})")]
    EpochNotRetained {
        /// The group's epoch.
        current: u64,
        /// The message's epoch.
        got: u64,
    },
    /// A `membership_tag` is missing for a member sender, or present for
    /// another (§6.2).
    #[error("membership_tag must be present exactly for member senders (§6.2)")]
    MembershipTagPresence,
    /// A `confirmation_tag` is missing from a Commit, or present on other
    /// content (§6.1).
    #[error("confirmation_tag must be present exactly for commits (§6.1)")]
    ConfirmationTagPresence,
    /// A proposal, alone or in a commit's list, breaks §12.1–§12.3.
    #[error("proposal: {0}")]
    Proposal(#[from] ProposalError),
    /// A commit breaks §12.4.2.
    #[error("commit: {0}")]
    Commit(#[from] CommitError),
    /// A leaf node breaks §7.3.
    #[error("leaf node: {0}")]
    LeafNode(#[from] LeafNodeError),
    /// A KeyPackage breaks §10.1.
    #[error("key package: {0}")]
    KeyPackage(#[from] KeyPackageError),
    /// An UpdatePath breaks §7.5, §7.6 or §7.9.2.
    #[error("update path: {0}")]
    UpdatePath(#[from] UpdatePathError),
    /// A ratchet tree breaks §7.1, §7.9.2 or §12.4.3.3.
    #[error("ratchet tree: {0}")]
    Tree(#[from] TreeError),
    /// A Welcome cannot be joined (§12.4.3.1).
    #[error("welcome: {0}")]
    Welcome(#[from] WelcomeError),
    /// A GroupInfo does not describe the group, or lacks what the
    /// operation needs (§12.4.3).
    #[error("group info: {0}")]
    GroupInfo(#[from] GroupInfoError),
    /// A pre-shared key cannot be resolved (§8.4, §12.4.2).
    #[error("psk: {0}")]
    Psk(#[from] PskError),
    /// The application's identity validator refused a credential (§5.3.1).
    #[error("credential: {0}")]
    Credential(#[from] CredentialError),
    /// A Partial MLS annotation (membership proof, annotated message) is
    /// malformed or does not prove what it claims (draft-ietf-mls-partial).
    #[error("partial MLS: {0}")]
    Partial(#[from] PartialError),
    /// The application's validator refused a custom proposal (§12.2).
    #[error("custom proposal: {0}")]
    CustomProposal(#[from] CustomProposalError),
}

/// A Partial MLS annotation that does not hold (draft-ietf-mls-partial).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PartialError {
    /// A membership proof's shape does not fit its tree: `n_leaves` not a
    /// power of two, the leaf outside the tree, or node or hash counts
    /// other than the depth asks (draft §"Membership Proofs").
    #[error("membership proof malformed: {0}")]
    ProofShape(&'static str),
    /// The proof's recomputed root tree hash is not the expected one.
    #[error("membership proof does not lead to the group's tree hash")]
    ProofTreeHash,
    /// Two proofs that must reference the same tree do not (different
    /// `n_leaves` or root hashes).
    #[error("membership proofs reference different trees")]
    ProofsDiffer,
    /// The proven leaf is blank: it proves no member.
    #[error("membership proof of a blank leaf")]
    BlankLeaf,
    /// A member's message or commit came without the sender's proof a
    /// partial member needs (draft §"Sender-Authenticated Messages").
    #[error("a member's message without its sender's membership proof")]
    MissingProof,
    /// A proof where the draft forbids one (a new member's external
    /// commit has no sender proof, draft §"Annotated Commit").
    #[error("a sender membership proof for a new member's commit")]
    UnexpectedProof,
    /// `resolution_index` present without a path, or absent with one
    /// (draft §"Annotated Commit").
    #[error("resolution_index must be present exactly when the commit has a path")]
    ResolutionIndex,
    /// The annotation does not lead to a ciphertext this member can open.
    #[error("annotated path unusable: {0}")]
    PathShape(&'static str),
    /// The proof is for another leaf than the message's sender or signer.
    #[error("membership proof is for leaf {proof}, the message names leaf {named}")]
    WrongLeaf {
        /// The proof's leaf.
        proof: u32,
        /// The leaf the message names.
        named: u32,
    },
}

/// A custom (application-defined) proposal the application's
/// [`crate::CustomProposalValidator`] refused (RFC 9420 §12.2: "an
/// application may extend the above procedure by additional rules").
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CustomProposalError {
    /// The validator refused the proposal.
    #[error("proposal type {proposal_type:#06x} refused when {stage:?}: {reason} (§12.2)")]
    Refused {
        /// The proposal's type.
        proposal_type: u16,
        /// When: on receipt or in a commit.
        stage: ProposalStage,
        /// The validator's reason.
        reason: String,
    },
}

/// A credential the application's identity validator
/// ([`crate::identity::IdentityValidator`]) refused (§5.3.1: the
/// application MUST validate every credential a member encounters).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// The validator refused the credential at `point` (§5.3.1).
    #[error("refused at {point}: {reason} (§5.3.1)")]
    Refused {
        /// Where it was encountered.
        point: ValidationPoint,
        /// The leaf it was for, when known.
        leaf: Option<u32>,
        /// The validator's reason.
        reason: String,
    },
    /// A leaf's new credential is not a valid successor of the one it
    /// replaces (§5.3.1, and §12.2 for an external commit that replaces the
    /// joiner's old leaf).
    #[error("at {point}, not a valid successor of leaf {leaf}'s credential: {reason} (§5.3.1)")]
    NotSuccessor {
        /// Where the new credential was encountered.
        point: ValidationPoint,
        /// The leaf whose credential it would replace.
        leaf: u32,
        /// The validator's reason.
        reason: String,
    },
    /// An external commit that resyncs (removes a leaf, §12.4.3.2) removes
    /// a leaf whose identity is not the joiner's, as the application's
    /// validator names identities (§12.2: the new leaf must meet the
    /// criteria of an Update of the removed one).
    #[error("the external commit removes leaf {leaf}, whose identity is not the joiner's (§12.4.3.2)")]
    ResyncIdentityMismatch {
        /// The leaf the commit removes.
        leaf: u32,
    },
}

/// A proposal, or a commit's proposal list, that breaks §12.1–§12.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProposalError {
    /// An Update comes from a sender that is not a member (§12.1.2).
    #[error("Update from a non-member (§12.1.2)")]
    UpdateFromNonMember,
    /// An Update names a blank leaf (§12.1.2).
    #[error("Update of blank leaf {0} (§12.1.2)")]
    UpdateOfBlankLeaf(u32),
    /// An Update's leaf keeps the old encryption key (§7.3).
    #[error("Update keeps the leaf's encryption key (§7.3)")]
    UpdateKeepsEncryptionKey,
    /// A Remove names a blank leaf (§12.1.3).
    #[error("Remove of blank leaf {0} (§12.1.3)")]
    RemoveOfBlankLeaf(u32),
    /// An Add's init key is already an encryption key of the tree (§12.2).
    #[error("Add's init key is already in the tree (§12.2)")]
    InitKeyInTree,
    /// A PSK proposal's nonce is not Nh bytes (§12.1.4).
    #[error("psk_nonce is not Nh bytes (§12.1.4)")]
    PskNonceLength,
    /// A reinit or branch resumption PSK outside the first commit of the
    /// group it starts (§12.1.4).
    #[error("reinit or branch resumption PSK in a regular commit (§12.1.4)")]
    ResumptionPskUsage,
    /// A ReInit to an older protocol version (§12.1.5).
    #[error("ReInit to an older version (§12.1.5)")]
    ReInitOlderVersion,
    /// An ExternalInit outside an external commit (§12.1.6).
    #[error("ExternalInit outside an external commit (§12.1.6)")]
    ExternalInitOutsideExternalCommit,
    /// A member lacks the capabilities a new `required_capabilities`
    /// demands, or a new GroupContext extension (§12.1.7).
    #[error("member at leaf {0} lacks a capability the new extensions need (§12.1.7)")]
    MemberLacksCapability(u32),
    /// The proposal type may not come from its sender type (§12.1.8).
    #[error("proposal type not allowed from its sender (§12.1.8)")]
    NotAllowedFromSender,
    /// More than one GroupContextExtensions proposal in a commit (§12.2).
    #[error("more than one GroupContextExtensions proposal (§12.2)")]
    MultipleGroupContextExtensions,
    /// A commit contains the committer's own Update (§12.2).
    #[error("commit contains an Update from the committer (§12.2)")]
    CommitterUpdate,
    /// A commit removes the committer (§12.2).
    #[error("commit removes the committer (§12.2)")]
    CommitterRemoved,
    /// Two Update or Remove proposals for one leaf (§12.2).
    #[error("two Update/Remove proposals for leaf {0} (§12.2)")]
    LeafTouchedTwice(u32),
    /// One PreSharedKeyID proposed twice (§12.2).
    #[error("one PreSharedKeyID proposed twice (§12.2)")]
    DuplicatePsk,
    /// A ReInit together with other proposals (§12.2).
    #[error("ReInit together with other proposals (§12.2)")]
    ReInitNotAlone,
    /// An ExternalInit in a regular commit (§12.2).
    #[error("ExternalInit in a regular commit (§12.2)")]
    ExternalInitInRegularCommit,
    /// An external commit's list is not exactly one ExternalInit, at most
    /// one Remove, and PSKs (§12.2).
    #[error("external commit proposals are not ExternalInit, Remove, SelfRemoves and PSKs only (§12.2)")]
    ExternalCommitProposals,
    /// A SelfRemove inline in a commit (draft-ietf-mls-extensions,
    /// SelfRemove: "only allowed in a Commit by reference").
    #[error("SelfRemove inline in a commit (draft-ietf-mls-extensions: by reference only)")]
    SelfRemoveByValue,
    /// A second SelfRemove from one member in an epoch
    /// (draft-ietf-mls-extensions: "MUST NOT issue more than one SelfRemove
    /// proposal per epoch").
    #[error("member {0} sent a second SelfRemove in the epoch (draft-ietf-mls-extensions)")]
    SelfRemoveTwice(u32),
    /// A SelfRemove in a PrivateMessage (draft-ietf-mls-extensions: "MUST
    /// be sent in an MLS PublicMessage").
    #[error("SelfRemove sent as a PrivateMessage (draft-ietf-mls-extensions: PublicMessage only)")]
    SelfRemoveNotPublic,
    /// A proposal of a non-default type that a member which will process
    /// the commit does not support (§12.2, §13.2; draft-ietf-mls-extensions:
    /// SelfRemove only in a self-remove-capable group).
    #[error("proposal type {proposal_type:#06x} is not supported by the member at leaf {leaf} (§12.2)")]
    UnsupportedProposalType {
        /// The proposal's type.
        proposal_type: u16,
        /// The first member lacking it.
        leaf: u32,
    },
    /// A custom proposal naming a type throng defines itself (a default
    /// type or SelfRemove), which would encode as another proposal.
    #[error("custom proposal of type {0:#06x}, which is not an application type (§12.1)")]
    CustomProposalOfKnownType(u16),
}

/// A commit that breaks §12.4.2 (its proposals have [`ProposalError`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CommitError {
    /// The sender type cannot commit (§6: only members and new members by
    /// external commit).
    #[error("commit from a sender that cannot commit (§6)")]
    SenderCannotCommit,
    /// A proposal reference that is not among the epoch's proposals (§12.4.2).
    #[error("commit references an unknown proposal (§12.4.2)")]
    UnknownProposalReference,
    /// The proposals require an UpdatePath and the commit has none (§12.4.2).
    #[error("commit lacks a required UpdatePath (§12.4.2)")]
    MissingPath,
    /// An external commit always carries a path (§12.4.3.2).
    #[error("external commit without a path (§12.4.3.2)")]
    ExternalCommitWithoutPath,
    /// The group committed a ReInit and accepts no more handshakes (§11.2,
    /// §12.4.2).
    #[error("the group was reinitialized and takes no more commits or proposals (§11.2)")]
    GroupReinitialized,
}

/// A leaf node that breaks §7.3 (or the key uniqueness §7.3 requires).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LeafNodeError {
    /// The leaf's capabilities lack the group's cipher suite (§7.3).
    #[error("leaf does not support the group's cipher suite (§7.3)")]
    UnsupportedCipherSuite,
    /// The leaf's capabilities lack mls10 (§7.3).
    #[error("leaf does not support MLS 1.0 (§7.3)")]
    UnsupportedVersion,
    /// The leaf's credential type is not among its capabilities (§7.2).
    #[error("leaf's credential type is not in its capabilities (§7.2)")]
    CredentialNotInCapabilities,
    /// The leaf lacks the group's required capabilities (§7.3, §11.1).
    #[error("leaf lacks the group's required capabilities (§7.3, §11.1)")]
    MissingRequiredCapabilities,
    /// The leaf carries an extension its capabilities do not list (§7.3).
    #[error("leaf carries an extension its capabilities do not list (§7.3)")]
    UnlistedExtension,
    /// The leaf's lifetime does not cover the current time (§7.3).
    #[error("leaf node lifetime does not cover the current time (§7.3)")]
    Lifetime,
    /// A member does not support a credential type in use (§7.3).
    #[error("a member does not support a credential type in use (§7.3)")]
    CredentialTypeUnsupported,
    /// The leaf's `leaf_node_source` is not the one its place requires (§7.3).
    #[error("leaf_node_source must be {expected} here (§7.3)")]
    WrongSource {
        /// The source required: `key_package`, `update` or `commit`.
        expected: &'static str,
    },
    /// The leaf's encryption key is not a public key of the suite's KEM
    /// (§7.3; RFC 9180 §7.1).
    #[error("leaf encryption_key has the wrong length for the suite's KEM (§7.3)")]
    EncryptionKeyLength,
    /// Another member already holds the leaf's signature key (§7.3).
    #[error("signature key already in the group (§7.3)")]
    DuplicateSignatureKey,
    /// The leaf's encryption key is already in the tree (§7.3).
    #[error("encryption key already in the group (§7.3)")]
    DuplicateEncryptionKey,
}

/// A KeyPackage that breaks §10.1 (its leaf has [`LeafNodeError`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KeyPackageError {
    /// The KeyPackage's version is not mls10 (§10.1).
    #[error("KeyPackage version is not mls10 (§10.1)")]
    UnsupportedVersion,
    /// The KeyPackage is for another cipher suite than the group's (§10.1).
    #[error("KeyPackage cipher suite differs from the group's (§10.1)")]
    CipherSuiteMismatch,
    /// The init key equals the leaf's encryption key (§10.1).
    #[error("KeyPackage init_key equals the leaf encryption_key (§10.1)")]
    InitKeyIsEncryptionKey,
    /// The init key is not a public key of the suite's KEM (§10.1; RFC 9180 §7.1).
    #[error("KeyPackage init_key has the wrong length for the suite's KEM (§10.1)")]
    InitKeyLength,
}

/// An UpdatePath that breaks §7.4–§7.6, §7.9.2 or §12.4.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum UpdatePathError {
    /// The path has not one node per step of the filtered direct path (§7.6).
    #[error("UpdatePath has {got} nodes, the filtered direct path {expected} (§7.6)")]
    Length {
        /// Steps of the sender's filtered direct path.
        expected: usize,
        /// Nodes in the path.
        got: usize,
    },
    /// A node's ciphertext count differs from its copath resolution (§7.6).
    #[error("UpdatePath ciphertext count differs from the copath resolution (§7.6)")]
    CiphertextCount,
    /// One of the path's keys is already in the tree (§12.4.2).
    #[error("UpdatePath key already in the tree (§12.4.2)")]
    KeyInTree,
    /// The path repeats one of its own encryption keys (§7.3, §12.4.2).
    #[error("UpdatePath repeats an encryption key (§7.3, §12.4.2)")]
    RepeatedKey,
    /// The committer's new leaf keeps its old encryption key (§12.4.2).
    #[error("UpdatePath keeps the committer's encryption key (§12.4.2)")]
    KeepsEncryptionKey,
    /// The parent hash in the path's leaf is not the computed one (§7.9.2).
    #[error("UpdatePath leaf parent hash mismatch (§7.9.2)")]
    ParentHashMismatch,
    /// The decrypted path secret is not Nh bytes (§7.4).
    #[error("path secret has the wrong length (§7.4)")]
    PathSecretLength,
    /// A public key derived from the decrypted path secret differs from
    /// the one sent (§7.5).
    #[error("derived path key differs from the UpdatePath's (§7.5)")]
    DerivedKeyMismatch,
}

/// A ratchet tree that breaks §7.1, §7.9.2, §12.4.3.1 or §12.4.3.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TreeError {
    /// The `ratchet_tree` has no node at all (§12.4.3.3: it holds at
    /// least the sender's leaf).
    #[error("ratchet_tree is empty (§12.4.3.3)")]
    Empty,
    /// The `ratchet_tree` ends with a blank node (§12.4.3.3).
    #[error("ratchet_tree must end with a non-blank node (§12.4.3.3)")]
    TrailingBlank,
    /// A leaf at an odd or a parent at an even position (Appendix C).
    #[error("ratchet_tree has a node of the wrong kind at position {0} (Appendix C)")]
    MisplacedNode(usize),
    /// More nodes than a tree of 2^31 leaves holds.
    #[error("ratchet tree has more than 2^31 leaves")]
    TooLarge,
    /// `unmerged_leaves` not in increasing order (§7.1).
    #[error("unmerged_leaves not in increasing order (§7.1)")]
    UnmergedLeavesOrder,
    /// An unmerged leaf is blank or not below its parent (§12.4.3.1).
    #[error("unmerged leaf is blank or not below its parent (§12.4.3.1)")]
    UnmergedLeafNotBelow,
    /// An unmerged leaf is missing at an intermediate node (§12.4.3.1).
    #[error("unmerged leaf missing at an intermediate node (§12.4.3.1)")]
    UnmergedLeafMissing,
    /// A parent node's encryption key is already held by another node of
    /// the tree (§7.3, §12.4.3.1: keys are unique across the tree).
    #[error("parent node {0}'s encryption key is already in the tree (§12.4.3.1)")]
    DuplicateEncryptionKey(u32),
    /// A parent node is not parent-hash valid (§7.9.2).
    #[error("parent node {0} is not parent-hash valid (§7.9.2)")]
    ParentHashInvalid(u32),
    /// The tree's hash differs from the GroupContext's (§12.4.3.1).
    #[error("tree hash differs from the GroupContext's (§12.4.3.1)")]
    TreeHashMismatch,
}

/// A Welcome that cannot be joined (§12.4.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WelcomeError {
    /// The Welcome's cipher suite differs from the KeyPackage's (§12.4.3.1).
    #[error("Welcome cipher suite differs from the KeyPackage's (§12.4.3.1)")]
    CipherSuiteMismatch,
    /// No EncryptedGroupSecrets for this KeyPackage (§12.4.3.1).
    #[error("Welcome has no secrets for this KeyPackage (§12.4.3.1)")]
    NotForThisKeyPackage,
    /// The GroupInfo's cipher suite differs from the Welcome's (§12.4.3.1).
    #[error("GroupInfo cipher suite differs from the Welcome's (§12.4.3.1)")]
    GroupInfoCipherSuite,
    /// A reinit or branch Welcome not at epoch 1 (§12.4.3.1).
    #[error("reinit or branch Welcome not at epoch 1 (§12.4.3.1)")]
    ResumptionEpoch,
    /// The joiner's own leaf is not in the tree (§12.4.3.1).
    #[error("own leaf not in the tree (§12.4.3.1)")]
    OwnLeafMissing,
    /// The path secret does not match the tree's public keys (§12.4.3.1).
    #[error("path secret does not match the tree's keys (§12.4.3.1)")]
    PathSecretMismatch,
    /// The group a ReInit's Welcome starts does not match the ReInit
    /// (group id, version, suite, extensions; §11.2).
    #[error("the new group does not match the ReInit (§11.2)")]
    ReInitMismatch,
}

/// A GroupInfo that does not describe the group, or lacks what the
/// operation needs (§12.4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum GroupInfoError {
    /// A member of the tree does not support an extension of the
    /// GroupContext (§13.4: only extensions all members support are used).
    #[error("leaf {0} does not support an extension of the GroupContext (§13.4)")]
    MemberLacksCapability(u32),
    /// The GroupContext's version is not mls10 (§12.4.3.1).
    #[error("GroupContext version is not mls10 (§12.4.3.1)")]
    UnsupportedVersion,
    /// No ratchet tree in the GroupInfo, and none given out of band
    /// (§12.4.3.3).
    #[error("no ratchet tree in the GroupInfo or out of band (§12.4.3.3)")]
    MissingRatchetTree,
    /// The signer's leaf is blank (§12.4.3.1).
    #[error("GroupInfo signer leaf is blank (§12.4.3.1)")]
    BlankSigner,
    /// An external join needs the `external_pub` extension (§12.4.3.2).
    #[error("GroupInfo lacks external_pub (§12.4.3.2)")]
    MissingExternalPub,
    /// The GroupContext differs from the group's current one (§12.4.3).
    #[error("GroupInfo's GroupContext differs from the group's (§12.4.3)")]
    ContextMismatch,
    /// The confirmation tag differs from the epoch's (§12.4.3).
    #[error("GroupInfo's confirmation tag differs from the epoch's (§12.4.3)")]
    ConfirmationTagMismatch,
    /// The `ratchet_tree` differs from the group's tree (§12.4.3.3).
    #[error("GroupInfo's ratchet_tree differs from the group's (§12.4.3.3)")]
    RatchetTreeMismatch,
}

/// A pre-shared key that cannot be resolved (§8.4, §12.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PskError {
    /// An external PSK this member does not hold (§12.4.2).
    #[error("unknown external PSK (§12.4.2)")]
    UnknownExternal,
    /// A resumption PSK of another group that was not supplied (§12.4.2).
    #[error("resumption PSK of another group is not available (§12.4.2)")]
    UnknownResumptionGroup,
    /// A resumption PSK of an epoch no longer (or never) kept (§12.4.2).
    #[error("resumption PSK of epoch {0} is not available (§12.4.2)")]
    UnknownResumptionEpoch(u64),
}

/// The caller asked for something the current state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum UsageError {
    /// The member was removed or the group reinitialized.
    #[error("the group is no longer active for this member")]
    GroupInactive,
    /// The staged commit removes this member: it has no next epoch.
    #[error("the commit removes this member; there is no next epoch to export from")]
    RemovedByCommit,
    /// A member that has seen proposals commits before sending data (§12.4).
    #[error("pending proposals must be committed before sending application data (§12.4)")]
    PendingProposals,
    /// A commit or its result is for another epoch than the group's.
    #[error("the commit was not made for this group's current epoch")]
    StaleCommit,
    /// A member was given its own commit: merge the pending commit instead.
    #[error("this member's own commit: merge its PendingCommit instead")]
    OwnCommit,
    /// The message is not of a kind this call takes (for example a
    /// Welcome given to `process_message`).
    #[error("this call does not take {0}")]
    WrongMessageKind(&'static str),
    /// A server cannot read handshakes in PrivateMessages (§6.3); groups a
    /// server follows send them as PublicMessages.
    #[error("a server follows only PublicMessage handshakes (§6.3)")]
    PrivateHandshake,
    /// The group has no external sender at this index, or the signer is not
    /// it (§12.1.8.1).
    #[error("not the group's external sender at index {0} (§12.1.8.1)")]
    NotExternalSender(u32),
    /// No ReInit was committed in this group (§11.2).
    #[error("no ReInit was committed in this group (§11.2)")]
    NoReInit,
    /// A group with this id is already registered.
    #[error("group already registered")]
    GroupExists,
    /// No group with this id is registered.
    #[error("unknown group")]
    UnknownGroup,
    /// Content was signed for another wire format than the one it is
    /// being protected as (§6.1: the wire format is part of the TBS).
    #[error("content was signed for another wire format than {expected} (§6.1)")]
    WireFormatMismatch {
        /// The wire format of the call: `PublicMessage` or `PrivateMessage`.
        expected: &'static str,
    },
    /// FramedContent travels only as a PublicMessage or a PrivateMessage
    /// (§6); another wire format was given.
    #[error("FramedContent travels only as a PublicMessage or PrivateMessage (§6)")]
    NotFramedWireFormat,
    /// A confirmation tag was given for content that is not a Commit
    /// (§6.1).
    #[error("only a Commit carries a confirmation_tag (§6.1)")]
    ConfirmationTagOnNonCommit,
    /// A Commit was used before its confirmation tag was set (§6.1).
    #[error("a Commit needs its confirmation_tag (§6.1)")]
    MissingConfirmationTag,
    /// The FramedContentTBS of a member or new_member_commit sender signs
    /// the GroupContext, and none was given (§6.1).
    #[error("FramedContentTBS of a member or new_member_commit sender needs the GroupContext (§6.1)")]
    MissingGroupContext,
    /// A member's PublicMessage needs the GroupContext and the
    /// membership_key for its membership tag (§6.2).
    #[error("a member's PublicMessage needs the GroupContext and membership_key (§6.2)")]
    MissingMembershipKey,
    /// The LeafNodeTBS of an update or commit leaf node signs the group id
    /// and leaf index, and they were not given (§7.2).
    #[error("LeafNodeTBS of an update or commit leaf node needs the group id and leaf index (§7.2)")]
    MissingLeafNodeGroup,
    /// A secret tree has 1 to 2^31 leaves (node indices are u32, §9).
    #[error("a secret tree has 1 to 2^31 leaves, not {0} (§9)")]
    SecretTreeSize(u32),
    /// A suite other than the secret tree's was given for it.
    #[error("cipher suite differs from the secret tree's")]
    SuiteMismatch,
    /// The sender's own ratchet reached its last generation for this epoch
    /// (§9.1: generations are u32); a new epoch starts a fresh one.
    #[error("sender ratchet exhausted for this epoch (§9.1)")]
    RatchetExhausted,
    /// An argument is out of its documented range.
    #[error("{0}")]
    InvalidArgument(&'static str),
    /// This member already sent a SelfRemove in this epoch
    /// (draft-ietf-mls-extensions: at most one per epoch).
    #[error("a SelfRemove was already sent in this epoch (draft-ietf-mls-extensions)")]
    SelfRemoveAlreadySent,
    /// A resync by external commit (§12.4.3.2) found no leaf of the
    /// joiner's identity to replace.
    #[error("no member of the joiner's identity to resync (§12.4.3.2)")]
    NoLeafToResync,
    /// A resync by external commit found several leaves of the joiner's
    /// identity (name the one to replace).
    #[error("several members of the joiner's identity (leaves {0:?}): name the leaf to resync")]
    AmbiguousResync(Vec<u32>),
    /// A leaf named as a member (the sender or a recipient of a Partial MLS
    /// annotation) holds none in the tree concerned (draft-ietf-mls-partial).
    #[error("leaf {0} holds no member of the group")]
    NotAMember(u32),
    /// An AnnotatedCommit was asked for a leaf that gets none: the
    /// committer, or a member the commit adds (it joins from the Welcome,
    /// annotated with `PublicGroup::annotate_welcome`; draft-ietf-mls-partial
    /// §"Annotated Commit").
    #[error("leaf {leaf} gets no AnnotatedCommit: {reason}")]
    NotAnnotationRecipient {
        /// The leaf asked for.
        leaf: u32,
        /// Why it gets none.
        reason: &'static str,
    },
    /// The commit message given to annotate is not the staged commit's
    /// (another group, epoch, sender or path presence).
    #[error("the commit message does not match the staged commit: {0}")]
    CommitMismatch(&'static str),
}

/// A broken invariant of throng itself: a bug to report, never caused by
/// a peer's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum InternalError {
    /// An invariant named by its text did not hold.
    #[error("broken invariant: {0}")]
    Invariant(&'static str),
}

/// Why exported group state (see [`crate::state`]) could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StateError {
    /// The bytes do not start with the state magic: not a throng state.
    #[error("not a throng state (bad magic)")]
    NotState,
    /// The state was written in a format version this build cannot read.
    #[error("state format version {found} is not supported (expected {expected})")]
    UnsupportedVersion {
        /// The version the bytes carry.
        found: u16,
        /// The version this build reads and writes.
        expected: u16,
    },
    /// The state is of another kind (a public group's state given to a
    /// member's import, or the reverse).
    #[error("state is of kind {found}, expected kind {expected}")]
    WrongKind {
        /// The kind byte the bytes carry.
        found: u8,
        /// The kind the caller asked for.
        expected: u8,
    },
    /// The digest over the state does not match: the bytes were damaged.
    #[error("state digest mismatch: the bytes are damaged")]
    DigestMismatch,
    /// The state did not decode.
    #[error("corrupt state: {0}")]
    Corrupt(#[from] DecodeError),
    /// The state decoded but its parts disagree (a broken invariant names
    /// which).
    #[error("inconsistent state: {0}")]
    Inconsistent(&'static str),
    /// The bytes are a sealed state, given to a plain import: open them
    /// with `import_sealed` and their key.
    #[error("state is sealed: import it with import_sealed and its key")]
    Sealed,
    /// The bytes are a plain export where a sealed state was expected. A
    /// backend that seals refuses them: anyone who can write the store can
    /// forge a plain state.
    #[error("state is not sealed (a plain export where a sealed state was expected)")]
    NotSealed,
    /// The state was sealed under another key than the one given (the key
    /// id in its header names which).
    #[error("state is sealed under key id {found}, the key given has id {expected}")]
    WrongKeyId {
        /// The key id the sealed header carries.
        found: u32,
        /// The id of the key given.
        expected: u32,
    },
    /// The sealed state did not open: the wrong key (with the right id),
    /// the wrong context, or damaged or forged bytes. The AEAD cannot tell
    /// these apart, by design.
    #[error("sealed state does not open: wrong key, wrong context, or damaged bytes")]
    SealBroken,
}

/// Why an SFrame operation (RFC 9605, [`crate::sframe`]) failed.
///
/// The media path returns this small `Copy` error directly rather than
/// [`Error`]: a frame that fails is dropped, and building the error must cost
/// nothing. The first group of variants is a peer's fault (the frame's bytes,
/// or frames that are no longer or not yet acceptable), the second the
/// caller's; [`SframeError::is_peer_fault`] tells them apart (docs/STYLE.md 5).
/// A failed tag check stays uninformative: `Authentication` says only that it
/// failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SframeError {
    /// The header announces more KID or CTR bytes than the frame holds
    /// (RFC 9605 §4.3).
    #[error("SFrame header runs past the end of the frame (RFC 9605 §4.3)")]
    HeaderTruncated,
    /// A KID or CTR is not in its shortest encoding: a value below 8 in the
    /// extended form, or a leading zero byte (RFC 9605 §4.3: "MUST be encoded
    /// with the minimum number of bytes").
    #[error("SFrame header value not minimally encoded (RFC 9605 §4.3)")]
    HeaderNotMinimal,
    /// The ciphertext after the header is shorter than the suite's tag
    /// (RFC 9605 §4.4.4).
    #[error("SFrame ciphertext shorter than its authentication tag (RFC 9605 §4.4.4)")]
    FrameTooShort,
    /// The frame is longer than the configured bound, checked before any work.
    #[error("SFrame frame of {len} bytes exceeds the bound of {max}")]
    FrameTooLong {
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// No key is held for this KID (RFC 9605 §4.4.4: the caller MAY buffer
    /// the frame and retry once a key arrives).
    #[error("no SFrame key for KID {0:#x} (RFC 9605 §4.4.4)")]
    UnknownKeyId(u64),
    /// The KID names an MLS epoch that has left the retention window; its
    /// keys are gone (RFC 9605 §5.2).
    #[error("SFrame KID of epoch {epoch}, which left the retention window (RFC 9605 §5.2)")]
    EpochExpired {
        /// The epoch, as this member last held it.
        epoch: u64,
    },
    /// The KID's epoch bits match no epoch this member holds or has held
    /// (RFC 9605 §5.2): a future epoch, or one before this member joined.
    #[error("no SFrame epoch with low bits {epoch_bits:#x} (RFC 9605 §5.2)")]
    UnknownEpoch {
        /// The KID's epoch field (the low E bits of the epoch).
        epoch_bits: u64,
    },
    /// The frame is under this member's own sending key: a key is used for
    /// encryption or decryption, never both (RFC 9605 §4.4.1).
    #[error("SFrame KID {0:#x} is this member's own sending key (RFC 9605 §4.4.1)")]
    OwnKeyId(u64),
    /// This (KID, CTR) was already decrypted (RFC 9605 §7.5, §9.3).
    #[error("SFrame frame replayed: KID {kid:#x}, CTR {ctr} (RFC 9605 §7.5)")]
    Replayed {
        /// The frame's KID.
        kid: u64,
        /// Its counter.
        ctr: u64,
    },
    /// The CTR is further behind the highest one seen for the KID than the
    /// replay window reaches (RFC 9605 §7.5, §9.3).
    #[error("SFrame CTR {ctr} of KID {kid:#x} is behind the replay window (RFC 9605 §7.5)")]
    CounterTooOld {
        /// The frame's KID.
        kid: u64,
        /// Its counter.
        ctr: u64,
    },
    /// The authentication tag did not verify (RFC 9605 §4.4.4).
    #[error("SFrame authentication failed (RFC 9605 §4.4.4)")]
    Authentication,
    /// The epoch already holds as many receiving keys as configured.
    #[error("SFrame epoch already holds {max} receiving keys")]
    TooManyKeys {
        /// The bound.
        max: usize,
    },
    /// The cipher suite is not one of RFC 9605 §4.5 (or the AES-256-CTR
    /// extension's 6–8).
    #[error("unsupported SFrame cipher suite {0:#06x} (RFC 9605 §4.5)")]
    UnsupportedSuite(u16),
    /// A key, salt or base key has the wrong length for the suite.
    #[error("SFrame key material of {got} bytes, the suite needs {expected}")]
    KeyLength {
        /// What the suite needs.
        expected: usize,
        /// What was given.
        got: usize,
    },
    /// The sending key has used every counter value; (KID, CTR) may never
    /// repeat (RFC 9605 §4.3). A new key (a new epoch) resets it.
    #[error("SFrame counter of KID {kid:#x} exhausted (RFC 9605 §4.3)")]
    CounterExhausted {
        /// The sending key's KID.
        kid: u64,
    },
    /// A value does not fit its field of the MLS KID layout, or the layout
    /// itself is impossible (RFC 9605 §5.2).
    #[error("SFrame KID layout: {0} (RFC 9605 §5.2)")]
    KidLayout(&'static str),
    /// Encryption was asked for before any epoch was entered.
    #[error("no SFrame epoch entered yet")]
    NoEpoch,
    /// An epoch was entered that is not after the current one.
    #[error("SFrame epoch {given} is not after the current epoch {current}")]
    EpochNotNewer {
        /// The current epoch.
        current: u64,
        /// The epoch given.
        given: u64,
    },
    /// An argument is out of its documented range.
    #[error("{0}")]
    InvalidArgument(&'static str),
}

impl SframeError {
    /// Whether a peer's frame (or its timing) caused the error, rather than
    /// the caller's use of the API.
    pub fn is_peer_fault(&self) -> bool {
        matches!(
            self,
            Self::HeaderTruncated
                | Self::HeaderNotMinimal
                | Self::FrameTooShort
                | Self::FrameTooLong { .. }
                | Self::UnknownKeyId(_)
                | Self::EpochExpired { .. }
                | Self::UnknownEpoch { .. }
                | Self::OwnKeyId(_)
                | Self::Replayed { .. }
                | Self::CounterTooOld { .. }
                | Self::Authentication
                | Self::TooManyKeys { .. }
        )
    }
}

/// Shorthand for engine results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `Error` conversions for the sub-enums, so `?` and `.into()` reach the
/// top level in one step.
macro_rules! into_error {
    ($($kind:ident),*) => {$(
        impl From<$kind> for Error {
            fn from(e: $kind) -> Self {
                Error::Invalid(ValidationError::from(e))
            }
        }
    )*};
}
into_error!(
    ProposalError,
    CommitError,
    LeafNodeError,
    KeyPackageError,
    UpdatePathError,
    TreeError,
    WelcomeError,
    GroupInfoError,
    PskError,
    CredentialError,
    PartialError,
    CustomProposalError
);

impl InternalError {
    /// The error for a broken invariant, as an [`Error`].
    pub(crate) fn invariant(what: &'static str) -> Error {
        Error::Internal(InternalError::Invariant(what))
    }
}

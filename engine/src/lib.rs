//! throng: an RFC 9420 (Messaging Layer Security) engine for groups of
//! thousands to hundreds of thousands of members.
//!
//! The stable API is what this crate root exports, and the public modules
//! [`crypto`] (the provider a backend may replace), [`identity`] (the
//! credential validator), [`messages`] (the wire structs of RFC 9420
//! §6–§12), [`partial`] (Partial MLS), [`sframe`] (media frames, RFC 9605), [`state`] (the export
//! format) and [`error`]:
//!
//! - a member's state machine: [`Group`], configured by [`GroupConfig`],
//!   with [`PendingCommit`] (a commit this member made) and [`StagedCommit`]
//!   (one it received) as the two ways into the next epoch;
//! - a server's view of a group without private keys: [`PublicGroup`]
//!   (RFC 9750), which a member's `Group` holds too, and [`Registry`], many
//!   of them for a Delivery Service, safe to share across threads and tokio
//!   tasks (validation is CPU work: run it on `spawn_blocking` or a rayon
//!   pool, never on the executor's threads; see `store/examples/server.rs`);
//! - identities and key packages: [`Identity`], [`KeyPackageBundle`];
//! - authentication of credentials (RFC 9420 §5.3.1): the
//!   [`IdentityValidator`] a group or server is configured with, and the
//!   built-in ones, in [`identity`];
//! - state export and import: [`Group::export`], [`Group::import`],
//!   [`PublicGroup::export`], [`PublicGroup::import`], sealed under a
//!   [`state::StateKey`] with [`Group::export_sealed`] and
//!   [`Group::import_sealed`] (a member's state must be stored sealed),
//!   and the format in [`state`];
//! - media encryption keyed from the group: [`sframe`] (SFrame, RFC 9605),
//!   with [`sframe::MlsKeyRing`] for the keys of every epoch (§5.2);
//! - Partial MLS (draft-ietf-mls-partial): membership proofs and the
//!   annotated messages, in [`partial`].
//!
//! Everything else is internal. The vector harness, the benches and the load
//! generator reach internals through [`internals`], which is hidden from the
//! documentation and may change in any release.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod codec;
pub mod crypto;
pub mod custom_proposals;
pub mod error;
mod framing;
mod group;
pub mod identity;
mod limits;
pub mod messages;
pub mod partial;
mod public_group;
mod schedule;
mod secret_tree;
mod server;
pub mod sframe;
pub mod state;
mod tree;
mod tree_math;
mod treekem;

pub use crypto::{AwsLcProvider, CipherSuite, CryptoProvider, default_provider};
pub use custom_proposals::{
    CustomProposalCheck, CustomProposalRejected, CustomProposalValidator, ProposalStage, RefuseCustomProposals,
};
pub use error::{Error, Result};
pub use framing::PaddingPolicy;
pub use group::{
    AppliedProposals, CommitOptions, EpochRetention, ExternalJoinOptions, Group, GroupConfig, Identity,
    KeyPackageBundle, Member, PendingCommit, Processed, PskStore, Resync, StagedCommit, default_capabilities,
};
pub use identity::{
    AcceptAnyBasic, AcceptAnyCredential, BasicAllowList, CredentialCheck, CredentialRejected, IdentityValidator,
    ValidationPoint,
};
pub use identity::{X509Error, X509Validator};
pub use limits::{Limit, LimitExceeded, Limits};
pub use public_group::{
    CommittedProposal, GroupInfoView, PublicGroup, PublicGroupConfig, PublicProcessed, StagedPublicCommit,
};
pub use secret_tree::SecretTreeConfig;
pub use server::store;
pub use server::{Accepted, AcceptedKind, Registry, Rejected, ServedGroupInfo};
pub use tree::{RatchetTree, TreeView};
pub use tree_math::LeafIndex;

// The README's engine example runs as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExample;

/// Internals for throng's own vector harness, benches and load generator.
///
/// Not part of the stable API: hidden from the documentation, and free to
/// change in any release. A backend embedding throng uses the crate root.
#[doc(hidden)]
pub mod internals {
    /// The TLS presentation language (RFC 9420 §2.1).
    pub mod codec {
        pub use crate::codec::*;
    }
    /// Cryptographic primitives and labelled constructions (§5).
    pub mod crypto {
        pub use crate::crypto::*;
    }
    /// PublicMessage and PrivateMessage protection (§6).
    pub mod framing {
        pub use crate::framing::*;
    }
    /// A member's state machine (§11, §12).
    pub mod group {
        pub use crate::group::*;
    }
    /// The key schedule (§8).
    pub mod schedule {
        pub use crate::schedule::*;
    }
    /// The secret tree (§9).
    pub mod secret_tree {
        pub use crate::secret_tree::*;
    }
    /// The ratchet tree (§4, §7).
    pub mod tree {
        pub use crate::tree::*;
    }
    /// Tree arithmetic (Appendix C).
    pub mod tree_math {
        pub use crate::tree_math::*;
    }
    /// A server's view of a group (RFC 9750).
    pub mod public_group {
        pub use crate::public_group::*;
    }
    /// TreeKEM (§7.4–§7.6).
    pub mod treekem {
        pub use crate::treekem::*;
    }
}

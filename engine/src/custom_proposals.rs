//! Application-defined proposal types (RFC 9420 §13.2): the application's
//! hook.
//!
//! A proposal of a type throng does not know arrives as a
//! [`CustomProposal`] (its body opaque). RFC 9420 §12.2 lets it into a
//! commit only when every member that will process the commit supports the
//! type (its leaf's capabilities list it; members added or removed by the
//! commit need not), and §12.2 lets the application add its own validity
//! rules: throng asks the [`CustomProposalValidator`] given in
//! [`GroupConfig::custom_proposals`](crate::GroupConfig::custom_proposals)
//! and [`PublicGroupConfig::custom_proposals`](crate::PublicGroupConfig::custom_proposals)
//! when the proposal arrives and again when a commit (made, received, or
//! followed by a server) covers it. A refusal is
//! [`Error::Invalid`](crate::Error::Invalid) with
//! [`CustomProposalError`](crate::error::CustomProposalError) and changes
//! nothing. A committed custom proposal is listed in
//! [`AppliedProposals::custom`](crate::AppliedProposals::custom), for the
//! application to act on when it merges the commit.
//!
//! throng does not accept custom proposals from external senders, nor in
//! external commits (§12.1.8, §12.2 name the types each allows).

use std::fmt;

use crate::messages::content::Sender;
use crate::messages::{CustomProposal, ProposalType};

/// When a custom proposal is being validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProposalStage {
    /// It arrived on its own (or this member sends it), to be cached for
    /// the epoch's commits (§12.1).
    Received,
    /// A commit covers it, by reference or inline (§12.2).
    Committed,
}

/// Everything a validator is told about one custom proposal.
#[derive(Clone, Copy, Debug)]
pub struct CustomProposalCheck<'a> {
    /// Received or committed.
    pub stage: ProposalStage,
    /// The group's id.
    pub group_id: &'a [u8],
    /// The epoch the proposal is for.
    pub epoch: u64,
    /// Who sent it (for a proposal inline in a commit, the committer).
    pub sender: Sender,
    /// The proposal.
    pub proposal: &'a CustomProposal,
}

/// A validator's refusal, in its own words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CustomProposalRejected(pub String);

impl CustomProposalRejected {
    /// A refusal with this reason.
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

/// The application's rules for the proposal types it defines.
///
/// Called from the staging code members and servers share, possibly from
/// several threads at once; it must be cheap and must not block on the
/// group.
pub trait CustomProposalValidator: Send + Sync + fmt::Debug {
    /// Accepts or refuses one custom proposal.
    fn validate(&self, check: &CustomProposalCheck<'_>) -> Result<(), CustomProposalRejected>;

    /// Whether a commit covering a proposal of this type must carry an
    /// UpdatePath (RFC 9420 §12.4: every new type states it, §17.4). Yes by
    /// default, the safe choice.
    fn path_required(&self, proposal_type: ProposalType) -> bool {
        let _ = proposal_type;
        true
    }
}

/// Refuses every custom proposal: the default, as throng cannot know what
/// an unknown type means.
#[derive(Clone, Copy, Debug, Default)]
pub struct RefuseCustomProposals;

impl CustomProposalValidator for RefuseCustomProposals {
    fn validate(&self, check: &CustomProposalCheck<'_>) -> Result<(), CustomProposalRejected> {
        Err(CustomProposalRejected::new(format!(
            "no validator is configured for proposal type {:#06x}",
            check.proposal.proposal_type.0
        )))
    }
}

//! Proposals this member sends that the group must be able to commit:
//! SelfRemove (draft-ietf-mls-extensions) and application-defined types
//! (RFC 9420 §13.2).

use crate::error::{Error, UsageError};
use crate::messages::content::{MlsMessage, Sender, WireFormat};
use crate::messages::{Proposal, ProposalRef};
use crate::public_group::check_received_proposal;

use super::Group;

/// The wire format of this member's proposal: a SelfRemove always travels
/// as a PublicMessage (draft-ietf-mls-extensions: external joiners must be
/// able to read and include it), others as the group is configured.
pub(super) fn own_proposal_wire_format(proposal: &Proposal, configured: WireFormat) -> WireFormat {
    if matches!(proposal, Proposal::SelfRemove) { WireFormat::PUBLIC_MESSAGE } else { configured }
}

impl Group {
    /// Proposes this member's own removal (draft-ietf-mls-extensions,
    /// SelfRemove), as a PublicMessage whatever the configured handshake
    /// wire format. Any other member commits it (by reference; this
    /// member cannot), and a server following the group sees it. Refused
    /// unless every member supports SelfRemove (a "self-remove-capable
    /// group"), and at most once per epoch.
    pub fn propose_self_remove(&mut self) -> Result<(MlsMessage, ProposalRef), Error> {
        self.propose(Proposal::SelfRemove)
    }

    /// The checks receivers run on a proposal of a type that the group
    /// must first be able to commit (SelfRemove, custom types): the same
    /// code as on receipt, so a member does not send what every receiver
    /// refuses.
    pub(super) fn check_own_proposal(&self, proposal: &Proposal) -> Result<(), Error> {
        if !matches!(proposal, Proposal::SelfRemove | Proposal::Custom(_)) {
            return Ok(());
        }
        let me = Sender::Member(self.private.own_leaf);
        if matches!(proposal, Proposal::SelfRemove)
            && self.public.proposals.iter().any(|p| matches!(p.proposal, Proposal::SelfRemove) && p.sender == me)
        {
            return Err(UsageError::SelfRemoveAlreadySent.into());
        }
        let suite = self.suite()?;
        let public = &self.public;
        check_received_proposal(&suite, &public.context, &public.tree, me, proposal, &public.config)
    }
}

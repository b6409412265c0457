//! Content authentication (RFC 9420 §6.1): signing FramedContent into an
//! AuthenticatedContent, verifying it, and the rules on which sender may
//! send what in which wire format.
//!
//! A Commit is authenticated in two steps, because its confirmation tag
//! depends on its own signature: the signature goes into the confirmed
//! transcript hash (§8.2), which goes into the next epoch's GroupContext,
//! whose key schedule gives the confirmation_key that makes the tag. So
//! [`sign_content`] returns a [`SignedContent`], which becomes an
//! [`AuthenticatedContent`] with [`SignedContent::confirm`] (commits) or
//! [`SignedContent::into_authenticated`] (everything else).

use crate::crypto::{SignaturePrivateKey, Suite};
use crate::error::{Error, UsageError, ValidationError};
use crate::messages::content::FRAMED_CONTENT_TBS_LABEL;
use crate::messages::{
    AuthenticatedContent, ContentType, FramedContent, FramedContentAuthData, FramedContentBody, GroupContext, Proposal,
    Sender, WireFormat,
};

/// The sender type, in the RFC's words, for error messages.
fn sender_type_name(sender: &Sender) -> &'static str {
    match sender {
        Sender::Member(_) => "member",
        Sender::External(_) => "external",
        Sender::NewMemberProposal => "new_member_proposal",
        Sender::NewMemberCommit => "new_member_commit",
    }
}

/// Checks what the sender type allows the content to be (RFC 9420 §6.1):
/// an `external` sender sends only proposals whose type external senders
/// may send (§12.1.8.1), a `new_member_proposal` sender only an Add, and a
/// `new_member_commit` sender only a Commit. A member may send anything.
pub fn check_sender_content(content: &FramedContent) -> Result<(), ValidationError> {
    let allowed = match (&content.sender, &content.body) {
        (Sender::Member(_), _) => true,
        (Sender::External(_), FramedContentBody::Proposal(p)) => p.allowed_from_external_sender(),
        (Sender::NewMemberProposal, FramedContentBody::Proposal(p)) => matches!(p, Proposal::Add(_)),
        (Sender::NewMemberCommit, FramedContentBody::Commit(_)) => true,
        _ => false,
    };
    if allowed { Ok(()) } else { Err(ValidationError::SenderNotAllowed { sender: sender_type_name(&content.sender) }) }
}

/// Checks that `content` may travel in `wire_format`: FramedContent is sent
/// only as a PublicMessage or a PrivateMessage (§6); application data only
/// in a PrivateMessage (§6); a PrivateMessage only from a member (§6.3.2).
pub fn check_wire_format(wire_format: WireFormat, content: &FramedContent) -> Result<(), Error> {
    match wire_format {
        WireFormat::PUBLIC_MESSAGE if content.content_type() == ContentType::Application => {
            Err(ValidationError::ApplicationInPublicMessage.into())
        }
        WireFormat::PUBLIC_MESSAGE => Ok(()),
        WireFormat::PRIVATE_MESSAGE if matches!(content.sender, Sender::Member(_)) => Ok(()),
        WireFormat::PRIVATE_MESSAGE => Err(ValidationError::PrivateMessageFromNonMember.into()),
        _ => Err(UsageError::NotFramedWireFormat.into()),
    }
}

/// Checks that the auth data has a confirmation tag exactly when the
/// content is a Commit (§6.1). Decoded messages always satisfy it; values
/// built by hand may not, and would encode to bytes that do not decode.
pub(crate) fn check_confirmation_tag_presence(
    content: &FramedContent,
    auth: &FramedContentAuthData,
) -> Result<(), Error> {
    if auth.confirmation_tag.is_some() == (content.content_type() == ContentType::Commit) {
        Ok(())
    } else {
        Err(ValidationError::ConfirmationTagPresence.into())
    }
}

/// FramedContent with its signature, and for a Commit not yet its
/// confirmation tag (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedContent {
    /// Holds `confirmation_tag: None` until [`confirm`](Self::confirm).
    inner: AuthenticatedContent,
}

impl SignedContent {
    /// The wire format the content was signed for.
    pub fn wire_format(&self) -> WireFormat {
        self.inner.wire_format
    }

    /// The content.
    pub fn content(&self) -> &FramedContent {
        &self.inner.content
    }

    /// The signature.
    pub fn signature(&self) -> &[u8] {
        &self.inner.auth.signature
    }

    /// The encoded `ConfirmedTranscriptHashInput` (RFC 9420 §8.2): what a
    /// Commit contributes to the confirmed transcript hash of the epoch it
    /// creates, available before the confirmation tag is.
    pub fn confirmed_transcript_hash_input(&self) -> Vec<u8> {
        self.inner.confirmed_transcript_hash_input()
    }

    /// Completes a Commit with its `confirmation_tag` =
    /// `MAC(confirmation_key, confirmed_transcript_hash)` of the new epoch
    /// (§6.1). Other content takes no tag: that is a usage error.
    pub fn confirm(mut self, confirmation_tag: Vec<u8>) -> Result<AuthenticatedContent, Error> {
        if self.inner.content.content_type() != ContentType::Commit {
            return Err(UsageError::ConfirmationTagOnNonCommit.into());
        }
        self.inner.auth.confirmation_tag = Some(confirmation_tag);
        Ok(self.inner)
    }

    /// The AuthenticatedContent of a proposal or application message. A
    /// Commit needs its confirmation tag first ([`confirm`](Self::confirm)):
    /// that is a usage error.
    pub fn into_authenticated(self) -> Result<AuthenticatedContent, Error> {
        if self.inner.content.content_type() == ContentType::Commit {
            return Err(UsageError::MissingConfirmationTag.into());
        }
        Ok(self.inner)
    }
}

/// Signs `content` for sending in `wire_format`:
/// `signature = SignWithLabel(signer, "FramedContentTBS", FramedContentTBS)`
/// (RFC 9420 §6.1). `context` is the GroupContext of the content's epoch;
/// it is signed for member and new_member_commit senders and must then be
/// given.
///
/// Content that its sender may not send, or that may not travel in
/// `wire_format`, is refused before anything is signed.
pub fn sign_content(
    suite: &Suite<'_>,
    signer: &SignaturePrivateKey,
    wire_format: WireFormat,
    content: FramedContent,
    context: Option<&GroupContext>,
) -> Result<SignedContent, Error> {
    check_wire_format(wire_format, &content)?;
    check_sender_content(&content)?;
    let tbs = content.tbs_bytes(wire_format, context)?;
    let signature = suite.sign_with_label(signer, FRAMED_CONTENT_TBS_LABEL, &tbs)?;
    let auth = FramedContentAuthData { signature, confirmation_tag: None };
    Ok(SignedContent { inner: AuthenticatedContent { wire_format, content, auth } })
}

/// Verifies an AuthenticatedContent's signature with `signature_key`, the
/// key the sender type designates (§6.1: the leaf's, the external
/// sender's, or the new member's), after checking the sender, wire format
/// and confirmation-tag rules. `context` as for [`sign_content`].
///
/// The confirmation tag's value is not checked here: it needs the next
/// epoch's confirmation_key, which only processing the Commit yields
/// (`schedule::transcript::verify_confirmation_tag`).
pub fn verify_content(
    suite: &Suite<'_>,
    content: &AuthenticatedContent,
    context: Option<&GroupContext>,
    signature_key: &[u8],
) -> Result<(), Error> {
    check_wire_format(content.wire_format, &content.content)?;
    check_sender_content(&content.content)?;
    check_confirmation_tag_presence(&content.content, &content.auth)?;
    verify_signature(suite, content, context, signature_key)
}

/// The signature check alone.
pub(crate) fn verify_signature(
    suite: &Suite<'_>,
    content: &AuthenticatedContent,
    context: Option<&GroupContext>,
    signature_key: &[u8],
) -> Result<(), Error> {
    let tbs = content.tbs_bytes(context)?;
    suite.verify_with_label(signature_key, FRAMED_CONTENT_TBS_LABEL, &tbs, &content.auth.signature)?;
    Ok(())
}

/// Checks that a message names the group and epoch of `context`, whose
/// keys are about to process it.
pub(crate) fn check_group_and_epoch(context: &GroupContext, group_id: &[u8], epoch: u64) -> Result<(), Error> {
    if group_id != context.group_id.as_slice() {
        return Err(ValidationError::WrongGroup.into());
    }
    if epoch != context.epoch {
        return Err(ValidationError::WrongEpoch { expected: context.epoch, got: epoch }.into());
    }
    Ok(())
}

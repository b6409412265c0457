//! PublicMessage protection (RFC 9420 §6.2): signed content, plus for
//! member senders a membership tag that proves the sender holds the
//! epoch's `membership_key`.

use crate::crypto::{CryptoError, Secret, Suite};
use crate::error::{Error, UsageError, ValidationError};
use crate::codec::Encode;
use crate::messages::content::FRAMED_CONTENT_TBS_LABEL;
use crate::messages::{AuthenticatedContent, FramedContent, GroupContext, PublicMessage, Sender, WireFormat};
use crate::schedule::transcript::constant_time_eq;

use super::auth::{
    check_confirmation_tag_presence, check_group_and_epoch, check_sender_content, check_wire_format,
};

/// `membership_tag = MAC(membership_key, AuthenticatedContentTBM)`
/// (RFC 9420 §6.2), over `message`'s content and auth data (its own
/// `membership_tag` field is ignored).
pub fn membership_tag(
    suite: &Suite<'_>,
    message: &PublicMessage,
    context: &GroupContext,
    membership_key: &Secret,
) -> Result<Vec<u8>, Error> {
    Ok(suite.mac(membership_key.as_bytes(), &message.tbm_bytes(context)?))
}

/// Checks a PublicMessage's membership tag (RFC 9420 §6.2): for a member
/// sender it must be present and equal to [`membership_tag`] (compared in
/// constant time; a mismatch is an opaque verification failure); for any
/// other sender it must be absent.
pub fn verify_membership_tag(
    suite: &Suite<'_>,
    message: &PublicMessage,
    context: &GroupContext,
    membership_key: &Secret,
) -> Result<(), Error> {
    check_tag(suite, message, &message.tbm_bytes(context)?, membership_key)
}

/// Encodes signed content as a PublicMessage (RFC 9420 §6.2).
///
/// `content` must have been signed for [`WireFormat::PUBLIC_MESSAGE`].
/// A member sender needs `context` and `membership_key` (the epoch's) for
/// the membership tag; other senders carry no tag, and both are ignored
/// for them. Application data is refused (§6: it MUST be sent as a
/// PrivateMessage).
pub fn protect_public(
    suite: &Suite<'_>,
    content: AuthenticatedContent,
    context: Option<&GroupContext>,
    membership_key: Option<&Secret>,
) -> Result<PublicMessage, Error> {
    if content.wire_format != WireFormat::PUBLIC_MESSAGE {
        return Err(UsageError::InvalidArgument("content was signed for another wire format than PublicMessage").into());
    }
    check_wire_format(content.wire_format, &content.content)?;
    check_sender_content(&content.content)?;
    check_confirmation_tag_presence(&content.content, &content.auth)?;
    let AuthenticatedContent { content, auth, .. } = content;
    let mut message = PublicMessage { content, auth, membership_tag: None };
    if let Sender::Member(_) = message.content.sender {
        let (Some(context), Some(membership_key)) = (context, membership_key) else {
            return Err(UsageError::InvalidArgument(
                "a member's PublicMessage needs the GroupContext and membership_key (RFC 9420 §6.2)",
            )
            .into());
        };
        message.membership_tag = Some(membership_tag(suite, &message, context, membership_key)?);
    }
    Ok(message)
}

/// Decodes a PublicMessage into the AuthenticatedContent it carries,
/// enforcing §6.2: the content names `context`'s group and epoch; its
/// sender may send it (§6.1) and it is not application data (§6); for a
/// member sender the membership tag verifies with `membership_key`; and
/// the signature verifies with the key `signature_key` returns for the
/// content.
///
/// `signature_key` is asked only once every cheaper check has passed. It
/// returns the key the sender type designates (§6.1): the LeafNode's at
/// the member's leaf, the external_senders entry, or the key in the new
/// member's LeafNode (inside the content: Commit path or Add); `None`
/// when there is none (a blank leaf, an index out of range), which is
/// [`ValidationError::BlankSenderLeaf`] for a member and
/// [`ValidationError::UnknownSigner`] otherwise.
///
/// `membership_key` is `None` only for a party that does not hold it, such
/// as a Delivery Service checking handshake messages (RFC 9750); it then
/// checks everything except the membership tag. A member MUST pass it
/// (§6.2).
pub fn unprotect_public<F, K>(
    suite: &Suite<'_>,
    message: PublicMessage,
    context: &GroupContext,
    membership_key: Option<&Secret>,
    signature_key: F,
) -> Result<AuthenticatedContent, Error>
where
    F: FnOnce(&FramedContent) -> Option<K>,
    K: AsRef<[u8]>,
{
    check_group_and_epoch(context, &message.content.group_id, message.content.epoch)?;
    check_wire_format(WireFormat::PUBLIC_MESSAGE, &message.content)?;
    check_sender_content(&message.content)?;
    check_confirmation_tag_presence(&message.content, &message.auth)?;
    // Without the key, the tag can only be checked for presence.
    if membership_key.is_none() && message.membership_tag.is_some() != matches!(message.content.sender, Sender::Member(_)) {
        return Err(ValidationError::MembershipTagPresence.into());
    }
    let key = signature_key(&message.content).ok_or(match message.content.sender {
        Sender::Member(leaf) => ValidationError::BlankSenderLeaf(leaf.0),
        _ => ValidationError::UnknownSigner,
    })?;
    // AuthenticatedContentTBM is FramedContentTBS followed by the auth
    // data (§6.2): one encoding serves the signature and the tag.
    let mut tbm = Vec::new();
    message.content.encode_tbs(&mut tbm, WireFormat::PUBLIC_MESSAGE, Some(context))?;
    let tbs_len = tbm.len();
    message.auth.encode(&mut tbm);
    // The MAC is the cheaper check: first.
    if let Some(membership_key) = membership_key {
        check_tag(suite, &message, &tbm, membership_key)?;
    }
    suite.verify_with_label(key.as_ref(), FRAMED_CONTENT_TBS_LABEL, &tbm[..tbs_len], &message.auth.signature)?;
    let PublicMessage { content, auth, .. } = message;
    Ok(AuthenticatedContent { wire_format: WireFormat::PUBLIC_MESSAGE, content, auth })
}

/// [`verify_membership_tag`] over an already encoded AuthenticatedContentTBM.
fn check_tag(suite: &Suite<'_>, message: &PublicMessage, tbm: &[u8], membership_key: &Secret) -> Result<(), Error> {
    match (&message.content.sender, &message.membership_tag) {
        (Sender::Member(_), Some(tag)) => {
            let expected = suite.mac(membership_key.as_bytes(), tbm);
            if constant_time_eq(&expected, tag) { Ok(()) } else { Err(CryptoError::VerificationFailed.into()) }
        }
        (Sender::Member(_), None) | (_, Some(_)) => Err(ValidationError::MembershipTagPresence.into()),
        (_, None) => Ok(()),
    }
}

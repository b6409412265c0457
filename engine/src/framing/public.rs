//! PublicMessage protection (RFC 9420 §6.2): signed content, plus for
//! member senders a membership tag that proves the sender holds the
//! epoch's `membership_key`.

use crate::crypto::constant_time_eq;
use crate::crypto::{CryptoError, Secret, Suite};
use crate::error::{Error, UsageError, ValidationError};
use crate::messages::content::EncodedPublic;
use crate::messages::{AuthenticatedContent, FramedContent, GroupContext, PublicMessage, Sender, WireFormat};

use super::auth::{check_confirmation_tag_presence, check_group_and_epoch, check_sender_content, check_wire_format};

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
        return Err(UsageError::WireFormatMismatch { expected: "PublicMessage" }.into());
    }
    check_wire_format(content.wire_format, &content.content)?;
    check_sender_content(&content.content)?;
    check_confirmation_tag_presence(&content.content, &content.auth)?;
    let AuthenticatedContent { content, auth, .. } = content;
    let mut message = PublicMessage { content, auth, membership_tag: None };
    if let Sender::Member(_) = message.content.sender {
        let (Some(context), Some(membership_key)) = (context, membership_key) else {
            return Err(UsageError::MissingMembershipKey.into());
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
    let (content, checks) = unprotect_public_deferred(message, context, membership_key, signature_key)?;
    checks.verify(suite)?;
    Ok(content)
}

/// [`unprotect_public`] with the membership tag and signature not yet
/// checked: every other check has passed, and the returned
/// [`PublicChecks`] runs the two that hash the whole message. A receiver
/// may work on the content alongside them (a large commit's signature
/// check is the longest single step of processing it), but must act on
/// nothing before [`PublicChecks::verify`] passes.
pub fn unprotect_public_deferred<'a, F, K>(
    message: PublicMessage,
    context: &GroupContext,
    membership_key: Option<&'a Secret>,
    signature_key: F,
) -> Result<(AuthenticatedContent, PublicChecks<'a>), Error>
where
    F: FnOnce(&FramedContent) -> Option<K>,
    K: AsRef<[u8]>,
{
    check_group_and_epoch(context, &message.content.group_id, message.content.epoch)?;
    check_wire_format(WireFormat::PUBLIC_MESSAGE, &message.content)?;
    check_sender_content(&message.content)?;
    check_confirmation_tag_presence(&message.content, &message.auth)?;
    let member = matches!(message.content.sender, Sender::Member(_));
    // A member's message carries a tag, no other does (§6.2).
    if message.membership_tag.is_some() != member {
        return Err(ValidationError::MembershipTagPresence.into());
    }
    let key = signature_key(&message.content)
        .ok_or(match message.content.sender {
            Sender::Member(leaf) => ValidationError::BlankSenderLeaf(leaf.0),
            _ => ValidationError::UnknownSigner,
        })?
        .as_ref()
        .to_vec();
    // One encoding serves the signature, the tag and the transcript hash.
    let encoded = message.encode_for_checks(context)?;
    let PublicMessage { content, auth, membership_tag } = message;
    let checks = PublicChecks {
        encoded,
        signature_key: key,
        signature: auth.signature.clone(),
        tag: membership_key.zip(membership_tag),
    };
    Ok((AuthenticatedContent { wire_format: WireFormat::PUBLIC_MESSAGE, content, auth }, checks))
}

/// The membership tag and signature checks of one PublicMessage (§6.2),
/// over its encoded AuthenticatedContentTBM.
#[derive(Debug)]
pub struct PublicChecks<'a> {
    encoded: EncodedPublic,
    signature_key: Vec<u8>,
    signature: Vec<u8>,
    /// The key and the tag to check, for a receiver holding the key.
    tag: Option<(&'a Secret, Vec<u8>)>,
}

impl PublicChecks<'_> {
    /// Whether the message is large enough for its signature check to be
    /// worth another thread beside the rest of its processing.
    pub fn is_large(&self) -> bool {
        self.encoded.tbm().len() >= PARALLEL_CHECK_BYTES
    }

    /// Checks the membership tag (when the key is held), then the signature.
    pub fn verify(&self, suite: &Suite<'_>) -> Result<(), Error> {
        self.verify_tag(suite)?;
        self.verify_signature(suite)
    }

    /// The membership tag alone (nothing when the key is not held).
    pub fn verify_tag(&self, suite: &Suite<'_>) -> Result<(), Error> {
        match &self.tag {
            Some((key, tag)) => tag_matches(suite, key, self.encoded.tbm(), tag),
            None => Ok(()),
        }
    }

    /// The signature alone.
    pub fn verify_signature(&self, suite: &Suite<'_>) -> Result<(), Error> {
        Ok(suite.verify_labelled(&self.signature_key, self.encoded.sign_content(), &self.signature)?)
    }

    /// Both checks, then `stage`, whose result is returned only if they
    /// hold. For a large message when the caller's `pool` (rayon's global
    /// pool when `None`, asked only then: asking starts it) has more than
    /// one thread, the signature, the longest single step and one SHA-512
    /// pass, runs on a scoped thread of its own while the tag is checked
    /// and `stage` runs: staging changes nothing, and is dropped if a check
    /// fails. (A pool worker was tried for the signature: waking one took
    /// longer than the staging.)
    pub fn verify_with<T>(
        &self,
        suite: &Suite<'_>,
        pool: Option<&rayon::ThreadPool>,
        stage: impl FnOnce() -> Result<T, Error>,
    ) -> Result<T, Error> {
        let threads = || pool.map_or_else(rayon::current_num_threads, rayon::ThreadPool::current_num_threads);
        if !(self.is_large() && threads() > 1) {
            self.verify(suite)?;
            return stage();
        }
        let (signed, staged) = std::thread::scope(|scope| {
            let signed = scope.spawn(|| self.verify_signature(suite));
            let staged = self.verify_tag(suite).and_then(|()| stage());
            (signed.join(), staged)
        });
        signed.map_err(|_| CryptoError::Internal)??;
        staged
    }

    /// The message's ConfirmedTranscriptHashInput (§8.2), in pieces, for a
    /// commit: read from the encoding the checks hash rather than encoded
    /// again.
    pub fn confirmed_input(&self) -> [&[u8]; 2] {
        self.encoded.confirmed_input()
    }
}

/// Messages at least this long are worth a second thread for their
/// signature check (starting one costs tens of microseconds; an Ed25519
/// check hashes the message at about 250 MB/s without SHA-512 hardware).
const PARALLEL_CHECK_BYTES: usize = 32 * 1024;

/// [`verify_membership_tag`] over an already encoded AuthenticatedContentTBM.
fn check_tag(suite: &Suite<'_>, message: &PublicMessage, tbm: &[u8], membership_key: &Secret) -> Result<(), Error> {
    match (&message.content.sender, &message.membership_tag) {
        (Sender::Member(_), Some(tag)) => tag_matches(suite, membership_key, tbm, tag),
        (Sender::Member(_), None) | (_, Some(_)) => Err(ValidationError::MembershipTagPresence.into()),
        (_, None) => Ok(()),
    }
}

/// `tag` against the MAC of an encoded AuthenticatedContentTBM, compared in
/// constant time; a mismatch is an opaque verification failure.
fn tag_matches(suite: &Suite<'_>, membership_key: &Secret, tbm: &[u8], tag: &[u8]) -> Result<(), Error> {
    let expected = suite.mac(membership_key.as_bytes(), tbm);
    if constant_time_eq(&expected, tag) { Ok(()) } else { Err(CryptoError::VerificationFailed.into()) }
}

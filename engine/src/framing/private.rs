//! PrivateMessage protection (RFC 9420 §6.3): signed content encrypted
//! under the sender's secret-tree ratchet (§6.3.1), with the sender's
//! identity and key generation encrypted separately (§6.3.2).

use std::num::NonZeroU16;

use crate::codec::{Decode, Encode};
use crate::crypto::{Secret, Suite};
use crate::error::{Error, UsageError, ValidationError};
use crate::messages::{
    AuthenticatedContent, ContentType, FramedContent, GroupContext, PrivateContentAad, PrivateMessage,
    PrivateMessageContent, Sender, SenderData, SenderDataAad, WireFormat,
};
use crate::secret_tree::{RatchetKey, RatchetType, SecretTree};
use crate::tree_math::LeafIndex;

use super::auth::{check_confirmation_tag_presence, check_group_and_epoch, check_wire_format, verify_signature};
use super::sender_data::SenderDataKeys;

/// How many zero bytes a sender appends to a PrivateMessageContent
/// (RFC 9420 §6.3.1 leaves the amount to the application). Padding hides
/// the exact length of the content from everyone outside the group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PaddingPolicy {
    /// No padding.
    #[default]
    None,
    /// Pad the plaintext (content, auth data and padding) to the next
    /// multiple of this many bytes. A `u16`, so a policy can never make a
    /// message more than 64 KiB longer.
    ToMultipleOf(NonZeroU16),
}

impl PaddingPolicy {
    /// The number of padding bytes for a plaintext of `len` bytes before
    /// padding.
    pub fn padding_for(self, len: usize) -> usize {
        match self {
            Self::None => 0,
            Self::ToMultipleOf(n) => {
                let n = usize::from(n.get());
                (n - len % n) % n
            }
        }
    }
}

/// The ratchet a content type is encrypted with (RFC 9420 §6.3.1):
/// application data on the application ratchet, proposals and commits on
/// the handshake ratchet.
pub fn ratchet_type(content_type: ContentType) -> RatchetType {
    match content_type {
        ContentType::Application => RatchetType::Application,
        ContentType::Proposal | ContentType::Commit => RatchetType::Handshake,
    }
}

/// The content nonce: the ratchet's nonce with the reuse guard XORed into
/// its first four bytes (RFC 9420 §6.3.1).
fn guarded_nonce(key: &RatchetKey, reuse_guard: [u8; 4]) -> Secret {
    let mut nonce = Secret::from_slice(key.nonce());
    for (n, g) in nonce.as_mut_bytes().iter_mut().zip(reuse_guard) {
        *n ^= g;
    }
    nonce
}

/// Encrypts signed content as a PrivateMessage (RFC 9420 §6.3).
///
/// `content` must come from a member and have been signed for
/// [`WireFormat::PRIVATE_MESSAGE`]. The content key is the next unused
/// generation of the sender's own ratchet in `secret_tree` (application or
/// handshake, by content type); it is consumed whether or not the rest
/// succeeds, so a key is never used twice. The nonce carries a fresh
/// random reuse guard (§6.3.1); `sender_data_secret` is the epoch's
/// (§6.3.2).
pub fn protect_private(
    suite: &Suite<'_>,
    content: AuthenticatedContent,
    secret_tree: &mut SecretTree,
    sender_data_secret: &Secret,
    padding: PaddingPolicy,
) -> Result<PrivateMessage, Error> {
    if content.wire_format != WireFormat::PRIVATE_MESSAGE {
        return Err(UsageError::WireFormatMismatch { expected: "PrivateMessage" }.into());
    }
    check_wire_format(content.wire_format, &content.content)?;
    check_confirmation_tag_presence(&content.content, &content.auth)?;
    let AuthenticatedContent {
        content: FramedContent { group_id, epoch, sender, authenticated_data, body }, auth, ..
    } = content;
    // check_wire_format let only members through (§6.3.2).
    let Sender::Member(leaf_index) = sender else { return Err(ValidationError::PrivateMessageFromNonMember.into()) };
    let content_type = body.content_type();

    // The plaintext is kept in a `Secret`, so the buffer that was
    // encrypted is zeroized once done (the caller owns the content itself).
    let plaintext = Secret::new(PrivateMessageContent { body, auth, padding: 0 }.to_bytes());
    let plaintext = match padding.padding_for(plaintext.len()) {
        0 => plaintext,
        n => {
            let mut padded = Vec::with_capacity(plaintext.len() + n);
            padded.extend_from_slice(plaintext.as_bytes());
            padded.resize(plaintext.len() + n, 0);
            Secret::new(padded)
        }
    };

    let mut reuse_guard = [0u8; 4];
    suite.provider().random(&mut reuse_guard)?;
    let key = secret_tree.next_send_key(suite, leaf_index, ratchet_type(content_type))?;
    let nonce = guarded_nonce(&key, reuse_guard);

    // The AAD structs own their fields: move them in and back out rather
    // than clone authenticated_data, which may be large.
    let aad = PrivateContentAad { group_id, epoch, content_type, authenticated_data };
    let ciphertext = suite.aead_seal(key.key(), nonce.as_bytes(), &aad.to_bytes(), plaintext.as_bytes())?;
    let PrivateContentAad { group_id, authenticated_data, .. } = aad;

    let sender_data = SenderData { leaf_index, generation: key.generation(), reuse_guard };
    let keys = SenderDataKeys::derive(suite, sender_data_secret.as_bytes(), &ciphertext)?;
    let aad = SenderDataAad { group_id, epoch, content_type };
    let encrypted_sender_data = suite.aead_seal(keys.key(), keys.nonce(), &aad.to_bytes(), &sender_data.to_bytes())?;
    let SenderDataAad { group_id, .. } = aad;

    Ok(PrivateMessage { group_id, epoch, content_type, authenticated_data, encrypted_sender_data, ciphertext })
}

/// Decrypts a PrivateMessage's SenderData (RFC 9420 §6.3.2). A failure to
/// decrypt is an opaque
/// [`CryptoError::DecryptionFailed`](crate::crypto::CryptoError::DecryptionFailed).
pub fn decrypt_sender_data(
    suite: &Suite<'_>,
    message: &PrivateMessage,
    sender_data_secret: &Secret,
) -> Result<SenderData, Error> {
    let keys = SenderDataKeys::derive(suite, sender_data_secret.as_bytes(), &message.ciphertext)?;
    // SenderDataAAD: the first three fields of the PrivateMessage (§6.3.2).
    let aad =
        SenderDataAad { group_id: message.group_id.clone(), epoch: message.epoch, content_type: message.content_type };
    let plaintext = suite.aead_open(keys.key(), keys.nonce(), &aad.to_bytes(), &message.encrypted_sender_data)?;
    Ok(SenderData::from_bytes(plaintext.as_bytes())?)
}

/// Decrypts a PrivateMessage into the AuthenticatedContent it carries
/// (RFC 9420 §6.3), with the keys of the epoch `context` describes:
///
/// 1. the message names `context`'s group and epoch;
/// 2. SenderData decrypts under `sender_data_secret` (§6.3.2);
/// 3. `signature_key` returns the signature key of the LeafNode at the
///    sender's leaf, or `None` if that leaf is blank or outside the tree,
///    which rejects the message (§6.3.2) before any ratchet is touched;
/// 4. the content decrypts with the key of the sender's generation,
///    looked up in `secret_tree` (§9.1);
/// 5. the plaintext parses as PrivateMessageContent with all-zero
///    padding (§6.3.1: otherwise the message is malformed);
/// 6. the signature verifies (§6.1, §6.3.1).
///
/// The content key is consumed (deleted from `secret_tree`) exactly when
/// step 4 succeeds: §9.2 counts a key as consumed once it "(successfully)
/// decrypt\[ed\] a message". A ciphertext that does not decrypt, which
/// anyone holding the epoch's sender_data_secret could forge, thus does
/// not burn the generation its real sender will use, and every failure
/// before step 4 leaves the tree unchanged. After step 4 the key is gone
/// even if parsing or the signature then fails: it was used, and the
/// genuine sender never reuses a generation. A replay of a message that
/// was already decrypted therefore fails at step 4 with
/// [`ValidationError::GenerationConsumed`] (or `GenerationTooOld` once the
/// out-of-order window has moved past it).
pub fn unprotect_private<F, K>(
    suite: &Suite<'_>,
    message: PrivateMessage,
    context: &GroupContext,
    secret_tree: &mut SecretTree,
    sender_data_secret: &Secret,
    signature_key: F,
) -> Result<AuthenticatedContent, Error>
where
    F: FnOnce(LeafIndex) -> Option<K>,
    K: AsRef<[u8]>,
{
    check_group_and_epoch(context, &message.group_id, message.epoch)?;
    let sender_data = decrypt_sender_data(suite, &message, sender_data_secret)?;
    let leaf_index = sender_data.leaf_index;
    let key = signature_key(leaf_index).ok_or(ValidationError::BlankSenderLeaf(leaf_index.0))?;

    let PrivateMessage { group_id, epoch, content_type, authenticated_data, ciphertext, .. } = message;
    let aad = PrivateContentAad { group_id, epoch, content_type, authenticated_data };
    let aad_bytes = aad.to_bytes();
    let plaintext = secret_tree.receive_with_key(
        suite,
        leaf_index,
        ratchet_type(content_type),
        sender_data.generation,
        |ratchet_key| {
            let nonce = guarded_nonce(ratchet_key, sender_data.reuse_guard);
            suite.aead_open(ratchet_key.key(), nonce.as_bytes(), &aad_bytes, &ciphertext).map_err(Error::from)
        },
    )?;
    let PrivateMessageContent { body, auth, .. } =
        PrivateMessageContent::from_plaintext(plaintext.as_bytes(), content_type)?;
    drop(plaintext);

    let PrivateContentAad { group_id, authenticated_data, .. } = aad;
    let content = FramedContent { group_id, epoch, sender: Sender::Member(leaf_index), authenticated_data, body };
    let content = AuthenticatedContent { wire_format: WireFormat::PRIVATE_MESSAGE, content, auth };
    // A member may send any content type (§6.1), and decoding gave a
    // confirmation tag exactly to commits: only the signature is left.
    verify_signature(suite, &content, Some(context), key.as_ref())?;
    Ok(content)
}

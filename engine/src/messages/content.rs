//! Message framing (RFC 9420 §6): the content a member sends, how it is
//! authenticated, and the `MLSMessage` envelope every message travels in.
//!
//! Only the encodings live here; signing, membership tags and encryption
//! are the `framing` module's work.

use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::crypto::Suite;
use crate::error::{Error, UsageError};
use crate::tree_math::LeafIndex;

use super::{Commit, GroupContext, GroupInfo, KeyPackage, Proposal, ProposalRef, ProtocolVersion, Welcome};

/// Signature label of framed content (RFC 9420 §6.1, §17.6).
pub const FRAMED_CONTENT_TBS_LABEL: &str = "FramedContentTBS";

/// `WireFormat` (RFC 9420 §6, §17.2). An open registry, so any value
/// decodes here; [`MlsMessage`] rejects the ones it cannot carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WireFormat(pub u16);

#[allow(missing_docs)]
impl WireFormat {
    pub const PUBLIC_MESSAGE: Self = Self(1);
    pub const PRIVATE_MESSAGE: Self = Self(2);
    pub const WELCOME: Self = Self(3);
    pub const GROUP_INFO: Self = Self(4);
    pub const KEY_PACKAGE: Self = Self(5);
}

impl Encode for WireFormat {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }
}

impl Decode for WireFormat {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        u16::decode(r).map(Self)
    }
}

/// `ContentType` (RFC 9420 §6): a closed `uint8` enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ContentType {
    Application = 1,
    Proposal = 2,
    Commit = 3,
}

impl Encode for ContentType {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(*self as u8);
    }
}

impl Decode for ContentType {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode(r)? {
            1 => Ok(Self::Application),
            2 => Ok(Self::Proposal),
            3 => Ok(Self::Commit),
            v => Err(DecodeError::InvalidValue { field: "ContentType", value: u64::from(v) }),
        }
    }
}

/// `Sender` (RFC 9420 §6), selected by `SenderType`: member(1),
/// external(2), new_member_proposal(3), new_member_commit(4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sender {
    /// A member, by leaf.
    Member(LeafIndex),
    /// An external sender, by its index in the external_senders extension
    /// (§12.1.8.1).
    External(u32),
    /// A non-member proposing its own Add (§12.1.8).
    NewMemberProposal,
    /// A non-member joining by external Commit (§12.4.3.2).
    NewMemberCommit,
}

impl Sender {
    /// Whether FramedContentTBS includes the GroupContext for this sender
    /// (§6.1: member and new_member_commit).
    pub fn signs_group_context(&self) -> bool {
        matches!(self, Self::Member(_) | Self::NewMemberCommit)
    }
}

impl Encode for Sender {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Member(leaf) => {
                out.push(1);
                leaf.encode(out);
            }
            Self::External(index) => {
                out.push(2);
                index.encode(out);
            }
            Self::NewMemberProposal => out.push(3),
            Self::NewMemberCommit => out.push(4),
        }
    }
}

impl Decode for Sender {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode(r)? {
            1 => Ok(Self::Member(LeafIndex::decode(r)?)),
            2 => Ok(Self::External(u32::decode(r)?)),
            3 => Ok(Self::NewMemberProposal),
            4 => Ok(Self::NewMemberCommit),
            v => Err(DecodeError::InvalidValue { field: "SenderType", value: u64::from(v) }),
        }
    }
}

/// The `content_type` selector of `FramedContent` with its arm (RFC 9420 §6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FramedContentBody {
    /// `application_data`.
    Application(Vec<u8>),
    /// A proposal.
    Proposal(Proposal),
    /// A commit.
    Commit(Commit),
}

impl FramedContentBody {
    /// The content type this arm belongs to.
    pub fn content_type(&self) -> ContentType {
        match self {
            Self::Application(_) => ContentType::Application,
            Self::Proposal(_) => ContentType::Proposal,
            Self::Commit(_) => ContentType::Commit,
        }
    }

    /// The arm alone, without the selector: the head of
    /// PrivateMessageContent, whose content type travels outside (§6.3.1).
    fn encode_arm(&self, out: &mut Vec<u8>) {
        match self {
            Self::Application(data) => data.encode(out),
            Self::Proposal(p) => p.encode(out),
            Self::Commit(c) => c.encode(out),
        }
    }

    fn decode_arm(r: &mut Reader<'_>, content_type: ContentType) -> Result<Self, DecodeError> {
        Ok(match content_type {
            ContentType::Application => Self::Application(Vec::decode(r)?),
            ContentType::Proposal => Self::Proposal(Proposal::decode(r)?),
            ContentType::Commit => Self::Commit(Commit::decode(r)?),
        })
    }
}

impl Encode for FramedContentBody {
    fn encode(&self, out: &mut Vec<u8>) {
        self.content_type().encode(out);
        self.encode_arm(out);
    }
}

impl Decode for FramedContentBody {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let content_type = ContentType::decode(r)?;
        Self::decode_arm(r, content_type)
    }
}

crate::wire_struct! {
    /// `FramedContent` (RFC 9420 §6).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct FramedContent {
        /// The group.
        pub group_id: Vec<u8>,
        /// The epoch the content belongs to.
        pub epoch: u64,
        /// Who sent it.
        pub sender: Sender,
        /// Application data authenticated but not encrypted.
        pub authenticated_data: Vec<u8>,
        /// `content_type` and the content it selects.
        pub body: FramedContentBody,
    }
}

impl FramedContent {
    /// The content type.
    pub fn content_type(&self) -> ContentType {
        self.body.content_type()
    }

    /// The encoded `FramedContentTBS` (RFC 9420 §6.1), the bytes the
    /// signature covers.
    ///
    /// `context` is the group context of the epoch; it is part of the TBS
    /// only for member and new_member_commit senders, and ignored for the
    /// others. Leaving it out for a sender that needs it is a usage error.
    pub fn tbs_bytes(&self, wire_format: WireFormat, context: Option<&GroupContext>) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.encode_tbs(&mut out, wire_format, context)?;
        Ok(out)
    }

    /// Appends the FramedContentTBS; returns where in `out` its
    /// FramedContent ends.
    fn encode_tbs(
        &self,
        out: &mut Vec<u8>,
        wire_format: WireFormat,
        context: Option<&GroupContext>,
    ) -> Result<usize, Error> {
        ProtocolVersion::MLS10.encode(out);
        wire_format.encode(out);
        self.encode(out);
        let content_end = out.len();
        if self.sender.signs_group_context() {
            let context = context.ok_or(UsageError::MissingGroupContext)?;
            context.encode(out);
        }
        Ok(content_end)
    }
}

/// `FramedContentAuthData` (RFC 9420 §6.1). Its shape depends on the
/// content type: `confirmation_tag` is present exactly for commits, so it
/// decodes with [`FramedContentAuthData::decode_for`] rather than
/// [`Decode`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FramedContentAuthData {
    /// `SignWithLabel(., "FramedContentTBS", FramedContentTBS)`.
    pub signature: Vec<u8>,
    /// `MAC(confirmation_key, confirmed_transcript_hash)`: `Some` exactly
    /// when the content is a commit. Encoding writes whatever is here, so
    /// a value that breaks that rule encodes to bytes that do not decode.
    pub confirmation_tag: Option<Vec<u8>>,
}

impl FramedContentAuthData {
    /// Reads the auth data of content of type `content_type`.
    pub fn decode_for(r: &mut Reader<'_>, content_type: ContentType) -> Result<Self, DecodeError> {
        let signature = Vec::decode(r)?;
        let confirmation_tag = match content_type {
            ContentType::Commit => Some(Vec::decode(r)?),
            ContentType::Application | ContentType::Proposal => None,
        };
        Ok(Self { signature, confirmation_tag })
    }
}

impl Encode for FramedContentAuthData {
    fn encode(&self, out: &mut Vec<u8>) {
        self.signature.encode(out);
        if let Some(tag) = &self.confirmation_tag {
            tag.encode(out);
        }
    }
}

/// `AuthenticatedContent` (RFC 9420 §6): content with its authentication,
/// as both wire formats carry it; what ProposalRefs and the transcript hash
/// are computed over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatedContent {
    /// The wire format the content was (or will be) sent in.
    pub wire_format: WireFormat,
    /// The content.
    pub content: FramedContent,
    /// Its authentication.
    pub auth: FramedContentAuthData,
}

impl AuthenticatedContent {
    /// The encoded `FramedContentTBS` (see [`FramedContent::tbs_bytes`]).
    pub fn tbs_bytes(&self, context: Option<&GroupContext>) -> Result<Vec<u8>, Error> {
        self.content.tbs_bytes(self.wire_format, context)
    }

    /// The encoded `ConfirmedTranscriptHashInput` (RFC 9420 §8.2):
    /// `wire_format`, the FramedContent and the signature, i.e. this
    /// AuthenticatedContent without its confirmation tag.
    pub fn confirmed_transcript_hash_input(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.wire_format.encode(&mut out);
        self.content.encode(&mut out);
        self.auth.signature.encode(&mut out);
        out
    }

    /// `MakeProposalRef` over this AuthenticatedContent (RFC 9420 §5.2).
    pub fn proposal_ref(&self, suite: &Suite<'_>) -> ProposalRef {
        ProposalRef(suite.proposal_ref(&self.to_bytes()))
    }
}

impl Encode for AuthenticatedContent {
    fn encode(&self, out: &mut Vec<u8>) {
        self.wire_format.encode(out);
        self.content.encode(out);
        self.auth.encode(out);
    }
}

impl Decode for AuthenticatedContent {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let wire_format = WireFormat::decode(r)?;
        let content = FramedContent::decode(r)?;
        let auth = FramedContentAuthData::decode_for(r, content.content_type())?;
        Ok(Self { wire_format, content, auth })
    }
}

/// `PublicMessage` (RFC 9420 §6.2): signed, not encrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicMessage {
    /// The content.
    pub content: FramedContent,
    /// Its authentication.
    pub auth: FramedContentAuthData,
    /// `MAC(membership_key, AuthenticatedContentTBM)`: `Some` exactly when
    /// the sender is a member.
    pub membership_tag: Option<Vec<u8>>,
}

impl PublicMessage {
    /// The encoded `AuthenticatedContentTBM` (RFC 9420 §6.2), the input of
    /// the membership tag MAC: FramedContentTBS (wire format
    /// mls_public_message, with `context`) followed by the auth data.
    pub fn tbm_bytes(&self, context: &GroupContext) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.content.encode_tbs(&mut out, WireFormat::PUBLIC_MESSAGE, Some(context))?;
        self.auth.encode(&mut out);
        Ok(out)
    }

    /// The one encoding a receiver's checks read (see [`EncodedPublic`]).
    pub(crate) fn encode_for_checks(&self, context: &GroupContext) -> Result<EncodedPublic, Error> {
        let label = FRAMED_CONTENT_TBS_LABEL.as_bytes();
        // Room for the SignContent header of the longest content.
        let head = crate::crypto::labelled_header(label, crate::codec::MAX_VARINT as usize, 0).len();
        let reserve = size_hint(&self.content) + self.auth.signature.len() + 2 * 64;
        let mut buf = Vec::with_capacity(head + reserve);
        buf.resize(head, 0);
        let content_end = self.content.encode_tbs(&mut buf, WireFormat::PUBLIC_MESSAGE, Some(context))?;
        let tbs_end = buf.len();
        let header = crate::crypto::labelled_header(label, tbs_end - head, 0);
        let sign_start = head.checked_sub(header.len()).ok_or(UsageError::InvalidArgument("message too long"))?;
        buf[sign_start..head].copy_from_slice(&header);
        // FramedContentAuthData starts with signature<V> (§6.1).
        self.auth.encode(&mut buf);
        let signature = &self.auth.signature;
        let signature_end = tbs_end + crate::codec::varint_len(signature.len() as u64) + signature.len();
        Ok(EncodedPublic { buf, sign_start, tbs_start: head, content_end, tbs_end, signature_end })
    }

    /// The AuthenticatedContent this message carries.
    pub fn authenticated_content(&self) -> AuthenticatedContent {
        AuthenticatedContent {
            wire_format: WireFormat::PUBLIC_MESSAGE,
            content: self.content.clone(),
            auth: self.auth.clone(),
        }
    }
}

/// A received PublicMessage encoded once for every check that hashes it:
/// the SignContent header, FramedContentTBS, then the auth data. The
/// signature covers the header and TBS (§5.1.2, §6.1), the membership tag
/// the TBS and auth data (AuthenticatedContentTBM, §6.2), and the confirmed
/// transcript hash wire_format, FramedContent and signature (§8.2), which
/// lie in it too. For a large commit this is one buffer where there were
/// three copies (issue 16: the fresh pages cost ~1 ms at 10,000 members).
#[derive(Debug)]
pub(crate) struct EncodedPublic {
    buf: Vec<u8>,
    sign_start: usize,
    tbs_start: usize,
    content_end: usize,
    tbs_end: usize,
    signature_end: usize,
}

impl EncodedPublic {
    /// The encoded SignContent of the FramedContentTBS.
    pub(crate) fn sign_content(&self) -> &[u8] {
        &self.buf[self.sign_start..self.tbs_end]
    }

    /// AuthenticatedContentTBM.
    pub(crate) fn tbm(&self) -> &[u8] {
        &self.buf[self.tbs_start..]
    }

    /// ConfirmedTranscriptHashInput in two pieces: wire_format and
    /// FramedContent (after the TBS's version), then signature<V>.
    pub(crate) fn confirmed_input(&self) -> [&[u8]; 2] {
        [&self.buf[self.tbs_start + 2..self.content_end], &self.buf[self.tbs_end..self.signature_end]]
    }
}

/// About the encoded length of `content`, so that [`EncodedPublic`] is
/// allocated once: a large commit is almost all UpdatePath ciphertexts or
/// Add proposals (counted at 512 bytes; a short estimate costs a regrowth).
fn size_hint(content: &FramedContent) -> usize {
    let body = match &content.body {
        FramedContentBody::Commit(commit) => {
            let path = commit.path.as_ref().map_or(0, |path| {
                let node = |n: &super::UpdatePathNode| {
                    n.encryption_key.as_bytes().len() + n.encrypted_path_secret.body_len() + 8
                };
                1024 + path.nodes.iter().map(node).sum::<usize>()
            });
            let proposals: usize = commit
                .proposals
                .iter()
                .map(|p| if matches!(p, super::ProposalOrRef::Proposal(_)) { 512 } else { 40 })
                .sum();
            path + proposals
        }
        _ => 1024,
    };
    body + content.group_id.len() + content.authenticated_data.len() + 512
}

impl Encode for PublicMessage {
    fn encode(&self, out: &mut Vec<u8>) {
        self.content.encode(out);
        self.auth.encode(out);
        if let Some(tag) = &self.membership_tag {
            tag.encode(out);
        }
    }
}

impl Decode for PublicMessage {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let content = FramedContent::decode(r)?;
        let auth = FramedContentAuthData::decode_for(r, content.content_type())?;
        let membership_tag = match content.sender {
            Sender::Member(_) => Some(Vec::decode(r)?),
            Sender::External(_) | Sender::NewMemberProposal | Sender::NewMemberCommit => None,
        };
        Ok(Self { content, auth, membership_tag })
    }
}

crate::wire_struct! {
    /// `PrivateMessage` (RFC 9420 §6.3): signed and encrypted.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct PrivateMessage {
        /// The group.
        pub group_id: Vec<u8>,
        /// The epoch.
        pub epoch: u64,
        /// What the ciphertext holds.
        pub content_type: ContentType,
        /// Application data authenticated but not encrypted.
        pub authenticated_data: Vec<u8>,
        /// The encrypted SenderData (§6.3.2).
        pub encrypted_sender_data: Vec<u8>,
        /// The encrypted PrivateMessageContent (§6.3.1).
        pub ciphertext: Vec<u8>,
    }
}

/// `SenderData` (RFC 9420 §6.3.2): who sent a PrivateMessage, and with
/// which key generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SenderData {
    /// The sender's leaf.
    pub leaf_index: LeafIndex,
    /// The generation of the sender's ratchet the content key comes from.
    pub generation: u32,
    /// Random bytes XORed into the nonce against reuse (§6.3.1).
    pub reuse_guard: [u8; 4],
}

impl Encode for SenderData {
    fn encode(&self, out: &mut Vec<u8>) {
        self.leaf_index.encode(out);
        self.generation.encode(out);
        out.extend_from_slice(&self.reuse_guard);
    }
}

impl Decode for SenderData {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { leaf_index: LeafIndex::decode(r)?, generation: u32::decode(r)?, reuse_guard: r.take_array()? })
    }
}

crate::wire_struct! {
    /// `SenderDataAAD` (RFC 9420 §6.3.2).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct SenderDataAad {
        /// The group.
        pub group_id: Vec<u8>,
        /// The epoch.
        pub epoch: u64,
        /// The content type.
        pub content_type: ContentType,
    }
}

crate::wire_struct! {
    /// `PrivateContentAAD` (RFC 9420 §6.3.1).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct PrivateContentAad {
        /// The group.
        pub group_id: Vec<u8>,
        /// The epoch.
        pub epoch: u64,
        /// The content type.
        pub content_type: ContentType,
        /// The PrivateMessage's authenticated data.
        pub authenticated_data: Vec<u8>,
    }
}

/// `PrivateMessageContent` (RFC 9420 §6.3.1): the plaintext of a
/// PrivateMessage's ciphertext. The content type comes from the enclosing
/// PrivateMessage, so it decodes with
/// [`PrivateMessageContent::from_plaintext`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivateMessageContent {
    /// The content (its type is the PrivateMessage's `content_type`).
    pub body: FramedContentBody,
    /// Its authentication.
    pub auth: FramedContentAuthData,
    /// Number of zero bytes of padding.
    pub padding: usize,
}

impl PrivateMessageContent {
    /// Decodes a whole plaintext of a PrivateMessage of type
    /// `content_type`. Whatever follows the auth data is padding, which
    /// must be all zeros (§6.3.1: otherwise the message is malformed).
    pub fn from_plaintext(plaintext: &[u8], content_type: ContentType) -> Result<Self, DecodeError> {
        let mut r = Reader::new(plaintext);
        let body = FramedContentBody::decode_arm(&mut r, content_type)?;
        let auth = FramedContentAuthData::decode_for(&mut r, content_type)?;
        let padding = r.peek_rest();
        if let Some(b) = padding.iter().find(|b| **b != 0) {
            return Err(DecodeError::InvalidValue { field: "PrivateMessageContent padding", value: u64::from(*b) });
        }
        Ok(Self { body, auth, padding: padding.len() })
    }
}

impl Encode for PrivateMessageContent {
    fn encode(&self, out: &mut Vec<u8>) {
        self.body.encode_arm(out);
        self.auth.encode(out);
        out.resize(out.len() + self.padding, 0);
    }
}

/// The `wire_format` selector of `MLSMessage` with its arm (RFC 9420 §6).
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum MlsMessageBody {
    PublicMessage(PublicMessage),
    PrivateMessage(PrivateMessage),
    Welcome(Welcome),
    GroupInfo(GroupInfo),
    KeyPackage(KeyPackage),
}

impl MlsMessageBody {
    /// The wire format of this arm.
    pub fn wire_format(&self) -> WireFormat {
        match self {
            Self::PublicMessage(_) => WireFormat::PUBLIC_MESSAGE,
            Self::PrivateMessage(_) => WireFormat::PRIVATE_MESSAGE,
            Self::Welcome(_) => WireFormat::WELCOME,
            Self::GroupInfo(_) => WireFormat::GROUP_INFO,
            Self::KeyPackage(_) => WireFormat::KEY_PACKAGE,
        }
    }
}

impl Encode for MlsMessageBody {
    fn encode(&self, out: &mut Vec<u8>) {
        self.wire_format().encode(out);
        match self {
            Self::PublicMessage(m) => m.encode(out),
            Self::PrivateMessage(m) => m.encode(out),
            Self::Welcome(m) => m.encode(out),
            Self::GroupInfo(m) => m.encode(out),
            Self::KeyPackage(m) => m.encode(out),
        }
    }
}

impl Decode for MlsMessageBody {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match WireFormat::decode(r)? {
            WireFormat::PUBLIC_MESSAGE => Self::PublicMessage(Decode::decode(r)?),
            WireFormat::PRIVATE_MESSAGE => Self::PrivateMessage(Decode::decode(r)?),
            WireFormat::WELCOME => Self::Welcome(Decode::decode(r)?),
            WireFormat::GROUP_INFO => Self::GroupInfo(Decode::decode(r)?),
            WireFormat::KEY_PACKAGE => Self::KeyPackage(Decode::decode(r)?),
            other => return Err(DecodeError::InvalidValue { field: "WireFormat", value: u64::from(other.0) }),
        })
    }
}

/// `MLSMessage` (RFC 9420 §6): the envelope of everything MLS sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MlsMessage {
    /// Protocol version; only mls10 decodes.
    pub version: ProtocolVersion,
    /// `wire_format` and the message it selects.
    pub body: MlsMessageBody,
}

impl MlsMessage {
    /// An MLS 1.0 message.
    pub fn new(body: MlsMessageBody) -> Self {
        Self { version: ProtocolVersion::MLS10, body }
    }

    /// The wire format.
    pub fn wire_format(&self) -> WireFormat {
        self.body.wire_format()
    }
}

impl Encode for MlsMessage {
    fn encode(&self, out: &mut Vec<u8>) {
        self.version.encode(out);
        self.body.encode(out);
    }
}

impl Decode for MlsMessage {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = ProtocolVersion::decode(r)?;
        // Another version may frame its body differently (§6: `version =
        // mls10`), so nothing after this point could be read safely.
        if version != ProtocolVersion::MLS10 {
            return Err(DecodeError::InvalidValue { field: "ProtocolVersion", value: u64::from(version.0) });
        }
        Ok(Self { version, body: MlsMessageBody::decode(r)? })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::crypto::CipherSuite;
    use crate::messages::{ProposalOrRef, Remove};

    fn content(sender: Sender, body: FramedContentBody) -> FramedContent {
        FramedContent { group_id: b"g".to_vec(), epoch: 3, sender, authenticated_data: vec![1, 2], body }
    }

    fn context() -> GroupContext {
        GroupContext {
            version: ProtocolVersion::MLS10,
            cipher_suite: CipherSuite(1),
            group_id: b"g".to_vec(),
            epoch: 3,
            tree_hash: vec![1; 32],
            confirmed_transcript_hash: vec![2; 32],
            extensions: vec![],
        }
    }

    fn bodies() -> Vec<FramedContentBody> {
        vec![
            FramedContentBody::Application(b"hello".to_vec()),
            FramedContentBody::Proposal(Proposal::Remove(Remove { removed: LeafIndex(2) })),
            FramedContentBody::Commit(Commit {
                proposals: vec![ProposalOrRef::Reference(ProposalRef(vec![4; 32]))],
                path: None,
            }),
        ]
    }

    fn auth_for(body: &FramedContentBody) -> FramedContentAuthData {
        FramedContentAuthData {
            signature: vec![5; 64],
            confirmation_tag: matches!(body, FramedContentBody::Commit(_)).then(|| vec![6; 32]),
        }
    }

    #[test]
    fn public_messages_of_every_sender_and_type_round_trip() {
        for sender in
            [Sender::Member(LeafIndex(1)), Sender::External(0), Sender::NewMemberProposal, Sender::NewMemberCommit]
        {
            for body in bodies() {
                let auth = auth_for(&body);
                let membership_tag = matches!(sender, Sender::Member(_)).then(|| vec![7; 32]);
                let pm = PublicMessage { content: content(sender, body), auth, membership_tag };
                let msg = MlsMessage::new(MlsMessageBody::PublicMessage(pm.clone()));
                let bytes = msg.to_bytes();
                assert_eq!(MlsMessage::from_bytes(&bytes).unwrap(), msg);

                let ac = pm.authenticated_content();
                assert_eq!(AuthenticatedContent::from_bytes(&ac.to_bytes()).unwrap(), ac);
                let tbs = ac.tbs_bytes(Some(&context())).unwrap();
                assert_eq!(tbs.ends_with(&context().to_bytes()), sender.signs_group_context());
                assert_eq!(ac.tbs_bytes(None).is_ok(), !sender.signs_group_context());
                if sender.signs_group_context() {
                    assert!(pm.tbm_bytes(&context()).unwrap().starts_with(&tbs));
                }
            }
        }
    }

    #[test]
    fn private_message_parts_round_trip() {
        let pm = PrivateMessage {
            group_id: b"g".to_vec(),
            epoch: 1,
            content_type: ContentType::Application,
            authenticated_data: vec![],
            encrypted_sender_data: vec![1; 28],
            ciphertext: vec![2; 50],
        };
        let msg = MlsMessage::new(MlsMessageBody::PrivateMessage(pm));
        assert_eq!(MlsMessage::from_bytes(&msg.to_bytes()).unwrap(), msg);

        let sd = SenderData { leaf_index: LeafIndex(9), generation: 10, reuse_guard: [1, 2, 3, 4] };
        assert_eq!(sd.to_bytes(), [0, 0, 0, 9, 0, 0, 0, 10, 1, 2, 3, 4]);
        assert_eq!(SenderData::from_bytes(&sd.to_bytes()).unwrap(), sd);

        for body in bodies() {
            let content_type = body.content_type();
            let pmc = PrivateMessageContent { auth: auth_for(&body), body, padding: 17 };
            let mut plaintext = pmc.to_bytes();
            assert_eq!(PrivateMessageContent::from_plaintext(&plaintext, content_type).unwrap(), pmc);
            *plaintext.last_mut().unwrap() = 1;
            assert!(PrivateMessageContent::from_plaintext(&plaintext, content_type).is_err());
        }
    }

    #[test]
    fn unknown_selectors_are_errors() {
        // version 2
        assert!(matches!(MlsMessage::from_bytes(&[0, 2, 0, 1]), Err(DecodeError::InvalidValue { .. })));
        // wire format 6
        assert_eq!(
            MlsMessage::from_bytes(&[0, 1, 0, 6]),
            Err(DecodeError::InvalidValue { field: "WireFormat", value: 6 })
        );
        assert!(matches!(Sender::from_bytes(&[5]), Err(DecodeError::InvalidValue { .. })));
        assert!(matches!(ContentType::from_bytes(&[0]), Err(DecodeError::InvalidValue { .. })));
    }
}

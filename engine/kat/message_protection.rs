//! `message-protection.json`: PublicMessage and PrivateMessage protection
//! (RFC 9420 §6.2, §6.3). For each suite, the vector's proposal, commit and
//! application messages unprotect to the given content; then we protect
//! that content ourselves and unprotect our own output. A case passes only
//! if all its sub-tests do.

use serde::Deserialize;
use throng::crypto::{CipherSuite, Secret, SignaturePrivateKey, Suite};
use throng::error::{Error, ValidationError};
use throng::internals::codec::Decode;
use throng::internals::framing::{
    PaddingPolicy, protect_private, protect_public, sign_content, unprotect_private, unprotect_public,
};
use throng::internals::secret_tree::{SecretTree, SecretTreeConfig};
use throng::internals::tree_math::LeafIndex;
use throng::messages::{
    AuthenticatedContent, Commit, FramedContent, FramedContentBody, GroupContext, MlsMessage, MlsMessageBody,
    PrivateMessage, Proposal, ProtocolVersion, PublicMessage, Sender, WireFormat,
};

use super::{CaseError, Outcome, check, check_eq, hex_bytes};

#[derive(Deserialize)]
struct Case {
    cipher_suite: u16,
    #[serde(with = "hex_bytes")]
    group_id: Vec<u8>,
    epoch: u64,
    #[serde(with = "hex_bytes")]
    tree_hash: Vec<u8>,
    #[serde(with = "hex_bytes")]
    confirmed_transcript_hash: Vec<u8>,
    #[serde(with = "hex_bytes")]
    signature_priv: Vec<u8>,
    #[serde(with = "hex_bytes")]
    signature_pub: Vec<u8>,
    #[serde(with = "hex_bytes")]
    encryption_secret: Vec<u8>,
    #[serde(with = "hex_bytes")]
    sender_data_secret: Vec<u8>,
    #[serde(with = "hex_bytes")]
    membership_key: Vec<u8>,
    #[serde(with = "hex_bytes")]
    proposal: Vec<u8>,
    #[serde(with = "hex_bytes")]
    proposal_pub: Vec<u8>,
    #[serde(with = "hex_bytes")]
    proposal_priv: Vec<u8>,
    #[serde(with = "hex_bytes")]
    commit: Vec<u8>,
    #[serde(with = "hex_bytes")]
    commit_pub: Vec<u8>,
    #[serde(with = "hex_bytes")]
    commit_priv: Vec<u8>,
    #[serde(with = "hex_bytes")]
    application: Vec<u8>,
    #[serde(with = "hex_bytes")]
    application_priv: Vec<u8>,
}

/// The vectors' sender: "use the member with LeafIndex 1 as the sender".
const SENDER: LeafIndex = LeafIndex(1);

pub fn run(json: &str) -> Result<Outcome, String> {
    super::run_suite_cases(json, |c: &Case| c.cipher_suite, check_case)
}

/// What every sub-test of a case shares.
struct Env<'c> {
    suite: Suite<'static>,
    case: &'c Case,
    context: GroupContext,
    signer: SignaturePrivateKey,
    membership_key: Secret,
    sender_data_secret: Secret,
}

fn check_case(c: &Case, suite: Suite<'static>) -> Result<(), CaseError> {
    let env = Env {
        suite,
        case: c,
        // "Construct a GroupContext ... with empty extensions".
        context: GroupContext {
            version: ProtocolVersion::MLS10,
            cipher_suite: CipherSuite(c.cipher_suite),
            group_id: c.group_id.clone(),
            epoch: c.epoch,
            tree_hash: c.tree_hash.clone(),
            confirmed_transcript_hash: c.confirmed_transcript_hash.clone(),
            extensions: vec![],
        },
        signer: SignaturePrivateKey(Secret::from_slice(&c.signature_priv)),
        membership_key: Secret::from_slice(&c.membership_key),
        sender_data_secret: Secret::from_slice(&c.sender_data_secret),
    };

    let proposal =
        FramedContentBody::Proposal(named("proposal", Proposal::from_bytes(&c.proposal).map_err(CaseError::from))?);
    let commit = FramedContentBody::Commit(named("commit", Commit::from_bytes(&c.commit).map_err(CaseError::from))?);
    let application = FramedContentBody::Application(c.application.clone());

    named("proposal_pub", env.check_public_vector(&c.proposal_pub, &proposal))?;
    named("proposal_priv", env.check_private_vector(&c.proposal_priv, &proposal))?;
    named("commit_pub", env.check_public_vector(&c.commit_pub, &commit))?;
    named("commit_priv", env.check_private_vector(&c.commit_priv, &commit))?;
    named("application_priv", env.check_private_vector(&c.application_priv, &application))?;

    named("protect proposal as public", env.public_round_trip(&proposal))?;
    named("protect commit as public", env.public_round_trip(&commit))?;
    named("protect application as public", env.application_is_not_public(&application))?;
    for (name, body) in [("proposal", &proposal), ("commit", &commit), ("application", &application)] {
        named(&format!("protect {name} as private"), env.private_round_trip(body))?;
    }
    Ok(())
}

impl Env<'_> {
    /// "Initialize a secret tree for 2 members with the specified
    /// encryption_secret".
    fn secret_tree(&self) -> Result<SecretTree, CaseError> {
        let secret = Secret::from_slice(&self.case.encryption_secret);
        Ok(SecretTree::new(&self.suite, secret, 2, SecretTreeConfig::default())?)
    }

    fn signature_key(&self) -> &[u8] {
        &self.case.signature_pub
    }

    fn unprotect_public(&self, message: PublicMessage) -> Result<AuthenticatedContent, Error> {
        let key = self.signature_key();
        unprotect_public(&self.suite, message, &self.context, Some(&self.membership_key), |_| Some(key))
    }

    fn unprotect_private(&self, tree: &mut SecretTree, message: PrivateMessage) -> Result<AuthenticatedContent, Error> {
        let key = self.signature_key();
        // Leaf 0 exists too, but only leaf 1 sends in these vectors.
        unprotect_private(&self.suite, message, &self.context, tree, &self.sender_data_secret, |leaf| {
            (leaf == SENDER).then_some(key)
        })
    }

    /// Checks what any unprotected content of these vectors must be.
    fn check_content(
        &self,
        got: &AuthenticatedContent,
        wire_format: WireFormat,
        body: &FramedContentBody,
    ) -> Result<(), CaseError> {
        check_eq("wire_format", &got.wire_format, &wire_format)?;
        check_eq("group_id", &got.content.group_id, &self.case.group_id)?;
        check_eq("epoch", &got.content.epoch, &self.case.epoch)?;
        check_eq("sender", &got.content.sender, &Sender::Member(SENDER))?;
        check_eq("content", &got.content.body, body)
    }

    fn check_public_vector(&self, bytes: &[u8], body: &FramedContentBody) -> Result<(), CaseError> {
        let MlsMessageBody::PublicMessage(message) = MlsMessage::from_bytes(bytes)?.body else {
            return Err(CaseError::Failed("not a PublicMessage".into()));
        };
        let got = self.unprotect_public(message)?;
        self.check_content(&got, WireFormat::PUBLIC_MESSAGE, body)
    }

    fn check_private_vector(&self, bytes: &[u8], body: &FramedContentBody) -> Result<(), CaseError> {
        let MlsMessageBody::PrivateMessage(message) = MlsMessage::from_bytes(bytes)?.body else {
            return Err(CaseError::Failed("not a PrivateMessage".into()));
        };
        let mut tree = self.secret_tree()?;
        let got = self.unprotect_private(&mut tree, message.clone())?;
        self.check_content(&got, WireFormat::PRIVATE_MESSAGE, body)?;
        // The key was consumed: the same message does not decrypt twice.
        let replay = self.unprotect_private(&mut tree, message);
        check(matches!(replay, Err(Error::Invalid(ValidationError::GenerationConsumed { .. }))), || {
            format!("replay: {replay:?}")
        })
    }

    /// Signs `body` from leaf 1 for `wire_format`; a commit gets a
    /// confirmation tag (any MAC-sized value: the vectors do not check it).
    fn authenticated(&self, wire_format: WireFormat, body: &FramedContentBody) -> Result<AuthenticatedContent, Error> {
        let content = FramedContent {
            group_id: self.case.group_id.clone(),
            epoch: self.case.epoch,
            sender: Sender::Member(SENDER),
            authenticated_data: b"throng".to_vec(),
            body: body.clone(),
        };
        let signed = sign_content(&self.suite, &self.signer, wire_format, content, Some(&self.context))?;
        match body {
            FramedContentBody::Commit(_) => {
                let tag = self.suite.mac(self.membership_key.as_bytes(), &signed.confirmed_transcript_hash_input());
                signed.confirm(tag)
            }
            _ => signed.into_authenticated(),
        }
    }

    fn public_round_trip(&self, body: &FramedContentBody) -> Result<(), CaseError> {
        let ac = self.authenticated(WireFormat::PUBLIC_MESSAGE, body)?;
        let message = protect_public(&self.suite, ac.clone(), Some(&self.context), Some(&self.membership_key))?;
        // Through the wire encoding, as a peer would receive it.
        let bytes =
            throng::internals::codec::Encode::to_bytes(&MlsMessage::new(MlsMessageBody::PublicMessage(message)));
        let MlsMessageBody::PublicMessage(message) = MlsMessage::from_bytes(&bytes)?.body else {
            return Err(CaseError::Failed("not a PublicMessage".into()));
        };
        let got = self.unprotect_public(message)?;
        check_eq("unprotected", &got, &ac)
    }

    /// "For the application message, instead verify that protecting as a
    /// PublicMessage fails": both signing for it and framing content
    /// signed for a PrivateMessage as one.
    fn application_is_not_public(&self, body: &FramedContentBody) -> Result<(), CaseError> {
        let refused = Err(Error::Invalid(ValidationError::ApplicationInPublicMessage));
        let signed = self.authenticated(WireFormat::PUBLIC_MESSAGE, body).map(|_| ());
        check_eq("sign for PublicMessage", &signed, &refused)?;
        let mut ac = self.authenticated(WireFormat::PRIVATE_MESSAGE, body)?;
        ac.wire_format = WireFormat::PUBLIC_MESSAGE;
        let protected = protect_public(&self.suite, ac, Some(&self.context), Some(&self.membership_key)).map(|_| ());
        check_eq("protect as PublicMessage", &protected, &refused)
    }

    fn private_round_trip(&self, body: &FramedContentBody) -> Result<(), CaseError> {
        let ac = self.authenticated(WireFormat::PRIVATE_MESSAGE, body)?;
        let (mut sender, mut receiver) = (self.secret_tree()?, self.secret_tree()?);
        let message =
            protect_private(&self.suite, ac.clone(), &mut sender, &self.sender_data_secret, PaddingPolicy::None)?;
        let bytes =
            throng::internals::codec::Encode::to_bytes(&MlsMessage::new(MlsMessageBody::PrivateMessage(message)));
        let MlsMessageBody::PrivateMessage(message) = MlsMessage::from_bytes(&bytes)?.body else {
            return Err(CaseError::Failed("not a PrivateMessage".into()));
        };
        let got = self.unprotect_private(&mut receiver, message)?;
        check_eq("unprotected", &got, &ac)
    }
}

/// Prefixes a sub-test's failure with its name.
fn named<T>(name: &str, result: Result<T, CaseError>) -> Result<T, CaseError> {
    result.map_err(|e| match e {
        CaseError::Failed(msg) => CaseError::Failed(format!("{name}: {msg}")),
        unsupported => unsupported,
    })
}

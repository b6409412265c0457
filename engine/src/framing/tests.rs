//! Unit tests of §6 protection: round trips, and a typed error for each
//! way a message can be tampered with.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::num::NonZeroU16;

use super::*;
use crate::codec::Encode;
use crate::crypto::{CipherSuite, CryptoError, Secret, SignatureKeyPair, Suite, default_provider};
use crate::error::{Error, UsageError, ValidationError};
use crate::messages::{
    AuthenticatedContent, Commit, ExternalInit, FramedContent, FramedContentBody, GroupContext, PrivateMessage,
    PrivateMessageContent, Proposal, ProtocolVersion, PublicMessage, Remove, Sender, SenderDataAad, WireFormat,
};
use crate::secret_tree::{RatchetType, SecretTree, SecretTreeConfig};
use crate::tree_math::LeafIndex;

const SENDER: LeafIndex = LeafIndex(1);

struct Fixture {
    suite: Suite<'static>,
    signer: SignatureKeyPair,
    context: GroupContext,
    membership_key: Secret,
    sender_data_secret: Secret,
    encryption_secret: Secret,
}

impl Fixture {
    fn new() -> Self {
        let suite = Suite::new(default_provider(), CipherSuite(1)).unwrap();
        let context = GroupContext {
            version: ProtocolVersion::MLS10,
            cipher_suite: CipherSuite(1),
            group_id: b"group".to_vec(),
            epoch: 7,
            tree_hash: vec![1; 32],
            confirmed_transcript_hash: vec![2; 32],
            extensions: vec![],
        };
        Self {
            signer: suite.generate_signature_key_pair().unwrap(),
            membership_key: suite.random_secret(32).unwrap(),
            sender_data_secret: suite.random_secret(32).unwrap(),
            encryption_secret: suite.random_secret(32).unwrap(),
            suite,
            context,
        }
    }

    fn tree(&self) -> SecretTree {
        SecretTree::new(&self.suite, self.encryption_secret.clone(), 4, SecretTreeConfig::default()).unwrap()
    }

    fn content(&self, sender: Sender, body: FramedContentBody) -> FramedContent {
        FramedContent {
            group_id: self.context.group_id.clone(),
            epoch: self.context.epoch,
            sender,
            authenticated_data: b"aad".to_vec(),
            body,
        }
    }

    /// Signed (and, for a commit, confirmed) content from `sender`.
    fn authenticated(&self, wire_format: WireFormat, sender: Sender, body: FramedContentBody) -> AuthenticatedContent {
        let signed = sign_content(
            &self.suite,
            &self.signer.private,
            wire_format,
            self.content(sender, body),
            Some(&self.context),
        )
        .unwrap();
        if matches!(signed.content().body, FramedContentBody::Commit(_)) {
            signed.confirm(vec![9; 32]).unwrap()
        } else {
            signed.into_authenticated().unwrap()
        }
    }

    fn public(&self, sender: Sender, body: FramedContentBody) -> PublicMessage {
        let ac = self.authenticated(WireFormat::PUBLIC_MESSAGE, sender, body);
        protect_public(&self.suite, ac, Some(&self.context), Some(&self.membership_key)).unwrap()
    }

    fn unprotect_public(&self, message: PublicMessage) -> Result<AuthenticatedContent, Error> {
        let key = self.signer.public.as_bytes();
        unprotect_public(&self.suite, message, &self.context, Some(&self.membership_key), |_| Some(key))
    }

    fn private(&self, tree: &mut SecretTree, body: FramedContentBody, padding: PaddingPolicy) -> PrivateMessage {
        let ac = self.authenticated(WireFormat::PRIVATE_MESSAGE, Sender::Member(SENDER), body);
        protect_private(&self.suite, ac, tree, &self.sender_data_secret, padding).unwrap()
    }

    fn unprotect_private(&self, tree: &mut SecretTree, message: PrivateMessage) -> Result<AuthenticatedContent, Error> {
        let key = self.signer.public.as_bytes();
        unprotect_private(&self.suite, message, &self.context, tree, &self.sender_data_secret, |leaf| {
            (leaf == SENDER).then_some(key)
        })
    }
}

fn application() -> FramedContentBody {
    FramedContentBody::Application(b"hello, group".to_vec())
}

fn proposal() -> FramedContentBody {
    FramedContentBody::Proposal(Proposal::Remove(Remove { removed: LeafIndex(2) }))
}

fn commit() -> FramedContentBody {
    FramedContentBody::Commit(Commit { proposals: vec![], path: None })
}

fn invalid(result: Result<impl std::fmt::Debug, Error>) -> ValidationError {
    match result {
        Err(Error::Invalid(v)) => v,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn crypto(result: Result<impl std::fmt::Debug, Error>) -> CryptoError {
    match result {
        Err(Error::Crypto(c)) => c,
        other => panic!("expected a crypto error, got {other:?}"),
    }
}

/// What a rejected unprotect must not change in a secret tree.
fn shape(t: &SecretTree) -> (usize, usize, usize) {
    (t.stored_node_secrets(), t.stored_leaf_ratchets(), t.stored_skipped_keys())
}

#[test]
fn public_messages_round_trip() {
    let f = Fixture::new();
    for body in [proposal(), commit()] {
        let message = f.public(Sender::Member(SENDER), body.clone());
        assert!(message.membership_tag.is_some());
        let ac = f.unprotect_public(message.clone()).unwrap();
        assert_eq!(ac.content.body, body);
        assert_eq!(ac, message.authenticated_content());
        // A party without the membership key checks the rest.
        let key = f.signer.public.as_bytes();
        unprotect_public(&f.suite, message, &f.context, None, |_| Some(key)).unwrap();
    }
    // An external sender carries no membership tag, and signs no context.
    let ac = f.authenticated(WireFormat::PUBLIC_MESSAGE, Sender::External(0), proposal());
    let message = protect_public(&f.suite, ac, None, None).unwrap();
    assert!(message.membership_tag.is_none());
    f.unprotect_public(message).unwrap();
}

#[test]
fn one_encoding_serves_signature_tag_and_transcript() {
    let f = Fixture::new();
    // Authenticated data of these sizes puts the TBS length in 1-, 2- and
    // 4-byte varints, so the SignContent header starts at three offsets.
    for aad in [0, 20, 100, 20_000, 70_000] {
        for (body, is_commit) in [(proposal(), false), (commit(), true)] {
            let mut content = f.content(Sender::Member(SENDER), body);
            content.authenticated_data = vec![7; aad];
            let signed =
                sign_content(&f.suite, &f.signer.private, WireFormat::PUBLIC_MESSAGE, content, Some(&f.context))
                    .unwrap();
            let input = signed.confirmed_transcript_hash_input();
            let ac = if is_commit { signed.confirm(vec![1; 32]) } else { signed.into_authenticated() }.unwrap();
            let message = protect_public(&f.suite, ac.clone(), Some(&f.context), Some(&f.membership_key)).unwrap();
            let encoded = message.encode_for_checks(&f.context).unwrap();
            let tbs = ac.tbs_bytes(Some(&f.context)).unwrap();
            let mut sign_content = Vec::new();
            crate::codec::write_bytes(&mut sign_content, b"MLS 1.0 FramedContentTBS");
            crate::codec::write_bytes(&mut sign_content, &tbs);
            assert_eq!(encoded.sign_content(), sign_content);
            assert_eq!(encoded.tbm(), message.tbm_bytes(&f.context).unwrap());
            assert_eq!(encoded.confirmed_input().concat(), ac.confirmed_transcript_hash_input());
            assert_eq!(encoded.confirmed_input().concat(), input);
            f.unprotect_public(message).unwrap();
        }
    }
}

#[test]
fn application_data_is_never_public() {
    let f = Fixture::new();
    let err = sign_content(
        &f.suite,
        &f.signer.private,
        WireFormat::PUBLIC_MESSAGE,
        f.content(Sender::Member(SENDER), application()),
        Some(&f.context),
    );
    assert_eq!(invalid(err), ValidationError::ApplicationInPublicMessage);
    // Nor is it accepted when someone else frames it so.
    let mut message = f.public(Sender::Member(SENDER), proposal());
    message.content.body = application();
    assert_eq!(invalid(f.unprotect_public(message)), ValidationError::ApplicationInPublicMessage);
}

#[test]
fn tampered_membership_tag_is_rejected() {
    let f = Fixture::new();
    let message = f.public(Sender::Member(SENDER), proposal());

    let mut tampered = message.clone();
    tampered.membership_tag.as_mut().unwrap()[0] ^= 1;
    assert_eq!(crypto(f.unprotect_public(tampered)), CryptoError::VerificationFailed);

    let mut missing = message.clone();
    missing.membership_tag = None;
    assert_eq!(invalid(f.unprotect_public(missing)), ValidationError::MembershipTagPresence);

    // The tag covers the content: changing it invalidates the tag first.
    let mut content = message.clone();
    content.content.authenticated_data.push(0);
    assert_eq!(crypto(f.unprotect_public(content)), CryptoError::VerificationFailed);

    // Another epoch's membership key does not verify.
    let other = f.suite.random_secret(32).unwrap();
    let key = f.signer.public.as_bytes();
    let err = unprotect_public(&f.suite, message, &f.context, Some(&other), |_| Some(key));
    assert_eq!(crypto(err), CryptoError::VerificationFailed);
}

#[test]
fn tampered_public_signature_is_rejected() {
    let f = Fixture::new();
    let mut message = f.public(Sender::Member(SENDER), commit());
    message.auth.signature[3] ^= 1;
    // Recompute the tag so that only the signature is wrong.
    message.membership_tag = Some(membership_tag(&f.suite, &message, &f.context, &f.membership_key).unwrap());
    assert_eq!(crypto(f.unprotect_public(message)), CryptoError::VerificationFailed);

    // A valid signature under another key.
    let message = f.public(Sender::Member(SENDER), proposal());
    let other = f.suite.generate_signature_key_pair().unwrap();
    let err = unprotect_public(&f.suite, message.clone(), &f.context, Some(&f.membership_key), |_| {
        Some(other.public.as_bytes())
    });
    assert_eq!(crypto(err), CryptoError::VerificationFailed);

    // No key for the sender.
    let err = unprotect_public(&f.suite, message, &f.context, Some(&f.membership_key), |_| None::<&[u8]>);
    assert_eq!(invalid(err), ValidationError::BlankSenderLeaf(1));
}

#[test]
fn group_and_epoch_must_match() {
    let f = Fixture::new();
    let mut message = f.public(Sender::Member(SENDER), proposal());
    message.content.epoch += 1;
    assert_eq!(invalid(f.unprotect_public(message)), ValidationError::WrongEpoch { expected: 7, got: 8 });

    let mut tree = f.tree();
    let mut message = f.private(&mut tree, application(), PaddingPolicy::None);
    message.group_id = b"other".to_vec();
    let mut receiver = f.tree();
    assert_eq!(invalid(f.unprotect_private(&mut receiver, message)), ValidationError::WrongGroup);
}

#[test]
fn sender_types_are_restricted() {
    let f = Fixture::new();
    let sign = |wire_format, sender, body| {
        sign_content(&f.suite, &f.signer.private, wire_format, f.content(sender, body), Some(&f.context))
    };
    let external_init = FramedContentBody::Proposal(Proposal::ExternalInit(ExternalInit { kem_output: vec![1; 32] }));
    let cases = [
        (Sender::External(0), external_init, "external"),
        (Sender::External(0), commit(), "external"),
        (Sender::NewMemberProposal, proposal(), "new_member_proposal"),
        (Sender::NewMemberCommit, proposal(), "new_member_commit"),
    ];
    for (sender, body, name) in cases {
        assert_eq!(
            invalid(sign(WireFormat::PUBLIC_MESSAGE, sender, body)),
            ValidationError::SenderNotAllowed { sender: name }
        );
    }
    assert_eq!(
        invalid(sign(WireFormat::PRIVATE_MESSAGE, Sender::External(0), proposal())),
        ValidationError::PrivateMessageFromNonMember
    );
    assert!(matches!(
        sign(WireFormat::WELCOME, Sender::Member(SENDER), proposal()),
        Err(Error::Usage(UsageError::NotFramedWireFormat))
    ));
}

#[test]
fn commits_need_their_confirmation_tag() {
    let f = Fixture::new();
    let sign = |body| {
        sign_content(
            &f.suite,
            &f.signer.private,
            WireFormat::PUBLIC_MESSAGE,
            f.content(Sender::Member(SENDER), body),
            Some(&f.context),
        )
        .unwrap()
    };
    assert_eq!(sign(commit()).into_authenticated(), Err(UsageError::MissingConfirmationTag.into()));
    assert_eq!(sign(proposal()).confirm(vec![1; 32]), Err(UsageError::ConfirmationTagOnNonCommit.into()));
    // The transcript input is the AuthenticatedContent without its tag.
    let signed = sign(commit());
    let input = signed.confirmed_transcript_hash_input();
    let ac = signed.confirm(vec![1; 32]).unwrap();
    assert_eq!(ac.confirmed_transcript_hash_input(), input);
    let mut bytes = input.clone();
    vec![1u8; 32].encode(&mut bytes);
    assert_eq!(ac.to_bytes(), bytes);
    // A member's content needs the GroupContext.
    let err = sign_content(
        &f.suite,
        &f.signer.private,
        WireFormat::PUBLIC_MESSAGE,
        f.content(Sender::Member(SENDER), proposal()),
        None,
    );
    assert_eq!(err, Err(UsageError::MissingGroupContext.into()));
}

#[test]
fn private_messages_round_trip() {
    let f = Fixture::new();
    let (mut sender, mut receiver) = (f.tree(), f.tree());
    for body in [application(), proposal(), commit(), application()] {
        let message = f.private(&mut sender, body.clone(), PaddingPolicy::None);
        let ac = f.unprotect_private(&mut receiver, message).unwrap();
        assert_eq!(ac.wire_format, WireFormat::PRIVATE_MESSAGE);
        assert_eq!(ac.content, f.content(Sender::Member(SENDER), body));
        verify_content(&f.suite, &ac, Some(&f.context), f.signer.public.as_bytes()).unwrap();
    }
}

#[test]
fn tampered_ciphertext_is_rejected_and_consumes_nothing() {
    let f = Fixture::new();
    let (mut sender, mut receiver) = (f.tree(), f.tree());
    let message = f.private(&mut sender, application(), PaddingPolicy::None);
    assert!(message.ciphertext.len() > f.suite.hash_len());

    // Past the sample: sender data still decrypts, the content does not.
    let mut tail = message.clone();
    *tail.ciphertext.last_mut().unwrap() ^= 1;
    let before = shape(&receiver);
    assert_eq!(crypto(f.unprotect_private(&mut receiver, tail)), CryptoError::DecryptionFailed);
    assert_eq!(shape(&receiver), before);

    // Inside the sample: the sender data keys change, so it fails there.
    let mut head = message.clone();
    head.ciphertext[0] ^= 1;
    assert_eq!(crypto(f.unprotect_private(&mut receiver, head)), CryptoError::DecryptionFailed);

    // The authenticated data is covered by the content AAD.
    let mut aad = message.clone();
    aad.authenticated_data.push(0);
    assert_eq!(crypto(f.unprotect_private(&mut receiver, aad)), CryptoError::DecryptionFailed);
    assert_eq!(shape(&receiver), before);

    // None of that burnt the key: the genuine message still decrypts.
    f.unprotect_private(&mut receiver, message).unwrap();
}

#[test]
fn tampered_sender_data_is_rejected() {
    let f = Fixture::new();
    let (mut sender, mut receiver) = (f.tree(), f.tree());
    let message = f.private(&mut sender, proposal(), PaddingPolicy::None);
    let before = shape(&receiver);
    for i in [0, message.encrypted_sender_data.len() - 1] {
        let mut tampered = message.clone();
        tampered.encrypted_sender_data[i] ^= 0x80;
        assert_eq!(crypto(f.unprotect_private(&mut receiver, tampered)), CryptoError::DecryptionFailed);
    }
    // The SenderDataAAD covers the content type.
    let mut retyped = message.clone();
    retyped.content_type = crate::messages::ContentType::Application;
    assert_eq!(crypto(f.unprotect_private(&mut receiver, retyped)), CryptoError::DecryptionFailed);
    assert_eq!(shape(&receiver), before);
    f.unprotect_private(&mut receiver, message).unwrap();
}

#[test]
fn blank_sender_leaf_is_rejected_before_the_ratchet() {
    let f = Fixture::new();
    let (mut sender, mut receiver) = (f.tree(), f.tree());
    let message = f.private(&mut sender, application(), PaddingPolicy::None);
    let before = shape(&receiver);
    let err = unprotect_private(&f.suite, message.clone(), &f.context, &mut receiver, &f.sender_data_secret, |_| {
        None::<Vec<u8>>
    });
    assert_eq!(invalid(err), ValidationError::BlankSenderLeaf(SENDER.0));
    assert_eq!(shape(&receiver), before);
    f.unprotect_private(&mut receiver, message).unwrap();
}

#[test]
fn private_signature_is_checked() {
    let f = Fixture::new();
    let (mut sender, mut receiver) = (f.tree(), f.tree());
    let message = f.private(&mut sender, commit(), PaddingPolicy::None);
    let other = f.suite.generate_signature_key_pair().unwrap();
    let err = unprotect_private(&f.suite, message.clone(), &f.context, &mut receiver, &f.sender_data_secret, |_| {
        Some(other.public.as_bytes())
    });
    assert_eq!(crypto(err), CryptoError::VerificationFailed);
    // The content did decrypt, so its key was consumed (§9.2).
    assert_eq!(
        invalid(f.unprotect_private(&mut receiver, message)),
        ValidationError::GenerationConsumed { generation: 0 }
    );

    // Signed for the wrong context (another epoch's GroupContext).
    let mut other_context = f.context.clone();
    other_context.tree_hash = vec![3; 32];
    let ac = sign_content(
        &f.suite,
        &f.signer.private,
        WireFormat::PRIVATE_MESSAGE,
        f.content(Sender::Member(SENDER), application()),
        Some(&other_context),
    )
    .unwrap()
    .into_authenticated()
    .unwrap();
    let message = protect_private(&f.suite, ac, &mut sender, &f.sender_data_secret, PaddingPolicy::None).unwrap();
    assert_eq!(crypto(f.unprotect_private(&mut receiver, message)), CryptoError::VerificationFailed);
}

#[test]
fn replay_is_rejected_by_the_secret_tree() {
    let f = Fixture::new();
    let (mut sender, mut receiver) = (f.tree(), f.tree());
    let first = f.private(&mut sender, application(), PaddingPolicy::None);
    let second = f.private(&mut sender, application(), PaddingPolicy::None);
    f.unprotect_private(&mut receiver, first.clone()).unwrap();
    assert_eq!(
        invalid(f.unprotect_private(&mut receiver, first)),
        ValidationError::GenerationConsumed { generation: 0 }
    );
    f.unprotect_private(&mut receiver, second.clone()).unwrap();
    assert_eq!(
        invalid(f.unprotect_private(&mut receiver, second)),
        ValidationError::GenerationConsumed { generation: 1 }
    );
}

#[test]
fn reuse_guard_is_fresh_for_every_message() {
    let f = Fixture::new();
    // Two senders in the same state use the same generation, key and
    // nonce: only the reuse guard keeps the AEAD nonces apart (§6.3.1).
    let (mut a, mut b) = (f.tree(), f.tree());
    let ma = f.private(&mut a, application(), PaddingPolicy::None);
    let mb = f.private(&mut b, application(), PaddingPolicy::None);
    let sa = decrypt_sender_data(&f.suite, &ma, &f.sender_data_secret).unwrap();
    let sb = decrypt_sender_data(&f.suite, &mb, &f.sender_data_secret).unwrap();
    assert_eq!((sa.leaf_index, sa.generation), (SENDER, 0));
    assert_eq!((sb.leaf_index, sb.generation), (SENDER, 0));
    assert_ne!(sa.reuse_guard, sb.reuse_guard);
    assert_ne!(ma.ciphertext, mb.ciphertext);
    // Both decrypt, each for its own receiver.
    f.unprotect_private(&mut f.tree(), ma).unwrap();
    f.unprotect_private(&mut f.tree(), mb).unwrap();
}

#[test]
fn padding_policy_is_respected() {
    assert_eq!(PaddingPolicy::None.padding_for(17), 0);
    let p = PaddingPolicy::ToMultipleOf(NonZeroU16::new(32).unwrap());
    assert_eq!((p.padding_for(0), p.padding_for(1), p.padding_for(32), p.padding_for(33)), (0, 31, 0, 31));

    let f = Fixture::new();
    let tag_len = f.suite.algorithms().aead.tag_len();
    let (mut sender, mut receiver) = (f.tree(), f.tree());
    let unpadded = f.private(&mut sender, application(), PaddingPolicy::None);
    let content_len = unpadded.ciphertext.len() - tag_len;
    f.unprotect_private(&mut receiver, unpadded).unwrap();
    for n in [1u16, 7, 64, 1000] {
        let policy = PaddingPolicy::ToMultipleOf(NonZeroU16::new(n).unwrap());
        let message = f.private(&mut sender, application(), policy);
        let len = message.ciphertext.len() - tag_len;
        assert_eq!(len % usize::from(n), 0, "multiple of {n}");
        assert_eq!(len, content_len + policy.padding_for(content_len));
        let ac = f.unprotect_private(&mut receiver, message).unwrap();
        assert_eq!(ac.content.body, application());
    }
}

#[test]
fn non_zero_padding_is_malformed() {
    let f = Fixture::new();
    let (mut sender, mut receiver) = (f.tree(), f.tree());
    let policy = PaddingPolicy::ToMultipleOf(NonZeroU16::new(64).unwrap());
    let mut message = f.private(&mut sender, application(), policy);

    // Re-encrypt the plaintext with its last padding byte set, with the
    // key a third copy of the tree gives for the same generation.
    let sender_data = decrypt_sender_data(&f.suite, &message, &f.sender_data_secret).unwrap();
    let key = f.tree().receive_key(&f.suite, SENDER, RatchetType::Application, sender_data.generation).unwrap();
    let mut nonce = key.nonce().to_vec();
    for (n, g) in nonce.iter_mut().zip(sender_data.reuse_guard) {
        *n ^= g;
    }
    let aad = crate::messages::PrivateContentAad {
        group_id: message.group_id.clone(),
        epoch: message.epoch,
        content_type: message.content_type,
        authenticated_data: message.authenticated_data.clone(),
    }
    .to_bytes();
    let plaintext = f.suite.aead_open(key.key(), &nonce, &aad, &message.ciphertext).unwrap();
    let mut plaintext = plaintext.as_bytes().to_vec();
    assert!(PrivateMessageContent::from_plaintext(&plaintext, message.content_type).unwrap().padding > 0);
    *plaintext.last_mut().unwrap() = 1;
    message.ciphertext = f.suite.aead_seal(key.key(), &nonce, &aad, &plaintext).unwrap();
    let keys = SenderDataKeys::derive(&f.suite, f.sender_data_secret.as_bytes(), &message.ciphertext).unwrap();
    let sd_aad =
        SenderDataAad { group_id: message.group_id.clone(), epoch: message.epoch, content_type: message.content_type };
    message.encrypted_sender_data =
        f.suite.aead_seal(keys.key(), keys.nonce(), &sd_aad.to_bytes(), &sender_data.to_bytes()).unwrap();

    let err = f.unprotect_private(&mut receiver, message);
    assert!(
        matches!(
            err,
            Err(Error::Malformed(crate::codec::DecodeError::InvalidValue {
                field: "PrivateMessageContent padding",
                ..
            }))
        ),
        "{err:?}"
    );
}

#[test]
fn protect_refuses_the_wrong_wire_format() {
    let f = Fixture::new();
    let public = f.authenticated(WireFormat::PUBLIC_MESSAGE, Sender::Member(SENDER), proposal());
    let private = f.authenticated(WireFormat::PRIVATE_MESSAGE, Sender::Member(SENDER), proposal());
    let mut tree = f.tree();
    let err = protect_private(&f.suite, public.clone(), &mut tree, &f.sender_data_secret, PaddingPolicy::None);
    assert!(matches!(err, Err(Error::Usage(UsageError::WireFormatMismatch { expected: "PrivateMessage" }))));
    assert!(matches!(
        protect_public(&f.suite, private, Some(&f.context), Some(&f.membership_key)),
        Err(Error::Usage(UsageError::WireFormatMismatch { expected: "PublicMessage" }))
    ));
    // A member's PublicMessage needs the membership key.
    assert!(matches!(
        protect_public(&f.suite, public, Some(&f.context), None),
        Err(Error::Usage(UsageError::MissingMembershipKey))
    ));
}

/// `verify_with` refuses a bad signature or tag whether the signature runs
/// beside the staging (a large message, two threads) or before it, and
/// returns the staging's result only when both hold.
#[test]
fn checks_beside_staging_refuse_what_checks_before_it_refuse() {
    let f = Fixture::new();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    let single = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let key = f.signer.public.as_bytes();
    for large in [false, true] {
        let mut content = f.content(Sender::Member(SENDER), commit());
        if large {
            content.authenticated_data = vec![7; 64 * 1024];
        }
        let signed = sign_content(&f.suite, &f.signer.private, WireFormat::PUBLIC_MESSAGE, content, Some(&f.context));
        let ac = signed.unwrap().confirm(vec![9; 32]).unwrap();
        let good = protect_public(&f.suite, ac, Some(&f.context), Some(&f.membership_key)).unwrap();
        let mut bad_signature = good.clone();
        bad_signature.auth.signature[3] ^= 1;
        bad_signature.membership_tag =
            Some(membership_tag(&f.suite, &bad_signature, &f.context, &f.membership_key).unwrap());
        let mut bad_tag = good.clone();
        if let Some(tag) = &mut bad_tag.membership_tag {
            tag[0] ^= 1;
        }
        for p in [&pool, &single] {
            let run = |message: &PublicMessage| {
                let (_, checks) =
                    unprotect_public_deferred(message.clone(), &f.context, Some(&f.membership_key), |_| Some(key))
                        .unwrap();
                assert_eq!(checks.is_large(), large);
                checks.verify_with(&f.suite, Some(p), || Ok(42))
            };
            assert_eq!(run(&good).unwrap(), 42);
            assert_eq!(crypto(run(&bad_signature)), CryptoError::VerificationFailed);
            assert_eq!(crypto(run(&bad_tag)), CryptoError::VerificationFailed);
        }
    }
}

//! The Partial MLS draft's vectors (draft-ietf-mls-partial, `partial/`;
//! format in `README-upstream.md` beside them), by upstream file name. The
//! `*-spec.json` files are the subsets printed in the draft; the others the
//! full sets. Their cipher suites 8–10 are not RFC 9420 suites (provisional
//! codepoints of the generator) and are skipped, saying so.

use std::sync::Arc;

use serde::Deserialize;
use throng::crypto::{AwsLcProvider, HpkePrivateKey, Secret, SignaturePrivateKey, Suite};
use throng::internals::codec::{Decode, Encode};
use throng::internals::group::{GroupConfig, KeyPackageBundle, PskStore};
use throng::messages::UpdatePath;
use throng::messages::content::{FramedContentBody, Sender};
use throng::messages::content::{MlsMessage, MlsMessageBody};
use throng::partial::{
    AnnotatedCommit, AnnotatedWelcome, CopathHash, MembershipProof, SenderAuthenticatedGroupInfo,
    SenderAuthenticatedMessage, SenderAuthenticatedPrivateMessage, SenderAuthenticatedPublicMessage,
    SenderAuthenticatedWelcome,
};
use throng::partial::{PartialCommitOutcome, PartialGroup, PartialSavedState, path_commit_secret};

use super::{CaseError, Outcome, check_eq, hex_bytes};

/// Why suites 8–10 are not run.
const NOT_RFC9420: &str = "not an RFC 9420 cipher suite (a provisional codepoint of the vectors' generator; its algorithms are not identified with certainty)";

/// A family's runner.
type Runner = fn(&str) -> Result<Outcome, String>;

/// Recognises a Partial MLS vector file by its upstream name.
pub fn family(name: &str) -> Option<Runner> {
    let stem = name.strip_suffix(".json")?.strip_prefix("test-vector-partial-")?;
    let stem = stem.strip_suffix("-spec").unwrap_or(stem);
    match stem {
        "message-syntax" => Some(message_syntax),
        "membership-proofs" => Some(membership_proofs),
        "annotated-welcome" => Some(annotated_welcome),
        "passive-client-scenarios" => Some(passive_client_scenarios),
        "annotated-commit" => Some(annotated_commit),
        "tree-operations" => Some(tree_operations),
        "sender-authenticated-messages" => Some(sender_authenticated_messages),
        _ => None,
    }
}

/// The suite of a case, or a skip: 8–10 with the reason above, others the
/// default provider lacks as usual.
fn partial_suite(cs: u16) -> Result<Suite<'static>, CaseError> {
    if !(1..=7).contains(&cs) {
        return Err(CaseError::Unsupported(NOT_RFC9420.into()));
    }
    super::suite(cs)
}

fn run<C: for<'de> Deserialize<'de>>(
    json: &str,
    cipher_suite: impl Fn(&C) -> u16,
    check: impl Fn(&C, Suite<'static>) -> Result<(), CaseError>,
) -> Result<Outcome, String> {
    super::run_each(json, &cipher_suite, |c| check(c, partial_suite(cipher_suite(c))?))
}

/// Decodes `bytes` as `T` (all of them) and re-encodes the same bytes.
fn round_trip<T: Decode + Encode>(what: &str, bytes: &[u8]) -> Result<(), CaseError> {
    let value = T::from_bytes(bytes).map_err(|e| CaseError::Failed(format!("{what}: {e:?}")))?;
    check_eq(what, &value.to_bytes()[..], bytes)
}

#[derive(Deserialize)]
struct Syntax {
    cipher_suite: u16,
    #[serde(with = "hex_bytes")]
    copath_hash: Vec<u8>,
    #[serde(with = "hex_bytes")]
    membership_proof: Vec<u8>,
    #[serde(with = "hex_bytes")]
    sender_authenticated_welcome: Vec<u8>,
    #[serde(with = "hex_bytes")]
    sender_authenticated_group_info: Vec<u8>,
    #[serde(with = "hex_bytes")]
    sender_authenticated_public_message: Vec<u8>,
    #[serde(with = "hex_bytes")]
    sender_authenticated_private_message: Vec<u8>,
    #[serde(with = "hex_bytes")]
    annotated_welcome: Vec<u8>,
    #[serde(with = "hex_bytes")]
    annotated_commit: Vec<u8>,
}

/// Message syntax: every structure decodes and re-encodes to its bytes.
fn message_syntax(json: &str) -> Result<Outcome, String> {
    run(
        json,
        |c: &Syntax| c.cipher_suite,
        |c, _| {
            round_trip::<CopathHash>("copath_hash", &c.copath_hash)?;
            round_trip::<MembershipProof>("membership_proof", &c.membership_proof)?;
            round_trip::<SenderAuthenticatedWelcome>("sender_authenticated_welcome", &c.sender_authenticated_welcome)?;
            round_trip::<SenderAuthenticatedGroupInfo>(
                "sender_authenticated_group_info",
                &c.sender_authenticated_group_info,
            )?;
            round_trip::<SenderAuthenticatedPublicMessage>(
                "sender_authenticated_public_message",
                &c.sender_authenticated_public_message,
            )?;
            round_trip::<SenderAuthenticatedPrivateMessage>(
                "sender_authenticated_private_message",
                &c.sender_authenticated_private_message,
            )?;
            round_trip::<AnnotatedWelcome>("annotated_welcome", &c.annotated_welcome)?;
            round_trip::<AnnotatedCommit>("annotated_commit", &c.annotated_commit)
        },
    )
}

#[derive(Deserialize)]
struct Proofs {
    cipher_suite: u16,
    #[serde(with = "hex_bytes")]
    tree_hash: Vec<u8>,
    proofs: Vec<String>,
}

/// Membership proofs: each proof recomputes the tree hash, and each
/// references the same tree as the one before it.
fn membership_proofs(json: &str) -> Result<Outcome, String> {
    run(
        json,
        |c: &Proofs| c.cipher_suite,
        |c, suite| {
            let mut previous: Option<MembershipProof> = None;
            for (i, hex) in c.proofs.iter().enumerate() {
                let proof = MembershipProof::from_bytes(&super::hex(hex))?;
                check_eq(&format!("root hash of proof {i}"), &proof.root_hash(&suite)?[..], &c.tree_hash[..])?;
                proof.verify(&suite, &c.tree_hash)?;
                if let Some(p) = &previous {
                    MembershipProof::same_tree(&suite, p, &proof)?;
                }
                // A proof moved to another leaf no longer proves the tree.
                if proof.n_leaves > 1 {
                    let mut moved = proof.clone();
                    moved.leaf_index.0 ^= 1;
                    if moved.root_hash(&suite)? == c.tree_hash {
                        return Err(CaseError::Failed(format!("proof {i} also proves its sibling leaf")));
                    }
                }
                previous = Some(proof);
            }
            Ok(())
        },
    )
}

#[derive(Deserialize)]
struct ExternalPsk {
    #[serde(with = "hex_bytes")]
    psk_id: Vec<u8>,
    #[serde(with = "hex_bytes")]
    psk: Vec<u8>,
}

/// The joiner's keys and PSKs, common to the Welcome and scenario files.
#[derive(Deserialize)]
struct Joiner {
    cipher_suite: u16,
    #[serde(with = "hex_bytes")]
    key_package: Vec<u8>,
    #[serde(with = "hex_bytes")]
    signature_priv: Vec<u8>,
    #[serde(with = "hex_bytes")]
    encryption_priv: Vec<u8>,
    #[serde(with = "hex_bytes")]
    init_priv: Vec<u8>,
    external_psks: Vec<ExternalPsk>,
    #[serde(with = "hex_bytes")]
    annotated_welcome: Vec<u8>,
}

/// Joins as a partial client from the case's AnnotatedWelcome.
fn partial_join(c: &Joiner) -> Result<PartialGroup, CaseError> {
    let provider = Arc::new(AwsLcProvider);
    let MlsMessageBody::KeyPackage(key_package) = MlsMessage::from_bytes(&c.key_package)?.body else {
        return Err(CaseError::Failed("key_package is not a KeyPackage".into()));
    };
    let bundle = KeyPackageBundle::from_keys(
        &*provider,
        key_package,
        HpkePrivateKey(Secret::from_slice(&c.init_priv)),
        HpkePrivateKey(Secret::from_slice(&c.encryption_priv)),
        SignaturePrivateKey(Secret::from_slice(&c.signature_priv)),
    )?;
    let mut psks = PskStore::default();
    for p in &c.external_psks {
        psks.insert(p.psk_id.clone(), Secret::from_slice(&p.psk));
    }
    let welcome = AnnotatedWelcome::from_bytes(&c.annotated_welcome)?;
    // The vectors' KeyPackages were made at generation time (§7.3).
    let config = GroupConfig { check_lifetimes: false, ..GroupConfig::default() };
    Ok(PartialGroup::join(provider, config, &welcome, &bundle, psks)?)
}

#[derive(Deserialize)]
struct WelcomeCase {
    #[serde(flatten)]
    joiner: Joiner,
    joiner_leaf_index: u32,
    #[serde(with = "hex_bytes")]
    epoch_authenticator: Vec<u8>,
}

/// Annotated Welcome: a partial join lands at the joiner's leaf with the
/// epoch authenticator, without the ratchet tree.
fn annotated_welcome(json: &str) -> Result<Outcome, String> {
    run(
        json,
        |c: &WelcomeCase| c.joiner.cipher_suite,
        |c, _| {
            let group = partial_join(&c.joiner)?;
            check_eq("joiner leaf index", &group.own_leaf().0, &c.joiner_leaf_index)?;
            check_eq("epoch_authenticator", group.epoch_authenticator(), &c.epoch_authenticator[..])
        },
    )
}

/// An application message of the scenario files. They disagree with the
/// README's `SenderAuthenticatedMessage<PrivateMessage>` (the form the
/// message-syntax files use): the message inside is an MLSMessage
/// (version and wire format first). Both forms are accepted.
fn scenario_application(bytes: &[u8]) -> Result<SenderAuthenticatedPrivateMessage, CaseError> {
    if let Ok(m) = SenderAuthenticatedPrivateMessage::from_bytes(bytes) {
        return Ok(m);
    }
    let m = SenderAuthenticatedMessage::<MlsMessage>::from_bytes(bytes)?;
    match m.message.body {
        MlsMessageBody::PrivateMessage(message) => {
            Ok(SenderAuthenticatedMessage { message, sender_membership_proof: m.sender_membership_proof })
        }
        _ => Err(CaseError::Failed("an application message is not a PrivateMessage".into())),
    }
}

#[derive(Deserialize)]
struct ScenarioEpoch {
    proposals: Vec<String>,
    #[serde(with = "hex_bytes")]
    annotated_commit: Vec<u8>,
    application_messages: Vec<String>,
    #[serde(with = "hex_bytes")]
    epoch_authenticator: Vec<u8>,
}

#[derive(Deserialize)]
struct ScenarioCase {
    #[serde(flatten)]
    joiner: Joiner,
    #[serde(with = "hex_bytes")]
    initial_epoch_authenticator: Vec<u8>,
    epochs: Vec<ScenarioEpoch>,
}

/// Passive partial client: join, then per epoch the proposals, the
/// AnnotatedCommit and the sender-authenticated application messages
/// (each must decrypt and verify), agreeing on every epoch authenticator.
/// The application messages are sent in the epoch the commit starts.
fn passive_client_scenarios(json: &str) -> Result<Outcome, String> {
    run(
        json,
        |c: &ScenarioCase| c.joiner.cipher_suite,
        |c, _| {
            let mut group = partial_join(&c.joiner)?;
            check_eq("initial epoch_authenticator", group.epoch_authenticator(), &c.initial_epoch_authenticator[..])?;
            for (i, e) in c.epochs.iter().enumerate() {
                for p in &e.proposals {
                    group.receive_proposal(MlsMessage::from_bytes(&super::hex(p))?, None)?;
                }
                let commit = AnnotatedCommit::from_bytes(&e.annotated_commit)?;
                let outcome = group.process_commit(&commit)?;
                if !matches!(outcome, PartialCommitOutcome::Advanced { .. }) {
                    return Err(CaseError::Failed(format!("epoch {i}: {outcome:?}")));
                }
                check_eq(
                    &format!("epoch {i} epoch_authenticator"),
                    group.epoch_authenticator(),
                    &e.epoch_authenticator[..],
                )?;
                for m in &e.application_messages {
                    group.process_application(scenario_application(&super::hex(m))?)?;
                }
            }
            Ok(())
        },
    )
}

#[derive(Deserialize)]
struct PathSecretEntry {
    node: u32,
    #[serde(with = "hex_bytes")]
    path_secret: Vec<u8>,
    #[serde(with = "hex_bytes")]
    encryption_priv: Vec<u8>,
}

#[derive(Deserialize)]
struct SavedState {
    #[serde(with = "hex_bytes")]
    group_id: Vec<u8>,
    epoch: u64,
    #[serde(with = "hex_bytes")]
    tree_hash: Vec<u8>,
    #[serde(with = "hex_bytes")]
    confirmed_transcript_hash: Vec<u8>,
    #[serde(with = "hex_bytes")]
    interim_transcript_hash: Vec<u8>,
    #[serde(with = "hex_bytes")]
    init_secret: Vec<u8>,
    #[serde(with = "hex_bytes")]
    encryption_secret: Vec<u8>,
    #[serde(with = "hex_bytes")]
    sender_data_secret: Vec<u8>,
    #[serde(with = "hex_bytes")]
    membership_key: Vec<u8>,
    receiver_leaf_index: u32,
    direct_path_secrets: Vec<PathSecretEntry>,
}

impl SavedState {
    fn to_state(&self) -> PartialSavedState {
        PartialSavedState {
            group_id: self.group_id.clone(),
            epoch: self.epoch,
            tree_hash: self.tree_hash.clone(),
            confirmed_transcript_hash: self.confirmed_transcript_hash.clone(),
            interim_transcript_hash: self.interim_transcript_hash.clone(),
            init_secret: self.init_secret.clone(),
            encryption_secret: self.encryption_secret.clone(),
            sender_data_secret: self.sender_data_secret.clone(),
            membership_key: self.membership_key.clone(),
            leaf_index: self.receiver_leaf_index,
            direct_path_secrets: self
                .direct_path_secrets
                .iter()
                .map(|e| (e.node, e.path_secret.clone(), e.encryption_priv.clone()))
                .collect(),
        }
    }
}

#[derive(Deserialize)]
struct CommitCase {
    cipher_suite: u16,
    state_before: SavedState,
    proposals: Vec<String>,
    #[serde(with = "hex_bytes")]
    annotated_commit: Vec<u8>,
    #[serde(with = "hex_bytes")]
    tree_hash_after: Vec<u8>,
    #[serde(with = "hex_bytes")]
    commit_secret: Vec<u8>,
    #[serde(with = "hex_bytes")]
    epoch_authenticator_after: Vec<u8>,
    state_after: SavedState,
}

/// The width of the tree before an annotated commit: the committer's
/// proof before has it (a new member's commit has none; then the width
/// after, which an external commit changes only when it adds a level).
fn tree_width_before(commit: &AnnotatedCommit) -> Result<u32, CaseError> {
    Ok(commit.sender_membership_proof.as_ref().unwrap_or(&commit.sender_membership_proof_after).n_leaves)
}

/// Annotated Commit: from `state_before` (restored without the member's
/// own proof, which the vector does not give), the commit moves the
/// partial client to `state_after`. The states omit the receiver's leaf
/// private key, so a path's commit secret cannot be decrypted by anyone:
/// the vector's `commit_secret` is supplied, and everything else (proofs,
/// the committer's signature, membership tag or decryption, proposals, key
/// schedule, confirmation tag, the state after) is checked. Path
/// decryption is checked by the passive-client scenario and by
/// `engine/tests/partial.rs`.
fn annotated_commit(json: &str) -> Result<Outcome, String> {
    run(
        json,
        |c: &CommitCase| c.cipher_suite,
        |c, _| {
            let provider = Arc::new(AwsLcProvider);
            let commit = AnnotatedCommit::from_bytes(&c.annotated_commit)?;
            check_eq("tree_hash_after", &commit.tree_hash_after[..], &c.tree_hash_after[..])?;
            let mut group = PartialGroup::from_saved_state(
                provider,
                GroupConfig { check_lifetimes: false, ..GroupConfig::default() },
                throng::crypto::CipherSuite(c.cipher_suite),
                &c.state_before.to_state(),
                tree_width_before(&commit)?,
                None,
            )?;
            for p in &c.proposals {
                group.receive_proposal(MlsMessage::from_bytes(&super::hex(p))?, None)?;
            }
            let outcome = group.process_commit_with_commit_secret(&commit, &c.commit_secret)?;
            if !matches!(outcome, PartialCommitOutcome::Advanced { .. }) {
                return Err(CaseError::Failed(format!("{outcome:?}")));
            }
            check_eq("epoch_authenticator_after", group.epoch_authenticator(), &c.epoch_authenticator_after[..])?;
            let got = group.vector_state();
            let want = &c.state_after;
            check_eq("epoch", &got.epoch, &want.epoch)?;
            check_eq("tree_hash", &got.tree_hash, &want.tree_hash)?;
            check_eq("confirmed_transcript_hash", &got.confirmed_transcript_hash, &want.confirmed_transcript_hash)?;
            check_eq("interim_transcript_hash", &got.interim_transcript_hash, &want.interim_transcript_hash)?;
            check_eq("init_secret", &got.init_secret, &want.init_secret)?;
            check_eq("sender_data_secret", &got.sender_data_secret, &want.sender_data_secret)?;
            check_eq("membership_key", &got.membership_key, &want.membership_key)?;
            check_eq("receiver_leaf_index", &got.leaf_index, &want.receiver_leaf_index)
            // `state_after`'s direct-path keys come from the path secrets,
            // which the supplied commit secret does not give back.
        },
    )
}

#[derive(Deserialize)]
struct TreeOperation {
    cipher_suite: u16,
    #[serde(with = "hex_bytes")]
    update_path: Vec<u8>,
    #[serde(with = "hex_bytes")]
    tree_hash_after: Vec<u8>,
    resolution_index: u32,
    #[serde(with = "hex_bytes")]
    sender_membership_proof_after: Vec<u8>,
    #[serde(with = "hex_bytes")]
    receiver_membership_proof_after: Vec<u8>,
    receiver_path_state: Vec<PathSecretEntry>,
    #[serde(with = "hex_bytes")]
    commit_secret: Vec<u8>,
}

/// Partial UpdatePath handling: the annotated ciphertext opens with the
/// receiver's retained key and the path secrets above lead to the commit
/// secret. The generator's HPKE context is the tree hash after (see
/// `throng::partial::path_commit_secret`).
fn tree_operations(json: &str) -> Result<Outcome, String> {
    run(
        json,
        |c: &TreeOperation| c.cipher_suite,
        |c, suite| {
            let path = UpdatePath::from_bytes(&c.update_path)?;
            let sender = MembershipProof::from_bytes(&c.sender_membership_proof_after)?;
            let receiver = MembershipProof::from_bytes(&c.receiver_membership_proof_after)?;
            receiver.verify(&suite, &c.tree_hash_after)?;
            let state: Vec<(u32, Vec<u8>, Vec<u8>)> = c
                .receiver_path_state
                .iter()
                .map(|e| (e.node, e.path_secret.clone(), e.encryption_priv.clone()))
                .collect();
            let secret =
                path_commit_secret(&suite, &path, &sender, &receiver, c.resolution_index, &c.tree_hash_after, &state)?;
            check_eq("commit_secret", secret.as_bytes(), &c.commit_secret[..])?;
            // Another ciphertext index does not give the same secret.
            let wrong = path_commit_secret(
                &suite,
                &path,
                &sender,
                &receiver,
                c.resolution_index + 1,
                &c.tree_hash_after,
                &state,
            );
            if wrong.is_ok_and(|s| s.as_bytes() == &c.commit_secret[..]) {
                return Err(CaseError::Failed("a wrong resolution_index gave the commit secret".into()));
            }
            Ok(())
        },
    )
}

#[derive(Deserialize)]
struct SenderAuthenticated {
    cipher_suite: u16,
    message_type: String,
    #[serde(with = "hex_bytes")]
    sender_authenticated_message: Vec<u8>,
}

/// Sender-authenticated messages: the proof is well formed, proves the
/// message's sender, and carries its leaf. The signature itself covers the
/// GroupContext of the epoch (RFC 9420 §6.1), which these vectors do not
/// give ("the current partial client state" is not in the file), so it
/// cannot be checked here; `engine/tests/partial.rs` checks signatures
/// of sender-authenticated messages made by throng groups.
fn sender_authenticated_messages(json: &str) -> Result<Outcome, String> {
    run(
        json,
        |c: &SenderAuthenticated| c.cipher_suite,
        |c, suite| {
            let m = SenderAuthenticatedPublicMessage::from_bytes(&c.sender_authenticated_message)?;
            check_eq("re-encoding", &m.to_bytes()[..], &c.sender_authenticated_message[..])?;
            let proof = &m.sender_membership_proof;
            let root = proof.root_hash(&suite)?;
            let Sender::Member(leaf) = m.message.content.sender else {
                return Err(CaseError::Failed("the sender is not a member".into()));
            };
            proof.verify_member(&suite, &root, leaf)?;
            let kind = match &m.message.content.body {
                FramedContentBody::Commit(_) => "PublicMessageCommit",
                FramedContentBody::Proposal(_) => "PublicMessageProposal",
                FramedContentBody::Application(_) => "PublicMessageApplication",
            };
            check_eq("message_type", kind, c.message_type.as_str())
        },
    )
}

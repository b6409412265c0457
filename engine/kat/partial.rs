//! The Partial MLS draft's vectors (draft-ietf-mls-partial, `partial/`;
//! format in `README-upstream.md` beside them), by upstream file name. The
//! `*-spec.json` files are the subsets printed in the draft; the others the
//! full sets. Their cipher suites 8–10 are not RFC 9420 suites (provisional
//! codepoints of the generator) and are skipped, saying so.

use serde::Deserialize;
use throng::crypto::Suite;
use throng::internals::codec::{Decode, Encode};
use throng::partial::{
    AnnotatedCommit, AnnotatedWelcome, CopathHash, MembershipProof, SenderAuthenticatedGroupInfo,
    SenderAuthenticatedPrivateMessage, SenderAuthenticatedPublicMessage, SenderAuthenticatedWelcome,
};

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

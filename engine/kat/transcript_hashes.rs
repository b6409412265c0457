//! `transcript-hashes.json`: the confirmed and interim transcript hashes
//! (RFC 9420 §8.2) a Commit's AuthenticatedContent produces, and its
//! confirmation tag (§6.1).

use serde::Deserialize;
use throng::crypto::{Secret, Suite};
use throng::internals::codec::Decode;
use throng::internals::schedule::TranscriptHashes;
use throng::internals::schedule::transcript::{
    confirmed_transcript_hash, interim_transcript_hash, verify_confirmation_tag,
};
use throng::messages::{AuthenticatedContent, ContentType};

use super::{CaseError, Outcome, check, check_eq, hex_bytes};

#[derive(Deserialize)]
struct Case {
    cipher_suite: u16,
    #[serde(with = "hex_bytes")]
    confirmation_key: Vec<u8>,
    #[serde(with = "hex_bytes")]
    authenticated_content: Vec<u8>,
    #[serde(with = "hex_bytes")]
    interim_transcript_hash_before: Vec<u8>,
    #[serde(with = "hex_bytes")]
    confirmed_transcript_hash_after: Vec<u8>,
    #[serde(with = "hex_bytes")]
    interim_transcript_hash_after: Vec<u8>,
}

pub fn run(json: &str) -> Result<Outcome, String> {
    super::run_suite_cases(json, |c: &Case| c.cipher_suite, check_case)
}

fn check_case(c: &Case, suite: Suite<'static>) -> Result<(), CaseError> {
    let ac = AuthenticatedContent::from_bytes(&c.authenticated_content)?;
    check_eq("content type", &ac.content.content_type(), &ContentType::Commit)?;
    let tag = ac.auth.confirmation_tag.as_deref().ok_or_else(|| CaseError::Failed("no confirmation_tag".into()))?;

    // The tag is a MAC over the confirmed hash the vector gives (§6.1).
    let confirmation_key = Secret::from_slice(&c.confirmation_key);
    let verified = verify_confirmation_tag(&suite, &confirmation_key, &c.confirmed_transcript_hash_after, tag);
    check(verified.is_ok(), || format!("confirmation_tag does not verify: {verified:?}"))?;

    let input = ac.confirmed_transcript_hash_input();
    let confirmed = confirmed_transcript_hash(&suite, &c.interim_transcript_hash_before, &input);
    check_eq("confirmed_transcript_hash_after", &confirmed, &c.confirmed_transcript_hash_after)?;
    let interim = interim_transcript_hash(&suite, &confirmed, tag);
    check_eq("interim_transcript_hash_after", &interim, &c.interim_transcript_hash_after)?;

    // The same step through the pair a group carries.
    let before = TranscriptHashes::from_parts(vec![], c.interim_transcript_hash_before.clone());
    let after = TranscriptHashes::new(&suite, before.next_confirmed(&suite, &[&input]), tag);
    check_eq("TranscriptHashes confirmed", after.confirmed(), &c.confirmed_transcript_hash_after[..])?;
    check_eq("TranscriptHashes interim", after.interim(), &c.interim_transcript_hash_after[..])
}

//! `psk_secret.json`: combining external PSKs into psk_secret (RFC 9420 §8.4).

use serde::Deserialize;
use throng::crypto::{Secret, Suite};
use throng::internals::schedule::psk_secret;
use throng::messages::{PreSharedKeyId, Psk};

use super::{CaseError, Outcome, check};

#[derive(Deserialize)]
struct Case {
    cipher_suite: u16,
    psks: Vec<PskEntry>,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    psk_secret: Vec<u8>,
}

#[derive(Deserialize)]
struct PskEntry {
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    psk_id: Vec<u8>,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    psk: Vec<u8>,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    psk_nonce: Vec<u8>,
}

pub fn run(json: &str) -> Result<Outcome, String> {
    super::run_suite_cases(json, |c: &Case| c.cipher_suite, check_case)
}

fn check_case(c: &Case, suite: Suite<'static>) -> Result<(), CaseError> {
    // The vectors' PSKs are external ones (test-vectors README, "Pre-Shared Keys").
    let psks: Vec<(PreSharedKeyId, Secret)> = c
        .psks
        .iter()
        .map(|p| {
            let id = PreSharedKeyId { psk: Psk::External { psk_id: p.psk_id.clone() }, psk_nonce: p.psk_nonce.clone() };
            (id, Secret::from_slice(&p.psk))
        })
        .collect();
    let got = psk_secret(&suite, psks.iter().map(|(id, psk)| (id, psk)))?;
    let got = got.as_secret().as_bytes();
    check(got == c.psk_secret.as_slice(), || {
        format!("psk_secret over {} PSKs: got {}, want {}", psks.len(), hex::encode(got), hex::encode(&c.psk_secret))
    })
}

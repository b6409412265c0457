//! `psk_secret.json`: combining external PSKs into psk_secret (RFC 9420 §8.4).

use serde::Deserialize;
use throng::crypto::Secret;
use throng::messages::{PreSharedKeyId, Psk};
use throng::schedule::psk_secret;

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
    let cases: Vec<Case> = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let mut out = Outcome::default();
    for (i, c) in cases.iter().enumerate() {
        out.record(i, c.cipher_suite, check_case(c));
    }
    Ok(out)
}

fn check_case(c: &Case) -> Result<(), CaseError> {
    let suite = super::suite(c.cipher_suite)?;
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

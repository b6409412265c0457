//! `key-schedule.json`: the epoch key schedule of RFC 9420 §8 walked through
//! every epoch of each suite, with the GroupContext encoding (§8.1),
//! external_pub and the exporter (§8.5).

use serde::Deserialize;
use throng::crypto::{CipherSuite, Secret, Suite};
use throng::internals::codec::Encode;
use throng::internals::schedule::{CommitSecret, InitSecret, PskSecret, derive_epoch};
use throng::messages::{GroupContext, ProtocolVersion};

use super::{CaseError, Outcome, check};

#[derive(Deserialize)]
struct Case {
    cipher_suite: u16,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    group_id: Vec<u8>,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    initial_init_secret: Vec<u8>,
    epochs: Vec<Epoch>,
}

#[derive(Deserialize)]
struct Epoch {
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    tree_hash: Vec<u8>,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    commit_secret: Vec<u8>,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    psk_secret: Vec<u8>,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    confirmed_transcript_hash: Vec<u8>,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    group_context: Vec<u8>,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    joiner_secret: Vec<u8>,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    welcome_secret: Vec<u8>,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    init_secret: Vec<u8>,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    sender_data_secret: Vec<u8>,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    encryption_secret: Vec<u8>,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    exporter_secret: Vec<u8>,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    epoch_authenticator: Vec<u8>,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    external_secret: Vec<u8>,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    confirmation_key: Vec<u8>,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    membership_key: Vec<u8>,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    resumption_psk: Vec<u8>,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    external_pub: Vec<u8>,
    exporter: Exporter,
}

#[derive(Deserialize)]
struct Exporter {
    /// A string, used as the label's bytes as written: the README types it
    /// `/* string */`, unlike the hex-encoded fields around it.
    label: String,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    context: Vec<u8>,
    length: u32,
    #[serde(deserialize_with = "super::hex_bytes::deserialize")]
    secret: Vec<u8>,
}

pub fn run(json: &str) -> Result<Outcome, String> {
    super::run_suite_cases(json, |c: &Case| c.cipher_suite, check_case)
}

/// Byte strings compared and, on a mismatch, shown in hex.
fn check_bytes(what: &str, got: &[u8], want: &[u8]) -> Result<(), CaseError> {
    check(got == want, || format!("{what}: got {}, want {}", hex::encode(got), hex::encode(want)))
}

fn check_case(c: &Case, suite: Suite<'static>) -> Result<(), CaseError> {
    let mut init_secret = InitSecret::new(Secret::from_slice(&c.initial_init_secret));
    for (n, e) in c.epochs.iter().enumerate() {
        init_secret = check_epoch(&suite, c, n as u64, e, &init_secret).map_err(|err| match err {
            CaseError::Failed(msg) => CaseError::Failed(format!("epoch {n}: {msg}")),
            other => other,
        })?;
    }
    Ok(())
}

/// Checks one epoch and returns the init_secret it hands to the next.
fn check_epoch(
    suite: &Suite<'_>,
    c: &Case,
    epoch: u64,
    e: &Epoch,
    init_secret: &InitSecret,
) -> Result<InitSecret, CaseError> {
    let group_context = GroupContext {
        version: ProtocolVersion::MLS10,
        cipher_suite: CipherSuite(c.cipher_suite),
        group_id: c.group_id.clone(),
        epoch,
        tree_hash: e.tree_hash.clone(),
        confirmed_transcript_hash: e.confirmed_transcript_hash.clone(),
        extensions: Vec::new(),
    }
    .to_bytes();
    check_bytes("group_context", &group_context, &e.group_context)?;

    let d = derive_epoch(
        suite,
        init_secret,
        &CommitSecret::new(Secret::from_slice(&e.commit_secret)),
        &PskSecret::new(Secret::from_slice(&e.psk_secret)),
        &group_context,
    )?;
    let s = &d.epoch_secrets;
    check_bytes("joiner_secret", d.joiner_secret.as_secret().as_bytes(), &e.joiner_secret)?;
    check_bytes("welcome_secret", d.welcome_secret.as_secret().as_bytes(), &e.welcome_secret)?;
    check_bytes("init_secret", s.init_secret().as_secret().as_bytes(), &e.init_secret)?;
    check_bytes("sender_data_secret", s.sender_data_secret().as_bytes(), &e.sender_data_secret)?;
    let encryption_secret = s.encryption_secret().map(Secret::as_bytes).unwrap_or_default();
    check_bytes("encryption_secret", encryption_secret, &e.encryption_secret)?;
    check_bytes("exporter_secret", s.exporter_secret().as_bytes(), &e.exporter_secret)?;
    check_bytes("epoch_authenticator", s.epoch_authenticator().as_bytes(), &e.epoch_authenticator)?;
    check_bytes("external_secret", s.external_secret().as_bytes(), &e.external_secret)?;
    check_bytes("confirmation_key", s.confirmation_key().as_bytes(), &e.confirmation_key)?;
    check_bytes("membership_key", s.membership_key().as_bytes(), &e.membership_key)?;
    check_bytes("resumption_psk", s.resumption_psk().as_bytes(), &e.resumption_psk)?;
    check_bytes("external_pub", s.external_pub(suite)?.as_bytes(), &e.external_pub)?;

    let length = u16::try_from(e.exporter.length)
        .map_err(|_| CaseError::Failed(format!("exporter length {} exceeds uint16", e.exporter.length)))?;
    let exported = s.export(suite, e.exporter.label.as_bytes(), &e.exporter.context, length)?;
    check_bytes("exporter.secret", exported.as_bytes(), &e.exporter.secret)?;

    Ok(s.init_secret().clone())
}

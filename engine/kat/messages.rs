//! `messages.json`: every wire struct decodes from the vector's bytes as
//! the right message and re-encodes to exactly those bytes.

use serde::Deserialize;
use throng::internals::codec::{Decode, Encode};
use throng::messages::{
    Add, Commit, ContentType, ExternalInit, GroupContextExtensions, GroupSecrets, MlsMessage, MlsMessageBody,
    PreSharedKey, RatchetTreeExtension, ReInit, Remove, Update,
};

use super::{CaseError, Outcome, check, check_eq, hex_bytes};

#[derive(Deserialize)]
struct Case {
    #[serde(with = "hex_bytes")]
    mls_welcome: Vec<u8>,
    #[serde(with = "hex_bytes")]
    mls_group_info: Vec<u8>,
    #[serde(with = "hex_bytes")]
    mls_key_package: Vec<u8>,
    #[serde(with = "hex_bytes")]
    ratchet_tree: Vec<u8>,
    #[serde(with = "hex_bytes")]
    group_secrets: Vec<u8>,
    #[serde(with = "hex_bytes")]
    add_proposal: Vec<u8>,
    #[serde(with = "hex_bytes")]
    update_proposal: Vec<u8>,
    #[serde(with = "hex_bytes")]
    remove_proposal: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pre_shared_key_proposal: Vec<u8>,
    #[serde(with = "hex_bytes")]
    re_init_proposal: Vec<u8>,
    #[serde(with = "hex_bytes")]
    external_init_proposal: Vec<u8>,
    #[serde(with = "hex_bytes")]
    group_context_extensions_proposal: Vec<u8>,
    #[serde(with = "hex_bytes")]
    commit: Vec<u8>,
    #[serde(with = "hex_bytes")]
    public_message_application: Vec<u8>,
    #[serde(with = "hex_bytes")]
    public_message_proposal: Vec<u8>,
    #[serde(with = "hex_bytes")]
    public_message_commit: Vec<u8>,
    #[serde(with = "hex_bytes")]
    private_message: Vec<u8>,
}

pub fn run(json: &str) -> Result<Outcome, String> {
    super::run_cases(json, check_case)
}

/// Decodes `bytes` as a `T` (all of it), re-encodes, and compares.
fn round_trip<T: Decode + Encode>(what: &str, bytes: &[u8]) -> Result<T, CaseError> {
    let value = T::from_bytes(bytes).map_err(|e| CaseError::Failed(format!("{what}: decode: {e}")))?;
    let again = value.to_bytes();
    check(again == bytes, || format!("{what}: re-encoding differs ({} bytes, want {})", again.len(), bytes.len()))?;
    Ok(value)
}

/// Which `MLSMessage` arm a field must hold.
#[derive(Debug, PartialEq)]
enum Kind {
    Welcome,
    GroupInfo,
    KeyPackage,
    Public(ContentType),
    Private,
}

fn kind(m: &MlsMessage) -> Kind {
    match &m.body {
        MlsMessageBody::Welcome(_) => Kind::Welcome,
        MlsMessageBody::GroupInfo(_) => Kind::GroupInfo,
        MlsMessageBody::KeyPackage(_) => Kind::KeyPackage,
        MlsMessageBody::PublicMessage(p) => Kind::Public(p.content.content_type()),
        MlsMessageBody::PrivateMessage(_) => Kind::Private,
    }
}

fn message(what: &str, bytes: &[u8], want: Kind) -> Result<(), CaseError> {
    let m: MlsMessage = round_trip(what, bytes)?;
    check_eq(what, &kind(&m), &want)
}

fn check_case(c: &Case) -> Result<(), CaseError> {
    message("mls_welcome", &c.mls_welcome, Kind::Welcome)?;
    message("mls_group_info", &c.mls_group_info, Kind::GroupInfo)?;
    message("mls_key_package", &c.mls_key_package, Kind::KeyPackage)?;
    round_trip::<RatchetTreeExtension>("ratchet_tree", &c.ratchet_tree)?;
    round_trip::<GroupSecrets>("group_secrets", &c.group_secrets)?;
    round_trip::<Add>("add_proposal", &c.add_proposal)?;
    round_trip::<Update>("update_proposal", &c.update_proposal)?;
    round_trip::<Remove>("remove_proposal", &c.remove_proposal)?;
    round_trip::<PreSharedKey>("pre_shared_key_proposal", &c.pre_shared_key_proposal)?;
    round_trip::<ReInit>("re_init_proposal", &c.re_init_proposal)?;
    round_trip::<ExternalInit>("external_init_proposal", &c.external_init_proposal)?;
    round_trip::<GroupContextExtensions>("group_context_extensions_proposal", &c.group_context_extensions_proposal)?;
    round_trip::<Commit>("commit", &c.commit)?;
    message("public_message_application", &c.public_message_application, Kind::Public(ContentType::Application))?;
    message("public_message_proposal", &c.public_message_proposal, Kind::Public(ContentType::Proposal))?;
    message("public_message_commit", &c.public_message_commit, Kind::Public(ContentType::Commit))?;
    message("private_message", &c.private_message, Kind::Private)?;
    Ok(())
}

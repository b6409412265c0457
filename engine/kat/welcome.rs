//! `welcome.json`: decrypting another implementation's Welcome and checking
//! its GroupInfo signature and confirmation tag (RFC 9420 §12.4.3.1).

use serde::Deserialize;
use throng::crypto::{HpkePrivateKey, Secret, Suite};
use throng::internals::codec::Decode;
use throng::internals::group::{KeyPackageBundle, PskStore, open_welcome};
use throng::internals::schedule::transcript::verify_confirmation_tag;
use throng::messages::content::{MlsMessage, MlsMessageBody};

use super::{CaseError, Outcome, hex_bytes};

#[derive(Deserialize)]
struct Case {
    cipher_suite: u16,
    #[serde(with = "hex_bytes")]
    init_priv: Vec<u8>,
    #[serde(with = "hex_bytes")]
    signer_pub: Vec<u8>,
    #[serde(with = "hex_bytes")]
    key_package: Vec<u8>,
    #[serde(with = "hex_bytes")]
    welcome: Vec<u8>,
}

pub fn run(json: &str) -> Result<Outcome, String> {
    super::run_suite_cases(json, |c: &Case| c.cipher_suite, check_case)
}

fn check_case(c: &Case, suite: Suite<'static>) -> Result<(), CaseError> {
    let MlsMessageBody::KeyPackage(key_package) = MlsMessage::from_bytes(&c.key_package)?.body else {
        return Err(CaseError::Failed("key_package is not a KeyPackage".into()));
    };
    let MlsMessageBody::Welcome(welcome) = MlsMessage::from_bytes(&c.welcome)?.body else {
        return Err(CaseError::Failed("welcome is not a Welcome".into()));
    };
    // The vector gives no leaf or signature key: only the init key matters
    // here, so the bundle carries throwaway ones for the others.
    let bundle = KeyPackageBundle::for_welcome_only(key_package, HpkePrivateKey(Secret::from_slice(&c.init_priv)));
    let opened = open_welcome(&suite, &welcome, &bundle, &PskStore::default())?;
    opened.group_info.verify_signature(&suite, &c.signer_pub)?;
    let (info, _, epoch) = opened.into_epoch(&suite)?;
    verify_confirmation_tag(
        &suite,
        epoch.confirmation_key(),
        &info.group_context.confirmed_transcript_hash,
        &info.confirmation_tag,
    )?;
    Ok(())
}

//! The passive-client families (`passive-client-welcome.json`,
//! `passive-client-handling-commit.json`, `passive-client-random.json`):
//! join another implementation's group by Welcome, then follow every
//! commit, agreeing on each epoch authenticator (RFC 9420 §12.4).

use std::sync::Arc;

use serde::Deserialize;
use throng::crypto::{AwsLcProvider, HpkePrivateKey, Secret, SignaturePrivateKey, Suite};
use throng::internals::codec::Decode;
use throng::internals::group::{Group, GroupConfig, KeyPackageBundle, Processed, PskStore};
use throng::messages::RatchetTreeExtension as RatchetTreeExt;
use throng::messages::content::{MlsMessage, MlsMessageBody};

use super::{CaseError, Outcome, check_eq, hex_bytes};

#[derive(Deserialize)]
struct ExternalPsk {
    #[serde(with = "hex_bytes")]
    psk_id: Vec<u8>,
    #[serde(with = "hex_bytes")]
    psk: Vec<u8>,
}

#[derive(Deserialize)]
struct Epoch {
    proposals: Vec<String>,
    #[serde(with = "hex_bytes")]
    commit: Vec<u8>,
    #[serde(with = "hex_bytes")]
    epoch_authenticator: Vec<u8>,
}

#[derive(Deserialize)]
struct Case {
    cipher_suite: u16,
    external_psks: Vec<ExternalPsk>,
    #[serde(with = "hex_bytes")]
    key_package: Vec<u8>,
    #[serde(with = "hex_bytes")]
    signature_priv: Vec<u8>,
    #[serde(with = "hex_bytes")]
    encryption_priv: Vec<u8>,
    #[serde(with = "hex_bytes")]
    init_priv: Vec<u8>,
    #[serde(with = "hex_bytes")]
    welcome: Vec<u8>,
    ratchet_tree: Option<String>,
    #[serde(with = "hex_bytes")]
    initial_epoch_authenticator: Vec<u8>,
    epochs: Vec<Epoch>,
}

pub fn run(json: &str) -> Result<Outcome, String> {
    super::run_suite_cases(json, |c: &Case| c.cipher_suite, check_case)
}

fn check_case(c: &Case, _: Suite<'static>) -> Result<(), CaseError> {
    let provider = Arc::new(AwsLcProvider);
    let MlsMessageBody::KeyPackage(key_package) = MlsMessage::from_bytes(&c.key_package)?.body else {
        return Err(CaseError::Failed("key_package is not a KeyPackage".into()));
    };
    let MlsMessageBody::Welcome(welcome) = MlsMessage::from_bytes(&c.welcome)?.body else {
        return Err(CaseError::Failed("welcome is not a Welcome".into()));
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
    let tree = c.ratchet_tree.as_deref().map(|t| RatchetTreeExt::from_bytes(&super::hex(t))).transpose()?;
    // The vectors' KeyPackages were made at generation time; their
    // lifetimes need not cover today (§7.3 makes this check RECOMMENDED).
    let config = GroupConfig { check_lifetimes: false, ..GroupConfig::default() };
    let mut group = Group::join(provider, config, &welcome, &bundle, tree.as_ref(), psks)?;
    check_eq("initial epoch authenticator", group.epoch_authenticator(), &c.initial_epoch_authenticator[..])?;

    for (e, epoch) in c.epochs.iter().enumerate() {
        for p in &epoch.proposals {
            match group.process_message(MlsMessage::from_bytes(&super::hex(p))?)? {
                Processed::Proposal { .. } => {}
                other => return Err(CaseError::Failed(format!("epoch {e}: expected a proposal, got {other:?}"))),
            }
        }
        match group.process_message(MlsMessage::from_bytes(&epoch.commit)?)? {
            Processed::Commit(staged) => group.merge_staged_commit(*staged)?,
            other => return Err(CaseError::Failed(format!("epoch {e}: expected a commit, got {other:?}"))),
        }
        check_eq(&format!("epoch {e} authenticator"), group.epoch_authenticator(), &epoch.epoch_authenticator[..])?;
    }
    Ok(())
}

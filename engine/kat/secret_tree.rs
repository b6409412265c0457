//! `secret-tree.json`: sender data keys (RFC 9420 §6.3.2) and every listed
//! generation of every leaf's handshake and application ratchets (§9, §9.1).

use serde::Deserialize;
use throng::crypto::{Secret, Suite};
use throng::internals::framing::SenderDataKeys;
use throng::internals::secret_tree::{RatchetType, SecretTree, SecretTreeConfig};
use throng::internals::tree_math::LeafIndex;

use super::{CaseError, Outcome, check_eq, hex_bytes};

#[derive(Deserialize)]
struct Case {
    cipher_suite: u16,
    sender_data: SenderData,
    #[serde(with = "hex_bytes")]
    encryption_secret: Vec<u8>,
    leaves: Vec<Vec<Generation>>,
}

#[derive(Deserialize)]
struct SenderData {
    #[serde(with = "hex_bytes")]
    sender_data_secret: Vec<u8>,
    #[serde(with = "hex_bytes")]
    ciphertext: Vec<u8>,
    #[serde(with = "hex_bytes")]
    key: Vec<u8>,
    #[serde(with = "hex_bytes")]
    nonce: Vec<u8>,
}

#[derive(Deserialize)]
struct Generation {
    generation: u32,
    #[serde(with = "hex_bytes")]
    handshake_key: Vec<u8>,
    #[serde(with = "hex_bytes")]
    handshake_nonce: Vec<u8>,
    #[serde(with = "hex_bytes")]
    application_key: Vec<u8>,
    #[serde(with = "hex_bytes")]
    application_nonce: Vec<u8>,
}

pub fn run(json: &str) -> Result<Outcome, String> {
    super::run_suite_cases(json, |c: &Case| c.cipher_suite, check_case)
}

fn check_case(c: &Case, suite: Suite<'static>) -> Result<(), CaseError> {
    let sd = &c.sender_data;
    let keys = SenderDataKeys::derive(&suite, &sd.sender_data_secret, &sd.ciphertext)?;
    check_eq("sender_data key", keys.key(), sd.key.as_slice())?;
    check_eq("sender_data nonce", keys.nonce(), sd.nonce.as_slice())?;

    // The vectors ask for generations in increasing order per leaf (0, then
    // 15): the default window reaches far enough ahead. Say so if a future
    // file does not fit, rather than failing obscurely.
    let config = SecretTreeConfig::default();
    let n_leaves = u32::try_from(c.leaves.len())?;
    let mut tree = SecretTree::new(&suite, Secret::from_slice(&c.encryption_secret), n_leaves, config)?;
    for (leaf, generations) in c.leaves.iter().enumerate() {
        let leaf = LeafIndex(u32::try_from(leaf)?);
        for g in generations {
            let at = |what: &str| format!("leaf {} generation {} {what}", leaf.0, g.generation);
            let hs = tree
                .receive_key(&suite, leaf, RatchetType::Handshake, g.generation)
                .map_err(|e| CaseError::Failed(format!("{}: {e}", at("handshake"))))?;
            check_eq(&at("handshake_key"), hs.key(), g.handshake_key.as_slice())?;
            check_eq(&at("handshake_nonce"), hs.nonce(), g.handshake_nonce.as_slice())?;
            let app = tree
                .receive_key(&suite, leaf, RatchetType::Application, g.generation)
                .map_err(|e| CaseError::Failed(format!("{}: {e}", at("application"))))?;
            check_eq(&at("application_key"), app.key(), g.application_key.as_slice())?;
            check_eq(&at("application_nonce"), app.nonce(), g.application_nonce.as_slice())?;
        }
    }
    Ok(())
}

//! RFC 9605 Appendix C (`test-vectors/sframe/test-vectors.json`): header
//! encoding, the AES-CTR + HMAC AEAD (suites 1–3, and 6–8 of the AES-256-CTR
//! extension), and full SFrame encryption from a base key. The file is one
//! object with a list per group; every vector object is one case.

use serde::Deserialize;
use throng::sframe::{Header, SframeError, SframeKey, SframeSuite, derivation};

use super::{CaseError, Outcome, check, check_eq, hex_bytes};

#[derive(Deserialize)]
struct File {
    header: Vec<HeaderCase>,
    aes_ctr_hmac: Vec<CtrHmacCase>,
    #[serde(default)]
    aes_256_ctr_hmac: Vec<CtrHmacCase>,
    sframe: Vec<SframeCase>,
}

#[derive(Deserialize)]
struct HeaderCase {
    kid: u64,
    ctr: u64,
    #[serde(with = "hex_bytes")]
    encoded: Vec<u8>,
}

#[derive(Deserialize)]
struct CtrHmacCase {
    cipher_suite: u16,
    #[serde(with = "hex_bytes")]
    key: Vec<u8>,
    #[serde(with = "hex_bytes")]
    enc_key: Vec<u8>,
    #[serde(with = "hex_bytes")]
    auth_key: Vec<u8>,
    #[serde(with = "hex_bytes")]
    nonce: Vec<u8>,
    #[serde(with = "hex_bytes")]
    aad: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pt: Vec<u8>,
    #[serde(with = "hex_bytes")]
    ct: Vec<u8>,
}

/// A full SFrame vector (Appendix C.3); also the shape of the AES-256-CTR
/// extension's SFrame vectors.
#[derive(Deserialize)]
pub struct SframeCase {
    pub cipher_suite: u16,
    pub kid: u64,
    pub ctr: u64,
    #[serde(with = "hex_bytes")]
    pub base_key: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub sframe_key_label: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub sframe_salt_label: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub sframe_secret: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub sframe_key: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub sframe_salt: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub metadata: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub nonce: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub aad: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub pt: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub ct: Vec<u8>,
}

/// Whether `json` is the SFrame vector file (its upstream name,
/// `test-vectors.json`, says nothing): an object with `header` and
/// `sframe` lists.
pub fn recognises(json: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| v.as_object().map(|o| o.contains_key("header") && o.contains_key("sframe")))
        .unwrap_or(false)
}

/// Runs every case of the file; per-suite counts, plus the count per group.
pub fn run(json: &str) -> Result<Outcome, String> {
    let file: File = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let mut out = Outcome::default();
    let mut case = 0;
    for c in &file.header {
        out.record(case, 0, check_header(c));
        case += 1;
    }
    out.groups.push(("header".into(), file.header.len()));
    for (group, cases) in [("aes_ctr_hmac", &file.aes_ctr_hmac), ("aes_256_ctr_hmac", &file.aes_256_ctr_hmac)] {
        for c in cases {
            out.record(case, c.cipher_suite, check_ctr_hmac(c));
            case += 1;
        }
        out.groups.push((group.into(), cases.len()));
    }
    for c in &file.sframe {
        out.record(case, c.cipher_suite, check_sframe(c));
        case += 1;
    }
    out.groups.push(("sframe".into(), file.sframe.len()));
    Ok(out)
}

/// §4.3: the encoding is the vector's, it decodes back (ignoring what
/// follows it), and every shorter prefix is refused as truncated.
fn check_header(c: &HeaderCase) -> Result<(), CaseError> {
    let h = Header::new(c.kid, c.ctr);
    check_eq("encoding", h.encode().as_bytes(), &c.encoded[..])?;
    check_eq("decoding", &Header::decode(&c.encoded), &Ok((h, c.encoded.len())))?;
    let mut longer = c.encoded.clone();
    longer.extend_from_slice(&[0xa5; 20]);
    check_eq("decoding with a payload after it", &Header::decode(&longer), &Ok((h, c.encoded.len())))?;
    for n in 0..c.encoded.len() {
        check_eq("decoding a prefix", &Header::decode(&c.encoded[..n]), &Err(SframeError::HeaderTruncated))?;
    }
    Ok(())
}

/// §4.5.1: the subkeys split as the vector's, the composite AEAD gives its
/// ciphertext and opens it, and a flipped tag bit is refused.
fn check_ctr_hmac(c: &CtrHmacCase) -> Result<(), CaseError> {
    let suite = SframeSuite::from_id(c.cipher_suite).map_err(|e| CaseError::Unsupported(e.to_string()))?;
    check_eq("enc_key", &c.key[..suite.aes_key_len()], &c.enc_key[..])?;
    check_eq("auth_key", &c.key[suite.aes_key_len()..], &c.auth_key[..])?;
    let ct = throng::sframe::ctr_hmac_encrypt(suite, &c.key, &c.nonce, &c.aad, &c.pt)?;
    check_eq("ct", &ct, &c.ct)?;
    let pt = throng::sframe::ctr_hmac_decrypt(suite, &c.key, &c.nonce, &c.aad, &c.ct)?;
    check_eq("pt", &pt, &c.pt)?;
    let mut bad = c.ct.clone();
    if let Some(last) = bad.last_mut() {
        *last ^= 1;
    }
    check(throng::sframe::ctr_hmac_decrypt(suite, &c.key, &c.nonce, &c.aad, &bad).is_err(), || {
        "a flipped tag bit was accepted".into()
    })
}

/// §4.4: labels, secret, key, salt, nonce and AAD are the vector's, the
/// frame encrypts to its ciphertext, and the ciphertext decrypts.
pub fn check_sframe(c: &SframeCase) -> Result<(), CaseError> {
    let suite = SframeSuite::from_id(c.cipher_suite).map_err(|e| CaseError::Unsupported(e.to_string()))?;
    let (key_label, salt_label) = derivation::labels(suite, c.kid);
    check_eq("sframe_key_label", &key_label, &c.sframe_key_label)?;
    check_eq("sframe_salt_label", &salt_label, &c.sframe_salt_label)?;
    check_eq("sframe_secret", &derivation::sframe_secret(suite, &c.base_key), &c.sframe_secret)?;
    let (key, salt) = derivation::key_salt(suite, c.kid, &c.base_key)?;
    check_eq("sframe_key", &key, &c.sframe_key)?;
    check_eq("sframe_salt", &salt, &c.sframe_salt)?;
    let derived = SframeKey::derive(suite, c.kid, &c.base_key)?;
    check_eq("nonce", &derived.nonce(c.ctr)[..], &c.nonce[..])?;
    let header = Header::new(c.kid, c.ctr);
    let mut aad = header.encode().as_bytes().to_vec();
    aad.extend_from_slice(&c.metadata);
    check_eq("aad", &aad, &c.aad)?;
    let mut ct = Vec::new();
    derived.seal_into(c.ctr, &c.pt, &c.metadata, &mut ct)?;
    check_eq("ct", &ct, &c.ct)?;
    // The vector's key and salt, given as such, open it (in a buffer and in place).
    let given = SframeKey::from_key_salt(suite, c.kid, &c.sframe_key, &c.sframe_salt)?;
    let (decoded, header_len) = Header::decode(&c.ct)?;
    check_eq("header", &decoded, &header)?;
    let mut pt = Vec::new();
    given.open_into(&decoded, header_len, &c.ct, &c.metadata, &mut pt)?;
    check_eq("pt", &pt, &c.pt)?;
    let mut in_place = c.ct.clone();
    let range = given.open_in_place(&decoded, header_len, &mut in_place, &c.metadata)?;
    check_eq("pt in place", &in_place[range], &c.pt[..])?;
    Ok(())
}

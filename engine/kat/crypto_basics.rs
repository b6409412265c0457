//! `crypto-basics.json`: the labelled constructions of RFC 9420 §5 for each
//! cipher suite. A case passes only if all six of its sub-tests pass.

use serde::Deserialize;
use throng::crypto::{CryptoError, HpkeCiphertext, HpkePrivateKey, Secret, SignaturePrivateKey, Suite};

use super::{CaseError, Outcome, check, check_eq, hex_bytes};

#[derive(Deserialize)]
struct Case {
    cipher_suite: u16,
    ref_hash: RefHash,
    expand_with_label: ExpandWithLabel,
    derive_secret: DeriveSecret,
    derive_tree_secret: DeriveTreeSecret,
    sign_with_label: SignWithLabel,
    encrypt_with_label: EncryptWithLabel,
}

#[derive(Deserialize)]
struct RefHash {
    label: String,
    #[serde(with = "hex_bytes")]
    value: Vec<u8>,
    #[serde(with = "hex_bytes")]
    out: Vec<u8>,
}

#[derive(Deserialize)]
struct ExpandWithLabel {
    #[serde(with = "hex_bytes")]
    secret: Vec<u8>,
    label: String,
    #[serde(with = "hex_bytes")]
    context: Vec<u8>,
    length: u16,
    #[serde(with = "hex_bytes")]
    out: Vec<u8>,
}

#[derive(Deserialize)]
struct DeriveSecret {
    #[serde(with = "hex_bytes")]
    secret: Vec<u8>,
    label: String,
    #[serde(with = "hex_bytes")]
    out: Vec<u8>,
}

#[derive(Deserialize)]
struct DeriveTreeSecret {
    #[serde(with = "hex_bytes")]
    secret: Vec<u8>,
    label: String,
    generation: u32,
    length: u16,
    #[serde(with = "hex_bytes")]
    out: Vec<u8>,
}

#[derive(Deserialize)]
struct SignWithLabel {
    #[serde(rename = "priv", with = "hex_bytes")]
    private: Vec<u8>,
    #[serde(rename = "pub", with = "hex_bytes")]
    public: Vec<u8>,
    #[serde(with = "hex_bytes")]
    content: Vec<u8>,
    label: String,
    #[serde(with = "hex_bytes")]
    signature: Vec<u8>,
}

#[derive(Deserialize)]
struct EncryptWithLabel {
    #[serde(rename = "priv", with = "hex_bytes")]
    private: Vec<u8>,
    #[serde(rename = "pub", with = "hex_bytes")]
    public: Vec<u8>,
    label: String,
    #[serde(with = "hex_bytes")]
    context: Vec<u8>,
    #[serde(with = "hex_bytes")]
    plaintext: Vec<u8>,
    #[serde(with = "hex_bytes")]
    kem_output: Vec<u8>,
    #[serde(with = "hex_bytes")]
    ciphertext: Vec<u8>,
}

pub fn run(json: &str) -> Result<Outcome, String> {
    super::run_suite_cases(json, |c: &Case| c.cipher_suite, check_case)
}

fn check_case(c: &Case, suite: Suite<'static>) -> Result<(), CaseError> {
    named("ref_hash", ref_hash(&suite, &c.ref_hash))?;
    named("expand_with_label", expand_with_label(&suite, &c.expand_with_label))?;
    named("derive_secret", derive_secret(&suite, &c.derive_secret))?;
    named("derive_tree_secret", derive_tree_secret(&suite, &c.derive_tree_secret))?;
    named("sign_with_label", sign_with_label(&suite, &c.sign_with_label))?;
    named("encrypt_with_label", encrypt_with_label(&suite, &c.encrypt_with_label))?;
    Ok(())
}

fn ref_hash(suite: &Suite<'_>, t: &RefHash) -> Result<(), CaseError> {
    check_eq("out", &suite.ref_hash(t.label.as_bytes(), &t.value), &t.out)
}

fn expand_with_label(suite: &Suite<'_>, t: &ExpandWithLabel) -> Result<(), CaseError> {
    let got = suite.expand_with_label(&t.secret, &t.label, &t.context, t.length)?;
    check_eq("out", got.as_bytes(), &t.out[..])
}

fn derive_secret(suite: &Suite<'_>, t: &DeriveSecret) -> Result<(), CaseError> {
    let got = suite.derive_secret(&t.secret, &t.label)?;
    check_eq("out", got.as_bytes(), &t.out[..])
}

fn derive_tree_secret(suite: &Suite<'_>, t: &DeriveTreeSecret) -> Result<(), CaseError> {
    let got = suite.derive_tree_secret(&t.secret, &t.label, t.generation, t.length)?;
    check_eq("out", got.as_bytes(), &t.out[..])
}

/// Prefixes a sub-test's failure with its name.
fn named(name: &str, result: Result<(), CaseError>) -> Result<(), CaseError> {
    result.map_err(|e| match e {
        CaseError::Failed(msg) => CaseError::Failed(format!("{name}: {msg}")),
        unsupported => unsupported,
    })
}

/// A step that must succeed, named in the failure.
fn step<T>(what: &str, result: Result<T, CryptoError>) -> Result<T, CaseError> {
    result.map_err(|e| CaseError::Failed(format!("{what}: {e:?}")))
}

fn sign_with_label(suite: &Suite<'_>, t: &SignWithLabel) -> Result<(), CaseError> {
    let verify = |sig: &[u8]| suite.verify_with_label(&t.public, &t.label, &t.content, sig);
    step("verify the vector's signature", verify(&t.signature))?;

    let key = SignaturePrivateKey(Secret::from_slice(&t.private));
    let ours = step("sign", suite.sign_with_label(&key, &t.label, &t.content))?;
    step("verify our signature", verify(&ours))?;

    // A signature with one bit flipped must not verify, whichever half it
    // lands in; nor may the right signature under another label.
    for position in [0, ours.len() / 2, ours.len() - 1] {
        let mut tampered = ours.clone();
        tampered[position] ^= 0x01;
        check_eq("tampered signature", &verify(&tampered), &Err(CryptoError::VerificationFailed))?;
    }
    let other_label = suite.verify_with_label(&t.public, "another label", &t.content, &ours);
    check_eq("other label", &other_label, &Err(CryptoError::VerificationFailed))
}

fn encrypt_with_label(suite: &Suite<'_>, t: &EncryptWithLabel) -> Result<(), CaseError> {
    let key = HpkePrivateKey(Secret::from_slice(&t.private));
    let vector_ct = HpkeCiphertext { kem_output: t.kem_output.clone(), ciphertext: t.ciphertext.clone() };
    let got = step("decrypt vector", suite.decrypt_with_label(&key, &t.label, &t.context, &vector_ct))?;
    check_eq("decrypt vector", got.as_bytes(), &t.plaintext[..])?;

    let ours = step("encrypt", suite.encrypt_with_label(&t.public, &t.label, &t.context, &t.plaintext))?;
    check(ours.kem_output != t.kem_output, || "reused the vector's ephemeral key".into())?;
    let got = step("decrypt ours", suite.decrypt_with_label(&key, &t.label, &t.context, &ours))?;
    check_eq("decrypt ours", got.as_bytes(), &t.plaintext[..])?;

    // The EncryptContext binds the label (RFC 9420 §5.1.3).
    let other_label = suite.decrypt_with_label(&key, "another label", &t.context, &ours).map(|_| ());
    check_eq("other label", &other_label, &Err(CryptoError::DecryptionFailed))
}

//! X.509 credential validation (RFC 9420 §5.3, §5.3.1; issue 13).
//!
//! [`X509Validator`] checks an `x509` credential's chain against the trust
//! anchors it was configured with, at a given time, binds the end-entity
//! certificate's key to the leaf's MLS signature key, and returns the
//! identity named in the certificate's subjectAltName. It stands alone: the
//! engine's identity-validation hook calls it through a thin adapter.
//!
//! What is checked, and by whom:
//!
//! - **Path building, validity periods, basic constraints, signatures**:
//!   rustls-webpki ([`webpki::EndEntityCert::verify_for_usage`]), with its
//!   aws-lc-rs backend, so every certificate signature is verified by
//!   aws-lc-rs (the crate the engine's provider uses; the one exception to
//!   docs/STYLE.md 6, which keeps concrete crypto crates in `crypto`, is
//!   this module's use of webpki's aws-lc-rs algorithm table). webpki also
//!   rejects unknown critical extensions and enforces name constraints and
//!   path length constraints.
//! - **Chain order**: RFC 9420 §5.3 requires `certificates[0]` to be the
//!   end-entity certificate and each following one to certify the one
//!   before it. webpki builds a path from an unordered bag, so every path
//!   it finds is checked to use `certificates[1..]` in order; the chain may
//!   end with the trust anchor's own certificate, and must hold nothing
//!   else.
//! - **keyUsage**, which webpki ignores: if the extension is present, the
//!   end-entity certificate must assert `digitalSignature` (its key signs
//!   MLS messages) and every intermediate `keyCertSign`. An absent
//!   extension allows both (RFC 5280 §4.2.1.3 does not require it of an end
//!   entity; for a CA, basic constraints already say it may sign).
//! - **extendedKeyUsage**: RFC 9420 defines no key purpose for MLS, so any
//!   EKU is accepted, as is none; a malformed EKU extension is still
//!   rejected.
//! - **Key binding**: the end-entity SubjectPublicKeyInfo must name the
//!   suite's signature algorithm (Ed25519, Ed448, or id-ecPublicKey on the
//!   suite's curve) and its subjectPublicKey bits must equal the leaf's
//!   `SignaturePublicKey` byte for byte: the raw 32/57-byte key for
//!   EdDSA, the uncompressed SEC1 point for ECDSA (§5.1.1). A certificate
//!   carrying a compressed point therefore does not match.
//! - **Identity**: from the end-entity subjectAltName, the first URI if
//!   there is one, else the first DNS name, else the first email address
//!   (rfc822Name), as its bytes. URIs come first because they are the form
//!   MLS deployments use for user and client identifiers (e.g. `im:` or
//!   `mls:` URIs); the subject DN is never used.
//!
//! Not checked: revocation (no CRL or OCSP input), and signatures made
//! with algorithms aws-lc-rs lacks (an Ed448 *issuer*; a leaf holding an
//! Ed448 key, issued by an Ed25519, ECDSA or RSA CA, is fine).

use std::cell::RefCell;
use std::time::Duration;

use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use webpki::{EndEntityCert, ExtendedKeyUsageValidator, KeyPurposeIdIter, VerifiedPath};
use x509_cert::Certificate as ParsedCertificate;
use x509_cert::der::Decode;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{KeyUsage, SubjectAltName};

use crate::crypto::{CipherSuite, SignatureAlgorithm};
use crate::messages::Credential;

use super::{CredentialCheck, CredentialRejected, IdentityValidator};

/// Why an X.509 credential was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum X509Error {
    /// The validator was configured with no trust anchor.
    #[error("no trust anchor configured")]
    NoTrustAnchors,
    /// A configured trust anchor is not a certificate webpki can use.
    #[error("trust anchor {index} is malformed: {reason}")]
    BadTrustAnchor {
        /// Its position in the list given to [`X509Validator::new`].
        index: usize,
        /// webpki's reason.
        reason: String,
    },
    /// The credential is not of type `x509` (RFC 9420 §5.3).
    #[error("credential type {0} is not x509")]
    UnsupportedCredentialType(u16),
    /// The credential carries no certificate (§5.3: the end-entity
    /// certificate comes first, so there must be one).
    #[error("empty certificate chain")]
    EmptyChain,
    /// The cipher suite is not one of RFC 9420's.
    #[error("unknown cipher suite {0}")]
    UnsupportedCipherSuite(u16),
    /// A certificate does not parse (DER, X.509 v3, extensions, validity
    /// field).
    #[error("malformed certificate: {0}")]
    Malformed(String),
    /// A certificate of the chain has expired at the given time.
    #[error("certificate expired")]
    Expired,
    /// A certificate of the chain is not yet valid at the given time.
    #[error("certificate not yet valid")]
    NotYetValid,
    /// No path leads from the end-entity certificate to a trust anchor:
    /// an untrusted root, or a missing intermediate.
    #[error("no path to a trust anchor (unknown issuer)")]
    UnknownIssuer,
    /// The certificates are not in §5.3 order (each certifies the one
    /// before it), or the chain holds certificates the path does not use.
    #[error("certificates not in chain order (RFC 9420 §5.3)")]
    ChainOrder,
    /// An issuing certificate lacks the CA flag of basic constraints.
    #[error("issuer is not a CA (basic constraints)")]
    NotCa,
    /// The end-entity certificate is a CA certificate.
    #[error("end-entity certificate is a CA")]
    CaAsEndEntity,
    /// A CA's pathLenConstraint is exceeded.
    #[error("path length constraint violated")]
    PathLength,
    /// A keyUsage extension forbids the use: no `digitalSignature` on the
    /// end entity, or no `keyCertSign` on an intermediate.
    #[error("key usage does not allow this use")]
    KeyUsage,
    /// A name constraint of an issuer is violated.
    #[error("name constraint violated")]
    NameConstraint,
    /// A certificate carries a critical extension webpki does not process.
    #[error("unsupported critical extension")]
    UnsupportedCriticalExtension,
    /// A certificate's signature does not verify under its issuer's key.
    #[error("bad certificate signature")]
    BadSignature,
    /// A certificate is signed with an algorithm that is not supported
    /// (or not for its issuer's key type).
    #[error("unsupported signature algorithm")]
    UnsupportedSignatureAlgorithm,
    /// Path building gave up (too deep, or too many candidates).
    #[error("chain too complex")]
    TooComplex,
    /// The end-entity key is not of the suite's signature algorithm.
    #[error("certificate key algorithm does not match the cipher suite")]
    KeyAlgorithmMismatch,
    /// The end-entity certificate's key is not the leaf's signature key.
    #[error("certificate key differs from the leaf's signature key")]
    KeyMismatch,
    /// The end-entity certificate has no URI, DNS or email
    /// subjectAltName to take the identity from.
    #[error("no usable subjectAltName")]
    NoSubjectAltName,
    /// Any other rejection webpki reports.
    #[error("certificate rejected: {0}")]
    Other(String),
}

/// Validates X.509 credentials against a fixed set of trust anchors.
///
/// The anchors are parsed once, in [`X509Validator::new`]; validation
/// takes `&self` and the validator is `Send + Sync`.
#[derive(Clone, Debug)]
pub struct X509Validator {
    anchors: Vec<TrustAnchor<'static>>,
}

impl X509Validator {
    /// A validator trusting these DER-encoded certificates as anchors.
    ///
    /// Only an anchor's subject, key and name constraints are kept (RFC
    /// 5280 §6.1.1): its validity period and other extensions are not
    /// checked.
    pub fn new(trust_anchors_der: Vec<Vec<u8>>) -> Result<Self, X509Error> {
        if trust_anchors_der.is_empty() {
            return Err(X509Error::NoTrustAnchors);
        }
        let anchors = trust_anchors_der
            .iter()
            .enumerate()
            .map(|(index, der)| {
                let der = CertificateDer::from(der.as_slice());
                webpki::anchor_from_trusted_cert(&der)
                    .map(|anchor| anchor.to_owned())
                    .map_err(|e| X509Error::BadTrustAnchor { index, reason: format!("{e:?}") })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { anchors })
    }

    /// Validates an `x509` credential (see [`X509Validator::validate_chain`]);
    /// any other credential type is rejected with
    /// [`X509Error::UnsupportedCredentialType`].
    pub fn validate_credential(
        &self,
        credential: &Credential,
        leaf_signature_key: &[u8],
        cipher_suite: CipherSuite,
        time_unix_secs: u64,
    ) -> Result<Vec<u8>, X509Error> {
        match credential {
            Credential::X509 { certificates } => {
                let ders: Vec<&[u8]> = certificates.iter().map(|c| c.cert_data.as_slice()).collect();
                self.validate(&ders, leaf_signature_key, cipher_suite, time_unix_secs)
            }
            other => Err(X509Error::UnsupportedCredentialType(other.credential_type().0)),
        }
    }

    /// Validates a chain of DER certificates, end entity first, then each
    /// certificate's issuer (RFC 9420 §5.3), for a leaf whose MLS signature
    /// key is `leaf_signature_key` in a group of `cipher_suite`, at
    /// `time_unix_secs` (seconds since the Unix epoch). Returns the
    /// identity from the end-entity subjectAltName (URI, else DNS, else
    /// email; see the module documentation).
    pub fn validate_chain(
        &self,
        certificates: &[Vec<u8>],
        leaf_signature_key: &[u8],
        cipher_suite: CipherSuite,
        time_unix_secs: u64,
    ) -> Result<Vec<u8>, X509Error> {
        let ders: Vec<&[u8]> = certificates.iter().map(Vec::as_slice).collect();
        self.validate(&ders, leaf_signature_key, cipher_suite, time_unix_secs)
    }

    fn validate(
        &self,
        certificates: &[&[u8]],
        leaf_signature_key: &[u8],
        cipher_suite: CipherSuite,
        time_unix_secs: u64,
    ) -> Result<Vec<u8>, X509Error> {
        let signature = cipher_suite.algorithms().ok_or(X509Error::UnsupportedCipherSuite(cipher_suite.0))?.signature;
        let Some((&leaf_der, rest)) = certificates.split_first() else {
            return Err(X509Error::EmptyChain);
        };

        // What the end-entity certificate alone decides, before any
        // signature is checked.
        let leaf = ParsedCertificate::from_der(leaf_der).map_err(|e| X509Error::Malformed(e.to_string()))?;
        check_key(&leaf, signature, leaf_signature_key)?;
        check_key_usage(&leaf, Role::EndEntity)?;
        let identity = identity(&leaf)?;

        // The path, by webpki.
        let leaf_cert_der = CertificateDer::from(leaf_der);
        let end_entity = EndEntityCert::try_from(&leaf_cert_der).map_err(map_webpki)?;
        let intermediates: Vec<CertificateDer<'_>> = rest.iter().map(|&d| CertificateDer::from(d)).collect();
        let rejected: RefCell<Option<X509Error>> = RefCell::new(None);
        let check_path = |path: &VerifiedPath<'_>| -> Result<(), webpki::Error> {
            check_path(path, rest).map_err(|e| {
                rejected.borrow_mut().get_or_insert(e);
                webpki::Error::UnknownIssuer
            })
        };
        let time = UnixTime::since_unix_epoch(Duration::from_secs(time_unix_secs));
        let verified = end_entity.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &self.anchors,
            &intermediates,
            time,
            AnyEku,
            None,
            Some(&check_path),
        );
        match verified {
            Ok(_) => Ok(identity),
            // A path reached an anchor with every signature and validity
            // period good, and only our own checks turned it down: that
            // reason says more than webpki's summary of the other paths.
            Err(e) => Err(rejected.into_inner().unwrap_or_else(|| map_webpki(e))),
        }
    }
}

/// The certificate's place in the path.
#[derive(Clone, Copy)]
enum Role {
    EndEntity,
    Intermediate,
}

/// RFC 9420 defines no extended key usage for MLS: accept any, or none,
/// but still read the extension so a malformed one is rejected.
struct AnyEku;

impl ExtendedKeyUsageValidator for AnyEku {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        for id in iter {
            id?;
        }
        Ok(())
    }
}

/// A path webpki found: it must use `chain` (the certificates after the
/// end entity) in order, with at most the anchor's own certificate left
/// over, and its intermediates must be allowed to sign certificates.
fn check_path(path: &VerifiedPath<'_>, chain: &[&[u8]]) -> Result<(), X509Error> {
    let mut used = 0;
    for cert in path.intermediate_certificates() {
        match chain.get(used) {
            Some(&der) if der == cert.der().as_ref() => used += 1,
            _ => return Err(X509Error::ChainOrder),
        }
    }
    match &chain[used..] {
        [] => {}
        [anchor_der] => {
            let der = CertificateDer::from(*anchor_der);
            let cert = EndEntityCert::try_from(&der).map_err(map_webpki)?;
            let anchor = path.anchor();
            let same_key = cert.subject_public_key_info().as_ref() == webpki::spki_for_anchor(anchor).as_ref();
            if cert.subject() != anchor.subject.as_ref() || !same_key {
                return Err(X509Error::ChainOrder);
            }
        }
        _ => return Err(X509Error::ChainOrder),
    }
    for &der in &chain[..used] {
        let cert = ParsedCertificate::from_der(der).map_err(|e| X509Error::Malformed(e.to_string()))?;
        check_key_usage(&cert, Role::Intermediate)?;
    }
    Ok(())
}

/// keyUsage, when present, must allow the certificate's role.
fn check_key_usage(cert: &ParsedCertificate, role: Role) -> Result<(), X509Error> {
    let usage = cert
        .tbs_certificate()
        .get_extension::<KeyUsage>()
        .map_err(|e| X509Error::Malformed(format!("keyUsage: {e}")))?;
    let allowed = match (usage, role) {
        (None, _) => true,
        (Some((_, ku)), Role::EndEntity) => ku.digital_signature(),
        (Some((_, ku)), Role::Intermediate) => ku.key_cert_sign(),
    };
    if allowed { Ok(()) } else { Err(X509Error::KeyUsage) }
}

const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const ID_ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const SECP521R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");

/// The end-entity SubjectPublicKeyInfo must be of the suite's signature
/// algorithm and hold exactly the leaf's signature key (§5.1.1 encodings).
fn check_key(cert: &ParsedCertificate, signature: SignatureAlgorithm, leaf_key: &[u8]) -> Result<(), X509Error> {
    let spki = cert.tbs_certificate().subject_public_key_info();
    let algorithm = &spki.algorithm;
    let algorithm_matches = match signature {
        SignatureAlgorithm::Ed25519 => algorithm.oid == ID_ED25519 && algorithm.parameters.is_none(),
        SignatureAlgorithm::Ed448 => algorithm.oid == ID_ED448 && algorithm.parameters.is_none(),
        SignatureAlgorithm::EcdsaP256Sha256
        | SignatureAlgorithm::EcdsaP384Sha384
        | SignatureAlgorithm::EcdsaP521Sha512 => {
            let curve = match signature {
                SignatureAlgorithm::EcdsaP256Sha256 => SECP256R1,
                SignatureAlgorithm::EcdsaP384Sha384 => SECP384R1,
                _ => SECP521R1,
            };
            algorithm.oid == ID_EC_PUBLIC_KEY
                && algorithm.parameters.as_ref().and_then(|p| p.decode_as::<ObjectIdentifier>().ok()) == Some(curve)
        }
    };
    if !algorithm_matches {
        return Err(X509Error::KeyAlgorithmMismatch);
    }
    // A key with unused bits in its BIT STRING is no key of these
    // algorithms: it cannot equal the leaf's.
    match spki.subject_public_key.as_bytes() {
        Some(key) if key == leaf_key => Ok(()),
        _ => Err(X509Error::KeyMismatch),
    }
}

/// The identity: the first URI subjectAltName, else the first DNS name,
/// else the first email address.
fn identity(cert: &ParsedCertificate) -> Result<Vec<u8>, X509Error> {
    let Some((_, SubjectAltName(names))) = cert
        .tbs_certificate()
        .get_extension::<SubjectAltName>()
        .map_err(|e| X509Error::Malformed(format!("subjectAltName: {e}")))?
    else {
        return Err(X509Error::NoSubjectAltName);
    };
    let first = |pick: fn(&GeneralName) -> Option<&str>| names.iter().find_map(pick);
    first(|n| match n {
        GeneralName::UniformResourceIdentifier(s) => Some(s.as_str()),
        _ => None,
    })
    .or_else(|| {
        first(|n| match n {
            GeneralName::DnsName(s) => Some(s.as_str()),
            _ => None,
        })
    })
    .or_else(|| {
        first(|n| match n {
            GeneralName::Rfc822Name(s) => Some(s.as_str()),
            _ => None,
        })
    })
    .map(|s| s.as_bytes().to_vec())
    .ok_or(X509Error::NoSubjectAltName)
}

fn map_webpki(e: webpki::Error) -> X509Error {
    use webpki::Error as W;
    match e {
        W::CertExpired { .. } => X509Error::Expired,
        W::CertNotValidYet { .. } => X509Error::NotYetValid,
        W::UnknownIssuer | W::CertDistrusted => X509Error::UnknownIssuer,
        W::EndEntityUsedAsCa => X509Error::NotCa,
        W::CaUsedAsEndEntity => X509Error::CaAsEndEntity,
        W::PathLenConstraintViolated => X509Error::PathLength,
        W::NameConstraintViolation | W::MalformedNameConstraint => X509Error::NameConstraint,
        W::UnsupportedCriticalExtension => X509Error::UnsupportedCriticalExtension,
        W::InvalidSignatureForPublicKey | W::SignatureAlgorithmMismatch => X509Error::BadSignature,
        // (webpki built with `alloc` reports only the `…Context` forms.)
        W::UnsupportedSignatureAlgorithmContext(_) | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            X509Error::UnsupportedSignatureAlgorithm
        }
        W::MaximumPathDepthExceeded | W::MaximumSignatureChecksExceeded | W::MaximumPathBuildCallsExceeded => {
            X509Error::TooComplex
        }
        W::BadDer
        | W::BadDerTime
        | W::TrailingData(_)
        | W::MalformedExtensions
        | W::ExtensionValueInvalid
        | W::InvalidSerialNumber
        | W::InvalidCertValidity
        | W::UnsupportedCertVersion
        | W::EmptyEkuExtension => X509Error::Malformed(format!("{e:?}")),
        other => X509Error::Other(format!("{other:?}")),
    }
}

/// The X.509 validator as the engine's identity hook (§5.3.1): every
/// credential a member or server encounters must be an X.509 chain to one
/// of the trust anchors, valid now, whose end-entity key is the leaf's (or
/// the external sender's) signature key; the identity is the end-entity
/// certificate's subjectAltName. Other credential types are refused.
impl IdentityValidator for X509Validator {
    fn validate(&self, check: &CredentialCheck<'_>) -> Result<(), CredentialRejected> {
        self.validate_credential(check.credential, check.signature_key, check.cipher_suite, check.now)
            .map(|_| ())
            .map_err(|e| CredentialRejected::new(e.to_string()))
    }

    /// The subjectAltName of the end-entity certificate. The chain is
    /// not checked again here: `validate` ran on every credential the
    /// engine asks this for.
    fn identity(&self, credential: &Credential) -> Result<Vec<u8>, CredentialRejected> {
        let reject = |e: X509Error| CredentialRejected::new(e.to_string());
        let Credential::X509 { certificates } = credential else {
            return Err(reject(X509Error::UnsupportedCredentialType(credential.credential_type().0)));
        };
        let first = certificates.first().ok_or_else(|| reject(X509Error::EmptyChain))?;
        let cert = ParsedCertificate::from_der(&first.cert_data)
            .map_err(|e| reject(X509Error::Malformed(format!("end-entity certificate: {e}"))))?;
        identity(&cert).map_err(reject)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;

//! HKDF (RFC 5869) with the PRK as bytes, shared by the MLS provider, the
//! hpke-rs backend and DHKEM(X448).

use aws_lc_rs::hmac;

/// HKDF-Extract is HMAC(salt, ikm) (RFC 5869 §2.2); aws-lc-rs's `hkdf` keeps
/// the PRK opaque, and HPKE and MLS both need its bytes.
pub(crate) fn hkdf_extract(alg: hmac::Algorithm, salt: &[u8], ikm: &[u8]) -> Vec<u8> {
    // An empty salt equals HashLen zeros here: HMAC zero-pads its key.
    hmac::sign(&hmac::Key::new(alg, salt), ikm).as_ref().to_vec()
}

/// HKDF-Expand (RFC 5869 §2.3) through aws-lc-rs.
pub(crate) fn hkdf_expand(alg: hmac::Algorithm, prk: &[u8], info: &[u8], len: usize) -> Option<Vec<u8>> {
    struct Len(usize);
    impl aws_lc_rs::hkdf::KeyType for Len {
        fn len(&self) -> usize {
            self.0
        }
    }
    let hkdf_alg = if alg == hmac::HMAC_SHA256 {
        aws_lc_rs::hkdf::HKDF_SHA256
    } else if alg == hmac::HMAC_SHA384 {
        aws_lc_rs::hkdf::HKDF_SHA384
    } else {
        aws_lc_rs::hkdf::HKDF_SHA512
    };
    let prk = aws_lc_rs::hkdf::Prk::new_less_safe(hkdf_alg, prk);
    let info = [info];
    let okm = prk.expand(&info, Len(len)).ok()?;
    let mut out = vec![0u8; len];
    okm.fill(&mut out).ok()?;
    Some(out)
}

//! Pre-shared keys in the key schedule (RFC 9420 §8.4): chaining any number
//! of PSKs into the one `psk_secret` the epoch derivation takes.

use crate::Result;
use crate::codec::Encode;
use crate::crypto::{Secret, Suite};
use crate::error::ValidationError;
use crate::messages::PreSharedKeyId;

/// `psk_secret` (RFC 9420 §8.4): the PSK input of the epoch key schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PskSecret(Secret);

impl PskSecret {
    /// `psk_secret_[0]`, the all-zero `KDF.Nh` vector: the psk_secret of an
    /// epoch that injects no PSK (RFC 9420 §8.4).
    pub fn zero(suite: &Suite<'_>) -> Self {
        Self(Secret::zero(suite.hash_len()))
    }

    /// Wraps a psk_secret computed elsewhere (the test vectors give one).
    pub fn new(secret: Secret) -> Self {
        Self(secret)
    }

    /// The secret bytes.
    pub fn as_secret(&self) -> &Secret {
        &self.0
    }
}

/// `PSKLabel { PreSharedKeyID id; uint16 index; uint16 count; }`
/// (RFC 9420 §8.4), encoded.
fn psk_label(id: &PreSharedKeyId, index: u16, count: u16) -> Vec<u8> {
    let mut out = Vec::new();
    id.encode(&mut out);
    index.encode(&mut out);
    count.encode(&mut out);
    out
}

/// Combines PSKs, in the order the Commit or GroupSecrets lists them, into
/// `psk_secret` (RFC 9420 §8.4, Figure 24):
///
/// ```text
/// psk_extracted_[i] = KDF.Extract(0, psk_[i])
/// psk_input_[i]     = ExpandWithLabel(psk_extracted_[i], "derived psk", PSKLabel, KDF.Nh)
/// psk_secret_[0]    = 0
/// psk_secret_[i]    = KDF.Extract(psk_input_[i-1], psk_secret_[i-1])
/// ```
///
/// No PSKs give the all-zero vector. More than 65535 PSKs cannot be
/// labelled (`count` is a uint16) and are rejected.
pub fn psk_secret<'a, I>(suite: &Suite<'_>, psks: I) -> Result<PskSecret>
where
    I: IntoIterator<Item = (&'a PreSharedKeyId, &'a Secret)>,
    I::IntoIter: ExactSizeIterator,
{
    let psks = psks.into_iter();
    let too_many = |n: usize| ValidationError::TooManyPsks(n);
    let count = u16::try_from(psks.len()).map_err(|_| too_many(psks.len()))?;
    let zero = Secret::zero(suite.hash_len());
    let mut secret = zero.clone();
    for (index, (id, psk)) in psks.enumerate() {
        // `enumerate` can only pass `count` if the iterator lied about its length.
        let index = u16::try_from(index).map_err(|_| too_many(index))?;
        let extracted = suite.extract(zero.as_bytes(), psk.as_bytes());
        let input =
            suite.expand_with_label(extracted.as_bytes(), "derived psk", &psk_label(id, index, count), suite.nh())?;
        secret = suite.extract(input.as_bytes(), secret.as_bytes());
    }
    Ok(PskSecret(secret))
}

//! Sender data key and nonce (RFC 9420 §6.3.2).
//!
//! The SenderData of a PrivateMessage is encrypted under a key and nonce
//! derived from the epoch's `sender_data_secret` and a sample of the
//! already encrypted content, so that each message's sender data has its
//! own key/nonce pair without any per-sender state.

use crate::crypto::{CryptoError, Secret, Suite};
use crate::error::Error;

/// `ciphertext_sample`: the first `KDF.Nh` bytes of the content
/// ciphertext, or all of it when it is shorter (RFC 9420 §6.3.2).
pub fn ciphertext_sample<'c>(suite: &Suite<'_>, ciphertext: &'c [u8]) -> &'c [u8] {
    ciphertext.get(..suite.hash_len()).unwrap_or(ciphertext)
}

/// `sender_data_key` and `sender_data_nonce` for one PrivateMessage
/// (RFC 9420 §6.3.2). Zeroized when dropped.
#[derive(Debug)]
pub struct SenderDataKeys {
    key: Secret,
    nonce: Secret,
}

impl SenderDataKeys {
    /// Derives the pair from `sender_data_secret` and the message's content
    /// `ciphertext` (the whole ciphertext; the sample is taken here):
    ///
    /// ```text
    /// sender_data_key   = ExpandWithLabel(sender_data_secret, "key",   ciphertext_sample, AEAD.Nk)
    /// sender_data_nonce = ExpandWithLabel(sender_data_secret, "nonce", ciphertext_sample, AEAD.Nn)
    /// ```
    pub fn derive(suite: &Suite<'_>, sender_data_secret: &[u8], ciphertext: &[u8]) -> Result<Self, Error> {
        let aead = suite.algorithms().aead;
        let nk = u16::try_from(aead.key_len()).map_err(|_| CryptoError::InvalidLength)?;
        let nn = u16::try_from(aead.nonce_len()).map_err(|_| CryptoError::InvalidLength)?;
        let sample = ciphertext_sample(suite, ciphertext);
        let key = suite.expand_with_label(sender_data_secret, "key", sample, nk)?;
        let nonce = suite.expand_with_label(sender_data_secret, "nonce", sample, nn)?;
        Ok(Self { key, nonce })
    }

    /// `sender_data_key`, `AEAD.Nk` bytes.
    pub fn key(&self) -> &[u8] {
        self.key.as_bytes()
    }

    /// `sender_data_nonce`, `AEAD.Nn` bytes. Used as is: the reuse guard
    /// applies to content encryption only (§6.3.1).
    pub fn nonce(&self) -> &[u8] {
        self.nonce.as_bytes()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::crypto::{CipherSuite, default_provider};

    #[test]
    fn sample_is_at_most_nh_bytes() {
        let suite = Suite::new(default_provider(), CipherSuite(1)).unwrap();
        let long = [7u8; 77];
        assert_eq!(ciphertext_sample(&suite, &long).len(), 32);
        assert_eq!(ciphertext_sample(&suite, &long[..5]).len(), 5);
        assert!(ciphertext_sample(&suite, &[]).is_empty());
        // Bytes past the sample do not change the keys.
        let secret = [1u8; 32];
        let mut other = long;
        other[40] ^= 1;
        let (a, b) = (
            SenderDataKeys::derive(&suite, &secret, &long).unwrap(),
            SenderDataKeys::derive(&suite, &secret, &other).unwrap(),
        );
        assert_eq!((a.key(), a.nonce()), (b.key(), b.nonce()));
        assert_eq!((a.key().len(), a.nonce().len()), (16, 12));
    }
}

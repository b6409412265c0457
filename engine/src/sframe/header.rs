//! The SFrame header (RFC 9605 §4.3): a config byte, then the KID and the
//! CTR as minimal big-endian integers when they do not fit in its 3-bit
//! fields.
//!
//! ```text
//!  0 1 2 3 4 5 6 7
//! +-+-+-+-+-+-+-+-+------------+------------+
//! |X|  K  |Y|  C  |   KID...   |   CTR...   |
//! +-+-+-+-+-+-+-+-+------------+------------+
//! ```
//!
//! Decoding reads at most 17 bytes, checks every announced length against
//! the bytes present before reading, and refuses a non-minimal encoding, so
//! that one (KID, CTR) has exactly one header (the header is authenticated
//! as it was received, §4.4.3).

use crate::error::SframeError;

/// The longest header: the config byte, an 8-byte KID and an 8-byte CTR.
pub const MAX_HEADER_LEN: usize = 17;

/// A decoded SFrame header: the key id and the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// The key id (KID).
    pub kid: u64,
    /// The counter (CTR).
    pub ctr: u64,
}

/// An encoded header, on the stack.
#[derive(Clone, Copy)]
pub struct EncodedHeader {
    bytes: [u8; MAX_HEADER_LEN],
    len: u8,
}

impl EncodedHeader {
    /// The header's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl std::fmt::Debug for EncodedHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncodedHeader(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// Bytes needed for `v` as a minimal big-endian integer (1 to 8).
const fn value_len(v: u64) -> usize {
    let bits = 64 - v.leading_zeros() as usize;
    if bits == 0 { 1 } else { bits.div_ceil(8) }
}

impl Header {
    /// A header for `kid` and `ctr`.
    pub const fn new(kid: u64, ctr: u64) -> Self {
        Self { kid, ctr }
    }

    /// The length of its encoding.
    pub const fn encoded_len(&self) -> usize {
        let kid = if self.kid < 8 { 0 } else { value_len(self.kid) };
        let ctr = if self.ctr < 8 { 0 } else { value_len(self.ctr) };
        1 + kid + ctr
    }

    /// Its encoding (RFC 9605 §4.3): values 0–7 in the config byte, larger
    /// ones in the fewest bytes, KID first.
    pub fn encode(&self) -> EncodedHeader {
        let mut bytes = [0u8; MAX_HEADER_LEN];
        let mut len = 1;
        let mut config = 0u8;
        for (value, inline_shift, flag) in [(self.kid, 4, 0x80u8), (self.ctr, 0, 0x08u8)] {
            if value < 8 {
                config |= (value as u8) << inline_shift;
            } else {
                let n = value_len(value);
                config |= flag | (((n - 1) as u8) << inline_shift);
                bytes[len..len + n].copy_from_slice(&value.to_be_bytes()[8 - n..]);
                len += n;
            }
        }
        bytes[0] = config;
        EncodedHeader { bytes, len: len as u8 }
    }

    /// Appends its encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.encode().as_bytes());
    }

    /// Decodes the header at the start of `bytes`; returns it and its
    /// length. What follows the header is not looked at.
    pub fn decode(bytes: &[u8]) -> Result<(Header, usize), SframeError> {
        let (&config, mut rest) = bytes.split_first().ok_or(SframeError::HeaderTruncated)?;
        let mut read = |extended: bool, field: u8| -> Result<u64, SframeError> {
            if !extended {
                return Ok(u64::from(field));
            }
            let n = usize::from(field) + 1;
            let (value, tail) = rest.split_at_checked(n).ok_or(SframeError::HeaderTruncated)?;
            rest = tail;
            if value[0] == 0 && n > 1 {
                return Err(SframeError::HeaderNotMinimal);
            }
            let v = value.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            if v < 8 {
                return Err(SframeError::HeaderNotMinimal);
            }
            Ok(v)
        };
        let kid = read(config & 0x80 != 0, (config >> 4) & 0x07)?;
        let ctr = read(config & 0x08 != 0, config & 0x07)?;
        let header = Header { kid, ctr };
        Ok((header, header.encoded_len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_match_encodings() {
        for kid in [0u64, 7, 8, 255, 256, u64::MAX >> 8, u64::MAX] {
            for ctr in [0u64, 1, 7, 8, 0xffff, 0x1_0000, u64::MAX] {
                let h = Header::new(kid, ctr);
                let e = h.encode();
                assert_eq!(e.as_bytes().len(), h.encoded_len());
                assert_eq!(Header::decode(e.as_bytes()), Ok((h, h.encoded_len())));
            }
        }
    }

    #[test]
    fn every_config_byte_and_truncation_is_handled() {
        // Every config byte followed by every possible length of 0xff
        // bytes: decoding never panics, and succeeds exactly when the bytes
        // announced are present.
        let tail = [0xffu8; 16];
        for config in 0..=255u8 {
            for n in 0..=16 {
                let mut b = vec![config];
                b.extend_from_slice(&tail[..n]);
                let need = 1
                    + if config & 0x80 != 0 { usize::from((config >> 4) & 7) + 1 } else { 0 }
                    + if config & 0x08 != 0 { usize::from(config & 7) + 1 } else { 0 };
                let got = Header::decode(&b);
                if n + 1 >= need {
                    assert_eq!(got.map(|(_, len)| len), Ok(need), "config {config:#04x} n {n}");
                } else {
                    assert_eq!(got, Err(SframeError::HeaderTruncated), "config {config:#04x} n {n}");
                }
            }
        }
    }
}

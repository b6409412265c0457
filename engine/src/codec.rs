//! The TLS presentation language as MLS uses it (RFC 9420 §2.1).
//!
//! One pair of traits, [`Encode`] and [`Decode`], implemented next to each wire
//! struct. Decoding reads from a bounded [`Reader`]: every length is checked
//! against the bytes that remain before anything is allocated, so a peer can
//! never make us allocate more than it sent, and every failure is a typed
//! [`DecodeError`], never a panic.
//!
//! What it sent can still be small and decode large: a blank tree node is
//! one byte on the wire and a few hundred in memory. So every reader carries
//! a budget of decoded memory, [`AMPLIFICATION`] times its input, and every
//! structured item a vector decodes is charged to it at its in-memory size.
//!
//! Encoding cannot fail on anything we decoded, but a value we build from
//! many peers' parts (a tree, a Welcome) could in principle exceed the
//! 2^30 - 1 bytes a vector may hold: the writer then marks the encoding
//! oversized instead of panicking, and [`checked`] turns the mark into
//! [`EncodeError`] at the points where such values are built.

use std::cell::Cell;

use thiserror::Error;

use crate::limits::{Limit, LimitExceeded};

/// Why a byte string could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before the value did.
    #[error("truncated input: needed {needed} more bytes, {available} available")]
    Truncated {
        /// Bytes the value still needed.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A variable-length integer starts with the reserved prefix `0b11` (RFC 9420 §2.1.2).
    #[error("variable-length integer uses the reserved 0b11 prefix")]
    VarintReservedPrefix,
    /// A variable-length integer is not in its shortest form (RFC 9420 §2.1.2).
    #[error("variable-length integer is not minimally encoded")]
    VarintNotMinimal,
    /// A length exceeds 2^30 - 1, the largest the varint can carry (RFC 9420 §2.1.2).
    #[error("length {0} exceeds the 2^30 - 1 limit")]
    LengthTooLarge(usize),
    /// Bytes were left after the value was complete.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    /// A field holds a value the wire format does not allow.
    #[error("invalid {field}: {value}")]
    InvalidValue {
        /// The field, in the RFC's words.
        field: &'static str,
        /// The value that was read.
        value: u64,
    },
    /// Decoding would take more memory than the budget allows (or a count
    /// exceeds a configured limit).
    #[error(transparent)]
    Limit(#[from] LimitExceeded),
}

/// Decoded memory a reader allows per input byte (at least 4 KiB of
/// input is assumed). Byte strings decode at one byte per byte and are not
/// charged; each structured item is charged its `size_of`.
pub const AMPLIFICATION: usize = 8;

/// Encoding produced a vector longer than 2^30 - 1 bytes (RFC 9420 §2.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("an encoded vector exceeds the 2^30 - 1 byte limit (RFC 9420 §2.1.2)")]
pub struct EncodeError;

thread_local! {
    static OVERSIZED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, an encoding, and fails if any vector it wrote on this thread
/// was too long to carry a length prefix. Values built from peers' parts
/// are encoded through this, so an oversized one is an error, not a panic
/// (encodings on other threads, such as parallel tree hashing, yield bytes
/// no peer accepts and a hash that matches nothing).
pub fn checked<R>(f: impl FnOnce() -> R) -> Result<R, EncodeError> {
    let outer = OVERSIZED.with(|o| o.replace(false));
    let value = f();
    let oversized = OVERSIZED.with(|o| o.replace(outer));
    if oversized {
        OVERSIZED.with(|o| o.set(true));
        return Err(EncodeError);
    }
    Ok(value)
}

/// Marks this thread's current encoding oversized.
fn mark_oversized() {
    OVERSIZED.with(|o| o.set(true));
}

/// Largest length a variable-size vector may declare (RFC 9420 §2.1.2).
pub const MAX_VARINT: u64 = (1 << 30) - 1;

/// A cursor over untrusted bytes. It never reads past its end.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
    /// Decoded memory still allowed, and the budget it started from.
    budget: usize,
    max: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `bytes` with the default budget of decoded memory,
    /// [`AMPLIFICATION`] times its length.
    pub fn new(bytes: &'a [u8]) -> Self {
        let budget = bytes.len().max(4096).saturating_mul(AMPLIFICATION);
        Self { rest: bytes, budget, max: budget }
    }

    /// Charges `bytes` of decoded memory to the budget.
    pub fn charge(&mut self, bytes: usize) -> Result<(), DecodeError> {
        match self.budget.checked_sub(bytes) {
            Some(left) => {
                self.budget = left;
                Ok(())
            }
            None => Err(LimitExceeded {
                limit: Limit::DecodedBytes,
                value: (self.max - self.budget).saturating_add(bytes) as u64,
                max: self.max as u64,
            }
            .into()),
        }
    }

    /// Reads a `uint32` count of items that take at least `min_item_len`
    /// bytes each, refusing a count the remaining bytes cannot hold, so no
    /// allocation is ever sized by a damaged count.
    pub fn read_count(&mut self, min_item_len: usize) -> Result<usize, DecodeError> {
        let count = u32::decode(self)? as usize;
        let needed = count.saturating_mul(min_item_len.max(1));
        if needed > self.remaining() {
            return Err(DecodeError::Truncated { needed, available: self.remaining() });
        }
        Ok(count)
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The bytes not yet read, without consuming them.
    pub fn peek_rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.rest.len() {
            return Err(DecodeError::Truncated { needed: n, available: self.rest.len() });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    /// Takes exactly `N` bytes as an array.
    pub fn take_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// Reads a variable-length integer (RFC 9420 §2.1.2), rejecting the
    /// reserved prefix and non-minimal encodings.
    pub fn read_varint(&mut self) -> Result<u64, DecodeError> {
        let first = self.take(1)?[0];
        let (len, value) = match first >> 6 {
            0 => return Ok(u64::from(first & 0x3f)),
            1 => (2usize, u64::from(first & 0x3f)),
            2 => (4usize, u64::from(first & 0x3f)),
            _ => return Err(DecodeError::VarintReservedPrefix),
        };
        let value = self.take(len - 1)?.iter().fold(value, |v, b| (v << 8) | u64::from(*b));
        let minimal = if len == 2 { value >= 64 } else { value >= 16384 };
        if !minimal {
            return Err(DecodeError::VarintNotMinimal);
        }
        Ok(value)
    }

    /// Reads a varint length prefix and returns a sub-reader over exactly
    /// that many bytes; the length is checked against what remains first.
    pub fn sub_reader(&mut self) -> Result<Reader<'a>, DecodeError> {
        let len = self.read_varint()?;
        // A 4-byte varint tops out at 2^30 - 1, so `len` always fits a usize.
        let bytes = self.take(len as usize)?;
        Ok(Reader { rest: bytes, budget: self.budget, max: self.max })
    }

    /// Reads a varint-prefixed opaque byte string without copying it.
    pub fn read_bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        Ok(self.sub_reader()?.rest)
    }

    /// Fails unless everything has been read.
    pub fn finish(self) -> Result<(), DecodeError> {
        match self.rest.len() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }
}

/// Writes a variable-length integer in its shortest form (RFC 9420 §2.1.2).
/// A value over 2^30 - 1 cannot be written: the encoding is marked
/// oversized (see [`checked`]) and gets four bytes of the reserved `0b11`
/// prefix, which no decoder accepts.
pub fn write_varint(out: &mut Vec<u8>, value: u64) {
    match value {
        0..=63 => out.push(value as u8),
        64..=16383 => out.extend_from_slice(&((value as u16) | 0x4000).to_be_bytes()),
        16384..=MAX_VARINT => out.extend_from_slice(&((value as u32) | 0x8000_0000).to_be_bytes()),
        _ => {
            mark_oversized();
            out.extend_from_slice(&[0xff; 4]);
        }
    }
}

/// Number of bytes [`write_varint`] uses for `value`.
pub fn varint_len(value: u64) -> usize {
    match value {
        0..=63 => 1,
        64..=16383 => 2,
        _ => 4,
    }
}

/// Writes a varint length prefix, then whatever `body` writes, without
/// encoding the body twice: the prefix is patched in afterwards.
pub fn write_prefixed(out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    body(out);
    let len = (out.len() - start - 4) as u64;
    if len > MAX_VARINT {
        mark_oversized();
        out[start..start + 4].copy_from_slice(&[0xff; 4]);
        return;
    }
    let prefix_len = varint_len(len);
    // The prefix goes through a stack buffer, not a heap Vec: this runs
    // for every length-prefixed field of every encoding.
    let prefix = match prefix_len {
        1 => [len as u8, 0, 0, 0],
        2 => {
            let [a, b] = ((len as u16) | 0x4000).to_be_bytes();
            [a, b, 0, 0]
        }
        _ => ((len as u32) | 0x8000_0000).to_be_bytes(),
    };
    if prefix_len < 4 {
        out.copy_within(start + 4.., start + prefix_len);
        out.truncate(out.len() - (4 - prefix_len));
    }
    out[start..start + prefix_len].copy_from_slice(&prefix[..prefix_len]);
    debug_assert_eq!(out.len() - start, prefix_len + len as usize);
}

/// Writes a varint-prefixed opaque byte string.
pub fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A value with a TLS presentation-language encoding.
pub trait Encode {
    /// Appends the encoding of `self` to `out`.
    fn encode(&self, out: &mut Vec<u8>);

    /// The encoding as a fresh buffer.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Encodes a slice of values back to back. `u8` overrides this with a
    /// single copy, which makes `Vec<u8>` an efficient `opaque<V>`.
    fn encode_all(items: &[Self], out: &mut Vec<u8>)
    where
        Self: Sized,
    {
        for item in items {
            item.encode(out);
        }
    }
}

/// A value that can be read back from its TLS presentation-language encoding.
pub trait Decode: Sized {
    /// Reads one value from `r`.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes a whole byte string, rejecting trailing bytes.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let value = Self::decode(&mut r)?;
        r.finish()?;
        Ok(value)
    }

    /// Decodes values until `r` is exhausted, charging each to the
    /// budget. `u8` overrides this with a single copy; the default never
    /// reserves more than the input holds.
    fn decode_all(r: &mut Reader<'_>) -> Result<Vec<Self>, DecodeError> {
        let mut items = Vec::new();
        while !r.is_empty() {
            r.charge(size_of::<Self>())?;
            items.push(Self::decode(r)?);
        }
        Ok(items)
    }
}

macro_rules! uint_codec {
    ($($t:ty),*) => {$(
        impl Encode for $t {
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_be_bytes());
            }
        }
        impl Decode for $t {
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(<$t>::from_be_bytes(r.take_array()?))
            }
        }
    )*};
}
uint_codec!(u16, u32, u64);

impl Encode for u8 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(*self);
    }
    fn encode_all(items: &[Self], out: &mut Vec<u8>) {
        out.extend_from_slice(items);
    }
}

impl Decode for u8 {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(r.take(1)?[0])
    }
    fn decode_all(r: &mut Reader<'_>) -> Result<Vec<Self>, DecodeError> {
        let bytes = r.peek_rest().to_vec();
        r.rest = &[];
        Ok(bytes)
    }
}

/// `T value<V>`: a varint byte length, then the elements (RFC 9420 §2.1.2).
impl<T: Encode> Encode for Vec<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        write_prefixed(out, |out| T::encode_all(self, out));
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut sub = r.sub_reader()?;
        let items = T::decode_all(&mut sub)?;
        r.budget = sub.budget;
        Ok(items)
    }
}

/// A boxed slice is a vector that will not grow (8 bytes smaller): the same
/// `T value<V>`.
impl<T: Encode> Encode for Box<[T]> {
    fn encode(&self, out: &mut Vec<u8>) {
        write_prefixed(out, |out| T::encode_all(self, out));
    }
}

impl<T: Decode> Decode for Box<[T]> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Vec::decode(r)?.into_boxed_slice())
    }
}

/// A boxed value encodes as the value.
impl<T: Encode> Encode for Box<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        (**self).encode(out);
    }
}

/// `optional<T>`: a presence octet 0 or 1, then the value (RFC 9420 §2.1.1).
impl<T: Encode> Encode for Option<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                v.encode(out);
            }
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode(r)? {
            0 => Ok(None),
            1 => Ok(Some(T::decode(r)?)),
            v => Err(DecodeError::InvalidValue { field: "optional presence", value: u64::from(v) }),
        }
    }
}

/// Declares a struct whose wire form is its fields in order, with `Encode`
/// and `Decode`. Most MLS structs are exactly that.
#[macro_export]
#[doc(hidden)]
macro_rules! wire_struct {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field: $ty ),*
        }
        impl $crate::codec::Encode for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                $( $crate::codec::Encode::encode(&self.$field, out); )*
            }
        }
        impl $crate::codec::Decode for $name {
            fn decode(r: &mut $crate::codec::Reader<'_>) -> Result<Self, $crate::codec::DecodeError> {
                Ok(Self { $( $field: <$ty as $crate::codec::Decode>::decode(r)? ),* })
            }
        }
    };
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Class 5 of issue 12: a length over 2^30 - 1 panicked; now the
    /// encoding is marked and `checked` reports it, and the bytes written
    /// carry the reserved prefix no decoder accepts.
    #[test]
    fn an_oversized_length_is_an_error_not_a_panic() {
        let mut out = Vec::new();
        assert_eq!(checked(|| write_varint(&mut out, MAX_VARINT + 1)), Err(EncodeError));
        assert_eq!(Reader::new(&out).read_varint(), Err(DecodeError::VarintReservedPrefix));
        let mut fine = Vec::new();
        assert_eq!(checked(|| write_varint(&mut fine, MAX_VARINT)), Ok(()));
        // The mark does not leak into the next encoding.
        assert_eq!(checked(|| write_varint(&mut fine, 1)), Ok(()));
    }

    #[test]
    fn varint_boundaries_round_trip() {
        for v in [0u64, 1, 63, 64, 16383, 16384, MAX_VARINT] {
            let mut out = Vec::new();
            write_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v));
            let mut r = Reader::new(&out);
            assert_eq!(r.read_varint().unwrap(), v);
            assert!(r.is_empty());
        }
    }

    #[test]
    fn varint_rejects_reserved_and_non_minimal() {
        assert_eq!(Reader::new(&[0xc0]).read_varint(), Err(DecodeError::VarintReservedPrefix));
        assert_eq!(Reader::new(&[0x40, 0x25]).read_varint(), Err(DecodeError::VarintNotMinimal));
        assert_eq!(Reader::new(&[0x80, 0x00, 0x3f, 0xff]).read_varint(), Err(DecodeError::VarintNotMinimal));
        // RFC 9420 §2.1.2 example: 0x9d7f3e7d decodes to 494,878,333.
        assert_eq!(Reader::new(&[0x9d, 0x7f, 0x3e, 0x7d]).read_varint(), Ok(494_878_333));
    }

    #[test]
    fn oversized_length_is_truncation_not_allocation() {
        // Claims 2^30 - 1 bytes, carries 2.
        let bytes = [0xbf, 0xff, 0xff, 0xff, 1, 2];
        assert!(matches!(Vec::<u8>::from_bytes(&bytes), Err(DecodeError::Truncated { .. })));
        assert!(matches!(Vec::<u32>::from_bytes(&bytes), Err(DecodeError::Truncated { .. })));
    }

    #[test]
    fn vectors_must_end_on_element_boundary() {
        // 3 bytes declared for u16 elements.
        assert!(matches!(Vec::<u16>::from_bytes(&[3, 0, 1, 2]), Err(DecodeError::Truncated { .. })));
    }

    #[test]
    fn optional_and_trailing_bytes() {
        assert_eq!(Option::<u8>::from_bytes(&[0]), Ok(None));
        assert_eq!(Option::<u8>::from_bytes(&[1, 7]), Ok(Some(7)));
        assert!(matches!(Option::<u8>::from_bytes(&[2]), Err(DecodeError::InvalidValue { .. })));
        assert_eq!(u16::from_bytes(&[0, 1, 2]), Err(DecodeError::TrailingBytes(1)));
    }

    #[test]
    fn prefixed_bodies_of_every_prefix_size() {
        for n in [0usize, 63, 64, 16383, 16384, 70000] {
            let body = vec![0xabu8; n];
            let enc = body.to_bytes();
            assert_eq!(enc.len(), varint_len(n as u64) + n);
            assert_eq!(Vec::<u8>::from_bytes(&enc).unwrap(), body);
        }
    }
}

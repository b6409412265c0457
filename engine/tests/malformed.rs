//! Bad input never panics: every truncation of every message of
//! `messages.json` case 0 is a decode error, and seeded random byte flips
//! either fail to decode or decode to a value that re-encodes to exactly
//! the flipped bytes (the encoding is canonical, RFC 9420 §2.1.2).
#![allow(clippy::unwrap_used)]

#[path = "../kat/mod.rs"]
mod kat;

use throng::internals::codec::{Decode, Encode};
use throng::messages::{
    Add, Commit, ExternalInit, GroupContextExtensions, GroupSecrets, MlsMessage, PreSharedKey, RatchetTreeExtension,
    ReInit, Remove, Update,
};

/// Tiny deterministic PRNG (xorshift64*), enough to pick flip positions.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One field of case 0 and the decoder for its type: `Ok(Some(re-encoding))`
/// when it decodes.
struct Field {
    name: &'static str,
    bytes: Vec<u8>,
    decode: fn(&[u8]) -> Option<Vec<u8>>,
}

fn decoder<T: Decode + Encode>(bytes: &[u8]) -> Option<Vec<u8>> {
    T::from_bytes(bytes).ok().map(|v| v.to_bytes())
}

fn case0() -> Vec<Field> {
    let json = std::fs::read_to_string(kat::vectors_dir().join("messages.json")).unwrap();
    let cases: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_str(&json).unwrap();
    let case = &cases[0];
    let field = |name: &'static str, decode: fn(&[u8]) -> Option<Vec<u8>>| Field {
        name,
        bytes: kat::hex(case[name].as_str().unwrap()),
        decode,
    };
    vec![
        field("mls_welcome", decoder::<MlsMessage>),
        field("mls_group_info", decoder::<MlsMessage>),
        field("mls_key_package", decoder::<MlsMessage>),
        field("ratchet_tree", decoder::<RatchetTreeExtension>),
        field("group_secrets", decoder::<GroupSecrets>),
        field("add_proposal", decoder::<Add>),
        field("update_proposal", decoder::<Update>),
        field("remove_proposal", decoder::<Remove>),
        field("pre_shared_key_proposal", decoder::<PreSharedKey>),
        field("re_init_proposal", decoder::<ReInit>),
        field("external_init_proposal", decoder::<ExternalInit>),
        field("group_context_extensions_proposal", decoder::<GroupContextExtensions>),
        field("commit", decoder::<Commit>),
        field("public_message_application", decoder::<MlsMessage>),
        field("public_message_proposal", decoder::<MlsMessage>),
        field("public_message_commit", decoder::<MlsMessage>),
        field("private_message", decoder::<MlsMessage>),
    ]
}

#[test]
fn every_truncation_is_an_error() {
    for f in case0() {
        assert_eq!((f.decode)(&f.bytes).as_deref(), Some(&f.bytes[..]), "{}: the intact bytes round-trip", f.name);
        for len in 0..f.bytes.len() {
            assert!((f.decode)(&f.bytes[..len]).is_none(), "{}: truncated to {len} bytes decoded", f.name);
        }
    }
}

#[test]
fn byte_flips_never_panic_and_stay_canonical() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut decoded = 0usize;
    let mut total = 0usize;
    for f in case0() {
        for _ in 0..300 {
            let mut bytes = f.bytes.clone();
            // One to three flipped bytes, each XORed with a non-zero mask.
            for _ in 0..=rng.below(3) {
                let at = rng.below(bytes.len());
                bytes[at] ^= 1 + rng.below(255) as u8;
            }
            total += 1;
            if let Some(again) = (f.decode)(&bytes) {
                decoded += 1;
                assert_eq!(again, bytes, "{}: a flipped encoding decoded to a different value", f.name);
            }
        }
    }
    println!("{decoded} of {total} flipped inputs still decoded");
}

#[test]
fn appended_bytes_are_an_error() {
    for f in case0() {
        let mut bytes = f.bytes.clone();
        bytes.push(0);
        assert!((f.decode)(&bytes).is_none(), "{}: a trailing byte was accepted", f.name);
    }
}

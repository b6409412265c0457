//! `deserialization.json`: variable-length vector headers (RFC 9420 §2.1.2)
//! decode to the stated length and re-encode to the same header.

use serde::Deserialize;
use throng::internals::codec::{Reader, write_varint};

use super::{CaseError, Outcome, check_eq, hex_bytes};

#[derive(Deserialize)]
struct Case {
    #[serde(with = "hex_bytes")]
    vlbytes_header: Vec<u8>,
    length: u64,
}

pub fn run(json: &str) -> Result<Outcome, String> {
    super::run_cases(json, check_case)
}

fn check_case(c: &Case) -> Result<(), CaseError> {
    let mut r = Reader::new(&c.vlbytes_header);
    let length = r.read_varint()?;
    check_eq("decoded length", &length, &c.length)?;
    check_eq("bytes left after the header", &r.remaining(), &0)?;
    let mut header = Vec::new();
    write_varint(&mut header, length);
    check_eq("re-encoded header", &header, &c.vlbytes_header)
}

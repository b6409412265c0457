//! The ratchet tree (RFC 9420 §4, §7).

pub mod math;

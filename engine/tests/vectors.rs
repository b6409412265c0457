//! The MLS working group's test vectors, one test per family, every case
//! for every cipher suite the default provider implements.

#[path = "../kat/mod.rs"]
mod kat;

#[test]
fn tree_math() {
    kat::assert_family("tree-math.json");
}

#[test]
fn messages() {
    kat::assert_family("messages.json");
}

#[test]
fn deserialization() {
    kat::assert_family("deserialization.json");
}

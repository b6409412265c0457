//! The MLS working group's test vectors, one test per family, every case
//! for every cipher suite the default provider implements.

#[path = "../kat/mod.rs"]
mod kat;

#[test]
fn tree_math() {
    kat::assert_family("tree-math.json");
}

#[test]
fn secret_tree() {
    kat::assert_family("secret-tree.json");
}

#[test]
fn key_schedule() {
    kat::assert_family("key-schedule.json");
}

#[test]
fn psk_secret() {
    kat::assert_family("psk_secret.json");
}

//! Writes the fuzzing fixture (`fuzz/fixture/cs1-public.bin`) and seed
//! corpora of genuine inputs made with it (`fuzz/corpus/<target>/`).
//!
//! `cargo run --release -p throng-robustness --example seed_corpus`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use throng_robustness::fixtures::Fixture;

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn main() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let fx = Fixture::build(1, false).unwrap();
    write(&fuzz.join("fixture"), "cs1-public.bin", &fx.save().unwrap());
    let corpus = fuzz.join("corpus");
    let _ = std::fs::remove_dir_all(&corpus);
    for (i, g) in fx.messages.iter().enumerate() {
        write(&corpus.join("decode"), g.name, &g.bytes);
        let mut selected = vec![i as u8];
        selected.extend_from_slice(&g.bytes);
        write(&corpus.join("process_message"), g.name, &selected);
        write(&corpus.join("registry_handle"), g.name, &selected);
    }
    for (name, bytes) in [("welcome", &fx.welcome), ("group_info", &fx.group_info), ("key_package", &fx.key_package)] {
        write(&corpus.join("decode"), name, bytes);
    }
    write(&corpus.join("join_welcome"), "welcome", &fx.welcome);
    write(&corpus.join("join_external"), "group_info", &fx.group_info);
    write(&corpus.join("registry_create_group"), "group_info", &fx.group_info);
    write(&corpus.join("tree_import"), "tree", &fx.tree);
    write(&corpus.join("key_package"), "key_package", &fx.key_package);
    write(&corpus.join("state_import"), "member", &fx.member_state);
    write(&corpus.join("state_import"), "public", &fx.public_state);
    println!("wrote {}", fuzz.display());
}

//! The fuzz crate's committed fixture (fuzz/fixture/cs1-public.bin) loads,
//! and every seed input made with it is accepted as genuine by its target:
//! the seed corpora reach past authentication. A fixture that saves and
//! loads again gives the same inputs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use throng_robustness::fixtures::Fixture;
use throng_robustness::fuzzing::FIXTURE_FILE;
use throng_robustness::mutators::Expect;
use throng_robustness::targets::{self, Outcome, ServerFixture};

fn genuine(o: targets::Checked) {
    assert_eq!(o, Ok(Outcome::Accepted("genuine input".into())));
}

fn all_genuine_accepted(fx: &Fixture) {
    for g in &fx.messages {
        genuine(targets::process_message(g, &g.bytes, Expect::Reject, false, false));
        if !fx.private_handshakes {
            let server = ServerFixture::new(fx, g).unwrap();
            let (o, _) = targets::registry_handle(&server, g, &g.bytes, Expect::Reject, false);
            if g.name != "application" {
                genuine(o);
            }
        }
    }
    genuine(targets::join_welcome(fx, &fx.welcome, None, Expect::Reject));
    genuine(targets::join_external(fx, &fx.group_info, Expect::Reject));
    genuine(targets::registry_create_group(fx, &fx.group_info, Expect::Reject));
    genuine(targets::tree_import(fx, &fx.tree, Expect::Reject));
    genuine(targets::key_package(fx, &fx.key_package, Expect::Reject));
    genuine(targets::state_import(fx, &fx.member_state, Expect::Reject));
    genuine(targets::state_import(fx, &fx.public_state, Expect::Reject));
}

#[test]
fn committed_fuzz_fixture_is_valid() {
    let bytes = std::fs::read(FIXTURE_FILE).expect("run the seed_corpus example");
    all_genuine_accepted(&Fixture::load(&bytes).unwrap());
}

#[test]
fn fixtures_save_and_load() {
    let fx = Fixture::build(3, true).unwrap();
    let loaded = Fixture::load(&fx.save().unwrap()).unwrap();
    assert_eq!(loaded.messages.len(), fx.messages.len());
    assert_eq!(loaded.welcome, fx.welcome);
    all_genuine_accepted(&loaded);
}

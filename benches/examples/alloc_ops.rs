//! Group operations repeated on a 1-thread pool, for instruction and
//! allocation counts under callgrind (malloc/free calls and their share):
//!
//! ```text
//! cargo build --release -p throng-benches --example alloc_ops
//! valgrind --tool=callgrind --toggle-collect='alloc_ops::measured*' \
//!     target/release/examples/alloc_ops commit 1000 20
//! ```
//!
//! Operations: `commit` (B's warm commit, encoded and merged), `process`
//! (C decodes, stages and merges it), `build` (a creator adds n - 1 key
//! packages: the large Welcome), `join` (C decodes that Welcome and tree).

// A bench that cannot set up or run its operation must stop, not carry on.
#![allow(clippy::expect_used)]

use std::hint::black_box;

use throng_benches::group_fixtures::{GroupFixture, Op};
use throng_benches::peer::Peer;
use throng_benches::peers::throng::Throng;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let op = args.get(1).map_or("commit", String::as_str).to_string();
    let members = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let iterations: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
    pool.install(|| {
        let f = GroupFixture::build(members);
        let mut peer = Throng::default();
        let mut setup = Throng::default();
        match op.as_str() {
            "commit" => {
                for _ in 0..iterations {
                    let mut b = setup.fork(&f.warm.b).expect("fork");
                    let out = measured_commit(&mut peer, &mut b, &f);
                    drop((b, out));
                }
            }
            "process" => {
                let mut b = setup.fork(&f.warm.b).expect("fork");
                let commit = Op::Update.commit(&mut setup, &mut b, &f);
                for _ in 0..iterations {
                    let mut c = setup.fork(&f.warm.c).expect("fork");
                    measured_process(&mut peer, &mut c, &commit);
                    drop(c);
                }
            }
            "build" => {
                for _ in 0..iterations {
                    let creator = setup.client(0).expect("creator").0;
                    let out = measured_build(&mut peer, creator, &f.key_packages);
                    drop(out);
                }
            }
            "join" => {
                for _ in 0..iterations {
                    let client = f.joiner.clone();
                    let out = measured_join(&mut peer, client, &f.welcome, &f.tree);
                    drop(out);
                }
            }
            other => panic!("unknown operation {other}"),
        }
    });
}

#[inline(never)]
fn measured_commit(peer: &mut Throng, b: &mut throng::Group, f: &GroupFixture) -> Vec<u8> {
    black_box(Op::Update.commit(peer, b, f))
}

#[inline(never)]
fn measured_process(peer: &mut Throng, c: &mut throng::Group, commit: &[u8]) {
    peer.process(c, commit).expect("process");
}

#[inline(never)]
fn measured_build(
    peer: &mut Throng,
    creator: throng_benches::peers::throng::Client,
    key_packages: &[Vec<u8>],
) -> (throng::Group, Vec<u8>) {
    black_box(peer.build(creator, key_packages).expect("build"))
}

#[inline(never)]
fn measured_join(
    peer: &mut Throng,
    client: throng_benches::peers::throng::Client,
    welcome: &[u8],
    tree: &[u8],
) -> throng::Group {
    black_box(peer.join(client, welcome, tree).expect("join"))
}

//! Runs one tree operation a fixed number of times, for instruction counts
//! under valgrind, which stay comparable on a machine shared with other
//! work where wall time does not (docs/STYLE.md 10):
//!
//! ```text
//! cargo build --release -p throng-benches --example instructions
//! valgrind --tool=callgrind --toggle-collect='instructions::measured*' \
//!     target/release/examples/instructions hash_commit 1000 full 100
//! ```
//!
//! Operations: `hash_commit` (stage an UpdatePath, rehash to the root),
//! `merge_commit` (the same, merged), `create` (an UpdatePath), `apply_far`.

// A bench that cannot set up or run its operation must stop, not carry on.
#![allow(clippy::expect_used)]

use std::hint::black_box;

use throng::internals::tree::RatchetTree;
use throng::internals::treekem::{apply_update_path, create_update_path};
use throng::messages::UpdatePath;
use throng_benches::tree_fixtures::{self, Shape, TreeFixture};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let op = args.get(1).map_or("hash_commit", String::as_str);
    let leaves = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let shape = if args.get(3).is_some_and(|s| s == "blank25") { Shape::QuarterBlank } else { Shape::Full };
    let iterations = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(100);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
    pool.install(|| {
        let f = tree_fixtures::build(leaves, shape, 1);
        let path = sample_path(&f);
        let mut tree = f.tree.clone();
        measured(op, &f, &path, &mut tree, iterations);
    });
}

fn sample_path(f: &TreeFixture) -> UpdatePath {
    let mut staged = f.tree.stage();
    create_update_path(
        &f.suite,
        &mut staged,
        f.sender.leaf,
        f.sender.leaf_node.clone(),
        &f.sender.signer,
        &f.group_id,
        &[],
        |th| f.group_context(th),
    )
    .expect("create")
    .update_path
}

#[inline(never)]
fn measured(op: &str, f: &TreeFixture, path: &UpdatePath, tree: &mut RatchetTree, iterations: u32) {
    let suite = &f.suite;
    let keys: Vec<_> = path.nodes.iter().map(|n| n.encryption_key.clone()).collect();
    for _ in 0..iterations {
        match op {
            "hash_commit" => {
                let mut staged = f.tree.stage();
                staged.apply_path(suite, f.sender.leaf, &keys).expect("apply");
                staged.set_path_leaf(f.sender.leaf, path.leaf_node.clone());
                black_box(staged.root_hash(suite));
            }
            "merge_commit" => {
                let mut staged = tree.stage();
                staged.apply_path(suite, f.sender.leaf, &keys).expect("apply");
                staged.set_path_leaf(f.sender.leaf, path.leaf_node.clone());
                let diff = staged.into_diff();
                tree.merge(suite, diff);
            }
            "create" => {
                let mut staged = f.tree.stage();
                black_box(
                    create_update_path(
                        suite,
                        &mut staged,
                        f.sender.leaf,
                        f.sender.leaf_node.clone(),
                        &f.sender.signer,
                        &f.group_id,
                        &[],
                        |th| f.group_context(th),
                    )
                    .expect("create"),
                );
            }
            "apply_far" => {
                let mut staged = f.tree.stage();
                black_box(
                    apply_update_path(suite, &mut staged, f.sender.leaf, path, &f.far.private, &[], |th| {
                        f.group_context(th)
                    })
                    .expect("apply"),
                );
            }
            other => panic!("unknown operation {other}"),
        }
    }
}

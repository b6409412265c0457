//! Ratchet tree and TreeKEM benches at 1,000, 10,000 and 100,000 leaves,
//! on a full tree and on one with a quarter of its leaves blank, each on a
//! one-thread and an all-threads rayon pool, next to the crypto floor
//! (the primitives those operations cannot avoid) measured in the same run.
//!
//! `THRONG_BENCH_SIZES=1000,10000` limits the sizes (fixtures are built
//! only for those); criterion's usual filter picks benches. With
//! `--profile-time SECS` criterion runs the selected benches under pprof
//! and writes `flamegraph.svg` into `target/criterion/<bench>/profile/`.

// A bench that cannot set up or run its operation must stop, not carry on.
#![allow(clippy::expect_used)]

mod flamegraph;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};
use throng::internals::tree::{RatchetTree, TreeView};
use throng::internals::treekem::{apply_update_path, create_update_path};
use throng::messages::UpdatePath;
use throng_benches::tree_fixtures::{self, Member, Shape, TreeFixture};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_SIZES: [u32; 3] = [1_000, 10_000, 100_000];
const SEED: u64 = 0x7468_726f_6e67; // "throng"

fn sizes() -> Vec<u32> {
    match std::env::var("THRONG_BENCH_SIZES") {
        Ok(list) => list.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        Err(_) => DEFAULT_SIZES.to_vec(),
    }
}

/// One pool of one thread and one of every core (if there is more than
/// one), labelled by thread count.
fn pools() -> Vec<(usize, ThreadPool)> {
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut counts = vec![1];
    if all > 1 {
        counts.push(all);
    }
    counts.into_iter().map(|k| (k, ThreadPoolBuilder::new().num_threads(k).build().expect("thread pool"))).collect()
}

/// Short measurements: the whole bench must fit well inside 20 minutes on
/// two cores; 100k-leaf benches of whole-tree work get a flat sampling mode
/// so that ten samples of one iteration each are enough.
fn configure(group: &mut BenchmarkGroup<'_, WallTime>, leaves: u32, whole_tree: bool) {
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    if whole_tree && leaves >= 10_000 {
        group.sampling_mode(SamplingMode::Flat);
        group.measurement_time(Duration::from_secs(if leaves >= 100_000 { 1 } else { 2 }));
    } else {
        group.measurement_time(Duration::from_secs(2));
    }
}

fn id(f: &TreeFixture, threads: usize) -> BenchmarkId {
    BenchmarkId::new(format!("{}-{}", f.leaves, f.shape.name()), format!("{threads}t"))
}

/// An UpdatePath from the fixture's sender, made once for the apply and
/// hash-update benches; the fixture's tree is left as it was.
fn sample_path(f: &TreeFixture) -> UpdatePath {
    let mut staged = f.tree.stage();
    let created = create_update_path(
        &f.suite,
        &mut staged,
        f.sender.leaf,
        f.sender.leaf_node.clone(),
        &f.sender.signer,
        &f.group_id,
        &[],
        |th| f.group_context(th),
    )
    .expect("create update path");
    created.update_path
}

fn bench_fixture(c: &mut Criterion, f: &TreeFixture, pools: &[(usize, ThreadPool)]) {
    let suite = &f.suite;
    let path = sample_path(f);
    let path_keys: Vec<_> = path.nodes.iter().map(|n| n.encryption_key.clone()).collect();
    eprintln!(
        "fixture {}-{}: {} members, filtered direct path of the sender {} nodes, built in {:.1} s",
        f.leaves,
        f.shape.name(),
        f.members,
        path.nodes.len(),
        f.build_time.as_secs_f64()
    );

    for (threads, pool) in pools {
        let threads = *threads;
        {
            // 1. Tree hash of every node from scratch (§7.8), as an import does.
            let mut g = c.benchmark_group("tree_hash_scratch");
            configure(&mut g, f.leaves, true);
            let mut tree = f.tree.clone();
            g.bench_function(id(f, threads), |b| on_pool(b, pool, || tree.rehash(suite)));
            g.finish();
            drop(tree);

            // 2. The cached hash update of one commit: stage the sender's
            //    UpdatePath (parent hashes, §7.9), set its leaf, rehash the
            //    changed path up to the root (§7.8).
            let mut g = c.benchmark_group("tree_hash_commit");
            configure(&mut g, f.leaves, false);
            g.bench_function(id(f, threads), |b| {
                on_pool(b, pool, || {
                    let mut staged = f.tree.stage();
                    staged.apply_path(suite, f.sender.leaf, &path_keys).expect("apply path");
                    staged.set_path_leaf(f.sender.leaf, path.leaf_node.clone());
                    staged.root_hash(suite)
                })
            });
            g.finish();

            // 2b. The same commit merged into the tree (writes, index, hash
            //     cache). Merging the same path again is idempotent, so one
            //     clone of the tree serves every iteration.
            let mut g = c.benchmark_group("tree_merge_commit");
            configure(&mut g, f.leaves, false);
            let mut tree = f.tree.clone();
            g.bench_function(id(f, threads), |b| {
                on_pool(b, pool, || {
                    let mut staged = tree.stage();
                    staged.apply_path(suite, f.sender.leaf, &path_keys).expect("apply path");
                    staged.set_path_leaf(f.sender.leaf, path.leaf_node.clone());
                    let diff = staged.into_diff();
                    tree.merge(suite, diff);
                })
            });
            g.finish();
            drop(tree);

            // 3. Creating an UpdatePath (§7.4–§7.6) on a fresh stage.
            let mut g = c.benchmark_group("update_path_create");
            configure(&mut g, f.leaves, false);
            g.bench_function(id(f, threads), |b| {
                on_pool(b, pool, || {
                    let mut staged = f.tree.stage();
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
                    .expect("create update path")
                })
            });
            g.finish();

            // 4. Applying it (§7.5): the far receiver decrypts at the root
            //    (half of all receivers), the near one derives the whole path.
            for (name, receiver) in [("update_path_apply_far", &f.far), ("update_path_apply_near", &f.near)] {
                let mut g = c.benchmark_group(name);
                configure(&mut g, f.leaves, false);
                g.bench_function(id(f, threads), |b| on_pool(b, pool, || apply(f, &path, receiver)));
                g.finish();
            }

            // 5. What a joiner does with the ratchet_tree extension:
            //    import (shape, index, every hash) and validate (§12.4.3.1:
            //    leaf rules and signatures, unmerged leaves, parent hashes),
            //    and the signature checks alone, for the split.
            let mut g = c.benchmark_group("join_import");
            configure(&mut g, f.leaves, true);
            g.bench_function(id(f, threads), |b| {
                on_pool(b, pool, || RatchetTree::import(suite, &f.nodes).expect("import"))
            });
            g.finish();

            let rules = tree_fixtures::leaf_rules();
            let mut g = c.benchmark_group("join_validate");
            configure(&mut g, f.leaves, true);
            g.bench_function(id(f, threads), |b| {
                on_pool(b, pool, || f.tree.validate(suite, &f.group_id, &rules).expect("validate"))
            });
            g.finish();

            let members = f.tree.members();
            let mut g = c.benchmark_group("join_leaf_signatures");
            configure(&mut g, f.leaves, true);
            g.bench_function(id(f, threads), |b| {
                on_pool(b, pool, || {
                    members
                        .par_iter()
                        .try_for_each(|(i, leaf)| leaf.verify_signature(suite, Some((&f.group_id, *i))))
                        .expect("signature")
                })
            });
            g.finish();
        }
    }
}

/// Times `iters` runs of `op` on `pool`'s own thread, so that the work and
/// every parallel call inside it stay on that pool, and crossing into the
/// pool is paid once per sample rather than per iteration. Outputs are
/// dropped inside the timing, as a caller would drop them.
fn on_pool<O>(b: &mut criterion::Bencher<'_>, pool: &ThreadPool, mut op: impl FnMut() -> O + Send) {
    b.iter_custom(|iters| {
        pool.install(|| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(op());
            }
            start.elapsed()
        })
    });
}

fn apply(f: &TreeFixture, path: &UpdatePath, receiver: &Member) -> throng::internals::treekem::AppliedPath {
    let mut staged = f.tree.stage();
    apply_update_path(&f.suite, &mut staged, f.sender.leaf, path, &receiver.private, &[], |th| f.group_context(th))
        .expect("apply update path")
}

/// The primitives a commit cannot avoid, one call each on the bench's main
/// thread (none of them is parallel), through the same `Suite` (aws-lc-rs; HPKE by hpke-rs over aws-lc-rs) the engine uses.
fn bench_crypto_floor(c: &mut Criterion) {
    let suite = tree_fixtures::suite();
    let f = tree_fixtures::build(64, Shape::Full, SEED);
    let context = f.group_context(f.tree.root_hash());
    let secret = vec![0x5a; suite.hash_len()];
    let recipient = suite.derive_key_pair(&[3; 32]).expect("key pair");
    let ciphertext =
        suite.encrypt_with_label(recipient.public.as_bytes(), "UpdatePathNode", &context, &secret).expect("seal");
    let tbs = f.sender.leaf_node.tbs_bytes(Some((&f.group_id, f.sender.leaf))).expect("tbs");
    let signature = suite.sign_with_label(&f.sender.signer, "LeafNodeTBS", &tbs).expect("sign");
    let signature_key = f.sender.leaf_node.signature_key().to_vec();
    let mut leaf_hash_input = vec![1, 0, 0, 0, 0, 1];
    leaf_hash_input.extend_from_slice(&throng::internals::codec::Encode::to_bytes(&f.sender.leaf_node));

    {
        let mut g = c.benchmark_group("crypto_floor");
        g.sample_size(20);
        g.warm_up_time(Duration::from_millis(500));
        g.measurement_time(Duration::from_secs(2));
        g.bench_function("x25519_derive_key_pair", |b| b.iter(|| suite.derive_key_pair(&secret).expect("derive")));
        g.bench_function("node_key_pair", |b| {
            // What TreeKEM does per path node: DeriveSecret then DeriveKeyPair (§7.4).
            b.iter(|| {
                let node = suite.derive_secret(&secret, "node").expect("node secret");
                suite.derive_key_pair(node.as_bytes()).expect("derive")
            })
        });
        g.bench_function("hkdf_derive_secret", |b| b.iter(|| suite.derive_secret(&secret, "path").expect("derive")));
        g.bench_function("hpke_seal", |b| {
            b.iter(|| {
                suite
                    .encrypt_with_label(recipient.public.as_bytes(), "UpdatePathNode", &context, &secret)
                    .expect("seal")
            })
        });
        g.bench_function("hpke_open", |b| {
            b.iter(|| {
                suite.decrypt_with_label(&recipient.private, "UpdatePathNode", &context, &ciphertext).expect("open")
            })
        });
        g.bench_function("ed25519_sign", |b| {
            b.iter(|| suite.sign_with_label(&f.sender.signer, "LeafNodeTBS", &tbs).expect("sign"))
        });
        g.bench_function("ed25519_verify", |b| {
            b.iter(|| suite.verify_with_label(&signature_key, "LeafNodeTBS", &tbs, &signature).expect("verify"))
        });
        g.bench_function("sha256_leaf_hash_input", |b| b.iter(|| suite.hash(&leaf_hash_input)));
        g.finish();
    }
}

fn bench_trees(c: &mut Criterion) {
    let pools = pools();
    let (_, all) = pools.last().expect("at least one pool");
    for leaves in sizes() {
        for shape in [Shape::Full, Shape::QuarterBlank] {
            let fixture = all.install(|| tree_fixtures::build(leaves, shape, SEED));
            bench_fixture(c, &fixture, &pools);
        }
    }
}

fn config() -> Criterion {
    Criterion::default().without_plots().with_profiler(flamegraph::FlameGraph::new())
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_crypto_floor, bench_trees
}
criterion_main!(benches);

//! Export and import of a member's state and of a server's `PublicGroup`
//! (`throng::state`) at 1,000 and 100,000 members: the bytes a backend
//! persists and the time to write and read them back after a restart.
//!
//! The group is built cheaply: the creator adds every member in one commit
//! without a path (KeyPackages generated in parallel), then commits once
//! with a path so that it holds its parent keys. `THRONG_BENCH_SIZES=1000`
//! limits the sizes.

// A bench that cannot set up or run its operation must stop, not carry on.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;
use throng::crypto::{AwsLcProvider, CipherSuite, CryptoProvider};
use throng::internals::group::{CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle};
use throng::messages::{Add, Proposal};
use throng::{PublicGroup, PublicGroupConfig};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_SIZES: [u32; 2] = [1_000, 100_000];

fn sizes() -> Vec<u32> {
    match std::env::var("THRONG_BENCH_SIZES") {
        Ok(list) => list.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        Err(_) => DEFAULT_SIZES.to_vec(),
    }
}

fn config() -> GroupConfig {
    // No tree in the Welcome: nobody joins from it here.
    GroupConfig { ratchet_tree_in_welcome: false, ..GroupConfig::default() }
}

/// The creator's state in a group of `members` members.
fn creator_of(provider: &Arc<dyn CryptoProvider>, members: u32) -> Group {
    let cs = CipherSuite(1);
    let p = &**provider;
    let start = Instant::now();
    let creator = Identity::basic(p, cs, "creator").expect("identity");
    let mut group = Group::create(cs, &creator, b"state bench".to_vec(), vec![], config()).expect("create");
    let adds: Vec<Proposal> = (1..members)
        .into_par_iter()
        .map(|i| {
            let id = Identity::basic(p, cs, format!("member {i}")).expect("identity");
            let bundle = KeyPackageBundle::generate(p, cs, &id).expect("key package");
            Proposal::Add(Add { key_package: bundle.key_package })
        })
        .collect();
    let pending =
        group.commit(CommitOptions { force_path: false, ..CommitOptions::with_proposals(adds) }).expect("commit adds");
    group.merge_pending_commit(pending).expect("merge adds");
    let pending = group.commit(CommitOptions::default()).expect("commit path");
    group.merge_pending_commit(pending).expect("merge path");
    eprintln!("state bench: built a {members}-member group in {:.1} s", start.elapsed().as_secs_f64());
    group
}

fn state(c: &mut Criterion) {
    let provider: Arc<dyn CryptoProvider> = Arc::new(AwsLcProvider);
    let mut bench = c.benchmark_group("state");
    bench.sample_size(10);
    bench.sampling_mode(SamplingMode::Flat);
    bench.warm_up_time(Duration::from_millis(500));
    bench.measurement_time(Duration::from_secs(3));
    for members in sizes() {
        let group = creator_of(&provider, members);
        let bytes = group.export().expect("export");
        let start = Instant::now();
        let imported = Group::import(&bytes, provider.clone(), config()).expect("import");
        eprintln!(
            "state bench: {members} members: {} bytes of state ({:.0} per member), one import {:.1} ms",
            bytes.len(),
            bytes.len() as f64 / f64::from(members),
            start.elapsed().as_secs_f64() * 1e3
        );
        assert_eq!(*imported.export().expect("export"), *bytes, "import then export changed the bytes");
        drop(imported);

        bench.throughput(Throughput::Bytes(bytes.len() as u64));
        // Export includes zeroizing its buffer when dropped: a caller pays
        // that too once the bytes are stored.
        bench.bench_function(BenchmarkId::new("export", members), |b| {
            b.iter(|| black_box(group.export().expect("export")))
        });
        bench.bench_function(BenchmarkId::new("import", members), |b| {
            // The imported group is dropped outside the timing: freeing a
            // 100,000-leaf tree is the old state's cost, not the import's.
            b.iter_with_large_drop(|| Group::import(&bytes, provider.clone(), config()).expect("import"))
        });

        // The server's view of the same epoch.
        let info = group.group_info(true, false).expect("group info");
        let server = PublicGroup::from_group_info(provider.clone(), PublicGroupConfig::default(), &info, None)
            .expect("public group");
        let public = server.export().expect("export");
        eprintln!("state bench: {members} members: {} bytes of public group state", public.len());
        bench.throughput(Throughput::Bytes(public.len() as u64));
        bench.bench_function(BenchmarkId::new("public_export", members), |b| {
            b.iter(|| black_box(server.export().expect("export")))
        });
        bench.bench_function(BenchmarkId::new("public_import", members), |b| {
            b.iter_with_large_drop(|| {
                PublicGroup::import(&public, provider.clone(), PublicGroupConfig::default()).expect("import")
            })
        });
    }
    bench.finish();
}

criterion_group!(benches, state);
criterion_main!(benches);

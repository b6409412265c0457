//! How big Partial MLS AnnotatedCommits are (draft-ietf-mls-partial
//! §"Annotated Commit"), and what in them: a group of N members built by
//! one Add commit (so the creator's path nodes list up to N/2 unmerged
//! leaves each), then a self-update by the member at N/2, annotated by a
//! server for every member but ten. Prints the encoded sizes (min, median,
//! max) of an AnnotatedCommit and of its receiver proof, and the time of one
//! `annotate_encoded` and one `annotate` (one sample each, for orientation
//! only).
//!
//! Each AnnotatedCommit carries the whole commit, which in such a fresh tree
//! encrypts to about N/2 leaves: the annotations of one commit take about
//! N × N/2 × 48 bytes (10,000 members: ~5 GB, twice over). Keep N small.
//!
//! `cargo run --release -p throng --example annotation_sizes -- 1000`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use throng::crypto::{AwsLcProvider, CipherSuite, CryptoProvider};
use throng::internals::codec::Encode;
use throng::internals::group::{CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle, PskStore};
use throng::internals::tree_math::LeafIndex;
use throng::messages::content::MlsMessageBody;
use throng::messages::{Add, Proposal};
use throng::partial::CommitAnnotator;
use throng::{PublicProcessed, TreeView};

fn summary(mut v: Vec<usize>, unit: &str) -> String {
    v.sort_unstable();
    format!("min {} / median {} / max {} {unit}", v[0], v[v.len() / 2], v[v.len() - 1])
}

fn main() {
    let n: u32 = std::env::args().nth(1).map_or(1_000, |a| a.parse().expect("a member count"));
    let cs = CipherSuite(1);
    let p: Arc<dyn CryptoProvider> = Arc::new(AwsLcProvider);
    let limits = throng::Limits { max_proposals_per_commit: 1 << 20, ..throng::Limits::default() };
    let config = GroupConfig { ratchet_tree_in_welcome: false, limits, ..GroupConfig::default() };
    let mut a =
        Group::create(cs, &Identity::basic(&*p, cs, "a").unwrap(), b"sizes".to_vec(), vec![], config.clone()).unwrap();
    let b_leaf = n / 2;
    let mut b_bundle = None;
    let adds = (1..n)
        .map(|i| {
            let bundle =
                KeyPackageBundle::generate(&*p, cs, &Identity::basic(&*p, cs, format!("m{i}")).unwrap()).unwrap();
            let add = Proposal::Add(Add { key_package: bundle.key_package.clone() });
            if i == b_leaf {
                b_bundle = Some(bundle);
            }
            add
        })
        .collect();
    let pending = a.commit(CommitOptions::with_proposals(adds)).unwrap();
    let welcome = pending.welcome.clone().unwrap();
    a.merge_pending_commit(pending).unwrap();
    let MlsMessageBody::Welcome(welcome) = &welcome.body else { panic!("not a Welcome") };
    let tree = a.tree().export();
    let mut b = Group::join(p.clone(), config, welcome, &b_bundle.unwrap(), Some(&tree), PskStore::default()).unwrap();
    assert_eq!(b.own_leaf(), LeafIndex(b_leaf));

    let mut server = a.public().clone();
    let pending = b.commit(CommitOptions::default()).unwrap();
    let PublicProcessed::Commit(staged) = server.process_message(pending.message.clone()).unwrap() else {
        panic!("not a commit")
    };
    let annotator = CommitAnnotator::new(&server, &staged, &pending.message).unwrap();
    server.merge_staged_commit(*staged).unwrap();
    let recipients: Vec<LeafIndex> = (0..n).filter(|&l| l != b_leaf).skip(9).map(LeafIndex).collect();
    let start = Instant::now();
    let encoded = annotator.annotate_encoded(&server, &recipients).unwrap();
    let encoded_elapsed = start.elapsed();
    drop(encoded);
    let start = Instant::now();
    let annotated = annotator.annotate(&server, &recipients).unwrap();
    let elapsed = start.elapsed();
    let annotated: Vec<_> = annotated.into_iter().map(Result::unwrap).collect();
    let unmerged = |a: &throng::partial::AnnotatedCommit| {
        a.receiver_membership_proof_after.parents().flatten().map(|p| p.unmerged_leaves.len()).sum::<usize>()
    };
    println!("{n} members ({} leaves), {} recipients", server.tree().leaf_count(), annotated.len());
    println!("commit message: {} bytes", pending.message.to_bytes().len());
    println!("AnnotatedCommit: {}", summary(annotated.iter().map(|a| a.to_bytes().len()).collect(), "bytes"));
    println!(
        "receiver proof:  {}",
        summary(annotated.iter().map(|a| a.receiver_membership_proof_after.to_bytes().len()).collect(), "bytes")
    );
    println!("unmerged leaves listed in a receiver proof: {}", summary(annotated.iter().map(unmerged).collect(), ""));
    for (what, t) in [("annotate_encoded", encoded_elapsed), ("annotate", elapsed)] {
        println!(
            "one {what}: {:.1} ms ({:.2} us per recipient), on {} threads",
            t.as_secs_f64() * 1e3,
            t.as_secs_f64() * 1e6 / recipients.len() as f64,
            rayon::current_num_threads()
        );
    }
}

//! Partial MLS membership proofs made from a real group's tree (the draft's
//! vectors are in `vectors.rs`): every leaf's proof leads to the tree hash
//! the members agree on, and anything altered does not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use throng::crypto::{CipherSuite, Suite};
use throng::error::{PartialError, ValidationError};
use throng::internals::codec::{Decode, Encode};
use throng::internals::group::{CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle};
use throng::internals::tree_math::LeafIndex;
use throng::messages::{Add, Proposal, Remove};
use throng::partial::MembershipProof;
use throng::{Error, TreeView};

fn group(members: usize) -> Group {
    let cs = CipherSuite(1);
    let p = throng::default_provider();
    let mut g =
        Group::create(cs, &Identity::basic(p, cs, "m0").unwrap(), b"partial".to_vec(), vec![], GroupConfig::default())
            .unwrap();
    let adds = (1..members)
        .map(|i| {
            let kp = KeyPackageBundle::generate(p, cs, &Identity::basic(p, cs, format!("m{i}")).unwrap()).unwrap();
            Proposal::Add(Add { key_package: kp.key_package })
        })
        .collect();
    let pending = g.commit(CommitOptions::with_proposals(adds)).unwrap();
    g.merge_pending_commit(pending).unwrap();
    // Blank a few leaves and parents: remove two members.
    let removes = [3, members as u32 - 2].map(|l| Proposal::Remove(Remove { removed: LeafIndex(l) })).to_vec();
    let pending = g.commit(CommitOptions::with_proposals(removes)).unwrap();
    g.merge_pending_commit(pending).unwrap();
    g
}

fn partial_error(result: Result<impl std::fmt::Debug, Error>) -> PartialError {
    match result {
        Err(Error::Invalid(ValidationError::Partial(e))) => e,
        other => panic!("expected a Partial MLS error, got {other:?}"),
    }
}

#[test]
fn every_leaf_of_a_real_tree_is_proven_and_nothing_else() {
    let g = group(13);
    let suite = Suite::new(throng::default_provider(), g.cipher_suite()).unwrap();
    let tree = g.tree();
    let root = tree.root_hash().to_vec();
    assert_eq!(tree.leaf_count(), 16);
    let mut first: Option<MembershipProof> = None;
    for leaf in 0..tree.leaf_count() {
        let leaf = LeafIndex(leaf);
        let proof = MembershipProof::new(&suite, tree, leaf).unwrap();
        // The wire form round-trips.
        assert_eq!(MembershipProof::from_bytes(&proof.to_bytes()).unwrap(), proof);
        proof.verify(&suite, &root).unwrap();
        match tree.leaf(leaf) {
            Some(node) => assert_eq!(proof.verify_member(&suite, &root, leaf).unwrap(), node),
            None => assert_eq!(partial_error(proof.verify_member(&suite, &root, leaf)), PartialError::BlankLeaf),
        }
        let other = LeafIndex((leaf.0 + 1) % 16);
        assert!(matches!(partial_error(proof.verify_member(&suite, &root, other)), PartialError::WrongLeaf { .. }));
        if let Some(f) = &first {
            assert_eq!(MembershipProof::same_tree(&suite, f, &proof).unwrap(), root);
        }
        first.get_or_insert(proof);
    }

    let proof = MembershipProof::new(&suite, tree, LeafIndex(5)).unwrap();
    // Any changed hash or node breaks the proof.
    let mut bad = proof.clone();
    bad.copath_hashes[2].hash_value[0] ^= 1;
    assert_eq!(partial_error(bad.verify(&suite, &root)), PartialError::ProofTreeHash);
    let mut bad = proof.clone();
    // The root is on the committer's path, so not blank.
    assert!(bad.direct_path_nodes.last().unwrap().is_some());
    *bad.direct_path_nodes.last_mut().unwrap() = None;
    assert_eq!(partial_error(bad.verify(&suite, &root)), PartialError::ProofTreeHash);
    // Shapes are checked before any hash.
    let mut bad = proof.clone();
    bad.n_leaves = 12;
    assert!(matches!(partial_error(bad.root_hash(&suite)), PartialError::ProofShape(_)));
    let mut bad = proof.clone();
    bad.leaf_index = LeafIndex(16);
    assert!(matches!(partial_error(bad.root_hash(&suite)), PartialError::ProofShape(_)));
    let mut bad = proof.clone();
    bad.copath_hashes.pop();
    assert!(matches!(partial_error(bad.root_hash(&suite)), PartialError::ProofShape(_)));
    let mut bad = proof.clone();
    bad.direct_path_nodes.swap(0, 1);
    assert!(matches!(partial_error(bad.root_hash(&suite)), PartialError::ProofShape(_)));
    let mut bad = proof.clone();
    bad.n_leaves = 8;
    let other = MembershipProof::new(&suite, tree, LeafIndex(6)).unwrap();
    assert!(matches!(partial_error(MembershipProof::same_tree(&suite, &bad, &other)), PartialError::ProofShape(_)));
    // Every truncation of the wire form is an error, not a panic.
    let bytes = proof.to_bytes();
    for n in 0..bytes.len() {
        assert!(MembershipProof::from_bytes(&bytes[..n]).is_err());
    }
}

#[test]
fn a_proof_of_one_epoch_does_not_prove_the_next() {
    let mut g = group(6);
    let suite = Suite::new(throng::default_provider(), g.cipher_suite()).unwrap();
    let before = MembershipProof::new(&suite, g.tree(), LeafIndex(4)).unwrap();
    let pending = g.commit(CommitOptions::default()).unwrap();
    g.merge_pending_commit(pending).unwrap();
    let root = g.tree().root_hash().to_vec();
    assert_eq!(partial_error(before.verify(&suite, &root)), PartialError::ProofTreeHash);
    MembershipProof::new(&suite, g.tree(), LeafIndex(4)).unwrap().verify(&suite, &root).unwrap();
}

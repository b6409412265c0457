//! Co-resident members sharing one public tree (docs/ARCHITECTURE.md,
//! performance design 6): adopting a peer's identical tree, merging by
//! adoption, and (feature `simulation`) materializing a passive member
//! from a peer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use throng::crypto::{AwsLcProvider, CipherSuite, CryptoProvider};
use throng::internals::group::{CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle, Processed, PskStore};
use throng::messages::content::MlsMessageBody;
use throng::messages::{Add, Proposal};

fn provider() -> Arc<dyn CryptoProvider> {
    Arc::new(AwsLcProvider)
}

/// Alice and `n` members who joined from one Welcome, each with its own
/// validated copy of the tree.
fn group_of(n: usize) -> (Vec<Group>, Vec<Identity>) {
    let cs = CipherSuite(1);
    let p = provider();
    let alice_id = Identity::basic(&*p, cs, "alice").unwrap();
    let mut alice = Group::create(cs, &alice_id, b"g".to_vec(), vec![], GroupConfig::default()).unwrap();
    let ids: Vec<Identity> = (0..n).map(|i| Identity::basic(&*p, cs, format!("m{i}")).unwrap()).collect();
    let bundles: Vec<KeyPackageBundle> =
        ids.iter().map(|id| KeyPackageBundle::generate(&*p, cs, id).unwrap()).collect();
    let adds = bundles.iter().map(|b| Proposal::Add(Add { key_package: b.key_package.clone() })).collect();
    let pending = alice.commit(CommitOptions::with_proposals(adds)).unwrap();
    let welcome = match &pending.welcome.as_ref().unwrap().body {
        MlsMessageBody::Welcome(w) => w.clone(),
        _ => unreachable!(),
    };
    alice.merge_pending_commit(pending).unwrap();
    let mut members = vec![alice];
    for b in &bundles {
        members.push(Group::join(p.clone(), GroupConfig::default(), &welcome, b, None, PskStore::default()).unwrap());
    }
    let mut all = vec![alice_id];
    all.extend(ids);
    (members, all)
}

#[test]
fn share_tree_with_adopts_only_an_identical_tree() {
    let (mut members, _) = group_of(3);
    assert!(!Arc::ptr_eq(members[1].tree_arc(), members[2].tree_arc()));
    let (a, b) = members.split_at_mut(2);
    assert!(b[0].share_tree_with(&a[1]));
    assert!(Arc::ptr_eq(members[1].tree_arc(), members[2].tree_arc()));

    // After member 1 commits, its tree differs from member 2's: no sharing.
    let pending = members[1].commit(CommitOptions::default()).unwrap();
    let msg = pending.message.clone();
    members[1].merge_pending_commit(pending).unwrap();
    // The merge copied the shared tree rather than changing member 2's.
    assert!(!Arc::ptr_eq(members[1].tree_arc(), members[2].tree_arc()));
    let (a, b) = members.split_at_mut(2);
    assert!(!b[0].share_tree_with(&a[1]));

    // Member 2 processes the commit and merges by adopting member 1's tree.
    let Processed::Commit(staged) = members[2].process_message(msg.clone()).unwrap() else { panic!() };
    let (a, b) = members.split_at_mut(2);
    b[0].merge_staged_commit_sharing(*staged, &a[1]).unwrap();
    assert!(Arc::ptr_eq(members[1].tree_arc(), members[2].tree_arc()));
    assert_eq!(members[1].epoch_authenticator(), members[2].epoch_authenticator());

    // A peer in another epoch (alice has not processed yet) is not adopted:
    // the merge falls back to writing the diff.
    let Processed::Commit(staged) = members[3].process_message(msg.clone()).unwrap() else { panic!() };
    let (a, b) = members.split_at_mut(3);
    b[0].merge_staged_commit_sharing(*staged, &a[0]).unwrap();
    assert!(!Arc::ptr_eq(members[0].tree_arc(), members[3].tree_arc()));
    assert_eq!(members[3].tree().root_hash(), members[1].tree().root_hash());
    assert_eq!(members[3].epoch_authenticator(), members[1].epoch_authenticator());

    // Shared trees stay correct across further epochs.
    let Processed::Commit(staged) = members[0].process_message(msg).unwrap() else { panic!() };
    members[0].merge_staged_commit(*staged).unwrap();
    let pending = members[3].commit(CommitOptions::default()).unwrap();
    let msg = pending.message.clone();
    members[3].merge_pending_commit(pending).unwrap();
    for i in 0..3 {
        let Processed::Commit(staged) = members[i].process_message(msg.clone()).unwrap() else { panic!() };
        let (a, b) = members.split_at_mut(3);
        a[i].merge_staged_commit_sharing(*staged, &b[0]).unwrap();
    }
    for m in &members {
        assert_eq!(m.epoch_authenticator(), members[3].epoch_authenticator());
        assert!(Arc::ptr_eq(m.tree_arc(), members[3].tree_arc()));
    }
}

#[cfg(feature = "simulation")]
#[test]
fn materialized_member_commits_and_others_follow() {
    let (mut members, ids) = group_of(4);
    // Member 4 goes passive: only its identity is kept.
    members.pop();
    let passive = &ids[4];
    let mut m = Group::materialize(&members[1], passive).unwrap();
    assert_eq!(m.own_leaf().0, 4);
    assert_eq!(m.epoch_authenticator(), members[1].epoch_authenticator());
    let pending = m.commit(CommitOptions::default()).unwrap();
    let msg = pending.message.clone();
    m.merge_pending_commit(pending).unwrap();
    for g in &mut members {
        let Processed::Commit(staged) = g.process_message(msg.clone()).unwrap() else { panic!() };
        g.merge_staged_commit(*staged).unwrap();
        assert_eq!(g.epoch_authenticator(), m.epoch_authenticator());
    }
    // Having reset its path, the materialized member is a full member:
    // it processes the next commit.
    let pending = members[0].commit(CommitOptions::default()).unwrap();
    let msg = pending.message.clone();
    members[0].merge_pending_commit(pending).unwrap();
    let Processed::Commit(staged) = m.process_message(msg).unwrap() else { panic!() };
    m.merge_staged_commit(*staged).unwrap();
    assert_eq!(m.epoch_authenticator(), members[0].epoch_authenticator());

    // An outsider's identity is refused.
    let cs = CipherSuite(1);
    let stranger = Identity::basic(&*provider(), cs, "x").unwrap();
    assert!(Group::materialize(&members[0], &stranger).is_err());
}

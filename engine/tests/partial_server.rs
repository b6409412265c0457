//! Partial MLS annotations made by a server (a `PublicGroup` following the
//! group, and the `Registry`) and by full members, checked against full
//! members of real groups (draft-ietf-mls-partial §"Annotated Commit",
//! §"Joining via Annotated Welcome", §"Sender-Authenticated Messages"):
//! every proof verifies against the tree hashes the full members hold
//! before and after, `tree_hash_after` is theirs, and `resolution_index`
//! selects the ciphertext the recipient's own keys open, to the path
//! secret whose key the UpdatePath carries. Hostile requests get typed
//! errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use throng::crypto::{AwsLcProvider, CipherSuite, CryptoProvider, Suite};
use throng::error::UsageError;
use throng::internals::codec::{Decode, Encode};
use throng::internals::group::{CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle, Processed, PskStore};
use throng::internals::tree_math::{self as math, LeafIndex, NodeIndex};
use throng::messages::content::{FramedContentBody, MlsMessage, MlsMessageBody, WireFormat};
use throng::messages::{Add, Commit, GroupContext, Node, Proposal, Remove};
use throng::partial::{AnnotatedCommit, CommitAnnotator, MembershipProof};
use throng::{Error, PublicGroup, PublicGroupConfig, PublicProcessed, Registry, Rejected, TreeView};

const CS: CipherSuite = CipherSuite(1);

fn provider() -> Arc<dyn CryptoProvider> {
    Arc::new(AwsLcProvider)
}

fn suite() -> Suite<'static> {
    Suite::new(throng::default_provider(), CS).unwrap()
}

fn usage(result: Result<impl std::fmt::Debug, Error>) -> UsageError {
    match result {
        Err(Error::Usage(e)) => e,
        other => panic!("expected a usage error, got {other:?}"),
    }
}

fn bundle(name: &str) -> KeyPackageBundle {
    let p = throng::default_provider();
    KeyPackageBundle::generate(p, CS, &Identity::basic(p, CS, name).unwrap()).unwrap()
}

fn commit_of(msg: &MlsMessage) -> Commit {
    match &msg.body {
        MlsMessageBody::PublicMessage(m) => match &m.content.body {
            FramedContentBody::Commit(c) => c.clone(),
            _ => panic!("not a commit"),
        },
        _ => panic!("not a PublicMessage"),
    }
}

/// Full members (every member of the group is one, so each recipient's
/// keys are at hand), a server following the group, and a registry.
struct Net {
    members: Vec<Group>,
    server: PublicGroup,
    registry: Registry,
    next_name: usize,
}

/// What one commit's annotations are checked against.
struct Case {
    committer: LeafIndex,
    member_commit: bool,
    tree_hash_before: Vec<u8>,
    context_before: GroupContext,
    joiners: Vec<LeafIndex>,
}

impl Net {
    /// `n` members added by one commit, then `removed` of them removed.
    fn new(n: usize, removed: &[u32]) -> Self {
        let p = provider();
        let mut alice = Group::create(
            CS,
            &Identity::basic(&*p, CS, "m0").unwrap(),
            b"annotate".to_vec(),
            vec![],
            GroupConfig::default(),
        )
        .unwrap();
        let info = alice.group_info(true, false).unwrap();
        let server = PublicGroup::from_group_info(p.clone(), PublicGroupConfig::default(), &info, None).unwrap();
        let registry = Registry::new(p.clone());
        registry.create_group(&info, None).unwrap();
        let bundles: Vec<_> = (1..n).map(|i| bundle(&format!("m{i}"))).collect();
        let adds = bundles.iter().map(|b| Proposal::Add(Add { key_package: b.key_package.clone() })).collect();
        let pending = alice.commit(CommitOptions::with_proposals(adds)).unwrap();
        let mut net = Net { members: vec![], server, registry, next_name: n };
        // Every other member is a joiner of this commit: none gets an
        // AnnotatedCommit, each an AnnotatedWelcome.
        let (case, annotated) = net.serve(&alice, &pending.message, &pending, &[LeafIndex(1), LeafIndex(2)]);
        for a in annotated {
            assert!(matches!(usage(a), UsageError::NotAnnotationRecipient { .. }));
        }
        assert_eq!(case.joiners.len(), n - 1);
        let welcome = pending.welcome.clone().unwrap();
        alice.merge_pending_commit(pending).unwrap();
        net.members.push(alice);
        net.join_all(&welcome, &bundles, &case);
        if !removed.is_empty() {
            let removes = removed.iter().map(|&l| Proposal::Remove(Remove { removed: LeafIndex(l) })).collect();
            net.commit(1, CommitOptions::with_proposals(removes), 0);
        }
        net
    }

    /// The server (and the registry) take the commit; the annotator is made
    /// before the merge, the annotations after, for `recipients`.
    fn serve(
        &mut self,
        committer: &Group,
        message: &MlsMessage,
        pending: &throng::internals::group::PendingCommit,
        recipients: &[LeafIndex],
    ) -> (Case, Vec<Result<AnnotatedCommit, Error>>) {
        let staged = match self.server.process_message(message.clone()).unwrap() {
            PublicProcessed::Commit(staged) => staged,
            other => panic!("expected a commit, got {other:?}"),
        };
        let case = Case {
            committer: staged.committer_leaf(),
            member_commit: matches!(staged.committer(), throng::messages::content::Sender::Member(_)),
            tree_hash_before: self.server.tree_hash().to_vec(),
            context_before: self.server.context().clone(),
            joiners: staged.added().iter().map(|(l, _)| *l).collect(),
        };
        let annotator = CommitAnnotator::new(&self.server, &staged, message).unwrap();
        // The full committer makes the same annotator from its pending commit.
        let own = CommitAnnotator::new(committer.public(), pending.public(), message).unwrap();
        // Annotating against the state before the merge is refused.
        assert_eq!(usage(annotator.annotate(&self.server, recipients)), UsageError::StaleCommit);
        self.server.merge_staged_commit(*staged).unwrap();
        let annotated = annotator.annotate(&self.server, recipients).unwrap();
        assert_eq!(own.annotate(&self.server, recipients).unwrap(), annotated);
        same_encoding(&annotator.annotate_encoded(&self.server, recipients).unwrap(), &annotated);
        // The registry's accept path gives the same annotations.
        let gid = self.server.group_id().to_vec();
        let (accepted, from_registry) = self.registry.handle_annotating(&gid, message, recipients).unwrap();
        assert_eq!(accepted.epoch, self.server.epoch());
        assert_eq!(from_registry, annotated);
        (case, annotated)
    }

    /// The joiners of a commit join; each AnnotatedWelcome's proofs verify
    /// against the tree the Welcome is for.
    fn join_all(&mut self, welcome: &MlsMessage, bundles: &[KeyPackageBundle], case: &Case) {
        let suite = suite();
        let annotated = self.server.annotate_welcome(welcome, case.committer, &case.joiners).unwrap();
        let MlsMessageBody::Welcome(w) = &welcome.body else { panic!("not a welcome") };
        for (b, (a, &leaf)) in bundles.iter().zip(annotated.into_iter().zip(&case.joiners)) {
            let joined = Group::join(provider(), GroupConfig::default(), w, b, None, PskStore::default()).unwrap();
            assert_eq!(joined.own_leaf(), leaf);
            let a = a.unwrap();
            let root = joined.tree().root_hash();
            assert_eq!(&a.welcome.message, w);
            a.welcome.sender_membership_proof.verify_member(&suite, root, case.committer).unwrap();
            a.joiner_membership_proof.verify_member(&suite, root, leaf).unwrap();
            assert_eq!(
                MembershipProof::same_tree(&suite, &a.welcome.sender_membership_proof, &a.joiner_membership_proof)
                    .unwrap(),
                root
            );
            self.members.push(joined);
        }
    }

    fn index_of(&self, leaf: LeafIndex) -> usize {
        self.members.iter().position(|m| m.own_leaf() == leaf).unwrap()
    }

    /// Member at index `who` commits `options` with `joining` new members;
    /// everyone processes it and every annotation is checked.
    fn commit(&mut self, who: usize, mut options: CommitOptions, joining: usize) {
        let bundles: Vec<_> = (0..joining)
            .map(|_| {
                self.next_name += 1;
                bundle(&format!("m{}", self.next_name))
            })
            .collect();
        options.proposals.extend(bundles.iter().map(|b| Proposal::Add(Add { key_package: b.key_package.clone() })));
        let mut committer = self.members.remove(who);
        let pending = committer.commit(options).unwrap();
        let recipients: Vec<LeafIndex> = self.members.iter().map(Group::own_leaf).collect();
        let (case, annotated) = self.serve(&committer, &pending.message.clone(), &pending, &recipients);
        let message = pending.message.clone();
        let welcome = pending.welcome.clone();
        committer.merge_pending_commit(pending).unwrap();
        self.members.insert(who, committer);
        self.deliver(who, &message);
        self.check(&case, &message, &recipients, annotated);
        if let Some(welcome) = welcome {
            self.join_all(&welcome, &bundles, &case);
        }
    }

    /// Every member but `who` processes and merges `message`; removed
    /// members leave.
    fn deliver(&mut self, who: usize, message: &MlsMessage) {
        for (i, m) in self.members.iter_mut().enumerate() {
            if i == who {
                continue;
            }
            match m.process_message(message.clone()).unwrap() {
                Processed::Commit(staged) => m.merge_staged_commit(*staged).unwrap(),
                other => panic!("expected a commit, got {other:?}"),
            }
        }
        self.members.retain(Group::is_active);
    }

    /// Checks each recipient's annotation against its full member, after
    /// the merge (a removed recipient gets `NotAMember`).
    fn check(
        &self,
        case: &Case,
        message: &MlsMessage,
        recipients: &[LeafIndex],
        annotated: Vec<Result<AnnotatedCommit, Error>>,
    ) {
        let suite = suite();
        let commit = commit_of(message);
        assert_eq!(recipients.len(), annotated.len());
        let mut checked = 0;
        for (&r, a) in recipients.iter().zip(annotated) {
            if case.joiners.contains(&r) {
                // A removed member's leaf, taken by a joiner of the commit.
                assert!(matches!(usage(a), UsageError::NotAnnotationRecipient { .. }));
                continue;
            }
            let Some(member) = self.members.iter().find(|m| m.own_leaf() == r) else {
                assert_eq!(usage(a), UsageError::NotAMember(r.0));
                continue;
            };
            let a = a.unwrap();
            assert_eq!(&a.commit, message);
            let after = member.tree().root_hash();
            assert_eq!(a.tree_hash_after, after);
            match &a.sender_membership_proof {
                Some(p) => {
                    assert!(case.member_commit);
                    p.verify_member(&suite, &case.tree_hash_before, case.committer).unwrap();
                }
                None => assert!(!case.member_commit),
            }
            a.sender_membership_proof_after.verify_member(&suite, after, case.committer).unwrap();
            a.receiver_membership_proof_after.verify_member(&suite, after, r).unwrap();
            MembershipProof::same_tree(&suite, &a.sender_membership_proof_after, &a.receiver_membership_proof_after)
                .unwrap();
            match &commit.path {
                None => assert_eq!(a.resolution_index, None),
                Some(path) => check_path_secret(&suite, case, member, &a, path),
            }
            checked += 1;
        }
        assert!(checked > 0 || self.members.len() == 1);
    }
}

/// The draft's receiver steps, with the full member's keys: the
/// UpdatePathNode at the lowest common ancestor (its index among the
/// non-blank nodes of the committer's direct path in
/// `sender_membership_proof_after`), its ciphertext at `resolution_index`,
/// opened with a key the recipient holds for its leaf or a node of its
/// direct path below that ancestor, under the provisional GroupContext;
/// the path secret must give the public key the path sent. The other
/// ciphertexts of that node are not the recipient's.
fn check_path_secret(
    suite: &Suite<'_>,
    case: &Case,
    member: &Group,
    a: &AnnotatedCommit,
    path: &throng::messages::UpdatePath,
) {
    let r = member.own_leaf();
    let proof = &a.sender_membership_proof_after;
    let lca = math::common_ancestor(r.node(), case.committer.node());
    let direct = math::direct_path(case.committer.node(), proof.n_leaves);
    let mut update_path_index = 0;
    for (x, node) in direct.iter().zip(&proof.direct_path_nodes[1..]) {
        if *x == lca {
            assert!(matches!(node, Some(Node::Parent(_))), "the ancestor is on the filtered direct path");
            break;
        }
        if node.is_some() {
            update_path_index += 1;
        }
    }
    let resolution_index = a.resolution_index.expect("a commit with a path has a resolution_index") as usize;
    let node = &path.nodes[update_path_index];
    let provisional = GroupContext {
        confirmed_transcript_hash: case.context_before.confirmed_transcript_hash.clone(),
        ..member.context().clone()
    };
    let context = provisional.to_bytes();
    let mut keys: Vec<NodeIndex> = vec![r.node()];
    keys.extend(math::direct_path(r.node(), proof.n_leaves).into_iter().take_while(|&x| x != lca));
    let opens = |slot: usize| -> Vec<Vec<u8>> {
        let ciphertext = node.encrypted_path_secret.get(slot).unwrap();
        keys.iter()
            .filter_map(|&x| member.node_private_key(x))
            .filter_map(|k| suite.decrypt_with_label(k, "UpdatePathNode", &context, &ciphertext).ok())
            .map(|s| s.as_bytes().to_vec())
            .collect()
    };
    let secrets = opens(resolution_index);
    assert_eq!(secrets.len(), 1, "leaf {} opens its ciphertext with exactly one key", r.0);
    let node_secret = suite.derive_secret(&secrets[0], "node").unwrap();
    assert_eq!(suite.derive_key_pair(node_secret.as_bytes()).unwrap().public, node.encryption_key);
    for slot in (0..node.encrypted_path_secret.len()).filter(|&s| s != resolution_index) {
        assert!(opens(slot).is_empty(), "leaf {} opens slot {slot} too", r.0);
    }
}

/// The encoded annotations are the annotations encoded, and decode to them.
fn same_encoding(encoded: &[Result<Vec<u8>, Error>], annotated: &[Result<AnnotatedCommit, Error>]) {
    assert_eq!(encoded.len(), annotated.len());
    for (e, a) in encoded.iter().zip(annotated) {
        match (e, a) {
            (Ok(e), Ok(a)) => {
                assert_eq!(e, &a.to_bytes());
                assert_eq!(&AnnotatedCommit::from_bytes(e).unwrap(), a);
            }
            (Err(x), Err(y)) => assert_eq!(x, y),
            other => panic!("encoded and built annotations differ: {other:?}"),
        }
    }
}

fn no_path() -> CommitOptions {
    CommitOptions { force_path: false, ..CommitOptions::default() }
}

/// A group through commits with and without paths, with adds, removes and
/// an external join; every annotation is checked.
fn scenario(n: usize, removed: &[u32]) {
    let mut net = Net::new(n, removed);
    let last = net.members.len() - 1;
    // A self-update from the middle and one from the end.
    net.commit(last / 2, CommitOptions::default(), 0);
    net.commit(last, CommitOptions::default(), 0);
    // Adds in a commit with a path (into the blanks first), and without.
    net.commit(1, CommitOptions::default(), 3);
    net.commit(2, no_path(), 2);
    // A commit removing and adding, from a member whose path has unmerged
    // leaves below.
    let victim = net.members[3].own_leaf().0;
    net.commit(0, CommitOptions::with_proposals(vec![Proposal::Remove(Remove { removed: LeafIndex(victim) })]), 1);
    // An external commit: no sender proof before.
    let info = net.members[0].group_info(true, true).unwrap();
    let (joined, message) = Group::join_by_external_commit(
        provider(),
        GroupConfig::default(),
        &Identity::basic(throng::default_provider(), CS, "external").unwrap(),
        &info,
        None,
    )
    .unwrap();
    let recipients: Vec<LeafIndex> = net.members.iter().map(Group::own_leaf).collect();
    let staged = match net.server.process_message(message.clone()).unwrap() {
        PublicProcessed::Commit(staged) => staged,
        other => panic!("expected a commit, got {other:?}"),
    };
    let case = Case {
        committer: staged.committer_leaf(),
        member_commit: false,
        tree_hash_before: net.server.tree_hash().to_vec(),
        context_before: net.server.context().clone(),
        joiners: vec![],
    };
    assert_eq!(case.committer, joined.own_leaf());
    let annotator = CommitAnnotator::new(&net.server, &staged, &message).unwrap();
    net.server.merge_staged_commit(*staged).unwrap();
    let annotated = annotator.annotate(&net.server, &recipients).unwrap();
    same_encoding(&annotator.annotate_encoded(&net.server, &recipients).unwrap(), &annotated);
    let gid = net.server.group_id().to_vec();
    assert_eq!(net.registry.handle_annotating(&gid, &message, &recipients).unwrap().1, annotated);
    net.deliver(usize::MAX, &message);
    net.check(&case, &message, &recipients, annotated);
    net.members.push(joined);
    // And a member commits after it.
    net.commit(0, CommitOptions::default(), 0);
}

#[test]
fn annotations_of_5_members_match_the_full_members() {
    scenario(5, &[]);
}

#[test]
fn annotations_of_33_members_with_blanks_match_the_full_members() {
    scenario(33, &[4, 5, 17, 30]);
}

#[test]
fn annotations_of_100_members_with_blanks_match_the_full_members() {
    scenario(100, &[2, 9, 10, 11, 40, 63, 64, 99]);
}

#[test]
fn sender_authenticated_messages_prove_their_sender() {
    let mut net = Net::new(9, &[3]);
    let suite = suite();
    let root = net.server.tree_hash().to_vec();
    let i = net.index_of(LeafIndex(6));
    let message = net.members[i].encrypt_application(b"hello", vec![]).unwrap();
    let MlsMessageBody::PrivateMessage(private) = message.body else { panic!("not a PrivateMessage") };
    let wrapped = net.server.sender_authenticate(private.clone(), LeafIndex(6)).unwrap();
    assert_eq!(wrapped.message, private);
    wrapped.sender_membership_proof.verify_member(&suite, &root, LeafIndex(6)).unwrap();
    let leaf = net.members[i].tree().leaf(LeafIndex(6)).unwrap();
    assert_eq!(wrapped.sender_membership_proof.leaf(), Some(leaf));
    // A removed or absent leaf is no sender.
    assert_eq!(usage(net.server.sender_authenticate(private.clone(), LeafIndex(3))), UsageError::NotAMember(3));
    assert_eq!(usage(net.server.sender_authenticate(private, LeafIndex(1 << 20))), UsageError::NotAMember(1 << 20));
}

#[test]
fn hostile_requests_get_typed_errors() {
    let mut net = Net::new(9, &[3]);
    let mut committer = net.members.remove(2);
    let pending = committer.commit(CommitOptions::default()).unwrap();
    let pending_message = pending.message.clone();
    let staged = match net.server.process_message(pending.message.clone()).unwrap() {
        PublicProcessed::Commit(staged) => staged,
        other => panic!("expected a commit, got {other:?}"),
    };
    // A message that is not this commit.
    let other = net.members[0].commit(CommitOptions::default()).unwrap();
    assert!(matches!(usage(CommitAnnotator::new(&net.server, &staged, &other.message)), UsageError::CommitMismatch(_)));
    let welcome_like = MlsMessage::new(MlsMessageBody::KeyPackage(bundle("kp").key_package));
    assert!(matches!(
        usage(CommitAnnotator::new(&net.server, &staged, &welcome_like)),
        UsageError::WrongMessageKind(_)
    ));
    assert!(matches!(
        usage(net.server.annotate_welcome(&welcome_like, LeafIndex(0), &[LeafIndex(1)])),
        UsageError::WrongMessageKind(_)
    ));
    let annotator = CommitAnnotator::new(&net.server, &staged, &pending.message).unwrap();
    net.server.merge_staged_commit(*staged).unwrap();
    // Recipients that are not members, the committer, and a leaf far
    // outside the tree: each a typed error in its place, the others fine.
    let recipients = [LeafIndex(3), LeafIndex(2), LeafIndex(u32::MAX), LeafIndex(4)];
    let annotated = annotator.annotate(&net.server, &recipients).unwrap();
    same_encoding(&annotator.annotate_encoded(&net.server, &recipients).unwrap(), &annotated);
    assert_eq!(usage(annotated[0].clone()), UsageError::NotAMember(3));
    assert!(matches!(usage(annotated[1].clone()), UsageError::NotAnnotationRecipient { leaf: 2, .. }));
    assert_eq!(usage(annotated[2].clone()), UsageError::NotAMember(u32::MAX));
    assert!(annotated[3].is_ok());
    // A stale annotator on a later epoch.
    committer.merge_pending_commit(pending).unwrap();
    let next = committer.commit(CommitOptions::default()).unwrap();
    let PublicProcessed::Commit(staged) = net.server.process_message(next.message.clone()).unwrap() else {
        panic!("expected a commit")
    };
    net.server.merge_staged_commit(*staged).unwrap();
    assert_eq!(usage(annotator.annotate(&net.server, &[LeafIndex(4)])), UsageError::StaleCommit);
    assert_eq!(usage(annotator.annotate_encoded(&net.server, &[LeafIndex(4)])), UsageError::StaleCommit);
    // The registry: a commit that lost its epoch is refused, with no
    // annotations.
    let gid = net.server.group_id().to_vec();
    net.registry.handle(&gid, &pending_message).unwrap();
    assert!(matches!(
        net.registry.handle_annotating(&gid, &other.message, &[LeafIndex(1)]),
        Err(Rejected::LostRace { .. })
    ));
}

#[test]
fn a_full_member_annotates_its_private_message_commit() {
    let p = provider();
    let config = GroupConfig { handshake_wire_format: WireFormat::PRIVATE_MESSAGE, ..GroupConfig::default() };
    let mut alice =
        Group::create(CS, &Identity::basic(&*p, CS, "a").unwrap(), b"private".to_vec(), vec![], config.clone())
            .unwrap();
    let bundles: Vec<_> = (1..6).map(|i| bundle(&format!("p{i}"))).collect();
    let adds = bundles.iter().map(|b| Proposal::Add(Add { key_package: b.key_package.clone() })).collect();
    let pending = alice.commit(CommitOptions::with_proposals(adds)).unwrap();
    let welcome = pending.welcome.clone().unwrap();
    alice.merge_pending_commit(pending).unwrap();
    let MlsMessageBody::Welcome(w) = &welcome.body else { panic!("not a welcome") };
    let mut members: Vec<Group> = bundles
        .iter()
        .map(|b| Group::join(p.clone(), config.clone(), w, b, None, PskStore::default()).unwrap())
        .collect();
    let suite = suite();
    let before = alice.tree().root_hash().to_vec();
    let pending = alice.commit(CommitOptions::default()).unwrap();
    assert!(matches!(pending.message.body, MlsMessageBody::PrivateMessage(_)));
    let annotator = CommitAnnotator::new(alice.public(), pending.public(), &pending.message).unwrap();
    let message = pending.message.clone();
    alice.merge_pending_commit(pending).unwrap();
    let recipients: Vec<LeafIndex> = members.iter().map(Group::own_leaf).collect();
    let annotated = annotator.annotate(alice.public(), &recipients).unwrap();
    same_encoding(&annotator.annotate_encoded(alice.public(), &recipients).unwrap(), &annotated);
    for (m, a) in members.iter_mut().zip(annotated) {
        let Processed::Commit(staged) = m.process_message(message.clone()).unwrap() else { panic!("not a commit") };
        m.merge_staged_commit(*staged).unwrap();
        let a = a.unwrap();
        let after = m.tree().root_hash();
        assert_eq!(a.tree_hash_after, after);
        a.sender_membership_proof.unwrap().verify_member(&suite, &before, LeafIndex(0)).unwrap();
        a.receiver_membership_proof_after.verify_member(&suite, after, m.own_leaf()).unwrap();
        assert!(a.resolution_index.is_some());
    }
}

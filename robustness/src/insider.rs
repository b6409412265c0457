//! Insider mutants: structurally changed messages, re-signed with the real
//! sender's signature key (and, for PublicMessages, given a fresh
//! membership tag with the epoch's membership key), so that they pass
//! authentication and reach the deep validation a byte flip never reaches.
//!
//! Commits keep their genuine confirmation tag: a member computes the tag
//! only after validating everything else, so a structurally bad commit
//! is refused by validation, and one that validates is refused by the
//! tag. A server cannot check the tag; where a mutant is a valid commit
//! for a server, its [`Mutant::expect_server`] says so.
//!
//! Proposals are made by a copy of the real sender through
//! [`Group::propose`], so they are framed exactly as the sender frames
//! (PublicMessage or PrivateMessage with the sender's ratchet).

use std::sync::Arc;

use throng::crypto::{CipherSuite, Suite};
use throng::internals::codec::{Decode, Encode};
use throng::internals::framing::membership_tag;
use throng::internals::group::Identity;
use throng::internals::tree::{RatchetTree, TreeView};
use throng::internals::tree_math::LeafIndex;
use throng::messages::content::{
    FRAMED_CONTENT_TBS_LABEL, FramedContent, FramedContentBody, MlsMessage, MlsMessageBody, Sender, WireFormat,
};
use throng::messages::registered_extensions::ExtensionData;
use throng::messages::{
    Add, Commit, CustomProposal, Extension, ExtensionType, ExternalInit, GroupContextExtensions, GroupInfo, KeyPackage,
    LeafNode, LeafNodeSource, Lifetime, PreSharedKey, PreSharedKeyId, Proposal, ProposalOrRef, ProposalRef,
    ProposalType, ProtocolVersion, Psk, RatchetTreeExtension, ReInit, Remove, Update,
};

use crate::fixtures::{self, BLANK_LEAF, Fixture, Genuine, RECEIVER};
use crate::mutators::{Expect, Mutant, tree_edits};

const TAG_UNCHECKED: &str = "a server cannot check the confirmation tag, and the mutant is a valid commit otherwise";
const VALID_PROPOSAL: &str = "a member may send this proposal";

fn suite(cs: CipherSuite) -> Option<Suite<'static>> {
    Suite::new(throng::default_provider(), cs).ok()
}

/// `n` extensions of unknown, distinct, non-default types.
pub fn unknown_extensions(n: usize) -> Vec<Extension> {
    (0..n).map(|i| Extension { extension_type: ExtensionType(0x1000 + i as u16), extension_data: vec![0; 2] }).collect()
}

/// Capabilities listing every non-default extension type: 65,530 entries.
fn huge_capabilities(leaf: &mut LeafNode) {
    let mut caps = (*leaf.capabilities).clone();
    caps.extensions = (6..=u16::MAX).map(ExtensionType).collect();
    leaf.capabilities = Arc::new(caps);
}

/// Re-signs a PublicMessage's content as `signer` in `fx`'s epoch and gives
/// it a fresh membership tag if it had one.
fn resign_public(fx: &Fixture, g: &Genuine, message: &mut MlsMessage) -> Option<()> {
    let suite = suite(fx.cipher_suite)?;
    let MlsMessageBody::PublicMessage(pm) = &mut message.body else { return None };
    let context = g.receiver.context();
    let tbs = pm.content.tbs_bytes(WireFormat::PUBLIC_MESSAGE, Some(context)).ok()?;
    pm.auth.signature = suite.sign_with_label(&g.signer.signer.private, FRAMED_CONTENT_TBS_LABEL, &tbs).ok()?;
    if pm.membership_tag.is_some() {
        pm.membership_tag = Some(membership_tag(&suite, pm, context, &fx.membership_key).ok()?);
    }
    Some(())
}

/// A KeyPackage of `owner`, changed by `f` and re-signed (leaf and package).
fn key_package_with(
    fx: &Fixture,
    owner: &Identity,
    base: &KeyPackage,
    f: &dyn Fn(&mut KeyPackage),
) -> Option<KeyPackage> {
    let suite = suite(fx.cipher_suite)?;
    let mut kp = base.clone();
    f(&mut kp);
    kp.leaf_node.sign(&suite, &owner.signer.private, None).ok()?;
    kp.sign(&suite, &owner.signer.private).ok()?;
    Some(kp)
}

/// KeyPackage mutants of `base` (owned by `owner`), each with whether a
/// validator may accept it.
pub fn key_package_variants(fx: &Fixture, owner: &Identity, base: &KeyPackage) -> Vec<(String, KeyPackage, Expect)> {
    type Edit = (&'static str, Box<dyn Fn(&mut KeyPackage)>, Expect);
    let other_suite = CipherSuite(if fx.cipher_suite.0 == 1 { 2 } else { 1 });
    let edits: Vec<Edit> = vec![
        ("version-0", Box::new(|kp| kp.version = ProtocolVersion(0)), Expect::Reject),
        ("other-suite", Box::new(move |kp| kp.cipher_suite = other_suite), Expect::Reject),
        ("unknown-suite", Box::new(|kp| kp.cipher_suite = CipherSuite(0xfff0)), Expect::Reject),
        ("init-is-encryption-key", Box::new(|kp| kp.init_key = kp.leaf_node.encryption_key().into()), Expect::Reject),
        ("init-key-empty", Box::new(|kp| kp.init_key.0 = Box::default()), Expect::Reject),
        ("leaf-source-update", Box::new(|kp| kp.leaf_node.leaf_node_source = LeafNodeSource::Update), Expect::Reject),
        (
            "lifetime-reversed",
            Box::new(|kp| {
                kp.leaf_node.leaf_node_source = LeafNodeSource::KeyPackage(Lifetime { not_before: 10, not_after: 5 })
            }),
            Expect::Reject,
        ),
        (
            "lifetime-expired",
            Box::new(|kp| {
                kp.leaf_node.leaf_node_source = LeafNodeSource::KeyPackage(Lifetime { not_before: 0, not_after: 1 })
            }),
            Expect::Reject,
        ),
        (
            "capabilities-65530",
            Box::new(|kp| huge_capabilities(&mut kp.leaf_node)),
            Expect::MayAccept("long but valid capabilities"),
        ),
        (
            "capabilities-lists-defaults",
            Box::new(|kp| {
                let mut caps = (*kp.leaf_node.capabilities).clone();
                caps.extensions = (0..=u16::MAX).map(ExtensionType).collect();
                kp.leaf_node.capabilities = Arc::new(caps);
            }),
            Expect::MayAccept("capabilities listing default extension types"),
        ),
        (
            "capabilities-without-suite",
            Box::new(|kp| {
                let mut caps = (*kp.leaf_node.capabilities).clone();
                caps.cipher_suites.clear();
                kp.leaf_node.capabilities = Arc::new(caps);
            }),
            Expect::Reject,
        ),
        (
            "capabilities-without-version",
            Box::new(|kp| {
                let mut caps = (*kp.leaf_node.capabilities).clone();
                caps.versions.clear();
                kp.leaf_node.capabilities = Arc::new(caps);
            }),
            Expect::Reject,
        ),
        (
            "leaf-10k-unlisted-extensions",
            Box::new(|kp| kp.leaf_node.extensions = unknown_extensions(10_000).into()),
            Expect::Reject,
        ),
        (
            "leaf-10k-listed-extensions",
            Box::new(|kp| {
                huge_capabilities(&mut kp.leaf_node);
                kp.leaf_node.extensions = unknown_extensions(10_000).into();
            }),
            Expect::MayAccept("many extensions, all listed in the capabilities"),
        ),
        (
            "leaf-duplicate-extension",
            Box::new(|kp| {
                huge_capabilities(&mut kp.leaf_node);
                let e = unknown_extensions(1);
                kp.leaf_node.extensions = [e.clone(), e].concat().into();
            }),
            Expect::Reject,
        ),
        (
            "kp-10k-extensions",
            Box::new(|kp| kp.extensions = unknown_extensions(10_000)),
            Expect::MayAccept("KeyPackage extensions need no capability"),
        ),
        (
            "kp-duplicate-extension",
            Box::new(|kp| {
                let e = unknown_extensions(1);
                kp.extensions = [e.clone(), e].concat();
            }),
            Expect::Reject,
        ),
        (
            "credential-1MiB",
            Box::new(|kp| kp.leaf_node.credential = throng::messages::Credential::basic(vec![b'x'; 1 << 20])),
            Expect::MayAccept("a long basic credential"),
        ),
        (
            "credential-x509-empty-chain",
            Box::new(|kp| {
                kp.leaf_node.credential = throng::messages::Credential::X509 { certificates: Box::default() }
            }),
            Expect::Reject,
        ),
    ];
    edits
        .into_iter()
        .filter_map(|(name, f, expect)| Some((name.to_string(), key_package_with(fx, owner, base, &*f)?, expect)))
        .collect()
}

/// Insider mutants of a KeyPackage target input.
pub fn key_package_mutants(fx: &Fixture) -> Vec<Mutant> {
    let Ok(MlsMessage { body: MlsMessageBody::KeyPackage(base), .. }) = MlsMessage::from_bytes(&fx.key_package) else {
        return Vec::new();
    };
    key_package_variants(fx, &fx.key_package_owner, &base)
        .into_iter()
        .map(|(name, kp, expect)| {
            let bytes = MlsMessage::new(MlsMessageBody::KeyPackage(kp)).to_bytes();
            Mutant::new(format!("insider:kp:{name}"), bytes, expect, expect)
        })
        .collect()
}

/// Content-level mutants of a PublicMessage (either kind), re-signed.
fn content_mutants(fx: &Fixture, g: &Genuine, is_commit: bool) -> Vec<Mutant> {
    let Ok(base) = MlsMessage::from_bytes(&g.bytes) else { return Vec::new() };
    if !matches!(base.body, MlsMessageBody::PublicMessage(_)) {
        return Vec::new();
    }
    let other = if g.sender == Some(LeafIndex(2)) { 3 } else { 2 };
    type Edit = (&'static str, Box<dyn Fn(&mut FramedContent)>, Expect, Expect);
    let big_ad = if is_commit {
        (Expect::Reject, Expect::MayAccept(TAG_UNCHECKED))
    } else {
        (
            Expect::MayAccept("authenticated_data is the sender's to choose"),
            Expect::MayAccept("authenticated_data is the sender's to choose"),
        )
    };
    let edits: Vec<Edit> = vec![
        ("epoch-max", Box::new(|c| c.epoch = u64::MAX), Expect::Reject, Expect::Reject),
        ("epoch+1", Box::new(|c| c.epoch += 1), Expect::Reject, Expect::Reject),
        ("group-id-other", Box::new(|c| c.group_id = b"another group".to_vec()), Expect::Reject, Expect::Reject),
        (
            "sender-out-of-range",
            Box::new(|c| c.sender = Sender::Member(LeafIndex(u32::MAX))),
            Expect::Reject,
            Expect::Reject,
        ),
        (
            "sender-blank-leaf",
            Box::new(|c| c.sender = Sender::Member(LeafIndex(BLANK_LEAF))),
            Expect::Reject,
            Expect::Reject,
        ),
        (
            "sender-other-member",
            Box::new(move |c| c.sender = Sender::Member(LeafIndex(other))),
            Expect::Reject,
            Expect::Reject,
        ),
        ("sender-external-0", Box::new(|c| c.sender = Sender::External(0)), Expect::Reject, Expect::Reject),
        (
            "sender-new-member-proposal",
            Box::new(|c| c.sender = Sender::NewMemberProposal),
            Expect::Reject,
            Expect::Reject,
        ),
        ("authenticated-data-1MiB", Box::new(|c| c.authenticated_data = vec![7; 1 << 20]), big_ad.0, big_ad.1),
    ];
    let mut out = Vec::new();
    for (name, f, expect, expect_server) in edits {
        let mut m = base.clone();
        if let MlsMessageBody::PublicMessage(pm) = &mut m.body {
            f(&mut pm.content);
        }
        if resign_public(fx, g, &mut m).is_some() {
            out.push(Mutant::new(format!("insider:content:{name}"), m.to_bytes(), expect, expect_server));
        }
    }
    out
}

/// Mutants of a commit's proposal list and path, re-signed.
fn commit_mutants(fx: &Fixture, g: &Genuine) -> Vec<Mutant> {
    let Ok(base) = MlsMessage::from_bytes(&g.bytes) else { return Vec::new() };
    let MlsMessageBody::PublicMessage(pm) = &base.body else { return Vec::new() };
    let FramedContentBody::Commit(commit) = &pm.content.body else { return Vec::new() };
    let Some(suite) = suite(fx.cipher_suite) else { return Vec::new() };
    let sender_leaf = g.sender.unwrap_or(LeafIndex(BLANK_LEAF));
    let joiner_kp = fx.joiner.key_package.clone();
    fn p(proposal: Proposal) -> ProposalOrRef {
        ProposalOrRef::Proposal(Box::new(proposal))
    }
    fn remove(leaf: u32) -> ProposalOrRef {
        p(Proposal::Remove(Remove { removed: LeafIndex(leaf) }))
    }
    fn add(kp: KeyPackage) -> ProposalOrRef {
        p(Proposal::Add(Add { key_package: kp }))
    }
    let cs = fx.cipher_suite;
    let joiner_id = fx.joiner.identity().clone();
    let kp_variant = |name: &str| {
        key_package_variants(fx, &joiner_id, &joiner_kp).into_iter().find(|(n, _, _)| n == name).map(|(_, kp, _)| kp)
    };
    let existing_member_kp =
        fixtures::bundle(&*fixtures::provider(), fx.cipher_suite, &fx.identities[2]).ok().map(|b| b.key_package);
    let psk = PreSharedKeyId {
        psk: Psk::External { psk_id: b"nobody knows".to_vec() },
        psk_nonce: vec![0; suite.hash_len()],
    };
    let reinit = ReInit {
        group_id: b"next".to_vec(),
        version: ProtocolVersion::MLS10,
        cipher_suite: fx.cipher_suite,
        extensions: vec![],
    };
    let unknown_ref = ProposalOrRef::Reference(ProposalRef(vec![0x5a; suite.hash_len()]));
    let is_external = g.sender.is_none();
    let valid_for_server = |member_only: bool| {
        if member_only && is_external { Expect::Reject } else { Expect::MayAccept(TAG_UNCHECKED) }
    };
    let adds_only = !commit.proposals.is_empty()
        && commit.proposals.iter().all(|p| matches!(p, ProposalOrRef::Proposal(b) if matches!(**b, Proposal::Add(_))));

    type Edit = (String, Box<dyn Fn(&mut Commit)>, Expect);
    let mut edits: Vec<Edit> = Vec::new();
    let mut edit = |name: &str, f: Box<dyn Fn(&mut Commit)>, server: Expect| edits.push((name.to_string(), f, server));
    if commit.proposals.len() >= 2 {
        edit("proposals-reversed", Box::new(|c| c.proposals.reverse()), Expect::Reject);
    }
    if let Some(first) = commit.proposals.first().cloned() {
        edit("proposal-duplicated", Box::new(move |c| c.proposals.push(first.clone())), Expect::Reject);
        edit("proposals-dropped", Box::new(|c| c.proposals.clear()), Expect::Reject);
    }
    edit("remove-out-of-range", Box::new(move |c| c.proposals.push(remove(u32::MAX))), Expect::Reject);
    edit("remove-leaf-1000", Box::new(move |c| c.proposals.push(remove(1000))), Expect::Reject);
    edit("remove-blank-leaf", Box::new(move |c| c.proposals.push(remove(BLANK_LEAF))), Expect::Reject);
    edit("remove-committer", Box::new(move |c| c.proposals.push(remove(sender_leaf.0))), Expect::Reject);
    edit("remove-receiver", Box::new(move |c| c.proposals.push(remove(RECEIVER.0))), valid_for_server(true));
    edit("remove-twice", Box::new(move |c| c.proposals.extend([remove(6), remove(6)])), Expect::Reject);
    let kp = joiner_kp.clone();
    edit("add-twice", Box::new(move |c| c.proposals.extend([add(kp.clone()), add(kp.clone())])), Expect::Reject);
    if let Some(kp) = existing_member_kp {
        edit("add-existing-member-key", Box::new(move |c| c.proposals.push(add(kp.clone()))), Expect::Reject);
    }
    for name in ["capabilities-65530", "leaf-10k-unlisted-extensions", "kp-10k-extensions", "other-suite"] {
        if let Some(kp) = kp_variant(name) {
            edit(&format!("add-kp-{name}"), Box::new(move |c| c.proposals.push(add(kp.clone()))), Expect::Reject);
        }
    }
    fn gce(exts: Vec<Extension>) -> ProposalOrRef {
        p(Proposal::GroupContextExtensions(GroupContextExtensions { extensions: exts }))
    }
    edit("gce-10k-unknown", Box::new(move |c| c.proposals.push(gce(unknown_extensions(10_000)))), Expect::Reject);
    let dup = [unknown_extensions(1), unknown_extensions(1)].concat();
    edit("gce-duplicate-type", Box::new(move |c| c.proposals.push(gce(dup.clone()))), Expect::Reject);
    edit("gce-twice", Box::new(move |c| c.proposals.extend([gce(vec![]), gce(vec![])])), Expect::Reject);
    let psk2 = psk.clone();
    edit(
        "psk-unknown",
        Box::new(move |c| c.proposals.push(p(Proposal::PreSharedKey(PreSharedKey { psk: psk2.clone() })))),
        valid_for_server(false),
    );
    let psk3 = psk.clone();
    edit(
        "psk-twice",
        Box::new(move |c| {
            c.proposals.extend((0..2).map(|_| p(Proposal::PreSharedKey(PreSharedKey { psk: psk3.clone() }))))
        }),
        Expect::Reject,
    );
    let r = reinit.clone();
    edit(
        "reinit-with-others",
        Box::new(move |c| {
            c.proposals.push(p(Proposal::ReInit(r.clone())));
            c.proposals.push(remove(6));
        }),
        Expect::Reject,
    );
    edit(
        "external-init-in-member-commit",
        Box::new(|c| {
            c.proposals.push(ProposalOrRef::Proposal(Box::new(Proposal::ExternalInit(ExternalInit {
                kem_output: vec![1; 32],
            }))))
        }),
        Expect::Reject,
    );
    // draft-ietf-mls-extensions: a SelfRemove only by reference.
    edit("self-remove-inline", Box::new(|c| c.proposals.push(p(Proposal::SelfRemove))), Expect::Reject);
    // RFC 9420 §12.2: a type no member supports (and no validator accepts).
    edit(
        "custom-proposal-unsupported",
        Box::new(|c| {
            c.proposals.push(p(Proposal::Custom(CustomProposal { proposal_type: ProposalType(0xf0f0), data: vec![1] })))
        }),
        Expect::Reject,
    );
    let u = unknown_ref.clone();
    edit("reference-unknown", Box::new(move |c| c.proposals.push(u.clone())), Expect::Reject);
    let u = unknown_ref.clone();
    edit(
        "references-1000-unknown",
        Box::new(move |c| c.proposals.extend(std::iter::repeat_n(u.clone(), 1000))),
        Expect::Reject,
    );
    if let Some(r @ ProposalOrRef::Reference(_)) = commit.proposals.first().cloned() {
        edit("reference-twice", Box::new(move |c| c.proposals.push(r.clone())), Expect::Reject);
    }
    edit("removes-10k", Box::new(move |c| c.proposals.extend((0..10_000).map(|i| remove(7 + i)))), Expect::Reject);
    if commit.path.is_some() {
        edit("path-none", Box::new(|c| c.path = None), if adds_only { valid_for_server(true) } else { Expect::Reject });
        edit(
            "path-drop-last-node",
            Box::new(|c| {
                if let Some(path) = &mut c.path {
                    path.nodes.pop();
                }
            }),
            Expect::Reject,
        );
        edit(
            "path-extra-node",
            Box::new(|c| {
                if let Some(path) = &mut c.path {
                    if let Some(n) = path.nodes.last().cloned() {
                        path.nodes.push(n);
                    }
                }
            }),
            Expect::Reject,
        );
        edit(
            "path-1000-nodes",
            Box::new(|c| {
                if let Some(path) = &mut c.path {
                    if let Some(n) = path.nodes.last().cloned() {
                        path.nodes.extend(std::iter::repeat_n(n, 1000));
                    }
                }
            }),
            Expect::Reject,
        );
        // Only where there are two nodes to swap: on a one-node path the
        // edit changes nothing, and the re-signed commit is genuine (with
        // ECDSA's randomized signatures, new bytes that a server rightly
        // accepts).
        if commit.path.as_ref().is_some_and(|p| p.nodes.len() >= 2) {
            edit(
                "path-swap-nodes",
                Box::new(|c| {
                    if let Some(path) = &mut c.path {
                        let n = path.nodes.len();
                        path.nodes.swap(0, n - 1);
                    }
                }),
                Expect::Reject,
            );
        }
        edit(
            "path-ciphertexts-dropped",
            Box::new(|c| {
                if let Some(path) = &mut c.path {
                    for n in &mut path.nodes {
                        n.encrypted_path_secret = Default::default();
                    }
                }
            }),
            Expect::Reject,
        );
        edit(
            "path-ciphertexts-extra",
            Box::new(|c| {
                if let Some(path) = &mut c.path {
                    for n in &mut path.nodes {
                        if let Some(ct) = n.encrypted_path_secret.get(0) {
                            n.encrypted_path_secret = n.encrypted_path_secret.iter().chain([ct]).collect();
                        }
                    }
                }
            }),
            Expect::Reject,
        );
        edit(
            "path-node-key-empty",
            Box::new(|c| {
                if let Some(path) = &mut c.path {
                    if let Some(n) = path.nodes.first_mut() {
                        n.encryption_key.0 = Box::default();
                    }
                }
            }),
            Expect::Reject,
        );
        // Leaf edits, with the leaf re-signed for its position.
        let signer = g.signer.signer.private.clone();
        let group_id = fx.context().group_id.clone();
        let member_key = fx.member(RECEIVER).and_then(|m| m.tree().leaf(RECEIVER)).map(|l| l.encryption_key().to_vec());
        let leaf_edit = move |f: Box<dyn Fn(&mut LeafNode)>| -> Box<dyn Fn(&mut Commit)> {
            let signer = signer.clone();
            let group_id = group_id.clone();
            Box::new(move |c| {
                if let (Some(path), Some(suite)) = (&mut c.path, self::suite(cs)) {
                    f(&mut path.leaf_node);
                    let _ = path.leaf_node.sign(&suite, &signer, Some((&group_id, sender_leaf)));
                }
            })
        };
        edits.push((
            "path-leaf-parent-hash-garbage".into(),
            leaf_edit(Box::new(|l| l.leaf_node_source = LeafNodeSource::Commit { parent_hash: vec![0xa5; 32] })),
            Expect::Reject,
        ));
        edits.push((
            "path-leaf-source-update".into(),
            leaf_edit(Box::new(|l| l.leaf_node_source = LeafNodeSource::Update)),
            Expect::Reject,
        ));
        if let Some(key) = member_key {
            edits.push((
                "path-leaf-key-of-other-member".into(),
                leaf_edit(Box::new(move |l| {
                    let _ = l.set_encryption_key(&key);
                })),
                Expect::Reject,
            ));
        }
        let server_ok = valid_for_server(false);
        edits.push(("path-leaf-capabilities-65530".into(), leaf_edit(Box::new(huge_capabilities)), server_ok));
        edits.push((
            "path-leaf-10k-extensions".into(),
            leaf_edit(Box::new(|l| {
                huge_capabilities(l);
                l.extensions = unknown_extensions(10_000).into();
            })),
            server_ok,
        ));
    }
    let mut out = Vec::new();
    for (name, f, expect_server) in edits {
        let mut m = base.clone();
        if let MlsMessageBody::PublicMessage(pm) = &mut m.body {
            if let FramedContentBody::Commit(c) = &mut pm.content.body {
                f(c);
            }
        }
        if resign_public(fx, g, &mut m).is_some() {
            let bytes = m.to_bytes();
            if bytes != g.bytes {
                out.push(Mutant::new(format!("insider:commit:{name}"), bytes, Expect::Reject, expect_server));
            }
        }
    }
    out
}

/// Proposals a real member sends through [`Group::propose`], both wire
/// formats: the sender is a copy of the member at `g.sender`, moved one
/// handshake generation ahead of the genuine message (so that a private
/// mutant does not take the genuine message's key).
fn proposal_mutants(fx: &Fixture, g: &Genuine) -> Vec<Mutant> {
    let Some(sender_leaf) = g.sender else { return Vec::new() };
    let Some(sender) = fx.member(sender_leaf) else { return Vec::new() };
    let mut sender = sender.clone();
    if sender.propose(Proposal::Remove(Remove { removed: LeafIndex(6) })).is_err() {
        return Vec::new();
    }
    let Some(suite) = suite(fx.cipher_suite) else { return Vec::new() };
    let joiner_id = fx.joiner.identity().clone();
    let joiner_kp = fx.joiner.key_package.clone();
    let valid = Expect::MayAccept(VALID_PROPOSAL);
    let mut proposals: Vec<(String, Proposal, Expect)> = vec![
        ("remove-out-of-range".into(), Proposal::Remove(Remove { removed: LeafIndex(u32::MAX) }), Expect::Reject),
        ("remove-blank-leaf".into(), Proposal::Remove(Remove { removed: LeafIndex(BLANK_LEAF) }), Expect::Reject),
        ("remove-receiver".into(), Proposal::Remove(Remove { removed: RECEIVER }), valid),
        ("remove-self".into(), Proposal::Remove(Remove { removed: sender_leaf }), valid),
        ("external-init".into(), Proposal::ExternalInit(ExternalInit { kem_output: vec![1; 32] }), Expect::Reject),
        (
            "gce-10k-unknown".into(),
            Proposal::GroupContextExtensions(GroupContextExtensions { extensions: unknown_extensions(10_000) }),
            Expect::Reject,
        ),
        (
            "psk-unknown".into(),
            Proposal::PreSharedKey(PreSharedKey {
                psk: PreSharedKeyId {
                    psk: Psk::External { psk_id: b"nobody knows".to_vec() },
                    psk_nonce: vec![0; suite.hash_len()],
                },
            }),
            Expect::MayAccept("a PSK is resolved when committed"),
        ),
        (
            "reinit-unknown-suite".into(),
            Proposal::ReInit(ReInit {
                group_id: b"next".to_vec(),
                version: ProtocolVersion::MLS10,
                cipher_suite: CipherSuite(0xfff0),
                extensions: vec![],
            }),
            Expect::MayAccept("a ReInit's suite is checked when the new group starts"),
        ),
    ];
    for (name, kp, expect) in key_package_variants(fx, &joiner_id, &joiner_kp) {
        let expect = match (name.as_str(), expect) {
            // A proposal's KeyPackage is checked in full on receipt.
            (_, Expect::MayAccept(_)) => valid,
            _ => Expect::Reject,
        };
        proposals.push((format!("add-kp-{name}"), Proposal::Add(Add { key_package: kp }), expect));
    }
    if let Some(base) = sender.tree().leaf(sender_leaf).cloned() {
        let group_id = fx.context().group_id.clone();
        let signer = g.signer.signer.private.clone();
        let other_key = sender.tree().leaf(RECEIVER).map(|l| l.encryption_key().to_vec());
        let leaf = |f: &dyn Fn(&mut LeafNode)| {
            let mut l = base.clone();
            l.leaf_node_source = LeafNodeSource::Update;
            if let Ok(pair) = suite.generate_hpke_key_pair() {
                let _ = l.set_encryption_key(pair.public.as_bytes());
            }
            f(&mut l);
            let _ = l.sign(&suite, &signer, Some((&group_id, sender_leaf)));
            Proposal::Update(Update { leaf_node: l })
        };
        proposals.push(("update-capabilities-65530".into(), leaf(&huge_capabilities), valid));
        proposals.push((
            "update-10k-listed-extensions".into(),
            leaf(&|l| {
                huge_capabilities(l);
                l.extensions = unknown_extensions(10_000).into();
            }),
            valid,
        ));
        proposals.push((
            "update-10k-unlisted-extensions".into(),
            leaf(&|l| l.extensions = unknown_extensions(10_000).into()),
            Expect::Reject,
        ));
        proposals.push((
            "update-source-commit".into(),
            leaf(&|l| l.leaf_node_source = LeafNodeSource::Commit { parent_hash: vec![] }),
            Expect::Reject,
        ));
        if let Some(key) = other_key {
            proposals.push((
                "update-key-of-other-member".into(),
                leaf(&|l| {
                    let _ = l.set_encryption_key(&key);
                }),
                valid,
            ));
        }
        proposals.push((
            "update-other-credential".into(),
            leaf(&|l| l.credential = throng::messages::Credential::basic("someone else")),
            Expect::MayAccept("credential changes are the application's to approve"),
        ));
    }
    let mut out = Vec::new();
    for (name, proposal, expect) in proposals {
        let mut s = sender.clone();
        if let Ok((message, _)) = s.propose(proposal) {
            out.push(Mutant::new(format!("insider:proposal:{name}"), message.to_bytes(), expect, expect));
        }
    }
    out
}

/// Every insider mutant of a genuine message.
pub fn message_mutants(fx: &Fixture, g: &Genuine) -> Vec<Mutant> {
    let is_commit = g.name.starts_with("commit");
    let mut out = content_mutants(fx, g, is_commit);
    if is_commit {
        out.extend(commit_mutants(fx, g));
    } else if g.name.starts_with("proposal") {
        out.extend(proposal_mutants(fx, g));
    }
    out
}

/// The fixture's GroupInfo changed by `f` and re-signed by its signer
/// (leaf 0); the tree hash follows an edited tree when the tree imports.
pub fn group_info_with(fx: &Fixture, f: &dyn Fn(&mut GroupInfo)) -> Option<GroupInfo> {
    let suite = suite(fx.cipher_suite)?;
    let MlsMessage { body: MlsMessageBody::GroupInfo(mut info), .. } = MlsMessage::from_bytes(&fx.group_info).ok()?
    else {
        return None;
    };
    f(&mut info);
    info.sign(&suite, &fx.identities[0].signer.private).ok()?;
    Some(info)
}

fn group_info_message(info: GroupInfo) -> Vec<u8> {
    MlsMessage::new(MlsMessageBody::GroupInfo(info)).to_bytes()
}

/// Insider GroupInfo mutants (external join, `Registry::create_group`):
/// fields and extensions changed, tree edits with a matching tree hash,
/// all re-signed by the real signer.
pub fn group_info_mutants(fx: &Fixture) -> Vec<Mutant> {
    let signed = Expect::MayAccept("a GroupInfo its signer signed is trusted for this field");
    type Edit = (&'static str, Box<dyn Fn(&mut GroupInfo)>, Expect, Expect);
    let edits: Vec<Edit> = vec![
        ("epoch-max", Box::new(|i| i.group_context.epoch = u64::MAX), signed, signed),
        ("epoch-0", Box::new(|i| i.group_context.epoch = 0), signed, signed),
        ("signer-out-of-range", Box::new(|i| i.signer = LeafIndex(u32::MAX)), Expect::Reject, Expect::Reject),
        ("signer-blank-leaf", Box::new(|i| i.signer = LeafIndex(BLANK_LEAF)), Expect::Reject, Expect::Reject),
        ("signer-other-member", Box::new(|i| i.signer = LeafIndex(2)), Expect::Reject, Expect::Reject),
        (
            "other-suite",
            Box::new(|i| {
                i.group_context.cipher_suite = CipherSuite(if i.group_context.cipher_suite.0 == 1 { 3 } else { 1 })
            }),
            Expect::Reject,
            Expect::Reject,
        ),
        (
            "unknown-suite",
            Box::new(|i| i.group_context.cipher_suite = CipherSuite(0xfff0)),
            Expect::Reject,
            Expect::Reject,
        ),
        ("version-0", Box::new(|i| i.group_context.version = ProtocolVersion(0)), Expect::Reject, Expect::Reject),
        (
            "no-ratchet-tree",
            Box::new(|i| i.extensions.retain(|e| e.extension_type != ExtensionType::RATCHET_TREE)),
            Expect::Reject,
            Expect::Reject,
        ),
        (
            "no-external-pub",
            Box::new(|i| i.extensions.retain(|e| e.extension_type != ExtensionType::EXTERNAL_PUB)),
            Expect::Reject,
            signed,
        ),
        (
            "external-pub-garbage",
            Box::new(|i| {
                for e in &mut i.extensions {
                    if e.extension_type == ExtensionType::EXTERNAL_PUB {
                        e.extension_data = vec![1, 0];
                    }
                }
            }),
            Expect::Reject,
            signed,
        ),
        ("extensions-10k", Box::new(|i| i.extensions.extend(unknown_extensions(10_000))), signed, signed),
        (
            "ratchet-tree-twice",
            Box::new(|i| {
                let t = i.extensions.iter().find(|e| e.extension_type == ExtensionType::RATCHET_TREE).cloned();
                i.extensions.extend(t);
            }),
            Expect::Reject,
            Expect::Reject,
        ),
        (
            "context-extensions-10k",
            Box::new(|i| i.group_context.extensions = unknown_extensions(10_000)),
            Expect::Reject,
            Expect::Reject,
        ),
        ("confirmed-transcript-empty", Box::new(|i| i.group_context.confirmed_transcript_hash.clear()), signed, signed),
        ("confirmation-tag-garbage", Box::new(|i| i.confirmation_tag = vec![0; 7]), signed, signed),
        ("group-id-64KiB", Box::new(|i| i.group_context.group_id = vec![b'g'; 65_536]), signed, signed),
    ];
    let mut out = Vec::new();
    for (name, f, expect, expect_server) in edits {
        if let Some(info) = group_info_with(fx, &*f) {
            out.push(Mutant::new(format!("insider:groupinfo:{name}"), group_info_message(info), expect, expect_server));
        }
    }
    let Ok(tree) = RatchetTreeExtension::from_bytes(&fx.tree) else { return out };
    let Some(suite) = suite(fx.cipher_suite) else { return out };
    for edit in tree_edits(&tree) {
        let hash = RatchetTree::import(&suite, &edit.tree).ok().map(|t| t.root_hash().to_vec());
        let ext = edit.tree.to_extension();
        let set = |i: &mut GroupInfo| {
            i.extensions.retain(|e| e.extension_type != ExtensionType::RATCHET_TREE);
            i.extensions.push(ext.clone());
            if let Some(h) = &hash {
                i.group_context.tree_hash = h.clone();
            }
        };
        if let Some(info) = group_info_with(fx, &set) {
            let mut m = Mutant::new(
                format!("insider:groupinfo:{}", edit.name),
                group_info_message(info),
                edit.expect,
                edit.expect,
            );
            m.detail =
                format!("tree hash {}", if hash.is_some() { "recomputed" } else { "kept (tree does not import)" });
            out.push(m);
        }
    }
    out
}

/// Tree edits as inputs of the tree-import target.
pub fn tree_mutants(fx: &Fixture) -> Vec<Mutant> {
    let Ok(tree) = RatchetTreeExtension::from_bytes(&fx.tree) else { return Vec::new() };
    tree_edits(&tree).into_iter().map(|e| Mutant::new(e.name, e.tree.to_bytes(), e.expect, e.expect)).collect()
}

/// Helper for the fuzz crate and reproductions: decode any MLSMessage.
pub fn decode_message(bytes: &[u8]) -> Option<MlsMessage> {
    MlsMessage::from_bytes(bytes).ok()
}

//! Real groups and the genuine inputs they produce: every target's
//! mutants start from one of these.
//!
//! One [`Fixture`] per cipher suite and handshake wire format: a group of
//! seven (leaf 5 removed again, so the tree has a blank leaf, parent nodes
//! and unmerged leaves) in epoch 3, the receiver (leaf 1) in that epoch, and
//! alternative next messages for it: commits (path only, an Add, a Remove,
//! by reference, an external join), proposals (Update, Add, Remove) and
//! application data. Plus what the other targets need: the Welcome of the
//! Add commit and its joiner's bundle, a signed GroupInfo with the ratchet
//! tree and external_pub, the tree alone, a KeyPackage, and the receiver's
//! exported member and public state.
//!
//! Key generation is random, so the bytes differ from run to run; the
//! mutation schedule over them is deterministic. Key packages are made with
//! a lifetime of `0..u64::MAX` so that saved fixtures (fuzz/) never expire.

use std::sync::Arc;

use throng::crypto::{AwsLcProvider, CipherSuite, CryptoProvider, Secret, Suite};
use throng::internals::codec::{Decode, Encode, Reader};
use throng::internals::group::{CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle, Processed, PskStore};
use throng::internals::tree_math::LeafIndex;
use throng::messages::content::{MlsMessage, MlsMessageBody, WireFormat};
use throng::messages::{
    Add, Credential, GroupContext, KeyPackage, LeafNode, LeafNodeSource, Lifetime, ParentNode, Proposal, ProposalRef,
    ProtocolVersion, ReInit, Remove, Sender,
};
use throng::{Error, default_capabilities};

/// The suites the suite runs: X25519/AES-GCM/Ed25519, P-256, ChaCha20.
pub const SUITES: [u16; 3] = [1, 2, 3];

/// Members the fixture group had (leaf 5 is removed again).
pub const MEMBERS: u32 = 7;

/// The receiving member's leaf.
pub const RECEIVER: LeafIndex = LeafIndex(1);

/// The leaf the fixture removes, blank in the fixture epoch.
pub const BLANK_LEAF: u32 = 5;

/// The group id of every fixture.
pub const GROUP_ID: &[u8] = b"throng-robustness";

/// The provider every fixture and target uses.
pub fn provider() -> Arc<dyn CryptoProvider> {
    Arc::new(AwsLcProvider)
}

/// One genuine message for the fixture epoch and the member who receives it.
#[derive(Clone, Debug)]
pub struct Genuine {
    /// What it is (`commit_path`, `proposal_update`, ...).
    pub name: &'static str,
    /// Its encoding.
    pub bytes: Vec<u8>,
    /// Its member sender's leaf (`None` for an external joiner's commit).
    pub sender: Option<LeafIndex>,
    /// The key that signed it (a member's identity or the external joiner's).
    pub signer: Identity,
    /// The receiver, in the state in which it receives the message.
    pub receiver: Group,
    /// Messages a server must see first (the proposal a commit references).
    pub prerequisites: Vec<Vec<u8>>,
}

/// A real group in its fixture epoch and everything the targets start from.
#[derive(Clone, Debug)]
pub struct Fixture {
    /// `cs1-public`, `cs2-private`, ...
    pub label: String,
    /// The group's suite.
    pub cipher_suite: CipherSuite,
    /// Whether proposals and commits travel as PrivateMessages.
    pub private_handshakes: bool,
    /// The configuration every member (and the targets) run with.
    pub config: GroupConfig,
    /// Every member's identity, by leaf (leaf 5's too, though removed).
    pub identities: Vec<Identity>,
    /// The active members in the fixture epoch, in leaf order.
    pub members: Vec<Group>,
    /// Alternative next messages for the receiver.
    pub messages: Vec<Genuine>,
    /// The Welcome of the `commit_add` message (an MLSMessage).
    pub welcome: Vec<u8>,
    /// The bundle that Welcome is addressed to.
    pub joiner: KeyPackageBundle,
    /// Its init and encryption private keys (for saving the fixture).
    pub joiner_keys: (Secret, Secret),
    /// A GroupInfo of the fixture epoch with ratchet_tree and external_pub
    /// (an MLSMessage), signed by leaf 0.
    pub group_info: Vec<u8>,
    /// The fixture epoch's ratchet tree (`RatchetTreeExtension` encoding).
    pub tree: Vec<u8>,
    /// A valid KeyPackage (an MLSMessage) for the suite.
    pub key_package: Vec<u8>,
    /// The identity that signed `key_package`.
    pub key_package_owner: Identity,
    /// The receiver's exported member state.
    pub member_state: Vec<u8>,
    /// The receiver's exported public state (a server's).
    pub public_state: Vec<u8>,
    /// The fixture epoch's membership key (read from the receiver's state).
    pub membership_key: Secret,
}

fn fail(what: &str) -> impl FnOnce(Error) -> String + '_ {
    move |e| format!("fixture: {what}: {e}")
}

/// A KeyPackage bundle for `identity` valid from 0 to `u64::MAX` (so that
/// saved fixtures do not expire), default capabilities.
pub fn bundle(provider: &dyn CryptoProvider, cs: CipherSuite, identity: &Identity) -> Result<KeyPackageBundle, Error> {
    bundle_with_keys(provider, cs, identity).map(|(b, _)| b)
}

/// [`bundle`], with the init and encryption private keys.
pub fn bundle_with_keys(
    provider: &dyn CryptoProvider,
    cs: CipherSuite,
    identity: &Identity,
) -> Result<(KeyPackageBundle, (Secret, Secret)), Error> {
    let suite = Suite::new(provider, cs)?;
    let init = suite.generate_hpke_key_pair()?;
    let encryption = suite.generate_hpke_key_pair()?;
    let mut leaf_node = LeafNode::new(
        encryption.public.as_bytes(),
        identity.signer.public.as_bytes(),
        identity.credential.clone(),
        Arc::new(default_capabilities(cs)),
        LeafNodeSource::KeyPackage(Lifetime { not_before: 0, not_after: u64::MAX }),
        Vec::new(),
    )?;
    leaf_node.sign(&suite, &identity.signer.private, None)?;
    let mut key_package = KeyPackage {
        version: ProtocolVersion::MLS10,
        cipher_suite: cs,
        init_key: init.public.clone(),
        leaf_node,
        extensions: Vec::new(),
        signature: Vec::new(),
    };
    key_package.sign(&suite, &identity.signer.private)?;
    let keys = (init.private.0.clone(), encryption.private.0.clone());
    let b = KeyPackageBundle::from_keys(
        provider,
        key_package,
        init.private,
        encryption.private,
        identity.signer.private.clone(),
    )?;
    Ok((b, keys))
}

fn welcome_of(message: &MlsMessage) -> Result<&throng::messages::Welcome, String> {
    match &message.body {
        MlsMessageBody::Welcome(w) => Ok(w),
        _ => Err("fixture: not a Welcome".into()),
    }
}

fn deliver(members: &mut [Group], committer: usize, commit: &MlsMessage) -> Result<(), String> {
    for (i, m) in members.iter_mut().enumerate() {
        if i == committer || !m.is_active() {
            continue;
        }
        match m.process_message(commit.clone()).map_err(fail("deliver"))? {
            Processed::Commit(staged) => m.merge_staged_commit(*staged).map_err(fail("merge"))?,
            other => return Err(format!("fixture: expected a commit, got {other:?}")),
        }
    }
    Ok(())
}

fn commit(sender: &mut Group, options: CommitOptions) -> Result<(MlsMessage, Option<MlsMessage>), String> {
    let pending = sender.commit(options).map_err(fail("commit"))?;
    let out = (pending.message.clone(), pending.welcome.clone());
    sender.merge_pending_commit(pending).map_err(fail("merge own commit"))?;
    Ok(out)
}

impl Fixture {
    /// Builds the fixture of one suite and handshake wire format.
    pub fn build(cs: u16, private_handshakes: bool) -> Result<Self, String> {
        let p = provider();
        let cs = CipherSuite(cs);
        let config = config_for(private_handshakes);
        let identities: Vec<Identity> = (0..MEMBERS)
            .map(|i| Identity::basic(&*p, cs, format!("member-{i}")))
            .collect::<Result<_, _>>()
            .map_err(fail("identity"))?;
        let mut creator =
            Group::create_with_provider(p.clone(), cs, &identities[0], GROUP_ID.to_vec(), vec![], config.clone())
                .map_err(fail("create"))?;
        let bundles: Vec<KeyPackageBundle> =
            identities[1..].iter().map(|id| bundle(&*p, cs, id)).collect::<Result<_, _>>().map_err(fail("bundle"))?;
        let adds = bundles.iter().map(|b| Proposal::Add(Add { key_package: b.key_package.clone() })).collect();
        let (_, welcome) = commit(&mut creator, CommitOptions::with_proposals(adds))?;
        let welcome = welcome.ok_or("fixture: no Welcome")?;
        let mut members = vec![creator];
        for b in &bundles {
            members.push(
                Group::join(p.clone(), config.clone(), welcome_of(&welcome)?, b, None, PskStore::default())
                    .map_err(fail("join"))?,
            );
        }
        // Epoch 2: leaf 2 commits a path; epoch 3: leaf 0 removes leaf 5
        // without a path update of the others, leaving a blank leaf.
        let (msg, _) = commit(&mut members[2], CommitOptions::default())?;
        deliver(&mut members, 2, &msg)?;
        let remove = Proposal::Remove(Remove { removed: LeafIndex(BLANK_LEAF) });
        let (msg, _) = commit(&mut members[0], CommitOptions::with_proposals(vec![remove]))?;
        deliver(&mut members, 0, &msg)?;
        members.retain(Group::is_active);
        let at = |leaf: u32| members.iter().position(|m| m.own_leaf() == LeafIndex(leaf)).unwrap_or(0);
        let receiver = members[at(RECEIVER.0)].clone();

        let mut messages = Vec::new();
        let genuine =
            |name: &'static str, msg: &MlsMessage, sender: Option<u32>, signer: &Identity, receiver: Group| Genuine {
                name,
                bytes: msg.to_bytes(),
                sender: sender.map(LeafIndex),
                signer: signer.clone(),
                receiver,
                prerequisites: Vec::new(),
            };

        let (msg, _) = commit(&mut members[at(2)].clone(), CommitOptions::default())?;
        messages.push(genuine("commit_path", &msg, Some(2), &identities[2], receiver.clone()));

        let joiner_id = Identity::basic(&*p, cs, "joiner").map_err(fail("identity"))?;
        let (joiner, joiner_keys) = bundle_with_keys(&*p, cs, &joiner_id).map_err(fail("bundle"))?;
        let add = Proposal::Add(Add { key_package: joiner.key_package.clone() });
        let (msg, welcome) = commit(&mut members[at(3)].clone(), CommitOptions::with_proposals(vec![add]))?;
        let welcome = welcome.ok_or("fixture: no Welcome")?.to_bytes();
        messages.push(genuine("commit_add", &msg, Some(3), &identities[3], receiver.clone()));

        let remove = Proposal::Remove(Remove { removed: LeafIndex(6) });
        let (msg, _) = commit(&mut members[at(4)].clone(), CommitOptions::with_proposals(vec![remove]))?;
        messages.push(genuine("commit_remove", &msg, Some(4), &identities[4], receiver.clone()));

        let (update, _) = members[at(3)].clone().propose_update().map_err(fail("propose_update"))?;
        messages.push(genuine("proposal_update", &update, Some(3), &identities[3], receiver.clone()));

        // A commit by reference to that Update, for a receiver that has it.
        let mut committer = members[at(4)].clone();
        let mut with_update = receiver.clone();
        for m in [&mut committer, &mut with_update] {
            m.process_message(update.clone()).map_err(fail("process update"))?;
        }
        let (msg, _) = commit(&mut committer, CommitOptions::default())?;
        let mut by_reference = genuine("commit_by_reference", &msg, Some(4), &identities[4], with_update);
        by_reference.prerequisites.push(update.to_bytes());
        messages.push(by_reference);

        let other_id = Identity::basic(&*p, cs, "proposed").map_err(fail("identity"))?;
        let other = bundle(&*p, cs, &other_id).map_err(fail("bundle"))?;
        let (msg, _) = members[at(2)]
            .clone()
            .propose(Proposal::Add(Add { key_package: other.key_package.clone() }))
            .map_err(fail("propose add"))?;
        messages.push(genuine("proposal_add", &msg, Some(2), &identities[2], receiver.clone()));

        let (msg, _) = members[at(6)]
            .clone()
            .propose(Proposal::Remove(Remove { removed: LeafIndex(3) }))
            .map_err(fail("propose remove"))?;
        messages.push(genuine("proposal_remove", &msg, Some(6), &identities[6], receiver.clone()));

        let msg = members[at(2)].clone().encrypt_application(b"hello, group", b"ad".to_vec()).map_err(fail("app"))?;
        messages.push(genuine("application", &msg, Some(2), &identities[2], receiver.clone()));

        let info = members[0].group_info(true, true).map_err(fail("group_info"))?;
        let external_id = Identity::basic(&*p, cs, "external").map_err(fail("identity"))?;
        let (_, msg) = Group::join_by_external_commit(p.clone(), config.clone(), &external_id, &info, None)
            .map_err(fail("external join"))?;
        messages.push(genuine("commit_external", &msg, None, &external_id, receiver.clone()));

        let kp_id = Identity::basic(&*p, cs, "key-package").map_err(fail("identity"))?;
        let kp = bundle(&*p, cs, &kp_id).map_err(fail("bundle"))?;
        let member_state = receiver.export().map_err(fail("export"))?.to_vec();
        let public_state = receiver.public().export().map_err(fail("export public"))?.to_vec();
        let membership_key = membership_key_of(&member_state)
            .map_err(|e| format!("fixture: membership key from exported state: {e}"))?;
        Ok(Self {
            label: format!("cs{}-{}", cs.0, if private_handshakes { "private" } else { "public" }),
            cipher_suite: cs,
            private_handshakes,
            config,
            identities,
            members,
            messages,
            welcome,
            joiner,
            joiner_keys,
            group_info: MlsMessage::new(MlsMessageBody::GroupInfo(info)).to_bytes(),
            tree: receiver.tree().export().to_bytes(),
            key_package: MlsMessage::new(MlsMessageBody::KeyPackage(kp.key_package.clone())).to_bytes(),
            key_package_owner: kp_id,
            member_state,
            public_state,
            membership_key,
        })
    }

    /// Every fixture the suite runs: each suite, public and private
    /// handshakes.
    pub fn all() -> Result<Vec<Self>, String> {
        let mut out = Vec::new();
        for cs in SUITES {
            for private in [false, true] {
                out.push(Self::build(cs, private)?);
            }
        }
        Ok(out)
    }

    /// The active member at `leaf`.
    pub fn member(&self, leaf: LeafIndex) -> Option<&Group> {
        self.members.iter().find(|m| m.own_leaf() == leaf)
    }

    /// The receiver in the fixture epoch.
    pub fn receiver(&self) -> &Group {
        &self.messages[0].receiver
    }

    /// The suite's hash length (the state digest's length).
    pub fn hash_len(&self) -> usize {
        Suite::new(throng::default_provider(), self.cipher_suite).map_or(32, |s| s.hash_len())
    }

    /// The receiver's GroupContext.
    pub fn context(&self) -> &GroupContext {
        self.receiver().context()
    }
}

/// Reads the membership key out of a member's exported state (the format
/// in `throng::state`): the engine keeps it private, and insider mutants of
/// PublicMessages need it for their membership tag.
pub fn membership_key_of(state: &[u8]) -> Result<Secret, String> {
    fn read<T: Decode>(r: &mut Reader<'_>) -> Result<T, String> {
        T::decode(r).map_err(|e| e.to_string())
    }
    let mut r = Reader::new(state);
    r.take(9).map_err(|e| e.to_string())?; // magic, version, kind, suite
    let _: GroupContext = read(&mut r)?;
    let leaves: u32 = read(&mut r)?;
    for _ in 0..leaves {
        let _: Option<LeafNode> = read(&mut r)?;
    }
    for _ in 1..leaves {
        let _: Option<ParentNode> = read(&mut r)?;
    }
    for _ in 0..3 {
        let _: Vec<u8> = read(&mut r)?;
    }
    let proposals: u32 = read(&mut r)?;
    for _ in 0..proposals {
        let _: ProposalRef = read(&mut r)?;
        let _: Proposal = read(&mut r)?;
        let _: Sender = read(&mut r)?;
    }
    let _: Option<ReInit> = read(&mut r)?;
    let _: u8 = read(&mut r)?;
    let _: Credential = read(&mut r)?;
    let _: Vec<u8> = read(&mut r)?; // signature public key
    let _: Secret = read(&mut r)?; // signature private key
    let _: u32 = read(&mut r)?; // own leaf
    let keys: u32 = read(&mut r)?;
    for _ in 0..keys {
        let _: u32 = read(&mut r)?;
        let _: Secret = read(&mut r)?;
        let _: Vec<u8> = read(&mut r)?;
    }
    let _: Secret = read(&mut r)?; // sender_data
    let _: Option<Secret> = read(&mut r)?; // encryption
    for _ in 0..3 {
        let _: Secret = read(&mut r)?; // exporter, external, confirmation_key
    }
    read(&mut r)
}

/// Recomputes the trailing digest of exported state after its body was
/// changed (so that a mutant reaches the decoder, not just the digest check).
pub fn reseal(cs: CipherSuite, state: &mut Vec<u8>) {
    let Ok(suite) = Suite::new(throng::default_provider(), cs) else { return };
    let nh = suite.hash_len();
    if state.len() < nh + 9 {
        return;
    }
    let body = state.len() - nh;
    let digest = suite.hash(&state[..body]);
    state.truncate(body);
    state.extend_from_slice(&digest);
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn get<'a>(r: &mut &'a [u8]) -> Result<&'a [u8], String> {
    let (len, rest) = r.split_first_chunk::<4>().ok_or("fixture file truncated")?;
    let len = u32::from_be_bytes(*len) as usize;
    if rest.len() < len {
        return Err("fixture file truncated".into());
    }
    let (v, rest) = rest.split_at(len);
    *r = rest;
    Ok(v)
}

fn put_identity(out: &mut Vec<u8>, id: &Identity) {
    put(out, &id.credential.to_bytes());
    put(out, id.signer.private.0.as_bytes());
    put(out, id.signer.public.as_bytes());
}

fn get_identity(r: &mut &[u8]) -> Result<Identity, String> {
    use throng::crypto::{SignatureKeyPair, SignaturePrivateKey, SignaturePublicKey};
    let credential = Credential::from_bytes(get(r)?).map_err(|e| e.to_string())?;
    let private = SignaturePrivateKey(Secret::from_slice(get(r)?));
    let public = SignaturePublicKey(get(r)?.into());
    Ok(Identity { credential, signer: SignatureKeyPair { private, public } })
}

/// The names of the genuine messages, in fixture order.
pub const MESSAGE_NAMES: [&str; 9] = [
    "commit_path",
    "commit_add",
    "commit_remove",
    "proposal_update",
    "commit_by_reference",
    "proposal_add",
    "proposal_remove",
    "application",
    "commit_external",
];

impl Fixture {
    /// The fixture as bytes (secrets included: test keys only), for the
    /// fuzz crate, whose committed corpora must match the keys they were
    /// made with. [`Fixture::load`] reads it back, without the members and
    /// identities (the fuzz targets do not need them).
    pub fn save(&self) -> Result<Vec<u8>, String> {
        let mut out = b"THRONG-ROBUSTNESS-FIXTURE-1".to_vec();
        put(&mut out, &self.cipher_suite.0.to_be_bytes());
        put(&mut out, &[u8::from(self.private_handshakes)]);
        put(&mut out, &(self.messages.len() as u32).to_be_bytes());
        for g in &self.messages {
            put(&mut out, g.name.as_bytes());
            put(&mut out, &g.bytes);
            put(&mut out, &g.sender.map_or(u32::MAX, |l| l.0).to_be_bytes());
            put_identity(&mut out, &g.signer);
            put(&mut out, &g.receiver.export().map_err(|e| e.to_string())?);
            put(&mut out, &(g.prerequisites.len() as u32).to_be_bytes());
            for p in &g.prerequisites {
                put(&mut out, p);
            }
        }
        put(&mut out, &self.welcome);
        put(&mut out, &self.joiner.key_package.to_bytes());
        put(&mut out, self.joiner_keys.0.as_bytes());
        put(&mut out, self.joiner_keys.1.as_bytes());
        put_identity(&mut out, self.joiner.identity());
        put(&mut out, &self.group_info);
        put(&mut out, &self.tree);
        put(&mut out, &self.key_package);
        put_identity(&mut out, &self.key_package_owner);
        put(&mut out, &self.member_state);
        put(&mut out, &self.public_state);
        Ok(out)
    }

    /// Reads what [`Fixture::save`] wrote.
    pub fn load(bytes: &[u8]) -> Result<Self, String> {
        use throng::crypto::HpkePrivateKey;
        let p = provider();
        let r = &mut bytes.strip_prefix(b"THRONG-ROBUSTNESS-FIXTURE-1".as_slice()).ok_or("not a fixture file")?;
        let u32_of = |b: &[u8]| b.try_into().map(u32::from_be_bytes).map_err(|_| "bad u32".to_string());
        let cs = CipherSuite(u16::from_be_bytes(get(r)?.try_into().map_err(|_| "bad suite")?));
        let private_handshakes = get(r)? == [1];
        let config = config_for(private_handshakes);
        let count = u32_of(get(r)?)?;
        let mut messages = Vec::new();
        for _ in 0..count {
            let name = std::str::from_utf8(get(r)?).map_err(|e| e.to_string())?;
            let name = MESSAGE_NAMES.into_iter().find(|n| *n == name).ok_or("unknown message name")?;
            let bytes = get(r)?.to_vec();
            let sender = Some(u32_of(get(r)?)?).filter(|&l| l != u32::MAX).map(LeafIndex);
            let signer = get_identity(r)?;
            let receiver = Group::import(get(r)?, p.clone(), config.clone()).map_err(|e| e.to_string())?;
            let n = u32_of(get(r)?)?;
            let prerequisites = (0..n).map(|_| get(r).map(<[u8]>::to_vec)).collect::<Result<_, _>>()?;
            messages.push(Genuine { name, bytes, sender, signer, receiver, prerequisites });
        }
        let welcome = get(r)?.to_vec();
        let kp = KeyPackage::from_bytes(get(r)?).map_err(|e| e.to_string())?;
        let init = Secret::from_slice(get(r)?);
        let enc = Secret::from_slice(get(r)?);
        let joiner_id = get_identity(r)?;
        let joiner = KeyPackageBundle::from_keys(
            &*p,
            kp,
            HpkePrivateKey(init.clone()),
            HpkePrivateKey(enc.clone()),
            joiner_id.signer.private.clone(),
        )
        .map_err(|e| e.to_string())?;
        let group_info = get(r)?.to_vec();
        let tree = get(r)?.to_vec();
        let key_package = get(r)?.to_vec();
        let key_package_owner = get_identity(r)?;
        let member_state = get(r)?.to_vec();
        let public_state = get(r)?.to_vec();
        let membership_key = membership_key_of(&member_state)?;
        Ok(Self {
            label: format!("cs{}-{}", cs.0, if private_handshakes { "private" } else { "public" }),
            cipher_suite: cs,
            private_handshakes,
            config,
            identities: Vec::new(),
            members: Vec::new(),
            messages,
            welcome,
            joiner,
            joiner_keys: (init, enc),
            group_info,
            tree,
            key_package,
            key_package_owner,
            member_state,
            public_state,
            membership_key,
        })
    }
}

/// The members' configuration: handshakes as PublicMessages or PrivateMessages.
fn config_for(private_handshakes: bool) -> GroupConfig {
    let handshake_wire_format =
        if private_handshakes { WireFormat::PRIVATE_MESSAGE } else { WireFormat::PUBLIC_MESSAGE };
    GroupConfig { handshake_wire_format, ..GroupConfig::default() }
}

//! The crypto floor: what the signatures, key derivations and HPKE
//! operations RFC 9420 requires for an operation cost on this machine, done
//! with aws-lc-rs alone on one thread, in the same run as the
//! implementations, so that each implementation's time can be read against
//! the least any implementation could spend on the same machine under the
//! same load.
//!
//! For each measured operation the floor counts the primitives the RFC
//! requires of the member doing it, on the tree the scenario produces
//! ([`shape`], a model independent of the engine), and runs exactly those
//! primitives ([`primitives`]):
//!
//! * committing: a key pair per filtered-path node and for the leaf
//!   (DeriveKeyPair, §7.4), the path-secret chain (DeriveSecret, §7.4), one
//!   HPKE seal per resolution node of the copath, new members excluded
//!   (§12.4.2), two signatures (the new leaf node, §7.2, and the
//!   FramedContent, §6.1), the key schedule (§8: 13 HKDF steps), the
//!   confirmation and membership tags (§6.1-6.2), the two transcript hashes
//!   (§8.2), the tree hash of every node the commit changes (§7.8: the
//!   committer's leaf and direct path, an added or removed leaf and its
//!   direct path; every other node's hash is the previous epoch's) and one
//!   parent hash per filtered-path node (§7.9);
//! * processing: two verifications, one HPKE open, the key pairs of the
//!   path secrets it derives (checked against the UpdatePath, §7.5), the
//!   same key schedule, tags, transcript hashes, tree hashes and parent
//!   hashes (the path's parent-hash chain is checked, §7.9.2);
//! * adding: also the KeyPackage checks (two verifications each, §10.1), a
//!   GroupSecrets seal per new member, the KeyPackageRef of each (§5.2, the
//!   Welcome names it) and the signed, encrypted GroupInfo of the Welcome
//!   (§12.4.3);
//! * a delivery service following the group (`server_*`): the
//!   processing member's verifications, tree hashes, parent hashes and
//!   transcript hashes, and nothing that needs the epoch's secrets;
//! * joining: one HPKE open and the Welcome's secrets, the GroupInfo
//!   signature, every leaf's signature (§7.9.2... tree validation), the tree
//!   hash of every node (§7.8), the parent hash of every non-blank parent
//!   (§7.9.2) and the key pairs of the path secrets it receives.
//!
//! Message sizes (what is signed, MACed and hashed) are the minimal suite-1
//! encodings of the structures below, which is what makes this a floor.
//! Everything that is not the required computation itself is done before
//! the clock starts ([`Work::prepare`]): the signatures a verification
//! checks are made there (the signer's work, not the verifier's), and so
//! are the message buffers. A test (`benches/tests/floor_counts.rs`)
//! checks that the signatures, verifications, HPKE seals and opens, key
//! pairs and hashes counted here equal what throng's commits and
//! processing ask of its crypto provider.

pub mod counting;
pub mod primitives;
pub mod shape;

use std::time::Instant;

use crate::metric::{Metric, Scenario};
use crate::scenario::{Committer, Config, Event, PROCESSOR, cpu_time, neighbour, warmers};
use primitives::Keys;
use shape::{Path, Shape, TreeHashes};

/// Minimal suite-1 encodings, in bytes: a LeafNode with an 8-byte basic
/// identity and one-entry capabilities (§7.2), its to-be-signed part, a
/// KeyPackage (§10) and its to-be-signed part, an HPKECiphertext of a path
/// secret (§7.6), the PublicMessage framing around a Commit with its
/// signature and tags (§6), a GroupInfo (§12.4.3) and its to-be-signed part,
/// GroupSecrets (§12.4.3.1).
mod size {
    pub const LEAF_NODE: usize = 171;
    pub const LEAF_TBS: usize = 118;
    pub const KEY_PACKAGE: usize = 274;
    pub const KEY_PACKAGE_TBS: usize = 209;
    pub const PATH_CIPHERTEXT: usize = 82;
    pub const PATH_NODE: usize = 35;
    pub const FRAMING: usize = 158;
    pub const ADD: usize = 6 + KEY_PACKAGE;
    pub const REMOVE: usize = 10;
    pub const GROUP_INFO: usize = 195;
    pub const GROUP_INFO_TBS: usize = 130;
    pub const GROUP_SECRETS: usize = 68;
    /// TreeHashInput of a leaf (§7.8), of a blank leaf, of a parent, of a
    /// blank parent; ParentHashInput (§7.9); RefHashInput of a KeyPackage
    /// (§5.2).
    pub const LEAF_HASH_INPUT: usize = 177;
    pub const BLANK_LEAF_HASH_INPUT: usize = 6;
    pub const PARENT_HASH_INPUT: usize = 135;
    pub const BLANK_PARENT_HASH_INPUT: usize = 68;
    pub const PARENT_HASH: usize = 99;
    pub const KEY_PACKAGE_REF_INPUT: usize = 2 + 26 + KEY_PACKAGE;
    /// ParentNode: encryption key, parent hash, empty unmerged leaves.
    pub const PARENT_NODE: usize = 67;
}

/// HKDF steps of one epoch's key schedule (§8): joiner, epoch and nine
/// derived secrets, plus the two extracts feeding them.
const KEY_SCHEDULE_STEPS: u32 = 13;
/// Welcome secret, key and nonce, and its extract (§8, §12.4.3.1).
const WELCOME_STEPS: u32 = 4;

/// The primitives one operation requires.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Work {
    /// Signatures, by message length.
    pub signs: Vec<usize>,
    /// Verifications: (message length, count).
    pub verifies: Vec<(usize, u32)>,
    /// HPKE seals: (plaintext length, count).
    pub seals: Vec<(usize, u32)>,
    /// HPKE opens of a small secret.
    pub opens: u32,
    /// DeriveKeyPair calls.
    pub key_pairs: u32,
    /// HKDF steps (one HMAC-SHA256 each) on short inputs.
    pub kdf_steps: u32,
    /// HMACs over a message (tags), by length.
    pub macs: Vec<usize>,
    /// Hashes: (input length, count).
    pub hashes: Vec<(usize, u32)>,
    /// AEAD encryptions or decryptions, by length.
    pub aeads: Vec<usize>,
}

fn commit_bytes(path: Path, proposals: usize) -> usize {
    size::FRAMING
        + proposals
        + 1
        + size::LEAF_NODE
        + size::PATH_NODE * path.nodes as usize
        + size::PATH_CIPHERTEXT * path.encryptions as usize
}

/// The encoded `ratchet_tree` extension of `shape` (§12.4.3.3): each node
/// an optional LeafNode or ParentNode (an enum octet and a presence octet).
fn tree_bytes(shape: &Shape) -> usize {
    let (leaves, parents) = shape.counts();
    let nodes = 2 * shape.width() as usize - 1;
    nodes + 4 + (leaves as usize) * (size::LEAF_NODE + 1) + (parents as usize) * (size::PARENT_NODE + 1)
}

impl Work {
    /// The committer's work for an UpdatePath `path` in a commit of
    /// `message` bytes that adds `added` members.
    fn commit(path: Path, message: usize, added: u32, tree: TreeHashes) -> Self {
        let mut work = Work {
            signs: vec![size::LEAF_TBS, message],
            seals: vec![(32, path.encryptions)],
            key_pairs: path.nodes + 1,
            // Leaf and node secrets, the path-secret chain, the commit
            // secret, the key schedule, the confirmation tag, and the HPKE
            // info hash shared by the batch of seals.
            kdf_steps: 2 * path.nodes + 2 + KEY_SCHEDULE_STEPS + 1 + 1,
            macs: vec![message],
            hashes: tree_hashes(message, tree, path.nodes),
            ..Work::default()
        };
        if added > 0 {
            work.hashes.push((size::KEY_PACKAGE_REF_INPUT, added));
            work.verifies = vec![(size::KEY_PACKAGE_TBS, added), (size::LEAF_TBS, added)];
            work.seals.push((size::GROUP_SECRETS, added));
            work.signs.push(size::GROUP_INFO_TBS);
            work.aeads.push(size::GROUP_INFO);
            work.kdf_steps += WELCOME_STEPS;
        }
        work
    }

    /// A member's work processing that commit, deriving `derived` path
    /// secrets.
    fn process(derived: u32, message: usize, added: u32, tree: TreeHashes, path: Path) -> Self {
        Work {
            opens: 1,
            key_pairs: derived,
            kdf_steps: 2 * derived + 1 + KEY_SCHEDULE_STEPS + 1 + 1,
            macs: vec![message],
            ..Work::server(message, added, tree, path)
        }
    }

    /// A delivery service's work on that commit, what a non-member can
    /// check and must compute to follow the group (§12.4.2): the
    /// FramedContent signature (§6.1), the UpdatePath's leaf node (§7.3)
    /// and, per added member, the KeyPackage and its leaf node (§10.1), the
    /// tree hashes, the parent-hash chain (§7.9.2) and the transcript hashes
    /// of the next GroupContext (§8.2). It holds no epoch secret: no HPKE,
    /// key schedule, confirmation tag, nor membership tag (§6.2, keyed by
    /// the membership_key).
    fn server(message: usize, added: u32, tree: TreeHashes, path: Path) -> Self {
        let mut verifies = vec![(message, 1), (size::LEAF_TBS, 1)];
        if added > 0 {
            verifies.extend([(size::KEY_PACKAGE_TBS, added), (size::LEAF_TBS, added)]);
        }
        Work { verifies, hashes: tree_hashes(message, tree, path.nodes), ..Work::default() }
    }

    /// Signatures, verifications, HPKE seals and opens, key pairs and
    /// hashes, as a provider counts them.
    pub fn counts(&self) -> [u64; 6] {
        let sum = |v: &[(usize, u32)]| v.iter().map(|&(_, c)| u64::from(c)).sum::<u64>();
        [
            self.signs.len() as u64,
            sum(&self.verifies),
            sum(&self.seals),
            u64::from(self.opens),
            u64::from(self.key_pairs),
            sum(&self.hashes),
        ]
    }

    /// A joiner's work on a Welcome into the tree `shape`, receiving the
    /// path secrets of `derived` nodes.
    fn join(shape: &Shape, derived: u32) -> Self {
        let (leaves, parents) = shape.counts();
        let width = shape.width();
        Work {
            verifies: vec![(size::GROUP_INFO_TBS, 1), (size::LEAF_TBS, leaves)],
            opens: 1,
            key_pairs: derived,
            kdf_steps: 2 * derived + WELCOME_STEPS + KEY_SCHEDULE_STEPS + 1,
            aeads: vec![size::GROUP_INFO],
            hashes: vec![
                (size::LEAF_HASH_INPUT, leaves),
                (size::BLANK_LEAF_HASH_INPUT, width - leaves),
                (size::PARENT_HASH_INPUT, parents),
                (size::BLANK_PARENT_HASH_INPUT, width - 1 - parents),
                (size::PARENT_HASH, parents),
            ],
            ..Work::default()
        }
    }

    /// A partial member's join from an AnnotatedWelcome into a tree of
    /// depth `depth` (draft-ietf-mls-partial §"Joining via Annotated
    /// Welcome"), receiving `derived` path secrets: a joiner's work without
    /// the tree (no leaf signatures, no tree hash), plus the two proofs'
    /// roots: a leaf hash and `depth` parent hashes each, counted at the
    /// size of a blank parent's input (the smallest, so a lower bound).
    fn join_partial(depth: u32, derived: u32) -> Self {
        Work {
            verifies: vec![(size::GROUP_INFO_TBS, 1)],
            opens: 1,
            key_pairs: derived,
            kdf_steps: 2 * derived + WELCOME_STEPS + KEY_SCHEDULE_STEPS + 1,
            aeads: vec![size::GROUP_INFO],
            hashes: vec![(size::LEAF_HASH_INPUT, 2), (size::BLANK_PARENT_HASH_INPUT, 2 * depth)],
            ..Work::default()
        }
    }

    /// A partial member processing an AnnotatedCommit of `message` bytes
    /// (draft §"Annotated Commit"), deriving `derived` path secrets: the
    /// commit's signature and membership tag, one HPKE open, the path
    /// secrets, the key schedule and confirmation tag, the transcript
    /// hashes, and three proofs' roots (the committer's before and after,
    /// its own after). No tree hash, parent hash or leaf signature.
    fn process_partial(derived: u32, message: usize, depth: u32) -> Self {
        Work {
            verifies: vec![(message, 1)],
            opens: 1,
            key_pairs: derived,
            kdf_steps: 2 * derived + 1 + KEY_SCHEDULE_STEPS + 1 + 1,
            macs: vec![message],
            hashes: vec![(message, 1), (64, 1), (size::LEAF_HASH_INPUT, 3), (size::BLANK_PARENT_HASH_INPUT, 3 * depth)],
            ..Work::default()
        }
    }

    /// What the work needs that is not the work: message buffers of every
    /// length and the signatures the verifications check. Untimed.
    pub fn prepare(&self, keys: &Keys) -> Prepared {
        let lengths = self
            .signs
            .iter()
            .chain(self.verifies.iter().map(|(l, _)| l))
            .chain(self.seals.iter().map(|(l, _)| l))
            .chain(&self.macs)
            .chain(self.hashes.iter().map(|(l, _)| l))
            .chain(&self.aeads);
        let buffers = lengths.map(|&len| (len, vec![0x5a; len])).collect::<std::collections::BTreeMap<_, _>>();
        let signatures =
            self.verifies.iter().map(|&(len, _)| buffers.get(&len).map(|m| keys.sign(m)).unwrap_or_default()).collect();
        Prepared { buffers, signatures }
    }

    /// Does the work; returns a value depending on every result.
    pub fn run(&self, keys: &Keys, prepared: &Prepared) -> u64 {
        let empty = Vec::new();
        let bytes = |len: usize| prepared.buffers.get(&len).unwrap_or(&empty).as_slice();
        let mut sink = 0u64;
        for &len in &self.signs {
            sink += keys.sign(bytes(len)).len() as u64;
        }
        for (&(len, count), signature) in self.verifies.iter().zip(&prepared.signatures) {
            let m = bytes(len);
            for _ in 0..count {
                keys.verify(m, signature);
            }
        }
        for &(len, count) in &self.seals {
            let m = bytes(len);
            for _ in 0..count {
                sink += keys.seal(m) as u64;
            }
        }
        for _ in 0..self.opens {
            keys.open();
        }
        let mut secret = [3u8; 32];
        for _ in 0..self.key_pairs {
            sink += u64::from(keys.derive_key_pair(&secret)[0]);
            secret[0] = secret[0].wrapping_add(1);
        }
        for _ in 0..self.kdf_steps {
            secret = primitives::hmac(&secret, b"MLS 1.0 path");
        }
        for &len in &self.macs {
            secret = primitives::hmac(&secret, bytes(len));
        }
        for &(len, count) in &self.hashes {
            let m = bytes(len);
            for _ in 0..count {
                sink += u64::from(primitives::hash(m)[0]);
            }
        }
        for &len in &self.aeads {
            sink += keys.aead(bytes(len)) as u64;
        }
        sink + u64::from(secret[0])
    }
}

/// Buffers and signatures made before the clock starts ([`Work::prepare`]).
pub struct Prepared {
    buffers: std::collections::BTreeMap<usize, Vec<u8>>,
    signatures: Vec<Vec<u8>>,
}

/// The hashes of a commit of `message` bytes, created or processed: the
/// two transcript hashes (§8.2), the tree hashes `tree` (§7.8) and one
/// parent hash per filtered-path node (§7.9).
fn tree_hashes(message: usize, tree: TreeHashes, path_nodes: u32) -> Vec<(usize, u32)> {
    vec![
        (message, 1),
        (64, 1),
        (size::LEAF_HASH_INPUT, tree.leaves),
        (size::BLANK_LEAF_HASH_INPUT, tree.blank_leaves),
        (size::PARENT_HASH_INPUT, tree.parents),
        (size::BLANK_PARENT_HASH_INPUT, tree.blank_parents),
        (size::PARENT_HASH, path_nodes),
    ]
}

/// Leaf of the committer B, the processor C and the removed member, as in
/// [`crate::scenario`].
fn roles(n: u32, committer: Committer) -> (u32, u32, u32) {
    let b = committer.leaf(n);
    (b, PROCESSOR, neighbour(b, n))
}

/// The work of every metric of `scenario` on a group of `n`, B at `committer`.
pub fn work(scenario: Scenario, n: u32, committer: Committer) -> Vec<(Metric, Work)> {
    let (b, c, removed) = roles(n, committer);
    let mut built = Shape::new(n);
    let everyone: Vec<u32> = (1..n).collect();
    // C receives the creator's path secrets for the nodes above it.
    let received = built.derived_by(0, c, &everyone);
    let build_path = built.commit(0, &everyone);
    built.take_changed();
    // The creator hashes the whole new tree.
    let (leaves, parents) = built.counts();
    let build_tree = TreeHashes {
        leaves,
        blank_leaves: built.width() - leaves,
        parents,
        blank_parents: built.width() - 1 - parents,
        parent_hashes: 0,
    };
    match scenario {
        Scenario::Join => {
            let message = commit_bytes(build_path, size::ADD * (n as usize - 1));
            let build = Work::commit(build_path, message, n - 1, build_tree);
            // With the tree in the Welcome, the GroupInfo signed and
            // encrypted carries it.
            let mut with_tree = build.clone();
            let tree = tree_bytes(&built);
            with_tree.signs.push(tree);
            with_tree.aeads.push(tree);
            vec![
                (Metric::Build, build),
                (Metric::BuildTreeInWelcome, with_tree),
                (Metric::Join, Work::join(&built, received)),
                (Metric::ServerBuild, Work::server(message, n - 1, build_tree, build_path)),
                (Metric::JoinPartial, {
                    // D, added alone to the built group by A, receives A's
                    // path secrets above both.
                    let mut shape = built.clone();
                    let d = shape.add();
                    let derived = shape.derived_by(0, d, &[d]);
                    Work::join_partial(shape.width().trailing_zeros(), derived)
                }),
            ]
        }
        Scenario::Cold | Scenario::Warm => {
            let warm = scenario == Scenario::Warm;
            if warm {
                for warmer in warmers(n, b) {
                    built.commit(warmer, &[]);
                }
                built.commit(b, &[]);
            }
            built.take_changed();
            let pick = |w: Metric, cold: Metric| if warm { w } else { cold };
            let mut out = Vec::new();

            let mut shape = built.clone();
            let derived = shape.derived_by(b, c, &[]);
            let path = shape.commit(b, &[]);
            let tree = shape.take_changed();
            let message = commit_bytes(path, 0);
            out.push((pick(Metric::Commit, Metric::CommitCold), Work::commit(path, message, 0, tree)));
            out.push((pick(Metric::Process, Metric::ProcessCold), Work::process(derived, message, 0, tree, path)));
            // After the six commit/process pairs and the server's: the
            // floor tests index them in that order.
            let partial = warm.then(|| {
                let depth = shape.width().trailing_zeros();
                (Metric::ProcessPartial, Work::process_partial(derived, message, depth))
            });
            let server = (pick(Metric::ServerProcess, Metric::ServerProcessCold), Work::server(message, 0, tree, path));

            let mut shape = built.clone();
            let newcomer = shape.add();
            let derived = shape.derived_by(b, c, &[newcomer]);
            let path = shape.commit(b, &[newcomer]);
            let tree = shape.take_changed();
            let message = commit_bytes(path, size::ADD);
            out.push((pick(Metric::AddOne, Metric::AddOneCold), Work::commit(path, message, 1, tree)));
            out.push((
                pick(Metric::ProcessAdd, Metric::ProcessAddCold),
                Work::process(derived, message, 1, tree, path),
            ));

            let mut shape = built;
            shape.remove(removed);
            let derived = shape.derived_by(b, c, &[]);
            let path = shape.commit(b, &[]);
            let tree = shape.take_changed();
            let message = commit_bytes(path, size::REMOVE);
            out.push((pick(Metric::RemoveOne, Metric::RemoveOneCold), Work::commit(path, message, 0, tree)));
            out.push((
                pick(Metric::ProcessRemove, Metric::ProcessRemoveCold),
                Work::process(derived, message, 0, tree, path),
            ));
            // After the (commit, process) pairs, which keep their places.
            out.push(server);
            out.extend(partial);
            out
        }
    }
}

/// Runs the floor of `scenario`'s wanted metrics, reporting like a worker
/// (each up to `reps` times within the repetition budget).
pub fn run(scenario: Scenario, config: &Config, emit: &mut dyn FnMut(Event)) {
    emit(Event::Phase { name: "tree model and keys".into() });
    let keys = Keys::new();
    for (metric, work) in work(scenario, config.members, config.committer) {
        if !config.wanted.contains(&metric) {
            continue;
        }
        let mut spent = std::time::Duration::ZERO;
        for _ in 0..config.reps.max(1) {
            emit(Event::Phase { name: format!("buffers and signatures for {metric}") });
            let prepared = work.prepare(&keys);
            emit(Event::Start { op: metric });
            let cpu_start = cpu_time();
            let start = Instant::now();
            std::hint::black_box(work.run(&keys, std::hint::black_box(&prepared)));
            let elapsed = start.elapsed();
            let cpu = cpu_start.zip(cpu_time()).map(|(a, b)| b.saturating_sub(a));
            emit(Event::Time {
                op: metric,
                ms: elapsed.as_secs_f64() * 1e3,
                cpu_ms: cpu.map(|c| c.as_secs_f64() * 1e3),
            });
            spent += elapsed;
            if spent >= config.rep_budget {
                break;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_tree() {
        // 10,000 members (width 16,384): B = 9,999 on the fresh tree sends
        // to the left half's root (filled by the creator) and to each of
        // the 1,807 other leaves of the right half.
        let cold = work(Scenario::Cold, 10_000, Committer::Last);
        let (_, commit) = &cold[0];
        assert_eq!(commit.seals, vec![(32, 1 + 1807)]);
        // Warm: one encryption per filtered-path node.
        let warm = work(Scenario::Warm, 10_000, Committer::Last);
        let (_, commit) = &warm[0];
        assert_eq!(commit.seals[0].1 + 1, commit.key_pairs);
        let (_, process) = &warm[1];
        assert_eq!(process.key_pairs, 1);
        // Build: nothing to encrypt on the path, one Welcome seal per member.
        let join = work(Scenario::Join, 10_000, Committer::Last);
        assert_eq!(join[0].1.seals, vec![(32, 0), (size::GROUP_SECRETS, 9_999)]);
        assert_eq!(join[2].1.verifies[1], (size::LEAF_TBS, 10_000));
    }

    /// (UpdatePath nodes, ciphertexts) of an encoded commit.
    fn path_of(commit: &[u8]) -> (u32, u32) {
        use throng::internals::codec::Decode as _;
        use throng::messages::content::{FramedContentBody, MlsMessage, MlsMessageBody};
        let MlsMessageBody::PublicMessage(m) = MlsMessage::from_bytes(commit).unwrap().body else { panic!() };
        let FramedContentBody::Commit(c) = m.content.body else { panic!() };
        let path = c.path.unwrap();
        let ciphertexts = path.nodes.iter().map(|n| n.encrypted_path_secret.len() as u32).sum();
        (path.nodes.len() as u32, ciphertexts)
    }

    #[test]
    fn the_model_matches_real_commits() {
        use crate::peer::Peer as _;
        use crate::peers::throng::Throng;
        // The model is independent of the engine; the engine's commits on
        // the cold tree (one of each kind) must cost what the model says.
        for n in [5, 37, 100] {
            let (b, _c, removed) = roles(n, Committer::Last);
            let mut peer = Throng::default();
            let (creator, _) = peer.client(0).unwrap();
            let mut key_packages = Vec::new();
            let mut b_client = None;
            for leaf in 1..n {
                let (client, kp) = peer.client(leaf).unwrap();
                key_packages.push(kp);
                if leaf == b {
                    b_client = Some(client);
                }
            }
            let (a, welcome) = peer.build(creator, &key_packages).unwrap();
            let tree = peer.ratchet_tree(&a).unwrap();
            let member = peer.join(b_client.unwrap(), &welcome, &tree).unwrap();
            let (_, newcomer) = peer.client(n).unwrap();
            let cold = work(Scenario::Cold, n, Committer::Last);
            let mut forks = [(); 3].map(|()| member.clone());
            let commits = [
                peer.commit_update(&mut forks[0]).unwrap(),
                peer.commit_add(&mut forks[1], &newcomer).unwrap(),
                peer.commit_remove(&mut forks[2], removed).unwrap(),
            ];
            for (commit, (metric, work)) in commits.iter().zip(cold.iter().step_by(2)) {
                let (nodes, ciphertexts) = path_of(commit);
                assert_eq!(work.key_pairs, nodes + 1, "{metric} at n = {n}");
                assert_eq!(work.seals[0].1, ciphertexts, "{metric} at n = {n}");
            }
        }
    }
}

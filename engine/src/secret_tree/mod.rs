//! The secret tree and its sender ratchets (RFC 9420 §9, §9.1), with the
//! deletion schedule of §9.2.
//!
//! The tree is **sparse and lazily derived**. At epoch start it holds one
//! secret, the root (`encryption_secret`). When a leaf's ratchets are first
//! needed we walk down from the lowest stored ancestor of that leaf: at each
//! parent both children are derived, the parent is deleted (both of its
//! derived values now exist, so it is consumed, §9.2), the child off the
//! path is kept and the walk continues on the path. The leaf secret is
//! turned into its handshake and application ratchets at once and deleted
//! too. So a member of a 100,000-leaf group pays one secret at epoch start
//! and O(log n) more per sender it hears from, never O(n).
//!
//! Invariant: for every leaf, either its ratchets are stored, or exactly one
//! node on the path from the leaf to the root (the leaf included) holds a
//! stored secret. Deriving a leaf removes that one ancestor and stores
//! exactly the off-path children of the nodes below it, which keeps the
//! invariant for every other leaf.
//!
//! Each ratchet keeps the keys of generations it skipped over, but only
//! inside an out-of-order window ([`SecretTreeConfig`]); everything else is
//! deleted as soon as it is consumed. A request that is rejected changes
//! nothing: all derivation happens on scratch values that are committed only
//! once the request has succeeded.

mod persist;

use std::collections::HashMap;

use crate::crypto::{CipherSuite, CryptoError, Secret, Suite};
use crate::error::{Error, UsageError, ValidationError};
use crate::tree_math::{self as math, LeafIndex, NodeIndex};

/// Which of a leaf's two sender ratchets (RFC 9420 §9): handshake messages
/// (proposals and commits) and application messages each have their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RatchetType {
    /// `handshake_ratchet_secret_[N]_[j]`: PrivateMessages carrying a
    /// Proposal or a Commit.
    Handshake,
    /// `application_ratchet_secret_[N]_[j]`: PrivateMessages carrying
    /// application data.
    Application,
}

/// How far out of order a receiver accepts generations (RFC 9420 §9.2:
/// members "MAY keep unconsumed values around for some reasonable amount of
/// time to handle out-of-order message delivery").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretTreeConfig {
    /// How many generations behind the newest one of a ratchet are still
    /// accepted. Keys for skipped generations in that range are kept (at
    /// most this many per ratchet); older ones are deleted. `0` keeps none:
    /// every message must arrive in order or not at all.
    pub out_of_order_tolerance: u32,
    /// How many generations a request may jump ahead of the next unused
    /// one. Bounds the work (three KDF calls per generation) a single
    /// message can make us do. `0` accepts only the next generation.
    pub max_forward_distance: u32,
}

impl Default for SecretTreeConfig {
    fn default() -> Self {
        Self { out_of_order_tolerance: 32, max_forward_distance: 1000 }
    }
}

/// One generation's key and nonce, `ratchet_key_[N]_[j]` and
/// `ratchet_nonce_[N]_[j]` (RFC 9420 §9.1). Handed out once; the caller
/// uses it for one message and drops it, which zeroizes it. The nonce is
/// the key schedule's: the framing layer XORs the reuse guard into it
/// (§6.3.1).
#[derive(Clone, Debug)]
pub struct RatchetKey {
    generation: u32,
    key: Secret,
    nonce: Secret,
}

impl RatchetKey {
    /// The generation `j` this key belongs to.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// `ratchet_key_[N]_[j]`, `AEAD.Nk` bytes.
    pub fn key(&self) -> &[u8] {
        self.key.as_bytes()
    }

    /// `ratchet_nonce_[N]_[j]`, `AEAD.Nn` bytes, before the reuse guard.
    pub fn nonce(&self) -> &[u8] {
        self.nonce.as_bytes()
    }
}

/// Output lengths of the suite the tree was built for, as the `uint16`
/// lengths `ExpandWithLabel` takes.
#[derive(Clone, Copy, Debug)]
struct Lengths {
    /// `KDF.Nh`.
    nh: u16,
    /// `AEAD.Nk`.
    nk: u16,
    /// `AEAD.Nn`.
    nn: u16,
}

/// One sender ratchet (RFC 9420 §9.1).
#[derive(Clone, Debug)]
struct Ratchet {
    /// `ratchet_secret_[N]_[next]`: the secret of the first generation not
    /// yet derived. Older ratchet secrets are deleted as soon as the next
    /// one and their key and nonce exist (§9.2).
    secret: Secret,
    /// The first generation not yet handed out or skipped over.
    next: u32,
    /// Keys of skipped generations still inside the window, ascending by
    /// generation, at most `out_of_order_tolerance` of them. A generation
    /// inside the window that is not here was consumed.
    skipped: Vec<RatchetKey>,
}

impl Ratchet {
    fn new(secret: Secret) -> Self {
        Self { secret, next: 0, skipped: Vec::new() }
    }

    /// The key of `generation`, consumed: returned and deleted from the
    /// ratchet. On error the ratchet is unchanged.
    fn take(
        &mut self,
        suite: &Suite<'_>,
        len: Lengths,
        cfg: &SecretTreeConfig,
        generation: u32,
    ) -> Result<RatchetKey, Error> {
        self.take_if(suite, len, cfg, generation, |_| Ok(())).map(|(key, ())| key)
    }

    /// Like [`take`](Self::take), but the key is consumed only if
    /// `use_key` succeeds with it; otherwise the ratchet is unchanged.
    fn take_if<T>(
        &mut self,
        suite: &Suite<'_>,
        len: Lengths,
        cfg: &SecretTreeConfig,
        generation: u32,
        use_key: impl FnOnce(&RatchetKey) -> Result<T, Error>,
    ) -> Result<(RatchetKey, T), Error> {
        if generation < self.next {
            // `next - 1` is the newest generation handed out; the window
            // reaches `out_of_order_tolerance` generations behind it.
            let oldest_kept = (self.next - 1).saturating_sub(cfg.out_of_order_tolerance);
            if generation < oldest_kept {
                return Err(ValidationError::GenerationTooOld { generation }.into());
            }
            let Ok(i) = self.skipped.binary_search_by_key(&generation, RatchetKey::generation) else {
                return Err(ValidationError::GenerationConsumed { generation }.into());
            };
            // `i` came from the search over this very list.
            let used = use_key(self.skipped.get(i).ok_or(CryptoError::Internal)?)?;
            return Ok((self.skipped.remove(i), used));
        }
        if generation - self.next > cfg.max_forward_distance {
            return Err(ValidationError::GenerationTooFarAhead { generation }.into());
        }
        // The ratchet cannot move past u32::MAX: there would be no `next`.
        let new_next = generation.checked_add(1).ok_or(ValidationError::GenerationTooFarAhead { generation })?;

        // Scratch derivation: nothing of `self` changes until it all worked.
        // Skipped generations older than the window after this step are
        // never stored, so their keys and nonces are not even derived.
        let keep_from = generation.saturating_sub(cfg.out_of_order_tolerance);
        let mut fresh = Vec::new();
        let mut wanted = None;
        let mut secret = self.secret.clone();
        for j in self.next..=generation {
            if j >= keep_from {
                let key = suite.derive_tree_secret(secret.as_bytes(), "key", j, len.nk)?;
                let nonce = suite.derive_tree_secret(secret.as_bytes(), "nonce", j, len.nn)?;
                let k = RatchetKey { generation: j, key, nonce };
                if j == generation { wanted = Some(k) } else { fresh.push(k) }
            }
            // Replacing `secret` drops (zeroizes) ratchet_secret_[N]_[j].
            secret = suite.derive_tree_secret(secret.as_bytes(), "secret", j, len.nh)?;
        }
        // The loop always reaches `j == generation >= keep_from`.
        let wanted = wanted.ok_or(CryptoError::Internal)?;
        let used = use_key(&wanted)?;

        self.secret = secret;
        self.next = new_next;
        self.skipped.retain(|k| k.generation >= keep_from);
        // Every fresh generation is >= the old `next` > every kept one, so
        // the list stays sorted.
        self.skipped.append(&mut fresh);
        Ok((wanted, used))
    }
}

/// A leaf's two ratchets.
#[derive(Clone, Debug)]
struct LeafRatchets {
    handshake: Ratchet,
    application: Ratchet,
}

impl LeafRatchets {
    fn get_mut(&mut self, ty: RatchetType) -> &mut Ratchet {
        match ty {
            RatchetType::Handshake => &mut self.handshake,
            RatchetType::Application => &mut self.application,
        }
    }
}

/// The secret tree of one epoch (RFC 9420 §9), sparse and lazily derived.
///
/// `Clone` copies the secrets: two copies must never both send, or they
/// would reuse keys and nonces (it exists for forking benchmark states).
///
/// Methods take the [`Suite`] the tree was built with (so the tree carries
/// no provider lifetime and stays `Send + Sync`); another suite is refused.
#[derive(Clone, Debug)]
pub struct SecretTree {
    cipher_suite: CipherSuite,
    len: Lengths,
    config: SecretTreeConfig,
    n_leaves: u32,
    /// Node secrets not yet consumed, by node index: at epoch start only
    /// the root; afterwards the off-path children left by derivations.
    nodes: HashMap<u32, Secret>,
    /// Ratchets of leaves whose secret has been derived, by leaf index.
    ratchets: HashMap<u32, LeafRatchets>,
}

#[cfg(feature = "simulation")]
impl SecretTree {
    /// A copy of this tree's secrets and ratchet positions, for a load
    /// generator's materialized member (`Group::materialize`). Not `Clone`
    /// on purpose: a copied ratchet key can decrypt twice (§9.2).
    pub(crate) fn fork(&self) -> Self {
        let ratchet = |r: &Ratchet| Ratchet {
            secret: r.secret.clone(),
            next: r.next,
            skipped: r
                .skipped
                .iter()
                .map(|k| RatchetKey { generation: k.generation, key: k.key.clone(), nonce: k.nonce.clone() })
                .collect(),
        };
        Self {
            cipher_suite: self.cipher_suite,
            len: self.len,
            config: self.config,
            n_leaves: self.n_leaves,
            nodes: self.nodes.clone(),
            ratchets: self
                .ratchets
                .iter()
                .map(|(&i, l)| {
                    (i, LeafRatchets { handshake: ratchet(&l.handshake), application: ratchet(&l.application) })
                })
                .collect(),
        }
    }
}

impl SecretTree {
    /// The secret tree of an epoch with `n_leaves` leaves (the ratchet
    /// tree's width in leaves, blank leaves included), rooted at the
    /// epoch's `encryption_secret` (RFC 9420 §8, §9). Takes the secret by
    /// value: from here on the tree owns it and deletes it when consumed.
    pub fn new(
        suite: &Suite<'_>,
        encryption_secret: Secret,
        n_leaves: u32,
        config: SecretTreeConfig,
    ) -> Result<Self, Error> {
        // node_width(n) = 2n - 1 must fit a u32 node index.
        if n_leaves == 0 || n_leaves > 1 << 31 {
            return Err(UsageError::SecretTreeSize(n_leaves).into());
        }
        if encryption_secret.len() != suite.hash_len() {
            return Err(UsageError::InvalidArgument("encryption_secret must be KDF.Nh bytes").into());
        }
        let alg = suite.algorithms();
        let as_u16 = |n: usize| u16::try_from(n).map_err(|_| CryptoError::InvalidLength);
        let len =
            Lengths { nh: as_u16(alg.hash.len())?, nk: as_u16(alg.aead.key_len())?, nn: as_u16(alg.aead.nonce_len())? };
        let mut nodes = HashMap::new();
        nodes.insert(math::root(n_leaves).0, encryption_secret);
        Ok(Self { cipher_suite: suite.cipher_suite(), len, config, n_leaves, nodes, ratchets: HashMap::new() })
    }

    /// The tree's cipher suite.
    pub fn cipher_suite(&self) -> CipherSuite {
        self.cipher_suite
    }

    /// Number of leaves.
    pub fn n_leaves(&self) -> u32 {
        self.n_leaves
    }

    /// The out-of-order policy.
    pub fn config(&self) -> &SecretTreeConfig {
        &self.config
    }

    /// Node secrets currently stored (not counting ratchets): 1 at epoch
    /// start, O(log n) per leaf derived since.
    pub fn stored_node_secrets(&self) -> usize {
        self.nodes.len()
    }

    /// Leaves whose ratchets have been initialised.
    pub fn stored_leaf_ratchets(&self) -> usize {
        self.ratchets.len()
    }

    /// Skipped-generation keys kept for out-of-order delivery, over all
    /// ratchets (O(leaves with ratchets); for tests and metrics).
    pub fn stored_skipped_keys(&self) -> usize {
        self.ratchets.values().map(|r| r.handshake.skipped.len() + r.application.skipped.len()).sum()
    }

    /// The next key for sending on `leaf` (the caller's own leaf), from the
    /// ratchet for `ratchet_type`. Each call returns a new generation and
    /// deletes everything it was derived from (RFC 9420 §6.3.1: a key/nonce
    /// pair MUST NOT encrypt more than one message).
    pub fn next_send_key(
        &mut self,
        suite: &Suite<'_>,
        leaf: LeafIndex,
        ratchet_type: RatchetType,
    ) -> Result<RatchetKey, Error> {
        self.check(suite, leaf)?;
        let (len, cfg) = (self.len, self.config);
        self.with_ratchet(suite, leaf, ratchet_type, |r| {
            if r.next == u32::MAX {
                return Err(UsageError::RatchetExhausted.into());
            }
            let generation = r.next;
            r.take(suite, len, &cfg, generation)
        })
    }

    /// The key for a message received from `leaf` at `generation` on the
    /// ratchet for `ratchet_type`, consumed: it is deleted from the tree,
    /// and so is everything on the way to it except the keys of skipped
    /// generations inside the out-of-order window (RFC 9420 §9.2). A
    /// rejected request leaves the tree unchanged.
    ///
    /// Errors: [`ValidationError::LeafOutOfRange`],
    /// [`ValidationError::GenerationTooOld`] (behind the window),
    /// [`ValidationError::GenerationConsumed`] (inside the window but used),
    /// [`ValidationError::GenerationTooFarAhead`].
    pub fn receive_key(
        &mut self,
        suite: &Suite<'_>,
        leaf: LeafIndex,
        ratchet_type: RatchetType,
        generation: u32,
    ) -> Result<RatchetKey, Error> {
        self.check(suite, leaf)?;
        let (len, cfg) = (self.len, self.config);
        self.with_ratchet(suite, leaf, ratchet_type, |r| r.take(suite, len, &cfg, generation))
    }

    /// Runs `use_key` with the key for a message received from `leaf` at
    /// `generation`, and consumes the key only if `use_key` succeeds: a
    /// key counts as consumed once it "(successfully) decrypt[ed] a
    /// message" (RFC 9420 §9.2), so a forged ciphertext that fails to
    /// decrypt does not burn the generation its real sender will use.
    /// When `use_key` fails, or the request is rejected, the tree is
    /// unchanged. Errors are those of [`receive_key`](Self::receive_key),
    /// or `use_key`'s own.
    pub fn receive_with_key<T>(
        &mut self,
        suite: &Suite<'_>,
        leaf: LeafIndex,
        ratchet_type: RatchetType,
        generation: u32,
        use_key: impl FnOnce(&RatchetKey) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.check(suite, leaf)?;
        let (len, cfg) = (self.len, self.config);
        // The key itself is dropped (zeroized) here: it has been used.
        self.with_ratchet(suite, leaf, ratchet_type, |r| r.take_if(suite, len, &cfg, generation, use_key))
            .map(|(_key, used)| used)
    }

    fn check(&self, suite: &Suite<'_>, leaf: LeafIndex) -> Result<(), Error> {
        if suite.cipher_suite() != self.cipher_suite {
            return Err(UsageError::SuiteMismatch.into());
        }
        if leaf.0 >= self.n_leaves {
            return Err(ValidationError::LeafOutOfRange(leaf.0).into());
        }
        Ok(())
    }

    /// Runs `f` on the leaf's ratchet, deriving the leaf first if needed.
    /// A fresh leaf's derivation is committed only if `f` succeeds, so a
    /// rejected request leaves the tree as it was.
    fn with_ratchet<T>(
        &mut self,
        suite: &Suite<'_>,
        leaf: LeafIndex,
        ratchet_type: RatchetType,
        f: impl FnOnce(&mut Ratchet) -> Result<T, Error>,
    ) -> Result<T, Error> {
        if let Some(r) = self.ratchets.get_mut(&leaf.0) {
            return f(r.get_mut(ratchet_type));
        }
        let derived = self.derive_leaf(suite, leaf)?;
        let mut ratchets = derived.ratchets;
        let out = f(ratchets.get_mut(ratchet_type))?;
        // Commit: the ancestor is consumed (§9.2), its off-path
        // descendants replace it.
        self.nodes.remove(&derived.ancestor.0);
        self.nodes.extend(derived.siblings.into_iter().map(|(n, s)| (n.0, s)));
        self.ratchets.insert(leaf.0, ratchets);
        Ok(out)
    }

    /// Derives the ratchets of a leaf that has none yet, without changing
    /// the tree: returns the stored ancestor it started from (to delete),
    /// the off-path children derived on the way (to store) and the ratchets.
    fn derive_leaf(&self, suite: &Suite<'_>, leaf: LeafIndex) -> Result<DerivedLeaf, Error> {
        let target = leaf.node();
        // Lowest stored node on the leaf's path. By the module invariant
        // there is exactly one; finding none would mean this leaf's secrets
        // were already deleted, which only a broken invariant could cause.
        let mut ancestor = target;
        while !self.nodes.contains_key(&ancestor.0) {
            ancestor = math::parent(ancestor, self.n_leaves).ok_or(ValidationError::RatchetDeleted(leaf.0))?;
        }
        let mut secret = self.nodes.get(&ancestor.0).ok_or(CryptoError::Internal)?.clone();

        let mut siblings = Vec::new();
        let mut node = ancestor;
        while node != target {
            // RFC 9420 §9, Figure 25. A leaf has no children, and the loop
            // only runs above the target leaf, so both exist.
            let (l, r) = (math::left(node), self.right_child(node));
            let (Some(l), Some(r)) = (l, r) else { return Err(CryptoError::Internal.into()) };
            let left_secret = suite.expand_with_label(secret.as_bytes(), "tree", b"left", self.len.nh)?;
            let right_secret = suite.expand_with_label(secret.as_bytes(), "tree", b"right", self.len.nh)?;
            // `secret` (this node's) is replaced below: consumed (§9.2).
            if math::is_ancestor(l, target) {
                siblings.push((r, right_secret));
                (node, secret) = (l, left_secret);
            } else {
                siblings.push((l, left_secret));
                (node, secret) = (r, right_secret);
            }
        }

        // RFC 9420 §9, Figure 26; the leaf secret is consumed by both.
        let handshake = suite.expand_with_label(secret.as_bytes(), "handshake", b"", self.len.nh)?;
        let application = suite.expand_with_label(secret.as_bytes(), "application", b"", self.len.nh)?;
        let ratchets = LeafRatchets { handshake: Ratchet::new(handshake), application: Ratchet::new(application) };
        Ok(DerivedLeaf { ancestor, siblings, ratchets })
    }

    /// The right child of `node` inside the tree. In a full tree (RFC 9420
    /// keeps the leaf count a power of two, §7.7/§7.8) this is
    /// Appendix C's `right`; should the tree not be full, the child beyond
    /// the right edge is replaced by the first node of its left spine
    /// inside the tree, as `tree::math::sibling` does.
    fn right_child(&self, node: NodeIndex) -> Option<NodeIndex> {
        let width = math::node_width(self.n_leaves);
        let mut r = math::right(node)?;
        while r.0 >= width {
            r = math::left(r)?;
        }
        Some(r)
    }
}

/// A leaf derived on scratch, waiting to be committed.
struct DerivedLeaf {
    ancestor: NodeIndex,
    siblings: Vec<(NodeIndex, Secret)>,
    ratchets: LeafRatchets,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::crypto::{CipherSuite, default_provider};

    fn suite() -> Suite<'static> {
        Suite::new(default_provider(), CipherSuite(1)).unwrap()
    }

    fn tree(n: u32, config: SecretTreeConfig) -> SecretTree {
        let s = suite();
        SecretTree::new(&s, Secret::new((0..32).collect()), n, config).unwrap()
    }

    fn recv(t: &mut SecretTree, leaf: u32, ty: RatchetType, generation: u32) -> Result<RatchetKey, Error> {
        t.receive_key(&suite(), LeafIndex(leaf), ty, generation)
    }

    /// Keys of generations 0..n of one ratchet, taken in order.
    fn in_order(n_leaves: u32, leaf: u32, ty: RatchetType, n: u32) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut t = tree(n_leaves, SecretTreeConfig::default());
        (0..n).map(|g| recv(&mut t, leaf, ty, g).unwrap()).map(|k| (k.key().to_vec(), k.nonce().to_vec())).collect()
    }

    fn invalid(e: Error) -> ValidationError {
        match e {
            Error::Invalid(v) => v,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    /// What a rejected request must not change.
    fn shape(t: &SecretTree) -> (usize, usize, usize) {
        (t.stored_node_secrets(), t.stored_leaf_ratchets(), t.stored_skipped_keys())
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<SecretTree>();
        check::<RatchetKey>();
    }

    #[test]
    fn out_of_order_within_window() {
        let want = in_order(8, 3, RatchetType::Application, 12);
        let mut t = tree(8, SecretTreeConfig::default());
        for g in [5, 2, 11, 0, 7, 1, 3, 4, 6, 10, 9, 8] {
            let k = recv(&mut t, 3, RatchetType::Application, g).unwrap();
            assert_eq!(k.generation(), g);
            assert_eq!((k.key().to_vec(), k.nonce().to_vec()), want[g as usize], "generation {g}");
        }
        // Everything skipped was consumed: nothing is kept any more.
        assert_eq!(t.stored_skipped_keys(), 0);
        // The handshake ratchet of the same leaf is independent.
        let hs = recv(&mut t, 3, RatchetType::Handshake, 0).unwrap();
        assert_ne!(hs.key(), want[0].0.as_slice());
    }

    #[test]
    fn replay_is_rejected_and_changes_nothing() {
        let want = in_order(4, 1, RatchetType::Handshake, 8);
        let mut t = tree(4, SecretTreeConfig::default());
        recv(&mut t, 1, RatchetType::Handshake, 5).unwrap();
        let before = shape(&t);
        assert_eq!(
            invalid(recv(&mut t, 1, RatchetType::Handshake, 5).unwrap_err()),
            ValidationError::GenerationConsumed { generation: 5 }
        );
        assert_eq!(shape(&t), before);
        // Skipped keys and the ratchet position are intact.
        assert_eq!(recv(&mut t, 1, RatchetType::Handshake, 3).unwrap().key(), want[3].0.as_slice());
        assert_eq!(recv(&mut t, 1, RatchetType::Handshake, 6).unwrap().key(), want[6].0.as_slice());
        assert_eq!(
            invalid(recv(&mut t, 1, RatchetType::Handshake, 3).unwrap_err()),
            ValidationError::GenerationConsumed { generation: 3 }
        );
    }

    #[test]
    fn key_is_consumed_only_when_its_use_succeeds() {
        let want = in_order(4, 2, RatchetType::Application, 4);
        let mut t = tree(4, SecretTreeConfig::default());
        let fail = |_: &RatchetKey| -> Result<(), Error> { Err(CryptoError::DecryptionFailed.into()) };
        // A fresh leaf, a forward jump and a skipped key: none is consumed
        // by a failed use, and the tree keeps its shape.
        let before = shape(&t);
        assert!(t.receive_with_key(&suite(), LeafIndex(2), RatchetType::Application, 2, fail).is_err());
        assert_eq!(shape(&t), before);
        let got = t.receive_with_key(&suite(), LeafIndex(2), RatchetType::Application, 2, |k| Ok(k.key().to_vec()));
        assert_eq!(got.unwrap(), want[2].0);
        let before = shape(&t);
        assert!(t.receive_with_key(&suite(), LeafIndex(2), RatchetType::Application, 0, fail).is_err());
        assert!(t.receive_with_key(&suite(), LeafIndex(2), RatchetType::Application, 3, fail).is_err());
        assert_eq!(shape(&t), before);
        assert_eq!(recv(&mut t, 2, RatchetType::Application, 0).unwrap().key(), want[0].0.as_slice());
        assert_eq!(recv(&mut t, 2, RatchetType::Application, 3).unwrap().key(), want[3].0.as_slice());
        // A successful use consumed generation 2.
        assert_eq!(
            invalid(t.receive_with_key(&suite(), LeafIndex(2), RatchetType::Application, 2, |_| Ok(())).unwrap_err()),
            ValidationError::GenerationConsumed { generation: 2 }
        );
    }

    #[test]
    fn window_bounds() {
        let cfg = SecretTreeConfig { out_of_order_tolerance: 32, max_forward_distance: 1000 };
        let mut t = tree(2, cfg);
        recv(&mut t, 0, RatchetType::Application, 100).unwrap();
        // Only the window's worth of skipped keys is kept.
        assert_eq!(t.stored_skipped_keys(), 32);
        let before = shape(&t);
        assert_eq!(
            invalid(recv(&mut t, 0, RatchetType::Application, 67).unwrap_err()),
            ValidationError::GenerationTooOld { generation: 67 }
        );
        assert_eq!(shape(&t), before);
        recv(&mut t, 0, RatchetType::Application, 68).unwrap();

        // Forward: next unused is 101, so 1101 is the furthest allowed.
        assert_eq!(
            invalid(recv(&mut t, 0, RatchetType::Application, 1102).unwrap_err()),
            ValidationError::GenerationTooFarAhead { generation: 1102 }
        );
        recv(&mut t, 0, RatchetType::Application, 1101).unwrap();
        // The window moved with the ratchet.
        assert_eq!(
            invalid(recv(&mut t, 0, RatchetType::Application, 101).unwrap_err()),
            ValidationError::GenerationTooOld { generation: 101 }
        );
        assert_eq!(t.stored_skipped_keys(), 32);
    }

    #[test]
    fn rejected_first_request_does_not_derive_the_leaf() {
        let mut t = tree(16, SecretTreeConfig::default());
        let before = shape(&t);
        assert_eq!(before, (1, 0, 0));
        assert_eq!(
            invalid(recv(&mut t, 9, RatchetType::Application, 1001).unwrap_err()),
            ValidationError::GenerationTooFarAhead { generation: 1001 }
        );
        assert_eq!(shape(&t), before);
        assert_eq!(
            invalid(recv(&mut t, 9, RatchetType::Application, u32::MAX).unwrap_err()),
            ValidationError::GenerationTooFarAhead { generation: u32::MAX }
        );
        assert_eq!(shape(&t), before);
    }

    #[test]
    fn zero_tolerance_keeps_nothing() {
        let cfg = SecretTreeConfig { out_of_order_tolerance: 0, max_forward_distance: 10 };
        let mut t = tree(1, cfg);
        recv(&mut t, 0, RatchetType::Application, 3).unwrap();
        assert_eq!(t.stored_skipped_keys(), 0);
        assert_eq!(
            invalid(recv(&mut t, 0, RatchetType::Application, 2).unwrap_err()),
            ValidationError::GenerationTooOld { generation: 2 }
        );
        assert_eq!(
            invalid(recv(&mut t, 0, RatchetType::Application, 3).unwrap_err()),
            ValidationError::GenerationConsumed { generation: 3 }
        );
        recv(&mut t, 0, RatchetType::Application, 4).unwrap();
    }

    #[test]
    fn leaf_out_of_range() {
        let mut t = tree(8, SecretTreeConfig::default());
        assert_eq!(
            invalid(recv(&mut t, 8, RatchetType::Handshake, 0).unwrap_err()),
            ValidationError::LeafOutOfRange(8)
        );
        let err = t.next_send_key(&suite(), LeafIndex(u32::MAX), RatchetType::Application).unwrap_err();
        assert_eq!(invalid(err), ValidationError::LeafOutOfRange(u32::MAX));
        assert_eq!(shape(&t), (1, 0, 0));
    }

    #[test]
    fn sending_walks_the_ratchet_once() {
        let want = in_order(8, 6, RatchetType::Application, 3);
        let mut t = tree(8, SecretTreeConfig::default());
        for (g, w) in want.iter().enumerate() {
            let k = t.next_send_key(&suite(), LeafIndex(6), RatchetType::Application).unwrap();
            assert_eq!(k.generation(), g as u32);
            assert_eq!(&(k.key().to_vec(), k.nonce().to_vec()), w);
        }
        // A sent key is consumed: it can never be handed out again.
        assert!(recv(&mut t, 6, RatchetType::Application, 1).is_err());
        assert_eq!(t.stored_skipped_keys(), 0);
    }

    #[test]
    fn other_suite_is_refused() {
        let mut t = tree(2, SecretTreeConfig::default());
        let other = Suite::new(default_provider(), CipherSuite(3)).unwrap();
        let err = t.receive_key(&other, LeafIndex(0), RatchetType::Application, 0).unwrap_err();
        assert_eq!(err, UsageError::SuiteMismatch.into());
    }

    #[test]
    fn derivation_order_does_not_matter() {
        for n in [1u32, 2, 3, 5, 8, 13] {
            let mut forward = tree(n, SecretTreeConfig::default());
            let mut backward = tree(n, SecretTreeConfig::default());
            let a: Vec<_> =
                (0..n).map(|l| recv(&mut forward, l, RatchetType::Application, 0).unwrap().key().to_vec()).collect();
            let mut b: Vec<_> = (0..n)
                .rev()
                .map(|l| recv(&mut backward, l, RatchetType::Application, 0).unwrap().key().to_vec())
                .collect();
            b.reverse();
            assert_eq!(a, b, "{n} leaves");
            // Every node secret is consumed once all leaves are derived.
            assert_eq!(forward.stored_node_secrets(), 0);
            assert_eq!(backward.stored_node_secrets(), 0);
            let mut distinct = a.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct.len(), a.len());
        }
    }

    #[test]
    fn large_tree_stays_logarithmic() {
        let n = 100_000;
        let mut t = tree(n, SecretTreeConfig::default());
        assert_eq!(t.stored_node_secrets(), 1);
        recv(&mut t, 54_321, RatchetType::Application, 0).unwrap();
        // One off-path child per level: at most ceil(log2 n) = 17.
        let depth = 32 - (n - 1).leading_zeros() as usize;
        assert!(t.stored_node_secrets() <= depth, "{} node secrets", t.stored_node_secrets());
        assert_eq!(t.stored_leaf_ratchets(), 1);
        // A second sender costs at most another path.
        recv(&mut t, 7, RatchetType::Handshake, 0).unwrap();
        assert!(t.stored_node_secrets() <= 2 * depth);
        assert_eq!(t.stored_leaf_ratchets(), 2);
    }
}

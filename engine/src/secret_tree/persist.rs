//! The secret tree's sparse state in exported state ([`crate::state`]):
//! exactly what is stored, nothing re-derived, so an imported tree hands
//! out the same keys and refuses the same generations as the original.
//!
//! ```text
//! uint32 out_of_order_tolerance; uint32 max_forward_distance; uint32 n_leaves;
//! uint32 count; { uint32 node; opaque secret<V>; }[count]          ascending node
//! uint32 count; { uint32 leaf; Ratchet handshake; Ratchet application; }[count]   ascending leaf
//! Ratchet: opaque secret<V>; uint32 next; uint32 count;
//!          { uint32 generation; opaque key<V>; opaque nonce<V>; }[count]    ascending generation
//! ```

use std::collections::HashMap;

use crate::codec::{Decode, Encode, Reader};
use crate::crypto::{Secret, Suite};
use crate::error::StateError;
use crate::tree_math::{self as math, NodeIndex};

use super::{LeafRatchets, Lengths, Ratchet, RatchetKey, SecretTree, SecretTreeConfig};

fn corrupt(e: crate::codec::DecodeError) -> StateError {
    StateError::Corrupt(e)
}

/// A secret of exactly `len` bytes.
fn read_secret(r: &mut Reader<'_>, len: u16) -> Result<Secret, StateError> {
    let s = Secret::decode(r).map_err(corrupt)?;
    if s.len() != usize::from(len) {
        return Err(StateError::Inconsistent("a secret tree value has the wrong length for the suite"));
    }
    Ok(s)
}

impl Ratchet {
    fn encode_state(&self, out: &mut Vec<u8>) {
        self.secret.encode(out);
        self.next.encode(out);
        (self.skipped.len() as u32).encode(out);
        for k in &self.skipped {
            k.generation.encode(out);
            k.key.encode(out);
            k.nonce.encode(out);
        }
    }

    fn state_len_bound(&self) -> usize {
        12 + self.secret.len() + self.skipped.iter().map(|k| 12 + k.key.len() + k.nonce.len()).sum::<usize>()
    }

    fn decode_state(r: &mut Reader<'_>, len: Lengths, config: &SecretTreeConfig) -> Result<Self, StateError> {
        let secret = read_secret(r, len.nh)?;
        let next = u32::decode(r).map_err(corrupt)?;
        let count = r.read_count(6)?;
        // At most the window's worth of skipped keys is ever kept.
        if count > config.out_of_order_tolerance as usize {
            return Err(StateError::Inconsistent("a ratchet keeps more skipped keys than its window"));
        }
        let mut skipped = Vec::with_capacity(count);
        for _ in 0..count {
            let generation = u32::decode(r).map_err(corrupt)?;
            let key = read_secret(r, len.nk)?;
            let nonce = read_secret(r, len.nn)?;
            // `take_if` binary-searches this list: it must stay sorted and
            // below `next`.
            let in_order = skipped.last().is_none_or(|k: &RatchetKey| k.generation < generation);
            if !in_order || generation >= next {
                return Err(StateError::Inconsistent("skipped generations are not ascending below the ratchet"));
            }
            skipped.push(RatchetKey { generation, key, nonce });
        }
        Ok(Self { secret, next, skipped })
    }
}

/// The first leaf below `x` and how many leaves of an `n_leaves` tree lie
/// below it.
fn leaves_below(x: NodeIndex, n_leaves: u32) -> (u32, u32) {
    let k = x.level();
    // In u64: the root of a 2^31-leaf tree is at level 31, and shifting a
    // u32 by 32 overflows.
    let first = (u64::from(x.0) >> (k + 1)) << k;
    let end = (first + (1u64 << k)).min(u64::from(n_leaves));
    (first as u32, end.saturating_sub(first) as u32)
}

impl SecretTree {
    /// Appends the tree's state (secret bytes: see [`crate::state`]). Maps
    /// are written sorted so that one state always exports to the same
    /// bytes.
    pub(crate) fn encode_state(&self, out: &mut Vec<u8>) {
        self.config.out_of_order_tolerance.encode(out);
        self.config.max_forward_distance.encode(out);
        self.n_leaves.encode(out);
        let mut nodes: Vec<(&u32, &Secret)> = self.nodes.iter().collect();
        nodes.sort_unstable_by_key(|(x, _)| **x);
        (nodes.len() as u32).encode(out);
        for (x, secret) in nodes {
            x.encode(out);
            secret.encode(out);
        }
        let mut ratchets: Vec<(&u32, &LeafRatchets)> = self.ratchets.iter().collect();
        ratchets.sort_unstable_by_key(|(l, _)| **l);
        (ratchets.len() as u32).encode(out);
        for (leaf, r) in ratchets {
            leaf.encode(out);
            r.handshake.encode_state(out);
            r.application.encode_state(out);
        }
    }

    /// Upper bound of the bytes [`encode_state`](Self::encode_state) writes.
    pub(crate) fn state_len_bound(&self) -> usize {
        20 + self.nodes.values().map(|s| 8 + s.len()).sum::<usize>()
            + self
                .ratchets
                .values()
                .map(|r| 4 + r.handshake.state_len_bound() + r.application.state_len_bound())
                .sum::<usize>()
    }

    /// Reads what [`encode_state`](Self::encode_state) wrote, for `suite`,
    /// and checks the module invariant: every leaf has its ratchets or
    /// exactly one stored ancestor (the node secrets and the derived
    /// leaves partition the leaves).
    pub(crate) fn decode_state(suite: &Suite<'_>, r: &mut Reader<'_>) -> Result<Self, StateError> {
        let alg = suite.algorithms();
        let as_u16 = |n: usize| u16::try_from(n).map_err(|_| StateError::Inconsistent("suite output too long"));
        let len =
            Lengths { nh: as_u16(alg.hash.len())?, nk: as_u16(alg.aead.key_len())?, nn: as_u16(alg.aead.nonce_len())? };
        let config = SecretTreeConfig {
            out_of_order_tolerance: u32::decode(r).map_err(corrupt)?,
            max_forward_distance: u32::decode(r).map_err(corrupt)?,
        };
        let n_leaves = u32::decode(r).map_err(corrupt)?;
        if n_leaves == 0 || n_leaves > 1 << 31 {
            return Err(StateError::Inconsistent("a secret tree has 1 to 2^31 leaves"));
        }
        let width = math::node_width(n_leaves);

        let count = r.read_count(5)?;
        let mut nodes = HashMap::with_capacity(count);
        let mut last = None;
        for _ in 0..count {
            let x = u32::decode(r).map_err(corrupt)?;
            if x >= width || last.is_some_and(|l| l >= x) {
                return Err(StateError::Inconsistent("secret tree nodes are not ascending inside the tree"));
            }
            last = Some(x);
            nodes.insert(x, read_secret(r, len.nh)?);
        }
        let count = r.read_count(16)?;
        let mut ratchets = HashMap::with_capacity(count);
        let mut last = None;
        for _ in 0..count {
            let leaf = u32::decode(r).map_err(corrupt)?;
            if leaf >= n_leaves || last.is_some_and(|l| l >= leaf) {
                return Err(StateError::Inconsistent("secret tree leaves are not ascending inside the tree"));
            }
            last = Some(leaf);
            let handshake = Ratchet::decode_state(r, len, &config)?;
            let application = Ratchet::decode_state(r, len, &config)?;
            ratchets.insert(leaf, LeafRatchets { handshake, application });
        }

        // The partition: no stored node lies on the path of another stored
        // node or of a derived leaf, and together they cover every leaf.
        let broken =
            StateError::Inconsistent("secret tree secrets do not cover each leaf exactly once (RFC 9420 §9.2)");
        let starts = nodes.keys().map(|&x| NodeIndex(x)).chain(ratchets.keys().map(|&l| NodeIndex(2 * l)));
        let mut covered = 0u64;
        for x in starts {
            let mut up =
                if x.is_leaf() && ratchets.contains_key(&(x.0 / 2)) { Some(x) } else { math::parent(x, n_leaves) };
            while let Some(p) = up {
                if nodes.contains_key(&p.0) {
                    return Err(broken);
                }
                up = math::parent(p, n_leaves);
            }
            covered += u64::from(leaves_below(x, n_leaves).1);
        }
        if covered != u64::from(n_leaves) {
            return Err(broken);
        }
        Ok(Self { cipher_suite: suite.cipher_suite(), len, config, n_leaves, nodes, ratchets })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::crypto::{CipherSuite, default_provider};
    use crate::secret_tree::RatchetType;
    use crate::tree_math::LeafIndex;

    fn suite() -> Suite<'static> {
        Suite::new(default_provider(), CipherSuite(1)).unwrap()
    }

    /// Class 5 of issue 12: the root of a 2^31-leaf tree is at level 31,
    /// and the span computation shifted a u32 by 32.
    #[test]
    fn leaves_below_the_root_of_the_largest_tree() {
        let n = 1u32 << 31;
        let root = math::root(n);
        assert_eq!(leaves_below(root, n), (0, n));
        assert_eq!(leaves_below(NodeIndex(0), n), (0, 1));
    }

    fn round_trip(t: &SecretTree) -> Result<SecretTree, StateError> {
        let mut bytes = Vec::new();
        t.encode_state(&mut bytes);
        assert!(bytes.len() <= t.state_len_bound());
        let mut r = Reader::new(&bytes);
        let back = SecretTree::decode_state(&suite(), &mut r)?;
        assert!(r.is_empty());
        Ok(back)
    }

    fn encoded(t: &SecretTree) -> Vec<u8> {
        let mut bytes = Vec::new();
        t.encode_state(&mut bytes);
        bytes
    }

    #[test]
    fn imported_tree_hands_out_the_same_keys() {
        let s = suite();
        let mut t = SecretTree::new(&s, Secret::new(vec![5; 32]), 16, SecretTreeConfig::default()).unwrap();
        t.receive_key(&s, LeafIndex(9), RatchetType::Application, 6).unwrap();
        t.receive_key(&s, LeafIndex(9), RatchetType::Application, 2).unwrap();
        t.next_send_key(&s, LeafIndex(3), RatchetType::Handshake).unwrap();
        let mut back = round_trip(&t).unwrap();
        assert_eq!(encoded(&back), encoded(&t));
        for (leaf, ty, generation) in
            [(9, RatchetType::Application, 4), (9, RatchetType::Application, 7), (0, RatchetType::Handshake, 0)]
        {
            let a = t.receive_key(&s, LeafIndex(leaf), ty, generation).unwrap();
            let b = back.receive_key(&s, LeafIndex(leaf), ty, generation).unwrap();
            assert_eq!((a.key(), a.nonce()), (b.key(), b.nonce()));
        }
        assert!(back.receive_key(&s, LeafIndex(9), RatchetType::Application, 2).is_err());
        assert_eq!(encoded(&back), encoded(&t));
    }

    #[test]
    fn broken_partition_is_inconsistent() {
        let s = suite();
        let fresh = SecretTree::new(&s, Secret::new(vec![5; 32]), 8, SecretTreeConfig::default()).unwrap();
        let mut derived = SecretTree::new(&s, Secret::new(vec![5; 32]), 8, SecretTreeConfig::default()).unwrap();
        derived.receive_key(&s, LeafIndex(0), RatchetType::Application, 0).unwrap();
        assert_eq!(derived.stored_node_secrets(), 3);
        let (fresh, derived) = (encoded(&fresh), encoded(&derived));
        // Header (12 bytes), then node entries of 4 + 1 + 32 bytes.
        let entry = 37;
        let ratchets_at = 16 + 3 * entry;

        // The root is still stored although leaf 0 was derived from it.
        let mut both = fresh[..16 + entry].to_vec();
        both.extend_from_slice(&derived[ratchets_at..]);
        let decode = |bytes: &[u8]| SecretTree::decode_state(&s, &mut Reader::new(bytes)).map(|_| ());
        assert!(matches!(decode(&both), Err(StateError::Inconsistent(_))));

        // A stored sibling went missing: its leaves would be underivable.
        let mut missing = derived[..12].to_vec();
        missing.extend_from_slice(&2u32.to_be_bytes());
        missing.extend_from_slice(&derived[16 + entry..]);
        assert!(matches!(decode(&missing), Err(StateError::Inconsistent(_))));

        // Nodes out of order.
        let mut swapped = derived[..16].to_vec();
        swapped.extend_from_slice(&derived[16 + entry..16 + 2 * entry]);
        swapped.extend_from_slice(&derived[16..16 + entry]);
        swapped.extend_from_slice(&derived[16 + 2 * entry..]);
        assert!(matches!(decode(&swapped), Err(StateError::Inconsistent(_))));
        decode(&derived).unwrap();
    }

    #[test]
    fn skipped_keys_must_stay_inside_the_ratchet() {
        let s = suite();
        let mut t = SecretTree::new(&s, Secret::new(vec![5; 32]), 1, SecretTreeConfig::default()).unwrap();
        t.receive_key(&s, LeafIndex(0), RatchetType::Handshake, 1).unwrap();
        let mut bytes = encoded(&t);
        // Single leaf: no node secrets; the ratchets start at byte 20 with
        // the leaf index, then the handshake secret (1 + 32), then `next`.
        let next_at = 20 + 4 + 33;
        assert_eq!(bytes[next_at..next_at + 4], 2u32.to_be_bytes());
        bytes[next_at..next_at + 4].copy_from_slice(&0u32.to_be_bytes());
        let decode = |bytes: &[u8]| SecretTree::decode_state(&s, &mut Reader::new(bytes)).map(|_| ());
        assert!(matches!(decode(&bytes), Err(StateError::Inconsistent(_))));
    }
}

//! A member's private tree keys in exported state ([`crate::state`]).

use std::collections::BTreeMap;

use crate::codec::{Decode, Encode, Reader};
use crate::crypto::{HpkePrivateKey, HpkePublicKey, Secret};
use crate::error::StateError;
use crate::tree_math::LeafIndex;

use super::PrivateTree;

impl PrivateTree {
    /// Appends `uint32 own_leaf`, then the node keys in node order, each
    /// as `uint32 node`, the private key and its public key (secret bytes:
    /// see [`crate::state`]).
    pub(crate) fn encode_state(&self, out: &mut Vec<u8>) {
        self.own_leaf.0.encode(out);
        (self.keys.len() as u32).encode(out);
        for (node, (private, public)) in &self.keys {
            node.encode(out);
            private.0.encode(out);
            public.encode(out);
        }
    }

    /// Upper bound of the bytes [`encode_state`](Self::encode_state) writes.
    pub(crate) fn state_len_bound(&self) -> usize {
        8 + self.keys.values().map(|(private, public)| 12 + private.0.len() + public.as_bytes().len()).sum::<usize>()
    }

    /// Reads what [`encode_state`](Self::encode_state) wrote. Whether the
    /// keys match the tree is the caller's check (`is_consistent`).
    pub(crate) fn decode_state(r: &mut Reader<'_>) -> Result<Self, StateError> {
        let own_leaf = LeafIndex(u32::decode(r).map_err(StateError::Corrupt)?);
        let count = r.read_count(6)?;
        let mut keys = BTreeMap::new();
        let mut last = None;
        for _ in 0..count {
            let node = u32::decode(r).map_err(StateError::Corrupt)?;
            let private = HpkePrivateKey(Secret::decode(r).map_err(StateError::Corrupt)?);
            let public = HpkePublicKey::decode(r).map_err(StateError::Corrupt)?;
            // Written in ascending node order; anything else is damage.
            if last.is_some_and(|l| l >= node) {
                return Err(StateError::Inconsistent("private tree keys are not in ascending node order"));
            }
            last = Some(node);
            keys.insert(node, (private, public));
        }
        Ok(Self { own_leaf, keys })
    }
}

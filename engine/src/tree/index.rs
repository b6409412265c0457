//! O(1) lookups the RFC's uniqueness rules need (§7.3: signature and
//! encryption keys unique; §12.4.3.1: parent encryption keys unique), and
//! lookups by credential for rosters.
//!
//! Keys are indexed by a keyed 32-bit fingerprint rather than by their
//! bytes: at 100,000 members three byte-keyed maps would cost tens of
//! megabytes per tree, and 32 bits halve the maps' buckets against 64
//! (collisions only cost a comparison more). The fingerprint is only a hint; every hit is
//! confirmed against the node itself, and the random key of `RandomState`
//! keeps a peer from forcing collisions.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// A keyed hash of a key or credential.
pub(crate) type Fingerprint = u32;

/// One map from a fingerprint to the node indices holding that value.
#[derive(Clone, Debug, Default)]
pub(crate) struct FingerprintMap {
    first: HashMap<Fingerprint, u32>,
    /// Further indices for a fingerprint that is already taken: different
    /// values that collide, or (for credentials) one value at many leaves.
    more: HashMap<Fingerprint, Vec<u32>>,
}

impl FingerprintMap {
    pub(crate) fn insert(&mut self, fp: Fingerprint, index: u32) {
        match self.first.entry(fp) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(index);
            }
            std::collections::hash_map::Entry::Occupied(_) => self.more.entry(fp).or_default().push(index),
        }
    }

    pub(crate) fn remove(&mut self, fp: Fingerprint, index: u32) {
        if self.first.get(&fp) == Some(&index) {
            // Promote a further entry, if any, to keep `first` populated.
            match self.more.get_mut(&fp).and_then(|v| v.pop()) {
                Some(next) => {
                    self.first.insert(fp, next);
                }
                None => {
                    self.first.remove(&fp);
                }
            }
        } else if let Some(v) = self.more.get_mut(&fp) {
            v.retain(|&i| i != index);
        }
        if self.more.get(&fp).is_some_and(Vec::is_empty) {
            self.more.remove(&fp);
        }
    }

    /// Every index filed under `fp` (usually zero or one).
    pub(crate) fn candidates(&self, fp: Fingerprint) -> impl Iterator<Item = u32> + '_ {
        self.first.get(&fp).copied().into_iter().chain(self.more.get(&fp).into_iter().flatten().copied())
    }

    pub(crate) fn len(&self) -> usize {
        self.first.len() + self.more.values().map(Vec::len).sum::<usize>()
    }
}

/// The tree's three indices.
#[derive(Clone, Debug, Default)]
pub(crate) struct TreeIndex {
    hasher: RandomState,
    /// Leaf signature keys → leaf index.
    pub(crate) signature_keys: FingerprintMap,
    /// Encryption keys of leaves and parents → node index.
    pub(crate) encryption_keys: FingerprintMap,
    /// Encoded credentials → leaf index (several leaves may share one).
    pub(crate) credentials: FingerprintMap,
}

impl TreeIndex {
    pub(crate) fn fingerprint(&self, bytes: &[u8]) -> Fingerprint {
        // Truncation keeps the keyed hash's unpredictability.
        self.hasher.hash_one(bytes) as Fingerprint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collisions_and_removal() {
        let mut m = FingerprintMap::default();
        m.insert(7, 1);
        m.insert(7, 2);
        m.insert(9, 3);
        assert_eq!(m.candidates(7).collect::<Vec<_>>(), vec![1, 2]);
        m.remove(7, 1);
        assert_eq!(m.candidates(7).collect::<Vec<_>>(), vec![2]);
        m.remove(7, 2);
        assert_eq!(m.candidates(7).count(), 0);
        assert_eq!(m.len(), 1);
    }
}

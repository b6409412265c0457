//! O(log n) lookups the RFC's uniqueness rules need (§7.3: signature and
//! encryption keys unique; §12.4.3.1: parent encryption keys unique), and
//! lookups by credential for rosters.
//!
//! Keys are indexed by a keyed 32-bit fingerprint rather than by their
//! bytes: at 100,000 members three byte-keyed maps would cost tens of
//! megabytes per tree. The fingerprint is only a hint; every hit is
//! confirmed against the node itself, and the random key of `RandomState`
//! keeps a peer from forcing collisions.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// A keyed hash of a key or credential.
pub(crate) type Fingerprint = u32;

/// One entry: the fingerprint in the high half, the node index in the low.
type Entry = u64;

fn entry(fp: Fingerprint, index: u32) -> Entry {
    (u64::from(fp) << 32) | u64::from(index)
}

fn fingerprint_of(e: Entry) -> Fingerprint {
    (e >> 32) as Fingerprint
}

fn index_of(e: Entry) -> u32 {
    e as u32
}

/// One map from a fingerprint to the node indices holding that value (a
/// set of pairs; several indices may share a fingerprint).
///
/// The pairs live in one sorted array, 8 bytes each: a hash map of the same
/// pairs takes 9 bytes a bucket at up to 7/8 load in a power-of-two table,
/// 15 bytes an entry at 10,000 (issue 16: member state). Changes since the
/// last compaction are kept aside, unsorted and few, so that one insert or
/// removal does not move the whole array; lookups scan them.
#[derive(Clone, Debug, Default)]
pub(crate) struct FingerprintMap {
    /// Sorted, without repeats.
    sorted: Vec<Entry>,
    /// Pairs inserted since the last compaction (none of them in `sorted`).
    added: Vec<Entry>,
    /// Pairs of `sorted` removed since the last compaction.
    removed: Vec<Entry>,
}

impl FingerprintMap {
    /// A map holding `entries` (in any order), built in one sort.
    fn from_entries(mut entries: Vec<Entry>) -> Self {
        entries.sort_unstable();
        entries.dedup();
        entries.shrink_to_fit();
        Self { sorted: entries, added: Vec::new(), removed: Vec::new() }
    }

    fn in_sorted(&self, e: Entry) -> bool {
        self.sorted.binary_search(&e).is_ok()
    }

    pub(crate) fn insert(&mut self, fp: Fingerprint, index: u32) {
        let e = entry(fp, index);
        if let Some(i) = self.removed.iter().position(|&r| r == e) {
            self.removed.swap_remove(i);
        } else if !self.added.contains(&e) && !self.in_sorted(e) {
            self.added.push(e);
            self.compact_if_due();
        }
    }

    pub(crate) fn remove(&mut self, fp: Fingerprint, index: u32) {
        let e = entry(fp, index);
        if let Some(i) = self.added.iter().position(|&a| a == e) {
            self.added.swap_remove(i);
        } else if self.in_sorted(e) && !self.removed.contains(&e) {
            self.removed.push(e);
            self.compact_if_due();
        }
    }

    /// Every index filed under `fp` (usually zero or one).
    pub(crate) fn candidates(&self, fp: Fingerprint) -> impl Iterator<Item = u32> + '_ {
        let start = self.sorted.partition_point(|&e| e < entry(fp, 0));
        let run = self.sorted.get(start..).unwrap_or_default();
        let end = run.partition_point(|&e| fingerprint_of(e) == fp);
        run.get(..end)
            .unwrap_or_default()
            .iter()
            .filter(|e| !self.removed.contains(e))
            .chain(self.added.iter().filter(move |&&e| fingerprint_of(e) == fp))
            .map(|&e| index_of(e))
    }

    pub(crate) fn len(&self) -> usize {
        self.sorted.len() - self.removed.len() + self.added.len()
    }

    /// Heap bytes held, for memory reports.
    pub(crate) fn heap_bytes(&self) -> usize {
        (self.sorted.capacity() + self.added.capacity() + self.removed.capacity()) * std::mem::size_of::<Entry>()
    }

    /// Folds the changes into the sorted array once they are a 1/128 of
    /// it (at least 64): a lookup then scans at most that many entries
    /// besides its binary search, and a change costs O(1) amortized.
    fn compact_if_due(&mut self) {
        if self.added.len() + self.removed.len() > (self.sorted.len() / 128).max(64) {
            self.compact();
        }
    }

    fn compact(&mut self) {
        self.added.sort_unstable();
        self.removed.sort_unstable();
        let mut merged = Vec::with_capacity(self.len());
        let mut kept = self.sorted.iter().copied().filter(|e| self.removed.binary_search(e).is_err()).peekable();
        let mut added = self.added.iter().copied().peekable();
        loop {
            let next = match (kept.peek(), added.peek()) {
                (Some(&k), Some(&a)) if a < k => added.next(),
                (Some(_), _) => kept.next(),
                (None, Some(_)) => added.next(),
                (None, None) => break,
            };
            merged.extend(next);
        }
        self.sorted = merged;
        self.added = Vec::new();
        self.removed = Vec::new();
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

/// The pairs of one map, collected for [`TreeIndex::bulk`].
pub(crate) type Entries = Vec<(Fingerprint, u32)>;

impl TreeIndex {
    pub(crate) fn fingerprint(&self, bytes: &[u8]) -> Fingerprint {
        // Truncation keeps the keyed hash's unpredictability.
        self.hasher.hash_one(bytes) as Fingerprint
    }

    /// An index of a whole tree's pairs, fingerprinted by `self`'s key, in
    /// one sort per map rather than an insert per node.
    pub(crate) fn bulk(self, signature_keys: &Entries, encryption_keys: &Entries, credentials: &Entries) -> Self {
        let map = |pairs: &Entries| FingerprintMap::from_entries(pairs.iter().map(|&(fp, i)| entry(fp, i)).collect());
        Self {
            signature_keys: map(signature_keys),
            encryption_keys: map(encryption_keys),
            credentials: map(credentials),
            hasher: self.hasher,
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.signature_keys.heap_bytes() + self.encryption_keys.heap_bytes() + self.credentials.heap_bytes()
    }
}

/// The groups of indices in `pairs` that share a fingerprint (more than one
/// index each): the only places two equal values can be.
pub(crate) fn shared_fingerprints(pairs: &Entries) -> Vec<Vec<u32>> {
    let mut sorted: Vec<Entry> = pairs.iter().map(|&(fp, i)| entry(fp, i)).collect();
    sorted.sort_unstable();
    sorted
        .chunk_by(|&a, &b| fingerprint_of(a) == fingerprint_of(b))
        .filter(|run| run.len() > 1)
        .map(|run| run.iter().map(|&e| index_of(e)).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(m: &FingerprintMap, fp: Fingerprint) -> Vec<u32> {
        let mut v: Vec<u32> = m.candidates(fp).collect();
        v.sort();
        v
    }

    #[test]
    fn collisions_and_removal() {
        let mut m = FingerprintMap::default();
        m.insert(7, 1);
        m.insert(7, 2);
        m.insert(9, 3);
        assert_eq!(sorted(&m, 7), vec![1, 2]);
        m.remove(7, 1);
        assert_eq!(sorted(&m, 7), vec![2]);
        m.remove(7, 2);
        assert_eq!(m.candidates(7).count(), 0);
        assert_eq!(m.len(), 1);
    }

    /// The map against a plain set of pairs through many compactions, with
    /// fingerprints chosen to collide, inserts and removals of pairs in the
    /// sorted array and in the changes alike.
    #[test]
    fn matches_a_set_through_compactions() {
        use std::collections::BTreeSet;
        let pairs: Entries = (0..5_000u32).map(|i| (i.wrapping_mul(2_654_435_761) % 700, i)).collect();
        let mut m = TreeIndex::default().bulk(&pairs, &Vec::new(), &Vec::new()).signature_keys;
        let mut model: BTreeSet<(Fingerprint, u32)> = pairs.iter().copied().collect();
        let mut x = 12_345u64;
        for step in 0..40_000u32 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let fp = ((x >> 33) % 700) as Fingerprint;
            let index = ((x >> 13) % 6_000) as u32;
            if x >> 63 == 0 {
                m.insert(fp, index);
                model.insert((fp, index));
            } else {
                m.remove(fp, index);
                model.remove(&(fp, index));
            }
            if step % 97 == 0 {
                let want: Vec<u32> = model.range((fp, 0)..=(fp, u32::MAX)).map(|&(_, i)| i).collect();
                assert_eq!(sorted(&m, fp), want, "step {step}");
                assert_eq!(m.len(), model.len());
            }
        }
        for fp in 0..700 {
            let want: Vec<u32> = model.range((fp, 0)..=(fp, u32::MAX)).map(|&(_, i)| i).collect();
            assert_eq!(sorted(&m, fp), want);
        }
    }

    #[test]
    fn shared_fingerprints_groups_only_repeats() {
        let pairs: Entries = vec![(5, 1), (3, 2), (5, 9), (4, 3), (5, 4)];
        assert_eq!(shared_fingerprints(&pairs), vec![vec![1, 4, 9]]);
    }
}

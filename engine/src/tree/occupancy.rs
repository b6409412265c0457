//! A bitmap of occupied leaves: answers "is any leaf in this span
//! non-blank" in O(span / 64), which the filtered direct path (§4.1.2) asks
//! of every copath subtree on every commit.

use crate::messages::LeafNode;

#[derive(Clone, Debug, Default)]
pub(crate) struct Occupancy {
    words: Vec<u64>,
    leaves: u32,
    count: u32,
}

impl Occupancy {
    pub(crate) fn from_leaves(leaves: &[Option<Box<LeafNode>>]) -> Self {
        let mut o = Self::default();
        o.resize(leaves.len() as u32);
        for (i, l) in leaves.iter().enumerate() {
            if l.is_some() {
                o.set(i as u32, true);
            }
        }
        o
    }

    pub(crate) fn resize(&mut self, leaves: u32) {
        // Clear bits beyond the new end so a later growth starts blank.
        for i in leaves..self.leaves.min(self.words.len() as u32 * 64) {
            self.set(i, false);
        }
        self.leaves = leaves;
        self.words.resize((leaves as usize).div_ceil(64), 0);
    }

    pub(crate) fn get(&self, i: u32) -> bool {
        self.words.get((i / 64) as usize).is_some_and(|w| w >> (i % 64) & 1 == 1)
    }

    pub(crate) fn set(&mut self, i: u32, on: bool) {
        let Some(w) = self.words.get_mut((i / 64) as usize) else { return };
        let bit = 1u64 << (i % 64);
        let was = *w & bit != 0;
        if on && !was {
            *w |= bit;
            self.count += 1;
        } else if !on && was {
            *w &= !bit;
            self.count -= 1;
        }
    }

    /// The first blank leaf at or after `from`, if any.
    pub(crate) fn first_vacant(&self, from: u32) -> Option<u32> {
        let mut i = from;
        while i < self.leaves {
            let (word, bit) = ((i / 64) as usize, i % 64);
            let free = !self.words.get(word).copied().unwrap_or(0) >> bit;
            if free != 0 {
                let found = i + free.trailing_zeros();
                return (found < self.leaves).then_some(found);
            }
            i += 64 - bit;
        }
        None
    }

    /// Number of occupied leaves in `first .. first + count`.
    #[cfg(test)]
    pub(crate) fn count_in(&self, first: u32, count: u32) -> u32 {
        let end = first.saturating_add(count).min(self.leaves);
        let mut i = first;
        let mut n = 0;
        while i < end {
            let (word, bit) = ((i / 64) as usize, i % 64);
            let take = (64 - bit).min(end - i);
            let mask = if take == 64 { u64::MAX } else { ((1u64 << take) - 1) << bit };
            n += (self.words.get(word).copied().unwrap_or(0) & mask).count_ones();
            i += take;
        }
        n
    }

    /// Whether any leaf in `first .. first + count` is occupied. Stops at
    /// the first occupied word: the filtered direct path (§4.1.2) asks this
    /// of copath subtrees up to half the tree wide on every commit, and a
    /// full count there would make a commit O(n / 64).
    pub(crate) fn any_in(&self, first: u32, count: u32) -> bool {
        let end = first.saturating_add(count).min(self.leaves);
        let mut i = first;
        while i < end {
            let (word, bit) = ((i / 64) as usize, i % 64);
            let take = (64 - bit).min(end - i);
            let mask = if take == 64 { u64::MAX } else { ((1u64 << take) - 1) << bit };
            if self.words.get(word).copied().unwrap_or(0) & mask != 0 {
                return true;
            }
            i += take;
        }
        false
    }

    pub(crate) fn count(&self) -> u32 {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_across_words() {
        let mut o = Occupancy::default();
        o.resize(300);
        o.set(5, true);
        o.set(130, true);
        assert_eq!(o.count_in(0, 300), 2);
        assert!(o.any_in(128, 128));
        assert!(!o.any_in(6, 120));
        o.resize(100);
        assert_eq!(o.count(), 1);
        o.resize(300);
        assert!(!o.get(130));
    }
}

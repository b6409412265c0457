//! Node storage that costs nothing for long blank runs.
//!
//! A tree of n members is 2^k leaves wide, and right after a join most of
//! its parents are blank (only the committers' paths are set), as are the
//! leaves past the last member: at 10,000 members, 6,384 leaf slots and
//! all but 14 of 16,383 parent slots. A plain `Vec<Option<Box<_>>>` spends
//! 8 bytes on each (0.26 MB of a 3 MB state, issue 16). Here slots come in
//! chunks of 64, and a chunk with no node is not allocated; a full tree
//! pays 8 bytes per 64 slots more than a vector.

use rayon::prelude::*;

/// Slots per chunk.
const CHUNK: usize = 64;

type Chunk<T> = Box<[Option<Box<T>>; CHUNK]>;

/// `len` optional boxed nodes, addressed by index.
#[derive(Clone, Debug)]
pub(crate) struct Slots<T> {
    chunks: Vec<Option<Chunk<T>>>,
    len: usize,
}

impl<T> Slots<T> {
    /// Takes the nodes of `nodes`, in order.
    pub(crate) fn from_vec(nodes: Vec<Option<Box<T>>>) -> Self {
        let len = nodes.len();
        let mut chunks = Vec::with_capacity(len.div_ceil(CHUNK));
        let mut nodes = nodes.into_iter();
        for _ in 0..len.div_ceil(CHUNK) {
            let mut chunk: Option<Chunk<T>> = None;
            for (i, node) in nodes.by_ref().take(CHUNK).enumerate() {
                if let Some(node) = node {
                    chunk.get_or_insert_with(empty_chunk)[i] = Some(node);
                }
            }
            chunks.push(chunk);
        }
        Self { chunks, len }
    }

    /// Number of slots.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The node in slot `i`, if the slot exists and holds one.
    pub(crate) fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i / CHUNK)?.as_ref()?[i % CHUNK].as_deref()
    }

    /// Puts `node` in slot `i` and returns what was there. Outside the
    /// slots, nothing changes and `None` comes back.
    pub(crate) fn replace(&mut self, i: usize, node: Option<Box<T>>) -> Option<Box<T>> {
        if i >= self.len {
            return None;
        }
        let entry = &mut self.chunks[i / CHUNK];
        let old = match (entry.as_mut(), node) {
            (Some(chunk), node) => std::mem::replace(&mut chunk[i % CHUNK], node),
            (None, None) => return None,
            (None, Some(node)) => {
                entry.get_or_insert_with(empty_chunk)[i % CHUNK] = Some(node);
                return None;
            }
        };
        if entry.as_ref().is_some_and(|chunk| chunk.iter().all(Option::is_none)) {
            *entry = None;
        }
        old
    }

    /// Grows with blank slots or drops the slots from `len` on.
    pub(crate) fn resize(&mut self, len: usize) {
        for i in len..self.len.min(self.chunks.len() * CHUNK) {
            self.replace(i, None);
        }
        self.len = len;
        let chunks = len.div_ceil(CHUNK);
        if chunks > self.chunks.len() {
            self.chunks.reserve_exact(chunks - self.chunks.len());
        }
        self.chunks.resize_with(chunks, || None);
        self.chunks.shrink_to(chunks);
    }

    /// Every slot in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Option<&T>> + '_ {
        (0..self.len).map(|i| self.get(i))
    }

    /// The nodes present, in slot order.
    pub(crate) fn nodes(&self) -> impl Iterator<Item = &T> + '_ {
        self.chunks.iter().flatten().flat_map(|chunk| chunk.iter().flatten().map(|node| &**node))
    }

    /// Heap bytes of the slots themselves (not of the nodes' boxes).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Option<Chunk<T>>>()
            + self.chunks.iter().flatten().count() * std::mem::size_of::<[Option<Box<T>>; CHUNK]>()
    }
}

impl<T: Sync> Slots<T> {
    /// Every slot in order, in parallel.
    pub(crate) fn par_iter(&self) -> impl IndexedParallelIterator<Item = Option<&T>> + '_ {
        (0..self.len).into_par_iter().map(|i| self.get(i))
    }
}

fn empty_chunk<T>() -> Chunk<T> {
    Box::new(std::array::from_fn(|_| None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_check(slots: &Slots<u32>, model: &[Option<u32>]) {
        assert_eq!(slots.len(), model.len());
        let seen: Vec<Option<u32>> = slots.iter().map(|v| v.copied()).collect();
        assert_eq!(seen, model);
        let present: Vec<u32> = model.iter().flatten().copied().collect();
        assert_eq!(slots.nodes().copied().collect::<Vec<_>>(), present);
        let parallel: Vec<Option<u32>> = slots.par_iter().map(|v| v.copied()).collect();
        assert_eq!(parallel, model);
        // A chunk is allocated exactly when it holds a node.
        let held = (0..model.len().div_ceil(CHUNK))
            .filter(|c| model[c * CHUNK..model.len().min((c + 1) * CHUNK)].iter().any(Option::is_some))
            .count();
        assert_eq!(slots.chunks.iter().flatten().count(), held);
    }

    #[test]
    fn follows_a_vector() {
        let mut model: Vec<Option<u32>> = (0..300).map(|i| (i % 7 == 0 && i < 100).then_some(i)).collect();
        let mut slots = Slots::from_vec(model.iter().map(|v| v.map(Box::new)).collect());
        model_check(&slots, &model);
        // A pseudo-random walk of replacements, growths and truncations.
        let mut x = 12345u32;
        for step in 0..2000u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let r = (x >> 8) as usize;
            if step.is_multiple_of(97) {
                let len = r % 600;
                slots.resize(len);
                model.resize(len, None);
            } else if !model.is_empty() {
                let i = r % (model.len() + 5);
                let value = (!r.is_multiple_of(3)).then_some(x);
                let old = slots.replace(i, value.map(Box::new)).map(|b| *b);
                if i < model.len() {
                    assert_eq!(old, std::mem::replace(&mut model[i], value));
                } else {
                    assert_eq!(old, None);
                }
            }
            model_check(&slots, &model);
        }
    }

    #[test]
    fn blank_runs_cost_no_chunks() {
        let mut nodes: Vec<Option<Box<u32>>> = (0..16_384).map(|_| None).collect();
        nodes[1] = Some(Box::new(1));
        nodes[16_383] = Some(Box::new(2));
        let slots = Slots::from_vec(nodes);
        assert_eq!(slots.chunks.iter().flatten().count(), 2);
        assert_eq!(slots.heap_bytes(), 256 * 8 + 2 * 64 * 8);
    }
}

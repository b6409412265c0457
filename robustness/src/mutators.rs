//! Deterministic mutators over bytes and over ratchet trees.
//!
//! Byte mutators know nothing of the format: flips, truncations, length
//! inflation (the varint length prefixes of RFC 9420 §2.1.2, found by
//! scanning), splicing of two genuine inputs, and havoc (a few random edits
//! at once). Tree edits work on the decoded node list. Insider mutants,
//! which need a member's keys, are in [`crate::insider`].
//!
//! Everything is seeded: the same genuine bytes and seed give the same
//! mutants, in the same order.

use throng::messages::{Node, RatchetTreeExtension};

/// xorshift64*: small, fast, deterministic.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value; zero is remapped).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (`n > 0`; 0 when `n == 0`).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as usize }
    }

    /// A non-zero byte.
    pub fn mask(&mut self) -> u8 {
        1 + self.below(255) as u8
    }
}

/// What a mutant may do to the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// It must be refused with a typed error.
    Reject,
    /// It may also be accepted, for the stated reason.
    MayAccept(&'static str),
}

/// One mutated input.
#[derive(Clone, Debug)]
pub struct Mutant {
    /// The mutator (`flip`, `truncate`, `inflate`, `splice`, `havoc`,
    /// `tree:...`, `insider:...`).
    pub mutator: String,
    /// Which mutation exactly (position, value), for a reproduction.
    pub detail: String,
    /// The input.
    pub bytes: Vec<u8>,
    /// Whether a member (or joiner) may accept it.
    pub expect: Expect,
    /// Whether a server (a `Registry`, which cannot check the confirmation
    /// tag) may accept it.
    pub expect_server: Expect,
}

impl Mutant {
    /// A mutant that must be rejected.
    pub fn reject(mutator: impl Into<String>, detail: impl Into<String>, bytes: Vec<u8>) -> Self {
        Self {
            mutator: mutator.into(),
            detail: detail.into(),
            bytes,
            expect: Expect::Reject,
            expect_server: Expect::Reject,
        }
    }

    /// A mutant with the given expectations.
    pub fn new(mutator: impl Into<String>, bytes: Vec<u8>, expect: Expect, expect_server: Expect) -> Self {
        Self { mutator: mutator.into(), detail: String::new(), bytes, expect, expect_server }
    }
}

/// How many mutants of each kind to make from one genuine input.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Byte flips: every byte of inputs up to this length, else this many
    /// sampled positions.
    pub flips: usize,
    /// Truncations: every length up to this many, else sampled.
    pub truncations: usize,
    /// Length-prefix inflations (each candidate prefix gives up to four).
    pub inflations: usize,
    /// Splices with the other genuine inputs.
    pub splices: usize,
    /// Havoc mutants (two to six random edits each).
    pub havoc: usize,
}

impl Budget {
    /// Scales every count (`ROBUSTNESS_SCALE` in the suite).
    pub fn scaled(self, scale: f64) -> Self {
        let s = |n: usize| ((n as f64 * scale).round() as usize).max(1);
        Self {
            flips: s(self.flips),
            truncations: s(self.truncations),
            inflations: s(self.inflations),
            splices: s(self.splices),
            havoc: s(self.havoc),
        }
    }
}

/// Sample positions: all of `0..len` when `len <= budget`, else `budget`
/// distinct-ish random ones, always including both ends.
fn positions(len: usize, budget: usize, rng: &mut Rng) -> Vec<usize> {
    if len <= budget {
        return (0..len).collect();
    }
    let mut out: Vec<usize> = (0..budget.saturating_sub(2)).map(|_| rng.below(len)).collect();
    out.push(0);
    out.push(len - 1);
    out.sort_unstable();
    out.dedup();
    out
}

/// An MLS varint (§2.1.2) at `at`: (value, width).
pub fn varint_at(bytes: &[u8], at: usize) -> Option<(u64, usize)> {
    let first = *bytes.get(at)?;
    let width = match first >> 6 {
        0 => 1,
        1 => 2,
        2 => 4,
        _ => return None,
    };
    let raw = bytes.get(at..at + width)?;
    let mut v = u64::from(first & 0x3f);
    for b in &raw[1..] {
        v = (v << 8) | u64::from(*b);
    }
    Some((v, width))
}

fn encode_varint(value: u64, width: usize) -> Option<Vec<u8>> {
    let (max, tag) = match width {
        1 => (0x3f, 0x00),
        2 => (0x3fff, 0x40),
        4 => (0x3fff_ffff, 0x80),
        _ => return None,
    };
    if value > max {
        return None;
    }
    let be = value.to_be_bytes();
    let mut out = be[8 - width..].to_vec();
    out[0] |= tag;
    Some(out)
}

/// Positions that look like varint length prefixes: a value `v > 0` whose
/// `v` bytes fit in what follows.
pub fn length_prefixes(bytes: &[u8]) -> Vec<(usize, u64, usize)> {
    (0..bytes.len())
        .filter_map(|at| {
            let (v, w) = varint_at(bytes, at)?;
            (v > 0 && at + w + v as usize <= bytes.len()).then_some((at, v, w))
        })
        .collect()
}

/// Every byte mutant of `genuine` within `budget`; `others` are genuine
/// inputs of the same kind to splice with. Mutants equal to `genuine` or
/// to one of `others` are dropped.
pub fn byte_mutants(genuine: &[u8], others: &[&[u8]], budget: &Budget, seed: u64) -> Vec<Mutant> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    let len = genuine.len();
    for at in positions(len, budget.flips, &mut rng) {
        let mut b = genuine.to_vec();
        let mask = rng.mask();
        b[at] ^= mask;
        out.push(Mutant::reject("flip", format!("byte {at} ^= {mask:#04x}"), b));
    }
    for cut in positions(len, budget.truncations, &mut rng) {
        out.push(Mutant::reject("truncate", format!("to {cut} of {len} bytes"), genuine[..cut].to_vec()));
    }
    let prefixes = length_prefixes(genuine);
    let per = 4;
    let picks = positions(prefixes.len(), budget.inflations.div_ceil(per), &mut rng);
    for i in picks {
        let (at, v, w) = prefixes[i];
        let max = [0x3f, 0x3fff, 0x3fff_ffff][w.trailing_zeros() as usize];
        let variants = [("inflate", v + 1), ("inflate", v.saturating_mul(2) + 1), ("inflate", max), ("deflate", v - 1)];
        for (name, nv) in variants {
            let (value, width) = if nv > max { (0x3fff_ffff, 4) } else { (nv, w) };
            let Some(enc) = encode_varint(value, width) else { continue };
            let mut b = genuine[..at].to_vec();
            b.extend_from_slice(&enc);
            b.extend_from_slice(&genuine[at + w..]);
            out.push(Mutant::reject(name, format!("length prefix at {at}: {v} -> {value} ({width} bytes)"), b));
        }
    }
    if !others.is_empty() {
        for k in 0..budget.splices {
            let other = others[rng.below(others.len())];
            let i = rng.below(len + 1);
            let j = rng.below(other.len() + 1);
            let mut b = genuine[..i].to_vec();
            let detail = if k % 2 == 0 {
                b.extend_from_slice(&other[j..]);
                format!("genuine[..{i}] + other[{j}..]")
            } else {
                let n = rng.below(other.len() - j + 1).min(64);
                b.extend_from_slice(&other[j..j + n]);
                b.extend_from_slice(&genuine[i..]);
                format!("other[{j}..{}] inserted at {i}", j + n)
            };
            out.push(Mutant::reject("splice", detail, b));
        }
    }
    for k in 0..budget.havoc {
        let mut b = genuine.to_vec();
        let ops = 2 + rng.below(5);
        for _ in 0..ops {
            if b.is_empty() {
                b.push(rng.mask());
                continue;
            }
            let at = rng.below(b.len());
            match rng.below(6) {
                0 => b[at] ^= rng.mask(),
                1 => b[at] = 0,
                2 => b[at] = 0xff,
                3 => b.insert(at, rng.mask()),
                4 => {
                    b.remove(at);
                }
                _ => {
                    let n = rng.below(16).min(b.len() - at);
                    let chunk = b[at..at + n].to_vec();
                    let to = rng.below(b.len());
                    b.splice(to..to, chunk);
                }
            }
        }
        out.push(Mutant::reject("havoc", format!("havoc #{k} ({ops} edits)"), b));
    }
    // A splice can rebuild another genuine input exactly.
    out.retain(|m| m.bytes != genuine && !others.contains(&m.bytes.as_slice()));
    out
}

/// A structure-aware edit of a ratchet tree's node list.
#[derive(Clone, Debug)]
pub struct TreeEdit {
    /// Its name (`tree:count-1`, `tree:blank-run-100k`, ...).
    pub name: String,
    /// Whether the edited tree may validate.
    pub expect: crate::mutators::Expect,
    /// The edited tree.
    pub tree: RatchetTreeExtension,
}

/// The tree edits of the suite: node count changes, blank runs (up to
/// 100,000 nodes), swapped and duplicated leaves, replaced and blanked
/// parents, and oversized or broken parent fields.
pub fn tree_edits(tree: &RatchetTreeExtension) -> Vec<TreeEdit> {
    let nodes = &tree.0;
    let mut out = Vec::new();
    let mut add = |name: &str, nodes: Vec<Option<Node>>| {
        let expect = if name == "blank-all-parents" {
            Expect::MayAccept(
                "with every parent blank no parent hash is left to check (§7.9.2 checks non-blank parents)",
            )
        } else {
            Expect::Reject
        };
        out.push(TreeEdit { name: format!("tree:{name}"), tree: RatchetTreeExtension(nodes), expect });
    };
    let leaves: Vec<usize> = (0..nodes.len()).step_by(2).filter(|&i| nodes[i].is_some()).collect();
    let parents: Vec<usize> = (1..nodes.len()).step_by(2).filter(|&i| nodes[i].is_some()).collect();
    let last_leaf = leaves.last().and_then(|&i| nodes[i].clone());
    let a_parent = parents.first().and_then(|&i| nodes[i].clone());

    for k in 1..=2 {
        add(&format!("count-{k}"), nodes[..nodes.len().saturating_sub(k)].to_vec());
        let mut more = nodes.clone();
        more.extend(std::iter::repeat_n(None, k));
        add(&format!("count+{k}-blank"), more);
    }
    let mut more = nodes.clone();
    more.push(a_parent.clone());
    more.push(last_leaf.clone());
    add("count+2-parent-leaf", more);
    add("empty", Vec::new());
    add("single-blank", vec![None]);
    add("single-parent", vec![a_parent.clone()]);
    for (name, run) in [("blank-run-1k", 1_000usize), ("blank-run-100k", 100_000)] {
        let mut tail = nodes.clone();
        tail.extend(std::iter::repeat_n(None, run));
        add(&format!("{name}-trailing"), tail.clone());
        tail.push(last_leaf.clone());
        add(&format!("{name}-then-leaf"), tail);
        let mut middle = nodes.clone();
        let mid = nodes.len() / 2;
        middle.splice(mid..mid, std::iter::repeat_n(None, run));
        add(&format!("{name}-middle"), middle);
    }
    // A full tree of 2^17 leaves whose last node is the genuine last leaf.
    let mut wide = nodes.clone();
    wide.resize((1 << 18) - 2, None);
    wide.push(last_leaf.clone());
    add("full-2^17-leaves", wide);
    if leaves.len() >= 2 {
        let (a, b) = (leaves[0], leaves[leaves.len() - 1]);
        let mut swapped = nodes.clone();
        swapped.swap(a, b);
        add("swap-first-last-leaf", swapped);
        let mut swapped = nodes.clone();
        swapped.swap(leaves[1], leaves[2.min(leaves.len() - 1)]);
        add("swap-leaves-1-2", swapped);
        let mut dup = nodes.clone();
        dup[leaves[1]] = nodes[leaves[0]].clone();
        add("duplicate-leaf", dup);
        let mut blanked = nodes.clone();
        blanked[leaves[1]] = None;
        add("blank-a-leaf", blanked);
        // A leaf into the blank slot (the fixture's removed leaf).
        if let Some(slot) = (0..nodes.len()).step_by(2).find(|&i| nodes[i].is_none()) {
            let mut filled = nodes.clone();
            filled[slot] = nodes[leaves[1]].clone();
            add("leaf-into-blank-slot", filled);
        }
        let mut leaf_as_parent = nodes.clone();
        if let Some(&p) = parents.first() {
            leaf_as_parent[p] = nodes[leaves[0]].clone();
            add("leaf-in-parent-slot", leaf_as_parent);
        }
    }
    if let (Some(&p), Some(&l)) = (parents.first(), leaves.first()) {
        let mut parent_as_leaf = nodes.clone();
        parent_as_leaf[l] = nodes[p].clone();
        add("parent-in-leaf-slot", parent_as_leaf);
    }
    if parents.len() >= 2 {
        let mut replaced = nodes.clone();
        replaced[parents[0]] = nodes[parents[1]].clone();
        add("replace-parent", replaced);
        let mut swapped = nodes.clone();
        swapped.swap(parents[0], parents[1]);
        add("swap-parents", swapped);
    }
    if let Some(&p) = parents.first() {
        let mut blanked = nodes.clone();
        blanked[p] = None;
        add("blank-a-parent", blanked);
        let mut all = nodes.clone();
        for &q in &parents {
            all[q] = None;
        }
        add("blank-all-parents", all);
        let edit = |f: &dyn Fn(&mut throng::messages::ParentNode)| {
            let mut t = nodes.clone();
            if let Some(Node::Parent(pn)) = &mut t[p] {
                f(pn);
            }
            t
        };
        add("parent-hash-garbage", edit(&|pn| pn.parent_hash = vec![0xa5; 32]));
        add("parent-hash-empty", edit(&|pn| pn.parent_hash.clear()));
        add(
            "unmerged-out-of-range",
            edit(&|pn| pn.unmerged_leaves.push(throng::internals::tree_math::LeafIndex(u32::MAX))),
        );
        add(
            "unmerged-10k",
            edit(&|pn| pn.unmerged_leaves.extend((0..10_000).map(throng::internals::tree_math::LeafIndex))),
        );
        add(
            "unmerged-unsorted",
            edit(&|pn| {
                pn.unmerged_leaves
                    .extend([throng::internals::tree_math::LeafIndex(3), throng::internals::tree_math::LeafIndex(1)])
            }),
        );
        if let Some(Node::Leaf(leaf)) = leaves.first().and_then(|&l| nodes[l].as_ref()) {
            let key = throng::crypto::HpkePublicKey::from(leaf.encryption_key());
            add("parent-key-is-leaf-key", edit(&|pn| pn.encryption_key = key.clone()));
        }
        add("parent-key-empty", edit(&|pn| pn.encryption_key.0 = Box::default()));
    }
    out
}

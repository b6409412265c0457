//! Where a member's state bytes go, by structure (issue 16).
//!
//! ```text
//! cargo run --release -p throng-benches --example state_breakdown -- 10000
//! ```
//!
//! Builds a group of n (the `compare` way: tree out of band, PublicMessage
//! handshakes), then measures with a counting allocator over mimalloc (the
//! same as `compare`'s `state_bytes`: bytes requested and not freed,
//! allocator overhead excluded):
//!
//! * the member state: heap retained across C's `join`;
//! * the ratchet tree: heap of a deep copy (`Group::unshare_tree` on a clone);
//! * its leaf nodes and parent nodes: heap of boxed copies of every node
//!   (capabilities are an `Arc` shared per distinct value, so copies share
//!   them too), and the slots that hold them (`RatchetTree::slot_bytes`);
//! * the tree-hash cache: `Nh` bytes per node from level 2 up, and the
//!   root's (`tree/hash.rs`, as the tree reports it);
//! * the rest of the tree (the key and credential index, occupancy bits):
//!   the tree minus the above;
//! * the rest of the state (epoch secrets, the secret tree, this member's
//!   path keys, context, transcript): the state minus the tree.

// A measuring tool that cannot set up must stop, not carry on.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use cap::Cap;
use mimalloc::MiMalloc;
use throng::LeafIndex;
use throng::TreeView as _;
use throng::internals::tree_math::NodeIndex;
use throng_benches::peer::Peer;
use throng_benches::peers::throng::Throng;

#[global_allocator]
static HEAP: Cap<MiMalloc> = Cap::new(MiMalloc, usize::MAX);

fn heap() -> usize {
    HEAP.allocated()
}

fn mb(bytes: usize) -> String {
    format!("{:.3} MB", bytes as f64 / 1e6)
}

fn main() {
    let n: u32 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let mut peer = Throng::default();
    let (creator, _) = peer.client(0).expect("creator");
    let mut key_packages = Vec::new();
    let mut joiners = Vec::new();
    for leaf in 1..n {
        let (client, kp) = peer.client(leaf).expect("client");
        key_packages.push(kp);
        if leaf <= 2 {
            joiners.push(client);
        }
    }
    let (a, welcome) = peer.build(creator, &key_packages).expect("build");
    drop(key_packages);
    let tree_bytes = peer.ratchet_tree(&a).expect("tree");
    let c_client = joiners.remove(0);
    // An untimed join first pays one-time initialization, as in `compare`.
    let _b = peer.join(joiners.remove(0), &welcome, &tree_bytes).expect("join of B");

    let before = heap();
    let c = peer.join(c_client, &welcome, &tree_bytes).expect("join of C");
    let state = heap() - before;

    let mut copy = c.clone();
    let before = heap();
    copy.unshare_tree();
    let tree_heap = heap() - before;
    drop(copy);

    let tree = c.tree();
    let leaf_count = tree.leaf_count();
    // Copies of every node, boxed as the tree boxes them; the vector of
    // boxes itself (8 B each) is not counted.
    let before = heap();
    let leaves: Vec<Box<throng::messages::LeafNode>> =
        (0..leaf_count).filter_map(|i| tree.leaf(LeafIndex(i)).map(|l| Box::new(l.clone()))).collect();
    let leaves_heap = heap() - before - 8 * leaves.capacity();
    let filled_leaves = leaves.len();
    drop(leaves);

    let before = heap();
    let parents: Vec<Box<throng::messages::ParentNode>> = (0..leaf_count.saturating_sub(1))
        .filter_map(|i| tree.parent_node(NodeIndex(2 * i + 1)).map(|p| Box::new(p.clone())))
        .collect();
    let parents_heap = heap() - before - 8 * parents.capacity();
    let filled_parents = parents.len();
    drop(parents);

    let nodes = 2 * leaf_count as usize - 1;
    let hash_cache = tree.hash_cache_bytes();
    let (leaf_slots, parent_slots) = tree.slot_bytes();
    let index_rest = tree_heap.saturating_sub(leaves_heap + parents_heap + leaf_slots + parent_slots + hash_cache);
    let rest = state.saturating_sub(tree_heap);

    println!("## Member state at {n} members (width {leaf_count} leaves, {nodes} nodes)\n");
    println!("| structure | bytes | share | per member |");
    println!("|---|---:|---:|---:|");
    let row = |name: &str, bytes: usize| {
        println!(
            "| {name} | {} | {:.1} % | {:.0} B |",
            mb(bytes),
            100.0 * bytes as f64 / state as f64,
            bytes as f64 / f64::from(n)
        );
    };
    row(
        &format!(
            "{filled_leaves} leaf nodes: a Box of {} B each + its fields' heap (keys and signature in one, credential)",
            std::mem::size_of::<throng::messages::LeafNode>()
        ),
        leaves_heap,
    );
    row(&format!("leaf slots ({leaf_count}, in 64-slot chunks; blank chunks not allocated)"), leaf_slots);
    row(
        &format!(
            "{filled_parents} parent nodes: a Box of {} B each + its fields' heap",
            std::mem::size_of::<throng::messages::ParentNode>()
        ),
        parents_heap,
    );
    row(&format!("parent slots ({}, in 64-slot chunks)", leaf_count - 1), parent_slots);
    row(&format!("tree-hash cache (32 B x {} nodes at level 2 and up, + root)", hash_cache / 32 - 1), hash_cache);
    row("tree index (signature keys, encryption keys, credentials) and occupancy", index_rest);
    row("ratchet tree, total (deep copy)", tree_heap);
    row("rest: epoch secrets, secret tree, own path keys, context, transcript", rest);
    row("member state (state_bytes)", state);
    println!(
        "\nprivate_state_len (own path secrets x 96 B + cached proposals): {} B; encoded ratchet tree: {} B; \
         LeafNode {} B inline, ParentNode {} B inline",
        c.private_state_len(),
        tree_bytes.len(),
        std::mem::size_of::<throng::messages::LeafNode>(),
        std::mem::size_of::<throng::messages::ParentNode>()
    );
}

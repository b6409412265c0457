//! Bounds on everything a peer controls (docs/ARCHITECTURE.md, "Bad input
//! and faults"): each is checked before the work it protects, and breaking
//! one is [`Error::Limit`](crate::Error::Limit) naming the [`Limit`].
//!
//! RFC 9420 bounds almost nothing itself (vectors up to 2^30 - 1 bytes, up
//! to 2^32 leaves, §2.1.2 and §7.1). The defaults are sized for groups of
//! 100,000 members: a Welcome carrying the ratchet tree of such a group is
//! about 30 MB, a commit adding 10,000 members about 3 MB.

use std::fmt;

/// The limits a member ([`GroupConfig`](crate::GroupConfig)) or a server
/// ([`PublicGroupConfig`](crate::PublicGroupConfig)) enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest message in bytes, checked by [`Limits::decode`] before
    /// decoding, on a PrivateMessage's ciphertext before decryption and on a
    /// Welcome's encrypted GroupInfo before it is opened.
    pub max_message_bytes: usize,
    /// Most leaves a tree may have, after the adds of a commit too (§7.1:
    /// the protocol allows 2^32). A received tree may have at most
    /// `2 × max_leaves - 1` nodes.
    pub max_leaves: u32,
    /// Most extensions in one list (a LeafNode's, a KeyPackage's, a
    /// GroupContext's or a GroupInfo's; §13).
    pub max_extensions: usize,
    /// Largest extension data in bytes, except a GroupInfo's
    /// `ratchet_tree` (bounded by `max_leaves`).
    pub max_extension_bytes: usize,
    /// Most entries in one list of a LeafNode's capabilities (§7.2).
    pub max_capability_entries: usize,
    /// Most proposals one commit may carry, by value or by reference (§12.4).
    pub max_proposals_per_commit: usize,
    /// Most proposals cached for the next commit, all senders together (§12.1).
    pub max_cached_proposals: usize,
    /// Most proposals one sender may have cached (a member, an external
    /// sender, or all new-member proposals together).
    pub max_cached_proposals_per_sender: usize,
    /// Most PSKs one commit may inject (§8.4).
    pub max_psks_per_commit: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 64 << 20,
            max_leaves: 1 << 17,
            max_extensions: 64,
            max_extension_bytes: 64 << 10,
            max_capability_entries: 256,
            max_proposals_per_commit: 20_000,
            max_cached_proposals: 20_000,
            max_cached_proposals_per_sender: 10_000,
            max_psks_per_commit: 64,
        }
    }
}

impl Limits {
    /// Fails with [`LimitExceeded`] when `value` is over `max`.
    pub(crate) fn check(limit: Limit, value: usize, max: usize) -> Result<(), LimitExceeded> {
        if value > max { Err(LimitExceeded { limit, value: value as u64, max: max as u64 }) } else { Ok(()) }
    }

    /// Most nodes of a received tree.
    pub(crate) fn max_tree_nodes(&self) -> usize {
        (self.max_leaves as usize).saturating_mul(2).saturating_sub(1)
    }

    /// Decodes a value (an [`MlsMessage`](crate::messages::MlsMessage), most
    /// often) from a peer's bytes within these limits: the size first, then
    /// (as every decode does) the decoded memory as it grows.
    pub fn decode<T: crate::codec::Decode>(&self, bytes: &[u8]) -> Result<T, crate::Error> {
        Self::check(Limit::MessageBytes, bytes.len(), self.max_message_bytes)?;
        Ok(T::from_bytes(bytes)?)
    }
}

/// Which bound was exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// [`Limits::max_message_bytes`].
    MessageBytes,
    /// Decoded memory, [`AMPLIFICATION`](crate::internals::codec::AMPLIFICATION)
    /// times the input (a blank tree node is one byte on the wire and a few
    /// hundred in memory).
    DecodedBytes,
    /// [`Limits::max_leaves`].
    Leaves,
    /// Nodes of a received tree (`2 × max_leaves - 1`).
    TreeNodes,
    /// [`Limits::max_extensions`].
    Extensions,
    /// [`Limits::max_extension_bytes`].
    ExtensionBytes,
    /// [`Limits::max_capability_entries`].
    CapabilityEntries,
    /// [`Limits::max_proposals_per_commit`].
    ProposalsPerCommit,
    /// [`Limits::max_cached_proposals`].
    CachedProposals,
    /// [`Limits::max_cached_proposals_per_sender`].
    CachedProposalsPerSender,
    /// [`Limits::max_psks_per_commit`].
    PsksPerCommit,
    /// A counter the protocol itself bounds (an epoch at 2^64 - 1, §8).
    Counter,
    /// A vector we would encode is longer than 2^30 - 1 bytes (§2.1.2).
    EncodedVector,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MessageBytes => "message bytes",
            Self::DecodedBytes => "decoded bytes",
            Self::Leaves => "leaves",
            Self::TreeNodes => "tree nodes",
            Self::Extensions => "extensions in a list",
            Self::ExtensionBytes => "extension data bytes",
            Self::CapabilityEntries => "entries in a capabilities list",
            Self::ProposalsPerCommit => "proposals in a commit",
            Self::CachedProposals => "cached proposals",
            Self::CachedProposalsPerSender => "cached proposals of one sender",
            Self::PsksPerCommit => "PSKs in a commit",
            Self::Counter => "counter",
            Self::EncodedVector => "encoded vector bytes",
        })
    }
}

/// A bound was exceeded: which, by how much.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{limit}: {value} is over the limit of {max}")]
pub struct LimitExceeded {
    /// The bound.
    pub limit: Limit,
    /// What the input asked for (at least; counting may stop early).
    pub value: u64,
    /// The configured maximum.
    pub max: u64,
}

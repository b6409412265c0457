//! The key schedule (RFC 9420 §8): how each epoch's secrets come from the
//! previous epoch, the commit, the PSKs and the GroupContext.
//!
//! The epoch derivation of Figure 22 is a chain of states, each a type, so
//! that every way into an epoch is explicit:
//!
//! ```text
//! InitSecret ──(commit_secret, GroupContext)──▶ JoinerSecret      a member processing or creating a Commit
//!                                               JoinerSecret      a joiner, from GroupSecrets in a Welcome
//! JoinerSecret ──(psk_secret)──▶ IntermediateSecret ──▶ WelcomeSecret (GroupInfo key and nonce, §12.4.3.1)
//! IntermediateSecret ──(GroupContext)──▶ EpochSecrets               every Table 4 secret and the next InitSecret
//! epoch_secret (random) ──▶ EpochSecrets                            the creator of a group (§11)
//! ```
//!
//! An external joiner makes its `InitSecret` with the HPKE export of §8.3
//! ([`InitSecret::for_external_join`]); the members recover the same value
//! from the ExternalInit proposal ([`InitSecret::from_external_init`]).
//!
//! [`psk`] combines pre-shared keys into `psk_secret` (§8.4), [`transcript`]
//! holds the transcript hashes and the confirmation tag (§8.2, §6.1), and
//! [`EpochSecrets::export`] is `MLS-Exporter` (§8.5).

mod epoch;
mod external;
pub mod psk;
pub mod transcript;

pub use epoch::{
    CommitSecret, EpochDerivation, EpochSecrets, InitSecret, IntermediateSecret, JoinerSecret, WelcomeSecret,
    derive_epoch, mls_exporter,
};
pub use psk::{PskSecret, psk_secret};
pub use transcript::TranscriptHashes;

#[cfg(test)]
mod tests;

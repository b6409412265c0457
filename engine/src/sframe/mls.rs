//! SFrame keys from MLS (RFC 9605 §5.2): one base key per epoch from the
//! exporter, a KID per sender (and per context the sender picks) of the
//! layout `context | sender index | epoch`, keys derived lazily on a
//! sender's first frame, and earlier epochs kept for a bounded window.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::cipher::{SecretPrk, SframeKey};
use super::context::{ReceiveKey, SframeSender, check_len, check_window};
use super::header::Header;
use super::suite::SframeSuite;
use crate::error::{Error, SframeError};
use crate::tree::TreeView;
use crate::tree_math::LeafIndex;

/// The exporter label of the base key (RFC 9605 §5.2):
/// `base_key = MLS-Exporter("SFrame 1.0 Base Key", "", AEAD.Nk)`.
pub const EXPORTER_LABEL: &str = "SFrame 1.0 Base Key";

/// `(1 << bits) - 1`, for any `bits` up to 64.
const fn mask(bits: u8) -> u64 {
    if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 }
}

/// The KID of an MLS sender (RFC 9605 §5.2):
///
/// ```text
///   64-S-E bits   S bits   E bits
///  +-------------+--------+-------+
///  | Context ID  | Index  | Epoch |
///  +-------------+--------+-------+
/// ```
///
/// `KID = (context << (S + E)) + (sender_index << E) + (epoch % (1 << E))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KidLayout {
    epoch_bits: u8,
    sender_bits: u8,
}

/// A KID split into its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KidFields {
    /// The epoch's low E bits.
    pub epoch_bits: u64,
    /// The sender's leaf index.
    pub sender: u64,
    /// The context the sender chose.
    pub context: u64,
}

impl KidLayout {
    /// E epoch bits and S sender bits; E + S is at most 64 (the context
    /// gets what is left, possibly nothing).
    pub const fn new(epoch_bits: u8, sender_bits: u8) -> Result<Self, SframeError> {
        if epoch_bits as u16 + sender_bits as u16 > 64 {
            return Err(SframeError::KidLayout("E + S exceeds the 64 bits of a KID"));
        }
        Ok(Self { epoch_bits, sender_bits })
    }

    /// The smallest S with `leaf_count <= 1 << S` (RFC 9605 §5.2).
    pub const fn sender_bits_for(leaf_count: u32) -> u8 {
        if leaf_count <= 1 { 0 } else { (32 - (leaf_count - 1).leading_zeros()) as u8 }
    }

    /// E.
    pub const fn epoch_bits(&self) -> u8 {
        self.epoch_bits
    }

    /// S.
    pub const fn sender_bits(&self) -> u8 {
        self.sender_bits
    }

    /// `64 - S - E`: the bits left for the context.
    pub const fn context_bits(&self) -> u8 {
        64 - self.epoch_bits - self.sender_bits
    }

    /// The low E bits of `epoch`.
    pub const fn epoch_field(&self, epoch: u64) -> u64 {
        epoch & mask(self.epoch_bits)
    }

    /// The KID of `sender` in `epoch` with `context`; fails if the sender
    /// or the context does not fit its field.
    pub fn kid(&self, epoch: u64, sender: LeafIndex, context: u64) -> Result<u64, SframeError> {
        let sender = u64::from(sender.0);
        if sender > mask(self.sender_bits) {
            return Err(SframeError::KidLayout("the sender's leaf index does not fit in S bits"));
        }
        if context > mask(self.context_bits()) {
            return Err(SframeError::KidLayout("the context does not fit in 64 - S - E bits"));
        }
        let e = u32::from(self.epoch_bits);
        let s = e + u32::from(self.sender_bits);
        Ok(context.checked_shl(s).unwrap_or(0) | sender.checked_shl(e).unwrap_or(0) | self.epoch_field(epoch))
    }

    /// The fields of `kid`.
    pub fn split(&self, kid: u64) -> KidFields {
        let e = u32::from(self.epoch_bits);
        let s = e + u32::from(self.sender_bits);
        KidFields {
            epoch_bits: kid & mask(self.epoch_bits),
            sender: kid.checked_shr(e).unwrap_or(0) & mask(self.sender_bits),
            context: kid.checked_shr(s).unwrap_or(0),
        }
    }
}

/// How an [`MlsKeyRing`] keys and keeps SFrame.
#[derive(Debug, Clone)]
pub struct MlsKeyRingConfig {
    /// The SFrame cipher suite.
    pub suite: SframeSuite,
    /// The KID layout: E and S (RFC 9605 §5.2). Every member of the group
    /// must use the same.
    pub layout: KidLayout,
    /// How many epochs before the current one stay decryptable (0: only
    /// the current one). Less than 2^E: epochs with the same low E bits
    /// cannot be told apart, and the newer one replaces the older (§5.2).
    pub retained_epochs: u32,
    /// How long an epoch stays decryptable after the next one replaced it;
    /// `None`: only `retained_epochs` bounds it. When both are set, an
    /// epoch goes when either says so.
    pub retention_time: Option<Duration>,
    /// The replay window per KID, in counter values (a multiple of 64, up
    /// to [`super::MAX_REPLAY_WINDOW`]).
    pub replay_window: u32,
    /// The longest frame taken (header, ciphertext and tag), checked before
    /// anything else.
    pub max_frame_len: usize,
    /// The most receiving keys one epoch holds (senders times the contexts
    /// they use); a frame that would need another is refused.
    pub max_keys_per_epoch: usize,
}

impl Default for MlsKeyRingConfig {
    /// AES_128_GCM_SHA256_128; E = 4 and S = 16 (65,536 leaves; the KID of
    /// context 0 takes at most 3 header bytes); the current epoch and the
    /// 3 before it, each for at most 10 s after it was replaced (the order
    /// of what conferencing clients keep); a replay window of 128 frames;
    /// frames up to 16 MiB.
    fn default() -> Self {
        Self {
            suite: SframeSuite::AesGcm128Sha256,
            layout: KidLayout { epoch_bits: 4, sender_bits: 16 },
            retained_epochs: 3,
            retention_time: Some(Duration::from_secs(10)),
            replay_window: super::DEFAULT_REPLAY_WINDOW,
            max_frame_len: 16 << 20,
            max_keys_per_epoch: 1 << 16,
        }
    }
}

/// Who sent a decrypted frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSource {
    /// The sender's leaf.
    pub sender: LeafIndex,
    /// The MLS epoch of its key.
    pub epoch: u64,
    /// The context field of its KID.
    pub context: u64,
    /// The frame's header.
    pub header: Header,
}

/// A decrypted frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decrypted {
    /// Who sent it, in which epoch.
    pub source: FrameSource,
    /// The plaintext.
    pub plaintext: Vec<u8>,
}

/// One epoch's keys: the extracted base key and what was derived from it.
struct EpochKeys {
    epoch: u64,
    /// `HKDF-Extract("", base_key)` (§4.4.2), prepared: what every KID's
    /// key and salt expand from, so the base key itself need not be kept.
    sframe_secret: SecretPrk,
    /// When the next epoch replaced this one.
    retired_at: Option<Instant>,
    receive: HashMap<u64, ReceiveKey>,
    /// This member's sending keys, by context.
    send: HashMap<u64, SframeSender>,
}

/// Epochs that left the window, remembered (their numbers only) so that a
/// late frame of one is told apart from a frame of an unknown epoch.
const EXPIRED_MEMORY: usize = 64;

/// A member's SFrame keys, derived from its MLS group (RFC 9605 §5.2).
///
/// Give it every epoch's exporter output ([`MlsKeyRing::enter_epoch`], or
/// [`MlsKeyRing::enter_group_epoch`] with the group): entering an epoch
/// costs one HKDF-Extract whatever the group's size, and a sender's key is
/// derived on its first frame of the epoch. This member encrypts under the
/// current epoch; frames of the earlier epochs still held decrypt until
/// the window of [`MlsKeyRingConfig`] closes on them, and then their keys
/// are dropped (and zeroized).
pub struct MlsKeyRing {
    config: MlsKeyRingConfig,
    own_leaf: LeafIndex,
    /// Oldest first; the last is the current epoch.
    epochs: VecDeque<EpochKeys>,
    expired: VecDeque<u64>,
    /// When the oldest retained epoch's retention time ends, if one is set.
    next_expiry: Option<Instant>,
    derived: u64,
}

impl std::fmt::Debug for MlsKeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MlsKeyRing")
            .field("suite", &self.config.suite)
            .field("own_leaf", &self.own_leaf)
            .field("epochs", &self.epochs.iter().map(|e| e.epoch).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl MlsKeyRing {
    /// A ring for the member at `own_leaf`, with no epoch yet.
    pub fn new(config: MlsKeyRingConfig, own_leaf: LeafIndex) -> Result<Self, SframeError> {
        check_window(config.replay_window)?;
        if u64::from(config.retained_epochs) >= mask(config.layout.epoch_bits).saturating_add(1) {
            return Err(SframeError::KidLayout("retained epochs must be fewer than 2^E"));
        }
        config.layout.kid(0, own_leaf, 0)?;
        Ok(Self { config, own_leaf, epochs: VecDeque::new(), expired: VecDeque::new(), next_expiry: None, derived: 0 })
    }

    /// A ring for `group`'s own member, entered into its current epoch.
    pub fn for_group(config: MlsKeyRingConfig, group: &crate::Group) -> Result<Self, Error> {
        let mut ring = Self::new(config, group.own_leaf())?;
        ring.enter_group_epoch(group)?;
        Ok(ring)
    }

    /// Enters `group`'s current epoch: exports the base key
    /// (`MLS-Exporter("SFrame 1.0 Base Key", "", Nk)`, §5.2) and calls
    /// [`MlsKeyRing::enter_epoch`]. Does nothing if the ring is in that
    /// epoch already. Fails if the group has more leaves than S bits index.
    pub fn enter_group_epoch(&mut self, group: &crate::Group) -> Result<(), Error> {
        if self.current_epoch() == Some(group.epoch()) {
            return Ok(());
        }
        let leaves = group.tree().leaf_count();
        if KidLayout::sender_bits_for(leaves) > self.config.layout.sender_bits {
            return Err(SframeError::KidLayout("the group has more leaves than S bits can index").into());
        }
        let len = u16::try_from(self.config.suite.key_len())
            .map_err(|_| SframeError::InvalidArgument("exporter length beyond u16"))?;
        let base_key = group.export_secret(EXPORTER_LABEL, b"", len)?;
        self.enter_epoch(group.epoch(), base_key.as_bytes())?;
        Ok(())
    }

    /// Enters `epoch` with its base key, the exporter's output
    /// `MLS-Exporter("SFrame 1.0 Base Key", "", Nk)` (§5.2), now.
    pub fn enter_epoch(&mut self, epoch: u64, base_key: &[u8]) -> Result<(), SframeError> {
        self.enter_epoch_at(epoch, base_key, Instant::now())
    }

    /// [`MlsKeyRing::enter_epoch`] at the time `now` (the start of the
    /// previous epoch's retention time).
    pub fn enter_epoch_at(&mut self, epoch: u64, base_key: &[u8], now: Instant) -> Result<(), SframeError> {
        let suite = self.config.suite;
        if base_key.len() != suite.key_len() {
            return Err(SframeError::KeyLength { expected: suite.key_len(), got: base_key.len() });
        }
        if let Some(current) = self.current_epoch()
            && epoch <= current
        {
            return Err(SframeError::EpochNotNewer { current, given: epoch });
        }
        if let Some(previous) = self.epochs.back_mut() {
            previous.retired_at = Some(now);
            // This member sends only in the current epoch.
            previous.send.clear();
        }
        self.epochs.push_back(EpochKeys {
            epoch,
            sframe_secret: SecretPrk::extract(suite.hash(), base_key),
            retired_at: None,
            receive: HashMap::new(),
            send: HashMap::new(),
        });
        self.prune(now);
        Ok(())
    }

    /// Drops (and zeroizes) the epochs the window no longer covers at
    /// `now`. Decryption calls it itself once the earliest retention time
    /// has passed.
    pub fn prune(&mut self, now: Instant) {
        let Some(current) = self.current_epoch() else { return };
        let layout = self.config.layout;
        let (count, time) = (u64::from(self.config.retained_epochs), self.config.retention_time);
        let expired = &mut self.expired;
        self.epochs.retain(|keys| {
            let gone = keys.epoch != current
                && (current - keys.epoch > count
                    // §5.2: an epoch with the same low E bits as a newer
                    // one MUST go.
                    || layout.epoch_field(keys.epoch) == layout.epoch_field(current)
                    || matches!((keys.retired_at, time), (Some(at), Some(t)) if now.saturating_duration_since(at) > t));
            if gone {
                if expired.len() == EXPIRED_MEMORY {
                    expired.pop_front();
                }
                expired.push_back(keys.epoch);
            }
            !gone
        });
        self.next_expiry =
            time.and_then(|t| self.epochs.iter().filter_map(|k| k.retired_at).min().and_then(|at| at.checked_add(t)));
    }

    /// The current epoch, once one was entered.
    pub fn current_epoch(&self) -> Option<u64> {
        self.epochs.back().map(|e| e.epoch)
    }

    /// The epochs held, oldest first (the last is the current one).
    pub fn held_epochs(&self) -> impl Iterator<Item = u64> + '_ {
        self.epochs.iter().map(|e| e.epoch)
    }

    /// Keys derived since the ring was made, sending and receiving (a
    /// receiving key is counted when derived, whether or not its first
    /// frame then authenticated).
    pub fn derived_keys(&self) -> u64 {
        self.derived
    }

    /// Keys held now, over every epoch held.
    pub fn held_keys(&self) -> usize {
        self.epochs.iter().map(|e| e.receive.len() + e.send.len()).sum()
    }

    /// The configuration.
    pub fn config(&self) -> &MlsKeyRingConfig {
        &self.config
    }

    /// This member's KID for `context` in the current epoch.
    pub fn own_kid(&self, context: u64) -> Result<u64, SframeError> {
        let epoch = self.current_epoch().ok_or(SframeError::NoEpoch)?;
        self.config.layout.kid(epoch, self.own_leaf, context)
    }

    /// Encrypts a frame of this member (context 0) under the current epoch.
    pub fn encrypt(&mut self, frame: &[u8], metadata: &[u8]) -> Result<Vec<u8>, SframeError> {
        let mut out = Vec::new();
        self.encrypt_into(0, frame, metadata, &mut out)?;
        Ok(out)
    }

    /// Encrypts a frame of this member with `context` (a separate KID, key
    /// and counter per context, for uncoordinated streams, §5.2) into
    /// `out`, cleared first; returns the counter used. Allocates only if
    /// `out` is too small, or for the context's first frame of the epoch.
    pub fn encrypt_into(
        &mut self,
        context: u64,
        frame: &[u8],
        metadata: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<u64, SframeError> {
        let suite = self.config.suite;
        let kid = self.own_kid(context)?;
        let keys = self.epochs.back_mut().ok_or(SframeError::NoEpoch)?;
        let sender = match keys.send.entry(context) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                self.derived += 1;
                e.insert(SframeSender::new(SframeKey::from_secret(suite, kid, &keys.sframe_secret)?))
            }
        };
        let plaintext_max = self.config.max_frame_len.saturating_sub(super::header::MAX_HEADER_LEN + suite.tag_len());
        check_len(frame.len(), plaintext_max)?;
        sender.encrypt_into(frame, metadata, out)
    }

    /// Decrypts a frame of another member; returns who sent it and the
    /// plaintext.
    pub fn decrypt(&mut self, frame: &[u8], metadata: &[u8]) -> Result<Decrypted, SframeError> {
        let mut plaintext = Vec::new();
        let source = self.decrypt_into(frame, metadata, &mut plaintext)?;
        Ok(Decrypted { source, plaintext })
    }

    /// Decrypts a frame of another member into `out` (cleared first).
    /// Allocates only if `out` is too small, or for a sender's first frame
    /// of an epoch.
    pub fn decrypt_into(
        &mut self,
        frame: &[u8],
        metadata: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<FrameSource, SframeError> {
        check_len(frame.len(), self.config.max_frame_len)?;
        let (header, header_len) = Header::decode(frame)?;
        self.with_receive_key(header, |key| key.open_into(&header, header_len, frame, metadata, out))
            .map(|((), source)| source)
    }

    /// Decrypts a frame of another member in place; returns who sent it
    /// and where in `frame` the plaintext now is. A frame that fails may
    /// be left partly overwritten.
    pub fn decrypt_in_place(
        &mut self,
        frame: &mut [u8],
        metadata: &[u8],
    ) -> Result<(FrameSource, std::ops::Range<usize>), SframeError> {
        check_len(frame.len(), self.config.max_frame_len)?;
        let (header, header_len) = Header::decode(frame)?;
        self.with_receive_key(header, |key| key.open_in_place(&header, header_len, frame, metadata))
            .map(|(range, source)| (source, range))
    }

    /// Runs `open` with the receiving key of the frame's KID. The key is
    /// derived on the sender's first frame of the epoch, and kept only if
    /// that frame authenticates: forged KIDs cost a derivation each but
    /// leave nothing behind.
    fn with_receive_key<T>(
        &mut self,
        header: Header,
        open: impl FnOnce(&mut ReceiveKey) -> Result<T, SframeError>,
    ) -> Result<(T, FrameSource), SframeError> {
        let layout = self.config.layout;
        let fields = layout.split(header.kid);
        let sender = u32::try_from(fields.sender).map_err(|_| SframeError::UnknownKeyId(header.kid))?;
        if sender == self.own_leaf.0 {
            return Err(SframeError::OwnKeyId(header.kid));
        }
        if let Some(deadline) = self.next_expiry {
            let now = Instant::now();
            if now > deadline {
                self.prune(now);
            }
        }
        let Some(keys) = self.epochs.iter_mut().rev().find(|k| layout.epoch_field(k.epoch) == fields.epoch_bits) else {
            return Err(self.missing_epoch(fields.epoch_bits));
        };
        let source = FrameSource { sender: LeafIndex(sender), epoch: keys.epoch, context: fields.context, header };
        if let Some(key) = keys.receive.get_mut(&header.kid) {
            return open(key).map(|t| (t, source));
        }
        if keys.receive.len() >= self.config.max_keys_per_epoch {
            return Err(SframeError::TooManyKeys { max: self.config.max_keys_per_epoch });
        }
        let key = SframeKey::from_secret(self.config.suite, header.kid, &keys.sframe_secret)?;
        self.derived += 1;
        let mut key = ReceiveKey::new(key, self.config.replay_window);
        let t = open(&mut key)?;
        keys.receive.insert(header.kid, key);
        Ok((t, source))
    }

    /// The error for a KID whose epoch bits match no epoch held: the epoch
    /// it last named, if that one expired and no later epoch took its bits.
    fn missing_epoch(&self, epoch_bits: u64) -> SframeError {
        let layout = self.config.layout;
        let current = self.current_epoch().unwrap_or(0);
        let span = mask(layout.epoch_bits);
        self.expired
            .iter()
            .rev()
            .find(|&&e| layout.epoch_field(e) == epoch_bits && current - e <= span)
            .map_or(SframeError::UnknownEpoch { epoch_bits }, |&epoch| SframeError::EpochExpired { epoch })
    }
}

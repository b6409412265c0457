//! Keys in use: a sender's monotonic counter and a receiver's replay window
//! per KID (RFC 9605 §4.4.1, §7.5, §9.3).

use std::collections::HashMap;
use std::ops::Range;

use super::cipher::SframeKey;
use super::header::Header;
use crate::error::SframeError;

/// The default replay window: how far (in counter values) a frame may
/// arrive behind the newest one of its KID and still be accepted once.
pub const DEFAULT_REPLAY_WINDOW: u32 = 128;
/// The widest replay window.
pub const MAX_REPLAY_WINDOW: u32 = 4096;

/// The counters seen for one KID: the highest, and a bitmap of the
/// `window` below it, indexed by `ctr % window` (so advancing costs no
/// shifting, only clearing the slots the new counter skipped).
#[derive(Debug, Clone)]
pub(crate) struct ReplayWindow {
    highest: Option<u64>,
    bits: Box<[u64]>,
}

impl ReplayWindow {
    /// A window of `window` counters (a multiple of 64, checked by the
    /// caller's configuration).
    pub(crate) fn new(window: u32) -> Self {
        Self { highest: None, bits: vec![0u64; (window as usize).div_ceil(64).max(1)].into_boxed_slice() }
    }

    fn width(&self) -> u64 {
        self.bits.len() as u64 * 64
    }

    fn slot(&self, ctr: u64) -> (usize, u64) {
        let i = ctr % self.width();
        ((i / 64) as usize, 1u64 << (i % 64))
    }

    /// Whether a frame with `ctr` may be accepted. Checked before the
    /// frame is opened; [`ReplayWindow::accept`] records it only once it
    /// authenticated, so forged frames cannot move the window.
    pub(crate) fn check(&self, kid: u64, ctr: u64) -> Result<(), SframeError> {
        let Some(highest) = self.highest else { return Ok(()) };
        if ctr > highest {
            return Ok(());
        }
        if highest - ctr >= self.width() {
            return Err(SframeError::CounterTooOld { kid, ctr });
        }
        let (word, bit) = self.slot(ctr);
        if self.bits[word] & bit != 0 { Err(SframeError::Replayed { kid, ctr }) } else { Ok(()) }
    }

    /// Records `ctr` as seen (after [`ReplayWindow::check`] allowed it and
    /// the frame authenticated).
    pub(crate) fn accept(&mut self, ctr: u64) {
        match self.highest {
            Some(highest) if ctr <= highest => {}
            Some(highest) if ctr - highest < self.width() => {
                // Forget the counters the window slides past.
                let mut c = highest;
                while c < ctr - 1 {
                    c += 1;
                    let (word, bit) = self.slot(c);
                    self.bits[word] &= !bit;
                }
                let (word, bit) = self.slot(ctr);
                self.bits[word] &= !bit;
                self.highest = Some(ctr);
            }
            _ => {
                self.bits.fill(0);
                self.highest = Some(ctr);
            }
        }
        let (word, bit) = self.slot(ctr);
        self.bits[word] |= bit;
    }
}

/// A sending key with its counter (RFC 9605 §4.4.1: the next CTR, starting
/// at 0, incremented after each encryption). A counter value is never used
/// twice; when none is left, encryption fails with
/// [`SframeError::CounterExhausted`].
#[derive(Debug)]
pub struct SframeSender {
    key: SframeKey,
    next_ctr: Option<u64>,
}

impl SframeSender {
    /// A sender on `key`, starting at counter 0.
    pub fn new(key: SframeKey) -> Self {
        Self { key, next_ctr: Some(0) }
    }

    /// The key.
    pub fn key(&self) -> &SframeKey {
        &self.key
    }

    /// The counter the next frame gets, or `None` when exhausted.
    pub fn next_counter(&self) -> Option<u64> {
        self.next_ctr
    }

    /// Moves the counter forward to `ctr` (a sender resuming a key whose
    /// counter it stored). Never backward: that would reuse a nonce.
    pub fn advance_counter_to(&mut self, ctr: u64) -> Result<(), SframeError> {
        match self.next_ctr {
            Some(next) if ctr >= next => {
                self.next_ctr = Some(ctr);
                Ok(())
            }
            Some(_) => Err(SframeError::InvalidArgument("an SFrame counter only moves forward")),
            None => Err(SframeError::CounterExhausted { kid: self.key.kid() }),
        }
    }

    /// Encrypts a frame into `out` (cleared first) under the next counter.
    /// Allocates only if `out` is too small.
    pub fn encrypt_into(&mut self, plaintext: &[u8], metadata: &[u8], out: &mut Vec<u8>) -> Result<u64, SframeError> {
        let ctr = self.next_ctr.ok_or(SframeError::CounterExhausted { kid: self.key.kid() })?;
        self.key.seal_into(ctr, plaintext, metadata, out)?;
        self.next_ctr = ctr.checked_add(1);
        Ok(ctr)
    }

    /// Encrypts a frame under the next counter.
    pub fn encrypt(&mut self, plaintext: &[u8], metadata: &[u8]) -> Result<Vec<u8>, SframeError> {
        let mut out = Vec::new();
        self.encrypt_into(plaintext, metadata, &mut out)?;
        Ok(out)
    }
}

/// One receiving key and the counters seen under it.
#[derive(Debug)]
pub(crate) struct ReceiveKey {
    pub(crate) key: SframeKey,
    pub(crate) window: ReplayWindow,
}

impl ReceiveKey {
    pub(crate) fn new(key: SframeKey, window: u32) -> Self {
        Self { key, window: ReplayWindow::new(window) }
    }

    /// Opens a frame whose header was decoded, checking the window first
    /// and recording the counter only after the tag verified.
    pub(crate) fn open_into(
        &mut self,
        header: &Header,
        header_len: usize,
        frame: &[u8],
        metadata: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SframeError> {
        self.window.check(header.kid, header.ctr)?;
        self.key.open_into(header, header_len, frame, metadata, out)?;
        self.window.accept(header.ctr);
        Ok(())
    }

    pub(crate) fn open_in_place(
        &mut self,
        header: &Header,
        header_len: usize,
        frame: &mut [u8],
        metadata: &[u8],
    ) -> Result<Range<usize>, SframeError> {
        self.window.check(header.kid, header.ctr)?;
        let range = self.key.open_in_place(header, header_len, frame, metadata)?;
        self.window.accept(header.ctr);
        Ok(range)
    }
}

/// Decryption keys by KID, each with its replay window (RFC 9605 §4.4.1,
/// §4.4.4), for key management of the caller's own (the sender-keys scheme
/// of §5.1, or any other); [`super::MlsKeyRing`] keeps its own per epoch.
#[derive(Debug)]
pub struct SframeReceiver {
    keys: HashMap<u64, ReceiveKey>,
    window: u32,
    max_frame_len: usize,
}

impl SframeReceiver {
    /// A receiver with no keys, a replay window of `window` counters (a
    /// multiple of 64 up to [`MAX_REPLAY_WINDOW`]) and frames bounded to
    /// `max_frame_len` bytes.
    pub fn new(window: u32, max_frame_len: usize) -> Result<Self, SframeError> {
        check_window(window)?;
        Ok(Self { keys: HashMap::new(), window, max_frame_len })
    }

    /// Adds (or replaces, with a fresh window) the key of its KID.
    pub fn insert(&mut self, key: SframeKey) {
        self.keys.insert(key.kid(), ReceiveKey::new(key, self.window));
    }

    /// Removes (and zeroizes) the key of `kid`.
    pub fn remove(&mut self, kid: u64) -> bool {
        self.keys.remove(&kid).is_some()
    }

    /// Decrypts a frame into `out` (cleared first); returns its header.
    pub fn decrypt_into(&mut self, frame: &[u8], metadata: &[u8], out: &mut Vec<u8>) -> Result<Header, SframeError> {
        check_len(frame.len(), self.max_frame_len)?;
        let (header, header_len) = Header::decode(frame)?;
        let key = self.keys.get_mut(&header.kid).ok_or(SframeError::UnknownKeyId(header.kid))?;
        key.open_into(&header, header_len, frame, metadata, out)?;
        Ok(header)
    }

    /// Decrypts a frame in place; returns its header and where in `frame`
    /// the plaintext is.
    pub fn decrypt_in_place(
        &mut self,
        frame: &mut [u8],
        metadata: &[u8],
    ) -> Result<(Header, Range<usize>), SframeError> {
        check_len(frame.len(), self.max_frame_len)?;
        let (header, header_len) = Header::decode(frame)?;
        let key = self.keys.get_mut(&header.kid).ok_or(SframeError::UnknownKeyId(header.kid))?;
        let range = key.open_in_place(&header, header_len, frame, metadata)?;
        Ok((header, range))
    }

    /// Decrypts a frame; returns its header and the plaintext.
    pub fn decrypt(&mut self, frame: &[u8], metadata: &[u8]) -> Result<(Header, Vec<u8>), SframeError> {
        let mut out = Vec::new();
        let header = self.decrypt_into(frame, metadata, &mut out)?;
        Ok((header, out))
    }
}

pub(crate) fn check_window(window: u32) -> Result<(), SframeError> {
    if window == 0 || !window.is_multiple_of(64) || window > MAX_REPLAY_WINDOW {
        return Err(SframeError::InvalidArgument("the replay window is a multiple of 64, from 64 to 4096"));
    }
    Ok(())
}

pub(crate) fn check_len(len: usize, max: usize) -> Result<(), SframeError> {
    if len > max { Err(SframeError::FrameTooLong { len, max }) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_accepts_each_counter_once_and_slides() {
        let mut w = ReplayWindow::new(64);
        for ctr in [5u64, 3, 4, 70, 7] {
            assert_eq!(w.check(1, ctr), Ok(()), "ctr {ctr}");
            w.accept(ctr);
            assert_eq!(w.check(1, ctr), Err(SframeError::Replayed { kid: 1, ctr }));
        }
        // 70 - 64 = 6: counters 6 and below are behind the window now.
        assert_eq!(w.check(1, 6), Err(SframeError::CounterTooOld { kid: 1, ctr: 6 }));
        // 8..=69 were skipped, not seen: each is accepted once.
        for ctr in 8..70 {
            assert_eq!(w.check(1, ctr), Ok(()), "ctr {ctr}");
            w.accept(ctr);
        }
        for ctr in 7..=70 {
            assert!(w.check(1, ctr).is_err(), "ctr {ctr}");
        }
        // A jump further than the window clears it.
        w.accept(1000);
        assert_eq!(w.check(1, 999), Ok(()));
        assert_eq!(w.check(1, 937), Ok(()));
        assert_eq!(w.check(1, 936), Err(SframeError::CounterTooOld { kid: 1, ctr: 936 }));
        w.accept(u64::MAX);
        assert_eq!(w.check(1, u64::MAX), Err(SframeError::Replayed { kid: 1, ctr: u64::MAX }));
    }
}

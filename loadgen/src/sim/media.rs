//! Media over a churning meeting: active speakers send SFrame frames
//! (RFC 9605) keyed from their own MLS state (§5.2), every other full
//! member decrypts them with keys from its own MLS state, and the frames
//! still in flight when the epoch changes arrive after it.
//!
//! Each round stands for `epoch_interval_ms` of meeting time. A speaker
//! sends audio (`audio_fps` frames of `audio_bytes`) and video
//! (`video_fps` packets of `video_bytes`) for that interval; the frames of
//! its last `in_flight_ms` are delivered only after the round's commits
//! (one or more epochs later). Every receiver holds two key rings fed from
//! the same MLS exporter: one with the scenario's retention window, one
//! with none, and the late frames are tried with both, so the report shows
//! measured losses with and without retention, not a deduction.

use std::collections::HashMap;
use std::time::Instant;

use throng::internals::tree_math::LeafIndex;
use throng::sframe::{MlsKeyRing, MlsKeyRingConfig, SframeError};

use crate::metrics::{MediaCounters, MediaOp, Metrics};
use crate::scenario::Media;

/// One frame on the wire.
#[derive(Clone, Debug)]
struct Frame {
    sender: u32,
    epoch: u64,
    bytes: Vec<u8>,
    metadata: [u8; 12],
    video: bool,
}

/// A receiver's two rings: the scenario's retention, and none.
struct Rings {
    retaining: MlsKeyRing,
    current_only: MlsKeyRing,
    /// The first epoch this member had keys for: frames of earlier epochs
    /// were never meant for it.
    first_epoch: u64,
}

/// The media state of one group.
pub struct MediaSim {
    config: Media,
    rings: HashMap<u32, Rings>,
    in_flight: Vec<Frame>,
    /// Reused output buffer.
    scratch: Vec<u8>,
}

impl std::fmt::Debug for MediaSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaSim").field("rings", &self.rings.len()).field("in_flight", &self.in_flight.len()).finish()
    }
}

fn ring_config(config: &Media, retained_epochs: u32) -> MlsKeyRingConfig {
    MlsKeyRingConfig {
        retained_epochs,
        retention_time: config.retention_ms.map(std::time::Duration::from_millis),
        ..MlsKeyRingConfig::default()
    }
}

impl MediaSim {
    /// Media for one group as `config` describes.
    pub fn new(config: Media) -> Self {
        Self { config, rings: HashMap::new(), in_flight: Vec::new(), scratch: Vec::new() }
    }

    /// Brings every full member's rings to its group's epoch (creating
    /// rings for new full members, dropping those of members no longer
    /// full), timing each epoch entry: the exporter and one HKDF-Extract,
    /// whatever the group's size (sender keys are derived lazily).
    pub fn sync<'g>(&mut self, full: impl Iterator<Item = (u32, &'g throng::Group)>, metrics: &Metrics) {
        let mut seen = Vec::new();
        for (leaf, group) in full {
            seen.push(leaf);
            let entry = self.rings.get_mut(&leaf);
            if entry.as_ref().is_some_and(|r| r.retaining.current_epoch() == Some(group.epoch())) {
                continue;
            }
            let t = Instant::now();
            let result = match entry {
                Some(r) => r.retaining.enter_group_epoch(group).and_then(|()| r.current_only.enter_group_epoch(group)),
                None => MlsKeyRing::for_group(ring_config(&self.config, self.config.retained_epochs), group).and_then(
                    |retaining| {
                        let current_only = MlsKeyRing::for_group(ring_config(&self.config, 0), group)?;
                        self.rings.insert(leaf, Rings { retaining, current_only, first_epoch: group.epoch() });
                        Ok(())
                    },
                ),
            };
            // Two rings entered: half the time is one member's cost.
            metrics.media_record(MediaOp::EnterEpoch, t.elapsed() / 2);
            if let Err(e) = result {
                metrics.media_count(|c| c.errors += 1);
                metrics.error(format!("leaf {leaf}: SFrame keys: {e}"));
            }
        }
        self.rings.retain(|leaf, _| seen.contains(leaf));
    }

    /// One interval of media: the speakers (the first `speakers` full
    /// members by leaf) encrypt their frames; those sent before the last
    /// `in_flight_ms` are decrypted by every other full member now, the
    /// rest are kept for [`MediaSim::deliver_late`].
    pub fn send_interval(&mut self, round: u64, metrics: &Metrics) {
        let c = &self.config;
        let mut speakers: Vec<u32> = self.rings.keys().copied().collect();
        speakers.sort_unstable();
        speakers.truncate(c.speakers as usize);
        let interval = f64::from(c.epoch_interval_ms) / 1000.0;
        let late_from = 1.0 - f64::from(c.in_flight_ms) / f64::from(c.epoch_interval_ms.max(1));
        let streams = [(false, c.audio_fps, c.audio_bytes), (true, c.video_fps, c.video_bytes)];
        let mut on_time = Vec::new();
        for &speaker in &speakers {
            for (video, fps, size) in streams {
                let n = (f64::from(fps) * interval).round() as u32;
                for i in 0..n {
                    let Some(rings) = self.rings.get_mut(&speaker) else { continue };
                    let mut payload = vec![0u8; size as usize];
                    for (j, b) in payload.iter_mut().enumerate() {
                        *b = (j as u64 ^ round ^ u64::from(i)) as u8;
                    }
                    let mut metadata = [0u8; 12];
                    metadata[..4].copy_from_slice(&i.to_be_bytes());
                    metadata[4..8].copy_from_slice(&speaker.to_be_bytes());
                    metadata[8] = u8::from(video);
                    let t = Instant::now();
                    // Both rings send under the same current epoch with the
                    // same key: one encryption serves both.
                    let sealed = rings.retaining.encrypt(&payload, &metadata);
                    metrics
                        .media_record(if video { MediaOp::EncryptVideo } else { MediaOp::EncryptAudio }, t.elapsed());
                    let Some(epoch) = rings.retaining.current_epoch() else { continue };
                    match sealed {
                        Ok(bytes) => {
                            metrics.media_count(|m| m.frames_sent += 1);
                            let frame = Frame { sender: speaker, epoch, bytes, metadata, video };
                            if f64::from(i) >= late_from * f64::from(n) {
                                self.in_flight.push(frame);
                            } else {
                                on_time.push(frame);
                            }
                        }
                        Err(e) => {
                            metrics.media_count(|m| m.errors += 1);
                            metrics.error(format!("leaf {speaker}: SFrame encrypt: {e}"));
                        }
                    }
                }
            }
        }
        for frame in &on_time {
            self.deliver(frame, false, metrics);
        }
    }

    /// Delivers the frames held in flight, after the round's epoch
    /// changes (call [`MediaSim::sync`] first).
    pub fn deliver_late(&mut self, metrics: &Metrics) {
        let late = std::mem::take(&mut self.in_flight);
        for frame in &late {
            self.deliver(frame, true, metrics);
        }
    }

    fn deliver(&mut self, frame: &Frame, late: bool, metrics: &Metrics) {
        let mut counts = MediaCounters::default();
        for (&leaf, rings) in &mut self.rings {
            if leaf == frame.sender || rings.first_epoch > frame.epoch {
                continue;
            }
            let t = Instant::now();
            let result = rings.retaining.decrypt_into(&frame.bytes, &frame.metadata, &mut self.scratch);
            let elapsed = t.elapsed();
            match result {
                Ok(source) if source.sender == LeafIndex(frame.sender) && source.epoch == frame.epoch => {
                    counts.frames_decrypted += 1;
                    metrics
                        .media_record(if frame.video { MediaOp::DecryptVideo } else { MediaOp::DecryptAudio }, elapsed);
                }
                Ok(_) => counts.errors += 1,
                Err(e) => {
                    if is_key_change(&e) {
                        counts.frames_lost += 1;
                    } else {
                        counts.errors += 1;
                        metrics.error(format!("leaf {leaf}: SFrame decrypt: {e}"));
                    }
                }
            }
            if late {
                counts.frames_late += 1;
                if rings.retaining.current_epoch() != Some(frame.epoch) {
                    counts.frames_late_across_epochs += 1;
                }
                match rings.current_only.decrypt_into(&frame.bytes, &frame.metadata, &mut self.scratch) {
                    Ok(_) => {}
                    Err(e) if is_key_change(&e) => counts.frames_lost_without_retention += 1,
                    Err(e) => {
                        counts.errors += 1;
                        metrics.error(format!("leaf {leaf}: SFrame decrypt (no retention): {e}"));
                    }
                }
            }
        }
        metrics.media_count(|m| m.add(&counts));
    }

    /// Keys held by all receivers' retaining rings, and epochs held per
    /// ring (the largest).
    pub fn held(&self) -> (usize, usize) {
        let keys = self.rings.values().map(|r| r.retaining.held_keys()).sum();
        let epochs = self.rings.values().map(|r| r.retaining.held_epochs().count()).max().unwrap_or(0);
        (keys, epochs)
    }

    /// Sender keys derived so far by all retaining rings.
    pub fn derived_keys(&self) -> u64 {
        self.rings.values().map(|r| r.retaining.derived_keys()).sum()
    }
}

/// Whether a frame failed because its epoch's keys are gone (the loss
/// retention prevents), as opposed to a fault.
fn is_key_change(e: &SframeError) -> bool {
    matches!(e, SframeError::EpochExpired { .. } | SframeError::UnknownEpoch { .. })
}

//! SFrame (RFC 9605) frames per second: throng's `throng::sframe` beside the
//! `sframe` crate (2.1, its RustCrypto backend, the one with every RFC 9605
//! suite) in the same run, encrypt and decrypt, 100-byte (audio) and
//! 1,200-byte (video packet) frames, every suite; and the cost of a
//! sender's key (derived lazily, on its first frame of an epoch).
//!
//! Both sides encrypt into a buffer they reuse and decrypt one prepared
//! frame repeatedly with a key prepared once (the crate's `*_into` view
//! API; throng's `SframeSender::encrypt_into` and `SframeKey::open_into`,
//! header parsing included). `THRONG_SFRAME_SUITES=4,5` limits the suites.
//!
//! ```sh
//! cargo bench -p throng-benches --bench sframe
//! ```

// A bench that cannot set up or run its operation must stop, not carry on.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sframe::frame::{EncryptedFrameView, MediaFrameView, MonotonicCounter};
use sframe::key::{DecryptionKey, EncryptionKey};
use throng::LeafIndex;
use throng::sframe::{Header, KidLayout, MlsKeyRing, MlsKeyRingConfig, SframeKey, SframeSender, SframeSuite};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SIZES: [usize; 2] = [100, 1200];
/// A KID of a few bytes, as MLS senders have (§5.2).
const KID: u64 = 0x2a_51;

fn suites() -> Vec<SframeSuite> {
    match std::env::var("THRONG_SFRAME_SUITES") {
        Ok(list) => list.split(',').filter_map(|s| SframeSuite::from_id(s.trim().parse().ok()?).ok()).collect(),
        Err(_) => SframeSuite::ALL.to_vec(),
    }
}

/// The crate's suite, for the five both implement.
fn peer_suite(suite: SframeSuite) -> Option<sframe::CipherSuite> {
    Some(match suite {
        SframeSuite::AesCtr128HmacSha256_80 => sframe::CipherSuite::AesCtr128HmacSha256_80,
        SframeSuite::AesCtr128HmacSha256_64 => sframe::CipherSuite::AesCtr128HmacSha256_64,
        SframeSuite::AesCtr128HmacSha256_32 => sframe::CipherSuite::AesCtr128HmacSha256_32,
        SframeSuite::AesGcm128Sha256 => sframe::CipherSuite::AesGcm128Sha256,
        SframeSuite::AesGcm256Sha512 => sframe::CipherSuite::AesGcm256Sha512,
        _ => return None,
    })
}

fn base_key(suite: SframeSuite) -> Vec<u8> {
    (0..suite.key_len()).map(|i| i as u8 ^ 0x5c).collect()
}

fn frames(c: &mut Criterion) {
    for size in SIZES {
        let payload: Vec<u8> = (0..size).map(|i| (i * 13) as u8).collect();
        let mut enc = c.benchmark_group(format!("sframe-encrypt-{size}B"));
        enc.throughput(Throughput::Elements(1));
        for suite in suites() {
            let base = base_key(suite);
            let mut sender = SframeSender::new(SframeKey::derive(suite, KID, &base).expect("key"));
            let mut out = Vec::with_capacity(size + 64);
            enc.bench_function(BenchmarkId::new("throng", suite.name()), |b| {
                b.iter(|| {
                    sender.encrypt_into(black_box(&payload), b"", &mut out).expect("encrypt");
                    black_box(&out);
                })
            });
            if let Some(peer) = peer_suite(suite) {
                let key = EncryptionKey::derive_from(peer, KID, &base).expect("key");
                let mut counter = MonotonicCounter::new(u64::MAX);
                let mut buffer: Vec<u8> = Vec::with_capacity(size + 64);
                enc.bench_function(BenchmarkId::new("sframe-crate", suite.name()), |b| {
                    b.iter(|| {
                        let frame =
                            MediaFrameView::try_with_meta_data(&mut counter, black_box(&payload), b"").expect("ctr");
                        black_box(frame.encrypt_into(&key, &mut buffer).expect("encrypt"));
                    })
                });
            }
        }
        enc.finish();

        let mut dec = c.benchmark_group(format!("sframe-decrypt-{size}B"));
        dec.throughput(Throughput::Elements(1));
        for suite in suites() {
            let base = base_key(suite);
            let mut sender = SframeSender::new(SframeKey::derive(suite, KID, &base).expect("key"));
            sender.advance_counter_to(123_456).expect("counter");
            let frame = sender.encrypt(&payload, b"").expect("encrypt");
            let key = SframeKey::derive(suite, KID, &base).expect("key");
            let mut out = Vec::with_capacity(size);
            dec.bench_function(BenchmarkId::new("throng", suite.name()), |b| {
                b.iter(|| {
                    let (header, header_len) = Header::decode(black_box(&frame)).expect("header");
                    key.open_into(&header, header_len, &frame, b"", &mut out).expect("decrypt");
                    black_box(&out);
                })
            });
            if let Some(peer) = peer_suite(suite) {
                let key = DecryptionKey::derive_from(peer, KID, &base).expect("key");
                let mut buffer: Vec<u8> = Vec::with_capacity(size + 64);
                dec.bench_function(BenchmarkId::new("sframe-crate", suite.name()), |b| {
                    b.iter(|| {
                        let view = EncryptedFrameView::try_with_meta_data(black_box(&frame), b"").expect("header");
                        black_box(view.decrypt_into(&key, &mut buffer).expect("decrypt"));
                    })
                });
            }
        }
        dec.finish();
    }
}

/// A sender's key: HKDF-Extract, two HKDF-Expands and the AES (and HMAC)
/// key schedules. The ring does the extraction once per epoch
/// (`enter_epoch`, independent of the group's size) and the rest on a
/// sender's first frame of the epoch (`first frame of a new sender`,
/// which includes that frame's decryption).
fn derivation(c: &mut Criterion) {
    let mut g = c.benchmark_group("sframe-key");
    for suite in suites() {
        let base = base_key(suite);
        g.bench_function(BenchmarkId::new("throng derive", suite.name()), |b| {
            b.iter(|| black_box(SframeKey::derive(suite, black_box(KID), &base).expect("key")))
        });
        if let Some(peer) = peer_suite(suite) {
            g.bench_function(BenchmarkId::new("sframe-crate derive", suite.name()), |b| {
                b.iter(|| black_box(DecryptionKey::derive_from(peer, black_box(KID), &base).expect("key")))
            });
        }
        let config = MlsKeyRingConfig { suite, layout: KidLayout::new(4, 14).expect("layout"), ..Default::default() };
        let mut ring = MlsKeyRing::new(config.clone(), LeafIndex(0)).expect("ring");
        let mut epoch = 0u64;
        g.bench_function(BenchmarkId::new("ring enter_epoch (10,000 members)", suite.name()), |b| {
            b.iter(|| {
                epoch += 1;
                ring.enter_epoch(epoch, &base).expect("epoch");
            })
        });
        let mut sender = MlsKeyRing::new(config.clone(), LeafIndex(9_999)).expect("ring");
        sender.enter_epoch(1, &base).expect("epoch");
        let frame = sender.encrypt(&[0u8; 100], b"").expect("frame");
        g.bench_function(BenchmarkId::new("ring first frame of a new sender", suite.name()), |b| {
            b.iter_batched(
                || {
                    let mut r = MlsKeyRing::new(config.clone(), LeafIndex(0)).expect("ring");
                    r.enter_epoch(1, &base).expect("epoch");
                    r
                },
                |mut r| {
                    black_box(r.decrypt(&frame, b"").expect("decrypt"));
                    r
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn config() -> Criterion {
    // A few minutes in all on a shared 2-core machine.
    Criterion::default()
        .sample_size(40)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .noise_threshold(0.05)
}

criterion_group! { name = benches; config = config(); targets = frames, derivation }
criterion_main!(benches);

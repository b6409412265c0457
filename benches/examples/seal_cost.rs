//! One HPKE seal of a path secret: the crypto floor's (`floor/primitives.rs`)
//! against throng's provider (`hpke_seal_prepared`, the batch path of a
//! commit), alternately in one process on one thread, to check that the
//! floor's unit of a cold commit costs no more than throng's.
//!
//! ```text
//! cargo run --release -p throng-benches --example seal_cost -- 2000 7
//! ```

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Instant;

use throng::crypto::{AwsLcProvider, CipherSuite, CryptoProvider};
use throng_benches::floor::primitives::Keys;

fn main() {
    let count: u32 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let rounds: u32 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(7);
    let alg = CipherSuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519.algorithms().expect("suite 1");
    let provider = AwsLcProvider;
    let recipient = provider.hpke_generate_key_pair(&alg).expect("key pair");
    let info = provider.hpke_prepare_info(&alg, &[7u8; 200]);
    let keys = Keys::new();
    let secret = [1u8; 32];
    let (mut floor, mut throng) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..count {
            std::hint::black_box(keys.seal(std::hint::black_box(&secret)));
        }
        floor.push(start.elapsed().as_secs_f64() * 1e6 / f64::from(count));
        let start = Instant::now();
        for _ in 0..count {
            std::hint::black_box(
                provider.hpke_seal_prepared(&alg, &info, recipient.public.as_bytes(), &[], &secret).expect("seal"),
            );
        }
        throng.push(start.elapsed().as_secs_f64() * 1e6 / f64::from(count));
    }
    let show = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        format!(
            "min {:.2} µs, median {:.2} µs, all {:?}",
            v[0],
            v[v.len() / 2],
            v.iter().map(|x| (x * 100.0).round() / 100.0).collect::<Vec<_>>()
        )
    };
    println!("per seal, {count} seals x {rounds} rounds, alternating");
    println!("floor  (floor/primitives.rs): {}", show(&mut floor));
    println!("throng (hpke_seal_prepared):  {}", show(&mut throng));
}

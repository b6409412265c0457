//! Members of real groups for the store tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use throng::crypto::{AwsLcProvider, CipherSuite, CryptoProvider};
use throng::messages::content::{MlsMessage, MlsMessageBody};
use throng::messages::{Add, Proposal};
use throng::{CommitOptions, Group, GroupConfig, Identity, KeyPackageBundle, Processed, PskStore};

pub const CS: CipherSuite = CipherSuite(1);

pub fn provider() -> Arc<dyn CryptoProvider> {
    Arc::new(AwsLcProvider)
}

/// A group of `n` members created by member 0 (epoch 0 GroupInfo) and the
/// commit that added the others (to be sent to the DS, then delivered).
pub struct Setup {
    pub creator_info: throng::messages::GroupInfo,
    pub add_commit: MlsMessage,
    pub members: Vec<Group>,
}

pub fn setup(group_id: &[u8], n: usize) -> Setup {
    let p = provider();
    let mut alice =
        Group::create(CS, &Identity::basic(&*p, CS, "m0").unwrap(), group_id.to_vec(), vec![], GroupConfig::default())
            .unwrap();
    let creator_info = alice.group_info(true, false).unwrap();
    let bundles: Vec<KeyPackageBundle> = (1..n)
        .map(|i| KeyPackageBundle::generate(&*p, CS, &Identity::basic(&*p, CS, format!("m{i}")).unwrap()).unwrap())
        .collect();
    let adds = bundles.iter().map(|b| Proposal::Add(Add { key_package: b.key_package.clone() })).collect();
    let pending = alice.commit(CommitOptions::with_proposals(adds)).unwrap();
    let add_commit = pending.message.clone();
    let welcome = pending.welcome.clone();
    alice.merge_pending_commit(pending).unwrap();
    let mut members = vec![alice];
    if let Some(welcome) = welcome {
        let MlsMessageBody::Welcome(w) = welcome.body else { panic!("not a Welcome") };
        for b in &bundles {
            members.push(Group::join(p.clone(), GroupConfig::default(), &w, b, None, PskStore::default()).unwrap());
        }
    }
    Setup { creator_info, add_commit, members }
}

/// Every member but `except` processes and merges `commit`.
pub fn deliver(members: &mut [Group], except: Option<usize>, commit: &MlsMessage) {
    for (i, m) in members.iter_mut().enumerate() {
        if Some(i) == except {
            continue;
        }
        match m.process_message(commit.clone()).unwrap() {
            Processed::Commit(staged) => m.merge_staged_commit(*staged).unwrap(),
            other => panic!("expected a commit, got {other:?}"),
        }
    }
}

pub fn assert_same_authenticator(members: &[Group]) {
    let a = members[0].epoch_authenticator().to_vec();
    for m in members {
        assert_eq!(m.epoch(), members[0].epoch());
        assert_eq!(m.epoch_authenticator(), a.as_slice());
    }
}

/// A small deterministic generator (xorshift64*), seeded per test.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A seed from the clock, printed so that a failure can be replayed with
/// `THRONG_TEST_SEED`.
pub fn seed() -> u64 {
    let seed = std::env::var("THRONG_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    });
    eprintln!("seed {seed} (THRONG_TEST_SEED={seed} to replay)");
    seed
}

/// A unique group-id prefix per run, so tests can share one database.
pub fn run_id() -> String {
    format!("{:x}-{}", seed_of_time(), std::process::id())
}

fn seed_of_time() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

/// The PostgreSQL URL the tests run against, or a printed notice.
pub fn pg_url(test: &str) -> Option<String> {
    match std::env::var("THRONG_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            // Straight to the process's stderr: the test harness captures
            // `eprintln!`, and a skip must never pass silently.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr().lock(),
                "skipped: no THRONG_TEST_PG_URL ({test} needs PostgreSQL; .ci/run starts one)"
            );
            None
        }
    }
}

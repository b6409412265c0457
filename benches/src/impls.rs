//! The implementations the comparison knows, and the dispatch from a name to
//! a [`Peer`] adapter.

use serde::{Deserialize, Serialize};

use crate::metric::{Metric, Scenario, Unit};
use crate::peers::{mls_rs::MlsRs, openmls::OpenMls, throng::Throng};
use crate::scenario::{self, Config, Event};

/// One compared implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum)]
pub enum Impl {
    /// This repository's engine.
    #[serde(rename = "throng")]
    #[value(name = "throng")]
    Throng,
    /// mls-rs with the aws-lc crypto provider.
    #[serde(rename = "mls-rs")]
    #[value(name = "mls-rs")]
    MlsRs,
    /// OpenMLS with the RustCrypto provider.
    #[serde(rename = "openmls")]
    #[value(name = "openmls")]
    OpenMls,
    /// The primitives the RFC requires, straight from aws-lc-rs on one
    /// thread ([`crate::floor`]).
    #[serde(rename = "crypto-floor")]
    #[value(name = "crypto-floor")]
    CryptoFloor,
    /// This repository's engine with a [`throng::BasicAllowList`] identity
    /// validator (every member's identity on the list) instead of the
    /// default: what credential validation costs (issue 13). Named
    /// explicitly; not among the defaults.
    #[serde(rename = "throng-allowlist")]
    #[value(name = "throng-allowlist")]
    ThrongAllowList,
}

/// Versions of the compared crates, as locked in `Cargo.lock` (a test checks).
pub mod versions {
    /// `openmls` and its provider.
    pub const OPENMLS: &str = "openmls 0.9.2 + openmls_rust_crypto 0.6.0";
    /// `mls-rs` and its provider.
    pub const MLS_RS: &str = "mls-rs 0.57.0 + mls-rs-crypto-awslc 0.27.0";
    /// The floor's primitives.
    pub const AWS_LC_RS: &str = "aws-lc-rs 1.18.1";
    /// What the floor column is.
    pub const FLOOR: &str =
        "RFC-required primitives only (signatures, HKDF, HPKE, AEAD, hashes), one thread, aws-lc-rs 1.18.1";
}

impl Impl {
    /// Every implementation, in column order.
    pub const ALL: [Impl; 5] = [Impl::Throng, Impl::ThrongAllowList, Impl::MlsRs, Impl::OpenMls, Impl::CryptoFloor];

    /// The name in the output.
    pub fn name(self) -> &'static str {
        match self {
            Impl::Throng => "throng",
            Impl::MlsRs => "mls-rs",
            Impl::OpenMls => "openmls",
            Impl::CryptoFloor => "crypto-floor",
            Impl::ThrongAllowList => "throng-allowlist",
        }
    }

    /// What exactly is compared.
    pub fn version(self) -> &'static str {
        match self {
            Impl::Throng => concat!("throng ", env!("CARGO_PKG_VERSION")),
            Impl::MlsRs => versions::MLS_RS,
            Impl::OpenMls => versions::OPENMLS,
            Impl::CryptoFloor => versions::FLOOR,
            Impl::ThrongAllowList => concat!("throng ", env!("CARGO_PKG_VERSION"), " + BasicAllowList"),
        }
    }

    /// Whether an adapter exists.
    pub fn available(self) -> bool {
        true
    }

    /// Whether this implementation has a figure for `metric`: the floor has
    /// no sizes, and no floor is defined for the state; Partial MLS
    /// annotations are throng's alone, and their floor is zero primitives
    /// (every tree hash they need is cached, see `annotate_commit` in
    /// [`crate::scenario::DEFINITIONS`]), so it is not run.
    pub fn measures(self, metric: Metric) -> bool {
        if metric.throng_only() {
            return matches!(self, Impl::Throng | Impl::ThrongAllowList)
                || (self == Impl::CryptoFloor && metric.partial_floor());
        }
        self != Impl::CryptoFloor || (metric.unit() == Unit::Millis)
    }

    /// The implementations compared when none are named.
    pub fn defaults() -> Vec<Impl> {
        Impl::ALL.into_iter().filter(|i| i.available() && *i != Impl::ThrongAllowList).collect()
    }

    /// Runs `scenario` with this implementation's adapter (in a worker process).
    pub fn run(self, scenario: Scenario, config: &Config, emit: &mut dyn FnMut(Event)) {
        match self {
            Impl::MlsRs => scenario::run(&mut MlsRs::default(), scenario, config, emit),
            Impl::OpenMls => scenario::run(&mut OpenMls::default(), scenario, config, emit),
            Impl::Throng => scenario::run(&mut Throng::default(), scenario, config, emit),
            Impl::CryptoFloor => crate::floor::run(scenario, config, emit),
            Impl::ThrongAllowList => scenario::run(&mut Throng::with_allow_list(), scenario, config, emit),
        }
    }
}

impl std::fmt::Display for Impl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn locked(lock: &str, name: &str) -> String {
        let marker = format!("name = \"{name}\"\nversion = \"");
        let at = lock.find(&marker).unwrap() + marker.len();
        lock[at..].split('"').next().unwrap().to_string()
    }

    #[test]
    fn versions_match_the_lockfile() {
        let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).unwrap();
        for (constant, crates) in [
            (versions::OPENMLS, ["openmls", "openmls_rust_crypto"]),
            (versions::MLS_RS, ["mls-rs", "mls-rs-crypto-awslc"]),
        ] {
            let expected =
                format!("{} {} + {} {}", crates[0], locked(&lock, crates[0]), crates[1], locked(&lock, crates[1]));
            assert_eq!(constant, expected);
        }
        let aws_lc = format!("aws-lc-rs {}", locked(&lock, "aws-lc-rs"));
        assert_eq!(versions::AWS_LC_RS, aws_lc);
        assert!(versions::FLOOR.ends_with(&aws_lc));
    }
}

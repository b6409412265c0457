//! A delivery-service node over a store, driven line by line on stdin: the
//! helper process of the multi-node and crash tests (store/tests/nodes.rs),
//! and a way to poke at a store by hand.
//!
//! `throng-ds-node STORE_URL` (`postgres://…`, `sqlite:PATH`, `memory:`);
//! `THRONG_KEEP_EPOCHS` and `THRONG_SNAPSHOT_EVERY` override the
//! [`StoreOptions`]. Requests and answers, one line each, bytes in hex:
//!
//! ```text
//! create GROUP_INFO            -> ok | err MESSAGE
//! handle GROUP_ID MESSAGE      -> accepted EPOCH | lost CURRENT | wrong CURRENT GOT | invalid MESSAGE
//!                                 | store MESSAGE | unknown
//! state GROUP_ID               -> state EPOCH TREE_HASH CONFIRMED_TRANSCRIPT_HASH | unknown   (after a refresh)
//! log GROUP_ID                 -> entry SEQ EPOCH KIND MESSAGE ... then end | store MESSAGE
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test driver: a broken pipe ends it

use std::io::{BufRead, Write};
use std::sync::Arc;

use throng::crypto::AwsLcProvider;
use throng::messages::GroupInfo;
use throng::messages::content::MlsMessage;
use throng::store::StoreOptions;
use throng::{PublicGroupConfig, Registry, Rejected};

fn main() {
    let url = std::env::args().nth(1).expect("usage: throng-ds-node STORE_URL");
    let mut options = StoreOptions::default();
    if let Ok(v) = std::env::var("THRONG_KEEP_EPOCHS") {
        options.keep_epochs = v.parse().expect("THRONG_KEEP_EPOCHS is a number");
    }
    if let Ok(v) = std::env::var("THRONG_SNAPSHOT_EVERY") {
        options.snapshot_every = v.parse().expect("THRONG_SNAPSHOT_EVERY is a number");
    }
    let store = throng_store::open(&url).expect("open the store");
    let registry = Registry::with_store(Arc::new(AwsLcProvider), PublicGroupConfig::default(), store, options);
    let limits = throng::Limits::default();
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line.unwrap();
        let mut words = line.split_whitespace();
        let answer = match (words.next(), words.next(), words.next()) {
            (Some("create"), Some(gi), None) => {
                let gi: GroupInfo = limits.decode(&hex::decode(gi).unwrap()).unwrap();
                match registry.create_group(&gi, None) {
                    Ok(()) => "ok".to_string(),
                    Err(e) => format!("err {e}"),
                }
            }
            (Some("handle"), Some(gid), Some(msg)) => {
                let gid = hex::decode(gid).unwrap();
                let msg: MlsMessage = limits.decode(&hex::decode(msg).unwrap()).unwrap();
                match registry.handle(&gid, &msg) {
                    Ok(a) => format!("accepted {}", a.epoch),
                    Err(Rejected::LostRace { current }) => format!("lost {current}"),
                    Err(Rejected::WrongEpoch { current, got }) => format!("wrong {current} {got}"),
                    Err(Rejected::Invalid(e)) => format!("invalid {e}"),
                    Err(Rejected::Store(e)) => format!("store {e}"),
                    Err(Rejected::UnknownGroup) => "unknown".to_string(),
                }
            }
            (Some("state"), Some(gid), None) => {
                let gid = hex::decode(gid).unwrap();
                match registry.refresh(&gid) {
                    Err(e) => format!("store {e}"),
                    Ok(_) => registry
                        .with_group(&gid, |g| {
                            format!(
                                "state {} {} {}",
                                g.epoch(),
                                hex::encode(g.tree_hash()),
                                hex::encode(&g.context().confirmed_transcript_hash)
                            )
                        })
                        .unwrap_or_else(|| "unknown".to_string()),
                }
            }
            (Some("log"), Some(gid), None) => {
                let gid = hex::decode(gid).unwrap();
                match registry.store().entries_after(&gid, 0) {
                    Err(e) => format!("store {e}"),
                    Ok(entries) => {
                        let mut s = String::new();
                        for e in entries {
                            s.push_str(&format!(
                                "entry {} {} {:?} {}\n",
                                e.seq,
                                e.epoch,
                                e.kind,
                                hex::encode(&e.message)
                            ));
                        }
                        s.push_str("end");
                        s
                    }
                }
            }
            _ => format!("err unknown request {line:?}"),
        };
        writeln!(out, "{answer}").unwrap();
        out.flush().unwrap();
    }
}

//! PostgreSQL going down under a running registry: the connection to the
//! database goes through a proxy in the test that cuts every connection and
//! refuses new ones; a commit is then a typed store error, the registry's
//! state does not move, and once the database is reachable again the same
//! commit is accepted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use throng::store::{StoreError, StoreOptions};
use throng::{CommitOptions, PublicGroupConfig, Registry, Rejected};
use throng_store::{PgOptions, PgStore};

/// A TCP proxy to `upstream` that can be switched off.
struct Proxy {
    port: u16,
    down: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (d, o) = (down.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if d.load(Ordering::SeqCst) {
                    drop(client); // refused: closed at once
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else { continue };
                {
                    let mut o = o.lock().unwrap();
                    o.push(client.try_clone().unwrap());
                    o.push(server.try_clone().unwrap());
                }
                for (mut from, mut to) in [(client.try_clone().unwrap(), server.try_clone().unwrap()), (server, client)]
                {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16 * 1024];
                        while let Ok(n) = from.read(&mut buf) {
                            if n == 0 || to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        Self { port, down, open }
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
        if down {
            for s in self.open.lock().unwrap().drain(..) {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

/// `postgres://user@host:port/db` → (`user@`, `host:port`, `/db…`).
fn split_url(url: &str) -> (String, String, String) {
    let rest = url.split_once("://").map(|(_, r)| r).expect("a postgres:// URL");
    let (user, rest) = rest.split_once('@').map_or((String::new(), rest), |(u, r)| (format!("{u}@"), r));
    let (host, path) =
        rest.split_once('/').map_or((rest.to_string(), String::new()), |(h, p)| (h.to_string(), format!("/{p}")));
    let host = if host.contains(':') { host } else { format!("{host}:5432") };
    (user, host, path)
}

#[test]
fn postgres_going_down_is_a_typed_error_and_changes_nothing() {
    let Some(url) = pg_url("postgres_going_down_is_a_typed_error_and_changes_nothing") else { return };
    let (user, upstream, path) = split_url(&url);
    let proxy = Proxy::start(upstream);
    let proxied = format!("postgres://{user}127.0.0.1:{}{path}", proxy.port);
    let options = PgOptions { pool_size: 2, timeout: Duration::from_secs(3), ..PgOptions::default() };
    let store = Arc::new(PgStore::connect_with(&proxied, options).unwrap());
    let r = Registry::with_store(provider(), PublicGroupConfig::default(), store, StoreOptions::default());
    let gid = format!("pg-down-{}", run_id()).into_bytes();
    let mut s = setup(&gid, 2);
    r.create_group(&s.creator_info, None).unwrap();
    r.handle(&gid, &s.add_commit).unwrap();
    let before = r.with_group(&gid, |g| g.export().unwrap().to_vec()).unwrap();
    let epoch = r.epoch(&gid).unwrap();

    proxy.set_down(true);
    let pending = s.members[0].commit(CommitOptions::default()).unwrap();
    match r.handle(&gid, &pending.message) {
        Err(Rejected::Store(StoreError::Unavailable(e))) => eprintln!("database down: {e}"),
        other => panic!("expected a store error, got {other:?}"),
    }
    assert_eq!(r.epoch(&gid), Some(epoch));
    assert_eq!(r.with_group(&gid, |g| g.export().unwrap().to_vec()).unwrap(), before);
    assert!(r.evict(&gid));
    assert!(matches!(r.handle(&gid, &pending.message), Err(Rejected::Store(_))));

    proxy.set_down(false);
    // The pool drops the broken connections and opens new ones.
    let accepted = (0..20)
        .find_map(|_| match r.handle(&gid, &pending.message) {
            Ok(a) => Some(a),
            Err(Rejected::Store(_)) => {
                std::thread::sleep(Duration::from_millis(100));
                None
            }
            Err(e) => panic!("unexpected {e:?}"),
        })
        .expect("accepted once the database is back");
    assert_eq!(accepted.epoch, epoch + 1);
    let msg = pending.message.clone();
    s.members[0].merge_pending_commit(pending).unwrap();
    deliver(&mut s.members, Some(0), &msg);
    assert_eq!(r.with_group(&gid, |g| g.context().clone()).unwrap(), *s.members[1].context());
}

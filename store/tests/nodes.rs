//! DS nodes as processes (`throng-ds-node`) over a shared store: two nodes
//! racing commits get exactly one winner per epoch and a log without gaps;
//! a node killed with SIGKILL mid-commit loses nothing it acknowledged and
//! keeps nothing it was never sent. PostgreSQL runs when
//! `THRONG_TEST_PG_URL` is set (`.ci/run` starts one), SQLite always.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use common::*;
use throng::internals::codec::Encode;
use throng::messages::content::MlsMessage;
use throng::{CommitOptions, Group};

struct Node {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Node {
    fn start(url: &str, env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_throng-ds-node"));
        cmd.arg(url).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Self { child, stdin, stdout }
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn recv(&mut self) -> String {
        let mut s = String::new();
        self.stdout.read_line(&mut s).unwrap();
        assert!(!s.is_empty(), "the node closed its output");
        s.trim_end().to_string()
    }

    fn ask(&mut self, line: &str) -> String {
        self.send(line);
        self.recv()
    }

    fn create(&mut self, info: &throng::messages::GroupInfo) {
        assert_eq!(self.ask(&format!("create {}", hex::encode(info.to_bytes()))), "ok");
    }

    fn handle_line(gid: &[u8], msg: &MlsMessage) -> String {
        format!("handle {} {}", hex::encode(gid), hex::encode(msg.to_bytes()))
    }

    fn state(&mut self, gid: &[u8]) -> (u64, String) {
        let answer = self.ask(&format!("state {}", hex::encode(gid)));
        let words: Vec<&str> = answer.split(' ').collect();
        assert_eq!(words[0], "state", "{answer}");
        (words[1].parse().unwrap(), words[2].to_string())
    }

    /// (seq, epoch, kind, message) of every stored entry.
    fn log(&mut self, gid: &[u8]) -> Vec<(u64, u64, String, Vec<u8>)> {
        self.send(&format!("log {}", hex::encode(gid)));
        let mut out = Vec::new();
        loop {
            let line = self.recv();
            if line == "end" {
                return out;
            }
            let w: Vec<&str> = line.split(' ').collect();
            assert_eq!(w[0], "entry", "{line}");
            out.push((w[1].parse().unwrap(), w[2].parse().unwrap(), w[3].to_string(), hex::decode(w[4]).unwrap()));
        }
    }

    fn kill(mut self) {
        self.child.kill().unwrap(); // SIGKILL on Unix
        self.child.wait().unwrap();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two nodes race `epochs` epochs of one group: each epoch two members
/// commit at once, one through each node.
fn race(a: &mut Node, b: &mut Node, gid: &[u8], epochs: u64) -> Vec<Group> {
    let mut s = setup(gid, 3);
    a.create(&s.creator_info);
    assert_eq!(b.ask(&Node::handle_line(gid, &s.add_commit)), "accepted 1");
    let mut wins = [0u64; 2];
    for e in 1..=epochs {
        let i = (e as usize) % 3;
        let j = (i + 1) % 3;
        let ci = s.members[i].commit(CommitOptions::default()).unwrap();
        let cj = s.members[j].commit(CommitOptions::default()).unwrap();
        // Both requests are in flight before either answer is read.
        a.send(&Node::handle_line(gid, &ci.message));
        b.send(&Node::handle_line(gid, &cj.message));
        let (ra, rb) = (a.recv(), b.recv());
        let accepted = format!("accepted {}", e + 1);
        let lost = format!("lost {}", e + 1);
        let (winner, pending) = match (ra == accepted, rb == accepted) {
            (true, false) => {
                assert_eq!(rb, lost, "epoch {e}: the loser must be told LostRace");
                wins[0] += 1;
                (i, ci)
            }
            (false, true) => {
                assert_eq!(ra, lost, "epoch {e}: the loser must be told LostRace");
                wins[1] += 1;
                (j, cj)
            }
            _ => panic!("epoch {e}: exactly one winner expected, got {ra:?} and {rb:?}"),
        };
        let msg = pending.message.clone();
        s.members[winner].merge_pending_commit(pending).unwrap();
        deliver(&mut s.members, Some(winner), &msg);
    }
    if epochs > 100 {
        eprintln!("{} epochs: node a won {}, node b won {}", epochs, wins[0], wins[1]);
    }
    s.members
}

fn check_log(node: &mut Node, gid: &[u8], epochs: u64) {
    let log = node.log(gid);
    // The add, then one commit per epoch, at positions 1, 2, 3, … and
    // epochs 0, 1, 2, …: no gap, no duplicate.
    assert_eq!(log.len() as u64, epochs + 1);
    for (k, (seq, epoch, kind, _)) in log.iter().enumerate() {
        assert_eq!(*seq, k as u64 + 1);
        assert_eq!(*epoch, k as u64);
        assert_eq!(kind, "Commit");
    }
}

fn two_nodes_race(url: &str, groups: usize, epochs_one: u64, epochs_many: u64) {
    let env = [("THRONG_KEEP_EPOCHS", "18446744073709551615")];
    let mut a = Node::start(url, &env);
    let mut b = Node::start(url, &env);
    let run = run_id();
    let t = std::time::Instant::now();
    let gid = format!("race-{run}").into_bytes();
    let members = race(&mut a, &mut b, &gid, epochs_one);
    assert_same_authenticator(&members);
    for node in [&mut a, &mut b] {
        assert_eq!(node.state(&gid), (epochs_one + 1, hex::encode(members[0].tree().root_hash())));
    }
    check_log(&mut a, &gid, epochs_one);
    eprintln!("one group, {epochs_one} epochs: {:?}", t.elapsed());
    let t = std::time::Instant::now();
    for g in 0..groups {
        let gid = format!("race-{run}-{g}").into_bytes();
        let members = race(&mut a, &mut b, &gid, epochs_many);
        assert_same_authenticator(&members);
        for node in [&mut a, &mut b] {
            assert_eq!(node.state(&gid), (epochs_many + 1, hex::encode(members[0].tree().root_hash())));
        }
        check_log(&mut b, &gid, epochs_many);
    }
    eprintln!("{groups} groups, {epochs_many} epochs each: {:?}", t.elapsed());
}

#[test]
fn two_node_processes_race_on_postgres() {
    let Some(url) = pg_url("two_node_processes_race_on_postgres") else { return };
    two_nodes_race(&url, 100, 1000, 10);
}

#[test]
fn two_node_processes_race_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("ds.sqlite").display());
    two_nodes_race(&url, 10, 200, 5);
}

/// Commits through one node, killed with SIGKILL at random points (between
/// requests and while one is in flight), restarted each time on the same
/// store.
fn killed_node(url: &str) {
    let mut rng = Rng(seed());
    let gid = format!("crash-{}", run_id()).into_bytes();
    let mut s = setup(&gid, 2);
    let mut node = Node::start(url, &[]);
    node.create(&s.creator_info);
    assert_eq!(node.ask(&Node::handle_line(&gid, &s.add_commit)), "accepted 1");
    // Every acknowledged commit: its epoch and bytes.
    let mut acknowledged: Vec<(u64, Vec<u8>)> = vec![(0, s.add_commit.to_bytes())];
    let (mut landed, mut lost) = (0, 0);
    for round in 0..8 {
        let acks = 1 + rng.below(12);
        for _ in 0..acks {
            let c = rng.below(2) as usize;
            let pending = s.members[c].commit(CommitOptions::default()).unwrap();
            let epoch = s.members[c].epoch();
            assert_eq!(node.ask(&Node::handle_line(&gid, &pending.message)), format!("accepted {}", epoch + 1));
            acknowledged.push((epoch, pending.message.to_bytes()));
            let msg = pending.message.clone();
            s.members[c].merge_pending_commit(pending).unwrap();
            deliver(&mut s.members, Some(c), &msg);
        }
        // One more commit is sent; the node dies before or after it lands.
        let c = rng.below(2) as usize;
        let in_flight = s.members[c].commit(CommitOptions::default()).unwrap();
        node.send(&Node::handle_line(&gid, &in_flight.message));
        // Killed at once (usually before the commit is stored) or a little
        // later (while it is validated, stored, or after).
        if rng.below(2) == 1 {
            std::thread::sleep(std::time::Duration::from_micros(rng.below(3000)));
        }
        node.kill();

        node = Node::start(url, &[]);
        let (epoch, tree_hash) = node.state(&gid);
        let log = node.log(&gid);
        let acked_epoch = s.members[0].epoch();
        // Every acknowledged commit is there, in order, byte for byte.
        for (k, (e, bytes)) in acknowledged.iter().enumerate() {
            assert_eq!(log[k].1, *e, "round {round}: entry {k}");
            assert_eq!(&log[k].3, bytes, "round {round}: acknowledged commit of epoch {e} is stored");
        }
        // Nothing else but, possibly, the one in flight.
        assert!(
            log.len() <= acknowledged.len() + 1,
            "round {round}: {} entries for {} acks",
            log.len(),
            acknowledged.len()
        );
        if log.len() == acknowledged.len() + 1 {
            assert_eq!(
                log[acknowledged.len()].3,
                in_flight.message.to_bytes(),
                "round {round}: only the commit in flight"
            );
            assert_eq!(epoch, acked_epoch + 1);
            landed += 1;
            acknowledged.push((acked_epoch, in_flight.message.to_bytes()));
            let msg = in_flight.message.clone();
            s.members[c].merge_pending_commit(in_flight).unwrap();
            deliver(&mut s.members, Some(c), &msg);
        } else {
            assert_eq!(epoch, acked_epoch, "round {round}: the state is the last acknowledged commit's");
            lost += 1;
        }
        assert_eq!(tree_hash, hex::encode(s.members[0].tree().root_hash()));
    }
    assert_same_authenticator(&s.members);
    eprintln!("8 kills: the commit in flight was stored {landed} times, not stored {lost} times");
}

#[test]
fn killed_node_loses_nothing_acknowledged_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    killed_node(&format!("sqlite:{}", dir.path().join("ds.sqlite").display()));
}

#[test]
fn killed_node_loses_nothing_acknowledged_postgres() {
    let Some(url) = pg_url("killed_node_loses_nothing_acknowledged_postgres") else { return };
    killed_node(&url);
}

#[test]
fn postgres_down_is_a_typed_error() {
    // Nothing listens on port 1 of the loopback: connecting is refused.
    match throng_store::PgStore::connect("postgres://throng@127.0.0.1:1/throng") {
        Err(throng::store::StoreError::Unavailable(e)) => eprintln!("refused as expected: {e}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

//! Scenarios with several DS nodes over one store (`[backend]`): the
//! bundled `backend-pg-2nodes`, shortened, against PostgreSQL when
//! `THRONG_TEST_PG_URL` is set (`.ci/run` starts one), and the same
//! nodes over one in-process store, always.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use clap::Parser;
use throng_loadgen::{Command, run_scenario};

fn run(args: &[&str], out: &Path) -> serde_json::Value {
    let mut argv = vec!["loadgen", "run"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--threads", "2", "--no-progress", "--out", out.to_str().unwrap()]);
    let cli = throng_loadgen::Cli::try_parse_from(&argv).unwrap();
    let Command::Run(run_args) = cli.command else { panic!("not a run") };
    let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
    let dir = run_scenario(&run_args, &argv).unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

/// Commits on every node, races lost across nodes, no fork, no error.
fn check_nodes(json: &serde_json::Value, nodes: usize, groups: u64) -> serde_json::Value {
    let runs = json["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["counters"]["member_errors"], 0, "{}", run["errors"]);
    assert_eq!(run["counters"]["ds_rejections"], 0, "{}", run["errors"]);
    let b = &run["backend"];
    assert_eq!(b["forks"], 0, "{}", run["errors"]);
    assert_eq!(b["groups_checked"].as_u64().unwrap(), groups);
    assert!(b["lost_races_across_nodes"].as_u64().unwrap() > 0, "no race lost across nodes: {b}");
    let per_node = b["nodes"].as_array().unwrap();
    assert_eq!(per_node.len(), nodes);
    let mut commits = 0;
    for n in per_node {
        assert!(n["commits"].as_u64().unwrap() > 0, "a node accepted no commit: {n}");
        assert!(n["commits_per_second"].as_f64().unwrap() > 0.0);
        assert!(n["store_appends"].as_u64().unwrap() >= n["commits"].as_u64().unwrap());
        let l = &n["store_append_us"];
        assert!(l["count"].as_u64().unwrap() > 0 && l["p50"].as_u64().unwrap() <= l["p99"].as_u64().unwrap());
        commits += n["commits"].as_u64().unwrap();
    }
    // Every epoch of the churn was closed by exactly one node.
    assert_eq!(commits, run["counters"]["epochs"].as_u64().unwrap());
    b.clone()
}

fn out_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("loadgen-{name}-{}", std::process::id()))
}

#[test]
fn two_nodes_on_postgres() {
    let url = match std::env::var("THRONG_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            // Straight to the process's stderr: the harness captures
            // `eprintln!`, and a skip must never pass silently.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr().lock(),
                "skipped: no THRONG_TEST_PG_URL (two_nodes_on_postgres needs PostgreSQL; .ci/run starts one)"
            );
            return;
        }
    };
    let out = out_dir("pg-2nodes");
    // --quick: 4 groups of 30 members, 10 epochs each, a few seconds.
    let json = run(&["backend-pg-2nodes", "--quick", "--pg-url", &url], &out);
    let b = check_nodes(&json, 2, 4);
    assert!(b["store"].as_str().unwrap().starts_with("PostgreSQL"), "{b}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("DS nodes and their store"), "no node section in report.md");
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn two_nodes_on_one_memory_store() {
    let dir = out_dir("mem-2nodes");
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("two-nodes.toml");
    std::fs::write(
        &scenario,
        "name = \"two-nodes\"\ndescription = \"two DS nodes over one store\"\nseed = 4\n\
         [groups]\ncount = 3\nmembers = 16\nfull_members = 3\nadds_per_build_commit = 16\n\
         [duration]\nepochs = 12\n\
         [churn]\nwelcome_joins = 0.5\nexternal_joins = 0.3\nself_removes = 0.3\nserver_removes = 0.3\nupdates = 0.3\napplication_messages = 1\n\
         [policy]\nconcurrent_committers = 3\n\
         [backend]\nstore = \"memory\"\nnodes = 2\nrouting = \"alternate\"\n",
    )
    .unwrap();
    let json = run(&[scenario.to_str().unwrap()], &dir.join("out"));
    check_nodes(&json, 2, 3);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn postgres_backend_without_a_url_says_how_to_get_one() {
    // What the message says, not the lookup (the environment may hold a
    // URL): it names the option, the variables and a throwaway cluster.
    let e = throng_loadgen::Error::NoDatabase("backend-pg-2nodes".into()).to_string();
    for needle in ["--pg-url", "THRONG_PG_URL", "THRONG_TEST_PG_URL", "postgres://", "initdb", "pg_ctl"] {
        assert!(e.contains(needle), "{needle} missing from: {e}");
    }
}

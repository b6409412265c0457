//! What CI runs of the load generator: every bundled scenario file is
//! valid, and the default scenario runs end to end with `--quick` and
//! writes a complete report with no protocol error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use throng_loadgen::scenario::{BUNDLED, Scenario};
use throng_loadgen::{RunArgs, run_scenario};

#[test]
fn every_scenario_file_is_valid_and_bundled() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut bundled: Vec<String> = BUNDLED.iter().map(|(n, _)| n.to_string()).collect();
    bundled.sort();
    assert_eq!(files, bundled, "scenarios/ and BUNDLED differ");
    for name in &files {
        let path = dir.join(format!("{name}.toml"));
        let s = Scenario::load(path.to_str().unwrap()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&s.name, name, "{} names itself {}", path.display(), s.name);
        // --quick keeps every scenario small enough for CI.
        let q = s.clone().quick();
        assert!(
            q.groups.members <= 500 && q.groups.count <= 20 && q.duration.epochs.unwrap() <= 15,
            "{name} --quick is too big"
        );
        assert!(s.groups.members <= throng_loadgen::scenario::MAX_MEMBERS);
    }
}

#[test]
fn default_quick_run_writes_a_clean_report() {
    let out = std::env::temp_dir().join(format!("loadgen-test-{}", std::process::id()));
    let args = RunArgs {
        scenario: None,
        out: Some(out.clone()),
        profile: false,
        threads: Some(2),
        seed: None,
        quick: true,
        no_progress: true,
    };
    let argv = vec!["loadgen".to_string(), "run".into(), "--quick".into()];
    let dir = run_scenario(&args, &argv).unwrap_or_else(|e| panic!("{e}"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["scenario"]["name"], "default");
    assert!(json["provenance"]["machine"]["nproc"].as_u64().unwrap() >= 1);
    let runs = json["runs"].as_array().unwrap();
    // The default compares the two committer policies on one seed.
    assert_eq!(runs.len(), 2);
    for run in runs {
        assert!(run["counters"]["epochs"].as_u64().unwrap() > 0);
        assert_eq!(run["counters"]["member_errors"], 0);
        assert_eq!(run["counters"]["ds_rejections"], 0);
        for op in [
            "create_commit",
            "process_commit",
            "join_welcome",
            "encrypt_application",
            "decrypt_application",
            "ds_handle",
        ] {
            let l = &run["latency_us"][op];
            assert!(l["count"].as_u64().unwrap_or(0) > 0, "{op} not measured");
            assert!(l["p50"].as_u64().unwrap() <= l["p99"].as_u64().unwrap());
        }
        assert!(run["wire"]["commit"]["count"].as_u64().unwrap() > 0);
        assert!(!run["tree_health"]["series"].as_array().unwrap().is_empty());
        assert!(run["memory"]["peak_rss_bytes"].as_u64().unwrap() > 0);
    }
    for f in ["report.md", "latency.svg", "tree-health.svg"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        assert!(!text.is_empty(), "{f} is empty");
    }
    std::fs::remove_dir_all(&out).ok();
}

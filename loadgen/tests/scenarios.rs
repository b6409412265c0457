//! What CI runs of the load generator: every bundled scenario file is
//! valid, and the default scenario runs end to end with `--quick` and
//! writes a complete report with no protocol error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use clap::Parser;
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
        duration: None,
        pg_url: None,
        sample_every: std::time::Duration::from_secs(10),
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
        // Leaves by SelfRemove were proposed, committed and followed.
        assert!(run["counters"]["self_removes"].as_u64().unwrap() > 0);
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

#[test]
fn short_soak_writes_samples_and_a_soak_section() {
    let dir = std::env::temp_dir().join(format!("loadgen-soak-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("tiny.toml");
    std::fs::write(
        &scenario,
        "name = \"tiny\"\ndescription = \"two small groups\"\nseed = 3\n\
         [groups]\ncount = 2\nmembers = 24\nfull_members = 3\nadds_per_build_commit = 24\n\
         [duration]\nepochs = 2\n\
         [churn]\nwelcome_joins = 1.5\nexternal_joins = 0.5\nself_removes = 0.5\nserver_removes = 0.5\nupdates = 0.5\napplication_messages = 1\n\
         [policy]\ncommitter = \"blank-aware\"\nconcurrent_committers = 2\ncompare_policies = true\n",
    )
    .unwrap();
    let out = dir.join("out");
    let cli = throng_loadgen::Cli::try_parse_from([
        "loadgen",
        "run",
        scenario.to_str().unwrap(),
        "--duration",
        "3s",
        "--sample-every",
        "500ms",
        "--threads",
        "2",
        "--no-progress",
        "--out",
        out.to_str().unwrap(),
    ])
    .unwrap();
    let throng_loadgen::Command::Run(args) = cli.command else { panic!("not a run") };
    assert_eq!(args.duration, Some(std::time::Duration::from_secs(3)));
    let written = run_scenario(&args, &["loadgen".to_string()]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(written, out);

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    // The duration, not the scenario's 2 epochs, ended the run; one policy only.
    assert!(json["scenario"]["duration"]["epochs"].is_null());
    let runs = json["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    assert!(runs[0]["epochs_per_group"].as_f64().unwrap() > 2.0, "{}", runs[0]["epochs_per_group"]);
    assert_eq!(runs[0]["counters"]["member_errors"], 0);
    assert_eq!(runs[0]["counters"]["ds_rejections"], 0);
    let soak = &json["soak"];
    assert!(soak.is_object(), "no soak section");
    assert!(soak["churn_seconds"].as_f64().unwrap() >= 3.0);
    assert!(soak["samples"].as_u64().unwrap() >= 6);
    assert!(soak["slope_mib_per_hour"].is_number());
    assert!(soak["verdict"].as_str().unwrap().contains("memory"));
    assert!(!soak["rows"].as_array().unwrap().is_empty());
    // Membership stays within the band (2 groups of 24 ± 2).
    assert!(soak["members_max"].as_u64().unwrap() <= 2 * 26, "{}", soak["members_max"]);
    assert!(soak["members_min"].as_u64().unwrap() >= 2 * 22, "{}", soak["members_min"]);

    let csv = std::fs::read_to_string(out.join("soak-samples.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[0], "seconds");
    assert!(header.contains(&"rss_bytes") && header.contains(&"commit_p99_us") && header.contains(&"process_p50_us"));
    let rows: Vec<Vec<f64>> = lines.map(|l| l.split(',').map(|v| v.parse::<f64>().unwrap()).collect()).collect();
    assert_eq!(rows.len() as u64, soak["samples"].as_u64().unwrap());
    for r in &rows {
        assert_eq!(r.len(), header.len());
    }
    let rss = header.iter().position(|h| *h == "rss_bytes").unwrap();
    assert!(rows.iter().all(|r| r[rss] > 0.0));
    let epochs = header.iter().position(|h| *h == "epochs").unwrap();
    assert!(rows.last().unwrap()[epochs] > 0.0);
    assert!(rows.windows(2).all(|w| w[0][0] <= w[1][0] && w[0][epochs] <= w[1][epochs]));

    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Soak: 3 s of churn"), "no soak section in report.md");
    assert!(md.contains("**Verdict: "));
    assert!(!std::fs::read_to_string(out.join("soak.svg")).unwrap().is_empty());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn duration_values() {
    use std::time::Duration;
    use throng_loadgen::parse_duration;
    assert_eq!(parse_duration("3600s").unwrap(), Duration::from_secs(3600));
    assert_eq!(parse_duration("60m").unwrap(), Duration::from_secs(3600));
    assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
    assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
    assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
    assert_eq!(parse_duration("45").unwrap(), Duration::from_secs(45));
    assert!(parse_duration("0s").is_err());
    assert!(parse_duration("soon").is_err());
    // --sample-every needs --duration.
    assert!(throng_loadgen::Cli::try_parse_from(["loadgen", "run", "--sample-every", "5s"]).is_err());
}

#[test]
fn webinar_partial_quick_run_agrees() {
    let out = std::env::temp_dir().join(format!("loadgen-partial-test-{}", std::process::id()));
    let args = RunArgs {
        scenario: Some("webinar-100k-partial".into()),
        out: Some(out.clone()),
        profile: false,
        threads: Some(2),
        seed: None,
        quick: true,
        no_progress: true,
        duration: None,
        pg_url: None,
        sample_every: std::time::Duration::from_secs(10),
    };
    let argv = vec!["loadgen".to_string(), "run".into(), "webinar-100k-partial".into(), "--quick".into()];
    let dir = run_scenario(&args, &argv).unwrap_or_else(|e| panic!("{e}"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["scenario"]["groups"]["partial_members"], 50);
    let run = &json["runs"][0];
    let c = &run["counters"];
    assert!(c["partial_joins"].as_u64().unwrap_or(0) > 0, "{c}");
    assert!(c["partial_commits_processed"].as_u64().unwrap_or(0) > 0, "{c}");
    assert!(c["partial_decryptions"].as_u64().unwrap_or(0) > 0, "{c}");
    // Hosts and the DS remove partial members first; each learns it.
    assert!(c["partial_removes"].as_u64().unwrap_or(0) > 0, "{c}");
    assert!(c["host_removes"].as_u64().unwrap_or(0) > 0, "{c}");
    for k in ["partial_disagreements", "partial_errors", "annotation_mismatches", "member_errors", "ds_rejections"] {
        assert_eq!(c[k].as_u64().unwrap_or(0), 0, "{k}: {}", run["errors"]);
    }
    let p = &run["partial"];
    assert_eq!(p["disagreements"], 0);
    assert!(p["state_bytes"]["p50"].as_u64().unwrap() > 0);
    for op in ["join_partial", "process_commit_partial", "decrypt_application_partial", "annotate_commit"] {
        assert!(run["latency_us"][op]["count"].as_u64().unwrap_or(0) > 0, "{op} not measured");
    }
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("Partial members (draft-ietf-mls-partial)"));
    std::fs::remove_dir_all(&out).ok();
}

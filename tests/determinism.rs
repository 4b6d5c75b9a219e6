//! Same scenario and seed: byte-identical outputs, at any thread count.

use std::path::Path;

use certfleet::report;
use certfleet::simulation::{RunOptions, Simulation};

fn outputs(threads: usize, dir: &Path) -> Vec<(String, Vec<u8>)> {
    let s = certfleet::scenario::load(Path::new("scenarios/intune-mdm-office.toml"))
        .expect("scenario loads")
        .scaled(0.1);
    let result = Simulation::run(
        &s,
        RunOptions {
            threads: Some(threads),
            ..Default::default()
        },
    )
    .expect("run");
    let out = dir.join(format!("t{threads}"));
    report::write_run(&result, &out).expect("write");
    let mut files = Vec::new();
    collect_files(&out, &out, &mut files);
    files.sort();
    files
}

/// Every file under `dir` (charts live in a subfolder), by relative path.
fn collect_files(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_files(root, &path, out);
        } else {
            let name = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.push((name, std::fs::read(&path).unwrap()));
        }
    }
}

#[test]
fn outputs_are_byte_identical_across_thread_counts_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let one = outputs(1, dir.path());
    assert!(one.iter().any(|(name, _)| name == "summary.json"));
    assert!(
        one.iter()
            .any(|(name, _)| name.ends_with("ca-arrivals.png")),
        "charts are compared too"
    );
    assert!(one
        .iter()
        .any(|(name, bytes)| name == "timeseries.csv" && bytes.len() > 1000));
    for threads in [2, 4, 16] {
        let other = outputs(threads, dir.path());
        assert_eq!(one.len(), other.len());
        for ((a_name, a), (b_name, b)) in one.iter().zip(&other) {
            assert_eq!(a_name, b_name);
            assert!(a == b, "{a_name} differs between 1 and {threads} threads");
        }
    }
    assert!(outputs(1, dir.path()) == one, "a repeated run differs");
}

#[test]
fn a_different_seed_changes_the_results() {
    // Guards the test above: determinism must not come from ignoring the seed.
    let s = certfleet::scenario::load(Path::new("scenarios/intune-mdm-office.toml"))
        .unwrap()
        .scaled(0.1);
    let mut other = s.clone();
    other.seed += 1;
    let a = Simulation::run(&s, RunOptions::default()).unwrap();
    let b = Simulation::run(&other, RunOptions::default()).unwrap();
    assert_ne!(a.ca.minutes.arrivals, b.ca.minutes.arrivals);
}

/// Everything that crosses between devices and the stages, in one small
/// fleet: a route of three stages with a bounded queue, a timeout and an
/// outage; SCEP attempts a minute apart with a challenge; approvals and
/// PKCS delivery at the next check-in; a template bump, a mass revocation
/// and a lifetime change; office, laptop and on/off schedules; manual
/// recovery after expiry.
const EVERYTHING: &str = r#"
name = "everything"
start = "2025-01-06"
horizon = "120d"
seed = 11
[[cohorts]]
name = "scep-office"
count = 1500
lifetime = "60d"
enrollment = { pattern = "ramp", from = "2024-11-20", to = "2024-12-20" }
power = { schedule = "office" }
client = "intune-scep"
[[cohorts]]
name = "adcs-laptops"
count = 1000
lifetime = "50d"
power = { schedule = "laptop" }
client = "adcs-autoenroll"
server = { approval = { share = 0.3, delay = { dist = "exponential", mean = "2d" }, drop_after = "10d" } }
[[cohorts]]
name = "pkcs-onoff"
count = 800
lifetime = "40d"
power = { schedule = "on_off", mean_on = "6h", mean_off = "30h" }
client = "intune-pkcs"
[[cohorts]]
name = "mdm"
count = 700
lifetime = "45d"
power = { schedule = "on_off", mean_on = "4h", mean_off = "2d", distribution = "weibull" }
client = { preset = "intune-mdm", on_expiry = { action = "manual_recovery", delay = "2d" } }
[ca]
workers = 1
service_time = { dist = "exponential", mean = "1m" }
queue_limit = 3
timeout = "2m"
[[events]]
kind = "outage"
target = "ndes"
from = "2025-02-10"
duration = "2d"
[[events]]
kind = "outage"
from = "2025-03-01T08:00:00Z"
duration = "6h"
[[events]]
kind = "template_bump"
at = "2025-02-20"
cohorts = ["adcs-laptops"]
[[events]]
kind = "mass_revocation"
at = "2025-03-15"
share = 0.2
deadline = "24h"
[[events]]
kind = "lifetime_change"
at = "2025-02-01"
lifetime = "30d"
cohorts = ["pkcs-onoff"]
"#;

/// The parallel loop: the same results at 1, 2, 4 and 16 threads, and
/// whatever the size of its windows (from a handful of events to the whole
/// run in one), on a fleet that exercises every hand-over between devices
/// and stages.
#[test]
fn the_parallel_loop_gives_the_same_results_at_any_thread_count_and_window_size() {
    let s = crate::common::scenario(EVERYTHING);
    let run = |threads: usize, window_events: Option<u64>| {
        let result = Simulation::run(
            &s,
            RunOptions {
                threads: Some(threads),
                check_invariants: true,
                window_events,
                ..Default::default()
            },
        )
        .expect("run");
        let summary = serde_json::to_string(&report::Summary::new(&result)).unwrap();
        let per_day: Vec<Vec<i64>> = result.cohorts.iter().map(|c| c.invalid_per_day()).collect();
        let stages: Vec<_> = std::iter::once(&result.ca)
            .chain(result.stages.iter().map(|s| &s.metrics))
            .map(|m| (m.minutes.arrivals.clone(), m.minutes.queue_lengths()))
            .collect();
        (summary, per_day, stages)
    };
    let reference = run(1, None);
    // The fleet really goes through what it is meant to exercise.
    assert!(reference.0.contains("\"revoked\""));
    let summary: serde_json::Value = serde_json::from_str(&reference.0).unwrap();
    for field in ["refused", "timed_out", "failed_outage", "served"] {
        assert!(
            summary["ca"][field].as_u64().unwrap() > 0
                || summary["stages"]["ndes"][field].as_u64().unwrap() > 0,
            "no request was {field}: {}",
            summary["ca"]
        );
    }
    assert!(summary["totals"]["revoked"].as_u64().unwrap() > 0);
    assert!(summary["totals"]["manual_recoveries"].as_u64().unwrap() > 0);
    for (threads, window) in [
        (2, None),
        (4, None),
        (16, None),
        (1, Some(16)),
        (3, Some(1 << 30)),
    ] {
        let other = run(threads, window);
        assert!(
            other == reference,
            "{threads} threads, windows of {window:?} events: results differ"
        );
    }
}

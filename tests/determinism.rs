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
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn outputs_are_byte_identical_across_thread_counts_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let one = outputs(1, dir.path());
    assert!(one.iter().any(|(name, _)| name == "summary.json"));
    assert!(one
        .iter()
        .any(|(name, bytes)| name == "timeseries.csv" && bytes.len() > 1000));
    for threads in [2, 4] {
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

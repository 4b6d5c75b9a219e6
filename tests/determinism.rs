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

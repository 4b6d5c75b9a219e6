//! Outputs are complete or absent: a failed or interrupted write leaves no
//! complete-looking report and keeps the earlier one intact; Ctrl-C stops a
//! run cleanly with a message and exit code 130.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use certfleet::report::StagedDir;

fn certfleet() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_certfleet"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// Runs the small scenario into `dest` and returns its summary.json.
fn earlier_report(dest: &Path) -> String {
    let status = certfleet()
        .args(["run", "tests/data/small.toml", "-q", "--out"])
        .arg(dest)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read_to_string(dest.join("summary.json")).unwrap()
}

/// Names in `dir` other than `keep`: leftovers of staging.
fn leftovers(dir: &Path, keep: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != keep)
        .collect()
}

#[test]
fn a_failed_write_keeps_the_earlier_report() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("report");
    let before = earlier_report(&dest);

    let staged = StagedDir::create(&dest).unwrap();
    staged
        .write("timeseries.csv", |w| w.write_all(b"minute,time\n"))
        .unwrap();
    let failed = staged.write("summary.json", |w| {
        w.write_all(b"{ \"half\": ")?;
        Err(std::io::Error::other("disk full"))
    });
    assert!(failed.is_err());
    // While staging, the half-written files are only in a hidden folder.
    assert_eq!(
        std::fs::read_to_string(dest.join("summary.json")).unwrap(),
        before
    );
    drop(staged); // the write failed: the run gives up without committing

    assert_eq!(
        std::fs::read_to_string(dest.join("summary.json")).unwrap(),
        before
    );
    assert!(leftovers(tmp.path(), "report").is_empty());
}

#[test]
fn a_committed_write_replaces_the_report_as_a_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("report");
    earlier_report(&dest);
    std::fs::write(dest.join("stale.txt"), "from an older version").unwrap();
    let staged = StagedDir::create(&dest).unwrap();
    staged
        .write("summary.json", |w| w.write_all(b"{}\n"))
        .unwrap();
    staged.commit().unwrap();
    assert_eq!(
        std::fs::read_to_string(dest.join("summary.json")).unwrap(),
        "{}\n"
    );
    assert!(!dest.join("stale.txt").exists());
    assert!(leftovers(tmp.path(), "report").is_empty());
}

/// Sends SIGINT to a long run: it stops with a message and exit code 130,
/// and the earlier report is untouched.
#[cfg(unix)]
#[test]
fn ctrl_c_stops_cleanly_and_keeps_the_earlier_report() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("report");
    let before = earlier_report(&dest);

    // 2 million devices: several seconds of work, interrupted after one.
    let child = certfleet()
        .args([
            "run",
            "scenarios/intune-mdm-office.toml",
            "--scale",
            "100",
            "-q",
            "--out",
        ])
        .arg(&dest)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.contains("no report written"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?} to stop",
        started.elapsed()
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("summary.json")).unwrap(),
        before
    );
    assert!(leftovers(tmp.path(), "report").is_empty());
}

/// The README's cohort field table names every cohort counter (they are
/// defined once, in metrics/cohort.rs; the README is written by hand).
#[test]
fn the_readme_lists_every_cohort_counter() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for c in certfleet::metrics::Counter::ALL {
        let row = format!("| `{}` |", c.name());
        assert!(readme.contains(&row), "README.md has no row {row}");
    }
}

//! Invalid scenarios: every one is refused with its file, line:column, key
//! path, what was expected and a hint; the binary exits with 2, writes
//! nothing and never panics.
//!
//! The corpus lives in `tests/invalid/*.toml`. Each file starts with a
//! description and `# expect: <fragment>` lines, every fragment of which
//! must appear in the error; `# max-memory: SIZE` runs the memory check
//! under that limit.

use std::path::{Path, PathBuf};
use std::process::Command;

use certfleet::scenario::{self, memory::parse_bytes, MemoryLimit};

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/invalid exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn header_values<'t>(text: &'t str, tag: &str) -> Vec<&'t str> {
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .filter_map(|l| l.strip_prefix(tag))
        .map(str::trim)
        .collect()
}

/// The error text `certfleet check` prints for a corpus file.
fn error_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let limit = header_values(&text, "# max-memory:")
        .first()
        .map(|s| MemoryLimit::given(parse_bytes(s).unwrap()));
    match scenario::load(path) {
        Err(errors) => errors.to_string(),
        Ok(s) => {
            let limit = limit.unwrap_or_else(|| panic!("{} loads without error", path.display()));
            match scenario::check_memory(path, &s, false, &limit) {
                Err(errors) => errors.to_string(),
                Ok(e) => panic!("{} passes the memory check ({e})", path.display()),
            }
        }
    }
}

#[test]
fn corpus_is_large_and_every_file_says_what_to_expect() {
    let files = corpus();
    assert!(files.len() >= 50, "only {} invalid scenarios", files.len());
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let expect = header_values(&text, "# expect:");
        assert!(
            expect.iter().any(|e| {
                let (pos, key) = e.split_once(": `").unwrap_or(("", ""));
                pos.split(':').all(|n| n.parse::<usize>().is_ok()) && key.ends_with('`')
            }),
            "{}: needs an `# expect: LINE:COL: `key`` line",
            path.display()
        );
    }
}

#[test]
fn every_invalid_scenario_gets_its_expected_error() {
    let mut failures = Vec::new();
    for path in corpus() {
        let text = std::fs::read_to_string(&path).unwrap();
        let error = error_of(&path);
        if !error.starts_with(&format!("{}:", path.display())) {
            failures.push(format!(
                "{}: error does not name the file:\n{error}",
                path.display()
            ));
        }
        if !error.contains("\n  hint: ") {
            failures.push(format!("{}: no hint:\n{error}", path.display()));
        }
        for fragment in header_values(&text, "# expect:") {
            if !error.contains(fragment) {
                failures.push(format!(
                    "{}: expected {fragment:?} in:\n{error}",
                    path.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn certfleet(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_certfleet"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the certfleet binary runs")
}

#[test]
fn the_binary_exits_2_without_output_and_without_panicking() {
    let out = tempfile::tempdir().unwrap();
    for path in corpus().iter().step_by(7) {
        let dest = out.path().join("report");
        let text = std::fs::read_to_string(path).unwrap();
        let mut args = vec![
            "run",
            path.to_str().unwrap(),
            "-q",
            "--out",
            dest.to_str().unwrap(),
        ];
        let limit = header_values(&text, "# max-memory:");
        if let Some(limit) = limit.first() {
            args.extend(["--max-memory", limit]);
        }
        let result = certfleet(&args);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(
            result.status.code(),
            Some(2),
            "{}: {stderr}",
            path.display()
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.contains("hint:"), "{stderr}");
        assert!(
            !dest.exists(),
            "{}: wrote {}",
            path.display(),
            dest.display()
        );
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
    }
}

#[test]
fn check_validates_and_estimates_without_running() {
    let ok = certfleet(&["check", "scenarios/intune-mdm-office.toml"]);
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("ok — 20000 devices in 2 cohorts"),
        "{stdout}"
    );
    assert!(stdout.contains("memory: about"), "{stdout}");

    let bad = certfleet(&["check", "tests/invalid/unknown-adcs-key.toml"]);
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("did you mean `renewal_period`?"),
        "{stderr}"
    );

    let big = certfleet(&[
        "check",
        "scenarios/intune-mdm-office.toml",
        "--scale",
        "1000",
        "--max-memory",
        "1GiB",
    ]);
    let stderr = String::from_utf8_lossy(&big.stderr);
    assert_eq!(big.status.code(), Some(2), "{stderr}");
    // The error points at the first cohort's count, wherever the file has it.
    let text = std::fs::read_to_string("scenarios/intune-mdm-office.toml").unwrap();
    let line = 1 + text
        .lines()
        .position(|l| l.trim_start().starts_with("count"))
        .expect("a count key");
    assert!(
        stderr.contains(&format!(
            "intune-mdm-office.toml:{line}:1: `cohorts[0].count`: this run would need about"
        )) && stderr.contains("more than the limit of 1.0 GiB (--max-memory)"),
        "{stderr}"
    );
    let unlimited = certfleet(&[
        "check",
        "scenarios/intune-mdm-office.toml",
        "--scale",
        "1000",
        "--no-memory-limit",
    ]);
    assert_eq!(unlimited.status.code(), Some(0));

    let missing = certfleet(&["check", "scenarios/no-such-file.toml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("hint: check the path"));
}

#[test]
fn a_sweep_too_big_for_memory_is_refused_before_it_starts() {
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("sweep");
    let dest_arg = dest.to_string_lossy().into_owned();
    let sweep = certfleet(&[
        "sweep",
        "scenarios/renewal-threshold.toml",
        "--threads",
        "2",
        "--max-memory",
        "30MiB",
        "--quiet",
        "--out",
        &dest_arg,
    ]);
    let stderr = String::from_utf8_lossy(&sweep.stderr);
    assert_eq!(sweep.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("more than the limit of 15.0 MiB")
            && stderr.contains("2 runs share the memory limit"),
        "{stderr}"
    );
    assert!(!dest.exists(), "nothing written");
}

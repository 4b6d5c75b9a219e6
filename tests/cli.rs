//! The command line as scripts use it: `run --json` prints summary.json on
//! stdout and nothing else there, `run -` reads the scenario from stdin and
//! names `<stdin>` in errors, and the documented exit codes.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn certfleet(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_certfleet"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

#[test]
fn run_json_prints_summary_json_and_only_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let result = certfleet(
        &[
            "run",
            "tests/data/small.toml",
            "--json",
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let printed = String::from_utf8(result.stdout).unwrap();
    let written = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert_eq!(printed, written, "stdout is summary.json, byte for byte");
    let json: serde_json::Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(json["format"], certfleet::report::FORMAT);
}

#[test]
fn run_reads_a_scenario_from_stdin() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/small.toml"),
    )
    .unwrap();
    let result = certfleet(
        &[
            "run",
            "-",
            "--json",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ],
        Some(&text),
    );
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    assert_eq!(json["scenario"], "small");
    assert!(result.stderr.is_empty(), "--quiet: nothing on stderr");
}

#[test]
fn a_bad_scenario_on_stdin_is_located_in_stdin_and_exits_2() {
    let result = certfleet(
        &["run", "-", "--json"],
        Some("name = \"x\"\nstart = \"2025-01-01\"\nhorizon = 5\n"),
    );
    assert_eq!(result.status.code(), Some(2));
    assert!(result.stdout.is_empty(), "no JSON for a failed run");
    let err = String::from_utf8(result.stderr).unwrap();
    assert!(err.contains("<stdin>:3:11: `horizon`"), "{err}");
}

#[test]
fn completions_and_man_pages_are_generated() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let result = certfleet(&["completions", shell], None);
        assert!(result.status.success());
        let script = String::from_utf8(result.stdout).unwrap();
        assert!(
            script.contains("sweep"),
            "{shell} completion lacks the sweep command"
        );
    }
    let result = certfleet(&["man"], None);
    let page = String::from_utf8(result.stdout).unwrap();
    assert!(page.contains(".TH certfleet 1"), "{page}");
    assert_eq!(certfleet(&["man", "nonsense"], None).status.code(), Some(2));
}

#[test]
fn man_out_writes_every_page_and_never_replaces_a_foreign_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("man1");
    let dir_arg = dir.to_str().unwrap();
    let first = certfleet(&["man", "--out", dir_arg], None);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    for page in [
        "certfleet.1",
        "certfleet-run.1",
        "certfleet-sweep.1",
        "certfleet-schema.1",
    ] {
        assert!(dir.join(page).is_file(), "{page} missing");
    }
    // Our own pages are rewritten; a file certfleet did not write is kept.
    assert!(certfleet(&["man", "--out", dir_arg], None).status.success());
    std::fs::write(dir.join("certfleet-run.1"), "my notes\n").unwrap();
    std::fs::remove_file(dir.join("certfleet.1")).unwrap();
    let refused = certfleet(&["man", "--out", dir_arg], None);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        !dir.join("certfleet.1").exists(),
        "nothing is written after a refusal"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("certfleet-run.1")).unwrap(),
        "my notes\n"
    );
}

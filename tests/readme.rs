//! The README matches the repository: every command (read from the binary's
//! own `--help`, so commands added later are caught too), every shipped
//! scenario, every test module and every folder of `sim/` is in it.

use std::path::Path;
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    std::fs::read_to_string(repo().join("README.md")).expect("README.md")
}

/// The lines of the README section that starts with `heading`.
fn section<'r>(readme: &'r str, heading: &str) -> Vec<&'r str> {
    let level = heading.chars().take_while(|&c| c == '#').count();
    readme
        .lines()
        .skip_while(|l| l.trim() != heading)
        .skip(1)
        .take_while(|l| {
            let hashes = l.chars().take_while(|&c| c == '#').count();
            !(hashes > 0 && hashes <= level && l.chars().nth(hashes) == Some(' '))
        })
        .collect()
}

/// The commands `certfleet --help` lists (without `help`).
fn commands() -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_certfleet"))
        .arg("--help")
        .output()
        .expect("certfleet runs");
    let help = String::from_utf8(out.stdout).unwrap();
    let names: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // A command starts two spaces in; its wrapped description further in.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect();
    assert!(names.len() >= 8, "parsed commands: {names:?}\n{help}");
    names
}

#[test]
fn every_command_is_in_the_commands_table() {
    let readme = readme();
    let table: Vec<&str> = section(&readme, "## Commands")
        .into_iter()
        .filter(|l| l.starts_with("| `certfleet "))
        .collect();
    for command in commands() {
        let entry = format!("| `certfleet {command}");
        assert!(
            table
                .iter()
                .any(|l| l.starts_with(&entry) && l[entry.len()..].starts_with([' ', '`'])),
            "`certfleet {command}` is missing from the README's commands table (## Commands)"
        );
    }
}

#[test]
fn every_shipped_scenario_is_in_the_library_table() {
    let readme = readme();
    let library = section(&readme, "## Scenario library");
    let mut files: Vec<String> = std::fs::read_dir(repo().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        let entry = format!("| `{file}` |");
        assert!(
            library.iter().any(|l| l.starts_with(&entry)),
            "scenarios/{file} is missing from the README's library table (## Scenario library)"
        );
    }
}

#[test]
fn every_test_module_is_in_the_tests_table() {
    let readme = readme();
    let table: Vec<&str> = section(&readme, "## Tests")
        .into_iter()
        .filter(|l| l.starts_with("| `"))
        .collect();
    let tests = std::fs::read_to_string(repo().join("tests/tests.rs")).unwrap();
    let modules: Vec<&str> = tests
        .lines()
        .filter_map(|l| l.strip_prefix("mod ")?.strip_suffix(';'))
        .filter(|m| *m != "common")
        .collect();
    assert!(modules.len() >= 10, "modules: {modules:?}");
    for module in modules {
        let name = format!("`{module}`");
        assert!(
            table
                .iter()
                .any(|l| l.split('|').nth(1).is_some_and(|cell| cell.contains(&name))),
            "test module {module} is missing from the README's tests table (## Tests)"
        );
    }
}

#[test]
fn every_folder_of_sim_is_in_the_layout() {
    let readme = readme();
    let mut dirs: Vec<String> = std::fs::read_dir(repo().join("sim"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    for dir in dirs {
        let entry = format!("  {dir}/");
        assert!(
            readme.lines().any(|l| l.starts_with(&entry)),
            "sim/{dir}/ is missing from the README's layout"
        );
    }
}

#[test]
fn the_dockerfile_builds_with_the_readme_s_install_command_and_runs_unprivileged() {
    let readme = readme();
    let install = "cargo install --path . --locked";
    assert!(readme.contains(install), "README lost its install command");
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    assert!(
        dockerfile
            .lines()
            .any(|l| l.starts_with("RUN ") && l.contains(install)),
        "the Dockerfile does not build with `{install}`"
    );
    assert!(
        dockerfile.matches("\nFROM ").count() >= 1 && dockerfile.contains("AS build"),
        "the Dockerfile is not multi-stage"
    );
    let user = dockerfile
        .lines()
        .rfind(|l| l.starts_with("USER "))
        .expect("the Dockerfile sets a USER");
    assert!(!user.contains("root") && !user.contains(" 0"), "{user}");
    // The Kubernetes example's image is the one the README builds.
    assert!(readme.contains("image: registry.example.org/certfleet:0.1.0"));
    assert!(readme.contains("docker build -t registry.example.org/certfleet:0.1.0 ."));
}

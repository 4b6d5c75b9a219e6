//! `certfleet schema`: every shipped scenario validates against it (as a
//! user's editor would check it), unknown keys fail it, and the copy in
//! docs/ that editors point at is the current one.

use std::path::{Path, PathBuf};

use certfleet::scenario::schema::scenario_schema;
use serde_json::Value;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn toml_files(dir: &str, prefix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .collect();
    files.sort();
    files
}

/// A scenario file as the JSON document a TOML editor validates.
fn as_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    let table: toml::Table =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::to_value(table).unwrap()
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&scenario_schema()).expect("the schema is a valid JSON Schema")
}

fn errors(validator: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn every_shipped_scenario_validates() {
    let validator = validator();
    let mut files = toml_files("scenarios", "");
    files.push(repo().join("tests/data/small.toml"));
    assert!(files.len() >= 10, "scenarios/ has {} files", files.len());
    for path in files {
        let problems = errors(&validator, &as_json(&path));
        assert!(problems.is_empty(), "{}: {problems:#?}", path.display());
    }
}

#[test]
fn unknown_keys_fail_the_schema_as_they_fail_the_loader() {
    let validator = validator();
    let base = as_json(&repo().join("tests/data/small.toml"));
    assert!(validator.is_valid(&base));
    type Mutation = fn(&mut Value);
    let cases: [(&str, Mutation); 5] = [
        ("top level", |d| {
            d["horizn"] = "2y".into();
        }),
        ("a cohort", |d| {
            d["cohorts"][0]["lifetme"] = "30d".into();
        }),
        ("an office schedule", |d| {
            d["cohorts"][0]["power"]["utc_ofset"] = "+01:00".into();
        }),
        ("a renewal rule", |d| {
            d["cohorts"][0]["client"]["renewal"]["windw"] = "10d".into();
        }),
        ("the CA", |d| {
            d["ca"]["worker"] = 2.into();
        }),
    ];
    for (place, mutate) in cases {
        let mut doc = base.clone();
        mutate(&mut doc);
        assert!(
            !validator.is_valid(&doc),
            "an unknown key in {place} passes"
        );
    }
    // Inside a preset's override table, in [sweep], and a wrong preset name.
    let mdm = as_json(&repo().join("scenarios/intune-mdm-office.toml"));
    assert!(validator.is_valid(&mdm));
    let mut doc = mdm.clone();
    doc["cohorts"][0]["client"] =
        serde_json::json!({ "preset": "intune-mdm", "retry_intervall": "1d" });
    assert!(
        !validator.is_valid(&doc),
        "unknown key beside a preset passes"
    );
    doc["cohorts"][0]["client"] =
        serde_json::json!({ "preset": "intune-mdm", "renewal": { "window": "30d" } });
    assert!(
        validator.is_valid(&doc),
        "a partial override of a preset's rule fails"
    );
    doc["cohorts"][0]["client"] = "intune-mdn".into();
    assert!(!validator.is_valid(&doc), "an unknown preset passes");
    let mut doc = mdm.clone();
    doc["sweep"] = serde_json::json!({ "replication": 3 });
    assert!(
        !validator.is_valid(&doc),
        "an unknown key in [sweep] passes"
    );
}

#[test]
fn a_cohort_without_a_preset_needs_its_lifetime() {
    let validator = validator();
    let mut doc = as_json(&repo().join("tests/data/small.toml"));
    doc["cohorts"][0]
        .as_object_mut()
        .unwrap()
        .remove("lifetime");
    assert!(!validator.is_valid(&doc));
    let mut mdm = as_json(&repo().join("scenarios/intune-mdm-office.toml"));
    let cohort = mdm["cohorts"][0].as_object_mut().unwrap();
    assert_eq!(cohort["client"], "intune-mdm");
    cohort.remove("lifetime");
    assert!(validator.is_valid(&mdm), "the preset gives the lifetime");
}

#[test]
fn the_invalid_corpus_s_unknown_keys_fail_the_schema() {
    let validator = validator();
    let files = toml_files("tests/invalid", "unknown-");
    assert!(files.len() >= 10);
    for path in files {
        assert!(
            !validator.is_valid(&as_json(&path)),
            "{} passes the schema",
            path.display()
        );
    }
}

#[test]
fn the_schema_file_in_docs_is_current() {
    let path = repo().join("docs/scenario.schema.json");
    let mut expected = serde_json::to_string_pretty(&scenario_schema()).unwrap();
    expected.push('\n');
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    if actual != expected {
        panic!(
            "{} is stale: regenerate it with `cargo run --release -- schema > docs/scenario.schema.json`",
            path.display()
        );
    }
}

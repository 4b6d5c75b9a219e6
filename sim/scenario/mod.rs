//! Scenario files: TOML with human units, parsed into the model's
//! [`Scenario`], validated, and every problem reported with its file,
//! line:column, key path and a hint.

mod diagnose;
mod error;
pub mod locate;
pub mod memory;
pub mod resolve;
pub mod schema;
mod tags;
mod validate;

use std::path::Path;

pub use error::{ScenarioError, ScenarioErrors};
pub use memory::{MemoryEstimate, MemoryLimit};
pub use validate::{validate, Problem};

use crate::model::Scenario;
use locate::{line_col, SourceMap};

/// The top-level table that only `certfleet sweep` reads.
pub const SWEEP_TABLE: &str = "sweep";

/// The path that means "read the scenario from standard input".
pub const STDIN_PATH: &str = "-";
/// How errors name a scenario read from standard input.
pub const STDIN_NAME: &str = "<stdin>";

/// Reads, parses and validates a scenario file (`-`: standard input).
pub fn load(path: &Path) -> Result<Scenario, ScenarioErrors> {
    if path == Path::new(STDIN_PATH) {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|e| {
            ScenarioErrors(vec![ScenarioError::new(
                STDIN_NAME,
                format!("cannot read the scenario from standard input: {e}"),
            )
            .with_hint(
                "pipe a UTF-8 TOML scenario in, e.g. certfleet run - < scenario.toml",
            )])
        })?;
        return parse(&text, Path::new(STDIN_NAME));
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::NotFound => {
                "check the path; the scenarios shipped with certfleet are in scenarios/"
            }
            _ => "check that the file is readable UTF-8 text",
        };
        ScenarioErrors(vec![ScenarioError::new(
            path,
            format!("cannot read the scenario: {e}"),
        )
        .with_hint(hint)])
    })?;
    parse(&text, path)
}

/// Parses and validates scenario text; `path` names it in messages.
///
/// The text is read as a TOML document, presets are expanded into it
/// (`resolve`), and the result is deserialized into the model. Errors from
/// that last step carry the key path of the failing value, which
/// `diagnose` maps back to the exact key and its line and column.
pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioErrors> {
    let map = SourceMap::new(text);
    let mut doc: toml::Table = toml::from_str(text)
        .map_err(|e| ScenarioErrors(vec![diagnose::from_toml_error(&e, text, &map, path)]))?;
    // The `[sweep]` table belongs to `certfleet sweep`, which reads it from
    // the file itself; the model never sees it.
    doc.remove(SWEEP_TABLE);
    resolve::expand_presets(&mut doc).map_err(|p| ScenarioErrors(vec![located(p, &map, path)]))?;
    let scenario: Scenario =
        serde_path_to_error::deserialize(toml::Value::Table(doc)).map_err(|e| {
            let key = e.path().to_string().replace(".[", "[");
            let key = if key == "." || key == "?" {
                String::new()
            } else {
                key
            };
            ScenarioErrors(vec![diagnose::from_path_error(
                e.inner().message().trim(),
                &key,
                &map,
                path,
            )])
        })?;
    let mut errors: Vec<ScenarioError> = map
        .document()
        .map(|doc| tags::stray_keys(doc.as_table()))
        .unwrap_or_default()
        .into_iter()
        .map(|(p, span)| ScenarioError {
            file: path.to_path_buf(),
            position: Some(line_col(text, span.start)),
            key: Some(p.path),
            message: p.message,
            hint: p.hint,
        })
        .collect();
    errors.extend(
        validate(&scenario)
            .into_iter()
            .map(|p| located(p, &map, path)),
    );
    if errors.is_empty() {
        Ok(scenario)
    } else {
        Err(ScenarioErrors(errors))
    }
}

/// A problem found at a key path, placed in the file.
fn located(p: Problem, map: &SourceMap, path: &Path) -> ScenarioError {
    ScenarioError {
        file: path.to_path_buf(),
        position: map.position_of(&p.path),
        key: Some(p.path),
        message: p.message,
        hint: p.hint,
    }
}

/// Refuses a run whose memory estimate exceeds `limit`, before anything is
/// allocated. The error names the key that drives the estimate.
pub fn check_memory(
    path: &Path,
    scenario: &Scenario,
    check_invariants: bool,
    limit: &MemoryLimit,
) -> Result<MemoryEstimate, ScenarioErrors> {
    let estimate = memory::estimate(scenario, check_invariants);
    let Some(max) = limit.bytes else {
        return Ok(estimate);
    };
    if estimate.total <= max {
        return Ok(estimate);
    }
    let key = estimate.largest().to_string();
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let position = SourceMap::new(&text).position_of(&key);
    Err(ScenarioErrors(vec![ScenarioError {
        file: path.to_path_buf(),
        position,
        key: Some(key),
        message: format!(
            "this run would need about {} of memory, more than the limit of {limit}: {}",
            memory::Bytes(estimate.total),
            estimate.breakdown()
        ),
        hint: Some(format!(
            "{} devices over {}: run a share of the fleet with --scale 0.1, shorten the horizon, or raise the limit with --max-memory (or --no-memory-limit)",
            scenario.total_devices(),
            scenario.horizon
        )),
    }]))
}

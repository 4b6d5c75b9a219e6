//! Scenario files: TOML with human units, parsed into the model's
//! [`Scenario`], validated, and every problem reported with its file,
//! line:column, key path and a hint.

mod error;
pub mod locate;
pub mod resolve;
mod validate;

use std::path::Path;

pub use error::{ScenarioError, ScenarioErrors};
pub use validate::{validate, Problem};

use crate::model::Scenario;
use locate::{line_col, SourceMap};

/// Reads, parses and validates a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioErrors> {
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
/// the last step carry the key path of the failing value, which is mapped
/// back to its line and column in the text.
pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioErrors> {
    let map = SourceMap::new(text);
    let mut doc: toml::Table = toml::from_str(text)
        .map_err(|e| ScenarioErrors(vec![from_toml_error(&e, text, &map, path)]))?;
    resolve::expand_presets(&mut doc).map_err(|p| ScenarioErrors(vec![located(p, &map, path)]))?;
    let scenario: Scenario = serde_path_to_error::deserialize(toml::Value::Table(doc))
        .map_err(|e| ScenarioErrors(vec![from_path_error(&e, &map, path)]))?;
    let problems = validate(&scenario);
    if problems.is_empty() {
        Ok(scenario)
    } else {
        Err(ScenarioErrors(
            problems
                .into_iter()
                .map(|p| located(p, &map, path))
                .collect(),
        ))
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

/// A value that did not deserialize: its key path, mapped to the file.
fn from_path_error(
    e: &serde_path_to_error::Error<toml::de::Error>,
    map: &SourceMap,
    path: &Path,
) -> ScenarioError {
    let message = e.inner().message().trim().to_string();
    let mut key = e.path().to_string().replace(".[", "[");
    if key == "." || key == "?" {
        key.clear();
    }
    // For an unknown key the path names its table; point at the key itself.
    if let Some(unknown) = unknown_name(&message) {
        if !key.ends_with(unknown) {
            key = if key.is_empty() {
                unknown.to_string()
            } else {
                format!("{key}.{unknown}")
            };
        }
    }
    ScenarioError {
        file: path.to_path_buf(),
        position: map.position_of(&key),
        key: (!key.is_empty()).then_some(key),
        hint: hint_for(&message),
        message,
    }
}

/// A TOML syntax error, located by its span.
fn from_toml_error(e: &toml::de::Error, text: &str, map: &SourceMap, path: &Path) -> ScenarioError {
    let offset = e.span().map(|s| s.start);
    let message = e.message().trim().to_string();
    let mut err = ScenarioError::new(path, message.clone());
    err.position = offset.map(|o| line_col(text, o));
    err.key = offset.and_then(|o| map.path_at(o));
    err.hint = hint_for(&message);
    err
}

/// Extracts `x` from serde's "unknown field `x`, expected ...".
fn unknown_name(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))?;
    rest.split('`').next()
}

/// The names serde lists after "expected one of", or "expected `a` or `b`".
fn expected_names(message: &str) -> Vec<&str> {
    let Some(i) = message.find("expected") else {
        return Vec::new();
    };
    message[i..].split('`').skip(1).step_by(2).collect()
}

/// "did you mean" for unknown keys and variants; otherwise nothing.
fn hint_for(message: &str) -> Option<String> {
    let unknown = unknown_name(message)?;
    let expected = expected_names(message);
    let best = expected
        .iter()
        .map(|cand| (strsim::damerau_levenshtein(unknown, cand), *cand))
        .filter(|(d, cand)| *d <= 3.max(cand.len() / 3))
        .min();
    Some(match best {
        Some((_, cand)) => format!("did you mean `{cand}`?"),
        None if expected.is_empty() => {
            "remove it: it is not part of the scenario format (see README: Scenario format)"
                .to_string()
        }
        None => format!("expected one of: {}", expected.join(", ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_key() {
        let msg =
            "unknown field `renewal_periode`, expected one of `renewal_period`, `retry_interval`";
        assert_eq!(
            hint_for(msg).as_deref(),
            Some("did you mean `renewal_period`?")
        );
        let msg = "unknown variant `ofice`, expected one of `always_on`, `office`, `laptop`";
        assert_eq!(hint_for(msg).as_deref(), Some("did you mean `office`?"));
    }
}

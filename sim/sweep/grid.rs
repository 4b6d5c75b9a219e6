//! The grid of a sweep: every combination of the parameters' values (a
//! point), each written into the scenario text at its key paths, and the
//! replications of each point with their seeds and result keys.

use std::path::Path;

use serde::{Deserialize, Serialize};
use toml_edit::{DocumentMut, Item, Table, Value};

use super::spec::{ParamValue, SweepSpec, MAX_POINTS};
use super::SweepError;
use crate::engine::random::mix64;
use crate::model::Scenario;
use crate::scenario;

/// One step of a sweep key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
    /// Every element of an array (of tables).
    All,
}

/// Splits `cohorts.*.client.renewal.window` or `cohorts[1].count`; `None`
/// when it is not a key path.
pub fn parse_path(path: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    for part in path.split('.') {
        if part.is_empty() {
            return None;
        }
        let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        match key {
            "" => {}
            "*" => steps.push(Step::All),
            k if k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
            {
                steps.push(Step::Key(k.to_string()))
            }
            _ => return None,
        }
        while let Some(inner) = rest.strip_prefix('[') {
            let end = inner.find(']')?;
            steps.push(match &inner[..end] {
                "*" => Step::All,
                n => Step::Index(n.parse().ok()?),
            });
            rest = &inner[end + 1..];
        }
        if !rest.is_empty() {
            return None;
        }
    }
    (!steps.is_empty()).then_some(steps)
}

/// Writes `value` at `path` in the document (every match of `*`). The last
/// key may be new if its table exists; the value keeps the old one's
/// spacing and comment, so the rest of the text stays where it was.
pub fn set_path(doc: &mut DocumentMut, path: &str, value: &Value) -> Result<usize, String> {
    let steps = parse_path(path).ok_or_else(|| format!("{path:?} is not a key path"))?;
    set_in_item(doc.as_item_mut(), &steps, value, path, "")
}

fn trail(done: &str, step: &Step) -> String {
    match step {
        Step::Key(k) if done.is_empty() => k.clone(),
        Step::Key(k) => format!("{done}.{k}"),
        Step::Index(i) => format!("{done}[{i}]"),
        Step::All => format!("{done}[*]"),
    }
}

fn missing(path: &str, done: &str, step: &Step) -> String {
    let what = match step {
        Step::Key(k) => format!("no key `{k}`"),
        Step::Index(i) => format!("no element [{i}]"),
        Step::All => "no array".into(),
    };
    let under = if done.is_empty() {
        "at the top level".to_string()
    } else {
        format!("under `{done}`")
    };
    format!("cannot set `{path}`: the scenario has {what} {under} (a sweep can change values the scenario sets, or add a last key to a table that exists)")
}

fn set_leaf(slot: &mut Value, value: &Value) {
    let decor = slot.decor().clone();
    *slot = value.clone();
    *slot.decor_mut() = decor;
}

fn set_in_item(
    item: &mut Item,
    steps: &[Step],
    value: &Value,
    path: &str,
    done: &str,
) -> Result<usize, String> {
    let Some((step, rest)) = steps.split_first() else {
        return match item {
            Item::Value(v) => {
                set_leaf(v, value);
                Ok(1)
            }
            Item::None => {
                *item = Item::Value(value.clone());
                Ok(1)
            }
            _ => Err(format!(
                "cannot set `{path}`: `{done}` is a table; name a key inside it"
            )),
        };
    };
    let here = trail(done, step);
    match (item, step) {
        (Item::Value(v), _) => set_in_value(v, steps, value, path, done),
        (Item::Table(t), _) => set_in_table(t, steps, value, path, done),
        (Item::ArrayOfTables(a), Step::All) => {
            let mut n = 0;
            for (i, t) in a.iter_mut().enumerate() {
                n += set_in_table(t, rest, value, path, &format!("{done}[{i}]"))?;
            }
            Ok(n)
        }
        (Item::ArrayOfTables(a), Step::Index(i)) => {
            let t = a.get_mut(*i).ok_or_else(|| missing(path, done, step))?;
            set_in_table(t, rest, value, path, &here)
        }
        _ => Err(missing(path, done, step)),
    }
}

fn set_in_table(
    t: &mut Table,
    steps: &[Step],
    value: &Value,
    path: &str,
    done: &str,
) -> Result<usize, String> {
    let Some((step, rest)) = steps.split_first() else {
        return Err(format!(
            "cannot set `{path}`: `{done}` is a table; name a key inside it"
        ));
    };
    let Step::Key(k) = step else {
        return Err(missing(path, done, step));
    };
    match t.get_mut(k) {
        Some(child) => set_in_item(child, rest, value, path, &trail(done, step)),
        None if rest.is_empty() => {
            t.insert(k, Item::Value(value.clone()));
            Ok(1)
        }
        None => Err(missing(path, done, step)),
    }
}

fn set_in_value(
    v: &mut Value,
    steps: &[Step],
    value: &Value,
    path: &str,
    done: &str,
) -> Result<usize, String> {
    let Some((step, rest)) = steps.split_first() else {
        set_leaf(v, value);
        return Ok(1);
    };
    let here = trail(done, step);
    match (v, step) {
        (Value::InlineTable(t), Step::Key(k)) => match t.get_mut(k) {
            Some(child) => set_in_value(child, rest, value, path, &here),
            None if rest.is_empty() => {
                t.insert(k, value.clone());
                Ok(1)
            }
            None => Err(missing(path, done, step)),
        },
        (Value::Array(a), Step::All) => {
            let mut n = 0;
            for (i, child) in a.iter_mut().enumerate() {
                n += set_in_value(child, rest, value, path, &format!("{done}[{i}]"))?;
            }
            Ok(n)
        }
        (Value::Array(a), Step::Index(i)) => {
            let child = a.get_mut(*i).ok_or_else(|| missing(path, done, step))?;
            set_in_value(child, rest, value, path, &here)
        }
        _ => Err(missing(path, done, step)),
    }
}

/// One combination of parameter values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// `name=value` pairs joined by `, ` — the point's name in outputs.
    pub label: String,
    pub values: Vec<ParamValue>,
}

/// One (point, replication) run and the key its result is stored under.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub point: usize,
    pub replication: u32,
    pub seed: u64,
    /// Hash of the certfleet version and the run's fully resolved scenario.
    pub key: String,
}

/// Every combination of the parameters' values, first parameter slowest.
pub fn points(spec: &SweepSpec) -> Result<Vec<Point>, String> {
    let total = spec
        .params
        .iter()
        .try_fold(1usize, |n, p| n.checked_mul(p.values.len()))
        .filter(|n| *n <= MAX_POINTS)
        .ok_or_else(|| format!("the grid has more than {MAX_POINTS} points"))?;
    let mut out = Vec::with_capacity(total);
    for i in 0..total {
        let mut rest = i;
        let mut values = vec![ParamValue::Bool(false); spec.params.len()];
        for (j, p) in spec.params.iter().enumerate().rev() {
            values[j] = p.values[rest % p.values.len()].clone();
            rest /= p.values.len();
        }
        let label = spec
            .params
            .iter()
            .zip(&values)
            .map(|(p, v)| format!("{}={v}", p.name))
            .collect::<Vec<_>>()
            .join(", ");
        out.push(Point { label, values });
    }
    Ok(out)
}

/// The scenario of one point: the values written into the text, then parsed
/// and validated like any scenario file, then scaled.
pub fn resolve_point(
    text: &str,
    file: &Path,
    spec: &SweepSpec,
    point: &Point,
    scale: Option<f64>,
) -> Result<Scenario, SweepError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| SweepError::spec(file, None, "", e.message().trim()))?;
    for (param, value) in spec.params.iter().zip(&point.values) {
        let v = value.to_toml();
        for path in &param.paths {
            set_path(&mut doc, path, &v).map_err(|m| SweepError::Point {
                point: point.label.clone(),
                message: m,
            })?;
        }
    }
    let edited = doc.to_string();
    let mut s = scenario::parse(&edited, file).map_err(|e| SweepError::Point {
        point: point.label.clone(),
        message: format!("the scenario with this point's values is invalid:\n{e}"),
    })?;
    if let Some(f) = scale {
        s = s.scaled(f);
    }
    Ok(s)
}

/// FNV-1a over bytes, finished with a strong mix.
fn hash64(bytes: &[u8], basis: u64) -> u64 {
    let mut h = basis;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix64(h)
}

/// The seed of one replication of one point: a hash of the scenario's seed,
/// the point (by its values, so adding points leaves the others' seeds
/// alone) and the replication number.
pub fn seed_for(base: u64, point: &Point, replication: u32) -> u64 {
    let mut h = mix64(base ^ 0x5eed_5eed_c0ff_ee00);
    h = mix64(h ^ hash64(point.label.as_bytes(), 0xcbf2_9ce4_8422_2325));
    mix64(h ^ (replication as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// 128 bits of hash of `text`, as 32 hex digits.
pub fn hash_hex(text: &str) -> String {
    let a = hash64(text.as_bytes(), 0xcbf2_9ce4_8422_2325);
    let b = hash64(text.as_bytes(), 0x6c62_272e_07bb_0142);
    format!("{a:016x}{b:016x}")
}

/// The key of a run's stored result: the certfleet version and the run's
/// resolved scenario (every value after defaults, the scale and the seed).
pub fn run_key(scenario: &Scenario) -> String {
    let json = serde_json::to_string(scenario).unwrap_or_default();
    hash_hex(&format!("certfleet {}\n{json}", crate::VERSION))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "name = \"x\" # keep\n\n[[cohorts]]\nname = \"a\"\nclient = { renewal = { rule = \"before_expiry\", window = \"41d\" } }\n\n[[cohorts]]\nname = \"b\"\n[cohorts.client]\nrenewal = { rule = \"before_expiry\", window = \"41d\" } # w\n";

    #[test]
    fn sets_every_cohort_and_keeps_the_rest_in_place() {
        let mut doc: DocumentMut = DOC.parse().unwrap();
        let n = set_path(
            &mut doc,
            "cohorts.*.client.renewal.window",
            &Value::from("14d"),
        )
        .unwrap();
        assert_eq!(n, 2);
        let text = doc.to_string();
        assert_eq!(text.lines().count(), DOC.lines().count());
        assert!(text.contains("window = \"14d\" } # w"), "{text}");
        assert!(text.starts_with("name = \"x\" # keep"));
        let mut doc: DocumentMut = DOC.parse().unwrap();
        set_path(&mut doc, "cohorts[1].count", &Value::from(5)).unwrap();
        assert!(doc.to_string().contains("count = 5"));
        let e = set_path(&mut doc, "server.renewal.window", &Value::from("1d")).unwrap_err();
        assert!(e.contains("no key `server` at the top level"), "{e}");
        assert!(parse_path("a..b").is_none());
        assert_eq!(
            parse_path("cohorts[*].x").unwrap(),
            [
                Step::Key("cohorts".into()),
                Step::All,
                Step::Key("x".into())
            ]
        );
    }
}

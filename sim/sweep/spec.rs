//! What a sweep varies: the `[sweep]` table of a scenario file and the
//! `--param` strings of the command line, read into a [`SweepSpec`].
//!
//! ```toml
//! [sweep]
//! replications = 10
//! max_expiry_rate = "0.1%"      # or 0.001
//! max_peak_per_hour = 1500
//!
//! [[sweep.params]]
//! name = "window"               # column name in sweep.csv (default: the first path)
//! paths = ["cohorts.*.client.renewal.window", "server.renewal.window"]
//! from = "7d"                   # or: values = ["7d", "14d", "30d"]
//! to = "91d"
//! step = "7d"
//! ```

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml_edit::{Document, Item, Table, Value};

use super::SweepError;
use crate::engine::time::parse_duration;
use crate::engine::SimDuration;
use crate::scenario::locate::line_col;

/// Most points a sweep may have (a guard against a mistyped step).
pub const MAX_POINTS: usize = 100_000;

/// One value a parameter takes: what is written into the scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string, e.g. a duration such as `"14d"`.
    Str(String),
    /// Anything else (an inline table, an array), as TOML text.
    Toml {
        toml: String,
    },
}

impl ParamValue {
    fn from_toml(v: &Value) -> Self {
        match v {
            Value::String(s) => ParamValue::Str(s.value().clone()),
            Value::Integer(i) => ParamValue::Int(*i.value()),
            Value::Float(f) => ParamValue::Float(*f.value()),
            Value::Boolean(b) => ParamValue::Bool(*b.value()),
            other => {
                let mut v = other.clone();
                v.decor_mut().clear();
                ParamValue::Toml {
                    toml: v.to_string(),
                }
            }
        }
    }

    /// The value as it goes into the scenario document.
    pub fn to_toml(&self) -> Value {
        match self {
            ParamValue::Bool(b) => Value::from(*b),
            ParamValue::Int(i) => Value::from(*i),
            ParamValue::Float(f) => Value::from(*f),
            ParamValue::Str(s) => Value::from(s.as_str()),
            ParamValue::Toml { toml } => toml
                .parse::<Value>()
                .unwrap_or_else(|_| Value::from(toml.as_str())),
        }
    }

    /// A number to place the value on a chart's axis: durations in days,
    /// numbers as they are; `None` for anything else.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            ParamValue::Int(i) => Some(*i as f64),
            ParamValue::Float(f) => Some(*f),
            ParamValue::Str(s) => parse_duration(s).ok().map(|d| d.as_days_f64()),
            _ => None,
        }
    }

    /// Whether [`as_number`](Self::as_number) is a duration in days.
    pub fn is_duration(&self) -> bool {
        matches!(self, ParamValue::Str(s) if parse_duration(s).is_ok())
    }
}

impl fmt::Display for ParamValue {
    /// Strings bare (`14d`), everything else as TOML.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Str(s) => f.write_str(s),
            ParamValue::Toml { toml } => f.write_str(toml),
            other => write!(f, "{}", other.to_toml()),
        }
    }
}

/// One swept parameter: one or more key paths that take the same value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Param {
    /// Column name in the outputs.
    pub name: String,
    /// Key paths such as `cohorts.*.client.renewal.window` (`*`: every
    /// element of an array) or `ca.workers`; all get the same value.
    pub paths: Vec<String>,
    pub values: Vec<ParamValue>,
}

/// The targets a recommendation is judged against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    /// Largest acceptable expiry rate (a share, 0.001 = 0.1 %).
    pub max_expiry_rate: Option<f64>,
    /// Largest acceptable number of CA arrivals in the busiest hour.
    pub max_peak_per_hour: Option<f64>,
}

impl Targets {
    pub fn any(&self) -> bool {
        self.max_expiry_rate.is_some() || self.max_peak_per_hour.is_some()
    }
}

/// Everything a sweep varies and judges.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepSpec {
    pub params: Vec<Param>,
    pub replications: u32,
    pub targets: Targets,
}

/// Gives parameters named after their path (no `name` given) the path's
/// last key (`window`), unless that would make two columns alike.
pub fn shorten_names(params: &mut [Param]) {
    let short = |p: &Param| -> Option<String> {
        if p.name != p.paths[0] {
            return None;
        }
        let last = p.paths[0].rsplit('.').next()?;
        let last = last.split('[').next()?;
        (!last.is_empty() && last != "*").then(|| last.to_string())
    };
    let names: Vec<String> = params
        .iter()
        .map(|p| short(p).unwrap_or_else(|| p.name.clone()))
        .collect();
    for (i, p) in params.iter_mut().enumerate() {
        if names.iter().filter(|n| **n == names[i]).count() == 1 {
            p.name = names[i].clone();
        }
    }
}

/// Default replications per point when neither the file nor the command
/// line says.
pub const DEFAULT_REPLICATIONS: u32 = 10;

/// Reads the `[sweep]` table of a scenario's text, if it has one. Errors
/// name the file, line:column and key.
pub fn from_scenario_text(text: &str, file: &Path) -> Result<Option<SweepSpec>, SweepError> {
    let doc = Document::parse(text).map_err(|e| {
        let pos = e.span().map(|s| line_col(text, s.start));
        SweepError::spec(file, pos, "", e.message().trim())
    })?;
    let Some(item) = doc.as_table().get("sweep") else {
        return Ok(None);
    };
    let at = |span: Option<std::ops::Range<usize>>| span.map(|s| line_col(text, s.start));
    let err = |span, key: &str, msg: String| SweepError::spec(file, at(span), key, msg);
    let table = match item {
        Item::Table(t) => t,
        _ => {
            let span = doc.as_table().key("sweep").and_then(|k| k.span());
            return Err(err(span, "sweep", "expected a [sweep] table".into()));
        }
    };
    let mut spec = SweepSpec {
        replications: DEFAULT_REPLICATIONS,
        ..SweepSpec::default()
    };
    for (key, item) in table.iter() {
        let key_span = table.key(key).and_then(|k| k.span());
        let path = format!("sweep.{key}");
        let value = item.as_value();
        match key {
            "replications" => {
                spec.replications = value
                    .and_then(Value::as_integer)
                    .filter(|r| (1..=100_000).contains(r))
                    .ok_or_else(|| {
                        err(
                            key_span.clone(),
                            &path,
                            "expected a whole number of replications from 1 to 100000, e.g. replications = 10".into(),
                        )
                    })? as u32;
            }
            "max_expiry_rate" => {
                let rate = value.and_then(|v| match v {
                    Value::Float(f) => Some(*f.value()),
                    Value::Integer(i) => Some(*i.value() as f64),
                    Value::String(s) => parse_rate(s.value()).ok(),
                    _ => None,
                });
                spec.targets.max_expiry_rate = Some(rate.ok_or_else(|| {
                    err(
                        key_span.clone(),
                        &path,
                        "expected a share such as 0.001 or \"0.1%\"".into(),
                    )
                })?);
            }
            "max_peak_per_hour" => {
                let peak = value.and_then(|v| match v {
                    Value::Float(f) => Some(*f.value()),
                    Value::Integer(i) => Some(*i.value() as f64),
                    _ => None,
                });
                spec.targets.max_peak_per_hour =
                    Some(peak.filter(|p| *p >= 0.0).ok_or_else(|| {
                        err(
                            key_span.clone(),
                            &path,
                            "expected a number of CA requests per hour, e.g. 1500".into(),
                        )
                    })?);
            }
            "params" => {
                let Item::ArrayOfTables(tables) = item else {
                    return Err(err(
                        key_span,
                        &path,
                        "expected [[sweep.params]] tables".into(),
                    ));
                };
                for (i, t) in tables.iter().enumerate() {
                    spec.params.push(param_from_table(
                        t,
                        &format!("sweep.params[{i}]"),
                        text,
                        file,
                    )?);
                }
            }
            other => {
                return Err(err(
                    key_span,
                    &path,
                    format!("unknown key `{other}` in [sweep]; expected replications, max_expiry_rate, max_peak_per_hour or [[sweep.params]]"),
                ));
            }
        }
    }
    Ok(Some(spec))
}

fn param_from_table(t: &Table, at: &str, text: &str, file: &Path) -> Result<Param, SweepError> {
    let pos = |key: &str| {
        t.key(key)
            .and_then(|k| k.span())
            .or_else(|| t.span())
            .map(|s| line_col(text, s.start))
    };
    let err = |key: &str, msg: String| {
        SweepError::spec(
            file,
            pos(key),
            &format!(
                "{at}{}",
                if key.is_empty() {
                    String::new()
                } else {
                    format!(".{key}")
                }
            ),
            msg,
        )
    };
    let mut paths = Vec::new();
    let mut name = None;
    let (mut values, mut from, mut to, mut step) = (None, None, None, None);
    for (key, item) in t.iter() {
        let v = item.as_value();
        match key {
            "name" => name = v.and_then(Value::as_str).map(str::to_string),
            "path" => paths.push(
                v.and_then(Value::as_str)
                    .ok_or_else(|| err(key, "expected a key path string such as \"ca.workers\"".into()))?
                    .to_string(),
            ),
            "paths" => {
                let arr = v.and_then(Value::as_array).ok_or_else(|| {
                    err(key, "expected an array of key path strings".into())
                })?;
                for p in arr.iter() {
                    paths.push(
                        p.as_str()
                            .ok_or_else(|| err(key, "expected key path strings".into()))?
                            .to_string(),
                    );
                }
            }
            "values" => {
                let arr = v
                    .and_then(Value::as_array)
                    .ok_or_else(|| err(key, "expected an array of values, e.g. [\"7d\", \"14d\"]".into()))?;
                values = Some(arr.iter().map(ParamValue::from_toml).collect::<Vec<_>>());
            }
            "from" => from = v.map(ParamValue::from_toml),
            "to" => to = v.map(ParamValue::from_toml),
            "step" => step = v.map(ParamValue::from_toml),
            other => {
                return Err(err(
                    other,
                    format!("unknown key `{other}`; expected name, path or paths, and values or from/to/step"),
                ))
            }
        }
    }
    if paths.is_empty() {
        return Err(err(
            "",
            "a swept parameter needs `path` (or `paths`), e.g. path = \"cohorts.*.client.renewal.window\"".into(),
        ));
    }
    for p in &paths {
        check_path(p).map_err(|m| {
            err(
                if t.contains_key("path") {
                    "path"
                } else {
                    "paths"
                },
                m,
            )
        })?;
    }
    let values = match (values, from, to, step) {
        (Some(v), None, None, None) => v,
        (None, Some(a), Some(b), Some(s)) => {
            range(&a.to_string(), &b.to_string(), &s.to_string()).map_err(|m| err("from", m))?
        }
        _ => {
            return Err(err(
                "",
                "give either `values = [...]` or all three of `from`, `to` and `step`".into(),
            ))
        }
    };
    if values.is_empty() {
        return Err(err("values", "the list of values is empty".into()));
    }
    Ok(Param {
        name: name.unwrap_or_else(|| paths[0].clone()),
        paths,
        values,
    })
}

/// A key path must be dotted keys, `*` or `[n]` indices.
fn check_path(path: &str) -> Result<(), String> {
    if super::grid::parse_path(path).is_some() {
        Ok(())
    } else {
        Err(format!(
            "{path:?} is not a key path; write keys separated by dots, `*` for every element of an array, e.g. \"cohorts.*.client.renewal.window\""
        ))
    }
}

/// Parses one `--param` argument: `PATH[,PATH...]=VALUES`, where VALUES is
/// `FROM..TO/STEP` or a comma-separated list (`7d,14d,30d`, `4,8,16`).
pub fn param_from_arg(arg: &str) -> Result<Param, String> {
    let (lhs, rhs) = arg.split_once('=').ok_or_else(|| {
        format!("--param {arg:?} has no `=`; write PATH=FROM..TO/STEP or PATH=V1,V2,..., e.g. 'cohorts.*.client.renewal.window=7d..90d/7d'")
    })?;
    let paths: Vec<String> = lhs
        .split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    if paths.is_empty() {
        return Err(format!("--param {arg:?} names no key path before `=`"));
    }
    for p in &paths {
        check_path(p)?;
    }
    let rhs = rhs.trim();
    let values = if let Some((from, rest)) = rhs.split_once("..") {
        let (to, step) = rest
            .split_once('/')
            .ok_or_else(|| format!("--param {arg:?}: a range needs a step, e.g. 7d..90d/7d"))?;
        range(from.trim(), to.trim(), step.trim())?
    } else {
        rhs.split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(value_from_text)
            .collect()
    };
    if values.is_empty() {
        return Err(format!("--param {arg:?} gives no value"));
    }
    Ok(Param {
        name: paths[0].clone(),
        paths,
        values,
    })
}

/// A command-line value: a TOML number or boolean or quoted string when it
/// reads as one, otherwise a bare string (`14d`).
fn value_from_text(text: &str) -> ParamValue {
    match text.parse::<Value>() {
        Ok(v) if !matches!(v, Value::Datetime(_)) => ParamValue::from_toml(&v),
        _ => ParamValue::Str(text.to_string()),
    }
}

/// `from..to` by `step`, `to` included when the grid reaches it: integers,
/// decimals, or durations (`7d..90d/7d`).
pub fn range(from: &str, to: &str, step: &str) -> Result<Vec<ParamValue>, String> {
    let bad_count = |n: f64| {
        format!("the range {from}..{to}/{step} would have {n:.0} points (at most {MAX_POINTS})")
    };
    if let (Ok(a), Ok(b), Ok(s)) = (from.parse::<i64>(), to.parse::<i64>(), step.parse::<i64>()) {
        if s <= 0 || b < a {
            return Err(format!(
                "the range {from}..{to}/{step} needs from ≤ to and a step above 0"
            ));
        }
        let n = (b - a) / s + 1;
        if n as usize > MAX_POINTS {
            return Err(bad_count(n as f64));
        }
        return Ok((0..n).map(|i| ParamValue::Int(a + i * s)).collect());
    }
    if let (Ok(a), Ok(b), Ok(s)) = (from.parse::<f64>(), to.parse::<f64>(), step.parse::<f64>()) {
        if !(s > 0.0 && b >= a && a.is_finite() && b.is_finite()) {
            return Err(format!(
                "the range {from}..{to}/{step} needs from ≤ to and a step above 0"
            ));
        }
        let n = ((b - a) / s + 1e-9).floor() + 1.0;
        if n > MAX_POINTS as f64 {
            return Err(bad_count(n));
        }
        return Ok((0..n as i64)
            .map(|i| {
                // 12 significant digits: 0.1 + 2·0.1 reads 0.3, not 0.30000000000000004.
                let x: f64 = format!("{:.11e}", a + i as f64 * s).parse().unwrap_or(0.0);
                ParamValue::Float(x)
            })
            .collect());
    }
    let dur = |t: &str| {
        parse_duration(t).map_err(|e| {
            format!("the range {from}..{to}/{step}: {e}; a range runs over numbers or durations")
        })
    };
    let (a, b, s) = (dur(from)?, dur(to)?, dur(step)?);
    if s.ms() <= 0 || b < a {
        return Err(format!(
            "the range {from}..{to}/{step} needs from ≤ to and a step above 0"
        ));
    }
    let n = (b.ms() - a.ms()) / s.ms() + 1;
    if n as usize > MAX_POINTS {
        return Err(bad_count(n as f64));
    }
    Ok((0..n)
        .map(|i| ParamValue::Str(SimDuration::from_ms(a.ms() + i * s.ms()).to_string()))
        .collect())
}

/// A share written as `0.001` or `0.1%`.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (number, scale) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), 0.01),
        None => (t, 1.0),
    };
    number
        .parse::<f64>()
        .ok()
        .map(|x| x * scale)
        .filter(|x| (0.0..=1.0).contains(x))
        .ok_or_else(|| {
            format!("expected a share between 0 and 1 such as 0.001 or \"0.1%\", got {text:?}")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_of_durations_numbers_and_lists() {
        let p = param_from_arg("cohorts.*.client.renewal.window=7d..30d/7d").unwrap();
        let shown: Vec<String> = p.values.iter().map(|v| v.to_string()).collect();
        assert_eq!(shown, ["7d", "14d", "21d", "28d"]);
        let p = param_from_arg("ca.workers=1..7/3").unwrap();
        assert_eq!(
            p.values,
            [ParamValue::Int(1), ParamValue::Int(4), ParamValue::Int(7)]
        );
        let p = param_from_arg("x=0.1..0.3/0.1").unwrap();
        assert_eq!(p.values.len(), 3);
        assert_eq!(p.values[2], ParamValue::Float(0.3));
        let p = param_from_arg("a.b,c.d=7d, 14d,0.5").unwrap();
        assert_eq!(p.paths, ["a.b", "c.d"]);
        assert_eq!(
            p.values,
            [
                ParamValue::Str("7d".into()),
                ParamValue::Str("14d".into()),
                ParamValue::Float(0.5)
            ]
        );
        assert!(param_from_arg("nothing").is_err());
        assert!(param_from_arg("a=7d..1d/1d").is_err());
        assert_eq!(parse_rate("0.1%").unwrap(), 0.001);
    }

    #[test]
    fn reads_the_sweep_table_with_positions() {
        let text = "name = \"x\"\n[sweep]\nreplications = 4\nmax_expiry_rate = \"0.1%\"\n[[sweep.params]]\npaths = [\"a.b\", \"c\"]\nfrom = \"7d\"\nto = \"21d\"\nstep = \"7d\"\n";
        let spec = from_scenario_text(text, Path::new("s.toml"))
            .unwrap()
            .unwrap();
        assert_eq!(spec.replications, 4);
        assert_eq!(spec.targets.max_expiry_rate, Some(0.001));
        assert_eq!(spec.params[0].values.len(), 3);
        let bad = "[sweep]\nreplications = 4\nbogus = 1\n";
        let e = from_scenario_text(bad, Path::new("s.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("s.toml:3:1: `sweep.bogus`"), "{e}");
    }
}

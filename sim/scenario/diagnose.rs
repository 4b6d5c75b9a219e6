//! Turning toml/serde error messages into errors a person can act on: the
//! exact key (also inside internally tagged tables, where serde buffers the
//! content and the span it reports is the whole table), what was expected in
//! words rather than Rust types, and a hint.

use std::path::Path;

use super::locate::{line_col, SourceMap};
use super::ScenarioError;

/// A toml deserialization or syntax error, located and explained.
pub fn from_toml_error(
    e: &toml::de::Error,
    text: &str,
    map: &SourceMap,
    path: &Path,
) -> ScenarioError {
    let offset = e.span().map(|s| s.start);
    let raw = e.message().trim().to_string();
    let mut err = ScenarioError::new(path, humanize(&raw));
    err.position = offset.map(|o| line_col(text, o));
    if !map.is_parsed() {
        // A syntax error: toml_edit cannot build a document either, so the
        // key comes from reading the lines around the error.
        err.key = offset.and_then(|o| key_from_text(text, o));
        let rest_of_line = offset
            .map(|o| text[o.min(text.len())..].lines().next().unwrap_or(""))
            .unwrap_or("");
        let before = offset.map_or("", |o| {
            let o = o.min(text.len());
            text[..o].rsplit('\n').next().unwrap_or("")
        });
        err.hint = Some(
            if before.trim_end().ends_with('=') && rest_of_line.trim().is_empty() {
                "give the key a value after `=`"
            } else {
                syntax_hint(&raw)
            }
            .to_string(),
        );
        return err;
    }
    let enclosing = offset.and_then(|o| map.path_at(o)).unwrap_or_default();
    let refined = refine(&raw, &enclosing, map);
    match refined {
        Some((key, pos)) => {
            err.key = Some(key);
            err.position = pos.or(err.position);
        }
        None => err.key = (!enclosing.is_empty()).then_some(enclosing.clone()),
    }
    err.hint = hint_for(&raw, err.key.as_deref().unwrap_or(""));
    err
}

/// A value that did not deserialize (after presets were merged in), at the
/// key path `enclosing`: the exact key, where it is written, and a hint.
pub fn from_path_error(raw: &str, enclosing: &str, map: &SourceMap, path: &Path) -> ScenarioError {
    let mut err = ScenarioError::new(path, humanize(raw));
    match refine(raw, enclosing, map) {
        Some((key, pos)) => {
            err.position = pos.or_else(|| map.position_of(enclosing));
            err.key = Some(key);
        }
        None => {
            err.position = map.position_of(enclosing);
            err.key = (!enclosing.is_empty()).then(|| enclosing.to_string());
        }
    }
    if enclosing.is_empty() && err.position.is_none() {
        // A problem with the document as a whole (a missing top-level key).
        err.position = Some((1, 1));
    }
    err.hint = hint_for(raw, err.key.as_deref().unwrap_or(""));
    err
}

/// The exact key the message is about, searched for in the subtree of the
/// key serde blamed, and where it is written.
fn refine(
    message: &str,
    enclosing: &str,
    map: &SourceMap,
) -> Option<(String, Option<(usize, usize)>)> {
    if let Some(name) = between(message, "unknown field `", "`") {
        if enclosing.rsplit('.').next() == Some(name) {
            return None;
        }
        // serde may blame an outer value (an array of internally tagged
        // tables, say): look under it, then under its parents.
        return ancestors(enclosing)
            .find_map(|at| map.find_key_under(at, name))
            .map(|(k, p)| (k, Some(p)));
    }
    if let Some(name) = between(message, "missing field `", "`") {
        let key = if enclosing.is_empty() {
            name.to_string()
        } else {
            format!("{enclosing}.{name}")
        };
        return Some((key, map.position_of(enclosing)));
    }
    if message.starts_with("unknown variant `") {
        let name = between(message, "unknown variant `", "`")?;
        return map
            .find_value_under(enclosing, &|v| v.as_str() == Some(name))
            .map(|(k, p)| (k, Some(p)));
    }
    let wanted = offending_value(message)?;
    map.find_value_under(enclosing, &|v| wanted.matches(v))
        .map(|(k, p)| (k, Some(p)))
}

/// `a.b[1].c`, `a.b[1]`, `a.b`, `a`, ``.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(path);
    std::iter::from_fn(move || {
        let current = next?;
        next = if current.is_empty() {
            None
        } else {
            Some(&current[..current.rfind(['.', '[']).unwrap_or(0)])
        };
        Some(current)
    })
}

/// The value a message quotes, to find it in the file.
enum Wanted {
    Str(String),
    Literal(String),
}

impl Wanted {
    fn matches(&self, v: &toml_edit::Value) -> bool {
        match (self, v) {
            (Wanted::Str(debug), toml_edit::Value::String(s)) => {
                format!("{:?}", s.value()) == *debug
            }
            (Wanted::Literal(lit), toml_edit::Value::Integer(i)) => i.value().to_string() == *lit,
            (Wanted::Literal(lit), toml_edit::Value::Float(f)) => {
                lit.parse::<f64>()
                    .is_ok_and(|x| x == *f.value() || (x.is_nan() && f.value().is_nan()))
                    || f.value().to_string() == *lit
            }
            (Wanted::Literal(lit), toml_edit::Value::Boolean(b)) => b.value().to_string() == *lit,
            _ => false,
        }
    }
}

fn offending_value(message: &str) -> Option<Wanted> {
    if let Some(rest) = message.strip_prefix("a bare number ") {
        return rest.split(' ').next().map(|n| Wanted::Literal(n.into()));
    }
    for kind in ["integer `", "floating point `", "boolean `"] {
        if let Some(lit) = between(message, kind, "`") {
            return Some(Wanted::Literal(lit.into()));
        }
    }
    // A Rust-debug-quoted string: "…", with escapes.
    let start = message.find('"')?;
    let bytes = message.as_bytes();
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(Wanted::Str(message[start..=i].to_string())),
            _ => i += 1,
        }
    }
    None
}

fn between<'m>(message: &'m str, open: &str, close: &str) -> Option<&'m str> {
    let rest = &message[message.find(open)? + open.len()..];
    rest.find(close).map(|end| &rest[..end])
}

/// serde's Rust type names in words.
fn type_in_words(expected: &str) -> String {
    let e = expected.trim();
    let words = match e {
        "u64" | "u32" | "u16" | "u8" | "usize" => "a whole number of 0 or more",
        "i64" | "i32" => "a whole number",
        "f64" | "f32" => "a number",
        "a boolean" => "true or false",
        "a sequence" => "an array [ … ]",
        "a string" => "a string in double quotes",
        _ => {
            if let Some(name) = e.strip_prefix("internally tagged enum ") {
                return match tag_example(name) {
                    Some(example) => format!("a table such as {example}"),
                    None => "a table { … }".to_string(),
                };
            }
            if e.starts_with("struct ") || e == "a map" {
                return "a table { … }".to_string();
            }
            return e.to_string();
        }
    };
    words.to_string()
}

fn tag_example(enum_name: &str) -> Option<&'static str> {
    Some(match enum_name {
        "PowerSchedule" => "{ schedule = \"office\" }",
        "RenewalRule" => "{ rule = \"before_expiry\", window = \"41d\" }",
        "OnExpiry" => "{ action = \"stranded\" }",
        "Enrollment" => "{ pattern = \"steady\" }",
        "Trigger" => "{ kind = \"periodic\", every = \"4h\" }",
        "ScheduledEvent" => "{ kind = \"outage\", from = \"2025-03-17\", duration = \"6h\" }",
        "DurationDist" => "{ dist = \"exponential\", mean = \"500ms\" }",
        _ => return None,
    })
}

/// "invalid type: string \"x\", expected u64" → "expected a whole number of
/// 0 or more, found string \"x\"".
pub fn humanize(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            if let Some((found, expected)) = rest.split_once(", expected ") {
                let found = match found {
                    "map" => "a table",
                    "sequence" => "an array",
                    other => other,
                };
                return format!("expected {}, found {found}", type_in_words(expected));
            }
        }
    }
    message.to_string()
}

/// An example value for a key, for "add …" hints.
fn example_for(key: &str) -> Option<&'static str> {
    Some(match key {
        "name" => "name = \"my-fleet\"",
        "start" => "start = \"2025-01-06T00:00:00Z\"",
        "horizon" => "horizon = \"2y\"",
        "cohorts" => "[[cohorts]] with name, count, lifetime, power and client",
        "ca" => "[ca] with workers = 8 and service_time = \"500ms\"",
        "count" => "count = 1000",
        "lifetime" => "lifetime = \"365d\"",
        "power" => "power = { schedule = \"office\" }",
        "client" => "[cohorts.client] with triggers and renewal",
        "triggers" => "triggers = [{ kind = \"periodic\", every = \"4h\" }]",
        "renewal" => "renewal = { rule = \"before_expiry\", window = \"41d\" }",
        "window" => "window = \"41d\"",
        "fraction" => "fraction = 0.333",
        "renewal_period" => "renewal_period = \"6w\"",
        "workers" => "workers = 8",
        "service_time" => "service_time = \"500ms\"",
        "every" => "every = \"4h\"",
        "rule" => "rule = \"before_expiry\" (or fraction_remaining, adcs, anytime)",
        "schedule" => "schedule = \"office\" (or always_on, laptop, on_off, random_slots)",
        "action" => "action = \"stranded\" (or new_request, manual_recovery)",
        "pattern" => "pattern = \"steady\" (or at, ramp)",
        "dist" => "dist = \"exponential\" (or fixed, uniform, normal, lognormal, weibull)",
        "kind" => "kind = \"periodic\" for a trigger, kind = \"outage\" for an event",
        "from" => "from = \"2025-03-17\"",
        "share" => "share = 0.05",
        "duration" => "duration = \"30d\"",
        "capacity" => "capacity = 0.25",
        "mean_on" => "mean_on = \"8h\"",
        "mean_off" => "mean_off = \"16h\"",
        "p_online" => "p_online = 0.6",
        "slot" => "slot = \"1h\"",
        "delay" => "delay = \"2d\"",
        "mean" => "mean = \"500ms\"",
        "min" => "min = \"30d\"",
        "max" => "max = \"240d\"",
        "at" => "at = \"2025-03-01\"",
        "to" => "to = \"2025-03-18\"",
        _ => return None,
    })
}

/// "did you mean", "add …", or what the value should look like.
fn hint_for(message: &str, key: &str) -> Option<String> {
    if let Some(unknown) = unknown_name(message) {
        let expected = expected_names(message);
        let best = expected
            .iter()
            .map(|cand| (strsim::damerau_levenshtein(unknown, cand), *cand))
            .filter(|(d, cand)| *d <= 3.max(cand.len() / 3))
            .min();
        let elsewhere = || {
            ELSEWHERE
                .iter()
                .map(|(cand, place)| (strsim::damerau_levenshtein(unknown, cand), *cand, *place))
                .filter(|(d, cand, _)| *d <= 2.max(cand.len() / 4) && !expected.contains(cand))
                .min()
        };
        return Some(match best {
            Some((_, cand)) => format!("did you mean `{cand}`?"),
            None if message.starts_with("unknown field") && elsewhere().is_some() => {
                let (_, cand, place) = elsewhere().expect("checked");
                format!("did you mean `{cand}`? It belongs in {place}, not here")
            }
            None if expected.is_empty() => {
                "remove it: it is not part of the scenario format".to_string()
            }
            None => format!("expected one of: {}", expected.join(", ")),
        });
    }
    if let Some(name) = between(message, "missing field `", "`") {
        return Some(match example_for(name) {
            Some(example) => format!("add it, e.g. {example}"),
            None => format!("add `{name}`"),
        });
    }
    let leaf = key.rsplit('.').next().unwrap_or(key);
    let leaf = leaf.split('[').next().unwrap_or(leaf);
    if message.contains("expected u64") || message.contains("expected u32") {
        if message.contains("integer `-") {
            return Some(format!(
                "`{leaf}` cannot be negative: write a whole number of 0 or more"
            ));
        }
        return Some(format!(
            "write a whole number without quotes or decimals{}",
            example_for(leaf).map_or(String::new(), |e| format!(", e.g. {e}"))
        ));
    }
    if message.contains("expected f64") {
        return Some("write a plain number without quotes, e.g. 0.05".to_string());
    }
    if message.contains("expected internally tagged enum") {
        return Some(format!(
            "write an inline table{}",
            example_for(leaf).map_or(String::new(), |e| format!(", e.g. {e}"))
        ));
    }
    if message.starts_with("a bare number") || message.starts_with("invalid duration") {
        return Some("durations are strings with a unit: \"41d\", \"8h\", \"90s\"".to_string());
    }
    if message.starts_with("invalid date") {
        return Some("dates are strings: \"2025-12-25\" or \"2025-12-25T09:00:00Z\"".to_string());
    }
    if message.starts_with("invalid time of day") {
        return Some("a time of day is a string \"HH:MM\", e.g. \"08:30\"".to_string());
    }
    if let Some(name) = between(message, "unknown time zone \"", "\"") {
        return Some(match crate::model::zone::nearest_zone_name(name) {
            Some(nearest) => format!("did you mean `{nearest}`?"),
            None => "IANA names are Area/City, e.g. \"Europe/Berlin\", \"America/New_York\", \"Asia/Kolkata\"; or give an offset such as \"+01:00\"".to_string(),
        });
    }
    if message.starts_with("invalid UTC offset") {
        return Some("offsets run from \"-14:00\" to \"+14:00\", e.g. \"+01:00\"".to_string());
    }
    if message.contains("expected a sequence") {
        return Some("write an array: [ … ]".to_string());
    }
    if message.contains("expected a string") {
        return Some("put the value in double quotes".to_string());
    }
    None
}

/// Keys of the format that live in one place only, for "did you mean" when
/// a key is both misspelt and misplaced.
const ELSEWHERE: [(&str, &str); 14] = [
    (
        "renewal_period",
        "renewal = { rule = \"adcs\", renewal_period = … }",
    ),
    ("elapsed_fraction", "renewal = { rule = \"adcs\", … }"),
    (
        "window",
        "renewal = { rule = \"before_expiry\", window = … }",
    ),
    (
        "fraction",
        "renewal = { rule = \"fraction_remaining\", fraction = … }",
    ),
    ("retry_interval", "[cohorts.client]"),
    ("on_expiry", "[cohorts.client]"),
    ("accept_expired_for", "[server] or [cohorts.server]"),
    ("lifetime", "[[cohorts]]"),
    ("offline_episodes", "[[cohorts]]"),
    ("enrollment", "[[cohorts]]"),
    ("queue_limit", "[ca]"),
    ("service_time", "[ca]"),
    ("work_on_abandoned", "[ca]"),
    ("horizon", "the top level of the file"),
];

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

fn syntax_hint(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    if m.contains("must be quoted") {
        "put the value in double quotes, e.g. horizon = \"2y\""
    } else if m.contains("duplicate key") {
        "each key may appear only once in a table: remove or rename one of them"
    } else if m.contains("unclosed table") || m.contains("expected `]`") {
        "close the table header with `]`, e.g. [server] or [[cohorts]]"
    } else if m.contains("comma") || m.contains("expected `,`") {
        "separate the elements of an array or inline table with commas"
    } else if m.contains("string") || m.contains("quote") {
        "close the string with a double quote on the same line"
    } else if m.contains("newline") || m.contains("inline table") {
        "an inline table { … } must stay on one line; use a [table] for longer ones"
    } else {
        "check the TOML syntax near here: quotes around strings, `=` between key and value, matching brackets"
    }
}

/// The key path around a byte offset, read from the raw lines (for syntax
/// errors, when no document can be built): the last table header before
/// it, and the key on the error's line or the last one above it.
pub fn key_from_text(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let column = offset - line_start;
    let mut prefix = String::new();
    let mut counts: std::collections::HashMap<String, usize> = Default::default();
    let mut last_key: Option<String> = None;
    let mut lines = text[..line_start].lines().collect::<Vec<_>>();
    let this_line = text[line_start..].lines().next().unwrap_or("");
    lines.push(this_line);
    let n = lines.len();
    for (i, raw) in lines.iter().enumerate() {
        let line = raw.trim();
        let is_error_line = i + 1 == n;
        if line.starts_with('[') {
            let aot = line.starts_with("[[");
            let name = line
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim();
            let parts: Vec<&str> = name.split('.').map(str::trim).collect();
            let mut path = String::new();
            for (j, part) in parts.iter().enumerate() {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(part);
                let dotted = parts[..=j].join(".");
                if aot && j + 1 == parts.len() && !is_error_line {
                    *counts.entry(dotted.clone()).or_insert(0) += 1;
                }
                if let Some(&c) = counts.get(&dotted) {
                    path.push_str(&format!("[{}]", c.saturating_sub(1)));
                }
            }
            prefix = path;
            last_key = None;
            continue;
        }
        let upto = if is_error_line {
            &raw[..column.min(raw.len())]
        } else {
            raw
        };
        if let Some(key) = line_key(upto).or_else(|| is_error_line.then(|| line_key(raw)).flatten())
        {
            last_key = Some(key);
        }
    }
    let joined = match (prefix.is_empty(), last_key) {
        (_, None) if prefix.is_empty() => return None,
        (_, None) => prefix,
        (true, Some(k)) => k,
        (false, Some(k)) => format!("{prefix}.{k}"),
    };
    Some(joined)
}

/// `key = …` at the start of a line, and the innermost `k = ` of an inline
/// table after it.
fn line_key(line: &str) -> Option<String> {
    let trimmed = line.trim_start();
    if trimmed.starts_with('#') {
        return None;
    }
    let (head, rest) = trimmed.split_once('=')?;
    let head = head.trim().trim_matches('"');
    if head.is_empty()
        || !head
            .chars()
            .all(|c| c.is_alphanumeric() || "_-.".contains(c))
    {
        return None;
    }
    let mut key = head.to_string();
    if let Some(inner) = rest.rfind('{').map(|i| &rest[i + 1..]) {
        if let Some(k) = inner
            .split(',')
            .filter_map(|part| part.split_once('=').map(|(k, _)| k.trim()))
            .rfind(|k| !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_'))
        {
            key = format!("{key}.{k}");
        }
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_key() {
        let msg = "unknown field `renewal_periode`, expected one of `triggers`, `renewal`";
        assert_eq!(
            hint_for(msg, "").as_deref(),
            Some("did you mean `renewal_period`? It belongs in renewal = { rule = \"adcs\", renewal_period = … }, not here")
        );
        let msg =
            "unknown field `renewal_periode`, expected `renewal_period` or `elapsed_fraction`";
        assert_eq!(
            hint_for(msg, "").as_deref(),
            Some("did you mean `renewal_period`?")
        );
        let msg = "unknown variant `ofice`, expected one of `always_on`, `office`, `laptop`";
        assert_eq!(hint_for(msg, "").as_deref(), Some("did you mean `office`?"));
    }

    #[test]
    fn types_in_words() {
        assert_eq!(
            humanize("invalid value: integer `-5`, expected u64"),
            "expected a whole number of 0 or more, found integer `-5`"
        );
    }

    #[test]
    fn keys_from_raw_lines() {
        let text = "name = \"x\"\n[[cohorts]]\nname = \"a\"\n[[cohorts]]\ncount = 3\n[cohorts.client]\nrenewal = { rule = \"x\", window = 41d }\n";
        let at = text.find("41d").unwrap();
        assert_eq!(
            key_from_text(text, at).as_deref(),
            Some("cohorts[1].client.renewal.window")
        );
        let at = text.find("count").unwrap();
        assert_eq!(key_from_text(text, at).as_deref(), Some("cohorts[1].count"));
    }
}

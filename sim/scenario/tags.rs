//! Keys that serde would silently drop: an internally tagged table whose tag
//! names a variant without fields (`action = "stranded"`, `rule =
//! "anytime"`) ignores every other key, even with `deny_unknown_fields`.
//! Such a key is a mistake (often a parameter of another variant), so it is
//! reported like any unknown key.

use toml_edit::{Item, Table, Value};

use super::locate::{format_path, Step};
use super::Problem;

/// (tag key, variants that take no other key).
const UNIT_VARIANTS: [(&str, &[&str]); 4] = [
    ("schedule", &["always_on"]),
    ("rule", &["anytime"]),
    ("action", &["stranded", "new_request"]),
    ("pattern", &["steady"]),
];

/// The variant a stray key belongs to, for the hint.
fn owner(tag: &str, key: &str) -> Option<&'static str> {
    Some(match (tag, key) {
        ("rule", "window") => "before_expiry",
        ("rule", "fraction") => "fraction_remaining",
        ("rule", "renewal_period" | "elapsed_fraction") => "adcs",
        ("action", "delay") => "manual_recovery",
        ("pattern", "at") => "at",
        ("pattern", "from" | "to") => "ramp",
        ("schedule", "start" | "stop" | "start_sd" | "stop_sd" | "left_on_share" | "absence") => {
            "office"
        }
        ("schedule", "utc_offset" | "holidays" | "weekend_use") => "office",
        ("schedule", "sessions_per_day" | "session_length" | "active_from" | "active_to")
        | ("schedule", "idle_day") => "laptop",
        ("schedule", "mean_on" | "mean_off" | "distribution" | "weibull_shape") => "on_off",
        ("schedule", "p_online" | "slot") => "random_slots",
        _ => return None,
    })
}

/// Every key beside the tag of a field-less variant, with its key path.
pub fn stray_keys(doc: &Table) -> Vec<(Problem, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    walk_table(doc, &mut Vec::new(), &mut out);
    out
}

type Entry<'a> = (&'a str, Option<&'a Value>, Option<std::ops::Range<usize>>);

fn check(
    entries: Vec<Entry<'_>>,
    steps: &mut Vec<Step>,
    out: &mut Vec<(Problem, std::ops::Range<usize>)>,
) {
    for (tag, units) in UNIT_VARIANTS {
        let Some(variant) = entries
            .iter()
            .find(|(k, _, _)| *k == tag)
            .and_then(|(_, v, _)| v.and_then(|v| v.as_str()))
        else {
            continue;
        };
        if !units.contains(&variant) {
            continue;
        }
        for (key, _, span) in entries.iter().filter(|(k, _, _)| *k != tag) {
            steps.push(Step::Key(key.to_string()));
            let hint = match owner(tag, key) {
                Some(v) => {
                    format!("`{key}` belongs to {tag} = \"{v}\"; remove it or change the {tag}")
                }
                None => format!("remove it: {tag} = \"{variant}\" takes no other keys"),
            };
            out.push((
                Problem {
                    path: format_path(steps),
                    message: format!(
                        "unknown field `{key}`: {tag} = \"{variant}\" takes no parameters"
                    ),
                    hint: Some(hint),
                },
                span.clone().unwrap_or(0..0),
            ));
            steps.pop();
        }
    }
}

fn walk_table(t: &Table, steps: &mut Vec<Step>, out: &mut Vec<(Problem, std::ops::Range<usize>)>) {
    let entries = t
        .iter()
        .map(|(k, item)| (k, item.as_value(), t.key(k).and_then(|key| key.span())));
    let entries = entries.collect();
    check(entries, steps, out);
    for (k, item) in t.iter() {
        if steps.is_empty() && k == "sweep" {
            // Read by `certfleet sweep`, with its own format.
            continue;
        }
        steps.push(Step::Key(k.to_string()));
        match item {
            Item::Table(tt) => walk_table(tt, steps, out),
            Item::ArrayOfTables(a) => {
                for (i, tt) in a.iter().enumerate() {
                    steps.push(Step::Index(i));
                    walk_table(tt, steps, out);
                    steps.pop();
                }
            }
            Item::Value(v) => walk_value(v, steps, out),
            Item::None => {}
        }
        steps.pop();
    }
}

fn walk_value(v: &Value, steps: &mut Vec<Step>, out: &mut Vec<(Problem, std::ops::Range<usize>)>) {
    match v {
        Value::InlineTable(t) => {
            let entries = t
                .iter()
                .map(|(k, v)| (k, Some(v), t.key(k).and_then(|key| key.span())))
                .collect();
            check(entries, steps, out);
            for (k, v) in t.iter() {
                steps.push(Step::Key(k.to_string()));
                walk_value(v, steps, out);
                steps.pop();
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                steps.push(Step::Index(i));
                walk_value(v, steps, out);
                steps.pop();
            }
        }
        _ => {}
    }
}

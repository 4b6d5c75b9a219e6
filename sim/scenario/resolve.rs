//! Expands presets into a scenario document before it is deserialized.
//!
//! For each cohort whose `client` names a preset, the preset's fragment is
//! laid under what the scenario writes: the scenario's own keys always win,
//! tables merge key by key, and a table that switches variant (a different
//! `rule`, `kind`, `action`, `schedule`, `dist` or `pattern`) replaces the
//! preset's instead of merging with it. Server policies layer as: preset,
//! then the scenario's `[server]`, then the cohort's own `server`.

use toml::{Table, Value};

use super::validate::Problem;
use crate::presets;

/// Keys that select an enum variant: a change of one of these replaces.
const DISCRIMINATORS: [&str; 6] = ["rule", "kind", "action", "schedule", "dist", "pattern"];

/// Lays `over` onto `base` (over wins).
pub fn merge(base: &mut Table, over: Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(b)), Value::Table(o)) if !switches_variant(b, &o) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn switches_variant(base: &Table, over: &Table) -> bool {
    DISCRIMINATORS
        .iter()
        .any(|d| matches!((base.get(*d), over.get(*d)), (Some(a), Some(b)) if a != b))
}

/// Expands every preset reference in `doc`. Problems name key paths.
pub fn expand_presets(doc: &mut Table) -> Result<(), Problem> {
    let top_server = doc.get("server").and_then(Value::as_table).cloned();
    let mut stages_from_presets = Table::new();
    let Some(Value::Array(cohorts)) = doc.get_mut("cohorts") else {
        return Ok(());
    };
    for (i, cohort) in cohorts.iter_mut().enumerate() {
        let Value::Table(cohort) = cohort else {
            continue;
        };
        let Some((name, variant, overrides)) = preset_reference(cohort, i)? else {
            continue;
        };
        let preset = presets::find(&name).ok_or_else(|| unknown_preset(&name, i))?;
        let mut fragment: Table =
            toml::from_str(preset.text).expect("presets are valid TOML (tested)");
        if let Some(variant) = &variant {
            let overlay = fragment
                .get("variants")
                .and_then(|v| v.get(variant))
                .and_then(Value::as_table)
                .cloned()
                .ok_or_else(|| unknown_variant(preset, variant, i))?;
            merge(&mut fragment, overlay);
        }
        let mut base = match fragment.remove("cohort") {
            Some(Value::Table(t)) => t,
            _ => Table::new(),
        };
        // Client: the preset's, with the scenario's overrides on top.
        let mut client = match base.remove("client") {
            Some(Value::Table(t)) => t,
            _ => Table::new(),
        };
        merge(&mut client, overrides);
        // Server: preset, then [server], then the cohort's own.
        let mut server = match base.remove("server") {
            Some(Value::Table(t)) => t,
            _ => Table::new(),
        };
        if let Some(top) = &top_server {
            merge(&mut server, top.clone());
        }
        if let Some(Value::Table(own)) = cohort.remove("server") {
            merge(&mut server, own);
        }
        // Everything else the preset sets (lifetime, route) unless written.
        for (key, value) in base {
            cohort.entry(key).or_insert(value);
        }
        cohort.insert("client".into(), Value::Table(client));
        cohort.insert("server".into(), Value::Table(server));
        cohort.insert(
            "preset".into(),
            Value::String(match &variant {
                Some(v) => format!("{name} ({v})"),
                None => name.clone(),
            }),
        );
        if let Some(Value::Table(stages)) = fragment.remove("stages") {
            for (stage, config) in stages {
                stages_from_presets.entry(stage).or_insert(config);
            }
        }
    }
    if !stages_from_presets.is_empty() {
        // The scenario's own [stages.NAME] keys win over the presets'.
        let mut stages = stages_from_presets;
        if let Some(Value::Table(own)) = doc.remove("stages") {
            merge(&mut stages, own);
        }
        doc.insert("stages".into(), Value::Table(stages));
    }
    Ok(())
}

/// `client = "name"` or `client = { preset = "name", variant = "v", … }`:
/// the preset's name, its variant and the remaining overrides.
fn preset_reference(
    cohort: &mut Table,
    i: usize,
) -> Result<Option<(String, Option<String>, Table)>, Problem> {
    match cohort.get_mut("client") {
        Some(Value::String(name)) => {
            let name = name.clone();
            Ok(Some((name, None, Table::new())))
        }
        Some(Value::Table(t)) if t.contains_key("preset") => {
            let mut overrides = t.clone();
            let name = match overrides.remove("preset") {
                Some(Value::String(s)) => s,
                _ => {
                    return Err(Problem {
                        path: format!("cohorts[{i}].client.preset"),
                        message: "expected the preset's name as a string".into(),
                        hint: Some(format!("presets: {}", presets::names().join(", "))),
                    })
                }
            };
            let variant = match overrides
                .remove("variant")
                .or_else(|| overrides.remove("platform"))
            {
                Some(Value::String(s)) => Some(s),
                None => None,
                Some(_) => {
                    return Err(Problem {
                        path: format!("cohorts[{i}].client.variant"),
                        message: "expected the variant's name as a string".into(),
                        hint: None,
                    })
                }
            };
            Ok(Some((name, variant, overrides)))
        }
        _ => Ok(None),
    }
}

fn unknown_preset(name: &str, i: usize) -> Problem {
    let names = presets::names();
    let nearest = names
        .iter()
        .min_by_key(|n| strsim::damerau_levenshtein(name, n))
        .filter(|n| strsim::damerau_levenshtein(name, n) <= 3);
    Problem {
        path: format!("cohorts[{i}].client"),
        message: format!("unknown preset {name:?}"),
        hint: Some(match nearest {
            Some(n) => format!("did you mean `{n}`? (`certfleet presets` lists them all)"),
            None => format!(
                "presets: {} (`certfleet presets` shows what each sets)",
                names.join(", ")
            ),
        }),
    }
}

fn unknown_variant(preset: &presets::Preset, variant: &str, i: usize) -> Problem {
    let table: Table = toml::from_str(preset.text).expect("presets are valid TOML");
    let variants: Vec<String> = table
        .get("variants")
        .and_then(Value::as_table)
        .map(|v| v.keys().cloned().collect())
        .unwrap_or_default();
    Problem {
        path: format!("cohorts[{i}].client.variant"),
        message: format!("preset `{}` has no variant {variant:?}", preset.name),
        hint: Some(if variants.is_empty() {
            "this preset has no variants".into()
        } else {
            format!("variants: {}", variants.join(", "))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_keys_win_and_variant_switches_replace() {
        let mut base: Table = toml::from_str(
            "a = 1\n[r]\nrule = \"before_expiry\"\nwindow = \"41d\"\n[t]\nx = 1\ny = 2",
        )
        .unwrap();
        let over: Table =
            toml::from_str("a = 2\n[r]\nrule = \"fraction_remaining\"\nfraction = 0.2\n[t]\ny = 3")
                .unwrap();
        merge(&mut base, over);
        assert_eq!(base["a"].as_integer(), Some(2));
        assert!(
            base["r"].get("window").is_none(),
            "a new rule replaces the old table"
        );
        assert_eq!(base["t"].get("x").and_then(Value::as_integer), Some(1));
        assert_eq!(base["t"].get("y").and_then(Value::as_integer), Some(3));
    }
}

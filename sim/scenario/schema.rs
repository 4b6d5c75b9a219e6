//! The JSON Schema of scenario files as people write them, for editors
//! (taplo / Even Better TOML validate and complete TOML against it) and
//! checks in CI: `certfleet schema`.
//!
//! It is derived from the model's types (schemars reads their serde
//! attributes and doc comments), so it cannot drift from what the loader
//! accepts; then it is widened to the file as written, which is more than
//! the model's `Scenario`:
//! - a cohort's `client` may name a preset (`client = "intune-mdm"`) or be a
//!   table `{ preset = "…", variant = "…", <overrides> }`; such a cohort may
//!   leave out `lifetime` (the preset gives it);
//! - values laid over a preset merge key by key (README, "Presets"), so in
//!   the override table, in `[server]` and a cohort's `server`, and in
//!   `[stages.NAME]`, a nested table may give only the keys it changes:
//!   there every key is optional, but unknown keys are still refused;
//! - the `[sweep]` table, which only `certfleet sweep` reads.
//!
//! The loader remains the judge: it also checks ranges, contradictions and
//! what a merge leaves incomplete, with line:column errors.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde_json::{json, Map, Value};

use crate::model::Scenario;
use crate::presets;

/// The schema's `$id`-less title, shown by editors.
const TITLE: &str = "certfleet scenario";

/// The schema of a scenario file, as `certfleet schema` prints it.
pub fn scenario_schema() -> Value {
    // Draft-07: what taplo and most editors support.
    let mut generator = SchemaSettings::draft07().for_deserialize().into_generator();
    let root: Schema = generator.root_schema_for::<Scenario>();
    let sweep: Schema = generator.subschema_for::<SweepTable>();
    let mut root = root.to_value();
    // `subschema_for` after the root added definitions the root lacks.
    let extra = generator.take_definitions(true);
    let defs = root
        .as_object_mut()
        .expect("a root schema is an object")
        .entry("definitions")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("definitions is an object");
    for (name, def) in extra {
        defs.entry(name).or_insert(def);
    }
    let root_obj = root.as_object_mut().expect("object");
    root_obj.insert("title".into(), json!(TITLE));
    root_obj.insert(
        "description".into(),
        json!("A certfleet scenario (TOML): cohorts of devices, their renewal clients, the enrollment service's policy, the CA and its stages, scheduled events. See the README's \"Scenario format\"."),
    );
    let defs = root_obj["definitions"].clone();
    // [sweep]
    root_obj["properties"]
        .as_object_mut()
        .expect("properties")
        .insert("sweep".into(), sweep.to_value());
    // Partial forms of the tables that merge over presets.
    let mut partials = Map::new();
    let partial_server = partial(
        &json!({"$ref": "#/definitions/EligibilityPolicy"}),
        &defs,
        &mut partials,
    );
    let partial_stage = partial(
        &json!({"$ref": "#/definitions/StageConfig"}),
        &defs,
        &mut partials,
    );
    let props = root_obj["properties"].as_object_mut().expect("properties");
    props.insert(
        "server".into(),
        described(partial_server.clone(), &props["server"]),
    );
    props.insert(
        "stages".into(),
        json!({
            "description": "Stages before the CA (reverse proxy, NDES, connector) by name, with the keys of [ca]; a cohort's `route` lists those its requests pass. A stage a preset brings may be given only the keys that change.",
            "type": "object",
            "additionalProperties": partial_stage,
        }),
    );
    let cohort = root_obj["definitions"]["Cohort"]
        .as_object_mut()
        .expect("Cohort is an object");
    widen_cohort(cohort, &defs, &mut partials, partial_server);
    let defs_mut = root_obj["definitions"].as_object_mut().expect("object");
    for (name, def) in partials {
        defs_mut.insert(name, def);
    }
    root
}

/// Keeps `schema`, with the description of `original` if it has none.
fn described(mut schema: Value, original: &Value) -> Value {
    if let (Some(obj), Some(d)) = (schema.as_object_mut(), original.get("description")) {
        obj.entry("description").or_insert(d.clone());
    }
    schema
}

/// A cohort as written: `client` may be a preset; `lifetime` is then
/// optional; `server` merges over the preset's and `[server]`.
fn widen_cohort(
    cohort: &mut Map<String, Value>,
    defs: &Value,
    partials: &mut Map<String, Value>,
    partial_server: Value,
) {
    let names: Vec<&str> = presets::names();
    let partial_client = partial(
        &json!({"$ref": "#/definitions/ClientProfile"}),
        defs,
        partials,
    );
    let mut override_props = partial_client
        .get("properties")
        .cloned()
        .or_else(|| {
            let name = partial_client["$ref"].as_str()?.rsplit('/').next()?;
            partials.get(name)?.get("properties").cloned()
        })
        .unwrap_or_else(|| json!({}));
    let override_props = override_props.as_object_mut().expect("properties");
    override_props.insert(
        "preset".into(),
        json!({"description": "The preset for a real renewal system (`certfleet presets` lists them).", "enum": names}),
    );
    override_props.insert(
        "variant".into(),
        json!({"description": "A variant of the preset, e.g. \"ios\" for intune-scep or \"legacy\" for acme-certbot.", "type": "string"}),
    );
    let props = cohort
        .get_mut("properties")
        .and_then(Value::as_object_mut)
        .expect("Cohort has properties");
    let client_description = props["client"].get("description").cloned();
    props.insert(
        "client".into(),
        json!({
            "description": client_description.unwrap_or(json!("The renewal client.")),
            "anyOf": [
                {"description": "A preset by name (`certfleet presets`).", "enum": names},
                {
                    "description": "A preset with overrides: the preset's values, with the keys given here laid over them key by key.",
                    "type": "object",
                    "properties": override_props,
                    "required": ["preset"],
                    "additionalProperties": false
                },
                {"$ref": "#/definitions/ClientProfile"}
            ]
        }),
    );
    let server_description = props.get("server").cloned().unwrap_or(Value::Null);
    props.insert(
        "server".into(),
        described(partial_server, &server_description),
    );
    // `lifetime` comes from the preset when the client is one.
    if let Some(required) = cohort.get_mut("required").and_then(Value::as_array_mut) {
        required.retain(|r| r != "lifetime");
    }
    cohort.insert(
        "if".into(),
        json!({
            "properties": {"client": {"type": "object", "not": {"required": ["preset"]}}},
            "required": ["client"]
        }),
    );
    cohort.insert("then".into(), json!({"required": ["lifetime"]}));
}

/// The partial form of a schema: every key optional at every depth, one
/// object for all the variants of a tagged table (so `{ window = "30d" }`
/// may change the window of a preset's `before_expiry` rule), unknown
/// keys still refused. Definitions are partialized once, as `Partial…`.
fn partial(schema: &Value, defs: &Value, out: &mut Map<String, Value>) -> Value {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        let def = defs.get(name).cloned().unwrap_or(json!({}));
        if !has_tables(&def, defs) {
            return schema.clone();
        }
        let partial_name = format!("Partial{name}");
        if !out.contains_key(&partial_name) {
            out.insert(partial_name.clone(), json!({})); // recursion guard
            let p = partial(&def, defs, out);
            out.insert(partial_name.clone(), p);
        }
        return json!({"$ref": format!("#/definitions/{partial_name}")});
    }
    let Some(obj) = schema.as_object() else {
        return schema.clone();
    };
    // `{ "description": …, "allOf": [{ "$ref": … }] }`: a reference with a
    // description or default beside it (draft-07 allows no siblings).
    if let Some([only]) = obj
        .get("allOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        let mut o = obj.clone();
        o.insert("allOf".into(), json!([partial(only, defs, out)]));
        return Value::Object(o);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alternatives) = obj.get(key).and_then(Value::as_array) {
            return partial_alternatives(obj, alternatives, defs, out);
        }
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        let mut o = obj.clone();
        o.remove("required");
        let props: Map<String, Value> = props
            .iter()
            .map(|(k, v)| (k.clone(), partial(v, defs, out)))
            .collect();
        o.insert("properties".into(), Value::Object(props));
        return Value::Object(o);
    }
    schema.clone()
}

/// Whether a schema describes a table (or alternatives of which one is).
fn has_tables(schema: &Value, defs: &Value) -> bool {
    if schema.get("properties").is_some() {
        return true;
    }
    ["oneOf", "anyOf", "allOf"].iter().any(|key| {
        schema
            .get(*key)
            .and_then(Value::as_array)
            .is_some_and(|alts| {
                alts.iter()
                    .any(|alt| match alt.get("$ref").and_then(Value::as_str) {
                        Some(r) => defs
                            .get(r.rsplit('/').next().unwrap_or(r))
                            .is_some_and(|d| has_tables(d, defs)),
                        None => has_tables(alt, defs),
                    })
            })
    })
}

/// Variants of a tagged table merged into one object with every key
/// optional (the tag: any of the variants' names); alternatives that are
/// not tables (a plain duration for a distribution) stay beside it.
fn partial_alternatives(
    obj: &Map<String, Value>,
    alternatives: &[Value],
    defs: &Value,
    out: &mut Map<String, Value>,
) -> Value {
    let resolve = |v: &Value| -> Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => defs
                .get(r.rsplit('/').next().unwrap_or(r))
                .cloned()
                .unwrap_or(json!({})),
            None => v.clone(),
        }
    };
    let mut merged: Map<String, Value> = Map::new();
    let mut others = Vec::new();
    let mut tables = 0;
    for alt in alternatives {
        let resolved = resolve(alt);
        let Some(props) = resolved.get("properties").and_then(Value::as_object) else {
            others.push(partial(alt, defs, out));
            continue;
        };
        tables += 1;
        for (key, value) in props {
            let value = partial(value, defs, out);
            match merged.get_mut(key) {
                None => {
                    merged.insert(key.clone(), value);
                }
                Some(existing) if *existing == value => {}
                Some(existing) => {
                    let mut choices = match existing.get("anyOf") {
                        Some(Value::Array(a))
                            if existing.as_object().is_some_and(|o| o.len() == 1) =>
                        {
                            a.clone()
                        }
                        _ => vec![existing.clone()],
                    };
                    if !choices.contains(&value) {
                        choices.push(value);
                    }
                    *existing = json!({"anyOf": choices});
                }
            }
        }
    }
    if tables == 0 {
        return Value::Object(obj.clone());
    }
    let mut table = json!({"type": "object", "properties": merged, "additionalProperties": false});
    if let Some(d) = obj.get("description") {
        table["description"] = d.clone();
    }
    if others.is_empty() {
        return table;
    }
    others.push(table);
    let mut result = json!({"anyOf": others});
    if let Some(d) = obj.get("description") {
        result["description"] = d.clone();
    }
    result
}

/// The `[sweep]` table as written (`certfleet sweep` reads it with its own
/// parser, which refuses unknown keys as this schema does).
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SweepTable {
    /// Replications of each point of the grid (1 to 100,000; default 10).
    #[schemars(range(min = 1, max = 100000))]
    replications: Option<u32>,
    /// Target: the largest acceptable expiry rate, a share (0.001) or a percentage string ("0.1%").
    max_expiry_rate: Option<Rate>,
    /// Target: the largest acceptable number of CA arrivals in the busiest hour.
    #[schemars(range(min = 0))]
    max_peak_per_hour: Option<f64>,
    /// The parameters; the grid is their product.
    params: Option<Vec<SweepParam>>,
}

/// A share as a number (0.001) or a percentage string ("0.1%").
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum Rate {
    Share(f64),
    Percent(String),
}

/// One swept parameter: key paths set to each value in turn.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SweepParam {
    /// Column name in the outputs (default: the path's last key).
    name: Option<String>,
    /// A key path such as "ca.workers" or "cohorts.*.client.renewal.window"
    /// (`*`: every element, `[n]`: one).
    path: Option<String>,
    /// Several key paths that all take the same value.
    paths: Option<Vec<String>>,
    /// The values, of any TOML type (inline tables included).
    values: Option<Vec<serde_json::Value>>,
    /// A range instead of values: first value (a number or a duration such as "7d").
    from: Option<serde_json::Value>,
    /// A range: last value (included if on the grid).
    to: Option<serde_json::Value>,
    /// A range: the step.
    step: Option<serde_json::Value>,
}

//! `report.html`: one self-contained page (inline SVG and CSS, no scripts,
//! nothing fetched) with the scenario's question and parameters, the
//! headline numbers, the charts and the per-cohort tables.
//!
//! Every number taken from summary.json is written as
//! `<span class="num" data-key="/json/pointer" data-value="…">shown</span>`,
//! so a test (or a reader) can check the page against summary.json.

use std::fmt::Write as _;

use serde_json::Value;

use super::charts::Rendered;
use super::summary::Summary;
use crate::metrics::Counter;

pub(crate) use super::units::Show;

pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn show_value(v: &Value, show: Show) -> String {
    show.format(v)
}

fn show_tag(show: Show) -> &'static str {
    match show {
        Show::Int => "int",
        Show::Pct => "pct",
        Show::Duration => "duration",
        Show::Number => "number",
        Show::Text => "text",
    }
}

/// JSON pointer of a path of keys (RFC 6901 escaping).
pub(crate) fn pointer(path: &[&str]) -> String {
    path.iter()
        .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// A number from a summary, tagged with where it comes from.
pub(crate) fn num(json: &Value, path: &[&str], show: Show) -> String {
    let key = pointer(path);
    let v = json.pointer(&key).cloned().unwrap_or(Value::Null);
    format!(
        r#"<span class="num" data-key="{}" data-value="{}" data-show="{}">{}</span>"#,
        escape(&key),
        escape(&v.to_string()),
        show_tag(show),
        escape(&show_value(&v, show))
    )
}

pub(crate) const STYLE: &str = r#"
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #1e1e1e;
  background: #f6f7f9; margin: 0; line-height: 1.45; font-size: 15px; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; }
h3 { font-size: 15.5px; margin: 18px 0 8px; color: #333; }
h2 { font-size: 19px; margin: 32px 0 10px; border-bottom: 2px solid #e4e6ea; padding-bottom: 4px; }
.meta { color: #555; margin: 0 0 8px; font-size: 14px; }
.question { background: #eef4fb; border-left: 4px solid #0072b2; padding: 10px 14px; margin: 12px 0;
  white-space: pre-wrap; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 10px; }
.card { border: 1px solid #e1e4e8; border-radius: 6px; padding: 10px 12px; background: #fbfbfc; }
.card .label { color: #555; font-size: 13px; }
.card .value { font-size: 21px; font-weight: bold; margin-top: 2px; }
.card .sub { color: #555; font-size: 12.5px; }
figure { margin: 18px 0 26px; }
figure svg { width: 100%; height: auto; display: block; border: 1px solid #eceef1; }
figcaption { color: #444; font-size: 13.5px; margin-top: 6px; }
table { border-collapse: collapse; font-size: 13.5px; margin: 8px 0 16px; }
th, td { border-bottom: 1px solid #e4e6ea; padding: 5px 10px; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f1f3f5; }
td.text, th.text { text-align: left; }
.params td { text-align: left; }
.note { color: #555; font-size: 13px; }
tr.best td { background: #fdecea; font-weight: bold; }
pre { background: #f6f8fa; padding: 10px; overflow-x: auto; font-size: 12px; }
"#;

/// Writes the opening of a page.
pub(crate) fn page_start(out: &mut String, title: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n",
        escape(title),
        STYLE
    );
}

pub(crate) fn page_end(out: &mut String) {
    out.push_str("</main>\n</body>\n</html>\n");
}

/// A chart as an inline SVG figure with `id="chart-NAME"`.
pub(crate) fn figure(out: &mut String, chart: &Rendered) {
    // The SVG is written by plotters; an XML prolog, if any, is not valid
    // inside HTML.
    let svg = match chart.svg.find("<svg") {
        Some(i) => &chart.svg[i..],
        None => chart.svg.as_str(),
    };
    let _ = write!(
        out,
        "<figure id=\"chart-{}\" class=\"chart\">\n{}\n<figcaption><b>{}.</b> {} \
         <span class=\"note\">(also {}.png and {}.svg in charts/)</span></figcaption>\n</figure>\n",
        chart.name,
        svg.trim_end(),
        escape(&chart.title),
        escape(&chart.caption),
        chart.name,
        chart.name
    );
}

/// A short text for a JSON parameter: `key: value; …`, nested in braces.
pub(crate) fn inline(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "—".into(),
        Value::Array(items) => items.iter().map(inline).collect::<Vec<_>>().join(", "),
        Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !matches!(v, Value::Array(a) if a.is_empty()))
            .map(|(k, v)| match v {
                Value::Object(_) => format!("{k}: {{{}}}", inline(v)),
                _ => format!("{k}: {}", inline(v)),
            })
            .collect::<Vec<_>>()
            .join("; "),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

fn card(out: &mut String, label: &str, value: String, sub: String) {
    let _ = writeln!(
        out,
        "<div class=\"card\"><div class=\"label\">{}</div><div class=\"value\">{value}</div>\
         {}</div>",
        escape(label),
        if sub.is_empty() {
            String::new()
        } else {
            format!("<div class=\"sub\">{sub}</div>")
        }
    );
}

/// The rows of the per-cohort table: the derived figures, then every
/// counter of [`Counter`] with its label.
fn cohort_rows() -> Vec<(&'static str, &'static str, Show)> {
    let mut rows = vec![
        ("devices", "devices", Show::Int),
        ("expiry rate", "expiry_rate", Show::Pct),
        ("expiry rate, 95 % CI", "expiry_rate_ci95", Show::Pct),
        (
            "device-days without a valid certificate",
            "expired_device_days",
            Show::Number,
        ),
    ];
    rows.extend(Counter::ALL.iter().map(|c| {
        let info = c.info();
        (info.label, info.name, Show::Int)
    }));
    rows
}

/// A table with one column per summary object (`columns`: header and JSON
/// path) and one row per field (`rows`: label, `/`-separated field path,
/// display). A field holding a [low, high] pair shows as an interval.
fn summary_table(
    out: &mut String,
    id: &str,
    json: &Value,
    columns: &[(String, Vec<&str>)],
    rows: &[(&str, &str, Show)],
) {
    let _ = write!(out, "<table id=\"{id}\">\n<thead><tr><th></th>");
    for (name, _) in columns {
        let _ = write!(out, "<th>{}</th>", escape(name));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for &(label, field, show) in rows {
        let _ = write!(out, "<tr><th class=\"text\">{}</th>", escape(label));
        for (_, path) in columns {
            let mut p = path.clone();
            p.extend(field.split('/'));
            let cell = if json.pointer(&pointer(&p)).is_some_and(Value::is_array) {
                let (mut lo, mut hi) = (p.clone(), p);
                lo.push("0");
                hi.push("1");
                format!("{} – {}", num(json, &lo, show), num(json, &hi, show))
            } else {
                num(json, &p, show)
            };
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn cohort_table(out: &mut String, json: &Value, summary: &Summary) {
    let mut columns: Vec<(String, Vec<&str>)> = summary
        .cohorts
        .keys()
        .map(|n| (n.clone(), vec!["cohorts", n.as_str()]))
        .collect();
    columns.push(("all cohorts".into(), vec!["totals"]));
    summary_table(out, "cohort-table", json, &columns, &cohort_rows());
}

/// Rows of the stage table: label, field of a stage summary, display.
const STAGE_ROWS: &[(&str, &str, Show)] = &[
    ("workers", "workers", Show::Int),
    ("requests", "arrivals", Show::Int),
    ("served (passed on)", "served", Show::Int),
    ("refused (queue full)", "refused", Show::Int),
    ("timed out", "timed_out", Show::Int),
    ("failed by outage", "failed_outage", Show::Int),
    ("challenge expired", "challenge_expired", Show::Int),
    ("peak minute", "peak_minute/arrivals", Show::Int),
    ("peak hour (60 min)", "peak_hour/arrivals", Show::Int),
    ("queue wait p99", "wait_p99_s", Show::Duration),
    ("longest queue", "max_queue", Show::Int),
    ("utilisation", "utilisation", Show::Pct),
    (
        "waiting or in service at the end",
        "in_system_at_end",
        Show::Int,
    ),
];

/// The stages before the CA and the CA itself, side by side (only when the
/// scenario routes requests through stages).
fn stage_table(out: &mut String, json: &Value, summary: &Summary) {
    let mut columns: Vec<(String, Vec<&str>)> = summary
        .stages
        .keys()
        .map(|n| (n.clone(), vec!["stages", n.as_str()]))
        .collect();
    columns.push(("CA".into(), vec!["ca"]));
    summary_table(out, "stage-table", json, &columns, STAGE_ROWS);
}

fn parameters(out: &mut String, json: &Value) {
    let p = &json["parameters"];
    out.push_str("<table class=\"params\" id=\"parameter-table\">\n<tbody>\n");
    let row = |out: &mut String, k: &str, v: &str| {
        let _ = writeln!(
            out,
            "<tr><th class=\"text\">{}</th><td>{}</td></tr>",
            escape(k),
            escape(v)
        );
    };
    row(
        out,
        "time",
        &format!(
            "from {} for {}, seed {}",
            inline(&p["start"]),
            inline(&p["horizon"]),
            inline(&p["seed"])
        ),
    );
    if let Some(cohorts) = p["cohorts"].as_array() {
        for c in cohorts {
            let mut text = format!(
                "{} devices, lifetime {}; enrollment {{{}}}; power {{{}}}; client {{{}}}",
                inline(&c["count"]),
                inline(&c["lifetime"]),
                inline(&c["enrollment"]),
                inline(&c["power"]),
                inline(&c["client"])
            );
            if c["offline_episodes"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
            {
                let _ = write!(
                    text,
                    "; offline episodes {}",
                    inline(&c["offline_episodes"])
                );
            }
            if !c["server"].is_null() {
                let _ = write!(text, "; server {{{}}}", inline(&c["server"]));
            }
            row(out, &format!("cohort {}", inline(&c["name"])), &text);
        }
    }
    row(out, "server", &inline(&p["server"]));
    row(out, "CA", &inline(&p["ca"]));
    row(out, "events", &inline(&p["events"]));
    out.push_str("</tbody>\n</table>\n");
    let pretty = serde_json::to_string_pretty(p).unwrap_or_default();
    let _ = writeln!(
        out,
        "<details><summary>The whole scenario as the engine read it (JSON)</summary>\
         <pre>{}</pre></details>",
        escape(&pretty)
    );
}

/// The whole page.
pub fn run_report(summary: &Summary, charts: &[Rendered]) -> String {
    let json = serde_json::to_value(summary).unwrap_or(Value::Null);
    let mut out = String::with_capacity(256 * 1024);
    page_start(&mut out, &format!("certfleet — {}", summary.scenario));
    let _ = write!(
        out,
        "<h1>{}</h1>\n<p class=\"meta\">seed {} · {} → {} · certfleet {} · {}</p>\n",
        escape(&summary.scenario),
        num(&json, &["seed"], Show::Text),
        num(&json, &["start"], Show::Text),
        num(&json, &["end"], Show::Text),
        escape(summary.certfleet_version),
        escape(summary.format)
    );
    out.push_str("<section id=\"question\">\n<h2>The question</h2>\n");
    if summary.parameters.description.trim().is_empty() {
        out.push_str(
            "<p class=\"question note\">The scenario file has no <code>description</code>; \
             add one to say what question this run answers.</p>\n",
        );
    } else {
        let _ = writeln!(
            out,
            "<p class=\"question\">{}</p>",
            escape(summary.parameters.description.trim())
        );
    }
    out.push_str("</section>\n");

    out.push_str("<section id=\"headline\">\n<h2>The answer</h2>\n");
    let mut section: Option<&str> = None;
    for item in &summary.headline {
        if section != Some(item.section.as_str()) {
            if section.is_some() {
                out.push_str("</div>\n");
            }
            let _ = writeln!(
                out,
                "<h3>{}</h3>\n<div class=\"cards\">",
                escape(&item.section)
            );
            section = Some(&item.section);
        }
        let path: Vec<&str> = item.key.split('/').skip(1).collect();
        let path: Vec<String> = path
            .iter()
            .map(|p| p.replace("~1", "/").replace("~0", "~"))
            .collect();
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        card(
            &mut out,
            &item.label,
            num(&json, &path, item.show),
            String::new(),
        );
    }
    if section.is_some() {
        out.push_str("</div>\n");
    }
    let j = &json;
    let _ = writeln!(
        out,
        "<p class=\"note\">CA: {} requests, {} served · {} refused · {} timed out · {} failed by outage; \
         peak minute {} at {}; peak hour {} from {}; queue wait p50 {} · p95 {} · p99 {} · mean {}; \
         utilisation {} (workers: {}).</p>",
        num(j, &["ca", "arrivals"], Show::Int),
        num(j, &["ca", "served"], Show::Int),
        num(j, &["ca", "refused"], Show::Int),
        num(j, &["ca", "timed_out"], Show::Int),
        num(j, &["ca", "failed_outage"], Show::Int),
        num(j, &["ca", "peak_minute", "arrivals"], Show::Int),
        num(j, &["ca", "peak_minute", "at"], Show::Text),
        num(j, &["ca", "peak_hour", "arrivals"], Show::Int),
        num(j, &["ca", "peak_hour", "at"], Show::Text),
        num(j, &["ca", "wait_p50_s"], Show::Duration),
        num(j, &["ca", "wait_p95_s"], Show::Duration),
        num(j, &["ca", "wait_p99_s"], Show::Duration),
        num(j, &["ca", "wait_mean_s"], Show::Duration),
        num(j, &["ca", "utilisation"], Show::Pct),
        num(j, &["ca", "workers"], Show::Int),
    );
    out.push_str("</section>\n\n");

    out.push_str("<section id=\"charts\">\n<h2>Charts</h2>\n");
    for chart in charts {
        figure(&mut out, chart);
    }
    out.push_str("</section>\n");

    out.push_str("<section id=\"cohorts\">\n<h2>Per cohort</h2>\n");
    cohort_table(&mut out, &json, summary);
    out.push_str("</section>\n");

    if !summary.stages.is_empty() {
        out.push_str("<section id=\"stages\">\n<h2>Stages</h2>\n");
        out.push_str(
            "<p class=\"note\">Requests pass through these stages before the CA; a request that fails at a \
             stage never reaches the next.</p>\n",
        );
        stage_table(&mut out, &json, summary);
        out.push_str("</section>\n");
    }

    out.push_str("<section id=\"parameters\">\n<h2>Parameters</h2>\n");
    parameters(&mut out, &json);
    out.push_str("</section>\n");
    let _ = writeln!(
        out,
        "<p class=\"note\">Written by certfleet {}. The same scenario and seed give the same \
         report, byte for byte. Machine-readable (seconds and shares, not the units shown here): \
         summary.json, timeseries.csv, daily.csv, cohorts.csv, invalid_daily.csv.</p>",
        escape(summary.certfleet_version)
    );
    page_end(&mut out);
    out
}

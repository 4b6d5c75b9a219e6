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

/// How a number is shown.
#[derive(Clone, Copy)]
pub(crate) enum Show {
    /// 12,345
    Int,
    /// 1.234 % (the value is a share in 0..1)
    Pct,
    /// 0.123 s
    Secs,
    /// 3.21
    Ratio,
    /// As written (dates, names).
    Text,
}

impl Show {
    fn tag(self) -> &'static str {
        match self {
            Show::Int => "int",
            Show::Pct => "pct",
            Show::Secs => "s",
            Show::Ratio => "x",
            Show::Text => "text",
        }
    }
}

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

/// 1234567 → "1,234,567".
pub(crate) fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(crate) fn show_value(v: &Value, show: Show) -> String {
    match (show, v) {
        (Show::Int, Value::Number(n)) => match n.as_u64() {
            Some(u) => group_digits(u),
            None => n.to_string(),
        },
        (Show::Pct, Value::Number(n)) => format!("{:.3} %", n.as_f64().unwrap_or(0.0) * 100.0),
        (Show::Secs, Value::Number(n)) => format!("{:.3} s", n.as_f64().unwrap_or(0.0)),
        (Show::Ratio, Value::Number(n)) => {
            let x = n.as_f64().unwrap_or(0.0);
            if x.is_finite() && x.abs() >= 1000.0 {
                let cents = (x.abs() * 100.0).round() as u64;
                let sign = if x < 0.0 { "-" } else { "" };
                format!("{sign}{}.{:02}", group_digits(cents / 100), cents % 100)
            } else {
                format!("{x:.2}")
            }
        }
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
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
        show.tag(),
        escape(&show_value(&v, show))
    )
}

pub(crate) const STYLE: &str = r#"
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #1e1e1e;
  background: #f6f7f9; margin: 0; line-height: 1.45; font-size: 15px; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; }
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
         <div class=\"sub\">{sub}</div></div>",
        escape(label)
    );
}

/// The rows of the per-cohort table: (label, field, how to show it).
const COHORT_ROWS: [(&str, &str, Show); 19] = [
    ("devices", "devices", Show::Int),
    ("expiry rate", "expiry_rate", Show::Pct),
    (
        "devices whose certificate expired",
        "devices_expired",
        Show::Int,
    ),
    (
        "device-days without a valid certificate",
        "expired_device_days",
        Show::Ratio,
    ),
    ("stranded at the end", "stranded_at_end", Show::Int),
    (
        "without a valid certificate at the end",
        "invalid_at_end",
        Show::Int,
    ),
    ("certificates obtained", "renewals", Show::Int),
    ("tries", "tries", Show::Int),
    ("refused NotEligibleToRenew", "not_eligible", Show::Int),
    ("refused: certificate expired", "refused_expired", Show::Int),
    ("refused (queue full, any stage)", "ca_refused", Show::Int),
    ("timed out (any stage)", "ca_timed_out", Show::Int),
    (
        "failed by outage (any stage)",
        "ca_failed_outage",
        Show::Int,
    ),
    ("SCEP challenge expired", "challenge_expired", Show::Int),
    ("revoked (mass revocation)", "revoked", Show::Int),
    ("revoked before replaced", "revoked_unreplaced", Show::Int),
    (
        "records deleted by the service",
        "records_deleted",
        Show::Int,
    ),
    ("manual re-enrolments", "manual_recoveries", Show::Int),
    ("expiry rate, 95 % CI", "expiry_rate_ci95", Show::Pct),
];

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
    summary_table(out, "cohort-table", json, &columns, &COHORT_ROWS);
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
    ("queue wait p99", "wait_p99_s", Show::Secs),
    ("longest queue", "max_queue", Show::Int),
    ("utilisation", "utilisation", Show::Pct),
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

    out.push_str("<section id=\"headline\">\n<h2>Headline numbers</h2>\n<div class=\"cards\">\n");
    let j = &json;
    card(
        &mut out,
        "expiry rate (all cohorts)",
        num(j, &["totals", "expiry_rate"], Show::Pct),
        format!(
            "95 % CI {} – {}; {} of {} devices",
            num(j, &["totals", "expiry_rate_ci95", "0"], Show::Pct),
            num(j, &["totals", "expiry_rate_ci95", "1"], Show::Pct),
            num(j, &["totals", "devices_expired"], Show::Int),
            num(j, &["totals", "devices"], Show::Int)
        ),
    );
    card(
        &mut out,
        "stranded at the end",
        num(j, &["totals", "stranded_at_end"], Show::Int),
        format!(
            "{} without a valid certificate at the end",
            num(j, &["totals", "invalid_at_end"], Show::Int)
        ),
    );
    card(
        &mut out,
        "device-days without a valid certificate",
        num(j, &["totals", "expired_device_days"], Show::Ratio),
        format!(
            "{} certificates obtained, {} tries",
            num(j, &["totals", "renewals"], Show::Int),
            num(j, &["totals", "tries"], Show::Int)
        ),
    );
    card(
        &mut out,
        "CA requests",
        num(j, &["ca", "arrivals"], Show::Int),
        format!(
            "{} served · {} refused · {} timed out · {} failed by outage",
            num(j, &["ca", "served"], Show::Int),
            num(j, &["ca", "refused"], Show::Int),
            num(j, &["ca", "timed_out"], Show::Int),
            num(j, &["ca", "failed_outage"], Show::Int)
        ),
    );
    card(
        &mut out,
        "peak minute",
        num(j, &["ca", "peak_minute", "arrivals"], Show::Int),
        format!(
            "requests at {}; mean {} /min; peak-to-mean {}",
            num(j, &["ca", "peak_minute", "at"], Show::Text),
            num(j, &["ca", "mean_arrivals_per_minute"], Show::Ratio),
            num(j, &["ca", "peak_to_mean"], Show::Ratio)
        ),
    );
    card(
        &mut out,
        "peak hour",
        num(j, &["ca", "peak_hour", "arrivals"], Show::Int),
        format!(
            "requests in the 60 minutes from {}",
            num(j, &["ca", "peak_hour", "at"], Show::Text)
        ),
    );
    card(
        &mut out,
        "queue wait p95",
        num(j, &["ca", "wait_p95_s"], Show::Secs),
        format!(
            "p50 {} · p99 {} · mean {}",
            num(j, &["ca", "wait_p50_s"], Show::Secs),
            num(j, &["ca", "wait_p99_s"], Show::Secs),
            num(j, &["ca", "wait_mean_s"], Show::Secs)
        ),
    );
    card(
        &mut out,
        "CA utilisation",
        num(j, &["ca", "utilisation"], Show::Pct),
        format!(
            "{} workers; longest queue {}; work on abandoned requests {}",
            num(j, &["ca", "workers"], Show::Int),
            num(j, &["ca", "max_queue"], Show::Int),
            num(j, &["ca", "abandoned_work_s"], Show::Secs)
        ),
    );
    out.push_str("</div>\n</section>\n");

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
         report, byte for byte. Machine-readable: summary.json, timeseries.csv, cohorts.csv, \
         invalid_daily.csv.</p>",
        escape(summary.certfleet_version)
    );
    page_end(&mut out);
    out
}

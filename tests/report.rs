//! Charts, report.html and the compare report, on tiny fleets.

use std::fs;
use std::path::{Path, PathBuf};

use certfleet::model::Scenario;
use certfleet::report::{self, charts::RUN_CHARTS, compare};
use certfleet::simulation::{RunOptions, Simulation};
use serde_json::Value;

/// 300 devices whose 20-day certificates renew inside a 30-day run, on a CA
/// small enough to queue, with an outage: every chart has something to draw.
const TINY: &str = r#"
name = "tiny"
description = "Does a tiny fleet renew on a tiny CA? <checks & escaping>"
start = "2025-01-06T00:00:00Z"
horizon = "30d"
seed = 11

[[cohorts]]
name = "pcs"
count = 200
lifetime = "20d"
enrollment = { pattern = "at", at = "2025-01-05T09:00:00Z" }
power = { schedule = "office", utc_offset = "+01:00" }
[cohorts.client]
triggers = [ { kind = "boot", delay = "5m" }, { kind = "periodic", every = "4h" } ]
renewal = { rule = "before_expiry", window = "5d" }
retry_interval = "1d"
on_expiry = { action = "stranded" }

[[cohorts]]
name = "servers"
count = 100
lifetime = "10d"
power = { schedule = "always_on" }
[cohorts.client]
triggers = [ { kind = "periodic", every = "4h" } ]
renewal = { rule = "before_expiry", window = "3d" }
retry_interval = "4h"
on_expiry = { action = "stranded" }

[server]
renewal = { rule = "before_expiry", window = "5d" }

[ca]
workers = 1
service_time = { dist = "exponential", mean = "20s" }
queue_limit = 20
timeout = "120s"

[[events]]
kind = "outage"
from = "2025-01-20T08:00:00Z"
duration = "3h"
"#;

fn scenario(text: &str) -> Scenario {
    certfleet::scenario::parse(text, Path::new("tiny.toml")).expect("valid test scenario")
}

fn run_into(s: &Scenario, dir: &Path, threads: usize) -> report::Summary {
    let options = RunOptions {
        threads: Some(threads),
        ..Default::default()
    };
    let result = Simulation::run(s, options).expect("run");
    report::write_run(&result, dir).expect("write").1
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

/// Every `<span class="num" …>shown</span>`: (key, value, show, shown).
fn numbers(html: &str) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<span class=\"num\"") {
        rest = &rest[i..];
        let close = rest.find('>').expect("tag end");
        let tag = &rest[..close];
        let end = rest.find("</span>").expect("span end");
        out.push((
            attribute(tag, "data-key").expect("data-key"),
            attribute(tag, "data-value").expect("data-value"),
            attribute(tag, "data-show").expect("data-show"),
            unescape(&rest[close + 1..end]),
        ));
        rest = &rest[end..];
    }
    out
}

/// A duration as the report shows it (`2 d 3 h`, `4 min 10 s`, `850 ms`),
/// in seconds, with the half-unit its rounding may be off by.
fn parse_duration(shown: &str) -> (f64, f64) {
    if shown == "< 1 ms" {
        return (0.0005, 0.0005);
    }
    let parts: Vec<&str> = shown.split(' ').collect();
    let mut total = 0.0;
    let mut smallest = f64::INFINITY;
    for pair in parts.chunks(2) {
        let value: f64 = pair[0].parse().unwrap_or_else(|_| panic!("`{shown}`"));
        let unit = match pair[1] {
            "ms" => 0.001,
            "s" => 1.0,
            "min" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            other => panic!("unit {other} in `{shown}`"),
        };
        total += value * unit;
        smallest = smallest.min(if pair[0].contains('.') {
            unit / 10.0
        } else {
            unit
        });
    }
    // A value shown in a larger unit only was rounded to the next smaller one.
    let slack = match parts.len() {
        2 if smallest >= 60.0 => smallest / if smallest >= 86_400.0 { 24.0 } else { 60.0 },
        _ => smallest,
    };
    (total, slack / 2.0 + 1e-9)
}

fn check_shown(key: &str, value: &Value, show: &str, shown: &str) {
    let number = |s: &str| -> f64 {
        s.trim_end_matches(" %")
            .replace(',', "")
            .replace('−', "-")
            .parse()
            .unwrap_or_else(|_| panic!("{key}: `{shown}` is not a number"))
    };
    match show {
        "int" => assert_eq!(shown.replace(',', ""), value.to_string(), "{key}"),
        "pct" => {
            // Three significant digits at least.
            let v = value.as_f64().unwrap();
            assert!(
                (number(shown) / 100.0 - v).abs() <= 5e-3 * v.abs() + 1e-12,
                "{key}: {shown} vs {v}"
            );
        }
        "number" => {
            let v = value.as_f64().unwrap();
            let tolerance = if v.abs() >= 1000.0 { 0.5 } else { 0.005 };
            assert!(
                (number(shown) - v).abs() <= tolerance,
                "{key}: {shown} vs {v}"
            );
        }
        "duration" => match value.as_f64() {
            Some(v) => {
                let (secs, slack) = parse_duration(shown);
                assert!((secs - v).abs() <= slack, "{key}: {shown} vs {v} s");
            }
            None => assert_eq!(shown, "not within the horizon", "{key}"),
        },
        _ => match value {
            Value::String(s) => assert_eq!(shown, s, "{key}"),
            other => assert_eq!(shown, other.to_string(), "{key}"),
        },
    }
}

#[test]
fn durations_read_back_within_their_rounding() {
    assert_eq!(parse_duration("2 d 3 h").0, 183_600.0);
    assert_eq!(parse_duration("850 ms").0, 0.85);
    assert_eq!(parse_duration("4 min 10 s"), (250.0, 0.5 + 1e-9));
    assert_eq!(parse_duration("1 d").1, 1800.0 + 1e-9);
}

#[test]
fn a_run_writes_charts_and_a_self_contained_report_matching_its_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tiny");
    run_into(&scenario(TINY), &out, 1);

    for name in RUN_CHARTS {
        let png = fs::read(out.join("charts").join(format!("{name}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}.png");
        let svg = fs::read_to_string(out.join("charts").join(format!("{name}.svg"))).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{name}.svg");
    }

    let html = fs::read_to_string(out.join("report.html")).unwrap();
    let summary: Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    for name in RUN_CHARTS {
        let id = format!("<figure id=\"chart-{name}\"");
        let at = html
            .find(&id)
            .unwrap_or_else(|| panic!("chart {name} missing"));
        assert!(
            html[at..].trim_start_matches(&id).contains("<svg"),
            "{name} not inline"
        );
    }
    // Self-contained: no scripts, stylesheets, images or fonts fetched.
    for banned in ["<script", "<link", "<img", "src=", "url(", "@import"] {
        assert!(!html.contains(banned), "report.html contains {banned}");
    }
    let without_ns = html.replace("http://www.w3.org/2000/svg", "");
    assert!(!without_ns.contains("http://") && !without_ns.contains("https://"));
    // The question, escaped.
    assert!(html.contains("Does a tiny fleet renew on a tiny CA? &lt;checks &amp; escaping&gt;"));
    assert!(html.contains("id=\"cohort-table\"") && html.contains("id=\"parameter-table\""));

    let shown = numbers(&html);
    for key in [
        "/totals/expiry_rate",
        "/totals/stranded_at_end",
        "/ca/arrivals",
        "/ca/peak_minute/arrivals",
        "/ca/peak_hour/at",
        "/ca/wait_p95_s",
        "/cohorts/pcs/expiry_rate",
        "/cohorts/servers/renewals",
    ] {
        assert!(shown.iter().any(|n| n.0 == key), "{key} not shown");
    }
    assert_shown_numbers_match(&shown, &summary);
    // The run had queueing and failures, so the charts are not all empty.
    assert!(summary["ca"]["max_queue"].as_u64().unwrap() > 0);
}

/// Every number the page shows equals the value in summary.json at its key.
fn assert_shown_numbers_match(shown: &[(String, String, String, String)], summary: &Value) {
    for (key, value, show, text) in shown {
        let expected = summary
            .pointer(key)
            .unwrap_or_else(|| panic!("{key} not in summary.json"));
        let value: Value = serde_json::from_str(value).unwrap();
        assert_eq!(&value, expected, "{key}");
        check_shown(key, expected, show, text);
    }
}

#[test]
fn a_run_through_stages_reports_each_stage() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scep");
    let s = scenario(
        r#"
name = "scep"
start = "2025-01-01"
horizon = "40d"
[[cohorts]]
name = "laptops"
count = 200
lifetime = "30d"
power = { schedule = "always_on" }
client = "intune-scep"
[ca]
workers = 2
service_time = "1s"
"#,
    );
    run_into(&s, &out, 1);
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    let summary: Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert!(html.contains("id=\"stage-table\""));
    let shown = numbers(&html);
    for key in [
        "/stages/proxy/arrivals",
        "/stages/ndes/arrivals",
        "/stages/ndes/peak_hour/arrivals",
        "/ca/served",
    ] {
        assert!(shown.iter().any(|n| n.0 == key), "{key} not shown");
    }
    assert!(summary["stages"]["ndes"]["arrivals"].as_u64().unwrap() > 0);
    assert_shown_numbers_match(&shown, &summary);
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn reports_are_byte_identical_at_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(TINY);
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    run_into(&s, &one, 1);
    run_into(&s, &two, 2);
    let (a, b) = (files(&one), files(&two));
    assert_eq!(a.len(), b.len());
    assert!(a.len() >= 5 + 2 * RUN_CHARTS.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.strip_prefix(&one).unwrap(), y.strip_prefix(&two).unwrap());
        assert!(
            fs::read(x).unwrap() == fs::read(y).unwrap(),
            "{} differs",
            x.display()
        );
    }
}

#[test]
fn a_run_with_no_ca_requests_still_gets_its_charts() {
    // One hour, certificates far from their window: nothing happens.
    let quiet = TINY
        .replace("horizon = \"30d\"", "horizon = \"1h\"")
        .replace(
            "[[events]]\nkind = \"outage\"\nfrom = \"2025-01-20T08:00:00Z\"\nduration = \"3h\"\n",
            "",
        );
    let dir = tempfile::tempdir().unwrap();
    let summary = run_into(&scenario(&quiet), &dir.path().join("quiet"), 1);
    assert_eq!(summary.ca.arrivals, 0);
    let html = fs::read_to_string(dir.path().join("quiet/report.html")).unwrap();
    assert!(RUN_CHARTS
        .iter()
        .all(|n| html.contains(&format!("id=\"chart-{n}\""))));
}

#[test]
fn compare_writes_a_side_by_side_report_and_refuses_odd_folders() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run_into(&scenario(TINY), &a, 1);
    run_into(
        &scenario(&TINY.replace("workers = 1", "workers = 4")),
        &b,
        1,
    );

    let runs = compare::load_all(&[a.clone(), b.clone()]).unwrap();
    let out =
        compare::write_compare(&runs, &dir.path().join("cmp"), compare::Align::Start).unwrap();
    assert!(compare::table_text(&runs).contains("CA: queue wait p99"));
    let html = fs::read_to_string(out.join("compare.html")).unwrap();
    for name in [
        "compare-arrivals",
        "compare-queue",
        "compare-waits",
        "compare-invalid",
        "compare-expiry",
    ] {
        assert!(html.contains(&format!("id=\"chart-{name}\"")), "{name}");
        assert!(out.join("charts").join(format!("{name}.png")).is_file());
    }
    let table = fs::read_to_string(out.join("compare.csv")).unwrap();
    assert!(table.starts_with("metric,a,b\n"), "{table}");
    assert!(
        table.contains("\ntotals.expiry_rate_ci95_low,")
            && table.contains("\ncohorts.pcs.expiry_rate,")
    );
    // Numbers in the page are those of each run's summary.
    for (key, value, _, _) in numbers(&html) {
        let value: Value = serde_json::from_str(&value).unwrap();
        assert!(
            runs.iter().any(|r| r.summary.pointer(&key) == Some(&value)),
            "{key}"
        );
    }

    let missing = compare::load_all(&[a.clone(), dir.path().join("nope")]).unwrap_err();
    assert!(
        matches!(missing, compare::CompareError::Missing { .. }),
        "{missing}"
    );
    let partial = dir.path().join("partial");
    fs::create_dir_all(&partial).unwrap();
    fs::copy(a.join("timeseries.csv"), partial.join("timeseries.csv")).unwrap();
    let incomplete = compare::load_all(&[a.clone(), partial]).unwrap_err();
    assert!(
        matches!(incomplete, compare::CompareError::Incomplete { .. }),
        "{incomplete}"
    );

    let summary = b.join("summary.json");
    let text = fs::read_to_string(&summary).unwrap();
    fs::write(&summary, text.replace(report::FORMAT, "certfleet-run/999")).unwrap();
    let mixed = compare::load_all(&[a, b]).unwrap_err();
    assert!(
        matches!(mixed, compare::CompareError::MixedFormats(_)),
        "{mixed}"
    );
    assert!(mixed.is_bad_input());
}

/// A CA whose backlog outlasts the horizon: 2,000 renewals in the first
/// hour against one worker at 1 hour each, so the last request would wait
/// ~1,999 hours (83 days) while the run lasts 60 days: the requests that
/// start within it wait up to 60 days, the rest are still in the system at
/// the end. The hourly wait series used to stop at ~40 days; now the hourly
/// maximum and p99 agree with the run-wide (exact) ones within the hourly
/// bins' precision (a bin spans a factor 2^(1/4) ≈ 1.19 and is represented
/// by its geometric middle), and the backlog is reported with the time it
/// needs at full capacity.
#[test]
fn waits_of_a_collapsing_ca_are_not_clamped() {
    let s = scenario(
        r#"
name = "backlog"
start = "2025-01-01T00:00:00Z"
horizon = "60d"
[[cohorts]]
name = "servers"
count = 2000
lifetime = "365d"
enrollment = { pattern = "at", at = "2024-01-05T00:00:00Z" }
power = { schedule = "always_on" }
[cohorts.client]
triggers = [{ kind = "periodic", every = "1h" }]
renewal = { rule = "before_expiry", window = "10d" }
[server]
renewal = { rule = "anytime" }
[ca]
workers = 1
service_time = "1h"
"#,
    );
    let result = crate::common::run(&s);
    let summary = report::Summary::new(&result);
    let hours = result.ca.hourly_waits.len();
    let hourly = |q: f64| {
        (0..hours)
            .filter_map(|h| result.ca.hourly_waits.merged(h, h + 1).quantile_s(q))
            .fold(0.0, f64::max)
    };
    let exact_max = result.ca.waits.max() as f64 / 1000.0;
    assert!(
        exact_max > 50.0 * 86_400.0,
        "waits beyond 40 days: {exact_max} s"
    );
    let backlog = summary.ca.in_system_at_end;
    assert!(backlog > 500, "the backlog outlasts the horizon: {backlog}");
    assert_eq!(summary.ca.drain_time_s, backlog as f64 * 3600.0);
    let bin = 2f64.powf(0.25);
    for (what, hourly, exact) in [
        ("maximum", hourly(1.0), exact_max),
        ("p99", hourly(0.99), summary.ca.wait_p99_s),
    ] {
        let ratio = hourly / exact;
        assert!(
            (1.0 / bin..=bin).contains(&ratio),
            "hourly {what} {hourly} s vs run-wide {exact} s"
        );
    }
}

//! The headline: the figures that answer the scenario's question, chosen
//! from what it contains (stages, a mass revocation, lifetime changes, a
//! template bump or an office closure) unless its `[report]` table names
//! them. The printed summary and report.html both show this list, and
//! summary.json records it, each figure by the JSON pointer of its value.

use serde::Serialize;
use serde_json::Value;

use crate::model::events::ScheduledEvent;
use crate::model::HeadlineFigure;

use super::summary::Summary;
use super::units::Show;

/// One figure of the headline.
#[derive(Debug, Clone, Serialize)]
pub struct HeadlineItem {
    pub figure: HeadlineFigure,
    /// The heading the figure is shown under.
    pub section: String,
    pub label: String,
    /// JSON pointer of the value in summary.json.
    pub key: String,
    /// How it is shown (`int`, `pct`, `duration`, `number`, `text`).
    pub show: Show,
}

/// The groups shown when the scenario does not choose, in order: what the
/// scenario is about first, then expiry, devices left without a
/// certificate, and the CA's load.
pub fn automatic(summary: &Summary) -> Vec<HeadlineFigure> {
    let s = &summary.parameters;
    let mut out = Vec::new();
    if !s.stages.is_empty() {
        out.push(HeadlineFigure::StageFailures);
    }
    let has = |f: &dyn Fn(&ScheduledEvent) -> bool| s.events.iter().any(f);
    if has(&|e| matches!(e, ScheduledEvent::MassRevocation { .. })) {
        out.push(HeadlineFigure::Revocation);
    }
    if !summary.periods.is_empty() {
        out.push(HeadlineFigure::LoadPeriods);
    }
    if !summary.recoveries.is_empty() {
        out.push(HeadlineFigure::Recovery);
    }
    out.extend([
        HeadlineFigure::Expiry,
        HeadlineFigure::InvalidAtEnd,
        HeadlineFigure::CaLoad,
    ]);
    out
}

fn pointer(path: &[&str]) -> String {
    path.iter()
        .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// The headline of a summary: the `[report]` table's groups, or the
/// automatic choice.
pub fn choose(summary: &Summary) -> Vec<HeadlineItem> {
    let groups = summary
        .parameters
        .report
        .headline
        .clone()
        .unwrap_or_else(|| automatic(summary));
    let mut out = Vec::new();
    for figure in groups {
        let mut item = |section: &str, label: String, path: &[&str], show: Show| {
            out.push(HeadlineItem {
                figure,
                section: section.to_string(),
                label,
                key: pointer(path),
                show,
            })
        };
        match figure {
            HeadlineFigure::Expiry => {
                item(
                    "Expiry",
                    "expiry rate (all cohorts)".into(),
                    &["totals", "expiry_rate"],
                    Show::Pct,
                );
                item(
                    "Expiry",
                    "expiry rate, upper end of its 95 % CI".into(),
                    &["totals", "expiry_rate_ci95", "1"],
                    Show::Pct,
                );
                if summary.cohorts.len() > 1 {
                    for name in summary.cohorts.keys() {
                        item(
                            "Expiry",
                            format!("{name}: expiry rate"),
                            &["cohorts", name, "expiry_rate"],
                            Show::Pct,
                        );
                    }
                }
            }
            HeadlineFigure::InvalidAtEnd => {
                item(
                    "At the end",
                    "devices without a valid certificate at the end".into(),
                    &["totals", "invalid_at_end"],
                    Show::Int,
                );
                item(
                    "At the end",
                    "of those, stranded (no automatic way back)".into(),
                    &["totals", "stranded_at_end"],
                    Show::Int,
                );
                if summary.cohorts.len() > 1 {
                    for name in summary.cohorts.keys() {
                        item(
                            "At the end",
                            format!("{name}: stranded"),
                            &["cohorts", name, "stranded_at_end"],
                            Show::Int,
                        );
                    }
                }
            }
            HeadlineFigure::StageFailures => {
                let outage_on = |target: &str| {
                    summary.parameters.events.iter().any(|e| {
                        matches!(e, ScheduledEvent::Outage { .. }) && e.target() == Some(target)
                    })
                };
                let stages = summary
                    .stages
                    .iter()
                    .map(|(n, st)| (n.as_str(), n.as_str(), st, vec!["stages", n.as_str()]))
                    .chain(std::iter::once(("CA", "ca", &summary.ca, vec!["ca"])));
                for (name, target, st, path) in stages {
                    let mut at = |field: &str, label: &str| {
                        let mut p = path.clone();
                        p.push(field);
                        item(
                            "Failures at each stage",
                            format!("{name}: {label}"),
                            &p,
                            Show::Int,
                        );
                    };
                    at("failed", "requests failed");
                    for (field, label, n) in [
                        ("failed_outage", "failed by outage", st.failed_outage),
                        ("refused", "refused (queue full)", st.refused),
                        ("timed_out", "timed out", st.timed_out),
                        (
                            "challenge_expired",
                            "SCEP challenge expired",
                            st.challenge_expired,
                        ),
                    ] {
                        if n > 0 || (field == "failed_outage" && outage_on(target)) {
                            at(field, label);
                        }
                    }
                }
            }
            HeadlineFigure::Revocation => {
                for (name, c) in &summary.cohorts {
                    if c.revoked == 0 {
                        continue;
                    }
                    item(
                        "Mass revocation",
                        format!("{name}: certificates revoked"),
                        &["cohorts", name, "revoked"],
                        Show::Int,
                    );
                    item(
                        "Mass revocation",
                        format!("{name}: revoked before they were replaced"),
                        &["cohorts", name, "revoked_unreplaced"],
                        Show::Int,
                    );
                    if c.last_revoked_replaced_at.is_some() {
                        item(
                            "Mass revocation",
                            format!("{name}: last revoked certificate replaced at"),
                            &["cohorts", name, "last_revoked_replaced_at"],
                            Show::Text,
                        );
                    }
                }
            }
            HeadlineFigure::LoadPeriods => {
                for (i, p) in summary.periods.iter().enumerate() {
                    let mut lifetimes: Vec<&str> =
                        p.lifetimes.values().map(String::as_str).collect();
                    lifetimes.dedup();
                    let i = i.to_string();
                    item( "CA requests per day between lifetime changes (last 30 days of each period)",
                        format!(
                            "lifetime {}, {} → {}",
                            lifetimes.join("/"),
                            &p.from[..10],
                            &p.to[..10]
                        ),
                        &["periods", &i, "requests_per_day_last_30d"],
                        Show::Number,
                    );
                }
            }
            HeadlineFigure::Recovery => {
                for (i, r) in summary.recoveries.iter().enumerate() {
                    let section = match r.kind {
                        "template_bump" => {
                            format!("After the template bump at {}", readable(&r.at))
                        }
                        _ => format!(
                            "After the offline episode of {} from {}",
                            r.cohorts.join(", "),
                            readable(&r.at)
                        ),
                    };
                    let i = i.to_string();
                    item(
                        &section,
                        "devices affected".to_string(),
                        &["recoveries", &i, "affected"],
                        Show::Int,
                    );
                    for (field, share) in [("t50_s", "50 %"), ("t90_s", "90 %"), ("t99_s", "99 %")]
                    {
                        item(
                            &section,
                            format!("{share} of them hold a valid certificate again after"),
                            &["recoveries", &i, field],
                            Show::Duration,
                        );
                    }
                    if r.ca_queue_peak > 0 {
                        item(
                            &section,
                            "CA queue drained after".to_string(),
                            &["recoveries", &i, "ca_queue_drained_after_s"],
                            Show::Duration,
                        );
                    }
                }
            }
            HeadlineFigure::CaLoad => {
                item(
                    "CA load",
                    "peak minute (requests)".into(),
                    &["ca", "peak_minute", "arrivals"],
                    Show::Int,
                );
                item(
                    "CA load",
                    "peak hour (requests in 60 min)".into(),
                    &["ca", "peak_hour", "arrivals"],
                    Show::Int,
                );
                item(
                    "CA load",
                    "queue wait, median".into(),
                    &["ca", "wait_p50_s"],
                    Show::Duration,
                );
                item(
                    "CA load",
                    "queue wait, p99".into(),
                    &["ca", "wait_p99_s"],
                    Show::Duration,
                );
                item(
                    "CA load",
                    "longest queue (requests)".into(),
                    &["ca", "max_queue"],
                    Show::Int,
                );
                if summary.ca.in_system_at_end > 0 {
                    item(
                        "CA load",
                        "backlog at the end (waiting or in service)".into(),
                        &["ca", "in_system_at_end"],
                        Show::Int,
                    );
                    item(
                        "CA load",
                        "time to clear that backlog at full capacity".into(),
                        &["ca", "drain_time_s"],
                        Show::Duration,
                    );
                }
            }
        }
    }
    out
}

/// `2025-03-04T09:00:00Z` → `2025-03-04 09:00 UTC` (headings only; values
/// stay as summary.json writes them).
fn readable(instant: &str) -> String {
    match (instant.get(..10), instant.get(11..16)) {
        (Some(day), Some("00:00")) if instant.len() >= 16 => day.to_string(),
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => instant.to_string(),
    }
}

/// Each headline item with its value shown, read from the summary's JSON.
pub fn shown(summary: &Summary, json: &Value) -> Vec<(String, String)> {
    summary
        .headline
        .iter()
        .map(|h| {
            let v = json.pointer(&h.key).cloned().unwrap_or(Value::Null);
            (h.label.clone(), h.show.format(&v))
        })
        .collect()
}

/// Used by the printed summary: the headline as aligned lines under their
/// section headings (headings end with a colon and are not indented).
pub fn lines(summary: &Summary) -> Vec<String> {
    let json = serde_json::to_value(summary).unwrap_or(Value::Null);
    let shown = shown(summary, &json);
    let width = shown
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = Vec::new();
    let mut section = None;
    for (item, (label, value)) in summary.headline.iter().zip(shown) {
        if section != Some(&item.section) {
            out.push(format!("{}:", item.section));
            section = Some(&item.section);
        }
        let pad = width - label.chars().count();
        out.push(format!("  {label}{}  {value}", " ".repeat(pad)));
    }
    out
}

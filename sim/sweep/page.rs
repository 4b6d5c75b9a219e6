//! `sweep.html`: one self-contained page (inline SVG and CSS, no scripts)
//! with the recommendation, every point's figures and the charts, like a
//! run's report.html.

use std::fmt::Write as _;

use super::output::PointStats;
use super::recommend::Recommendation;
use super::stats::MetricStats;
use super::Manifest;
use crate::report::html::{escape, page_end, page_start};
use crate::report::units;

fn interval(m: &MetricStats, show: &dyn Fn(f64) -> String) -> String {
    match m.ci95 {
        Some([lo, hi]) => format!(
            "{} <span class=\"note\">[{} – {}]</span>",
            show(m.mean),
            show(lo),
            show(hi)
        ),
        None => show(m.mean),
    }
}

/// The whole page; `charts` are (file name, title, SVG text).
pub fn sweep_page(
    m: &Manifest,
    points: &[PointStats],
    rec: &Recommendation,
    charts: &[(String, String, String)],
) -> String {
    let mut out = String::with_capacity(128 * 1024);
    page_start(&mut out, &format!("certfleet sweep — {}", m.scenario));
    let _ = writeln!(
        out,
        "<h1>Sweep of {}</h1>\n<p class=\"meta\">{} points × {} replications · certfleet {}{}</p>",
        escape(&m.scenario),
        m.points.len(),
        m.spec.replications,
        escape(&m.certfleet_version),
        m.scale
            .map(|f| format!(" · --scale {f} (stage capacity and busiest-hour target scaled too)"))
            .unwrap_or_default()
    );
    out.push_str("<section id=\"recommendation\">\n<h2>The answer</h2>\n");
    let _ = writeln!(
        out,
        "<p class=\"question\">{}</p>\n<p class=\"note\">Criterion: {}.</p>",
        escape(&rec.text),
        escape(&rec.criterion)
    );
    out.push_str("</section>\n<section id=\"points\">\n<h2>Every point</h2>\n");
    out.push_str("<table id=\"point-table\">\n<thead><tr>");
    for p in &m.spec.params {
        let _ = write!(out, "<th class=\"text\">{}</th>", escape(&p.name));
    }
    out.push_str(
        "<th>expiry rate [95 % CI]</th><th>busiest hour, CA requests [95 % CI]</th>\
         <th>stranded at the end</th><th>queue wait p99</th><th>targets</th></tr></thead>\n<tbody>\n",
    );
    for (i, p) in points.iter().enumerate() {
        let best = rec.best == Some(i);
        let _ = write!(out, "<tr{}>", if best { " class=\"best\"" } else { "" });
        for v in p.values.values() {
            let _ = write!(out, "<td class=\"text\">{}</td>", escape(&v.to_string()));
        }
        let metric = |id: &str| p.metrics[id];
        let _ = writeln!(
            out,
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"text\">{}</td></tr>",
            interval(&metric("expiry_rate"), &units::share),
            interval(&metric("peak_hour_arrivals"), &units::number),
            interval(&metric("stranded"), &units::number),
            interval(&metric("wait_p99_s"), &units::duration),
            match (p.meets_targets, best) {
                (_, true) => "met — recommended",
                (Some(true), false) => "met",
                (Some(false), false) => "missed",
                (None, false) => "",
            }
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n<section id=\"charts\">\n<h2>Charts</h2>\n");
    for (name, title, svg) in charts {
        let svg = svg.find("<svg").map_or(svg.as_str(), |i| &svg[i..]);
        let stem = name.trim_end_matches(".svg");
        let _ = writeln!(
            out,
            "<figure id=\"chart-{stem}\" class=\"chart\">\n{}\n<figcaption><b>{}.</b> \
             Mean of the replications with its 95 % confidence interval; the recommended \
             point is ringed. <span class=\"note\">(also {stem}.png and {stem}.svg)</span>\
             </figcaption>\n</figure>",
            svg.trim_end(),
            escape(title)
        );
    }
    out.push_str(
        "</section>\n<p class=\"note\">Machine-readable (shares and seconds): sweep.csv, runs.csv, \
         sweep.json.</p>\n",
    );
    page_end(&mut out);
    out
}

//! Which points meet the targets, and the best of them.
//!
//! A point meets a target when the *upper end of the 95 % confidence
//! interval* of its mean is within it (with one replication: the mean), so a
//! recommendation is not a lucky draw. Among the points meeting every
//! target, the best is the one with the lowest mean peak-hour CA load when
//! an expiry target is set (expiry is the constraint, load the cost), or the
//! lowest mean expiry rate when only a load target is set; ties go to the
//! point listed first.

use serde::{Deserialize, Serialize};

use super::spec::Targets;
use super::stats::MetricStats;

/// What the recommendation needs to know of a point.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub label: String,
    pub expiry_rate: MetricStats,
    pub peak_hour: MetricStats,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// At least one point meets every target.
    Found,
    /// No point meets every target.
    NoneMeets,
    /// No target was given: nothing to recommend.
    NoTargets,
}

/// By how much the closest point misses a target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Miss {
    /// `max_expiry_rate` or `max_peak_per_hour`.
    pub target: String,
    pub limit: f64,
    /// The point whose upper bound comes closest to the target.
    pub closest_point: String,
    pub closest_upper: f64,
    /// closest_upper − limit.
    pub excess: f64,
    /// Points meeting this target on its own.
    pub points_meeting: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub status: Status,
    /// How points are judged and the best is chosen, in words.
    pub criterion: String,
    /// Indices of the points that meet every target.
    pub meeting: Vec<usize>,
    pub best: Option<usize>,
    pub best_point: Option<String>,
    /// For each target some point misses (only when none meets them all).
    pub misses: Vec<Miss>,
    /// The recommendation as printed.
    pub text: String,
}

/// Whether a point meets every target (`None` without targets).
pub fn meets(c: &Candidate, t: &Targets) -> Option<bool> {
    if !t.any() {
        return None;
    }
    let e = t
        .max_expiry_rate
        .is_none_or(|max| c.expiry_rate.upper() <= max);
    let p = t
        .max_peak_per_hour
        .is_none_or(|max| c.peak_hour.upper() <= max);
    Some(e && p)
}

fn pct(x: f64) -> String {
    format!("{:.3} %", x * 100.0)
}

fn ci(m: &MetricStats, f: impl Fn(f64) -> String) -> String {
    match m.ci95 {
        Some([lo, hi]) => format!("{} (95 % CI {} – {})", f(m.mean), f(lo), f(hi)),
        None => format!("{} (one replication, no CI)", f(m.mean)),
    }
}

fn load(x: f64) -> String {
    format!("{x:.1}/h")
}

pub fn recommend(points: &[Candidate], t: &Targets) -> Recommendation {
    let criterion = match (t.max_expiry_rate, t.max_peak_per_hour) {
        (None, None) => "no target given".to_string(),
        (Some(_), _) => "a point meets a target when the upper end of its 95 % CI does; among the points meeting every target, the best has the lowest mean peak-hour CA load".to_string(),
        (None, Some(_)) => "a point meets the target when the upper end of its 95 % CI does; among the points meeting it, the best has the lowest mean expiry rate".to_string(),
    };
    let mut targets_text = Vec::new();
    if let Some(e) = t.max_expiry_rate {
        targets_text.push(format!("expiry rate ≤ {}", pct(e)));
    }
    if let Some(p) = t.max_peak_per_hour {
        targets_text.push(format!("busiest hour ≤ {p} CA requests"));
    }
    let targets_text = targets_text.join(" and ");
    if !t.any() {
        return Recommendation {
            status: Status::NoTargets,
            criterion,
            meeting: Vec::new(),
            best: None,
            best_point: None,
            misses: Vec::new(),
            text: "No target given, so no recommendation: set --max-expiry-rate and/or --max-peak-per-hour (or max_expiry_rate / max_peak_per_hour in [sweep]).".to_string(),
        };
    }
    let meeting: Vec<usize> = (0..points.len())
        .filter(|&i| meets(&points[i], t) == Some(true))
        .collect();
    if !meeting.is_empty() {
        let key = |i: usize| {
            let c = &points[i];
            if t.max_expiry_rate.is_some() {
                (c.peak_hour.mean, c.expiry_rate.mean)
            } else {
                (c.expiry_rate.mean, c.peak_hour.mean)
            }
        };
        let best = meeting
            .iter()
            .copied()
            .min_by(|&a, &b| {
                key(a)
                    .partial_cmp(&key(b))
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then(a.cmp(&b))
            })
            .expect("not empty");
        let c = &points[best];
        let by = if t.max_expiry_rate.is_some() {
            "the lowest mean peak-hour CA load among them"
        } else {
            "the lowest mean expiry rate among them"
        };
        let list = meeting
            .iter()
            .map(|&i| points[i].label.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let text = format!(
            "Recommendation: {label}\n  {n} of {m} points meet {targets_text}, judged on the upper end of the 95 % confidence interval: {list}.\n  Best by {by}: expiry rate {e}, busiest hour {p}.",
            label = c.label,
            n = meeting.len(),
            m = points.len(),
            e = ci(&c.expiry_rate, pct),
            p = ci(&c.peak_hour, load),
        );
        return Recommendation {
            status: Status::Found,
            criterion,
            meeting,
            best: Some(best),
            best_point: Some(c.label.clone()),
            misses: Vec::new(),
            text,
        };
    }
    let mut misses = Vec::new();
    let mut lines = Vec::new();
    let mut miss = |name: &str,
                    limit: f64,
                    upper: &dyn Fn(&Candidate) -> f64,
                    fmt: &dyn Fn(f64) -> String| {
        let meeting = points.iter().filter(|c| upper(c) <= limit).count();
        let Some((i, u)) = points
            .iter()
            .enumerate()
            .map(|(i, c)| (i, upper(c)))
            .min_by(|a, b| {
                a.1.partial_cmp(&b.1)
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then(a.0.cmp(&b.0))
            })
        else {
            return;
        };
        if meeting == 0 {
            lines.push(format!(
                "  {name} ≤ {} is met by no point: the closest, {}, reaches {} at the upper end of its 95 % CI, {} too high.",
                fmt(limit),
                points[i].label,
                fmt(u),
                fmt(u - limit)
            ));
        } else {
            lines.push(format!(
                "  {name} ≤ {} alone is met by {meeting} point(s), but none of them meets the other target.",
                fmt(limit)
            ));
        }
        misses.push(Miss {
            target: name.to_string(),
            limit,
            closest_point: points[i].label.clone(),
            closest_upper: u,
            excess: u - limit,
            points_meeting: meeting,
        });
    };
    if let Some(e) = t.max_expiry_rate {
        miss("max_expiry_rate", e, &|c| c.expiry_rate.upper(), &pct);
    }
    if let Some(p) = t.max_peak_per_hour {
        miss("max_peak_per_hour", p, &|c| c.peak_hour.upper(), &load);
    }
    let text = format!(
        "No recommendation: none of the {} points meets {targets_text} (judged on the upper end of the 95 % confidence interval).\n{}",
        points.len(),
        lines.join("\n")
    );
    Recommendation {
        status: Status::NoneMeets,
        criterion,
        meeting: Vec::new(),
        best: None,
        best_point: None,
        misses,
        text,
    }
}

//! The scenario's scheduled events as marks on time charts.

use crate::engine::time::MS_PER_MINUTE;
use crate::engine::SimTime;
use crate::model::events::ScheduledEvent;
use crate::model::Scenario;
use crate::report::after_events::EPISODE_SPREAD_DAYS;

use super::timeline::EventMark;

fn minutes(t: SimTime) -> f64 {
    t.ms() as f64 / MS_PER_MINUTE as f64
}

fn cohorts_text(cohorts: &[String]) -> String {
    if cohorts.is_empty() {
        String::new()
    } else {
        format!(" ({})", cohorts.join(", "))
    }
}

/// Every scheduled event of `s`, and each offline episode that starts
/// within a few days (an office closure, not devices going dark at random
/// over months). Episodes at the same time in several cohorts share a mark.
pub fn event_marks(s: &Scenario) -> Vec<EventMark> {
    let calendar = s.calendar();
    let mut marks: Vec<EventMark> = Vec::new();
    for e in &s.events {
        let w = e.window(calendar);
        let target = |t: &str| {
            if t == "ca" {
                "CA".to_string()
            } else {
                t.to_string()
            }
        };
        let (to, label) = match e {
            ScheduledEvent::Outage { target: t, .. } => {
                (Some(minutes(w.to)), format!("{} outage", target(t)))
            }
            ScheduledEvent::Degraded {
                target: t,
                capacity,
                ..
            } => (
                Some(minutes(w.to)),
                format!("{} at {:.0} % capacity", target(t), capacity * 100.0),
            ),
            ScheduledEvent::TemplateBump { cohorts, .. } => {
                (None, format!("template bump{}", cohorts_text(cohorts)))
            }
            ScheduledEvent::MassRevocation {
                share,
                deadline,
                cohorts,
                ..
            } => (
                None,
                format!(
                    "{:.1} % revoked, {deadline} to replace{}",
                    share * 100.0,
                    cohorts_text(cohorts)
                ),
            ),
            ScheduledEvent::LifetimeChange {
                lifetime, cohorts, ..
            } => (
                None,
                format!("lifetime {lifetime}{}", cohorts_text(cohorts)),
            ),
        };
        marks.push(EventMark {
            from: minutes(w.from),
            to,
            label,
        });
    }
    let mut episodes: Vec<(f64, Option<f64>, f64, Vec<String>)> = Vec::new();
    for c in &s.cohorts {
        for ep in &c.offline_episodes {
            let from = calendar.sim_time(ep.start.0);
            let until = ep.start_until.map(|u| calendar.sim_time(u.0));
            if until.is_some_and(|u| u.since(from).ms() > EPISODE_SPREAD_DAYS * 86_400_000) {
                continue;
            }
            let key = (minutes(from), until.map(minutes), ep.share);
            match episodes.iter_mut().find(|e| (e.0, e.1, e.2) == key) {
                Some(e) => e.3.push(c.name.clone()),
                None => episodes.push((key.0, key.1, key.2, vec![c.name.clone()])),
            }
        }
    }
    for (from, to, share, cohorts) in episodes {
        marks.push(EventMark {
            from,
            to,
            label: format!("{:.0} % of {} go dark", share * 100.0, cohorts.join(", ")),
        });
    }
    marks.sort_by(|a, b| a.from.total_cmp(&b.from));
    marks
}

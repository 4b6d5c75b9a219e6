//! What the scheduled events did, from the run's series: the CA's daily
//! load in each period between lifetime changes, and how fast the fleet
//! recovered after a template bump or an offline episode.

use serde::Serialize;

use crate::engine::time::{MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE};
use crate::engine::SimTime;
use crate::metrics::CohortCounters;
use crate::model::events::ScheduledEvent;
use crate::simulation::RunResult;

/// An offline episode whose starts spread over more days than this is not
/// one event, so it gets no recovery figures.
pub const EPISODE_SPREAD_DAYS: i64 = 7;

/// The shares of the affected devices whose recovery time is reported.
pub const RECOVERY_SHARES: [f64; 3] = [0.5, 0.9, 0.99];

/// CA load in one period between lifetime changes.
#[derive(Debug, Clone, Serialize)]
pub struct LoadPeriod {
    pub from: String,
    pub to: String,
    /// The lifetime of certificates issued in the period, per cohort.
    pub lifetimes: indexmap::IndexMap<String, String>,
    /// CA arrivals per day over the whole period.
    pub requests_per_day: f64,
    /// CA arrivals per day over the period's last 30 days (or the whole
    /// period if shorter): the settled rate once certificates issued under
    /// the previous lifetime have been renewed.
    pub requests_per_day_last_30d: f64,
}

/// How the fleet came back after a template bump or an offline episode.
#[derive(Debug, Clone, Serialize)]
pub struct Recovery {
    /// `template_bump` or `offline_episode`.
    pub kind: &'static str,
    /// The event's instant (an episode's earliest start).
    pub at: String,
    pub cohorts: Vec<String>,
    /// Devices that must get a certificate: every holder in the bump's
    /// cohorts; for an episode, the devices of its cohort that lost a
    /// valid certificate from its start on.
    pub affected: u64,
    /// Of those, how many hold a (new) valid certificate at the end.
    pub recovered: u64,
    /// Seconds from the event until 50 %, 90 % and 99 % of the affected
    /// devices held one (hour resolution, interpolated); null: not within
    /// the horizon.
    pub t50_s: Option<f64>,
    pub t90_s: Option<f64>,
    pub t99_s: Option<f64>,
    /// The CA's longest queue after the event.
    pub ca_queue_peak: u64,
    /// When that queue was empty again (null: no queue, or still queued at
    /// the end), and how long after the event.
    pub ca_queue_drained_at: Option<String>,
    pub ca_queue_drained_after_s: Option<f64>,
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Mean CA arrivals per day in each period between lifetime changes (none
/// when the scenario changes no lifetime).
pub fn load_periods(result: &RunResult) -> Vec<LoadPeriod> {
    let s = &result.scenario;
    let calendar = s.calendar();
    let horizon = s.horizon_end();
    let mut cuts: Vec<SimTime> = s
        .events
        .iter()
        .filter(|e| matches!(e, ScheduledEvent::LifetimeChange { .. }))
        .map(|e| e.instant(calendar))
        .filter(|&t| t > SimTime::ZERO && t < horizon)
        .collect();
    if cuts.is_empty() {
        return Vec::new();
    }
    cuts.sort();
    cuts.dedup();
    let mut bounds = vec![SimTime::ZERO];
    bounds.extend(cuts);
    bounds.push(horizon);
    let arrivals = &result.ca.minutes.arrivals;
    let per_day = |from: SimTime, to: SimTime| {
        let (a, b) = (from.minute() as usize, to.minute() as usize);
        let n: u64 = arrivals[a.min(arrivals.len())..b.min(arrivals.len())]
            .iter()
            .map(|&x| x as u64)
            .sum();
        let days = to.since(from).ms() as f64 / MS_PER_DAY as f64;
        if days > 0.0 {
            round3(n as f64 / days)
        } else {
            0.0
        }
    };
    bounds
        .windows(2)
        .map(|w| {
            let (from, to) = (w[0], w[1]);
            let last = SimTime(from.ms().max(to.ms() - 30 * MS_PER_DAY));
            LoadPeriod {
                from: calendar.format(from),
                to: calendar.format(to),
                lifetimes: s
                    .cohorts
                    .iter()
                    .map(|c| (c.name.clone(), s.lifetime_at(c, from).to_string()))
                    .collect(),
                requests_per_day: per_day(from, to),
                requests_per_day_last_30d: per_day(last, to),
            }
        })
        .collect()
}

/// The first time the running sum of `per_hour` from `start` reaches
/// `target`, interpolated within the hour, in seconds after `start`.
fn time_to_reach(per_hour: &[f64], start: SimTime, target: f64) -> Option<f64> {
    if target <= 0.0 {
        return Some(0.0);
    }
    let first = (start.ms() / MS_PER_HOUR).max(0) as usize;
    let mut sum = 0.0;
    for (h, &n) in per_hour.iter().enumerate().skip(first) {
        if n > 0.0 && sum + n >= target {
            let hour_start = (h as i64 * MS_PER_HOUR).max(start.ms());
            let hour_end = (h as i64 + 1) * MS_PER_HOUR;
            let share = (target - sum) / n;
            let at = hour_start as f64 + share * (hour_end - hour_start) as f64;
            return Some(round3((at - start.ms() as f64) / 1000.0));
        }
        sum += n;
    }
    None
}

fn sum_series(series: &[&[u32]]) -> Vec<f64> {
    let n = series.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![0.0; n];
    for s in series {
        for (o, &x) in out.iter_mut().zip(s.iter()) {
            *o += x as f64;
        }
    }
    out
}

/// How long after `at` the CA's queue peaked and drained.
fn queue_after(result: &RunResult, at: SimTime) -> (u64, Option<SimTime>) {
    let longest = result.ca.minutes.longest_queue();
    let ends = result.ca.minutes.queue_lengths();
    let horizon_minutes = result.scenario.horizon.ms() / MS_PER_MINUTE;
    let from = at.minute().max(0) as usize;
    let until = (horizon_minutes as usize).min(longest.len());
    if from >= until {
        return (0, None);
    }
    let (peak_at, peak) =
        longest[from..until]
            .iter()
            .enumerate()
            .fold(
                (from, 0u64),
                |best, (i, &q)| {
                    if q > best.1 {
                        (from + i, q)
                    } else {
                        best
                    }
                },
            );
    if peak == 0 {
        return (0, None);
    }
    let drained = (peak_at..until)
        .find(|&m| ends[m] == 0)
        .map(|m| SimTime((m as i64 + 1) * MS_PER_MINUTE));
    (peak, drained)
}

fn recovery(
    result: &RunResult,
    kind: &'static str,
    at: SimTime,
    cohorts: Vec<usize>,
    affected: u64,
    recovered_per_hour: Vec<f64>,
) -> Recovery {
    let s = &result.scenario;
    let calendar = s.calendar();
    let horizon = s.horizon_end();
    let hours_in = (horizon.ms() / MS_PER_HOUR + 1) as usize;
    let within = &recovered_per_hour[..recovered_per_hour.len().min(hours_in)];
    let first = (at.ms() / MS_PER_HOUR).max(0) as usize;
    let recovered = (within.iter().skip(first).sum::<f64>() as u64).min(affected);
    let times: Vec<Option<f64>> = RECOVERY_SHARES
        .iter()
        .map(|q| {
            if affected == 0 {
                None
            } else {
                time_to_reach(within, at, (q * affected as f64).ceil())
            }
        })
        .collect();
    let (peak, drained) = queue_after(result, at);
    Recovery {
        kind,
        at: calendar.format(at),
        cohorts: cohorts.iter().map(|&i| s.cohorts[i].name.clone()).collect(),
        affected,
        recovered,
        t50_s: times[0],
        t90_s: times[1],
        t99_s: times[2],
        ca_queue_peak: peak,
        ca_queue_drained_at: drained.map(|t| calendar.format(t)),
        ca_queue_drained_after_s: drained.map(|t| round3(t.since(at).as_secs_f64())),
    }
}

/// One entry per template bump and per offline episode (starting within
/// [`EPISODE_SPREAD_DAYS`]) within the horizon.
pub fn recoveries(result: &RunResult) -> Vec<Recovery> {
    let s = &result.scenario;
    let calendar = s.calendar();
    let horizon = s.horizon_end();
    let mut out = Vec::new();
    for event in &s.events {
        if let ScheduledEvent::TemplateBump { .. } = event {
            let at = event.instant(calendar).max(SimTime::ZERO);
            if at >= horizon {
                continue;
            }
            let members: Vec<usize> = (0..s.cohorts.len())
                .filter(|&i| event.applies_to(&s.cohorts[i].name))
                .collect();
            let affected = members.iter().map(|&i| result.cohorts[i].devices).sum();
            let series: Vec<&[u32]> = members
                .iter()
                .map(|&i| result.cohorts[i].renewals_per_hour.as_slice())
                .collect();
            out.push(recovery(
                result,
                "template_bump",
                at,
                members,
                affected,
                sum_series(&series),
            ));
        }
    }
    for (i, cohort) in s.cohorts.iter().enumerate() {
        for episode in &cohort.offline_episodes {
            let at = calendar.sim_time(episode.start.0).max(SimTime::ZERO);
            // A fleet event (an office closure), not devices going dark at
            // random over months (a laptop left in a drawer).
            let spread = episode
                .start_until
                .map_or(0, |u| calendar.sim_time(u.0).since(at).ms());
            if at >= horizon || spread > EPISODE_SPREAD_DAYS * MS_PER_DAY {
                continue;
            }
            let c: &CohortCounters = &result.cohorts[i];
            let first = (at.ms() / MS_PER_HOUR).max(0) as usize;
            let affected: u64 = c.lost_per_hour.iter().skip(first).map(|&x| x as u64).sum();
            let regained = sum_series(&[c.regained_per_hour.as_slice()]);
            out.push(recovery(
                result,
                "offline_episode",
                at,
                vec![i],
                affected,
                regained,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reaching_a_target_is_interpolated_within_the_hour() {
        // 10 in hour 0, 10 in hour 1: 15 reached half-way through hour 1.
        let t = time_to_reach(&[10.0, 10.0], SimTime::ZERO, 15.0).unwrap();
        assert!((t - 5400.0).abs() < 1e-6, "{t}");
        assert_eq!(time_to_reach(&[1.0], SimTime::ZERO, 2.0), None);
        // Counting starts at the event, within its hour.
        let t = time_to_reach(&[0.0, 4.0], SimTime(MS_PER_HOUR + MS_PER_HOUR / 2), 2.0);
        assert!((t.unwrap() - 900.0).abs() < 1e-6);
    }
}

//! What a stage saw: counts, a per-minute time series and queue waits.
//!
//! Everything is counted within the horizon: an answer that comes after
//! the end of the run (a deep queue, a slow stage) is not an outcome within
//! it, and a request still waiting or in service at the end is counted as
//! `in_system_at_end`. So the counts, the per-minute series and what the
//! devices received agree with each other by construction.

use hdrhistogram::Histogram;

use crate::engine::time::{MS_PER_HOUR, MS_PER_MINUTE};
use crate::engine::{SimDuration, SimTime};
use crate::model::stage::{Outcome, StageObserver};

use super::waits::HourlyWaits;

/// Requests by how they ended. Once a run is over, `arrivals` equals the
/// sum of the others: every request ends exactly once, or is still in the
/// stage at the end of the horizon.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StageCounts {
    pub arrivals: u64,
    pub served: u64,
    pub refused: u64,
    pub timed_out: u64,
    pub failed_outage: u64,
    /// Rejected because the request's challenge had expired (SCEP stages).
    pub challenge_expired: u64,
    /// Requests waiting or in service at the end of the horizon.
    pub in_system_at_end: u64,
}

impl StageCounts {
    /// Requests accounted for: ended within the horizon, or still in the stage.
    pub fn ended(&self) -> u64 {
        self.served
            + self.refused
            + self.timed_out
            + self.failed_outage
            + self.challenge_expired
            + self.in_system_at_end
    }
}

/// Dense per-minute counters over the horizon, indexed by simulated minute
/// from the start.
#[derive(Clone, Debug, Default)]
pub struct MinuteSeries {
    pub arrivals: Vec<u32>,
    pub served: Vec<u32>,
    pub refused: Vec<u32>,
    pub timed_out: Vec<u32>,
    pub failed_outage: Vec<u32>,
    /// Requests joining and leaving the queue in each minute.
    pub queue_in: Vec<u32>,
    pub queue_out: Vec<u32>,
    /// The longest queue reached at an arrival in each minute (the queue
    /// only grows at arrivals; see [`MinuteSeries::longest_queue`]).
    pub queue_max: Vec<u32>,
}

impl MinuteSeries {
    pub fn with_minutes(n: usize) -> Self {
        let v = || vec![0u32; n];
        MinuteSeries {
            arrivals: v(),
            served: v(),
            refused: v(),
            timed_out: v(),
            failed_outage: v(),
            queue_in: v(),
            queue_out: v(),
            queue_max: v(),
        }
    }

    pub fn len(&self) -> usize {
        self.arrivals.len()
    }

    pub fn is_empty(&self) -> bool {
        self.arrivals.is_empty()
    }

    /// Minutes needed to cover `[0, horizon)`.
    pub fn minutes_for(horizon: SimTime) -> usize {
        (horizon.ms().max(0) as u64).div_ceil(MS_PER_MINUTE as u64) as usize
    }

    fn bump(column: &mut [u32], at: SimTime) {
        if let Some(c) = usize::try_from(at.minute())
            .ok()
            .and_then(|m| column.get_mut(m))
        {
            *c = c.saturating_add(1);
        }
    }

    /// Queue length at the end of each minute.
    pub fn queue_lengths(&self) -> Vec<u64> {
        let mut q: i64 = 0;
        self.queue_in
            .iter()
            .zip(&self.queue_out)
            .map(|(&i, &o)| {
                q += i as i64 - o as i64;
                q.max(0) as u64
            })
            .collect()
    }

    /// The longest queue within each minute: the queue at the end of the
    /// previous minute, or the longest it grew to at an arrival in this one.
    pub fn longest_queue(&self) -> Vec<u64> {
        let ends = self.queue_lengths();
        (0..ends.len())
            .map(|i| {
                let before = if i > 0 { ends[i - 1] } else { 0 };
                let during = self.queue_max.get(i).copied().unwrap_or(0) as u64;
                before.max(during).max(ends[i])
            })
            .collect()
    }
}

pub struct StageMetrics {
    pub counts: StageCounts,
    pub minutes: MinuteSeries,
    /// Queue waits of requests that entered service within the horizon, in ms.
    pub waits: Histogram<u64>,
    /// The same waits, coarsely binned per hour of arrival (charts over time).
    pub hourly_waits: HourlyWaits,
    pub wait_total: SimDuration,
    /// Worker time within the horizon (a backlog that outlasts the run
    /// counts only up to its end, so utilisation never exceeds 100 %).
    pub busy: SimDuration,
    /// The part of `busy` spent on requests whose client had given up.
    pub abandoned_work: SimDuration,
    pub max_queue: usize,
    /// The end of the horizon: nothing at or after it is counted.
    pub horizon: SimTime,
}

impl StageMetrics {
    /// Metrics for a run that ends at `horizon`.
    pub fn new(horizon: SimTime) -> Self {
        StageMetrics {
            counts: StageCounts::default(),
            minutes: MinuteSeries::with_minutes(MinuteSeries::minutes_for(horizon)),
            waits: Histogram::new(3).expect("3 significant digits is a valid precision"),
            hourly_waits: HourlyWaits::default(),
            wait_total: SimDuration::ZERO,
            busy: SimDuration::ZERO,
            abandoned_work: SimDuration::ZERO,
            max_queue: 0,
            horizon,
        }
    }

    fn within(&self, at: SimTime) -> bool {
        at < self.horizon
    }
}

impl StageObserver for StageMetrics {
    fn arrival(&mut self, at: SimTime) {
        self.counts.arrivals += 1;
        MinuteSeries::bump(&mut self.minutes.arrivals, at);
    }

    fn outcome(&mut self, outcome: Outcome, at: SimTime) {
        if !self.within(at) {
            self.counts.in_system_at_end += 1;
            return;
        }
        let m = &mut self.minutes;
        let (count, column) = match outcome {
            Outcome::ChallengeExpired => {
                // Counted, not charted: a SCEP-stage detail.
                self.counts.challenge_expired += 1;
                return;
            }
            Outcome::Served => (&mut self.counts.served, &mut m.served),
            Outcome::Refused => (&mut self.counts.refused, &mut m.refused),
            Outcome::TimedOut => (&mut self.counts.timed_out, &mut m.timed_out),
            Outcome::FailedOutage => (&mut self.counts.failed_outage, &mut m.failed_outage),
        };
        *count += 1;
        MinuteSeries::bump(column, at);
    }

    fn queued(&mut self, arrived: SimTime, left: SimTime) {
        // A request still waiting at the end keeps the last minutes' queue
        // length up: its departure is not in the series.
        MinuteSeries::bump(&mut self.minutes.queue_in, arrived);
        MinuteSeries::bump(&mut self.minutes.queue_out, left);
    }

    fn started(&mut self, arrived: SimTime, wait: SimDuration) {
        if !self.within(arrived + wait) {
            // Still waiting at the end: counted in `in_system_at_end`.
            return;
        }
        // `record` grows the histogram as needed; `saturating_record` would
        // clamp every wait to the initial range (about 2 s) and hide long
        // queues from the percentiles.
        let ms = wait.ms().max(0) as u64;
        if self.waits.record(ms).is_err() {
            self.waits.saturating_record(ms);
        }
        let hour = (arrived.ms() / MS_PER_HOUR).max(0) as usize;
        self.hourly_waits.record(hour, wait.ms());
        self.wait_total = self.wait_total + wait;
    }

    fn work(&mut self, start: SimTime, busy: SimDuration, abandoned: SimDuration) {
        let end = start + busy;
        let limit = self.horizon;
        let within = |from: SimTime| {
            if from >= limit {
                SimDuration::ZERO
            } else {
                end.min(limit).since(from)
            }
        };
        self.busy = self.busy + within(start);
        self.abandoned_work = self.abandoned_work + within(end - abandoned);
    }

    fn queue_length(&mut self, at: SimTime, waiting: usize) {
        self.max_queue = self.max_queue.max(waiting);
        if let Some(c) = usize::try_from(at.minute())
            .ok()
            .and_then(|m| self.minutes.queue_max.get_mut(m))
        {
            *c = (*c).max(u32::try_from(waiting).unwrap_or(u32::MAX));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Streams;
    use crate::model::dist::DurationDist;
    use crate::model::stage::{Stage, StageConfig, Ticket};

    fn one_worker(service: SimDuration) -> Stage {
        let config = StageConfig {
            workers: 1,
            service_time: DurationDist::Fixed { value: service },
            queue_limit: None,
            timeout: None,
            work_on_abandoned: true,
            validates_challenge: false,
        };
        Stage::new(config, Streams::new(1), Vec::new(), Vec::new())
    }

    fn ticket(index: u64) -> Ticket {
        Ticket {
            device: 0,
            index,
            challenge_deadline: None,
        }
    }

    fn at(secs: i64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(secs)
    }

    /// Long waits keep their size in the percentiles (the histogram grows;
    /// it used to clamp every wait to 2 ms).
    #[test]
    fn wait_percentiles_see_long_waits() {
        let mut ca = one_worker(SimDuration::from_secs(10));
        let mut m = StageMetrics::new(at(3600));
        // 11 requests at once: the k-th waits 10·k s, k = 0..=10.
        for k in 0..11 {
            ca.submit(SimTime::ZERO, ticket(k), &mut m);
        }
        let p50 = m.waits.value_at_quantile(0.5) as f64 / 1000.0;
        let max = m.waits.max() as f64 / 1000.0;
        assert!((p50 - 50.0).abs() < 0.1, "p50 {p50} s");
        assert!((max - 100.0).abs() < 0.1, "max {max} s");
    }

    /// A backlog that outlasts the run: worker time past the horizon is not
    /// counted (utilisation stays at most 100 %), answers after it are not
    /// outcomes within it, and every request is still accounted for.
    #[test]
    fn a_backlog_past_the_horizon_is_counted_as_in_the_system() {
        let mut ca = one_worker(SimDuration::from_secs(60));
        let mut m = StageMetrics::new(at(600));
        for k in 0..20 {
            ca.submit(SimTime::ZERO, ticket(k), &mut m);
        }
        assert_eq!(m.busy, SimDuration::from_secs(600));
        // Served at 60, 120, …, 540 s; the 10th finishes exactly at the
        // horizon, which is not within it.
        assert_eq!(m.counts.served, 9);
        assert_eq!(m.counts.in_system_at_end, 11);
        assert_eq!(m.counts.arrivals, m.counts.ended());
        let served: u32 = m.minutes.served.iter().sum();
        assert_eq!(served as u64, m.counts.served);
        assert_eq!(m.minutes.len(), 10);
        // The ten that started service within the horizon have their waits.
        assert_eq!(m.waits.len(), 10);
        assert_eq!(*m.minutes.queue_lengths().last().unwrap(), 10);
    }
}

//! What the CA saw: counts, a per-minute time series and queue waits.

use hdrhistogram::Histogram;

use crate::engine::time::MS_PER_HOUR;
use crate::engine::{SimDuration, SimTime};
use crate::model::stage::{Outcome, StageObserver};

use super::waits::HourlyWaits;

/// Requests by how they ended. `arrivals` equals the sum of the others
/// once a run is over: every request ends exactly once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StageCounts {
    pub arrivals: u64,
    pub served: u64,
    pub refused: u64,
    pub timed_out: u64,
    pub failed_outage: u64,
    /// Rejected because the request's challenge had expired (SCEP stages).
    pub challenge_expired: u64,
}

impl StageCounts {
    pub fn ended(&self) -> u64 {
        self.served + self.refused + self.timed_out + self.failed_outage + self.challenge_expired
    }
}

/// Dense per-minute counters, indexed by simulated minute from the start.
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
    /// The series grows up to this many minutes (`None`: without bound).
    /// CA answers can come long after the horizon (a deep queue, a slow
    /// CA); past the limit they still count in [`StageCounts`] but get no
    /// minute, so that one absurd service time cannot allocate gigabytes.
    pub limit: Option<usize>,
    /// Entries that fell past `limit`.
    pub beyond_limit: u64,
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
            limit: None,
            beyond_limit: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.arrivals.len()
    }

    pub fn is_empty(&self) -> bool {
        self.arrivals.is_empty()
    }

    fn bump(column: &mut Vec<u32>, limit: Option<usize>, beyond: &mut u64, at: SimTime) {
        let m = at.minute().max(0) as usize;
        if limit.is_some_and(|l| m >= l) {
            *beyond += 1;
            return;
        }
        if m >= column.len() {
            column.resize(m + 1, 0);
        }
        column[m] = column[m].saturating_add(1);
    }

    /// Makes every column as long as the longest.
    pub fn equalise(&mut self) {
        let n = [
            &self.arrivals,
            &self.served,
            &self.refused,
            &self.timed_out,
            &self.failed_outage,
            &self.queue_in,
            &self.queue_out,
            &self.queue_max,
        ]
        .iter()
        .map(|c| c.len())
        .max()
        .unwrap_or(0);
        for c in [
            &mut self.arrivals,
            &mut self.served,
            &mut self.refused,
            &mut self.timed_out,
            &mut self.failed_outage,
            &mut self.queue_in,
            &mut self.queue_out,
            &mut self.queue_max,
        ] {
            c.resize(n, 0);
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
    /// Queue waits of requests that entered service, in ms.
    pub waits: Histogram<u64>,
    /// The same waits, coarsely binned per hour of arrival (charts over time).
    pub hourly_waits: HourlyWaits,
    pub wait_total: SimDuration,
    pub busy: SimDuration,
    pub abandoned_work: SimDuration,
    pub max_queue: usize,
    /// Worker time after this instant is not counted in `busy` and
    /// `abandoned_work` (the end of the horizon: a backlog that outlasts the
    /// run must not push utilisation past 100 %). `SimTime::MAX`: no limit.
    pub count_work_until: SimTime,
    /// Requests waiting or in service at the end of the horizon.
    pub in_system_at_end: u64,
}

impl StageMetrics {
    pub fn new(minutes: usize) -> Self {
        StageMetrics {
            counts: StageCounts::default(),
            minutes: MinuteSeries::with_minutes(minutes),
            waits: Histogram::new(3).expect("3 significant digits is a valid precision"),
            hourly_waits: HourlyWaits::default(),
            wait_total: SimDuration::ZERO,
            busy: SimDuration::ZERO,
            abandoned_work: SimDuration::ZERO,
            max_queue: 0,
            count_work_until: SimTime::MAX,
            in_system_at_end: 0,
        }
    }

    /// Counts worker time only up to `horizon`.
    pub fn until(self, horizon: SimTime) -> Self {
        StageMetrics {
            count_work_until: horizon,
            ..self
        }
    }
}

impl StageObserver for StageMetrics {
    fn arrival(&mut self, at: SimTime) {
        self.counts.arrivals += 1;
        let m = &mut self.minutes;
        MinuteSeries::bump(&mut m.arrivals, m.limit, &mut m.beyond_limit, at);
    }

    fn outcome(&mut self, outcome: Outcome, at: SimTime) {
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
        MinuteSeries::bump(column, m.limit, &mut m.beyond_limit, at);
    }

    fn queued(&mut self, arrived: SimTime, left: SimTime) {
        let m = &mut self.minutes;
        MinuteSeries::bump(&mut m.queue_in, m.limit, &mut m.beyond_limit, arrived);
        MinuteSeries::bump(&mut m.queue_out, m.limit, &mut m.beyond_limit, left);
    }

    fn started(&mut self, arrived: SimTime, wait: SimDuration) {
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
        let limit = self.count_work_until;
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
        let m = at.minute().max(0) as usize;
        let column = &mut self.minutes.queue_max;
        if self.minutes.limit.is_some_and(|l| m >= l) {
            return;
        }
        if m >= column.len() {
            column.resize(m + 1, 0);
        }
        column[m] = column[m].max(u32::try_from(waiting).unwrap_or(u32::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Streams;
    use crate::model::dist::DurationDist;
    use crate::model::stage::{Stage, StageConfig};

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

    /// Long waits keep their size in the percentiles (the histogram grows;
    /// it used to clamp every wait to 2 ms).
    #[test]
    fn wait_percentiles_see_long_waits() {
        let mut ca = one_worker(SimDuration::from_secs(10));
        let mut m = StageMetrics::new(60);
        // 11 requests at once: the k-th waits 10·k s, k = 0..=10.
        for _ in 0..11 {
            ca.submit(SimTime::ZERO, None, &mut m);
        }
        let p50 = m.waits.value_at_quantile(0.5) as f64 / 1000.0;
        let max = m.waits.max() as f64 / 1000.0;
        assert!((p50 - 50.0).abs() < 0.1, "p50 {p50} s");
        assert!((max - 100.0).abs() < 0.1, "max {max} s");
    }

    /// Worker time past the horizon is not counted: a backlog that outlasts
    /// the run cannot push utilisation past 100 %.
    #[test]
    fn work_is_counted_within_the_horizon_only() {
        let mut ca = one_worker(SimDuration::from_secs(60));
        let mut m = StageMetrics::new(10).until(SimTime::ZERO + SimDuration::from_secs(600));
        for _ in 0..20 {
            ca.submit(SimTime::ZERO, None, &mut m);
        }
        assert_eq!(m.busy, SimDuration::from_secs(600));
    }
}

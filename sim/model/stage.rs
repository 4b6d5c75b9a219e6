//! A stage of the request path (docs/model.md, "The enrollment service and
//! the CA") as a queue: `workers` parallel workers, a FIFO queue with a
//! bound, a client timeout, scheduled outages and degraded periods. The CA is
//! one; a reverse proxy, NDES or the Intune Certificate Connector before it
//! are others.
//!
//! Requests reach a stage in time order, so each request's fate is decided
//! the moment it arrives (Lindley's recursion over the workers' free times):
//! a stage needs no events of its own, and every request ends exactly once,
//! as served, refused, timed out or failed by an outage.
//!
//! A request's service time is drawn from a stream keyed by the request
//! itself ([`Ticket`]), not by its position in the arrival order, so no
//! result depends on the order in which the stage happens to see requests
//! that arrive at the same instant.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::dist::{deserialize_dist, DurationDist};
use super::purpose;
use crate::engine::{SimDuration, SimTime, Streams};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StageConfig {
    /// Requests served in parallel.
    pub workers: u32,
    /// Time one worker spends on one request.
    #[serde(deserialize_with = "deserialize_dist")]
    #[schemars(schema_with = "crate::model::dist::dist_as_written")]
    pub service_time: DurationDist,
    /// Most requests waiting (not in service); beyond it a request is refused
    /// at once (HTTP 503). Absent: unbounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_limit: Option<u64>,
    /// The client gives up on a request not answered within this time.
    /// Absent: clients wait forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<SimDuration>,
    /// Whether the CA still works on a request whose client has given up
    /// (true: wasted work, as a server that does not see the disconnect) or
    /// drops it from the queue when the client gives up before service.
    #[serde(default = "yes")]
    pub work_on_abandoned: bool,
    /// This stage checks the request's SCEP challenge when it starts on it
    /// (NDES asks Intune to validate it) and rejects an expired one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub validates_challenge: bool,
}

fn yes() -> bool {
    true
}

/// How one CA request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Served,
    /// Queue full: refused at arrival.
    Refused,
    /// Not answered within the client's timeout.
    TimedOut,
    /// The CA was down at arrival, or went down while the request waited or
    /// was in service.
    FailedOutage,
    /// The request's challenge had expired when the stage started on it.
    ChallengeExpired,
}

/// Who is asking: the key of the request's own random stream, and the
/// deadline of its SCEP challenge (for a stage that validates challenges).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket {
    /// The device that sent the request.
    pub device: u64,
    /// Which of the device's requests this is (its try, attempt and hop),
    /// as a stream index: the service time is drawn from (device, index).
    pub index: u64,
    pub challenge_deadline: Option<SimTime>,
}

/// The answer the client sees, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response {
    pub outcome: Outcome,
    pub at: SimTime,
}

/// A [from, to) interval in simulated time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from: SimTime,
    pub to: SimTime,
}

/// Hooks for metrics: the stage reports what happened, the caller counts it.
pub trait StageObserver {
    fn arrival(&mut self, at: SimTime);
    fn outcome(&mut self, outcome: Outcome, at: SimTime);
    /// The request waited in the queue over [arrived, left).
    fn queued(&mut self, arrived: SimTime, left: SimTime);
    /// The request that arrived at `arrived` entered service after waiting `wait`.
    fn started(&mut self, arrived: SimTime, wait: SimDuration);
    /// A worker is busy from `start` for `busy`, the last `abandoned` of it
    /// on a request nobody waits for any more.
    fn work(&mut self, start: SimTime, busy: SimDuration, abandoned: SimDuration);
    fn queue_length(&mut self, at: SimTime, waiting: usize);
}

/// Reports how a request ended, and returns that answer.
fn answer(outcome: Outcome, at: SimTime, obs: &mut impl StageObserver) -> Response {
    obs.outcome(outcome, at);
    Response { outcome, at }
}

pub struct Stage {
    config: StageConfig,
    streams: Streams,
    outages: Vec<Window>,
    degraded: Vec<(Window, f64)>,
    /// When each worker is next free.
    free_at: BinaryHeap<Reverse<SimTime>>,
    /// When each waiting request leaves the queue.
    leaves_queue_at: BinaryHeap<Reverse<SimTime>>,
}

impl Stage {
    pub fn new(
        config: StageConfig,
        streams: Streams,
        mut outages: Vec<Window>,
        degraded: Vec<(Window, f64)>,
    ) -> Self {
        outages.sort_by_key(|w| (w.from, w.to));
        let workers = config.workers.max(1) as usize;
        let free_at = std::iter::repeat_n(Reverse(SimTime(i64::MIN / 4)), workers).collect();
        Stage {
            config,
            streams,
            outages,
            degraded,
            free_at,
            leaves_queue_at: BinaryHeap::new(),
        }
    }

    fn down_at(&self, t: SimTime) -> bool {
        self.outages.iter().any(|w| w.from <= t && t < w.to)
    }

    /// The first outage start strictly after `t`.
    fn next_outage_after(&self, t: SimTime) -> SimTime {
        self.outages
            .iter()
            .map(|w| w.from)
            .filter(|&f| f > t)
            .min()
            .unwrap_or(SimTime::MAX)
    }

    fn capacity_factor(&self, t: SimTime) -> f64 {
        self.degraded
            .iter()
            .filter(|(w, _)| w.from <= t && t < w.to)
            .map(|&(_, f)| f)
            .fold(1.0, f64::min)
    }

    /// A request arrives now; decide its fate. Calls must come in
    /// non-decreasing time order.
    pub fn submit(
        &mut self,
        now: SimTime,
        ticket: Ticket,
        obs: &mut impl StageObserver,
    ) -> Response {
        obs.arrival(now);
        if self.down_at(now) {
            return answer(Outcome::FailedOutage, now, obs);
        }
        while self
            .leaves_queue_at
            .peek()
            .is_some_and(|Reverse(t)| *t <= now)
        {
            self.leaves_queue_at.pop();
        }
        let Reverse(free) = *self.free_at.peek().expect("at least one worker");
        let start = now.max(free);
        // The bound is on the waiting room: a request that finds a free
        // worker is served even with `queue_limit = 0` (M/M/c/c, Erlang B).
        if let Some(limit) = self.config.queue_limit {
            if start > now && self.leaves_queue_at.len() as u64 >= limit {
                return answer(Outcome::Refused, now, obs);
            }
        }
        let gives_up = self.config.timeout.map_or(SimTime::MAX, |d| now + d);
        let outage = self.next_outage_after(now);

        if start >= outage {
            // Still waiting when the stage goes down: lost at the outage.
            let leaves = if self.config.work_on_abandoned {
                outage
            } else {
                outage.min(gives_up)
            };
            self.wait_in_queue(now, leaves, obs);
            return if gives_up < outage {
                answer(Outcome::TimedOut, gives_up, obs)
            } else {
                answer(Outcome::FailedOutage, outage, obs)
            };
        }
        if !self.config.work_on_abandoned && start > gives_up {
            // The client gives up while waiting; the stage drops the request.
            self.wait_in_queue(now, gives_up, obs);
            return answer(Outcome::TimedOut, gives_up, obs);
        }

        if let Some(deadline) = ticket
            .challenge_deadline
            .filter(|_| self.config.validates_challenge)
        {
            if start > deadline {
                // Rejected the moment the stage looks at it: no worker time.
                self.wait_in_queue(now, start, obs);
                return answer(Outcome::ChallengeExpired, start, obs);
            }
        }
        self.free_at.pop();
        if start > now {
            self.wait_in_queue(now, start, obs);
        }
        obs.started(now, start.since(now));
        let factor = self.capacity_factor(start);
        let mut service = self.config.service_time.sample(&mut self.streams.rng(
            ticket.device,
            purpose::STAGE_SERVICE,
            ticket.index,
        ));
        if factor < 1.0 {
            service = SimDuration((service.ms() as f64 / factor.max(1e-9)).round() as i64);
        }
        let done = start + service;
        let (outcome, at, worker_free) = if done > outage {
            // In service when the stage goes down.
            let at = gives_up.min(outage);
            (
                if gives_up < outage {
                    Outcome::TimedOut
                } else {
                    Outcome::FailedOutage
                },
                at,
                outage,
            )
        } else if done <= gives_up {
            (Outcome::Served, done, done)
        } else {
            (Outcome::TimedOut, gives_up, done)
        };
        let busy = worker_free.since(start);
        let abandoned = if outcome == Outcome::TimedOut {
            worker_free.since(gives_up.max(start))
        } else {
            SimDuration::ZERO
        };
        obs.work(start, busy, abandoned);
        self.free_at.push(Reverse(worker_free));
        answer(outcome, at, obs)
    }

    fn wait_in_queue(&mut self, now: SimTime, leaves: SimTime, obs: &mut impl StageObserver) {
        if leaves > now {
            self.leaves_queue_at.push(Reverse(leaves));
            obs.queued(now, leaves);
            obs.queue_length(now, self.leaves_queue_at.len());
        }
    }

    pub fn workers(&self) -> u32 {
        self.config.workers
    }
}

#[cfg(test)]
mod tests {
    //! A stage's decisions on their own, request by request: hand-worked
    //! cases of one or two workers with fixed service times.

    use super::*;

    /// Records every callback, to check what the stage reports.
    #[derive(Default)]
    struct Log {
        arrivals: usize,
        outcomes: Vec<(Outcome, SimTime)>,
        queued: Vec<(SimTime, SimTime)>,
        started: Vec<SimDuration>,
        busy: SimDuration,
        abandoned: SimDuration,
    }

    impl StageObserver for Log {
        fn arrival(&mut self, _: SimTime) {
            self.arrivals += 1;
        }
        fn outcome(&mut self, outcome: Outcome, at: SimTime) {
            self.outcomes.push((outcome, at));
        }
        fn queued(&mut self, arrived: SimTime, left: SimTime) {
            self.queued.push((arrived, left));
        }
        fn started(&mut self, _: SimTime, wait: SimDuration) {
            self.started.push(wait);
        }
        fn work(&mut self, _: SimTime, busy: SimDuration, abandoned: SimDuration) {
            self.busy = self.busy + busy;
            self.abandoned = self.abandoned + abandoned;
        }
        fn queue_length(&mut self, _: SimTime, _: usize) {}
    }

    fn s(secs: i64) -> SimTime {
        SimTime(secs * 1000)
    }

    fn config(workers: u32, service_s: i64) -> StageConfig {
        StageConfig {
            workers,
            service_time: DurationDist::Fixed {
                value: SimDuration::from_secs(service_s),
            },
            queue_limit: None,
            timeout: None,
            work_on_abandoned: true,
            validates_challenge: false,
        }
    }

    fn stage(config: StageConfig, outages: &[(i64, i64)]) -> Stage {
        let outages = outages
            .iter()
            .map(|&(from, to)| Window {
                from: s(from),
                to: s(to),
            })
            .collect();
        Stage::new(config, Streams::new(7), outages, Vec::new())
    }

    fn ticket(index: u64) -> Ticket {
        Ticket {
            device: index,
            index,
            challenge_deadline: None,
        }
    }

    fn answer_of(stage: &mut Stage, at: i64, index: u64, log: &mut Log) -> (Outcome, i64) {
        let r = stage.submit(s(at), ticket(index), log);
        (r.outcome, r.at.0 / 1000)
    }

    #[test]
    fn an_arrival_into_an_outage_fails_at_once_and_costs_nothing() {
        let mut st = stage(config(1, 10), &[(100, 200)]);
        let mut log = Log::default();
        assert_eq!(
            answer_of(&mut st, 150, 0, &mut log),
            (Outcome::FailedOutage, 150)
        );
        assert_eq!(log.busy, SimDuration::ZERO);
        // The outage ends at 200 (exclusive): served again from then.
        assert_eq!(answer_of(&mut st, 200, 1, &mut log), (Outcome::Served, 210));
    }

    #[test]
    fn an_outage_fails_the_requests_in_service_and_waiting_at_its_start() {
        let mut st = stage(config(1, 10), &[(105, 200)]);
        let mut log = Log::default();
        // In service 100–110; the stage goes down at 105.
        assert_eq!(
            answer_of(&mut st, 100, 0, &mut log),
            (Outcome::FailedOutage, 105)
        );
        assert_eq!(log.busy, SimDuration::from_secs(5));
        // One in service and one waiting when the stage goes down at 115:
        // both fail then; the waiting one never cost worker time.
        let mut st = stage(config(1, 10), &[(115, 200)]);
        let mut log = Log::default();
        assert_eq!(answer_of(&mut st, 100, 0, &mut log), (Outcome::Served, 110));
        assert_eq!(
            answer_of(&mut st, 101, 1, &mut log),
            (Outcome::FailedOutage, 115)
        );
        assert_eq!(
            answer_of(&mut st, 102, 2, &mut log),
            (Outcome::FailedOutage, 115)
        );
        assert_eq!(log.busy, SimDuration::from_secs(10 + 5));
        assert!(log.queued.contains(&(s(102), s(115))));
    }

    #[test]
    fn a_full_waiting_room_refuses_at_once_but_a_free_worker_still_serves() {
        let mut c = config(2, 10);
        c.queue_limit = Some(0);
        let mut st = stage(c, &[]);
        let mut log = Log::default();
        // Two free workers: both served although there is no waiting room.
        assert_eq!(answer_of(&mut st, 0, 0, &mut log), (Outcome::Served, 10));
        assert_eq!(answer_of(&mut st, 0, 1, &mut log), (Outcome::Served, 10));
        // Both busy: the third would have to wait, and may not.
        assert_eq!(answer_of(&mut st, 5, 2, &mut log), (Outcome::Refused, 5));
        assert_eq!(answer_of(&mut st, 10, 3, &mut log), (Outcome::Served, 20));

        let mut c = config(1, 10);
        c.queue_limit = Some(1);
        let mut st = stage(c, &[]);
        assert_eq!(answer_of(&mut st, 0, 0, &mut log), (Outcome::Served, 10));
        assert_eq!(answer_of(&mut st, 1, 1, &mut log), (Outcome::Served, 20));
        assert_eq!(answer_of(&mut st, 2, 2, &mut log), (Outcome::Refused, 2));
        // The first waiter left the queue at 10: room again.
        assert_eq!(answer_of(&mut st, 10, 3, &mut log), (Outcome::Served, 30));
    }

    #[test]
    fn a_timeout_fails_the_client_while_the_stage_may_still_work() {
        let mut c = config(1, 10);
        c.timeout = Some(SimDuration::from_secs(15));
        let mut st = stage(c.clone(), &[]);
        let mut log = Log::default();
        assert_eq!(answer_of(&mut st, 0, 0, &mut log), (Outcome::Served, 10));
        // Starts at 10, done at 20 > 0 + 15: timed out at 15 …
        assert_eq!(answer_of(&mut st, 0, 1, &mut log), (Outcome::TimedOut, 15));
        // … but the worker spent 10 s on it, 5 of them after the client left.
        assert_eq!(log.busy, SimDuration::from_secs(20));
        assert_eq!(log.abandoned, SimDuration::from_secs(5));
        // The next one starts only at 20 (the wasted work delays it).
        assert_eq!(answer_of(&mut st, 0, 2, &mut log), (Outcome::TimedOut, 15));
        assert_eq!(log.abandoned, SimDuration::from_secs(5 + 10));
    }

    #[test]
    fn without_work_on_abandoned_a_request_whose_client_left_is_dropped_from_the_queue() {
        let mut c = config(1, 10);
        c.timeout = Some(SimDuration::from_secs(15));
        c.work_on_abandoned = false;
        let mut st = stage(c, &[]);
        let mut log = Log::default();
        assert_eq!(answer_of(&mut st, 0, 0, &mut log), (Outcome::Served, 10));
        assert_eq!(answer_of(&mut st, 0, 1, &mut log), (Outcome::TimedOut, 15));
        assert_eq!(answer_of(&mut st, 0, 2, &mut log), (Outcome::TimedOut, 15));
        // Waits for the worker (free at 20: the second still got worked on
        // because it had started), not for the dropped third.
        assert_eq!(answer_of(&mut st, 16, 3, &mut log), (Outcome::Served, 30));
        // Dropped while waiting: it left the queue when its client gave up.
        assert!(log.queued.contains(&(s(0), s(15))));
    }

    #[test]
    fn an_expired_challenge_is_rejected_when_the_stage_starts_on_it() {
        let mut c = config(1, 10);
        c.validates_challenge = true;
        let mut st = stage(c, &[]);
        let mut log = Log::default();
        assert_eq!(answer_of(&mut st, 0, 0, &mut log), (Outcome::Served, 10));
        let late = Ticket {
            device: 1,
            index: 1,
            challenge_deadline: Some(s(5)),
        };
        let r = st.submit(s(1), late, &mut log);
        assert_eq!((r.outcome, r.at), (Outcome::ChallengeExpired, s(10)));
        // No worker time was spent on it.
        assert_eq!(log.busy, SimDuration::from_secs(10));
    }

    /// Service times belong to the request: the same two requests arriving
    /// at the same instant in either order are served in the order they
    /// arrive, but each keeps its own service time.
    #[test]
    fn service_times_are_keyed_by_the_request_not_the_arrival_order() {
        let mut c = config(2, 0);
        c.service_time = DurationDist::Exponential {
            mean: SimDuration::from_secs(100),
        };
        let run = |order: [u64; 2]| {
            let mut st = stage(c.clone(), &[]);
            let mut log = Log::default();
            let mut done = [SimTime::ZERO; 2];
            for i in order {
                done[i as usize] = st.submit(s(0), ticket(i), &mut log).at;
            }
            done
        };
        assert_eq!(run([0, 1]), run([1, 0]));
        assert_ne!(run([0, 1])[0], run([0, 1])[1]);
    }
}

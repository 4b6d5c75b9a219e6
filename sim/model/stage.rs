//! The certificate authority as a queueing stage (MODEL.md §6): `workers`
//! parallel workers, FIFO queue with a bound, a client timeout, scheduled
//! outages and degraded periods.
//!
//! Requests reach the CA in time order, so each request's fate is decided
//! the moment it arrives (Lindley's recursion over the workers' free times):
//! the CA needs no events of its own, and every request ends exactly once,
//! as served, refused, timed out or failed by an outage.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};

use super::dist::{deserialize_dist, DurationDist};
use super::purpose;
use crate::engine::{SimDuration, SimTime, Streams};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageConfig {
    /// Requests served in parallel.
    pub workers: u32,
    /// Time one worker spends on one request.
    #[serde(deserialize_with = "deserialize_dist")]
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
    /// (NDES asks Intune to validate it, seed 002) and rejects an expired one.
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

pub struct Stage {
    config: StageConfig,
    streams: Streams,
    outages: Vec<Window>,
    degraded: Vec<(Window, f64)>,
    /// When each worker is next free.
    free_at: BinaryHeap<Reverse<SimTime>>,
    /// When each waiting request leaves the queue.
    leaves_queue_at: BinaryHeap<Reverse<SimTime>>,
    arrivals: u64,
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
            arrivals: 0,
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
    /// non-decreasing time order. `challenge_deadline`: when the request's
    /// challenge expires, for a stage that validates challenges.
    pub fn submit(
        &mut self,
        now: SimTime,
        challenge_deadline: Option<SimTime>,
        obs: &mut impl StageObserver,
    ) -> Response {
        let seq = self.arrivals;
        self.arrivals += 1;
        obs.arrival(now);
        if self.down_at(now) {
            obs.outcome(Outcome::FailedOutage, now);
            return Response {
                outcome: Outcome::FailedOutage,
                at: now,
            };
        }
        while self
            .leaves_queue_at
            .peek()
            .is_some_and(|Reverse(t)| *t <= now)
        {
            self.leaves_queue_at.pop();
        }
        if let Some(limit) = self.config.queue_limit {
            if self.leaves_queue_at.len() as u64 >= limit {
                obs.outcome(Outcome::Refused, now);
                return Response {
                    outcome: Outcome::Refused,
                    at: now,
                };
            }
        }
        let Reverse(free) = *self.free_at.peek().expect("at least one worker");
        let start = now.max(free);
        let gives_up = self.config.timeout.map_or(SimTime::MAX, |d| now + d);
        let outage = self.next_outage_after(now);

        if start >= outage {
            // Still waiting when the CA goes down: lost at the outage.
            let leaves = if self.config.work_on_abandoned {
                outage
            } else {
                outage.min(gives_up)
            };
            self.wait_in_queue(now, leaves, obs);
            let (outcome, at) = if gives_up < outage {
                (Outcome::TimedOut, gives_up)
            } else {
                (Outcome::FailedOutage, outage)
            };
            obs.outcome(outcome, at);
            return Response { outcome, at };
        }
        if !self.config.work_on_abandoned && start > gives_up {
            // The client gives up while waiting; the CA drops the request.
            self.wait_in_queue(now, gives_up, obs);
            obs.outcome(Outcome::TimedOut, gives_up);
            return Response {
                outcome: Outcome::TimedOut,
                at: gives_up,
            };
        }

        if let Some(deadline) = challenge_deadline.filter(|_| self.config.validates_challenge) {
            if start > deadline {
                // Rejected the moment the stage looks at it: no worker time.
                self.wait_in_queue(now, start, obs);
                obs.outcome(Outcome::ChallengeExpired, start);
                return Response {
                    outcome: Outcome::ChallengeExpired,
                    at: start,
                };
            }
        }
        self.free_at.pop();
        if start > now {
            self.wait_in_queue(now, start, obs);
        }
        obs.started(now, start.since(now));
        let factor = self.capacity_factor(start);
        let mut service =
            self.config
                .service_time
                .sample(&mut self.streams.rng(0, purpose::CA_SERVICE, seq));
        if factor < 1.0 {
            service = SimDuration((service.ms() as f64 / factor.max(1e-9)).round() as i64);
        }
        let done = start + service;
        let (outcome, at, worker_free) = if done > outage {
            // In service when the CA goes down.
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
        obs.outcome(outcome, at);
        Response { outcome, at }
    }

    fn wait_in_queue(&mut self, now: SimTime, leaves: SimTime, obs: &mut impl StageObserver) {
        if leaves > now {
            self.leaves_queue_at.push(Reverse(leaves));
            obs.queued(now, leaves);
            obs.queue_length(now, self.leaves_queue_at.len());
        }
    }

    pub fn arrivals(&self) -> u64 {
        self.arrivals
    }

    pub fn workers(&self) -> u32 {
        self.config.workers
    }
}

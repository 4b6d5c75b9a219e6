//! The future-event list, ordered by (time, tie key).
//!
//! Ties at the same millisecond are broken by a key the model chooses
//! (event kind, then device id), never by insertion order, so the order of
//! events is a property of the scenario, not of how it was computed.
//!
//! A calendar queue: simulated time up to the horizon is cut into equal
//! buckets. Pushing appends to the event's bucket (O(1), no reordering);
//! only the bucket being worked through is kept as a binary heap. A plain
//! binary heap over a million pending events spent most of a run in cache
//! misses (SimCore's authors report the same: heap operations are 60–75 %
//! of run time), and most events here are scheduled months ahead.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::time::SimTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Scheduled {
    pub at: SimTime,
    /// Fixed tie-break key; also identifies the event to the model.
    pub key: u64,
}

/// Most buckets a queue allocates (each an empty `Vec` until used).
const MAX_BUCKETS: i64 = 1 << 18;
/// Buckets are at least this wide (ms).
const MIN_BUCKET_MS: i64 = 60_000;

pub struct EventQueue {
    /// Events at or after the horizon are never processed: not stored.
    horizon: SimTime,
    bucket_ms: i64,
    buckets: Vec<Vec<Scheduled>>,
    /// Index of the bucket held in `current`.
    current_bucket: usize,
    current: BinaryHeap<Reverse<Scheduled>>,
    pending: usize,
    now: SimTime,
    processed: u64,
    dropped: u64,
}

impl EventQueue {
    /// An empty queue for events in [0, horizon).
    pub fn new(horizon: SimTime) -> Self {
        let span = horizon.0.max(1);
        let bucket_ms = (span / MAX_BUCKETS + 1).max(MIN_BUCKET_MS);
        let n = (span / bucket_ms + 1) as usize;
        EventQueue {
            horizon,
            bucket_ms,
            buckets: vec![Vec::new(); n],
            current_bucket: 0,
            current: BinaryHeap::new(),
            pending: 0,
            now: SimTime(i64::MIN),
            processed: 0,
            dropped: 0,
        }
    }

    /// A queue holding the initial events.
    pub fn from_events(horizon: SimTime, events: Vec<Scheduled>) -> Self {
        let mut q = EventQueue::new(horizon);
        for ev in events {
            q.push(ev.at, ev.key);
        }
        q
    }

    fn bucket_of(&self, at: SimTime) -> usize {
        (at.0.max(0) / self.bucket_ms) as usize
    }

    /// Schedules an event. Scheduling into the past is a model bug.
    pub fn push(&mut self, at: SimTime, key: u64) {
        debug_assert!(
            at >= self.now,
            "event scheduled in the past: {at:?} < now {:?}",
            self.now
        );
        if at >= self.horizon {
            self.dropped += 1;
            return;
        }
        let ev = Scheduled { at, key };
        let b = self.bucket_of(at);
        if b <= self.current_bucket {
            self.current.push(Reverse(ev));
        } else {
            self.buckets[b].push(ev);
        }
        self.pending += 1;
    }

    /// The next event, advancing the clock to it. An event earlier than
    /// `now()` can only come from a push into the past; the caller checks
    /// for it (the simulation reports it as an invariant violation rather
    /// than panicking here).
    pub fn pop(&mut self) -> Option<Scheduled> {
        while self.current.is_empty() {
            if self.pending == 0 {
                return None;
            }
            self.current_bucket += 1;
            let events = std::mem::take(&mut self.buckets[self.current_bucket]);
            self.current = events.into_iter().map(Reverse).collect::<Vec<_>>().into();
        }
        let Reverse(ev) = self.current.pop()?;
        self.pending -= 1;
        self.now = ev.at;
        self.processed += 1;
        Some(ev)
    }

    pub fn now(&self) -> SimTime {
        self.now
    }

    pub fn len(&self) -> usize {
        self.pending
    }

    pub fn is_empty(&self) -> bool {
        self.pending == 0
    }

    /// Events popped so far.
    pub fn processed(&self) -> u64 {
        self.processed
    }

    /// Events pushed at or after the horizon (never processed).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_break_by_key_not_insertion_order() {
        let mut q = EventQueue::new(SimTime(1_000_000));
        q.push(SimTime(10), 5);
        q.push(SimTime(10), 2);
        q.push(SimTime(3), 9);
        let order: Vec<_> = std::iter::from_fn(|| q.pop())
            .map(|e| (e.at.0, e.key))
            .collect();
        assert_eq!(order, vec![(3, 9), (10, 2), (10, 5)]);
    }

    #[test]
    fn matches_a_sorted_list_across_buckets() {
        // Pseudo-random times over many buckets, some pushed while popping.
        let horizon = SimTime(100 * MIN_BUCKET_MS);
        let mut q = EventQueue::new(horizon);
        let mut expected = Vec::new();
        let mut x: u64 = 12345;
        let mut next = || {
            x = super::super::random::mix64(x);
            x
        };
        for key in 0..2_000u64 {
            let at = SimTime((next() % horizon.0 as u64) as i64);
            q.push(at, key);
            expected.push((at, key));
        }
        let mut got = Vec::new();
        let mut key = 10_000;
        while let Some(ev) = q.pop() {
            got.push((ev.at, ev.key));
            if key < 12_000 {
                // An event scheduled from the current one, possibly into
                // the bucket being processed.
                let at = SimTime(ev.at.0 + (next() % (3 * MIN_BUCKET_MS as u64)) as i64);
                if at < horizon {
                    q.push(at, key);
                    expected.push((at, key));
                }
                key += 1;
            }
        }
        expected.sort();
        assert_eq!(got, expected);
        q.push(horizon, 1);
        assert_eq!(q.dropped(), 1);
        assert!(q.is_empty());
    }
}

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
/// Fewest buckets, whatever the size of the queue.
const MIN_BUCKETS: i64 = 1 << 10;
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
        Self::with_buckets(horizon, MAX_BUCKETS)
    }

    /// An empty queue sized for about `pending` events at a time: fewer
    /// buckets for a small queue (an empty bucket still costs a `Vec`).
    pub fn for_events(horizon: SimTime, pending: u64) -> Self {
        let buckets = (pending / 4).clamp(MIN_BUCKETS as u64, MAX_BUCKETS as u64) as i64;
        Self::with_buckets(horizon, buckets)
    }

    fn with_buckets(horizon: SimTime, max_buckets: i64) -> Self {
        let span = horizon.0.max(1);
        let bucket_ms = (span / max_buckets + 1).max(MIN_BUCKET_MS);
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

    fn bucket_of(&self, at: SimTime) -> usize {
        (at.0.max(0) / self.bucket_ms) as usize
    }

    /// Schedules an event. An event earlier than the last one popped is
    /// allowed (it is popped next): the parallel loop hands a shard answers
    /// that arrived earlier in the window it has just worked through.
    pub fn push(&mut self, at: SimTime, key: u64) {
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

    /// Makes the earliest pending event the top of `current`, opening
    /// buckets that start before `limit` only: a peek never moves the queue
    /// past `limit`, so events pushed before it later still land in their
    /// buckets rather than in the heap.
    fn open_until(&mut self, limit: SimTime) -> Option<&Scheduled> {
        while self.current.is_empty() {
            let next = self.current_bucket + 1;
            if self.pending == 0 || next as i64 * self.bucket_ms >= limit.0 {
                return None;
            }
            self.current_bucket = next;
            let events = std::mem::take(&mut self.buckets[next]);
            self.current = events.into_iter().map(Reverse).collect::<Vec<_>>().into();
        }
        self.current.peek().map(|Reverse(ev)| ev)
    }

    /// The key of the event after the one just popped, if it is already at
    /// hand (no bucket is opened): a hint for prefetching.
    pub fn peek_key(&self) -> Option<u64> {
        self.current.peek().map(|Reverse(ev)| ev.key)
    }

    /// The next event, advancing the clock to it.
    pub fn pop(&mut self) -> Option<Scheduled> {
        self.pop_before(SimTime(i64::MAX))
    }

    /// The next event if it is due before `limit`.
    pub fn pop_before(&mut self, limit: SimTime) -> Option<Scheduled> {
        if self.open_until(limit)?.at >= limit {
            return None;
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

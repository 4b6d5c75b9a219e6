//! The future-event list: a binary heap ordered by (time, tie key).
//!
//! Ties at the same millisecond are broken by a key the model chooses
//! (event kind, then device id), never by insertion order, so the order of
//! events is a property of the scenario, not of how it was computed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::time::SimTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Scheduled {
    pub at: SimTime,
    /// Fixed tie-break key; also identifies the event to the model.
    pub key: u64,
}

#[derive(Default)]
pub struct EventQueue {
    heap: BinaryHeap<Reverse<Scheduled>>,
    now: SimTime,
    processed: u64,
}

impl EventQueue {
    pub fn with_capacity(n: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(n),
            now: SimTime(i64::MIN),
            processed: 0,
        }
    }

    /// Builds the queue from initial events in O(n).
    pub fn from_events(events: Vec<Scheduled>) -> Self {
        let heap = events.into_iter().map(Reverse).collect::<Vec<_>>().into();
        EventQueue {
            heap,
            now: SimTime(i64::MIN),
            processed: 0,
        }
    }

    /// Schedules an event. Scheduling into the past is a model bug.
    pub fn push(&mut self, at: SimTime, key: u64) {
        debug_assert!(
            at >= self.now,
            "event scheduled in the past: {at:?} < now {:?}",
            self.now
        );
        self.heap.push(Reverse(Scheduled { at, key }));
    }

    /// The next event, advancing the clock to it. An event earlier than
    /// `now()` can only come from a push into the past; the caller checks
    /// for it (the simulation reports it as an invariant violation rather
    /// than panicking here).
    pub fn pop(&mut self) -> Option<Scheduled> {
        let Reverse(ev) = self.heap.pop()?;
        self.now = ev.at;
        self.processed += 1;
        Some(ev)
    }

    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|Reverse(ev)| ev.at)
    }

    pub fn now(&self) -> SimTime {
        self.now
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Events popped so far.
    pub fn processed(&self) -> u64 {
        self.processed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_break_by_key_not_insertion_order() {
        let mut q = EventQueue::with_capacity(4);
        q.push(SimTime(10), 5);
        q.push(SimTime(10), 2);
        q.push(SimTime(3), 9);
        let order: Vec<_> = std::iter::from_fn(|| q.pop())
            .map(|e| (e.at.0, e.key))
            .collect();
        assert_eq!(order, vec![(3, 9), (10, 2), (10, 5)]);
    }
}

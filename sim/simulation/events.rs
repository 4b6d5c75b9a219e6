//! The events of a run and their tie-break keys.
//!
//! An event is (time, key); the key packs the event's kind, the device's
//! generation when it was scheduled, and the device (or, for a fleet event,
//! the scenario event's index). Events at the same millisecond run in key
//! order: by kind, then generation, then device — a property of the
//! scenario, never of the order in which they were computed.

use crate::engine::Scheduled;

use super::device::Next;

/// Event kinds, in the order they run when they share a millisecond.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A scenario event (template bump, revocation); `device` is its index.
    Fleet = 0,
    /// A stage's answer reaches the device (or moves the request on to the
    /// next stage of its route).
    Respond = 1,
    /// An issued certificate reaches the device.
    Deliver = 2,
    /// The next attempt of a try (dmcertinst).
    Attempt = 3,
    /// A trigger fires and the client tries.
    Try = 4,
    /// The help desk re-enrolls a stranded device.
    Recover = 5,
}

const DEVICE_BITS: u32 = 40;
const DEVICE_MASK: u64 = (1 << DEVICE_BITS) - 1;
/// Devices a run can address (the key's device field).
pub const MAX_DEVICES: u64 = 1 << DEVICE_BITS;

pub fn event_key(kind: Kind, generation: u16, device: u64) -> u64 {
    ((kind as u64) << 56) | ((generation as u64) << DEVICE_BITS) | device
}

pub fn decode(key: u64) -> (Kind, u16, u64) {
    let kind = match key >> 56 {
        0 => Kind::Fleet,
        1 => Kind::Respond,
        2 => Kind::Deliver,
        3 => Kind::Attempt,
        4 => Kind::Try,
        _ => Kind::Recover,
    };
    (
        kind,
        ((key >> DEVICE_BITS) & 0xffff) as u16,
        key & DEVICE_MASK,
    )
}

/// The event for a device's next step.
pub fn scheduled(device: u64, generation: u16, next: Next) -> Option<Scheduled> {
    let (kind, at) = match next {
        Next::Try(at) => (Kind::Try, at),
        Next::Recover(at) => (Kind::Recover, at),
        Next::Nothing => return None,
    };
    Some(Scheduled {
        at,
        key: event_key(kind, generation, device),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_order_by_kind_first() {
        let key = event_key(Kind::Attempt, 7, MAX_DEVICES - 1);
        assert_eq!(decode(key), (Kind::Attempt, 7, MAX_DEVICES - 1));
        assert!(event_key(Kind::Respond, u16::MAX, 9) < event_key(Kind::Deliver, 0, 0));
    }
}

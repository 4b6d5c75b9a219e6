//! The certificate-fleet model (docs/model.md): devices and their power
//! schedules, certificates, renewal clients, the server's eligibility policy,
//! and the CA. Nothing here knows about files, formats or metrics;
//! `simulation` ties the parts together.

pub mod certificate;
pub mod client;
pub mod clock;
pub mod dist;
pub mod events;
pub mod power;
pub mod server;
pub mod spec;
pub mod stage;
pub mod zone;

pub use spec::{Cohort, HeadlineFigure, ReportSpec, Scenario};

/// The most devices a scenario may have: a device id is 32 bits in the
/// engine's event keys.
pub const MAX_DEVICES: u64 = 1 << 32;

/// The most template bumps and mass revocations a scenario may have: each
/// can replace every device's pending event once, and a replaced event is
/// recognised as stale by an 8-bit generation that must not wrap around.
pub const MAX_FLEET_EVENTS: usize = 255;

/// The purposes of random streams. Each is independent of the others, so a
/// new draw for one purpose never changes the numbers of another.
pub mod purpose {
    use crate::engine::Purpose;

    pub const ENROLLMENT: Purpose = Purpose(1);
    pub const POWER_HABIT: Purpose = Purpose(2);
    pub const POWER_DAY: Purpose = Purpose(3);
    pub const ONOFF_PERIOD: Purpose = Purpose(4);
    pub const ONOFF_JUMP: Purpose = Purpose(5);
    pub const SLOT: Purpose = Purpose(6);
    pub const EPISODE_MEMBER: Purpose = Purpose(7);
    pub const EPISODE_START: Purpose = Purpose(8);
    pub const EPISODE_LENGTH: Purpose = Purpose(9);
    pub const TRIGGER_PHASE: Purpose = Purpose(10);
    pub const TRIGGER_JITTER: Purpose = Purpose(11);
    pub const RECOVERY_DELAY: Purpose = Purpose(12);
    /// A stage's service time for one request, keyed by the request
    /// (device; try, attempt and hop as the index) in the stage's own family.
    pub const STAGE_SERVICE: Purpose = Purpose(13);
    pub const RENEWAL_PICK: Purpose = Purpose(14);
    pub const REQUEST_DELAY: Purpose = Purpose(15);
    pub const APPROVAL: Purpose = Purpose(16);
    pub const APPROVAL_DELAY: Purpose = Purpose(17);
    pub const REVOCATION: Purpose = Purpose(18);
    /// A device's zone when its cohort is spread over several (numbered
    /// apart from the sequence above, which other work extends).
    pub const TIME_ZONE: Purpose = Purpose(32);
}

//! A device's state as the fleet stores it: 8 bytes.
//!
//! With its pending event (8 bytes in the event queue, up to 8 more of a
//! bucket's spare capacity), a device costs at most 24 bytes, so a fleet of
//! 5 × 10⁸ fits in 12 GiB. What can be derived is not stored: the cohort
//! follows from the device id (cohorts are contiguous ranges of ids), and a
//! certificate's expiry from its issuance (the cohort's lifetime in force
//! then: [`super::device::CohortPlan::lifetime_of`]).
//!
//! Layout, low to high bits: issuance time in ms from the start, signed, 48
//! bits (±4,462 years; the scenario's horizon, lifetimes and enrolment
//! dates are bounded far inside that); generation, 8 bits; then the flags.

use crate::engine::SimTime;
use crate::model::certificate::Certificate;

use super::device::Device;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PackedDevice(u64);

const ISSUED_BITS: u32 = 48;
const ISSUED_MASK: u64 = (1 << ISSUED_BITS) - 1;
const GENERATION_SHIFT: u32 = ISSUED_BITS;
const EXPIRED_EVER: u64 = 1 << 56;
const RECOVERING: u64 = 1 << 57;
const FORCED: u64 = 1 << 58;

/// The earliest and latest issuance times the layout holds.
pub const ISSUED_RANGE: std::ops::RangeInclusive<i64> =
    -(1 << (ISSUED_BITS - 1))..=(1 << (ISSUED_BITS - 1)) - 1;

impl PackedDevice {
    /// Packs everything but the cohort and the expiry, which the caller
    /// derives again when unpacking.
    pub fn pack(d: &Device) -> Self {
        debug_assert!(
            ISSUED_RANGE.contains(&d.cert.issued.0),
            "issuance out of range"
        );
        let flag = |on: bool, bit: u64| if on { bit } else { 0 };
        PackedDevice(
            (d.cert.issued.0 as u64 & ISSUED_MASK)
                | (u64::from(d.generation) << GENERATION_SHIFT)
                | flag(d.expired_ever, EXPIRED_EVER)
                | flag(d.recovering, RECOVERING)
                | flag(d.forced, FORCED),
        )
    }

    pub fn issued(self) -> SimTime {
        // Sign-extend the low 48 bits.
        SimTime(((self.0 << (64 - ISSUED_BITS)) as i64) >> (64 - ISSUED_BITS))
    }

    pub fn generation(self) -> u8 {
        (self.0 >> GENERATION_SHIFT) as u8
    }

    /// The full state, given the cohort and the certificate's expiry.
    pub fn unpack(self, cohort: u16, expiry: SimTime) -> Device {
        Device {
            cert: Certificate {
                issued: self.issued(),
                expiry,
            },
            cohort,
            generation: self.generation(),
            expired_ever: self.0 & EXPIRED_EVER != 0,
            recovering: self.0 & RECOVERING != 0,
            forced: self.0 & FORCED != 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_survives_packing() {
        for issued in [
            *ISSUED_RANGE.start(),
            -86_400_000 * 365,
            -1,
            0,
            1,
            *ISSUED_RANGE.end(),
        ] {
            for (generation, flags) in [(0u8, 0u8), (255, 0b111), (17, 0b101), (128, 0b010)] {
                let d = Device {
                    cert: Certificate {
                        issued: SimTime(issued),
                        expiry: SimTime(issued + 5),
                    },
                    cohort: 3,
                    generation,
                    expired_ever: flags & 1 != 0,
                    recovering: flags & 2 != 0,
                    forced: flags & 4 != 0,
                };
                let packed = PackedDevice::pack(&d);
                assert_eq!(packed.issued(), d.cert.issued);
                assert_eq!(packed.generation(), generation);
                let back = packed.unpack(3, d.cert.expiry);
                assert_eq!(format!("{back:?}"), format!("{d:?}"));
            }
        }
        assert_eq!(std::mem::size_of::<PackedDevice>(), 8);
    }
}

//! How much memory a run of a scenario needs, estimated before anything is
//! allocated, so that a run too large for the machine is refused with the
//! estimate instead of being killed (or swapping) halfway.
//!
//! The estimate follows what `Simulation` allocates: per device its state
//! ([`Device`]), its slot in the event heap ([`Scheduled`]), the on/off
//! cursor of `on_off` cohorts, the per-device results vector built during
//! setup (one cohort at a time) and, with invariant checks, the time of the
//! device's last CA answer; per simulated minute the CA series (8 columns of
//! `u32`, plus the queue lengths computed for the report); per day and
//! cohort the daily counters and the hourly renewal and validity series
//! (counters, their end-of-run copy and the report's levels); per CA worker
//! its next free time.

use std::fmt;
use std::mem::size_of;

use crate::engine::time::MS_PER_DAY;
use crate::engine::{Scheduled, SimTime};
use crate::metrics::{Counts, MinuteSeries};
use crate::model::power::{OnOffCursor, PowerSchedule};
use crate::model::Scenario;
use crate::simulation::Device;

/// The estimate, by part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// (what, bytes, the key path that drives it).
    pub parts: Vec<(&'static str, u64, String)>,
    pub total: u64,
}

impl MemoryEstimate {
    /// The key path of the largest part: what to change to shrink the run.
    pub fn largest(&self) -> &str {
        self.parts
            .iter()
            .max_by_key(|(_, bytes, _)| *bytes)
            .map_or("cohorts", |(_, _, key)| key.as_str())
    }
}

impl MemoryEstimate {
    /// `devices 781.2 KiB, per-minute series 36.1 MiB, …`
    pub fn breakdown(&self) -> String {
        let parts: Vec<String> = self
            .parts
            .iter()
            .filter(|(_, b, _)| *b > 0)
            .map(|(what, b, _)| format!("{what} {}", Bytes(*b)))
            .collect();
        parts.join(", ")
    }
}

impl fmt::Display for MemoryEstimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "about {} ({})", Bytes(self.total), self.breakdown())
    }
}

/// Fixed costs: histograms, the scenario, buffers, the thread pool.
const BASE: u64 = 16 << 20;

pub fn estimate(s: &Scenario, check_invariants: bool) -> MemoryEstimate {
    let mul = |a: u64, b: usize| a.saturating_mul(b as u64);
    let devices = s.total_devices();
    let on_off: u64 = s
        .cohorts
        .iter()
        .filter(|c| matches!(c.power, PowerSchedule::OnOff(_)))
        .fold(0u64, |sum, c| sum.saturating_add(c.count));
    let (largest_index, largest) = s
        .cohorts
        .iter()
        .enumerate()
        .max_by_key(|(_, c)| c.count)
        .map_or((0, 0), |(i, c)| (i, c.count));
    let count_key = format!("cohorts[{largest_index}].count");
    // One per-minute series per stage (the CA and any stage before it).
    let stages = 1 + s.stages.len() as u64;
    let minutes = stages.saturating_mul(MinuteSeries::minutes_for(s.horizon_end()) as u64);
    let days = (s.horizon.ms() / MS_PER_DAY + 2) as u64;
    let minute_key = "horizon";
    // Invariant checks keep no per-device state; the flag stays in the
    // signature for callers that estimate both ways.
    let _ = check_invariants;
    let per_device = size_of::<Device>() + size_of::<Scheduled>();
    let parts = vec![
        ("devices", mul(devices, per_device), count_key.clone()),
        (
            "on/off cursors",
            mul(on_off, size_of::<OnOffCursor>()),
            count_key.clone(),
        ),
        (
            "setup",
            mul(largest, size_of::<(Device, Scheduled)>()),
            count_key,
        ),
        (
            "per-minute series",
            mul(minutes, size_of::<[u32; 8]>() + size_of::<u64>()),
            minute_key.to_string(),
        ),
        (
            "per-day series",
            mul(
                days.saturating_mul(s.cohorts.len() as u64),
                2 * size_of::<Counts>() + 24 * (2 * 3 * size_of::<u32>() + size_of::<i64>()),
            ),
            "horizon".to_string(),
        ),
        (
            "CA workers",
            mul(u64::from(s.ca.workers), 2 * size_of::<SimTime>()),
            "ca.workers".to_string(),
        ),
        ("fixed", BASE, "cohorts".to_string()),
    ];
    let total = parts
        .iter()
        .fold(0u64, |sum, (_, b, _)| sum.saturating_add(*b));
    MemoryEstimate { parts, total }
}

/// A size in bytes, printed with binary units (`1.5 GiB`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        let mut value = self.0 as f64;
        let mut unit = 0;
        while value >= 1024.0 && unit + 1 < UNITS.len() {
            value /= 1024.0;
            unit += 1;
        }
        if unit == 0 {
            write!(f, "{} B", self.0)
        } else {
            write!(f, "{value:.1} {}", UNITS[unit])
        }
    }
}

/// Parses `40GiB`, `512MiB`, `2G`, `1.5TB`, `1000000` (bytes). Binary units
/// (KiB, MiB, GiB, TiB) and K/M/G/T mean powers of 1024; KB, MB, GB, TB
/// powers of 1000.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let bad = || {
        format!("invalid size {text:?}: expected a number and a unit, e.g. \"40GiB\", \"512MiB\", \"2TB\"")
    };
    let number: f64 = number.replace('_', "").parse().map_err(|_| bad())?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024f64.powi(2),
        "g" | "gib" => 1024f64.powi(3),
        "t" | "tib" => 1024f64.powi(4),
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        _ => return Err(bad()),
    };
    let bytes = number * scale;
    if !(bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(bad());
    }
    Ok(bytes as u64)
}

/// Physical memory (Linux: `MemTotal` in /proc/meminfo).
pub fn physical_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// How much memory a run may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryLimit {
    /// `None`: no limit.
    pub bytes: Option<u64>,
    /// Where the limit comes from, for messages.
    pub source: String,
}

/// Without /proc/meminfo, the limit assumes a modest machine.
const FALLBACK_LIMIT: u64 = 8 << 30;

impl MemoryLimit {
    /// Half of the memory this process may use (physical memory, or a
    /// container's or slice's cgroup limit if lower): the rest is left to
    /// the system, other programs and the estimate's error.
    pub fn default_for_machine() -> Self {
        match crate::host::available_memory() {
            Some(m) => MemoryLimit {
                bytes: Some(m.bytes / 2),
                source: format!("half of {} of {}", m.bound, Bytes(m.bytes)),
            },
            None => MemoryLimit {
                bytes: Some(FALLBACK_LIMIT),
                source: "the default for a machine of unknown size".to_string(),
            },
        }
    }

    pub fn given(bytes: u64) -> Self {
        MemoryLimit {
            bytes: Some(bytes),
            source: "--max-memory".to_string(),
        }
    }

    pub fn none() -> Self {
        MemoryLimit {
            bytes: None,
            source: "--no-memory-limit".to_string(),
        }
    }
}

impl fmt::Display for MemoryLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.bytes {
            Some(b) => write!(f, "{} ({})", Bytes(b), self.source),
            None => write!(f, "none ({})", self.source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_bytes("40GiB").unwrap(), 40 << 30);
        assert_eq!(parse_bytes("512 MiB").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("2GB").unwrap(), 2_000_000_000);
        assert_eq!(parse_bytes("1.5g").unwrap(), 3 << 29);
        for bad in ["", "GiB", "-1GiB", "40 parsecs", "0", "1e400"] {
            assert!(parse_bytes(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Bytes(3 << 29).to_string(), "1.5 GiB");
    }
}

//! Simulated time: integer milliseconds from the scenario's start instant.
//!
//! Integer milliseconds rather than seconds, so that
//! a CA serving 100 requests per second (service times of a few ms) is
//! represented exactly. Everything a scenario says in seconds or coarser is
//! exact in this unit too.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub const MS_PER_SECOND: i64 = 1_000;
pub const MS_PER_MINUTE: i64 = 60 * MS_PER_SECOND;
pub const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;
pub const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;

/// An instant of simulated time, in milliseconds since the scenario start
/// (negative for instants before it, e.g. a certificate issued last year).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub i64);

/// A length of simulated time in milliseconds. Never negative once validated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub i64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(i64::MAX / 4);

    pub fn ms(self) -> i64 {
        self.0
    }
    /// Index of the simulated minute this instant falls in.
    pub fn minute(self) -> i64 {
        self.0.div_euclid(MS_PER_MINUTE)
    }
    pub fn day(self) -> i64 {
        self.0.div_euclid(MS_PER_DAY)
    }
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);

    pub const fn from_ms(ms: i64) -> Self {
        SimDuration(ms)
    }
    pub const fn from_secs(s: i64) -> Self {
        SimDuration(s * MS_PER_SECOND)
    }
    pub const fn from_mins(m: i64) -> Self {
        SimDuration(m * MS_PER_MINUTE)
    }
    pub const fn from_hours(h: i64) -> Self {
        SimDuration(h * MS_PER_HOUR)
    }
    pub const fn from_days(d: i64) -> Self {
        SimDuration(d * MS_PER_DAY)
    }
    pub fn from_secs_f64(s: f64) -> Self {
        SimDuration((s * MS_PER_SECOND as f64).round() as i64)
    }
    pub fn ms(self) -> i64 {
        self.0
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / MS_PER_SECOND as f64
    }
    pub fn as_days_f64(self) -> f64 {
        self.0 as f64 / MS_PER_DAY as f64
    }
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
    pub fn mul_f64(self, f: f64) -> SimDuration {
        SimDuration((self.0 as f64 * f).round() as i64)
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}
impl Sub<SimDuration> for SimTime {
    type Output = SimTime;
    fn sub(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_sub(d.0))
    }
}
impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        *self = *self + d;
    }
}
impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        // Saturating: sums of durations over a fleet (time without a valid
        // certificate, CA busy time) must not overflow into nonsense.
        SimDuration(self.0.saturating_add(d.0))
    }
}
impl Sub for SimDuration {
    type Output = SimDuration;
    fn sub(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_sub(d.0))
    }
}

/// Units a duration may be written in, largest first (used for formatting).
const UNITS: [(&str, i64); 7] = [
    ("y", 365 * MS_PER_DAY),
    ("w", 7 * MS_PER_DAY),
    ("d", MS_PER_DAY),
    ("h", MS_PER_HOUR),
    ("m", MS_PER_MINUTE),
    ("s", MS_PER_SECOND),
    ("ms", 1),
];

/// Why a duration string was rejected; the scenario loader adds file and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationParseError {
    pub message: String,
}

impl fmt::Display for DurationParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Parses human durations: `41d`, `8h`, `90s`, `1h30m`, `250ms`, `6w`, `1y`
/// (a year is 365 days), and `0`. Fractions are allowed per part (`1.5h`).
pub fn parse_duration(text: &str) -> Result<SimDuration, DurationParseError> {
    let err = |why: &str| {
        DurationParseError {
        message: format!(
            "invalid duration {text:?}: {why}; write a number and a unit, e.g. \"41d\", \"8h\", \"90s\", \"1h30m\", \"250ms\" (units: y w d h m s ms)"
        ),
    }
    };
    let s = text.trim();
    if s.is_empty() {
        return Err(err("it is empty"));
    }
    if s.starts_with('-') {
        return Err(err("durations cannot be negative"));
    }
    if s == "0" {
        return Ok(SimDuration::ZERO);
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total: f64 = 0.0;
    while i < bytes.len() {
        let num_start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.' || bytes[i] == b'_')
        {
            i += 1;
        }
        if i == num_start {
            return Err(err("expected a number"));
        }
        let number: f64 = s[num_start..i]
            .replace('_', "")
            .parse()
            .map_err(|_| err("the number is malformed"))?;
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &s[unit_start..i];
        if unit.is_empty() {
            return Err(err("a unit is missing"));
        }
        let scale = UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, ms)| *ms)
            .ok_or_else(|| err(&format!("unknown unit {unit:?}")))?;
        total += number * scale as f64;
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
    }
    if !total.is_finite() || total > 1.0e15 {
        return Err(err("it is too large"));
    }
    Ok(SimDuration(total.round() as i64))
}

impl fmt::Display for SimDuration {
    /// The shortest exact spelling in whole units, e.g. `41d`, `1d12h`, `250ms`.
    /// Years are not used (a 365-day "y" reads ambiguously next to lifetimes).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        if rest == 0 {
            return f.write_str("0s");
        }
        if rest < 0 {
            f.write_str("-")?;
            rest = -rest;
        }
        for (name, ms) in UNITS.iter().skip(1) {
            if *name == "w" {
                continue;
            }
            if rest >= *ms {
                write!(f, "{}{}", rest / ms, name)?;
                rest %= ms;
            }
        }
        Ok(())
    }
}

/// Scenarios write durations as strings with units (`parse_duration`).
impl schemars::JsonSchema for SimDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A duration: numbers with units, ms, s, m (minutes), h, d, w (7 days), y (365 days), combinable; \"0\" is zero.",
            "pattern": "^\\s*(0|([0-9][0-9._]* *(ms|s|m|h|d|w|y))+)\\s*$",
            "examples": ["41d", "8h", "1h30m", "250ms"]
        })
    }
}

impl Serialize for SimDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SimDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = SimDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string such as \"41d\", \"8h\" or \"90s\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SimDuration, E> {
                parse_duration(v).map_err(|e| E::custom(e.message))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<SimDuration, E> {
                if v == 0 {
                    Ok(SimDuration::ZERO)
                } else {
                    Err(E::custom(format!(
                        "a bare number {v} has no unit; write it as a string with a unit, e.g. \"{v}s\" or \"{v}d\""
                    )))
                }
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<SimDuration, E> {
                self.visit_i64(v as i64)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<SimDuration, E> {
                Err(E::custom(format!(
                    "a bare number {v} has no unit; write it as a string with a unit, e.g. \"{v}h\""
                )))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_units_users_write() {
        assert_eq!(parse_duration("41d").unwrap(), SimDuration::from_days(41));
        assert_eq!(parse_duration("8h").unwrap(), SimDuration::from_hours(8));
        assert_eq!(parse_duration("90s").unwrap(), SimDuration::from_secs(90));
        assert_eq!(parse_duration("1h30m").unwrap(), SimDuration::from_mins(90));
        assert_eq!(parse_duration("250ms").unwrap(), SimDuration::from_ms(250));
        assert_eq!(parse_duration("6w").unwrap(), SimDuration::from_days(42));
        assert_eq!(parse_duration("1y").unwrap(), SimDuration::from_days(365));
        assert_eq!(parse_duration("1.5h").unwrap(), SimDuration::from_mins(90));
        assert_eq!(parse_duration("0").unwrap(), SimDuration::ZERO);
    }

    #[test]
    fn rejects_bad_spellings() {
        for bad in ["", "41", "41 dayz", "-3h", "h", "3x", "1.2.3h"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn formats_round_trip() {
        for ms in [
            1,
            999,
            1000,
            90_000,
            MS_PER_DAY * 41,
            MS_PER_DAY + 12 * MS_PER_HOUR,
            3 * MS_PER_DAY + 7,
        ] {
            let d = SimDuration(ms);
            assert_eq!(parse_duration(&d.to_string()).unwrap(), d, "{d}");
        }
        assert_eq!(SimDuration::from_days(41).to_string(), "41d");
    }
}

//! The calendar values scenarios write: clock times of day (`"08:30"`),
//! UTC offsets (`"+01:00"`), UTC instants (`"2020-03-16"`) and dates.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::engine::calendar::{format_unix_ms, parse_instant};
use crate::engine::time::{MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE};
use crate::engine::SimDuration;

/// A clock time of day, `"08:30"` or `"08:30:15"`, as an offset from midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeOfDay(pub SimDuration);

impl TimeOfDay {
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || {
            format!("invalid time of day {s:?}: expected HH:MM or HH:MM:SS between 00:00 and 24:00, e.g. \"08:30\"")
        };
        let parts: Vec<&str> = s.trim().split(':').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(bad());
        }
        let nums: Result<Vec<i64>, _> = parts.iter().map(|p| p.parse::<i64>()).collect();
        let nums = nums.map_err(|_| bad())?;
        let (h, m, sec) = (nums[0], nums[1], *nums.get(2).unwrap_or(&0));
        if !(0..=24).contains(&h) || !(0..60).contains(&m) || !(0..60).contains(&sec) {
            return Err(bad());
        }
        let ms = h * MS_PER_HOUR + m * MS_PER_MINUTE + sec * 1000;
        if ms > MS_PER_DAY {
            return Err(bad());
        }
        Ok(TimeOfDay(SimDuration(ms)))
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.ms();
        let (h, m, s) = (
            ms / MS_PER_HOUR,
            (ms % MS_PER_HOUR) / MS_PER_MINUTE,
            (ms % MS_PER_MINUTE) / 1000,
        );
        if s == 0 {
            write!(f, "{h:02}:{m:02}")
        } else {
            write!(f, "{h:02}:{m:02}:{s:02}")
        }
    }
}

/// A UTC offset, `"+01:00"`, `"-05:00"`, `"Z"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UtcOffset(pub SimDuration);

impl UtcOffset {
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t == "Z" || t == "UTC" {
            return Ok(UtcOffset(SimDuration::ZERO));
        }
        let bad = || {
            format!("invalid UTC offset {s:?}: expected \"+HH:MM\" or \"-HH:MM\", e.g. \"+01:00\"")
        };
        let (sign, rest) = match t.as_bytes().first() {
            Some(b'+') => (1, &t[1..]),
            Some(b'-') => (-1, &t[1..]),
            _ => return Err(bad()),
        };
        let tod = TimeOfDay::parse(rest).map_err(|_| bad())?;
        if tod.0.ms() > 14 * MS_PER_HOUR {
            return Err(bad());
        }
        Ok(UtcOffset(SimDuration(sign * tod.0.ms())))
    }
}

impl fmt::Display for UtcOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0.ms() < 0 { '-' } else { '+' };
        write!(f, "{sign}{}", TimeOfDay(SimDuration(self.0.ms().abs())))
    }
}

/// A UTC instant as written in a scenario (`"2020-03-16"`), in Unix ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct UtcInstant(pub i64);

impl fmt::Display for UtcInstant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_unix_ms(self.0))
    }
}

/// The schema of a value scenarios write as a string.
macro_rules! string_schema {
    ($ty:ty, $name:literal, $description:literal, $pattern:literal, $example:literal) => {
        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "description": $description,
                    "pattern": $pattern,
                    "examples": [$example]
                })
            }
        }
    };
}

string_schema!(
    TimeOfDay,
    "TimeOfDay",
    "A clock time of day, HH:MM or HH:MM:SS, 00:00 to 24:00.",
    "^\\s*[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?\\s*$",
    "08:30"
);
string_schema!(
    UtcOffset,
    "UtcOffset",
    "A fixed offset from UTC, -14:00 to +14:00 (no daylight saving), or Z.",
    "^\\s*(Z|UTC|[+-][0-9]{1,2}:[0-9]{2})\\s*$",
    "+01:00"
);
string_schema!(
    UtcInstant,
    "Instant",
    "A UTC instant: a date (midnight UTC) or a date and time; an explicit offset such as +01:00 is converted to UTC.",
    "^\\s*[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?([Zz]|[+-][0-9]{2}:[0-9]{2})?)?\\s*$",
    "2025-01-06T09:00:00Z"
);
string_schema!(
    CivilDate,
    "Date",
    "A calendar date, YYYY-MM-DD.",
    "^\\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\\s*$",
    "2025-12-25"
);

macro_rules! string_serde {
    ($ty:ty, $parse:expr, $expect:literal) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($expect)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$ty, E> {
                        $parse(v).map_err(E::custom)
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

string_serde!(
    TimeOfDay,
    TimeOfDay::parse,
    "a time of day such as \"08:30\""
);
string_serde!(
    UtcOffset,
    UtcOffset::parse,
    "a UTC offset such as \"+01:00\""
);
string_serde!(
    UtcInstant,
    |v: &str| parse_instant(v).map(UtcInstant),
    "a UTC date or date-time such as \"2020-03-16\""
);

/// A calendar date, `"2025-12-25"`, as a civil day number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CivilDate(pub crate::engine::calendar::CivilDay);

impl fmt::Display for CivilDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::engine::calendar::format_date(self.0))
    }
}

string_serde!(
    CivilDate,
    |v: &str| crate::engine::calendar::parse_date(v).map(CivilDate),
    "a date such as \"2025-12-25\""
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_values_parse() {
        assert_eq!(
            TimeOfDay::parse("08:30").unwrap().0,
            SimDuration::from_mins(510)
        );
        assert!(TimeOfDay::parse("25:00").is_err());
        assert_eq!(
            UtcOffset::parse("-05:00").unwrap().0,
            SimDuration::from_hours(-5)
        );
        assert_eq!(UtcOffset::parse("+01:30").unwrap().to_string(), "+01:30");
        assert!(UtcOffset::parse("01:00").is_err());
    }
}

//! Local clocks of office and laptop schedules: a fixed UTC offset
//! (`"+01:00"`) or a named IANA time zone (`"Europe/Berlin"`) that follows
//! daylight saving time, and fleets spread over several of them.
//!
//! Zones come from the IANA database compiled into certfleet (jiff's bundled
//! copy), never from the machine's tzdata, so a scenario gives the same
//! results everywhere. Each zone's transitions are read once, when the
//! scenario is loaded, into a sorted table: the schedules' hot path
//! (`walk_days` in `power.rs`) then maps local days to UTC with a binary
//! search and plain arithmetic, and asks jiff only on the few days near a
//! transition.

use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::clock::UtcOffset;
use super::purpose;
use crate::engine::calendar::CivilDay;
use crate::engine::time::MS_PER_DAY;
use crate::engine::{Calendar, SimDuration, SimTime, Streams};

/// Transitions are tabulated over these years; outside them the nearest
/// offset holds (certfleet's calendar stays well inside).
const FIRST_YEAR: i16 = 1900;
const LAST_YEAR: i16 = 2200;

/// A local clock: a fixed offset or a named zone with its rules.
#[derive(Clone)]
pub struct Zone {
    /// As written in scenarios: `"+01:00"` or the zone's canonical name.
    name: Arc<str>,
    rule: ZoneRule,
}

#[derive(Clone)]
enum ZoneRule {
    /// Milliseconds ahead of UTC.
    Fixed(i64),
    Named(Arc<Transitions>),
}

/// A zone's offsets over time: `offsets[i]` holds from `at[i]` (Unix ms,
/// UTC) until `at[i + 1]`; `first` before `at[0]`.
pub struct Transitions {
    first: i64,
    at: Vec<i64>,
    offsets: Vec<i64>,
    /// For local times near a transition (gaps and folds).
    tz: jiff::tz::TimeZone,
}

impl Zone {
    /// `"+01:00"`, `"-05:30"`, `"Z"`, `"UTC"` or an IANA name such as
    /// `"Europe/Berlin"` (any letter case).
    pub fn parse(text: &str) -> Result<Zone, String> {
        let t = text.trim();
        if t.starts_with(['+', '-']) || t == "Z" {
            let offset = UtcOffset::parse(t)?;
            return Ok(Zone::fixed(offset));
        }
        let db = jiff::tz::TimeZoneDatabase::bundled();
        let tz = db.get(t).map_err(|_| unknown_zone(t))?;
        let name: Arc<str> = tz.iana_name().unwrap_or(t).into();
        Ok(Zone {
            name,
            rule: ZoneRule::Named(Arc::new(Transitions::of(tz))),
        })
    }

    pub fn fixed(offset: UtcOffset) -> Zone {
        Zone {
            name: offset.to_string().into(),
            rule: ZoneRule::Fixed(offset.0.ms()),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The clock the schedules compute with.
    pub fn clock(&self) -> LocalClock<'_> {
        match &self.rule {
            ZoneRule::Fixed(ms) => LocalClock::Fixed(*ms),
            ZoneRule::Named(t) => LocalClock::Named(t),
        }
    }
}

fn unknown_zone(name: &str) -> String {
    format!(
        "unknown time zone {name:?}: expected an IANA name such as \"Europe/Berlin\" or a UTC offset such as \"+01:00\""
    )
}

/// The IANA name nearest to a misspelt one, for "did you mean".
pub fn nearest_zone_name(name: &str) -> Option<String> {
    let db = jiff::tz::TimeZoneDatabase::bundled();
    let lower = name.to_ascii_lowercase();
    db.available()
        .map(|n| n.as_str().to_string())
        .map(|n| {
            (
                strsim::damerau_levenshtein(&lower, &n.to_ascii_lowercase()),
                n,
            )
        })
        .filter(|(d, n)| *d <= 3.max(n.len() / 4))
        .min()
        .map(|(_, n)| n)
}

impl Transitions {
    fn of(tz: jiff::tz::TimeZone) -> Transitions {
        let from = jiff::civil::date(FIRST_YEAR, 1, 1)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .unwrap_or(jiff::Timestamp::MIN);
        let until = jiff::civil::date(LAST_YEAR, 1, 1)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .unwrap_or(jiff::Timestamp::MAX);
        let first = offset_ms(tz.to_offset(from));
        let (mut at, mut offsets) = (Vec::new(), Vec::new());
        let mut current = first;
        for t in tz.following(from) {
            if t.timestamp() >= until {
                break;
            }
            let offset = offset_ms(t.offset());
            // Abbreviation-only changes are transitions to jiff, not to us.
            if offset != current {
                at.push(t.timestamp().as_millisecond());
                offsets.push(offset);
                current = offset;
            }
        }
        Transitions {
            first,
            at,
            offsets,
            tz,
        }
    }

    /// Transitions at or before `unix_ms`.
    fn count_until(&self, unix_ms: i64) -> usize {
        self.at.partition_point(|&a| a <= unix_ms)
    }

    fn offset_at(&self, unix_ms: i64) -> i64 {
        match self.count_until(unix_ms) {
            0 => self.first,
            i => self.offsets[i - 1],
        }
    }

    /// The UTC instant of a local wall-clock time (Unix ms as if local were
    /// UTC). Away from transitions that is unique; near one, jiff decides
    /// the way calendars do ("compatible"): a time skipped by a spring-
    /// forward gap is moved forward by the gap, a time repeated by an
    /// autumn fold means its first occurrence.
    fn to_utc(&self, local_ms: i64) -> i64 {
        let offset = self.offset_at(local_ms - self.offset_at(local_ms));
        let utc = local_ms - offset;
        if self.is_clear(utc) {
            return utc;
        }
        let civil = jiff::Timestamp::from_millisecond(local_ms)
            .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).datetime());
        match civil.and_then(|dt| self.tz.to_ambiguous_timestamp(dt).compatible()) {
            Ok(t) => t.as_millisecond(),
            Err(_) => utc,
        }
    }

    /// No transition within a day of `utc`: local times there map to UTC
    /// with the offset in force, unambiguously (offsets change by less
    /// than a day).
    fn is_clear(&self, utc: i64) -> bool {
        let i = self.count_until(utc);
        let before = i.checked_sub(1).map(|j| self.at[j]);
        let after = self.at.get(i).copied();
        before.is_none_or(|b| utc.saturating_sub(b) >= MS_PER_DAY)
            && after.is_none_or(|a| a.saturating_sub(utc) > MS_PER_DAY)
    }
}

fn offset_ms(offset: jiff::tz::Offset) -> i64 {
    i64::from(offset.seconds()) * 1000
}

/// A device's local clock, as the schedules use it.
#[derive(Clone, Copy)]
pub enum LocalClock<'a> {
    /// Milliseconds ahead of UTC.
    Fixed(i64),
    Named(&'a Transitions),
}

/// One local day of one clock: maps times of day to simulated time.
#[derive(Clone, Copy)]
pub struct LocalDay<'a> {
    pub day: CivilDay,
    /// The simulated time of the day's local midnight.
    pub midnight: SimTime,
    /// `Some` for a named zone: offset in force at midnight, and the local
    /// times (ms of the day) over which it holds unambiguously.
    named: Option<(&'a Transitions, i64, i64)>,
    start_unix_ms: i64,
}

impl<'a> LocalClock<'a> {
    /// The civil day containing `t` on this clock.
    pub fn local_day(&self, calendar: &Calendar, t: SimTime) -> CivilDay {
        match *self {
            LocalClock::Fixed(ms) => calendar.local_day(t, SimDuration(ms)),
            LocalClock::Named(z) => {
                let unix = calendar.unix_ms(t);
                (unix + z.offset_at(unix)).div_euclid(MS_PER_DAY)
            }
        }
    }

    /// The local day `day`: its midnight and how to place times in it.
    pub fn day(&self, calendar: &Calendar, day: CivilDay) -> LocalDay<'a> {
        let start_unix_ms = calendar.start_unix_ms();
        match *self {
            LocalClock::Fixed(ms) => LocalDay {
                day,
                midnight: calendar.local_midnight(day, SimDuration(ms)),
                named: None,
                start_unix_ms,
            },
            LocalClock::Named(z) => {
                let local_midnight = day * MS_PER_DAY;
                let utc = z.to_utc(local_midnight);
                let offset = z.offset_at(utc);
                // Times of day whose UTC instant stays clear of transitions
                // (a whole ordinary day: every time of it).
                let clear_until = if z.is_clear(utc) {
                    let next = z.at.get(z.count_until(utc)).copied().unwrap_or(i64::MAX);
                    next.saturating_sub(MS_PER_DAY)
                        .saturating_sub(utc)
                        .clamp(0, 2 * MS_PER_DAY)
                } else {
                    0
                };
                LocalDay {
                    day,
                    midnight: SimTime(utc - start_unix_ms),
                    named: Some((z, offset, clear_until)),
                    start_unix_ms,
                }
            }
        }
    }
}

impl LocalDay<'_> {
    /// Simulated time of the local clock time `ms_of_day` after this day's
    /// midnight (may exceed a day: `"24:00"`, or a session running on).
    pub fn at(&self, ms_of_day: i64) -> SimTime {
        match self.named {
            None => self.midnight + SimDuration(ms_of_day),
            Some((_, _, clear_until)) if ms_of_day < clear_until => {
                self.midnight + SimDuration(ms_of_day)
            }
            Some((z, _, _)) => {
                SimTime(z.to_utc(self.day * MS_PER_DAY + ms_of_day) - self.start_unix_ms)
            }
        }
    }
}

/// `time_zone` of an office or laptop schedule: one zone for the whole
/// cohort, or shares of the cohort in several (a fleet spread over
/// regions), each device drawing its own from its random stream.
#[derive(Clone, PartialEq)]
pub enum TimeZoneSetting {
    One(Zone),
    Shares(Vec<(Zone, f64)>),
}

impl TimeZoneSetting {
    /// The device's zone.
    pub fn for_device(&self, streams: &Streams, device: u64) -> &Zone {
        match self {
            TimeZoneSetting::One(z) => z,
            TimeZoneSetting::Shares(shares) => {
                let u = streams.unit(device, purpose::TIME_ZONE, 0);
                let total: f64 = shares.iter().map(|(_, s)| s).sum();
                let mut acc = 0.0;
                for (zone, share) in shares {
                    acc += share / total;
                    if u < acc {
                        return zone;
                    }
                }
                &shares.last().expect("validated: at least one zone").0
            }
        }
    }

    /// The shares, for validation (`One` is a single share of 1).
    pub fn shares(&self) -> Vec<(&str, f64)> {
        match self {
            TimeZoneSetting::One(z) => vec![(z.name(), 1.0)],
            TimeZoneSetting::Shares(s) => s.iter().map(|(z, share)| (z.name(), *share)).collect(),
        }
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        self.name == other.name
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.name)
    }
}

impl fmt::Debug for TimeZoneSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeZoneSetting::One(z) => z.fmt(f),
            TimeZoneSetting::Shares(s) => f
                .debug_map()
                .entries(s.iter().map(|(z, v)| (z, v)))
                .finish(),
        }
    }
}

impl schemars::JsonSchema for TimeZoneSetting {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TimeZone".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "The local clock: an IANA time zone that follows daylight saving (\"Europe/Berlin\") or a fixed offset (\"+01:00\"); or a table of zones and the share of the cohort in each, adding up to 1.",
            "anyOf": [
                { "type": "string", "examples": ["Europe/Berlin", "America/New_York", "+05:30"] },
                {
                    "type": "object",
                    "additionalProperties": { "type": "number", "exclusiveMinimum": 0, "maximum": 1 },
                    "minProperties": 1,
                    "examples": [{ "Europe/Berlin": 0.6, "America/New_York": 0.4 }]
                }
            ]
        })
    }
}

impl Serialize for TimeZoneSetting {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TimeZoneSetting::One(z) => s.serialize_str(z.name()),
            TimeZoneSetting::Shares(shares) => {
                let map: IndexMap<&str, f64> = shares.iter().map(|(z, v)| (z.name(), *v)).collect();
                map.serialize(s)
            }
        }
    }
}

impl<'de> Deserialize<'de> for TimeZoneSetting {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TimeZoneSetting;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a time zone such as \"Europe/Berlin\" or \"+01:00\", or a table of zones and shares such as { \"Europe/Berlin\" = 0.6, \"America/New_York\" = 0.4 }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TimeZoneSetting, E> {
                Zone::parse(v).map(TimeZoneSetting::One).map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TimeZoneSetting, A::Error> {
                let mut shares = Vec::new();
                while let Some((name, share)) = map.next_entry::<String, f64>()? {
                    shares.push((Zone::parse(&name).map_err(de::Error::custom)?, share));
                }
                Ok(TimeZoneSetting::Shares(shares))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::calendar::parse_instant;

    fn utc_of(zone: &str, date: &str, ms_of_day: i64) -> String {
        let zone = Zone::parse(zone).unwrap();
        let calendar = Calendar::new(0);
        let day = parse_instant(date).unwrap().div_euclid(MS_PER_DAY);
        let t = zone.clock().day(&calendar, day).at(ms_of_day);
        calendar.format(t)
    }

    const H: i64 = 3_600_000;

    #[test]
    fn berlin_follows_daylight_saving() {
        assert_eq!(
            utc_of("Europe/Berlin", "2025-07-15", 8 * H + H / 2),
            "2025-07-15T06:30:00Z"
        );
        assert_eq!(
            utc_of("Europe/Berlin", "2025-01-15", 8 * H + H / 2),
            "2025-01-15T07:30:00Z"
        );
        // The change days themselves: 30 March and 26 October 2025.
        assert_eq!(
            utc_of("Europe/Berlin", "2025-03-30", 8 * H),
            "2025-03-30T06:00:00Z"
        );
        assert_eq!(
            utc_of("Europe/Berlin", "2025-03-30", H),
            "2025-03-30T00:00:00Z"
        );
        // 02:30 does not exist that night: it is read as 03:30 CEST.
        assert_eq!(
            utc_of("Europe/Berlin", "2025-03-30", 2 * H + H / 2),
            "2025-03-30T01:30:00Z"
        );
        // 02:30 happens twice on 26 October: the first time counts.
        assert_eq!(
            utc_of("Europe/Berlin", "2025-10-26", 2 * H + H / 2),
            "2025-10-26T00:30:00Z"
        );
        assert_eq!(
            utc_of("Europe/Berlin", "2025-10-26", 8 * H),
            "2025-10-26T07:00:00Z"
        );
        // Midnight to midnight across a change is 23 or 25 hours.
        assert_eq!(
            utc_of("Europe/Berlin", "2025-03-30", 24 * H),
            "2025-03-30T22:00:00Z"
        );
        assert_eq!(
            utc_of("Europe/Berlin", "2025-10-26", 24 * H),
            "2025-10-26T23:00:00Z"
        );
    }

    #[test]
    fn southern_hemisphere_and_fixed_offsets() {
        // Sydney: daylight time (+11) in January, standard (+10) in July.
        assert_eq!(
            utc_of("Australia/Sydney", "2025-01-15", 9 * H),
            "2025-01-14T22:00:00Z"
        );
        assert_eq!(
            utc_of("Australia/Sydney", "2025-07-15", 9 * H),
            "2025-07-14T23:00:00Z"
        );
        assert_eq!(
            utc_of("+05:30", "2025-07-15", 9 * H),
            "2025-07-15T03:30:00Z"
        );
        assert_eq!(utc_of("utc", "2025-07-15", 9 * H), "2025-07-15T09:00:00Z");
    }

    #[test]
    fn local_days_agree_with_midnights() {
        let zone = Zone::parse("America/New_York").unwrap();
        let clock = zone.clock();
        let calendar = Calendar::new(parse_instant("2025-01-01").unwrap());
        for d in 0..400 {
            let day = calendar.local_day(SimTime::ZERO, SimDuration::ZERO) + d;
            let local = clock.day(&calendar, day);
            assert_eq!(clock.local_day(&calendar, local.midnight), day);
            assert_eq!(
                clock.local_day(&calendar, local.at(MS_PER_DAY) - SimDuration(1)),
                day
            );
        }
    }

    #[test]
    fn names_are_checked_and_suggested() {
        let err = Zone::parse("Europe/Berln").err().unwrap();
        assert!(
            err.starts_with("unknown time zone \"Europe/Berln\""),
            "{err}"
        );
        assert_eq!(
            nearest_zone_name("Europe/Berln").as_deref(),
            Some("Europe/Berlin")
        );
        assert_eq!(
            nearest_zone_name("europe/paris").as_deref(),
            Some("Europe/Paris")
        );
        assert_eq!(
            Zone::parse("europe/berlin").unwrap().name(),
            "Europe/Berlin"
        );
    }
}

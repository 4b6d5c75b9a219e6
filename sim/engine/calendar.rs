//! The bridge between simulated time and the civil calendar: the scenario's
//! start instant, UTC dates, local days and weekdays.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::time::{SimDuration, SimTime, MS_PER_DAY};

/// A civil day: days since 1970-01-01 (in UTC or in a device's local time).
pub type CivilDay = i64;

/// Maps simulated time to UTC. Copy-cheap; every model part holds one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Calendar {
    start_unix_ms: i64,
}

impl Calendar {
    pub fn new(start_unix_ms: i64) -> Self {
        Calendar { start_unix_ms }
    }

    pub fn start_unix_ms(&self) -> i64 {
        self.start_unix_ms
    }

    /// The simulated time of a UTC instant given in Unix milliseconds.
    pub fn sim_time(&self, unix_ms: i64) -> SimTime {
        SimTime(unix_ms - self.start_unix_ms)
    }

    pub fn unix_ms(&self, t: SimTime) -> i64 {
        self.start_unix_ms + t.0
    }

    /// The civil day containing `t` for a clock `utc_offset` ahead of UTC.
    pub fn local_day(&self, t: SimTime, utc_offset: SimDuration) -> CivilDay {
        (self.unix_ms(t) + utc_offset.ms()).div_euclid(MS_PER_DAY)
    }

    /// Simulated time of local midnight starting `day`.
    pub fn local_midnight(&self, day: CivilDay, utc_offset: SimDuration) -> SimTime {
        SimTime(day * MS_PER_DAY - utc_offset.ms() - self.start_unix_ms)
    }

    /// `2025-01-06T09:00:00Z`, or with milliseconds when they are not zero.
    pub fn format(&self, t: SimTime) -> String {
        format_unix_ms(self.unix_ms(t))
    }
}

/// Formats many minute-resolution timestamps quickly: the date part is
/// formatted once per day, the time of day by arithmetic.
#[derive(Default)]
pub struct MinuteFormatter {
    day: Option<i64>,
    date: String,
}

impl MinuteFormatter {
    /// `2025-01-06T09:00Z` for the simulated instant `t`.
    pub fn format(&mut self, calendar: &Calendar, t: SimTime, out: &mut String) {
        let unix = calendar.unix_ms(t);
        let day = unix.div_euclid(MS_PER_DAY);
        if self.day != Some(day) {
            self.day = Some(day);
            self.date = format_date(day);
        }
        let minute_of_day = unix.rem_euclid(MS_PER_DAY) / 60_000;
        use std::fmt::Write;
        let _ = write!(
            out,
            "{}T{:02}:{:02}Z",
            self.date,
            minute_of_day / 60,
            minute_of_day % 60
        );
    }
}

/// Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday).
pub fn weekday(day: CivilDay) -> u32 {
    (day + 3).rem_euclid(7) as u32
}

pub fn is_weekend(day: CivilDay) -> bool {
    weekday(day) >= 5
}

pub fn format_unix_ms(unix_ms: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(unix_ms) {
        Some(dt) if unix_ms % 1000 == 0 => dt.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => format!("{unix_ms}ms"),
    }
}

/// Parses a UTC instant: `2020-03-16`, `2020-03-16T09:00`, `2020-03-16T09:00:00Z`
/// or with an explicit offset `2020-03-16T09:00:00+01:00`.
pub fn parse_instant(text: &str) -> Result<i64, String> {
    let s = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Ok(dt.timestamp_millis());
    }
    let naive = s.strip_suffix('Z').unwrap_or(s);
    for fmt in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(naive, fmt) {
            return Ok(dt.and_utc().timestamp_millis());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(naive, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
            .timestamp_millis());
    }
    Err(format!(
        "invalid date-time {text:?}: expected a UTC date \"2020-03-16\" or date-time \"2020-03-16T09:00:00Z\""
    ))
}

/// Parses a calendar date `2025-12-25` into a civil day.
pub fn parse_date(text: &str) -> Result<CivilDay, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map(|d| {
            d.and_hms_opt(0, 0, 0)
                .expect("midnight exists")
                .and_utc()
                .timestamp_millis()
                .div_euclid(MS_PER_DAY)
        })
        .map_err(|_| format!("invalid date {text:?}: expected YYYY-MM-DD, e.g. \"2025-12-25\""))
}

pub fn format_date(day: CivilDay) -> String {
    match DateTime::<Utc>::from_timestamp_millis(day * MS_PER_DAY) {
        Some(dt) => dt.format("%Y-%m-%d").to_string(),
        None => format!("day {day}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_and_weekdays() {
        let start = parse_instant("2020-03-16").unwrap();
        let cal = Calendar::new(start);
        assert_eq!(cal.format(SimTime(0)), "2020-03-16T00:00:00Z");
        let day = cal.local_day(SimTime(0), SimDuration::ZERO);
        assert_eq!(weekday(day), 0, "2020-03-16 was a Monday");
        assert_eq!(
            parse_instant("2020-03-16T09:00:00Z").unwrap() - start,
            9 * 3_600_000
        );
        assert_eq!(
            parse_instant("2020-03-16T10:00:00+01:00").unwrap() - start,
            9 * 3_600_000
        );
        assert!(parse_instant("2020-13-01").is_err());
        // Local midnight in UTC+2 is 22:00 UTC the previous day.
        let plus2 = SimDuration::from_hours(2);
        assert_eq!(cal.local_midnight(day, plus2), SimTime(-2 * 3_600_000));
        assert_eq!(format_date(parse_date("2025-12-25").unwrap()), "2025-12-25");
    }
}

//! Dated time axes and the aggregation that keeps long series readable.
//!
//! A 5-year run has 2.6 million minutes; a chart 1200 pixels wide can show
//! about a thousand points. Series are therefore cut into buckets whose size
//! grows with the horizon (1 minute up to a week), keeping the maximum of each
//! bucket so that peaks stay visible, or the mean where a level matters.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

/// At most this many points per series.
pub const MAX_POINTS: usize = 1200;

/// Bucket sizes in minutes, from finest to coarsest.
const BUCKETS_MIN: [usize; 14] = [
    1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 4320, 10080,
];

/// How a series indexed by minute is cut into buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bucketing {
    /// Bucket size in minutes.
    pub minutes: usize,
}

impl Bucketing {
    /// The finest bucket that keeps `span_minutes` under [`MAX_POINTS`]
    /// buckets, but never finer than `finest` minutes (the data's resolution).
    pub fn for_span(span_minutes: usize, finest: usize) -> Self {
        let minutes = BUCKETS_MIN
            .iter()
            .copied()
            .find(|&b| b >= finest && span_minutes.div_ceil(b) <= MAX_POINTS)
            .unwrap_or(*BUCKETS_MIN.last().unwrap_or(&10080));
        Bucketing {
            minutes: minutes.max(finest),
        }
    }

    /// "per minute", "5 min", "hour", "day", … for captions.
    pub fn describe(&self) -> String {
        match self.minutes {
            1 => "minute".into(),
            m if m < 60 => format!("{m} min"),
            60 => "hour".into(),
            m if m < 1440 => format!("{} h", m / 60),
            1440 => "day".into(),
            10080 => "week".into(),
            m => format!("{} days", m / 1440),
        }
    }

    /// Bucket maxima of a series with one value per `step` minutes:
    /// (start minute of the bucket, max). Empty input gives no points.
    pub fn max_per_bucket<T: Copy + Into<f64>>(
        &self,
        values: &[T],
        step: usize,
    ) -> Vec<(f64, f64)> {
        self.fold(values, step, f64::max, |acc, _| acc)
    }

    /// Bucket means of a series with one value per `step` minutes.
    pub fn mean_per_bucket<T: Copy + Into<f64>>(
        &self,
        values: &[T],
        step: usize,
    ) -> Vec<(f64, f64)> {
        self.fold(values, step, |a, b| a + b, |acc, n| acc / n as f64)
    }

    fn fold<T: Copy + Into<f64>>(
        &self,
        values: &[T],
        step: usize,
        combine: impl Fn(f64, f64) -> f64,
        finish: impl Fn(f64, usize) -> f64,
    ) -> Vec<(f64, f64)> {
        let step = step.max(1);
        let per = (self.minutes / step).max(1);
        values
            .chunks(per)
            .enumerate()
            .map(|(i, chunk)| {
                let mut it = chunk.iter().map(|&v| v.into());
                let first = it.next().unwrap_or(0.0);
                let acc = it.fold(first, &combine);
                ((i * per * step) as f64, finish(acc, chunk.len()))
            })
            .collect()
    }
}

/// A time axis: minutes since the run's start, labelled with dates.
#[derive(Clone, Copy, Debug)]
pub struct TimeAxis {
    pub start_unix_ms: i64,
    pub span_minutes: f64,
    /// Labelled as time since the start (`compare --align start`) rather
    /// than with dates.
    pub relative: bool,
}

impl TimeAxis {
    pub fn new(start_unix_ms: i64, span_minutes: f64) -> Self {
        TimeAxis {
            start_unix_ms,
            span_minutes: span_minutes.max(1.0),
            relative: false,
        }
    }

    /// An axis of time since the start (minutes from 0), labelled in days
    /// or hours.
    pub fn since_start(span_minutes: f64) -> Self {
        TimeAxis {
            start_unix_ms: 0,
            span_minutes: span_minutes.max(1.0),
            relative: true,
        }
    }

    /// The axis description under the ticks.
    pub fn description(&self) -> &'static str {
        if self.relative {
            "time since the start of each run"
        } else {
            "date (UTC)"
        }
    }

    fn relative_step_minutes(&self) -> f64 {
        let steps = [
            60.0, 120.0, 360.0, 720.0, 1440.0, 2880.0, 10080.0, 20160.0, 43200.0, 86400.0,
            129600.0, 259200.0, 525600.0,
        ];
        steps
            .into_iter()
            .find(|s| self.span_minutes / s <= 12.0)
            .unwrap_or(525600.0)
    }

    fn at(&self, minute: f64) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_millis(self.start_unix_ms + (minute * 60_000.0).round() as i64)
    }

    fn minute_of(&self, t: DateTime<Utc>) -> f64 {
        (t.timestamp_millis() - self.start_unix_ms) as f64 / 60_000.0
    }

    /// A label for a tick: a date, with the time of day when the axis spans
    /// only a few days.
    pub fn label(&self, minute: f64) -> String {
        if self.relative {
            return if self.relative_step_minutes() < 1440.0 {
                format!("+{:.0} h", minute / 60.0)
            } else {
                format!("day {:.0}", minute / 1440.0)
            };
        }
        match self.at(minute) {
            Some(t) if self.span_minutes <= 3.0 * 1440.0 => t.format("%m-%d %H:%M").to_string(),
            Some(t) => t.format("%Y-%m-%d").to_string(),
            None => format!("{minute:.0} min"),
        }
    }

    /// A precise UTC instant for annotations.
    pub fn instant(&self, minute: f64) -> String {
        if self.relative {
            return format!(
                "{} after the start",
                crate::report::units::duration(minute * 60.0)
            );
        }
        match self.at(minute) {
            Some(t) => t.format("%Y-%m-%d %H:%M UTC").to_string(),
            None => format!("minute {minute:.0}"),
        }
    }

    /// Tick positions on calendar boundaries (hours, days, Mondays, first of
    /// months), about 6 to 12 of them whatever the span.
    pub fn ticks(&self) -> Vec<f64> {
        let span = self.span_minutes;
        if self.relative {
            let step = self.relative_step_minutes();
            return (0..)
                .map(|i| i as f64 * step)
                .take_while(|&m| m <= span)
                .collect();
        }
        let Some(start) = self.at(0.0) else {
            return vec![0.0, span];
        };
        let day = 1440.0;
        let mut out = Vec::new();
        if span <= 3.0 * day {
            let hours = [1i64, 2, 3, 6, 12, 24]
                .into_iter()
                .find(|&h| span / (h as f64 * 60.0) <= 12.0)
                .unwrap_or(24);
            let first = Utc
                .with_ymd_and_hms(start.year(), start.month(), start.day(), 0, 0, 0)
                .single();
            let Some(mut t) = first else {
                return out;
            };
            while self.minute_of(t) <= span {
                if self.minute_of(t) >= 0.0 {
                    out.push(self.minute_of(t));
                }
                t += Duration::hours(hours);
            }
        } else if span <= 80.0 * day {
            let days = [1i64, 2, 7]
                .into_iter()
                .find(|&d| span / (d as f64 * day) <= 12.0)
                .unwrap_or(7);
            let mut d = start.date_naive();
            if days == 7 {
                // Weekly ticks fall on Mondays.
                while d.weekday().num_days_from_monday() != 0 {
                    d = d.succ_opt().unwrap_or(d);
                }
            }
            loop {
                let m = self.minute_of(midnight(d));
                if m > span {
                    break;
                }
                if m >= 0.0 {
                    out.push(m);
                }
                d += Duration::days(days);
            }
        } else {
            let months = [1u32, 2, 3, 6, 12]
                .into_iter()
                .find(|&m| span / (m as f64 * 30.44 * day) <= 12.0)
                .unwrap_or(12);
            let (mut y, mut m) = (start.year(), start.month());
            while let Some(d) = NaiveDate::from_ymd_opt(y, m, 1) {
                let minute = self.minute_of(midnight(d));
                if minute > span {
                    break;
                }
                if minute >= 0.0 && (m - 1) % months == 0 {
                    out.push(minute);
                }
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
        if out.is_empty() {
            out.push(0.0);
        }
        out
    }
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0)
        .map(|n| n.and_utc())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_grow_with_the_horizon() {
        assert_eq!(Bucketing::for_span(1440, 1).minutes, 5);
        assert_eq!(Bucketing::for_span(600, 1).minutes, 1);
        let five_years = 5 * 365 * 1440;
        let b = Bucketing::for_span(five_years, 1);
        assert!(five_years.div_ceil(b.minutes) <= MAX_POINTS);
        assert_eq!(Bucketing::for_span(100, 1440).minutes, 1440);
    }

    #[test]
    fn max_per_bucket_keeps_peaks() {
        let b = Bucketing { minutes: 3 };
        let v: [u32; 7] = [1, 9, 2, 0, 0, 4, 5];
        assert_eq!(
            b.max_per_bucket(&v, 1),
            vec![(0.0, 9.0), (3.0, 4.0), (6.0, 5.0)]
        );
        assert!(b.max_per_bucket::<u32>(&[], 1).is_empty());
    }

    #[test]
    fn ticks_are_on_month_starts_for_long_spans() {
        // 2025-01-06T00:00Z over two years.
        let axis = TimeAxis::new(1_736_121_600_000, 2.0 * 365.0 * 1440.0);
        let ticks = axis.ticks();
        assert!(ticks.len() >= 4 && ticks.len() <= 13, "{ticks:?}");
        assert!(ticks.iter().all(|&t| axis.label(t).ends_with("-01")));
    }
}

//! Distributions of durations (service times, help-desk delays, offline
//! episodes) and the small value types scenarios use: clock times of day,
//! UTC offsets, UTC instants.

use std::fmt;

use rand::RngExt;
use rand_distr::{Distribution, Exp, LogNormal, Normal, Weibull};
use serde::de::{self, value::MapAccessDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::engine::calendar::{format_unix_ms, parse_instant};
use crate::engine::time::{parse_duration, MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE};
use crate::engine::{SimDuration, StreamRng};

/// A distribution of durations. In a scenario either a plain duration
/// (`"5m"`, fixed) or a table: `{ dist = "exponential", mean = "200ms" }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum DurationDist {
    Fixed {
        value: SimDuration,
    },
    Uniform {
        min: SimDuration,
        max: SimDuration,
    },
    Exponential {
        mean: SimDuration,
    },
    /// Normal, truncated at zero (redrawn values below zero become zero).
    Normal {
        mean: SimDuration,
        sd: SimDuration,
    },
    /// Log-normal given by its median and the sd of the log (`sigma`).
    Lognormal {
        median: SimDuration,
        sigma: f64,
    },
    /// Weibull given by its mean and shape (shape < 1: heavy-tailed).
    Weibull {
        mean: SimDuration,
        shape: f64,
    },
}

impl DurationDist {
    pub fn fixed(d: SimDuration) -> Self {
        DurationDist::Fixed { value: d }
    }

    pub fn sample(&self, rng: &mut StreamRng) -> SimDuration {
        let ms = match *self {
            DurationDist::Fixed { value } => return value,
            DurationDist::Uniform { min, max } => {
                if max.ms() <= min.ms() {
                    return min;
                }
                rng.random_range(min.ms()..=max.ms()) as f64
            }
            DurationDist::Exponential { mean } => {
                if mean.ms() == 0 {
                    return SimDuration::ZERO;
                }
                Exp::new(1.0 / mean.ms() as f64)
                    .map(|d| d.sample(rng))
                    .unwrap_or(0.0)
            }
            DurationDist::Normal { mean, sd } => Normal::new(mean.ms() as f64, sd.ms() as f64)
                .map(|d| d.sample(rng))
                .unwrap_or(mean.ms() as f64)
                .max(0.0),
            DurationDist::Lognormal { median, sigma } => {
                LogNormal::new((median.ms().max(1) as f64).ln(), sigma)
                    .map(|d| d.sample(rng))
                    .unwrap_or(median.ms() as f64)
            }
            DurationDist::Weibull { mean, shape } => {
                let scale = weibull_scale(mean.ms() as f64, shape);
                Weibull::new(scale, shape)
                    .map(|d| d.sample(rng))
                    .unwrap_or(mean.ms() as f64)
            }
        };
        SimDuration(ms.round().clamp(0.0, 1.0e15) as i64)
    }

    /// The distribution's mean, for estimates and closed forms.
    pub fn mean(&self) -> SimDuration {
        match *self {
            DurationDist::Fixed { value } => value,
            DurationDist::Uniform { min, max } => SimDuration((min.ms() + max.ms()) / 2),
            DurationDist::Exponential { mean } | DurationDist::Weibull { mean, .. } => mean,
            DurationDist::Normal { mean, .. } => mean,
            DurationDist::Lognormal { median, sigma } => {
                median.mul_f64((sigma * sigma / 2.0).exp())
            }
        }
    }

    /// Problems with the parameters, as (field, message) pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        match *self {
            DurationDist::Uniform { min, max } if max < min => {
                out.push(("max", format!("max ({max}) is smaller than min ({min})")))
            }
            DurationDist::Lognormal { sigma, .. } if !(sigma.is_finite() && sigma >= 0.0) => out
                .push((
                    "sigma",
                    format!("sigma must be a finite number ≥ 0, got {sigma}"),
                )),
            DurationDist::Weibull { shape, .. } if !(shape.is_finite() && shape > 0.0) => {
                out.push((
                    "shape",
                    format!("shape must be a finite number > 0, got {shape}"),
                ))
            }
            _ => {}
        }
        out
    }
}

/// Weibull scale λ for a given mean: mean = λ·Γ(1 + 1/k).
pub fn weibull_scale(mean: f64, shape: f64) -> f64 {
    mean / libm::tgamma(1.0 + 1.0 / shape)
}

/// Accepts `"5m"` as shorthand for `{ dist = "fixed", value = "5m" }`.
pub fn deserialize_dist<'de, D: Deserializer<'de>>(d: D) -> Result<DurationDist, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = DurationDist;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a duration (\"5m\") or a distribution table ({ dist = \"exponential\", mean = \"5m\" })")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationDist, E> {
            parse_duration(v)
                .map(DurationDist::fixed)
                .map_err(|e| E::custom(e.message))
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DurationDist, A::Error> {
            DurationDist::deserialize(MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_any(V)
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Purpose, Streams};

    #[test]
    fn sample_means_match() {
        // Each sample mean is within 5 standard errors (n = 20,000).
        let s = Streams::new(3);
        let n = 20_000;
        let cases = [
            (
                DurationDist::Exponential {
                    mean: SimDuration::from_secs(100),
                },
                100.0,
            ),
            (
                DurationDist::Uniform {
                    min: SimDuration::from_secs(0),
                    max: SimDuration::from_secs(200),
                },
                200.0 / 12f64.sqrt(),
            ),
            (
                DurationDist::Weibull {
                    mean: SimDuration::from_secs(100),
                    shape: 2.0,
                },
                52.3,
            ),
        ];
        for (dist, sd) in cases {
            let mut rng = s.rng(0, Purpose(1), 0);
            let mean = (0..n)
                .map(|_| dist.sample(&mut rng).as_secs_f64())
                .sum::<f64>()
                / n as f64;
            let se = sd / (n as f64).sqrt();
            assert!((mean - 100.0).abs() < 5.0 * se, "{dist:?}: mean {mean}");
        }
    }

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

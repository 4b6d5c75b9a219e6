//! Distributions of durations: service times, help-desk delays, offline
//! episodes, session lengths.

use std::fmt;

use rand::RngExt;
use rand_distr::{Distribution, Exp, LogNormal, Normal, Weibull};
use schemars::JsonSchema;
use serde::de::{self, value::MapAccessDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::engine::time::parse_duration;
use crate::engine::{SimDuration, StreamRng};

/// A distribution of durations. In a scenario either a plain duration
/// (`"5m"`, fixed) or a table: `{ dist = "exponential", mean = "200ms" }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum DurationDist {
    /// Always `value`.
    Fixed { value: SimDuration },
    /// Uniform between `min` and `max`.
    Uniform { min: SimDuration, max: SimDuration },
    /// Exponential with this `mean` (memoryless).
    Exponential { mean: SimDuration },
    /// Normal, truncated at zero (redrawn values below zero become zero).
    Normal { mean: SimDuration, sd: SimDuration },
    /// Log-normal given by its median and the sd of the log (`sigma`).
    Lognormal { median: SimDuration, sigma: f64 },
    /// Weibull given by its mean and shape (shape < 1: heavy-tailed).
    Weibull { mean: SimDuration, shape: f64 },
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

    /// The same shape with every duration multiplied by `factor` (its
    /// mean too): a stage whose service time is scaled serves `1/factor`
    /// times as many requests.
    pub fn scaled(&self, factor: f64) -> Self {
        let f = |d: SimDuration| d.mul_f64(factor);
        match *self {
            DurationDist::Fixed { value } => DurationDist::Fixed { value: f(value) },
            DurationDist::Uniform { min, max } => DurationDist::Uniform {
                min: f(min),
                max: f(max),
            },
            DurationDist::Exponential { mean } => DurationDist::Exponential { mean: f(mean) },
            DurationDist::Normal { mean, sd } => DurationDist::Normal {
                mean: f(mean),
                sd: f(sd),
            },
            DurationDist::Lognormal { median, sigma } => DurationDist::Lognormal {
                median: f(median),
                sigma,
            },
            DurationDist::Weibull { mean, shape } => DurationDist::Weibull {
                mean: f(mean),
                shape,
            },
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
/// The schema of a distribution as scenarios write it (what
/// `deserialize_dist` reads): a plain duration (fixed) or a table.
pub fn dist_as_written(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let duration = generator.subschema_for::<SimDuration>();
    let table = generator.subschema_for::<DurationDist>();
    schemars::json_schema!({
        "description": "A distribution of durations: a plain duration such as \"5m\" (always that long), or a table such as { dist = \"exponential\", mean = \"1s\" }.",
        "anyOf": [duration, table]
    })
}

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
}

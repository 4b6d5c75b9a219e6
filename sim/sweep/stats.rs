//! Replication statistics: mean, standard deviation and the 95 % confidence
//! interval of the mean from Student's t with R − 1 degrees of freedom.

use serde::{Deserialize, Serialize};

/// t quantiles at 0.975 for 1..=30 degrees of freedom (standard tables).
const T975: [f64; 30] = [
    12.706_204_736,
    4.302_652_730,
    3.182_446_305,
    2.776_445_105,
    2.570_581_836,
    2.446_911_851,
    2.364_624_252,
    2.306_004_135,
    2.262_157_163,
    2.228_138_852,
    2.200_985_160,
    2.178_812_830,
    2.160_368_656,
    2.144_786_688,
    2.131_449_546,
    2.119_905_299,
    2.109_815_578,
    2.100_922_040,
    2.093_024_054,
    2.085_963_447,
    2.079_613_845,
    2.073_873_068,
    2.068_657_610,
    2.063_898_562,
    2.059_538_553,
    2.055_529_439,
    2.051_830_516,
    2.048_407_142,
    2.045_229_642,
    2.042_272_456,
];

/// The 0.975 quantile of Student's t with `df` degrees of freedom: the
/// table up to 30, then the Cornish–Fisher expansion around the normal
/// quantile (error below 1e-6 from 30 on).
pub fn t975(df: u32) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T975[df as usize - 1],
        _ => {
            let z: f64 = 1.959_963_984_540_054;
            let n = df as f64;
            let (z3, z5, z7, z9) = (z.powi(3), z.powi(5), z.powi(7), z.powi(9));
            let g1 = (z3 + z) / 4.0;
            let g2 = (5.0 * z5 + 16.0 * z3 + 3.0 * z) / 96.0;
            let g3 = (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / 384.0;
            let g4 = (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / 92160.0;
            z + g1 / n + g2 / (n * n) + g3 / (n * n * n) + g4 / (n * n * n * n)
        }
    }
}

/// Mean and 95 % CI of one metric over the replications of a point.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricStats {
    pub mean: f64,
    /// Sample standard deviation (R − 1 in the denominator); 0 for R = 1.
    pub sd: f64,
    /// mean ± t(0.975, R − 1)·sd/√R, the lower end clipped at 0 (every
    /// metric is a count or a share); `None` with a single replication.
    pub ci95: Option<[f64; 2]>,
}

impl MetricStats {
    /// Values in replication order; the sums run in that order, so the
    /// result does not depend on which thread finished first.
    pub fn of(values: &[f64]) -> Self {
        let n = values.len();
        if n == 0 {
            return MetricStats {
                mean: 0.0,
                sd: 0.0,
                ci95: None,
            };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return MetricStats {
                mean,
                sd: 0.0,
                ci95: None,
            };
        }
        let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let sd = var.sqrt();
        let half = t975(n as u32 - 1) * sd / (n as f64).sqrt();
        MetricStats {
            mean: tidy(mean),
            sd: tidy(sd),
            ci95: Some([tidy((mean - half).max(0.0)), tidy(mean + half)]),
        }
    }

    /// For a share: the interval widened to contain the exact binomial
    /// (Clopper–Pearson) interval of the events pooled over the
    /// replications (`events` of `trials`). Replications that all see the
    /// same count (most often none) would otherwise give a zero-width
    /// interval; with zero events the upper end is then about 3.7/trials.
    pub fn with_pooled_binomial(self, events: u64, trials: u64) -> Self {
        let (lo, hi) = crate::metrics::stats::clopper_pearson(events, trials);
        let [t_lo, t_hi] = self.ci95.unwrap_or([self.mean, self.mean]);
        MetricStats {
            ci95: Some([tidy(t_lo.min(lo)), tidy(t_hi.max(hi))]),
            ..self
        }
    }

    /// Half the width of the interval (0 without one).
    pub fn half_width(&self) -> f64 {
        self.ci95.map_or(0.0, |[lo, hi]| (hi - lo) / 2.0)
    }

    /// The upper end of the interval, or the mean without one.
    pub fn upper(&self) -> f64 {
        self.ci95.map_or(self.mean, |[_, hi]| hi)
    }
}

/// 12 significant digits: enough for any decision, and the outputs read
/// 0.0012 rather than 0.0012000000000000001.
pub fn tidy(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    format!("{x:.11e}").parse().unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_join_the_expansion_smoothly() {
        assert!((t975(31) - 2.039_513_446).abs() < 1e-6, "{}", t975(31));
        assert!((t975(60) - 2.000_297_822).abs() < 1e-6, "{}", t975(60));
        assert!((t975(120) - 1.979_930_405).abs() < 1e-6);
        assert!((t975(30) - 2.042_272_456).abs() < 1e-9);
    }

    #[test]
    fn interval_of_a_hand_computed_sample() {
        // 1, 2, 3, 4: mean 2.5, sd 1.2910, t(3) = 3.1824 → half 2.0543.
        let s = MetricStats::of(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(s.mean, 2.5);
        assert!((s.sd - 1.290_994_449).abs() < 1e-9);
        let [lo, hi] = s.ci95.unwrap();
        assert!((hi - 4.554_259_6).abs() < 1e-6 && (lo - 0.445_740_4).abs() < 1e-6);
        assert_eq!(MetricStats::of(&[3.0]).ci95, None);
    }

    /// Zero events in every replication: never a zero-width interval.
    #[test]
    fn no_events_get_the_pooled_exact_upper_bound() {
        let s = MetricStats::of(&[0.0, 0.0, 0.0]).with_pooled_binomial(0, 3000);
        let [lo, hi] = s.ci95.unwrap();
        assert_eq!(lo, 0.0);
        // 1 − 0.025^(1/3000) = 0.0012289…
        assert!((hi - 0.001_228_9).abs() < 1e-6, "{hi}");
        // A wide t interval is kept.
        let wide = MetricStats::of(&[0.1, 0.3]).with_pooled_binomial(400, 2000);
        assert_eq!(wide.ci95, MetricStats::of(&[0.1, 0.3]).ci95);
    }
}

//! Small statistics: binomial confidence intervals, peaks of time series.

/// Wilson score interval for a binomial proportion (z = 1.96 for 95 %).
/// Unlike the normal approximation it stays inside [0, 1] and is sensible
/// at 0 of n, which is the common case for a good renewal policy.
pub fn wilson_interval(successes: u64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n_f = n as f64;
    let p = successes as f64 / n_f;
    let z2 = z * z;
    let denom = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denom;
    let half = z * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt() / denom;
    // At 0 or n successes the bound is exactly 0 or 1 (the formula leaves
    // floating-point dust there).
    let lo = if successes == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let hi = if successes == n {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    (lo, hi)
}

/// The largest sum over `window` consecutive entries, and where it starts
/// (the first such place if several tie).
pub fn peak_window(series: &[u32], window: usize) -> (usize, u64) {
    if series.is_empty() || window == 0 {
        return (0, 0);
    }
    let w = window.min(series.len());
    let mut sum: u64 = series[..w].iter().map(|&x| x as u64).sum();
    let (mut best_at, mut best) = (0, sum);
    for i in w..series.len() {
        sum = sum + series[i] as u64 - series[i - w] as u64;
        if sum > best {
            best = sum;
            best_at = i + 1 - w;
        }
    }
    (best_at, best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_a_hand_computed_case() {
        // 10 of 100 at 95 %: (0.0552, 0.1744) — Wilson (1927), standard tables.
        let (lo, hi) = wilson_interval(10, 100, 1.96);
        assert!(
            (lo - 0.0552).abs() < 5e-4 && (hi - 0.1744).abs() < 5e-4,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson_interval(0, 1000, 1.96);
        assert_eq!(lo, 0.0);
        assert!(hi > 0.003 && hi < 0.004, "{hi}");
    }

    #[test]
    fn peak_window_finds_the_busiest_stretch() {
        let s = [0, 1, 5, 5, 0, 9, 0];
        assert_eq!(peak_window(&s, 2), (2, 10));
        assert_eq!(peak_window(&s, 1), (5, 9));
        assert_eq!(peak_window(&s, 60), (0, 20));
    }
}

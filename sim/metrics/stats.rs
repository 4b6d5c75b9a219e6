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

/// The exact (Clopper–Pearson) 95 % interval of a binomial proportion:
/// `successes` of `n`. Never zero-width: at 0 of n the upper end is
/// 1 − 0.025^(1/n) ≈ 3.7/n. Clopper & Pearson (1934), "The use of
/// confidence or fiducial limits illustrated in the case of the binomial",
/// Biometrika 26(4).
pub fn clopper_pearson(successes: u64, n: u64) -> (f64, f64) {
    const HALF_ALPHA: f64 = 0.025;
    if n == 0 {
        return (0.0, 1.0);
    }
    let (x, nf) = (successes.min(n) as f64, n as f64);
    let lo = if successes == 0 {
        0.0
    } else if successes >= n {
        HALF_ALPHA.powf(1.0 / nf)
    } else {
        beta_quantile(HALF_ALPHA, x, nf - x + 1.0)
    };
    let hi = if successes >= n {
        1.0
    } else if successes == 0 {
        1.0 - HALF_ALPHA.powf(1.0 / nf)
    } else {
        beta_quantile(1.0 - HALF_ALPHA, x + 1.0, nf - x)
    };
    (lo, hi)
}

/// The `p` quantile of Beta(a, b), by bisection on the regularized
/// incomplete beta function (monotone in x; 80 halvings reach f64 precision).
fn beta_quantile(p: f64, a: f64, b: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..80 {
        let mid = 0.5 * (lo + hi);
        if incomplete_beta(mid, a, b) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The regularized incomplete beta function I_x(a, b), by its continued
/// fraction (modified Lentz; Press et al., Numerical Recipes, §6.4).
fn incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front =
        libm::lgamma(a + b) - libm::lgamma(a) - libm::lgamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_fraction(1.0 - x, b, a) / b
    }
}

fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    // Converges in O(√max(a, b)) steps: a million devices need ~1,000.
    for m in 1..20_000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
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
    fn clopper_pearson_matches_published_values() {
        // 0 of n: 1 − 0.025^(1/n); 0 of 1000 → 0.003682.
        let (lo, hi) = clopper_pearson(0, 1000);
        assert_eq!(lo, 0.0);
        assert!((hi - 0.003_682).abs() < 1e-6, "{hi}");
        // 10 of 100: (0.04901, 0.17622), standard tables (e.g. R's binom.test).
        let (lo, hi) = clopper_pearson(10, 100);
        assert!(
            (lo - 0.049_005).abs() < 1e-5 && (hi - 0.176_223).abs() < 1e-5,
            "{lo} {hi}"
        );
        let (lo, hi) = clopper_pearson(5, 5);
        assert!((lo - 0.478_176).abs() < 1e-5 && hi == 1.0, "{lo}");
        // Large n: close to the normal approximation.
        let (lo, hi) = clopper_pearson(10_000, 1_000_000);
        assert!(lo < 0.01 && hi > 0.01 && hi - lo < 0.0005, "{lo} {hi}");
    }

    #[test]
    fn peak_window_finds_the_busiest_stretch() {
        let s = [0, 1, 5, 5, 0, 9, 0];
        assert_eq!(peak_window(&s, 2), (2, 10));
        assert_eq!(peak_window(&s, 1), (5, 9));
        assert_eq!(peak_window(&s, 60), (0, 20));
    }
}

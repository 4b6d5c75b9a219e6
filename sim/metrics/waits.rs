//! Queue waits per simulated hour, for wait percentiles over time.
//!
//! One hdrhistogram per hour would cost tens of kilobytes each (hundreds of
//! megabytes over five years), so each hour keeps a coarse log-scale
//! histogram instead: 4 bins per doubling (a bin spans 19 %), enough to draw
//! p50/p95/p99 over time. The run-wide percentiles in summary.json still come
//! from the exact hdrhistogram. Most requests never wait; an hour whose
//! requests all started at once keeps a single counter and no bins. An
//! hour's bins grow as far as its longest wait: there is no upper clamp, so
//! a CA whose backlog lasts months shows months here too.

/// Bins per doubling of the wait.
const PER_OCTAVE: f64 = 4.0;
/// Bin 0 holds waits of 0 ms; bin `b ≥ 1` holds waits in
/// `[2^((b-1)/4), 2^(b/4))` ms. Bins are allocated as far as needed; 128
/// reach 2^31.75 ms (about 40 days), the size a merged set starts with.
pub const WAIT_BINS: usize = 128;

/// Wait counts of the requests that entered service, by the hour they arrived.
#[derive(Clone, Debug, Default)]
pub struct HourlyWaits {
    /// Requests that entered service, per hour.
    started: Vec<u32>,
    /// Log-binned waits, allocated only for hours where someone waited,
    /// as long as the hour's longest wait needs.
    bins: Vec<Option<Vec<u32>>>,
}

/// Merged wait bins of one or more hours.
#[derive(Clone, Debug)]
pub struct WaitBins {
    pub started: u64,
    pub bins: Vec<u64>,
}

impl Default for WaitBins {
    fn default() -> Self {
        WaitBins {
            started: 0,
            bins: vec![0; WAIT_BINS],
        }
    }
}

fn bin_of(wait_ms: i64) -> usize {
    if wait_ms <= 0 {
        return 0;
    }
    1 + ((wait_ms as f64).log2() * PER_OCTAVE).floor() as usize
}

/// A representative wait for a bin: the geometric middle of its range, in ms.
fn bin_value_ms(b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        2f64.powf((b as f64 - 0.5) / PER_OCTAVE)
    }
}

impl HourlyWaits {
    pub fn record(&mut self, hour: usize, wait_ms: i64) {
        if hour >= self.started.len() {
            self.started.resize(hour + 1, 0);
            self.bins.resize(hour + 1, None);
        }
        self.started[hour] = self.started[hour].saturating_add(1);
        let b = bin_of(wait_ms);
        if b > 0 {
            let bins = self.bins[hour].get_or_insert_with(Vec::new);
            if b >= bins.len() {
                bins.resize(b + 1, 0);
            }
            bins[b] = bins[b].saturating_add(1);
        }
    }

    /// Hours covered so far.
    pub fn len(&self) -> usize {
        self.started.len()
    }

    pub fn is_empty(&self) -> bool {
        self.started.is_empty()
    }

    /// The waits of hours `from..to` merged (hours beyond the data count as empty).
    pub fn merged(&self, from: usize, to: usize) -> WaitBins {
        let mut out = WaitBins::default();
        let to = to.min(self.started.len());
        for h in from.min(to)..to {
            out.started += self.started[h] as u64;
            let mut waited = 0u64;
            if let Some(bins) = &self.bins[h] {
                if out.bins.len() < bins.len() {
                    out.bins.resize(bins.len(), 0);
                }
                for (o, &c) in out.bins.iter_mut().zip(bins.iter()) {
                    *o += c as u64;
                    waited += c as u64;
                }
            }
            out.bins[0] += (self.started[h] as u64).saturating_sub(waited);
        }
        out
    }
}

impl WaitBins {
    /// The wait (seconds) below which a share `q` of the requests started;
    /// `None` when no request started.
    pub fn quantile_s(&self, q: f64) -> Option<f64> {
        if self.started == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * self.started as f64).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        for (b, &c) in self.bins.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(bin_value_ms(b) / 1000.0);
            }
        }
        Some(bin_value_ms(self.bins.len().saturating_sub(1)) / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_the_right_bins() {
        let mut w = HourlyWaits::default();
        for _ in 0..90 {
            w.record(2, 0);
        }
        for _ in 0..10 {
            w.record(2, 1000);
        }
        let m = w.merged(0, 5);
        assert_eq!(m.started, 100);
        assert_eq!(m.quantile_s(0.5), Some(0.0));
        let p95 = m.quantile_s(0.95).unwrap();
        assert!((p95 - 1.0).abs() < 0.2, "{p95}");
        assert_eq!(w.merged(0, 2).quantile_s(0.5), None);
        assert_eq!(w.merged(7, 3).started, 0);
    }

    /// Waits beyond 40 days keep their size (the bins used to stop there).
    #[test]
    fn long_waits_are_not_clamped() {
        let mut w = HourlyWaits::default();
        let day_ms = 86_400_000i64;
        w.record(0, 100 * day_ms);
        let max = w.merged(0, 1).quantile_s(1.0).unwrap() / 86_400.0;
        assert!((max / 100.0 - 1.0).abs() < 0.1, "{max} days");
    }
}

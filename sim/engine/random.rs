//! Counter-based random streams: every random number is a pure function of
//! (scenario seed, device, purpose, index), so any day of any device can be
//! drawn without simulating the ones before it, and no result depends on the
//! order in which threads or events happened to run.

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

/// What a stream is used for. Distinct purposes give independent streams for
/// the same device, so adding a draw for one purpose never shifts another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Purpose(pub u64);

/// The generator handed out for one (device, purpose, index) stream.
/// PCG-64 (MCG variant) from `rand_pcg`: portable across platforms and rand
/// releases, so published results stay reproducible.
pub type StreamRng = Pcg64Mcg;

/// The root of all randomness of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Streams {
    seed: u64,
}

impl Streams {
    pub fn new(seed: u64) -> Self {
        Streams { seed }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The 64-bit key of a stream: a strong mix of all its coordinates.
    #[inline]
    pub fn key(&self, device: u64, purpose: Purpose, index: u64) -> u64 {
        let mut h = mix64(self.seed ^ 0x6a09_e667_f3bc_c908);
        h = mix64(h ^ device.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        h = mix64(h ^ purpose.0.wrapping_mul(0xbf58_476d_1ce4_e5b9));
        mix64(h ^ index.wrapping_mul(0x94d0_49bb_1331_11eb))
    }

    /// A generator for the stream; draw as many numbers from it as needed.
    #[inline]
    pub fn rng(&self, device: u64, purpose: Purpose, index: u64) -> StreamRng {
        StreamRng::seed_from_u64(self.key(device, purpose, index))
    }

    /// One uniform number in [0, 1) from the stream, without a generator.
    #[inline]
    pub fn unit(&self, device: u64, purpose: Purpose, index: u64) -> f64 {
        (self.key(device, purpose, index) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// SplitMix64's finaliser (Steele, Lea, Flood 2014): a bijective mix with
/// full avalanche, enough to turn structured coordinates into a seed.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_are_pure_functions_of_their_coordinates() {
        let s = Streams::new(7);
        let a: f64 = s.rng(3, Purpose(1), 10).random();
        let b: f64 = s.rng(3, Purpose(1), 10).random();
        assert_eq!(a, b);
        assert_ne!(s.key(3, Purpose(1), 10), s.key(3, Purpose(2), 10));
        assert_ne!(s.key(3, Purpose(1), 10), s.key(4, Purpose(1), 10));
        assert_ne!(
            s.key(3, Purpose(1), 10),
            Streams::new(8).key(3, Purpose(1), 10)
        );
    }

    #[test]
    fn unit_draws_are_uniform() {
        // Mean of n uniforms has sd 1/sqrt(12 n); 5 sd is a false alarm
        // once in ~3.5 million runs.
        let s = Streams::new(1);
        let n = 100_000;
        let mean = (0..n).map(|i| s.unit(i, Purpose(9), 0)).sum::<f64>() / n as f64;
        let sd = (1.0 / (12.0 * n as f64)).sqrt();
        assert!((mean - 0.5).abs() < 5.0 * sd, "mean {mean}");
    }
}

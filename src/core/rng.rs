//! A small seeded random number generator (SplitMix64): the core takes its
//! randomness from a seed so that every run on the virtual clock repeats.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform value in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        debug_assert!(lo <= hi);
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// A uniform duration of `lo_ms..=hi_ms` milliseconds.
    pub fn millis(&mut self, lo_ms: u64, hi_ms: u64) -> Duration {
        Duration::from_millis(self.range(lo_ms, hi_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_stays_inside_and_spreads() {
        let mut rng = Rng::new(7);
        let mut seen = [0u32; 4];
        for _ in 0..4000 {
            let v = rng.range(20, 119);
            assert!((20..=119).contains(&v));
            seen[((v - 20) / 25) as usize] += 1;
        }
        for quarter in seen {
            assert!(quarter > 800, "uneven spread: {seen:?}");
        }
    }
}

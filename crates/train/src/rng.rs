//! Random choices as pure functions of their coordinates (seed, epoch, sample, ...): a
//! resumed run makes exactly the choices the uninterrupted run would have made, whatever
//! the number of worker threads.

use inception::hash::splitmix64 as mix;

/// A small generator seeded from coordinates.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn at(coordinates: &[u64]) -> Self {
        Self(coordinates.iter().fold(0x5EED_u64, |h, &c| mix(h ^ mix(c))))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// Uniform integer in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n.max(1)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

//! A seeded xorshift generator for the crate's randomized tests: the same values on every run,
//! so a failure can be replayed.

/// Xorshift64: cheap, and good enough to scatter test inputs.
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator from `seed` (not zero).
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next value.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// `len` bytes drawn from `alphabet`.
    pub(crate) fn bytes(&mut self, alphabet: &[u8], len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize])
            .collect()
    }
}

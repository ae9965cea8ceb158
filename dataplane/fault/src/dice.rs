//! The injector's randomness: a seeded PCG stream per direction.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

/// Which way frames cross the injector; also picks the PRNG stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Received frames.
    Rx = 0,
    /// Transmitted frames.
    Tx = 1,
}

/// A deterministic source of fault decisions.
#[derive(Debug, Clone)]
pub(crate) struct Dice(Pcg64);

impl Dice {
    /// The stream for `direction` under `seed`. The two directions use distinct PCG
    /// streams of one state, so the faults on received frames never depend on how
    /// much was transmitted, and the other way round.
    pub(crate) fn new(seed: u64, direction: Direction) -> Self {
        // `seed_from_u64` spreads nearby seeds far apart before we pick the stream.
        let state: u128 = Pcg64::seed_from_u64(seed).gen();
        Dice(Pcg64::new(state, direction as u128))
    }

    /// True with probability `p`; assumes `p` in `0.0..=1.0` (0 never, 1 always, NaN
    /// never).
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        // `gen::<f64>()` is uniform on [0, 1), so `< 1.0` always holds.
        self.0.gen::<f64>() < p
    }

    /// A uniform index below `n`; 0 when `n` is 0.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        self.0.gen_range(0..n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_rolls_and_directions_differ() {
        let rolls = |seed, dir| {
            let mut d = Dice::new(seed, dir);
            (0..64).map(|_| d.below(1000)).collect::<Vec<_>>()
        };
        assert_eq!(rolls(5, Direction::Rx), rolls(5, Direction::Rx));
        assert_ne!(rolls(5, Direction::Rx), rolls(5, Direction::Tx));
        assert_ne!(rolls(5, Direction::Rx), rolls(6, Direction::Rx));
    }

    #[test]
    fn certain_and_impossible() {
        let mut d = Dice::new(1, Direction::Rx);
        for _ in 0..1000 {
            assert!(d.chance(1.0));
            assert!(!d.chance(0.0));
            assert!(!d.chance(f64::NAN));
        }
        assert_eq!(d.below(0), 0);
    }
}

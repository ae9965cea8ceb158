//! Pseudo-random inputs: bytes nobody wrote, for the harness's own tests and for
//! the seed corpus (`cargo run --example seeds`). Through [`crate::grammar::Script`]'s
//! decoder a thousand such bytes make a set-up and about sixty actions.

/// `n` pseudo-random bytes from `seed` (xorshift64), the same on every machine.
pub fn bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

//! The deterministic byte pattern the source sends and the sink checks: byte `i` of
//! a stream is `i mod 251`. The period is prime, so no buffer size aliases it, and a
//! buffer of a whole number of periods can be sent again and again by reference.

/// The pattern's period in bytes.
pub const PERIOD: usize = 251;

/// Byte `offset` of the pattern.
pub fn byte(offset: u64) -> u8 {
    (offset % PERIOD as u64) as u8
}

/// Fills `buf` with the pattern starting at stream offset `offset`.
pub fn fill(offset: u64, buf: &mut [u8]) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = byte(offset + i as u64);
    }
}

/// How many bytes of `bytes` differ from the pattern at stream offset `offset`.
pub fn mismatches(offset: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b != byte(offset + i as u64))
        .count() as u64
}

/// The largest multiple of the period that fits `capacity` (at least one period is
/// assumed to fit).
pub fn chunk(capacity: usize) -> usize {
    (capacity / PERIOD).max(1) * PERIOD
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_repeat_the_stream() {
        let c = chunk(2048);
        assert_eq!(c, 2008);
        let mut a = vec![0; c];
        fill(0, &mut a);
        let mut b = vec![0; c];
        fill(c as u64 * 5, &mut b);
        assert_eq!(a, b, "a whole number of periods: the same bytes");
        assert_eq!(mismatches(c as u64, &a), 0);
        assert_eq!(mismatches(1, &a), c as u64);
    }
}

//! The payload-copy counter: where zero-copy is promised, tests assert it stays 0.
//!
//! Kept per thread (per elastic thread, i.e. per core): counting costs one
//! thread-local add and no synchronisation. Copies of *headers* are not counted;
//! copies of *payload* made by the stack (not by an application into its own
//! buffers) are.

use std::cell::Cell;

thread_local! {
    static COPIED: Cell<u64> = const { Cell::new(0) };
}

/// Copies `src` into the front of `dst` and counts the bytes as copied payload;
/// assumes `dst` is at least as long as `src`, else copies what fits. Returns the count.
pub fn copy_payload(dst: &mut [u8], src: &[u8]) -> usize {
    let n = src.len().min(dst.len());
    dst[..n].copy_from_slice(&src[..n]);
    count(n);
    n
}

/// Records `n` bytes of payload copied by this thread.
pub fn count(n: usize) {
    COPIED.with(|c| c.set(c.get() + n as u64));
}

/// Payload bytes this thread has copied since it started (or since [`reset`]).
pub fn copied_bytes() -> u64 {
    COPIED.with(Cell::get)
}

/// Sets this thread's counter back to zero (tests measure one transfer at a time).
pub fn reset() {
    COPIED.with(|c| c.set(0));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_it_copies() {
        reset();
        let mut dst = [0u8; 4];
        assert_eq!(copy_payload(&mut dst, b"abcdef"), 4);
        assert_eq!(&dst, b"abcd");
        count(10);
        assert_eq!(copied_bytes(), 14);
        reset();
        assert_eq!(copied_bytes(), 0);
    }
}

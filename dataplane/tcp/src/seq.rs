//! Sequence numbers: 32-bit values compared modulo 2^32 (RFC 9293 3.4, RFC 1982).
//!
//! `a < b` means `b` lies less than 2^31 after `a` going forward; every comparison
//! in the engine goes through here so none forgets the wrap.

use core::fmt;

/// A TCP sequence (or acknowledgment) number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Seq(pub u32);

impl Seq {
    /// `self` moved `n` forward (wrapping).
    #[inline]
    pub const fn add(self, n: u32) -> Seq {
        Seq(self.0.wrapping_add(n))
    }

    /// `self` moved `n` back (wrapping).
    #[inline]
    pub const fn sub(self, n: u32) -> Seq {
        Seq(self.0.wrapping_sub(n))
    }

    /// The signed distance from `other` to `self` (positive if `self` is later).
    #[inline]
    pub const fn diff(self, other: Seq) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// Bytes from `earlier` forward to `self`; assumes `earlier <= self` (else the
    /// result is the large wrapped distance, which callers bound-check).
    #[inline]
    pub const fn since(self, earlier: Seq) -> u32 {
        self.0.wrapping_sub(earlier.0)
    }

    /// `self < other` modulo 2^32.
    #[inline]
    pub const fn lt(self, other: Seq) -> bool {
        self.diff(other) < 0
    }

    /// `self <= other` modulo 2^32.
    #[inline]
    pub const fn le(self, other: Seq) -> bool {
        self.diff(other) <= 0
    }

    /// `self > other` modulo 2^32.
    #[inline]
    pub const fn gt(self, other: Seq) -> bool {
        self.diff(other) > 0
    }

    /// `self >= other` modulo 2^32.
    #[inline]
    pub const fn ge(self, other: Seq) -> bool {
        self.diff(other) >= 0
    }

    /// The later of the two.
    #[inline]
    pub const fn max(self, other: Seq) -> Seq {
        if self.ge(other) {
            self
        } else {
            other
        }
    }

    /// The earlier of the two.
    #[inline]
    pub const fn min(self, other: Seq) -> Seq {
        if self.le(other) {
            self
        } else {
            other
        }
    }

    /// Whether `lo <= self < hi` (a half-open range, possibly wrapping).
    #[inline]
    pub const fn in_range(self, lo: Seq, hi: Seq) -> bool {
        self.since(lo) < hi.since(lo)
    }
}

impl fmt::Debug for Seq {
    /// `Seq(n)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Seq({})", self.0)
    }
}

impl fmt::Display for Seq {
    /// The bare number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_hold_across_the_wrap() {
        let a = Seq(u32::MAX - 10);
        let b = a.add(20);
        assert_eq!(b, Seq(9));
        assert!(a.lt(b) && a.le(b) && b.gt(a) && b.ge(a));
        assert!(!b.lt(a));
        assert_eq!(b.diff(a), 20);
        assert_eq!(a.diff(b), -20);
        assert_eq!(b.since(a), 20);
        assert_eq!(b.sub(20), a);
        assert_eq!(a.max(b), b);
        assert_eq!(a.min(b), a);
        assert!(a.le(a) && a.ge(a) && !a.lt(a));
    }

    #[test]
    fn ranges_wrap() {
        let lo = Seq(u32::MAX - 1);
        let hi = lo.add(4);
        for s in [lo, lo.add(1), Seq(0), Seq(1)] {
            assert!(s.in_range(lo, hi), "{s:?}");
        }
        assert!(!hi.in_range(lo, hi));
        assert!(!lo.sub(1).in_range(lo, hi));
        assert!(!Seq(5).in_range(lo, lo), "empty range holds nothing");
    }

    #[test]
    fn half_the_space_is_the_horizon() {
        let a = Seq(0);
        assert!(a.add((1 << 31) - 1).gt(a));
        // Exactly 2^31 apart: both "less" (i32::MIN); the engine never compares that far.
        assert!(a.add(1 << 31).lt(a));
    }
}

//! HDR histograms of latencies (nanosecond resolution, 3 significant digits) and of
//! small counts (queue depths).

use hdrhistogram::Histogram;

/// Largest latency kept exactly: one hour in nanoseconds; longer ones are clamped.
const MAX_LATENCY_NS: u64 = 3_600_000_000_000;

/// A histogram of non-negative integer values (nanoseconds, or counts) with mean,
/// standard deviation, min and percentiles. Values above its range are clamped.
#[derive(Debug, Clone)]
pub struct Hist {
    inner: Histogram<u64>,
    max_value: u64,
}

impl Hist {
    /// For latencies in nanoseconds: 1 ns to 1 hour at 3 significant digits.
    pub fn latency() -> Self {
        Self::with_max(MAX_LATENCY_NS)
    }

    /// For small counts such as queue depths: 1 to 2^24 at 3 significant digits.
    pub fn counts() -> Self {
        Self::with_max(1 << 24)
    }

    fn with_max(max_value: u64) -> Self {
        // The bounds are constants that hdrhistogram accepts (low >= 1, high >= 2 low,
        // sigfig <= 5); fall back to an auto-resizing histogram rather than panic.
        let inner = Histogram::new_with_bounds(1, max_value, 3)
            .or_else(|_| Histogram::new(3))
            .unwrap_or_else(|_| unreachable_histogram());
        Hist { inner, max_value }
    }

    /// Records one value (0 is recorded as 0; values above the range as the maximum).
    pub fn record(&mut self, value: u64) {
        let v = value.min(self.max_value);
        // Cannot fail: v is within the histogram's range.
        let _ = self.inner.record(v);
    }

    /// Adds every value of `other` to this histogram.
    pub fn merge(&mut self, other: &Hist) {
        let _ = self.inner.add(&other.inner);
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.inner.len()
    }

    /// Mean of the values (0 when empty).
    pub fn mean(&self) -> f64 {
        self.inner.mean()
    }

    /// Population standard deviation (0 when empty).
    pub fn stdev(&self) -> f64 {
        self.inner.stdev()
    }

    /// Smallest value (0 when empty).
    pub fn min(&self) -> u64 {
        if self.inner.is_empty() {
            0
        } else {
            self.inner.min()
        }
    }

    /// Largest value (0 when empty).
    pub fn max(&self) -> u64 {
        self.inner.max()
    }

    /// The value at percentile `p` (0-100): the smallest recorded value (to 3
    /// significant digits) that at least `p` percent of values are at or below.
    pub fn percentile(&self, p: f64) -> u64 {
        if self.inner.is_empty() {
            return 0;
        }
        self.inner.value_at_percentile(p.clamp(0.0, 100.0))
    }
}

fn unreachable_histogram() -> Histogram<u64> {
    // new(1) with one significant digit never fails; keep the type total anyway.
    Histogram::new(1).unwrap_or_else(|_| unreachable_histogram())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_set() {
        let mut h = Hist::latency();
        for v in 1..=10_000u64 {
            h.record(v * 1000); // 1 µs .. 10 ms
        }
        assert_eq!(h.count(), 10_000);
        let within = |got: u64, want: u64| (got as f64 - want as f64).abs() <= want as f64 * 0.001;
        for (p, want) in [
            (50.0, 5_000_000),
            (99.0, 9_900_000),
            (99.9, 9_990_000),
            (99.99, 9_999_000),
        ] {
            let got = h.percentile(p);
            assert!(within(got, want), "p{p}: {got}");
        }
        assert!(within(h.min(), 1000));
        assert!(within(h.max(), 10_000_000));
        let mean = 5_000_500.0;
        assert!((h.mean() - mean).abs() < mean * 0.001, "{}", h.mean());
        // Uniform on n points spaced 1 µs: sd = 1 µs * sqrt((n^2 - 1) / 12).
        let sd = 1000.0 * ((10_000f64.powi(2) - 1.0) / 12.0).sqrt();
        assert!((h.stdev() - sd).abs() < sd * 0.001, "{}", h.stdev());
    }

    #[test]
    fn merge_adds_counts_and_keeps_extremes() {
        let mut a = Hist::latency();
        let mut b = Hist::latency();
        for _ in 0..99 {
            a.record(1_000);
        }
        b.record(100_000_000);
        a.merge(&b);
        assert_eq!(a.count(), 100);
        assert!(a.percentile(99.0) < 1_010);
        assert!(a.percentile(99.5) >= 99_000_000);
        assert!(a.max() >= 99_900_000);
    }

    #[test]
    fn empty_and_out_of_range() {
        let mut h = Hist::counts();
        assert_eq!((h.count(), h.min(), h.percentile(99.0)), (0, 0, 0));
        h.record(0);
        h.record(u64::MAX);
        assert_eq!(h.count(), 2);
        assert_eq!(h.min(), 0);
        assert!(h.max() >= 1 << 24);
    }
}

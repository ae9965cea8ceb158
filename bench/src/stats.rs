//! Medians, spreads and round-trip-time summaries.

use hdrhistogram::Histogram;

/// The median of `values` (the mean of the two middle ones for an even
/// count); `None` if empty or if any value is NaN.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    })
}

/// Median and range of one figure over several runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Median over the runs.
    pub median: f64,
    /// Smallest run.
    pub min: f64,
    /// Largest run.
    pub max: f64,
    /// Number of runs.
    pub runs: usize,
}

impl Summary {
    /// Summarizes `values` (one per run); `None` if empty or containing NaN.
    pub fn of(values: &[f64]) -> Option<Summary> {
        let median = median(values)?;
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some(Summary {
            median,
            min,
            max,
            runs: values.len(),
        })
    }

    /// The spread `(max - min) / median` in percent (0 when the median is 0).
    pub fn spread_pct(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.max - self.min) / self.median.abs() * 100.0
        }
    }
}

/// Frames per second, given a count and the seconds it took (0 for no time).
pub fn rate(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

/// Round-trip times of one run, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RttSummary {
    /// Number of round trips recorded.
    pub count: u64,
    /// Smallest.
    pub min_ns: u64,
    /// Median.
    pub p50_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// Largest.
    pub max_ns: u64,
}

impl RttSummary {
    /// Summarizes a histogram of round trips in ns; `None` if it is empty.
    pub fn of(hist: &Histogram<u64>) -> Option<RttSummary> {
        if hist.is_empty() {
            return None;
        }
        Some(RttSummary {
            count: hist.len(),
            min_ns: hist.min(),
            p50_ns: hist.value_at_quantile(0.5),
            p99_ns: hist.value_at_quantile(0.99),
            p999_ns: hist.value_at_quantile(0.999),
            max_ns: hist.max(),
        })
    }
}

/// A histogram for round trips from 1 ns to 10 s at 3 significant digits.
pub fn rtt_histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 10_000_000_000, 3)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn summary_has_range_and_spread() {
        let s = Summary::of(&[1.1e6, 0.9e6, 1.0e6]).unwrap();
        assert_eq!(s.median, 1.0e6);
        assert_eq!(s.min, 0.9e6);
        assert_eq!(s.max, 1.1e6);
        assert_eq!(s.runs, 3);
        assert!((s.spread_pct() - 20.0).abs() < 1e-9);
        assert_eq!(Summary::of(&[0.0, 0.0]).unwrap().spread_pct(), 0.0);
        assert!(Summary::of(&[]).is_none());
    }

    #[test]
    fn rate_guards_zero_time() {
        assert_eq!(rate(1_000, 0.5), 2_000.0);
        assert_eq!(rate(1_000, 0.0), 0.0);
    }

    #[test]
    fn rtt_percentiles_from_histogram() {
        let mut h = rtt_histogram().unwrap();
        assert!(RttSummary::of(&h).is_none());
        for v in 1..=1000u64 {
            h.record(v * 1000).unwrap();
        }
        let s = RttSummary::of(&h).unwrap();
        assert_eq!(s.count, 1000);
        assert_eq!(s.min_ns, 1000);
        // 3 significant digits: within 0.1%.
        let near = |got: u64, want: u64| (got as f64 - want as f64).abs() <= want as f64 * 0.001;
        assert!(near(s.p50_ns, 500_000), "{s:?}");
        assert!(near(s.p99_ns, 990_000), "{s:?}");
        assert!(near(s.p999_ns, 999_000), "{s:?}");
        assert!(near(s.max_ns, 1_000_000), "{s:?}");
    }
}

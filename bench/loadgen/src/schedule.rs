//! The open-loop send schedule of one connection: arrival times drawn from the `-i`
//! distribution at the connection's share of the target rate. Latency is measured from
//! these scheduled times, not from when a request actually left, so a stalled server
//! (or client) cannot hide the requests it delayed (no coordinated omission).

use crate::dist::Distribution;
use rand::rngs::SmallRng;
use rand::SeedableRng;

/// The arrival times of one connection, in nanoseconds on the run's clock.
#[derive(Debug, Clone)]
pub struct Schedule {
    interarrival_s: Distribution,
    next_ns: u64,
    rng: SmallRng,
}

impl Schedule {
    /// Arrivals starting at `start_ns` (the first one interarrival later), with gaps
    /// from `interarrival_s` (seconds; already fitted to the rate), seeded by `seed`.
    pub fn new(interarrival_s: Distribution, start_ns: u64, seed: u64) -> Self {
        let mut s = Schedule {
            interarrival_s,
            next_ns: start_ns,
            rng: SmallRng::seed_from_u64(seed),
        };
        s.next_ns = start_ns.saturating_add(s.gap_ns());
        s
    }

    fn gap_ns(&mut self) -> u64 {
        let gap = self.interarrival_s.sample(&mut self.rng) * 1e9;
        // Negative gaps (a normal's tail) mean "at once"; gaps are finite by construction.
        if gap.is_finite() && gap > 0.0 {
            gap.round() as u64
        } else {
            0
        }
    }

    /// The next arrival not yet taken.
    pub fn peek(&self) -> u64 {
        self.next_ns
    }

    /// Takes the next arrival if it is at or before `now_ns`.
    pub fn pop_due(&mut self, now_ns: u64) -> Option<u64> {
        if self.next_ns > now_ns {
            return None;
        }
        let due = self.next_ns;
        self.next_ns = due.saturating_add(self.gap_ns());
        Some(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrivals(rate: f64, seconds: u64) -> Vec<u64> {
        let ia = Distribution::parse("-i", "exponential")
            .unwrap()
            .with_rate(rate)
            .unwrap();
        let mut s = Schedule::new(ia, 0, 7);
        let end = seconds * 1_000_000_000;
        let mut out = Vec::new();
        while let Some(t) = s.pop_due(end) {
            out.push(t);
        }
        out
    }

    #[test]
    fn poisson_arrivals_at_the_target_rate() {
        // 100 s of schedule at 1000/s: a Poisson count has mean 100,000, sd 316.
        let ts = arrivals(1000.0, 100);
        let n = ts.len() as f64;
        assert!((n - 100_000.0).abs() < 4.0 * 316.3, "{n} arrivals");
        assert!(ts.windows(2).all(|w| w[0] <= w[1]), "arrivals are in order");

        // Gaps: exponential with mean 1 ms, so sd 1 ms and P(gap > 1 ms) = 1/e.
        let gaps: Vec<f64> = ts.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let sd = (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64).sqrt();
        assert!((mean - 1e6).abs() < 0.02 * 1e6, "mean gap {mean} ns");
        assert!(
            (sd / mean - 1.0).abs() < 0.03,
            "coefficient of variation {}",
            sd / mean
        );
        let over = gaps.iter().filter(|&&g| g > 1e6).count() as f64 / gaps.len() as f64;
        assert!(
            (over - (-1.0f64).exp()).abs() < 0.01,
            "P(gap > mean) = {over}"
        );

        // Counts in 10 ms windows: Poisson(10), so variance equals mean.
        let mut counts = vec![0u32; 10_000];
        for t in &ts {
            counts[(*t / 10_000_000) as usize] += 1;
        }
        let m = counts.iter().map(|&c| c as f64).sum::<f64>() / counts.len() as f64;
        let var = counts.iter().map(|&c| (c as f64 - m).powi(2)).sum::<f64>() / counts.len() as f64;
        assert!(
            (var / m - 1.0).abs() < 0.06,
            "index of dispersion {}",
            var / m
        );
    }

    #[test]
    fn nothing_is_due_before_its_time_and_late_arrivals_queue_up() {
        let ia = Distribution::Fixed(0.001); // every 1 ms
        let mut s = Schedule::new(ia, 5_000_000, 1);
        assert_eq!(s.peek(), 6_000_000);
        assert_eq!(s.pop_due(5_999_999), None);
        // Polled late (at 9.5 ms): every arrival since is due, each with its own time.
        let due: Vec<u64> = std::iter::from_fn(|| s.pop_due(9_500_000)).collect();
        assert_eq!(due, vec![6_000_000, 7_000_000, 8_000_000, 9_000_000]);
    }
}

//! The retransmission timer's estimator (RFC 6298): smoothed RTT and variance from
//! samples, an RTO bounded below and above, and exponential backoff.
//!
//! Samples follow Karn's algorithm: the connection times one segment at a time and
//! discards the measurement if that segment is retransmitted (see `conn::tcb`).

use std::time::Duration;

/// The most doublings applied to the RTO (2^16 times the base is past any `rto_max`).
const MAX_BACKOFF: u32 = 16;

/// RFC 6298's state for one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RttEstimator {
    srtt: Option<Duration>,
    rttvar: Duration,
    base_rto: Duration,
    backoff: u32,
    min: Duration,
    max: Duration,
    granularity: Duration,
}

impl RttEstimator {
    /// No sample yet: the RTO is `initial`, clamped to `min..=max`; `granularity` is
    /// the timer's tick (RFC 6298's G).
    pub fn new(initial: Duration, min: Duration, max: Duration, granularity: Duration) -> Self {
        RttEstimator {
            srtt: None,
            rttvar: Duration::ZERO,
            base_rto: initial.clamp(min, max),
            backoff: 0,
            min,
            max,
            granularity,
        }
    }

    /// Takes one RTT measurement (RFC 6298 2.2 and 2.3) and clears the backoff
    /// (2.5's "after the timer expires ... a new RTT sample" reset).
    pub fn sample(&mut self, r: Duration) {
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                let delta = srtt.abs_diff(r);
                self.rttvar = (self.rttvar * 3 + delta) / 4;
                self.srtt = Some((srtt * 7 + r) / 8);
            }
        }
        let srtt = self.srtt.unwrap_or(r);
        let rto = srtt + self.granularity.max(self.rttvar * 4);
        self.base_rto = rto.clamp(self.min, self.max);
        self.backoff = 0;
    }

    /// The current RTO, backoff applied, at most `max`.
    pub fn rto(&self) -> Duration {
        self.base_rto
            .checked_mul(1u32 << self.backoff.min(MAX_BACKOFF))
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// Doubles the RTO after a timeout (RFC 6298 5.5).
    pub fn back_off(&mut self) {
        self.backoff = (self.backoff + 1).min(MAX_BACKOFF);
    }

    /// Forgets the backoff (new data acknowledged).
    pub fn clear_backoff(&mut self) {
        self.backoff = 0;
    }

    /// How many doublings are in effect.
    pub fn backoff(&self) -> u32 {
        self.backoff
    }

    /// The smoothed RTT, once sampled.
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// The RTT variance estimate.
    pub fn rttvar(&self) -> Duration {
        self.rttvar
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn follows_rfc6298() {
        let mut e = RttEstimator::new(ms(1000), ms(200), ms(60_000), ms(1));
        assert_eq!(e.rto(), ms(1000));
        e.sample(ms(100));
        // SRTT 100, RTTVAR 50, RTO = 100 + 4*50 = 300.
        assert_eq!(
            (e.srtt(), e.rttvar(), e.rto()),
            (Some(ms(100)), ms(50), ms(300))
        );
        e.sample(ms(200));
        // RTTVAR = 3/4*50 + 1/4*100 = 62.5; SRTT = 7/8*100 + 1/8*200 = 112.5.
        assert_eq!(e.rttvar(), Duration::from_micros(62_500));
        assert_eq!(e.srtt(), Some(Duration::from_micros(112_500)));
        assert_eq!(e.rto(), Duration::from_micros(362_500));
    }

    #[test]
    fn min_max_and_backoff() {
        let mut e = RttEstimator::new(ms(1000), ms(200), ms(5000), ms(1));
        e.sample(Duration::from_micros(50));
        assert_eq!(e.rto(), ms(200), "bounded below by rto_min");
        e.back_off();
        assert_eq!(e.rto(), ms(400));
        e.back_off();
        e.back_off();
        assert_eq!(e.rto(), ms(1600));
        for _ in 0..40 {
            e.back_off();
        }
        assert_eq!(e.rto(), ms(5000), "bounded above by rto_max");
        e.clear_backoff();
        assert_eq!(e.rto(), ms(200));
    }
}

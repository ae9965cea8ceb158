//! Conversion between instants (nanoseconds) and wheel ticks.

use ix_nic::Instant;
use std::time::Duration;

/// The wheel's resolution: instants become whole ticks of `tick_ns` nanoseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resolution {
    tick_ns: u64,
    /// The last tick whose start is representable as an `Instant`.
    max_tick: u64,
}

impl Resolution {
    /// A resolution of `tick`; zero becomes 1 ns and anything longer than `u64::MAX` ns
    /// becomes `u64::MAX` ns, so no input divides by zero or overflows.
    pub(crate) fn new(tick: Duration) -> Self {
        let tick_ns = u64::try_from(tick.as_nanos()).unwrap_or(u64::MAX).max(1);
        Resolution {
            tick_ns,
            max_tick: u64::MAX / tick_ns,
        }
    }

    /// The tick length actually used.
    pub(crate) fn tick(self) -> Duration {
        Duration::from_nanos(self.tick_ns)
    }

    /// The tick containing `t` (rounded down): the last tick `advance(t)` may process.
    pub(crate) fn floor(self, t: Instant) -> u64 {
        t.as_nanos() / self.tick_ns
    }

    /// The first tick whose start is not before `t` (rounded up), so a timer placed
    /// there never fires early. Deadlines in the final partial tick of the nanosecond
    /// range (hundreds of years out) clamp to the last whole tick.
    pub(crate) fn ceil(self, t: Instant) -> u64 {
        let n = t.as_nanos();
        let up = u64::from(!n.is_multiple_of(self.tick_ns));
        (n / self.tick_ns + up).min(self.max_tick)
    }

    /// The instant tick `tick` starts; saturates (only reachable for ticks past `max_tick`,
    /// which the wheel never stores).
    pub(crate) fn start(self, tick: u64) -> Instant {
        Instant::from_nanos(tick.saturating_mul(self.tick_ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_deadlines_up_and_now_down() {
        let r = Resolution::new(Duration::from_millis(1));
        assert_eq!(r.floor(Instant::from_nanos(1_999_999)), 1);
        assert_eq!(r.ceil(Instant::from_nanos(1_000_001)), 2);
        assert_eq!(r.ceil(Instant::from_millis(3)), 3);
        assert_eq!(r.start(3), Instant::from_millis(3));
    }

    #[test]
    fn degenerate_ticks_do_not_panic() {
        let zero = Resolution::new(Duration::ZERO);
        assert_eq!(zero.tick(), Duration::from_nanos(1));
        assert_eq!(zero.ceil(Instant::from_nanos(u64::MAX)), u64::MAX);
        let huge = Resolution::new(Duration::MAX);
        assert_eq!(huge.floor(Instant::from_nanos(u64::MAX)), 1);
        assert_eq!(huge.ceil(Instant::from_nanos(5)), 1);
        let odd = Resolution::new(Duration::from_nanos(3));
        // u64::MAX is divisible by 3, so the last deadline is exactly representable.
        assert_eq!(odd.ceil(Instant::from_nanos(u64::MAX)), u64::MAX / 3);
        let seven = Resolution::new(Duration::from_nanos(7));
        assert_eq!(seven.ceil(Instant::from_nanos(u64::MAX)), u64::MAX / 7);
    }
}

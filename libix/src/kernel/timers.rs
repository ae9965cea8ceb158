//! Per-connection FIN timeouts of the kernel transport (one `ix-timer` wheel, one
//! timer per connection at most). Application timers are [`crate::timers::AppTimers`].

use ix_nic::Instant;
use ix_timer::TimerWheel;
use std::time::Duration;

/// Per-connection FIN timeouts: the slot index (and generation) of a connection that
/// closed its side, due when the peer has not closed its own by then.
#[derive(Debug)]
pub(crate) struct FinTimers {
    wheel: TimerWheel<(u32, u32)>,
}

impl FinTimers {
    /// Room for one timer per connection.
    pub(crate) fn new(conns: usize, now: Instant) -> Self {
        FinTimers {
            wheel: TimerWheel::new(conns, Duration::from_millis(10), now),
        }
    }

    /// Arms the timeout of slot `index` in generation `gen`.
    pub(crate) fn arm(
        &mut self,
        deadline: Instant,
        index: u32,
        gen: u32,
    ) -> Option<ix_timer::TimerId> {
        self.wheel.arm(deadline, (index, gen)).ok()
    }

    /// Disarms a timeout (the connection ended first).
    pub(crate) fn cancel(&mut self, id: ix_timer::TimerId) {
        self.wheel.cancel(id);
    }

    /// The next timeout due at `now`: slot index and generation.
    pub(crate) fn poll(&mut self, now: Instant) -> Option<(u32, u32)> {
        self.wheel.poll(now).map(|(_, p)| p)
    }

    /// When the next timeout may be due, if any is armed.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.wheel.next_deadline()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A FIN timeout fires once at its deadline; a cancelled one never does.
    #[test]
    fn fin_timeouts_fire_once_unless_cancelled() {
        let mut f = FinTimers::new(4, Instant::ZERO);
        let a = f.arm(Instant::from_millis(100), 1, 5).unwrap();
        f.arm(Instant::from_millis(200), 2, 6).unwrap();
        assert_eq!(f.poll(Instant::from_millis(50)), None);
        f.cancel(a);
        assert_eq!(f.poll(Instant::from_millis(300)), Some((2, 6)));
        assert_eq!(f.poll(Instant::from_millis(300)), None);
    }
}

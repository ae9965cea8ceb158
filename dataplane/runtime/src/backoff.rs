//! Idle back-off: spin, then yield, then sleep, as empty polls accumulate.

use crate::config::IdlePolicy;

/// What the loop should do after an empty poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idle {
    /// Poll again at once.
    Spin,
    /// Give the core away once, then poll.
    Yield,
    /// Sleep the policy's duration, then poll.
    Sleep,
}

/// Counts consecutive empty polls and says how to wait.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: IdlePolicy,
    empty: u64,
}

impl Backoff {
    /// A back-off following `policy`, starting busy.
    pub fn new(policy: IdlePolicy) -> Self {
        Backoff { policy, empty: 0 }
    }

    /// The poll did work: back to spinning.
    pub fn busy(&mut self) {
        self.empty = 0;
    }

    /// The poll found nothing: how to wait before the next one.
    pub fn idle(&mut self) -> Idle {
        self.empty = self.empty.saturating_add(1);
        let spin = u64::from(self.policy.spin_polls);
        let yields = spin.saturating_add(u64::from(self.policy.yield_polls));
        if self.empty <= spin {
            Idle::Spin
        } else if self.empty <= yields || self.policy.sleep.is_zero() {
            Idle::Yield
        } else {
            Idle::Sleep
        }
    }

    /// Waits as [`Backoff::idle`] says.
    pub fn wait(&mut self) {
        match self.idle() {
            Idle::Spin => std::hint::spin_loop(),
            Idle::Yield => std::thread::yield_now(),
            Idle::Sleep => std::thread::sleep(self.policy.sleep),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn spins_then_yields_then_sleeps_and_resets_on_work() {
        let mut b = Backoff::new(IdlePolicy {
            spin_polls: 2,
            yield_polls: 1,
            sleep: Duration::from_micros(1),
        });
        let seen: Vec<Idle> = (0..5).map(|_| b.idle()).collect();
        assert_eq!(
            seen,
            [
                Idle::Spin,
                Idle::Spin,
                Idle::Yield,
                Idle::Sleep,
                Idle::Sleep
            ]
        );
        b.busy();
        assert_eq!(b.idle(), Idle::Spin);
        let mut s = Backoff::new(IdlePolicy::SPIN);
        assert!((0..1000).all(|_| s.idle() == Idle::Spin));
    }
}

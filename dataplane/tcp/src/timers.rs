//! Per-connection timers on one `ix-timer` wheel entry each.
//!
//! A connection has several deadlines (retransmission, RACK reordering, tail loss
//! probe, delayed ACK, persist, keepalive, a "linger" bound for FIN_WAIT_2, and the
//! user timeout) but holds one wheel timer, armed for the earliest. Moving a deadline
//! later (the RTO restarted by every ACK) does not touch the wheel: the timer fires
//! early, finds nothing due and is re-armed, once per RTO at most, instead of a wheel
//! operation per packet.

use ix_nic::Instant;
use ix_timer::{TimerId, TimerWheel};

/// A connection's deadlines; `None` is "not armed".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deadlines {
    /// Retransmission timeout (also SYN and SYN-ACK retries).
    pub rto: Option<Instant>,
    /// RACK's reordering window ends for a segment not yet deemed lost.
    pub reo: Option<Instant>,
    /// Tail loss probe (never later than `rto`).
    pub tlp: Option<Instant>,
    /// Delayed ACK.
    pub delack: Option<Instant>,
    /// Zero-window probe.
    pub persist: Option<Instant>,
    /// Next keepalive check.
    pub keepalive: Option<Instant>,
    /// FIN_WAIT_2 bound: the connection dies then.
    pub linger: Option<Instant>,
    /// User timeout (RFC 5482): sent data unacknowledged since `unacked_since`
    /// ends the connection then, not at the next retransmission after it.
    pub user: Option<Instant>,
}

impl Deadlines {
    /// The earliest armed deadline.
    pub fn earliest(&self) -> Option<Instant> {
        // A chain of pairwise minimums: this runs after every segment and poll.
        let min = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, None) => x,
            (None, y) => y,
        };
        min(
            min(min(self.rto, self.reo), min(self.tlp, self.delack)),
            min(
                min(self.persist, self.keepalive),
                min(self.linger, self.user),
            ),
        )
    }
}

/// Wheel payload: the slot and its generation, so a late firing for a slot's previous
/// occupant is recognised and ignored.
pub fn payload(slot: u32, gen: u32) -> u64 {
    (u64::from(gen) << 32) | u64::from(slot)
}

/// The slot and generation in a wheel payload.
pub fn unpack(p: u64) -> (u32, u32) {
    (p as u32, (p >> 32) as u32)
}

/// A connection's one wheel timer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnTimer {
    /// The armed timer, if any.
    pub id: Option<TimerId>,
    /// When it fires.
    pub at: Instant,
}

impl ConnTimer {
    /// Makes the wheel fire for this connection at or before `next` (none: disarm).
    /// Returns false if the wheel was full (the caller counts it; the connection's
    /// deadlines then wait for its next event).
    pub fn schedule(
        &mut self,
        wheel: &mut TimerWheel<u64>,
        slot: u32,
        gen: u32,
        next: Option<Instant>,
    ) -> bool {
        match (self.id, next) {
            (None, None) => true,
            (Some(id), None) => {
                wheel.cancel(id);
                self.id = None;
                true
            }
            // Armed early enough: let it fire and re-arm then.
            (Some(_), Some(n)) if self.at <= n => true,
            (Some(id), Some(n)) => match wheel.reset(id, n) {
                Ok(id) => {
                    self.id = Some(id);
                    self.at = n;
                    true
                }
                Err(_) => self.arm(wheel, slot, gen, n),
            },
            (None, Some(n)) => self.arm(wheel, slot, gen, n),
        }
    }

    /// Arms a new wheel timer for `n` and holds it (none was held, or resetting the
    /// held one failed); false if the wheel is full.
    fn arm(&mut self, wheel: &mut TimerWheel<u64>, slot: u32, gen: u32, n: Instant) -> bool {
        match wheel.arm(n, payload(slot, gen)) {
            Ok(id) => {
                self.id = Some(id);
                self.at = n;
                true
            }
            Err(_) => {
                self.id = None;
                false
            }
        }
    }

    /// The wheel fired this timer: it is no longer armed.
    pub fn fired(&mut self) {
        self.id = None;
    }

    /// Disarms (the connection is going away).
    pub fn cancel(&mut self, wheel: &mut TimerWheel<u64>) {
        if let Some(id) = self.id.take() {
            wheel.cancel(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn lazy_rearm_touches_the_wheel_only_when_earlier() {
        let mut w = TimerWheel::new(4, Duration::from_millis(1), Instant::ZERO);
        let mut t = ConnTimer::default();
        let at = |ms| Some(Instant::from_millis(ms));
        assert!(t.schedule(&mut w, 3, 7, at(100)));
        let id = t.id;
        assert!(t.schedule(&mut w, 3, 7, at(200)), "later: kept");
        assert_eq!((t.id, t.at), (id, Instant::from_millis(100)));
        assert!(t.schedule(&mut w, 3, 7, at(50)), "earlier: moved");
        assert_eq!(t.at, Instant::from_millis(50));
        let mut fired = Vec::new();
        w.advance(Instant::from_millis(60), |_, p| fired.push(unpack(p)));
        assert_eq!(fired, vec![(3, 7)]);
        t.fired();
        assert!(t.schedule(&mut w, 3, 7, None));
        assert_eq!(w.len(), 0);
        let d = Deadlines {
            persist: at(9),
            rto: at(12),
            ..Deadlines::default()
        };
        assert_eq!(d.earliest(), at(9));
    }
}

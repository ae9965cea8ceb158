//! Loss marks on the retransmission queue: what is deemed lost (RACK, an RTO,
//! NewReno's partial ACKs), what recovery resends next, and RACK's time-based scan
//! (RFC 8985).

use super::record::{EVER_RTX, LOST, RTX};
use super::RtxQueue;
use crate::seq::Seq;
use ix_nic::Instant;
use std::time::Duration;

/// Whether a transmission at (`t1`, ending at `s1`) happened after one at
/// (`t2`, `s2`): later in time, or at the same instant and later in sequence
/// (RFC 8985's RACK_sent_after).
pub fn sent_after(t1: Instant, s1: Seq, t2: Instant, s2: Seq) -> bool {
    t1 > t2 || (t1 == t2 && s1.gt(s2))
}

/// What [`RtxQueue::detect_lost`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Detection {
    /// Segments newly deemed lost.
    pub lost: u32,
    /// Of those, segments whose retransmission was deemed lost.
    pub rtx_lost: u32,
    /// The longest time some segment still has before it can be deemed lost (arm
    /// the reordering timer for it), if any has.
    pub wait: Option<Duration>,
}

impl RtxQueue {
    /// Marks the record at `idx` lost (its retransmission, if one is out, too).
    /// Returns whether it changed.
    pub fn mark_lost(&mut self, idx: usize) -> bool {
        match self.recs.get(idx) {
            Some(r) if !r.is_sacked() && !r.needs_rtx() => {
                self.set_flags(idx, LOST, RTX);
                true
            }
            _ => false,
        }
    }

    /// Marks every record not SACKed lost, retransmissions included (an RTO).
    pub fn mark_all_lost(&mut self) {
        for i in 0..self.recs.len() {
            self.mark_lost(i);
        }
        self.lost_hint = 0;
    }

    /// The first record recovery must (re)send, if any.
    pub fn next_lost(&mut self) -> Option<usize> {
        if self.lost == 0 {
            return None;
        }
        let mut i = self.lost_hint;
        while let Some(r) = self.recs.get(i) {
            if r.needs_rtx() {
                self.lost_hint = i;
                return Some(i);
            }
            i += 1;
        }
        self.lost_hint = i;
        None
    }

    /// The record at `idx` was retransmitted at `now`.
    pub fn retransmitted(&mut self, idx: usize, now: Instant) {
        if idx >= self.recs.len() {
            return;
        }
        self.set_flags(idx, RTX | EVER_RTX, 0);
        self.recs[idx].xmit = now;
    }

    /// RACK's loss detection (RFC 8985 6.2 step 5): every segment not delivered and
    /// sent before the most recently delivered one (`rack_xmit`, `rack_end`) is lost
    /// if `wait` (RACK.rtt + reordering window) has passed since it was sent; the
    /// others report how long they have left.
    pub fn detect_lost(
        &mut self,
        rack_xmit: Instant,
        rack_end: Seq,
        wait: Duration,
        now: Instant,
    ) -> Detection {
        let mut d = Detection::default();
        let rtx_high = if self.rtx > 0 {
            Some(self.rtx_high)
        } else {
            None
        };
        for i in 0..self.recs.len() {
            let r = self.recs[i];
            if r.is_sacked() || r.needs_rtx() {
                continue;
            }
            if !sent_after(rack_xmit, rack_end, r.xmit, r.end) {
                // Sent after the newest delivery: nothing to conclude. Records above
                // every retransmission were sent in sequence order, so the rest were
                // sent later still.
                if rtx_high.is_none_or(|h| r.start.ge(h)) {
                    break;
                }
                continue;
            }
            let due = r.xmit.saturating_add(wait);
            if due <= now {
                if r.rtx_in_flight() {
                    d.rtx_lost += 1;
                }
                self.set_flags(i, LOST, RTX);
                d.lost += 1;
            } else {
                let left = due.saturating_since(now);
                d.wait = Some(d.wait.map_or(left, |w| w.max(left)));
            }
        }
        d
    }
}

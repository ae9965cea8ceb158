//! RACK-TLP (RFC 8985): time-based loss detection and the tail loss probe.
//!
//! RACK ("recent acknowledgment") deems a segment lost when a segment sent after it
//! has been delivered (cumulatively acknowledged or SACKed) and a reordering window
//! has passed since it was sent. Unlike counting duplicate ACKs (RFC 5681) or SACKed
//! segments above a hole (RFC 6675's DupThresh), this works whatever the window (a
//! window of two segments detects a loss as well as one of a hundred), detects lost
//! retransmissions (a retransmission is a transmission like any other), and is not
//! fooled by duplicated ACKs (they deliver nothing new). The reordering window is 0
//! until reordering is seen, then a quarter of the minimum RTT, widened while the
//! peer's D-SACKs show retransmissions were spurious.
//!
//! TLP: when the sender has sent everything it may and its last segments (or their
//! ACKs) are lost, no ACK comes to drive RACK. Two smoothed RTTs after the last
//! transmission a probe goes out (new data if there is any, else the highest segment
//! again) to draw an ACK whose SACK information lets RACK repair the tail instead of
//! the retransmission timer.
//!
//! This module keeps the state and the arithmetic; the connection feeds it the
//! segments each ACK delivers (`conn::input`) and runs the scan over its
//! retransmission queue ([`crate::rtxq::RtxQueue::detect_lost`]).

use crate::rtxq::{sent_after, SegRec};
use crate::seq::Seq;
use ix_nic::Instant;
use std::time::Duration;

/// Segments SACKed above a hole that make it lost without waiting, reordering not
/// seen (RFC 6675's DupThresh, used by RFC 8985 6.2 step 4).
pub const DUP_THRESH: u32 = 3;
/// How long a minimum RTT sample is trusted before a larger one may replace it.
pub const MIN_RTT_WINDOW: Duration = Duration::from_secs(10);
/// The worst-case delayed ACK a lone segment's probe waits for (RFC 8985 7.2's
/// WCDelAckT).
pub const WC_DEL_ACK: Duration = Duration::from_millis(200);
/// The shortest probe timeout: a bound for timer granularity and for a peer's
/// scheduling jitter on a path whose RTT is microseconds (Linux adds 2 ms too).
pub const MIN_PTO: Duration = Duration::from_millis(2);
/// How many rounds a D-SACK-widened reordering window persists (RFC 8985 6.2).
const REO_WND_PERSIST: u32 = 16;

/// One connection's RACK state (RFC 8985 6.1). Times are kept in nanoseconds:
/// every delivered segment updates them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rack {
    /// The most recently sent segment delivered: when it was sent, and its end.
    /// `None` until something is delivered.
    pub last: Option<(Instant, Seq)>,
    /// The RTT of the latest delivery (RACK.rtt), ns.
    rtt_ns: u64,
    /// The minimum RTT seen (ns), and when (RACK.min_RTT, windowed).
    min_rtt: Option<(u64, Instant)>,
    /// The highest sequence delivered (RACK.fack).
    fack: Option<Seq>,
    /// Whether the peer delivered segments out of order (RACK.reordering_seen).
    pub reordering_seen: bool,
    /// RACK.reo_wnd_mult, RACK.reo_wnd_persist, RACK.dsack_round.
    reo_wnd_mult: u32,
    reo_wnd_persist: u32,
    dsack_round: Option<Seq>,
}

/// [`MIN_RTT_WINDOW`] in nanoseconds.
const MIN_RTT_WINDOW_NS: u64 = MIN_RTT_WINDOW.as_nanos() as u64;

impl Rack {
    /// Nothing delivered yet.
    pub fn new() -> Self {
        Rack {
            reo_wnd_mult: 1,
            ..Rack::default()
        }
    }

    /// The RTT of the latest delivery (RACK.rtt).
    pub fn rtt(&self) -> Duration {
        Duration::from_nanos(self.rtt_ns)
    }

    /// The minimum RTT, once sampled.
    pub fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt.map(|(d, _)| Duration::from_nanos(d))
    }

    /// An RTT sample from a segment never retransmitted (RFC 8985 6.2 step 1).
    pub fn sample_min_rtt(&mut self, rtt: Duration, now: Instant) {
        self.sample_min_ns(u64::try_from(rtt.as_nanos()).unwrap_or(u64::MAX), now);
    }

    /// [`Rack::sample_min_rtt`] in nanoseconds: keeps `rtt` if it is the lowest
    /// seen or the minimum on record has aged out of its window.
    fn sample_min_ns(&mut self, rtt: u64, now: Instant) {
        let replace = match self.min_rtt {
            None => true,
            Some((m, at)) => {
                rtt <= m || now.as_nanos().saturating_sub(at.as_nanos()) > MIN_RTT_WINDOW_NS
            }
        };
        if replace {
            self.min_rtt = Some((rtt, now));
        }
    }

    /// `seg` was delivered at `now` (RFC 8985 6.2 steps 1-3: RTT, the most recent
    /// delivery, reordering). Returns false if `seg` was retransmitted and is
    /// acknowledged sooner than the minimum RTT after that: the acknowledgment was
    /// for the original, which was late, not lost. RFC 8985 ignores such a sample;
    /// here it also counts as reordering seen, as a D-SACK would (without
    /// timestamps or the peer's D-SACKs, nothing else shows that a late segment was
    /// resent needlessly, and the reordering window would never open).
    pub fn delivered(&mut self, seg: &SegRec, now: Instant) -> bool {
        let rtt = now.as_nanos().saturating_sub(seg.xmit.as_nanos());
        if seg.retransmitted() {
            if self.min_rtt.is_some_and(|(m, _)| rtt < m) {
                self.reordering_seen = true;
                return false;
            }
        } else {
            self.sample_min_ns(rtt, now);
        }
        self.rtt_ns = rtt;
        let newer = self
            .last
            .is_none_or(|(t, e)| sent_after(seg.xmit, seg.end, t, e));
        if newer {
            self.last = Some((seg.xmit, seg.end));
        }
        match self.fack {
            Some(f) if seg.end.lt(f) => {
                if !seg.retransmitted() {
                    self.reordering_seen = true;
                }
            }
            _ => self.fack = Some(seg.end),
        }
        true
    }

    /// An ACK carried a D-SACK (a segment arrived twice: a retransmission was not
    /// needed): widen the reordering window, once per round trip (RFC 8985 6.2
    /// step 4). `una` and `nxt` are SND.UNA and SND.NXT. It is evidence of
    /// reordering too: when every late segment was deemed lost and resent before it
    /// arrived, no delivery of a segment never retransmitted shows it otherwise, and
    /// a window that stays zero would never be widened.
    pub fn dsack(&mut self, una: Seq, nxt: Seq) {
        self.reordering_seen = true;
        if self.dsack_round.is_some_and(|r| una.ge(r)) {
            self.dsack_round = None;
        }
        if self.dsack_round.is_none() {
            self.dsack_round = Some(nxt);
            self.reo_wnd_mult = self.reo_wnd_mult.saturating_add(1).min(64);
            self.reo_wnd_persist = REO_WND_PERSIST;
        }
    }

    /// A loss recovery episode ended: a widened window decays after
    /// `REO_WND_PERSIST` of them.
    pub fn recovery_ended(&mut self) {
        if self.reo_wnd_persist > 0 {
            self.reo_wnd_persist -= 1;
            if self.reo_wnd_persist == 0 {
                self.reo_wnd_mult = 1;
            }
        }
    }

    /// The reordering window (RFC 8985 6.2 step 4): none while no reordering was
    /// seen and the sender is recovering or DupThresh segments are SACKed; else a
    /// quarter of the minimum RTT per multiple, at most SRTT.
    pub fn reo_wnd(&self, srtt: Option<Duration>, in_recovery: bool, sacked_segs: u32) -> Duration {
        if !self.reordering_seen && (in_recovery || sacked_segs >= DUP_THRESH) {
            return Duration::ZERO;
        }
        let Some(min) = self.min_rtt() else {
            return Duration::ZERO;
        };
        let w = (min / 4).saturating_mul(self.reo_wnd_mult);
        srtt.map_or(w, |s| w.min(s))
    }
}

/// The tail loss probe's episode state (RFC 8985 7: TLP.end_seq, TLP.is_retrans).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tlp {
    /// SND.NXT when the outstanding probe was sent; `None`: no probe outstanding.
    pub end: Option<Seq>,
    /// Whether the probe was a retransmission (not new data).
    pub retrans: bool,
}

/// The probe timeout (RFC 8985 7.2): two smoothed RTTs, plus the worst-case delayed
/// ACK when only one segment is out (its ACK may be delayed); one second before any
/// RTT sample; at least [`MIN_PTO`]. The caller caps it at the RTO's deadline.
pub fn pto(srtt: Option<Duration>, one_segment: bool) -> Duration {
    match srtt {
        Some(s) => {
            let p = s.saturating_mul(2);
            let p = if one_segment {
                p.saturating_add(WC_DEL_ACK)
            } else {
                p
            };
            p.max(MIN_PTO)
        }
        None => Duration::from_secs(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtxq::RtxQueue;

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    fn at(n: u64) -> Instant {
        Instant::from_nanos(n * 1000)
    }

    #[test]
    fn reordering_window_follows_rfc8985() {
        let mut r = Rack::new();
        assert_eq!(r.reo_wnd(None, false, 0), Duration::ZERO, "no RTT yet");
        let mut q = RtxQueue::with_capacity(4);
        for k in 0..4u32 {
            q.push(Seq(k * 100), Seq(k * 100 + 100), at(0), false);
        }
        // Segment 1 delivered 400 µs after it was sent.
        let s1 = *q.get(1).unwrap();
        assert!(r.delivered(&s1, at(400)));
        assert_eq!((r.rtt(), r.min_rtt()), (us(400), Some(us(400))));
        assert_eq!(r.last, Some((at(0), Seq(200))));
        assert_eq!(r.reo_wnd(Some(us(500)), false, 1), us(100));
        assert_eq!(r.reo_wnd(Some(us(500)), true, 1), Duration::ZERO);
        assert_eq!(r.reo_wnd(Some(us(500)), false, 3), Duration::ZERO);
        // Segment 0 delivered after 1: reordering; the window stays open now.
        let s0 = *q.get(0).unwrap();
        assert!(r.delivered(&s0, at(410)));
        assert!(r.reordering_seen);
        assert_eq!(r.last, Some((at(0), Seq(200))), "0 was not sent after 1");
        assert_eq!(r.reo_wnd(Some(us(500)), true, 5), us(100));
        // D-SACKs widen it, once per round, up to SRTT.
        r.dsack(Seq(0), Seq(400));
        r.dsack(Seq(100), Seq(400));
        assert_eq!(r.reo_wnd(Some(us(500)), true, 5), us(200));
        r.dsack(Seq(400), Seq(800));
        assert_eq!(r.reo_wnd(Some(us(250)), true, 5), us(250), "at most SRTT");
        for _ in 0..REO_WND_PERSIST {
            r.recovery_ended();
        }
        assert_eq!(r.reo_wnd(Some(us(500)), true, 5), us(100));
    }

    #[test]
    fn ambiguous_retransmission_samples_are_ignored() {
        let mut r = Rack::new();
        let mut q = RtxQueue::with_capacity(2);
        q.push(Seq(0), Seq(100), at(0), false);
        q.push(Seq(100), Seq(200), at(0), false);
        assert!(r.delivered(&q.get(1).copied().unwrap(), at(1000)));
        q.mark_lost(0);
        q.retransmitted(0, at(1500));
        // Acknowledged 100 µs after the retransmission, RTT 1 ms: the original's ACK.
        assert!(!r.reordering_seen);
        assert!(!r.delivered(&q.get(0).copied().unwrap(), at(1600)));
        assert_eq!(r.rtt(), us(1000));
        assert_eq!(r.last, Some((at(0), Seq(200))));
        assert!(r.reordering_seen, "the original was late, not lost");
    }

    #[test]
    fn probe_timeout() {
        assert_eq!(pto(None, false), Duration::from_secs(1));
        assert_eq!(pto(Some(us(100)), false), MIN_PTO);
        assert_eq!(
            pto(Some(Duration::from_millis(10)), false),
            Duration::from_millis(20)
        );
        assert_eq!(
            pto(Some(Duration::from_millis(10)), true),
            Duration::from_millis(220)
        );
    }
}

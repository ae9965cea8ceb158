//! RFC 7323 timestamps (when [`crate::TcpConfig::timestamps`] is on): one
//! connection's TSopt state and the rules that use it.
//!
//! - Clock: TSval is the engine's clock in milliseconds (RFC 7323 5.4: 1 ms to 1 s
//!   per tick; 1 ms as Linux) plus a per-connection offset, a keyed hash of the
//!   4-tuple under the engine's secret (as RFC 6528 does for ISNs), so TSvals reveal
//!   neither uptime nor how other connections' clocks run.
//! - TS.Recent follows 4.3's Last.ACK.sent rule: a segment's TSval is kept when it is
//!   not older and the segment starts at or before the ACK we last sent, so the
//!   TSecr we send is that of the earliest segment our ACK covers (delayed ACKs and
//!   gaps included), which keeps the peer's RTT samples honest.
//! - PAWS (5.3 R1): a non-RST segment whose TSval is older than TS.Recent is dropped
//!   and answered with an ACK, while TS.Recent is valid (5.5: at most 24 days idle).
//! - A negotiated connection receiving a non-RST segment without TSopt: RFC 7323 3.2
//!   says SHOULD drop; like Linux, we accept it (a middlebox that strips options on
//!   some segments must not stall the connection) and count it. It skips PAWS and
//!   leaves TS.Recent alone.
//! - RTT: every ACK that advances SND.UNA and carries a TSecr gives a sample (4.1),
//!   except that when the same ACK also covers the one segment timed by Karn's rule,
//!   that sample (microseconds, not milliseconds) is used instead.
//!
//! Why off by default (measured): `valgrind --tool=callgrind --collect-atstart=no
//! --toggle-collect='rr_cost::measured' target/release/examples/rr_cost --warmup 2000
//! --measure 20000 [--timestamps]` counts 15,192 instructions per 64-byte
//! request/response without and 15,478 with (+1.9%), and with one request
//! outstanding the timestamps gave no RTT sample Karn's rule did not already give;
//! `cargo bench -p ix-tcp --bench tcp` (interleaved, medians of 5) was within noise
//! at 1 connection and 2-2.5% slower at 16 and 256. They also cost 12 bytes a
//! segment (about 10% of a small request's frame). What they buy (samples across
//! retransmissions, PAWS above ~10 Gb/s per flow) does not show on this workload.

use crate::flow_table::FlowKey;
use crate::seq::Seq;
use crate::siphash::SipKey;
use ix_nic::Instant;
use std::net::Ipv4Addr;
use std::time::Duration;

/// How long TS.Recent stays valid without being refreshed (RFC 7323 5.5: 24 days).
pub const TS_RECENT_VALID: Duration = Duration::from_secs(24 * 24 * 3600);

/// Echoes implying an RTT longer than this are not samples (a bogus or
/// wrapped TSecr); RFC 6298's RTO never needs more.
const MAX_TS_RTT_MS: u32 = 600_000;

/// The timestamp clock: milliseconds of `now` (wrapping at 2^32 ms, ~49.7 days).
#[inline]
pub fn clock_ms(now: Instant) -> u32 {
    (now.as_nanos() / 1_000_000) as u32
}

/// Whether TSval `a` is older than `b` in 32-bit modular order (RFC 7323 5.2).
#[inline]
pub fn ts_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// The per-connection offset of TSval under `key`, for `local` and `flow`.
pub fn offset(key: &SipKey, local: Ipv4Addr, flow: FlowKey) -> u32 {
    let mut b = [0u8; 13];
    b[0] = 0x75; // domain separation from the ISN and cookie hashes
    b[1..5].copy_from_slice(&local.octets());
    b[5..].copy_from_slice(&flow.0.to_le_bytes());
    (key.hash(&b) >> 32) as u32
}

/// One connection's timestamp state (all zero and `ok` false when not negotiated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TsState {
    /// Both SYNs carried TSopt: every non-RST segment carries one.
    pub ok: bool,
    /// Added to [`clock_ms`] to make our TSval.
    pub offset: u32,
    /// TS.Recent: the TSval we echo.
    pub recent: u32,
    /// When TS.Recent was last set (for 5.5's validity bound).
    pub recent_at: Instant,
    /// Last.ACK.sent: the acknowledgment field of the last ACK we sent.
    pub last_ack_sent: Seq,
}

impl Default for TsState {
    /// Not negotiated.
    fn default() -> Self {
        TsState {
            ok: false,
            offset: 0,
            recent: 0,
            recent_at: Instant::ZERO,
            last_ack_sent: Seq(0),
        }
    }
}

impl TsState {
    /// Our TSval at `now`.
    #[inline]
    pub fn tsval(&self, now: Instant) -> u32 {
        clock_ms(now).wrapping_add(self.offset)
    }

    /// The `(TSval, TSecr)` pair for a segment we send at `now`.
    #[inline]
    pub fn option(&self, now: Instant) -> (u32, u32) {
        (self.tsval(now), self.recent)
    }

    /// Negotiation (RFC 7323 3.2): `offered` is whether our side offers (or offered)
    /// TSopt, `peer` the TSopt of the peer's SYN. Sets TS.Recent from it if agreed.
    pub fn negotiate(&mut self, offered: bool, peer: Option<(u32, u32)>, now: Instant) {
        match (offered, peer) {
            (true, Some((tsval, _))) => {
                self.ok = true;
                self.recent = tsval;
                self.recent_at = now;
            }
            _ => self.ok = false,
        }
    }

    /// PAWS (RFC 7323 5.3 R1): whether a non-RST segment with TSval `tsval` is an old
    /// duplicate to drop at `now` (TS.Recent valid and newer).
    #[inline]
    pub fn paws_reject(&self, tsval: u32, now: Instant) -> bool {
        ts_before(tsval, self.recent) && now.saturating_since(self.recent_at) <= TS_RECENT_VALID
    }

    /// RFC 7323 4.3 (and 5.3 R3): keeps `tsval` as TS.Recent if the acceptable segment
    /// starting at `seq` carries a TSval not older than TS.Recent and starts at or
    /// before Last.ACK.sent.
    #[inline]
    pub fn update_recent(&mut self, tsval: u32, seq: Seq, now: Instant) {
        if !ts_before(tsval, self.recent) && seq.le(self.last_ack_sent) {
            self.recent = tsval;
            self.recent_at = now;
        }
    }

    /// The RTT a TSecr echo `tsecr` received at `now` measures (RFC 7323 4.1), if
    /// it is plausible: the echo of one of our own TSvals, not from the future.
    #[inline]
    pub fn rtt_sample(&self, tsecr: u32, now: Instant) -> Option<Duration> {
        let ms = self.tsval(now).wrapping_sub(tsecr);
        (ms <= MAX_TS_RTT_MS).then(|| Duration::from_millis(u64::from(ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddrV4;

    #[test]
    fn modular_order_and_paws() {
        assert!(ts_before(1, 2));
        assert!(ts_before(u32::MAX, 0), "wraps");
        assert!(!ts_before(5, 5));
        let t0 = Instant::from_millis(1000);
        let mut s = TsState::default();
        s.negotiate(true, Some((100, 0)), t0);
        assert!(s.ok);
        assert!(s.paws_reject(99, t0));
        assert!(!s.paws_reject(100, t0));
        assert!(!s.paws_reject(101, t0));
        // 5.5: after 24 idle days TS.Recent no longer rejects anything.
        let late = t0 + TS_RECENT_VALID + Duration::from_secs(1);
        assert!(!s.paws_reject(99, late));
        s.negotiate(false, Some((100, 0)), t0);
        assert!(!s.ok, "not offered: not negotiated");
        s.negotiate(true, None, t0);
        assert!(!s.ok, "not answered: not negotiated");
    }

    #[test]
    fn recent_follows_last_ack_sent() {
        let t0 = Instant::from_millis(1000);
        let mut s = TsState::default();
        s.negotiate(true, Some((100, 0)), t0);
        s.last_ack_sent = Seq(5000);
        s.update_recent(120, Seq(6000), t0);
        assert_eq!(s.recent, 100, "beyond Last.ACK.sent: not kept");
        s.update_recent(90, Seq(5000), t0);
        assert_eq!(s.recent, 100, "older: not kept");
        s.update_recent(110, Seq(5000), t0);
        assert_eq!(s.recent, 110);
        s.update_recent(111, Seq(4000), t0);
        assert_eq!(s.recent, 111, "a segment starting before it counts too");
    }

    #[test]
    fn clock_offset_and_rtt() {
        let key = SipKey::new([1; 16]);
        let local = Ipv4Addr::new(10, 0, 0, 1);
        let f1 = FlowKey::new(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 4000), 80);
        let f2 = FlowKey::new(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 4001), 80);
        assert_ne!(offset(&key, local, f1), offset(&key, local, f2));
        let s = TsState {
            offset: u32::MAX - 10, // wraps within the test
            ..TsState::default()
        };
        let t0 = Instant::from_millis(5);
        let sent = s.tsval(t0);
        assert_eq!(sent, u32::MAX - 5);
        let t1 = t0 + Duration::from_millis(42);
        assert_eq!(s.rtt_sample(sent, t1), Some(Duration::from_millis(42)));
        assert_eq!(s.rtt_sample(sent.wrapping_add(1000), t1), None, "future");
    }
}

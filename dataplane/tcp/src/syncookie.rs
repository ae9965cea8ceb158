//! SYN cookies: answering a SYN without keeping state when the SYN queue is full.
//!
//! Our ISN is the cookie: 24 bits of keyed MAC over (local address, flow, the peer's
//! ISN, a 64-second counter), 5 bits of that counter and 3 bits indexing the MSS
//! table. The handshake's ACK acknowledges cookie + 1 and carries the peer's ISN + 1,
//! so everything needed to rebuild the connection comes back in it.
//!
//! Cookie SYN-ACKs carry only the MSS: no window scaling, no SACK and no timestamps,
//! even when [`crate::TcpConfig::timestamps`] is on and the peer offered them. Linux
//! hides the window scale and SACK in the low bits of its TSval (so it can keep them
//! for a peer that echoes timestamps); that would tie the TSval clock to the cookie
//! and make cookie connections the only ones whose TSval does not follow the
//! per-connection clock, for a case (a SYN flood) where the connection's speed
//! matters least. So such connections run with the MSS alone (as Linux's do for a
//! peer without timestamps), and the ACK completing them, which then carries no
//! TSopt, is all they need.

use crate::flow_table::FlowKey;
use crate::seq::Seq;
use crate::siphash::SipKey;
use ix_nic::Instant;
use std::net::Ipv4Addr;

/// The MSS values a cookie can encode; a peer's MSS is rounded down to one of them.
pub const MSS_TABLE: [u16; 8] = [536, 1200, 1360, 1400, 1440, 1460, 4312, 8960];

/// Seconds per counter step: a cookie is valid for one to two steps.
const PERIOD_SECS: u64 = 64;

/// Makes and checks SYN cookies for one engine.
#[derive(Debug, Clone)]
pub struct SynCookies {
    key: SipKey,
}

impl SynCookies {
    /// Cookies under `key` (distinct from the ISN key's use by domain separation).
    pub fn new(key: SipKey) -> Self {
        SynCookies { key }
    }

    /// The keyed MAC a cookie carries, over the 4-tuple, the peer's ISN, the
    /// time counter and the MSS index (24 bits).
    fn mac(&self, local: Ipv4Addr, flow: FlowKey, peer_isn: Seq, count: u64, idx: u32) -> u32 {
        let mut b = [0u8; 26];
        b[0] = 0xc0; // domain separation from the ISN hash
        b[1..5].copy_from_slice(&local.octets());
        b[5..13].copy_from_slice(&flow.0.to_le_bytes());
        b[13..17].copy_from_slice(&peer_isn.0.to_le_bytes());
        b[17..25].copy_from_slice(&count.to_le_bytes());
        // The MSS index is authenticated too: a forged index is a forged cookie.
        b[25] = idx as u8;
        (self.key.hash(&b) >> 40) as u32
    }

    /// The cookie (our ISN) for a SYN with sequence `peer_isn` offering `peer_mss`.
    pub fn make(
        &self,
        local: Ipv4Addr,
        flow: FlowKey,
        peer_isn: Seq,
        peer_mss: u16,
        now: Instant,
    ) -> Seq {
        let idx = MSS_TABLE.iter().rposition(|&m| m <= peer_mss).unwrap_or(0) as u32;
        let count = now.as_nanos() / 1_000_000_000 / PERIOD_SECS;
        let mac = self.mac(local, flow, peer_isn, count, idx);
        Seq((mac << 8) | (((count & 0x1f) as u32) << 3) | idx)
    }

    /// Checks the ACK completing a cookie handshake (`ack` = cookie + 1, `seq` = the
    /// peer's ISN + 1); returns the MSS encoded if the cookie is ours and fresh.
    pub fn check(
        &self,
        local: Ipv4Addr,
        flow: FlowKey,
        seq: Seq,
        ack: Seq,
        now: Instant,
    ) -> Option<u16> {
        let cookie = ack.sub(1).0;
        let peer_isn = seq.sub(1);
        let low = u64::from((cookie >> 3) & 0x1f);
        let now_count = now.as_nanos() / 1_000_000_000 / PERIOD_SECS;
        for count in [now_count, now_count.wrapping_sub(1)] {
            if count & 0x1f == low
                && self.mac(local, flow, peer_isn, count, cookie & 7) == cookie >> 8
            {
                return MSS_TABLE.get((cookie & 7) as usize).copied();
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddrV4;
    use std::time::Duration;

    #[test]
    fn cookies_verify_only_for_their_flow_and_while_fresh() {
        let c = SynCookies::new(SipKey::new([3; 16]));
        let local = Ipv4Addr::new(10, 0, 0, 1);
        let flow = FlowKey::new(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 4000), 80);
        let t0 = Instant::from_millis(1_000_000);
        let isn = Seq(u32::MAX);
        let cookie = c.make(local, flow, isn, 1460, t0);
        let (seq, ack) = (isn.add(1), cookie.add(1));
        assert_eq!(c.check(local, flow, seq, ack, t0), Some(1460));
        assert_eq!(
            c.check(local, flow, seq, ack, t0 + Duration::from_secs(64)),
            Some(1460)
        );
        assert_eq!(
            c.check(local, flow, seq, ack, t0 + Duration::from_secs(200)),
            None,
            "stale"
        );
        let other = FlowKey::new(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 4001), 80);
        assert_eq!(c.check(local, other, seq, ack, t0), None, "other flow");
        assert_eq!(
            c.check(local, flow, seq.add(1), ack, t0),
            None,
            "other peer ISN"
        );
        assert_eq!(c.check(local, flow, seq, ack.add(1), t0), None, "tampered");
        // MSS rounds down to the table.
        let ck = c.make(local, flow, isn, 1000, t0);
        assert_eq!(c.check(local, flow, seq, ck.add(1), t0), Some(536));
        let ck = c.make(local, flow, isn, 9000, t0);
        assert_eq!(c.check(local, flow, seq, ck.add(1), t0), Some(8960));
    }
}

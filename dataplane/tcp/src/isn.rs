//! Initial sequence numbers per RFC 6528: a 4 µs clock plus a keyed hash of the
//! connection's identity, so ISNs are unpredictable to an off-path attacker yet grow
//! with time for any one 4-tuple (protecting a reused 4-tuple from old segments).

use crate::flow_table::FlowKey;
use crate::seq::Seq;
use crate::siphash::SipKey;
use ix_nic::Instant;
use std::net::Ipv4Addr;

/// Generates ISNs for one engine (one local address).
#[derive(Debug, Clone)]
pub struct IsnGenerator {
    key: SipKey,
    fixed: Option<u32>,
}

impl IsnGenerator {
    /// A generator keyed by `key`; `fixed` (tests only) makes every ISN that value.
    pub fn new(key: SipKey, fixed: Option<u32>) -> Self {
        IsnGenerator { key, fixed }
    }

    /// The ISN for a connection from `local` to `flow` at time `now`.
    pub fn isn(&self, local: Ipv4Addr, flow: FlowKey, now: Instant) -> Seq {
        if let Some(f) = self.fixed {
            return Seq(f);
        }
        let mut b = [0u8; 12];
        b[..4].copy_from_slice(&local.octets());
        b[4..].copy_from_slice(&flow.0.to_le_bytes());
        let f = self.key.hash(&b) as u32;
        // M: a timer ticking every 4 microseconds (RFC 6528 section 3).
        let m = (now.as_nanos() / 4_000) as u32;
        Seq(m.wrapping_add(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddrV4;

    #[test]
    fn distinct_per_tuple_and_growing_with_time() {
        let g = IsnGenerator::new(SipKey::new([7; 16]), None);
        let local = Ipv4Addr::new(10, 0, 0, 1);
        let peer = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 5000);
        let t = Instant::from_millis(1000);
        let mut seen = std::collections::HashSet::new();
        for port in 1000..2000u16 {
            seen.insert(g.isn(local, FlowKey::new(peer, port), t).0);
        }
        assert!(seen.len() >= 999, "ISNs collide: {}", seen.len());
        let k = FlowKey::new(peer, 80);
        let a = g.isn(local, k, t);
        let b = g.isn(local, k, t + std::time::Duration::from_millis(4));
        assert_eq!(b.since(a), 1000, "4 ms later is 1000 ticks of 4 µs later");
        let other = IsnGenerator::new(SipKey::new([8; 16]), None);
        assert_ne!(other.isn(local, k, t), a, "the key matters");
        let fixed = IsnGenerator::new(SipKey::new([7; 16]), Some(u32::MAX - 5));
        assert_eq!(fixed.isn(local, k, t), Seq(u32::MAX - 5));
    }
}

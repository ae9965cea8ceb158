//! A stand-in for the TCP engine: takes what `ix-net` hands the transport, checks it
//! is what the `Transport` contract promises, and holds it, as a real transport holds
//! segments until the application is done with them.

use crate::addrs::OUR_IP;
use ix_net::{Ipv4Info, Transport, TxContext};
use ix_nic::heap::{HeapPool, HeapRx};
use ix_nic::RxSeg;

/// Protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// Protocol number of ICMP (offered to the transport, except echo requests, if it
/// accepts it).
pub const PROTO_ICMP: u8 = 1;

/// Segments held at most; past this the oldest is released (a bounded application).
pub const MAX_HELD: usize = 32;

/// Holds the TCP segments it is given until [`Upper::release`].
#[derive(Debug, Default)]
pub struct Upper {
    held: Vec<RxSeg<HeapRx>>,
    accept_icmp: bool,
    /// Segments received so far.
    pub received: u64,
}

impl Upper {
    /// A transport for TCP, and for ICMP too if `accept_icmp`.
    pub fn new(accept_icmp: bool) -> Self {
        Upper {
            accept_icmp,
            ..Upper::default()
        }
    }

    /// Segments held now (each holds one pool buffer).
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Releases every held segment.
    pub fn release(&mut self) {
        self.held.clear();
    }
}

impl Transport<HeapPool> for Upper {
    fn accepts(&self, protocol: u8) -> bool {
        protocol == PROTO_TCP || (self.accept_icmp && protocol == PROTO_ICMP)
    }

    /// Checks what it is given is the transport's (an accepted protocol, unicast to
    /// us, the whole L4 part) and holds it.
    fn receive(&mut self, _ctx: &mut TxContext<'_, HeapPool>, ip: &Ipv4Info, seg: RxSeg<HeapRx>) {
        assert!(
            self.accepts(ip.protocol),
            "transport given protocol {}",
            ip.protocol
        );
        assert!(
            !ip.broadcast && ip.dst == OUR_IP,
            "transport given a packet to {}",
            ip.dst
        );
        assert_eq!(seg.len(), ip.l4_len, "segment is not the whole L4 part");
        // Exercise the checksum helper a TCP engine would call; either answer is fine.
        let _ = ip.l4_checksum_ok(&seg);
        self.received += 1;
        if self.held.len() == MAX_HELD {
            self.held.remove(0);
        }
        self.held.push(seg);
    }

    fn poll(&mut self, _ctx: &mut TxContext<'_, HeapPool>) {}
}

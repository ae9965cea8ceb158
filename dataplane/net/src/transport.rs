//! The upper-layer hook: how the TCP engine (or any IP protocol above us) plugs in.
//!
//! [`crate::Interface::poll`] is generic over a [`Transport`], so the call is static
//! and inlined: no trait object, no registration table. Per poll, the transport gets
//! each received packet of a protocol it [`accepts`](Transport::accepts), then one
//! [`poll`](Transport::poll) call for timers and queued sends. Both get a
//! [`TxContext`] to transmit through.
//!
//! A transport that answers every TCP segment with a fixed payload, attached by
//! reference (the shape of the TCP engine's transmit path):
//!
//! ```
//! use ix_fakenic::FakeNic;
//! use ix_net::ipv4::{Ipv4Info, PROTO_TCP};
//! use ix_net::{Config, Interface, Transport, TxContext};
//! use ix_nic::heap::{HeapPool, HeapRx, HeapShared};
//! use ix_nic::{RxSeg, SharedBuf, VirtualClock};
//! use std::net::Ipv4Addr;
//!
//! struct Answer(HeapShared);
//!
//! impl Transport<HeapPool> for Answer {
//!     // accepts() defaults to TCP (protocol 6).
//!     fn receive(&mut self, ctx: &mut TxContext<'_, HeapPool>, ip: &Ipv4Info, seg: RxSeg<HeapRx>) {
//!         if !ip.l4_checksum_ok(&seg) {
//!             return; // the transport counts its own drops
//!         }
//!         // Headers reserved; 20 bytes of L4 header to write; payload by reference.
//!         let Ok(mut pkt) = ctx.packet(ip.src, PROTO_TCP, 20) else { return };
//!         let h = pkt.l4_mut();
//!         h.fill(0);
//!         h[0..2].copy_from_slice(&seg[2..4]); // our port: their destination port
//!         h[2..4].copy_from_slice(&seg[0..2]);
//!         h[12] = 5 << 4;
//!         if pkt.attach(&self.0, 0..self.0.len()).is_err() {
//!             return;
//!         }
//!         pkt.fill_l4_checksum(16);
//!         let _ = ctx.send(pkt); // resolves ARP; counted if dropped
//!     }
//!
//!     fn poll(&mut self, _ctx: &mut TxContext<'_, HeapPool>) {}
//! }
//!
//! let pool = HeapPool::new(64, 2048);
//! let nic = FakeNic::new([2, 0, 0, 0, 0, 1], pool.clone());
//! let cfg = Config::new(Ipv4Addr::new(10, 0, 0, 1), 24);
//! let mut iface = Interface::new(nic, VirtualClock::new(), cfg).unwrap();
//! iface.arp_insert_static(Ipv4Addr::new(10, 0, 0, 2), [2, 0, 0, 0, 0, 2]);
//! let mut tcp = Answer(pool.shared_from(b"hello").unwrap());
//! // ... iface.nic_mut().inject(frame) ...
//! let report = iface.poll(&mut tcp);
//! assert_eq!(report.tx, 1); // the start-up gratuitous ARP
//! ```

use crate::context::TxContext;
use crate::ipv4::{Ipv4Info, PROTO_TCP};
use ix_nic::{BufPool, RxSeg};

/// An IP protocol layered on the interface: the TCP engine implements this.
pub trait Transport<P: BufPool> {
    /// Whether packets of IP `protocol` are this transport's (asked per packet: keep
    /// it a comparison). UDP is handled by the interface and never offered. For ICMP
    /// (1), the interface answers echo requests itself and offers every other message
    /// (echo replies, destination unreachable, ...) here if accepted.
    fn accepts(&self, protocol: u8) -> bool {
        protocol == PROTO_TCP
    }

    /// A packet for us of an accepted protocol, unicast to our address (broadcasts
    /// are dropped before, as TCP must ignore them), header-validated but with its L4
    /// checksum not verified (see [`Ipv4Info::l4_checksum_ok`]). `seg` is the L4
    /// header and payload, zero copy; keep it, hand it on or drop it. Replies go out
    /// through `ctx`.
    fn receive(&mut self, ctx: &mut TxContext<'_, P>, ip: &Ipv4Info, seg: RxSeg<P::Rx>);

    /// Called once per [`crate::Interface::poll`], after the received burst: run
    /// timers due at [`TxContext::now`] and send what is queued.
    fn poll(&mut self, ctx: &mut TxContext<'_, P>);
}

/// No upper layer: every protocol but ICMP and UDP is counted as unknown.
impl<P: BufPool> Transport<P> for () {
    fn accepts(&self, _protocol: u8) -> bool {
        false
    }

    fn receive(&mut self, _ctx: &mut TxContext<'_, P>, _ip: &Ipv4Info, _seg: RxSeg<P::Rx>) {}

    fn poll(&mut self, _ctx: &mut TxContext<'_, P>) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{DropReason, Event};
    use crate::testutil::*;
    use crate::Sent;
    use ix_nic::heap::{HeapPool, HeapShared};
    use ix_nic::SharedBuf;
    use smoltcp::wire::{IpAddress, Ipv4Packet, TcpPacket};
    use std::net::Ipv4Addr;

    /// A stand-in for the TCP engine: records what it receives; on poll, sends one
    /// segment per received one, header in the linear part and payload attached.
    struct MockTcp {
        got: Vec<(Ipv4Info, Vec<u8>, bool)>,
        payload: HeapShared,
        sent: Vec<Result<Sent, crate::SendError>>,
        owed: Vec<Ipv4Addr>,
    }

    impl Transport<HeapPool> for MockTcp {
        fn receive(
            &mut self,
            _ctx: &mut TxContext<'_, HeapPool>,
            ip: &Ipv4Info,
            seg: RxSeg<ix_nic::heap::HeapRx>,
        ) {
            let ok = ip.l4_checksum_ok(&seg);
            self.got.push((*ip, seg.to_vec(), ok));
            self.owed.push(ip.src);
        }

        fn poll(&mut self, ctx: &mut TxContext<'_, HeapPool>) {
            for dst in self.owed.drain(..) {
                let mut pkt = ctx.packet(dst, PROTO_TCP, 20).unwrap();
                let h = pkt.l4_mut();
                h.fill(0);
                h[0..2].copy_from_slice(&80u16.to_be_bytes());
                h[2..4].copy_from_slice(&5555u16.to_be_bytes());
                h[12] = 5 << 4; // data offset: 5 words
                h[13] = 0x18; // PSH|ACK
                pkt.attach(&self.payload, 0..self.payload.len()).unwrap();
                pkt.fill_l4_checksum(16);
                self.sent.push(ctx.send(pkt));
            }
        }
    }

    fn tcp_segment(payload: &[u8]) -> Vec<u8> {
        let mut seg = vec![0u8; 20];
        seg[0..2].copy_from_slice(&5555u16.to_be_bytes());
        seg[2..4].copy_from_slice(&80u16.to_be_bytes());
        seg[12] = 5 << 4;
        seg.extend_from_slice(payload);
        let mut t = TcpPacket::new_unchecked(&mut seg[..]);
        t.fill_checksum(&IpAddress::Ipv4(PEER), &IpAddress::Ipv4(US));
        seg
    }

    #[test]
    fn tcp_reaches_the_transport_and_its_replies_go_out_zero_copy() {
        let (mut i, _clock, pool) = iface();
        i.arp_insert_static(PEER, PEER_MAC);
        let mut tcp = MockTcp {
            got: Vec::new(),
            payload: pool.shared_from(b"HTTP/1.1 200 OK\r\n\r\n").unwrap(),
            sent: Vec::new(),
            owed: Vec::new(),
        };
        let seg = tcp_segment(b"GET / HTTP/1.1\r\n\r\n");
        let mut frame = ipv4_frame(PEER, US, PROTO_TCP, &seg);
        frame.resize(frame.len() + 5, 0); // link padding is not part of the segment
        i.nic_mut().inject(&frame);
        ix_nic::copy::reset();
        i.poll(&mut tcp);
        assert_eq!(ix_nic::copy::copied_bytes(), 0);
        assert_eq!(tcp.got.len(), 1);
        let (info, bytes, checksum_ok) = &tcp.got[0];
        assert_eq!((info.src, info.dst, info.protocol), (PEER, US, PROTO_TCP));
        assert_eq!(bytes, &seg, "the whole L4 segment, exactly");
        assert!(checksum_ok);
        assert_eq!(tcp.sent, vec![Ok(Sent::Queued)]);
        assert_eq!(i.stats().get(Event::TransportDelivered), 1);
        let out = i.nic_mut().take_sent();
        assert_eq!(out.len(), 1);
        let ip = Ipv4Packet::new_checked(&out[0][14..]).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!(
            (ip.src_addr(), ip.dst_addr(), ip.hop_limit()),
            (US, PEER, 64)
        );
        let t = TcpPacket::new_checked(ip.payload()).unwrap();
        assert!(t.verify_checksum(&IpAddress::Ipv4(US), &IpAddress::Ipv4(PEER)));
        assert_eq!(t.payload(), b"HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!(
            tcp.payload.ref_count(),
            1,
            "frame released after transmission"
        );
        drop(tcp);
        assert_eq!(pool.stats().in_use(), 0);
    }

    #[test]
    fn broadcasts_and_unaccepted_protocols_never_reach_it() {
        let (mut i, _clock, pool) = iface();
        let mut tcp = MockTcp {
            got: Vec::new(),
            payload: pool.shared_from(b"").unwrap(),
            sent: Vec::new(),
            owed: Vec::new(),
        };
        let b = Ipv4Addr::new(10, 0, 0, 255);
        i.nic_mut()
            .inject(&ipv4_frame(PEER, b, PROTO_TCP, &tcp_segment(b"")));
        i.nic_mut().inject(&ipv4_frame(PEER, US, 132, b"sctp"));
        i.poll(&mut tcp);
        assert!(tcp.got.is_empty());
        assert_eq!(i.stats().dropped(DropReason::TransportBroadcast), 1);
        assert_eq!(i.stats().dropped(DropReason::Ipv4UnknownProtocol), 1);
        // Without a transport, TCP itself is an unknown protocol.
        i.nic_mut()
            .inject(&ipv4_frame(PEER, US, PROTO_TCP, &tcp_segment(b"")));
        i.poll(&mut ());
        assert_eq!(i.stats().dropped(DropReason::Ipv4UnknownProtocol), 2);
    }
}

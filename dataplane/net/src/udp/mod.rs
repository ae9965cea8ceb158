//! UDP (RFC 768): received datagrams checked and queued to their bound port as
//! zero-copy segments; datagrams sent with payload attached by reference.
//!
//! A zero checksum on receive means "none" and is accepted; on send the checksum is
//! always computed (over the attached payload too: reading it, not copying it).
//! Destination port 0 is refused both ways: dropped as malformed on receive, and
//! [`SendError::PortZero`] on send.

pub mod table;

pub use table::{Datagram, UdpError, UdpTable};

use crate::checksum::Accumulator;
use crate::context::{SendError, Sent, TxContext};
use crate::icmp;
use crate::ipv4::{Ipv4Info, PROTO_UDP};
use crate::stats::{DropReason, Event};
use core::ops::Range;
use ix_nic::{BufPool, RxBuf, RxSeg};
use std::net::SocketAddrV4;

/// Bytes of a UDP header.
pub const HEADER_LEN: usize = 8;

/// The header fields of a received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct UdpHeader {
    src_port: u16,
    dst_port: u16,
    /// Header plus payload, from the length field.
    len: usize,
}

/// Checks the datagram in `l4` (the IP payload of the packet `ip` describes).
fn check(l4: &[u8], ip: &Ipv4Info) -> Result<UdpHeader, DropReason> {
    let Some(&[s0, s1, d0, d1, l0, l1, c0, c1]) = l4.first_chunk::<HEADER_LEN>() else {
        return Err(DropReason::UdpMalformed);
    };
    let (src_port, dst_port) = (u16::from_be_bytes([s0, s1]), u16::from_be_bytes([d0, d1]));
    let (len16, sum) = (u16::from_be_bytes([l0, l1]), u16::from_be_bytes([c0, c1]));
    let len = usize::from(len16);
    // Bytes past the UDP length (IP payload longer than the datagram) are ignored.
    let Some(datagram) = l4.get(..len).filter(|_| len >= HEADER_LEN) else {
        return Err(DropReason::UdpMalformed);
    };
    if dst_port == 0 {
        return Err(DropReason::UdpMalformed);
    }
    if sum != 0 {
        let mut acc = Accumulator::new();
        acc.add_sum(crate::checksum::pseudo_header(
            ip.src, ip.dst, PROTO_UDP, len16,
        ));
        acc.add(datagram);
        if acc.sum() != 0xffff {
            return Err(DropReason::UdpBadChecksum);
        }
    }
    Ok(UdpHeader {
        src_port,
        dst_port,
        len,
    })
}

/// Handles a received UDP datagram: queues it to its bound port or drops it, counted.
pub(crate) fn receive<P: BufPool>(
    ctx: &mut TxContext<'_, P>,
    table: &mut UdpTable<P::Rx>,
    rx: P::Rx,
    ip: &Ipv4Info,
) {
    let frame = rx.data();
    let l4 = frame.get(ip.l4_range()).unwrap_or_default();
    let h = match check(l4, ip) {
        Ok(h) => h,
        Err(reason) => {
            ctx.st().stats.drop(reason);
            return;
        }
    };
    let Some(slot) = table.find(h.dst_port) else {
        ctx.st().stats.drop(DropReason::UdpNoPort);
        icmp::port_unreachable(ctx, frame, ip);
        return;
    };
    if table.is_full(slot) {
        ctx.st().stats.drop(DropReason::UdpQueueFull);
        return;
    }
    let start = ip.l4_offset + HEADER_LEN;
    let payload = start..ip.l4_offset + h.len;
    let Some(payload) = RxSeg::new(rx, payload) else {
        // Unreachable: check() bounded the length by the frame.
        ctx.st().stats.drop(DropReason::UdpMalformed);
        return;
    };
    let d = Datagram {
        src: SocketAddrV4::new(ip.src, h.src_port),
        dst: SocketAddrV4::new(ip.dst, h.dst_port),
        payload,
    };
    if table.deliver(slot, d).is_ok() {
        ctx.st().stats.count(Event::UdpDelivered);
    } else {
        ctx.st().stats.drop(DropReason::UdpQueueFull);
    }
}

/// A datagram's payload: by reference, or copied.
#[derive(Debug)]
pub(crate) enum Payload<'a, S> {
    /// `shared[range]`, attached without a copy.
    Shared(&'a S, Range<usize>),
    /// Bytes copied into the frame (counted).
    Copied(&'a [u8]),
}

/// Sends one datagram from our `src_port` to `dst`.
pub(crate) fn send<P: BufPool>(
    ctx: &mut TxContext<'_, P>,
    src_port: u16,
    dst: SocketAddrV4,
    payload: Payload<'_, P::Shared>,
) -> Result<Sent, SendError> {
    let payload_len = match &payload {
        Payload::Shared(_, r) => r.end.saturating_sub(r.start),
        Payload::Copied(b) => b.len(),
    };
    let total = HEADER_LEN + payload_len;
    let Ok(len16) = u16::try_from(total) else {
        return Err(ctx.fail(SendError::TooBig));
    };
    if total + crate::ipv4::HEADER_LEN > ctx.mtu() {
        return Err(ctx.fail(SendError::TooBig));
    }
    // Port 0 names no socket: nobody can receive it (our own receive path drops it).
    if dst.port() == 0 {
        return Err(ctx.fail(SendError::PortZero));
    }
    let mut pkt = ctx.packet(*dst.ip(), PROTO_UDP, HEADER_LEN)?;
    let added = match payload {
        Payload::Shared(s, r) => pkt.attach(s, r),
        Payload::Copied(b) => pkt.append_copy(b),
    };
    if let Err(e) = added {
        return Err(ctx.fail(e));
    }
    if let Some(h) = pkt.l4_mut().first_chunk_mut::<HEADER_LEN>() {
        let ([s0, s1], [d0, d1], [l0, l1]) = (
            src_port.to_be_bytes(),
            dst.port().to_be_bytes(),
            len16.to_be_bytes(),
        );
        // Checksum zero while it is computed.
        *h = [s0, s1, d0, d1, l0, l1, 0, 0];
    }
    pkt.fill_l4_checksum(6);
    let sent = ctx.send(pkt)?;
    ctx.st().stats.count(Event::UdpSent);
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::DropReason as D;
    use crate::testutil::*;
    use crate::Config;
    use ix_nic::{BufPool, SharedBuf};
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{
        Icmpv4DstUnreachable, Icmpv4Packet, IpAddress, Ipv4Packet, Ipv4Repr, UdpPacket, UdpRepr,
    };
    use std::net::Ipv4Addr;

    /// Parses a sent UDP frame with every checksum verified by smoltcp.
    fn parse_sent(f: &[u8]) -> (Ipv4Repr, UdpRepr, Vec<u8>) {
        let caps = ChecksumCapabilities::default();
        let ip = Ipv4Packet::new_checked(&f[14..]).unwrap();
        let ipr = Ipv4Repr::parse(&ip, &caps).unwrap();
        let udp = UdpPacket::new_checked(ip.payload()).unwrap();
        assert_ne!(udp.checksum(), 0, "we always checksum");
        let (s, d) = (IpAddress::Ipv4(ipr.src_addr), IpAddress::Ipv4(ipr.dst_addr));
        let r = UdpRepr::parse(&udp, &s, &d, &caps).unwrap();
        (ipr, r, udp.payload().to_vec())
    }

    fn resolved() -> (
        crate::Interface<TestNic, ix_nic::VirtualClock>,
        ix_nic::VirtualClock,
        ix_nic::heap::HeapPool,
    ) {
        let (mut i, c, p) = iface();
        i.arp_insert_static(PEER, PEER_MAC);
        (i, c, p)
    }

    #[test]
    fn received_datagram_is_queued_zero_copy_with_its_addresses() {
        let (mut i, _clock, pool) = iface();
        i.udp_bind(7).unwrap();
        i.nic_mut().inject(&udp_frame(5000, 7, b"hello, ix"));
        ix_nic::copy::reset();
        i.poll(&mut ());
        assert_eq!(ix_nic::copy::copied_bytes(), 0);
        assert_eq!(i.udp_queued(7), 1);
        let d = i.udp_recv(7).unwrap();
        assert_eq!(d.src, SocketAddrV4::new(PEER, 5000));
        assert_eq!(d.dst, SocketAddrV4::new(US, 7));
        assert_eq!(d.payload.data(), b"hello, ix");
        assert_eq!(pool.stats().in_use(), 1, "held by the segment");
        drop(d);
        assert_eq!(pool.stats().in_use(), 0);
        assert_eq!(i.stats().get(Event::UdpDelivered), 1);
    }

    #[test]
    fn checksums_bad_dropped_zero_accepted() {
        let (mut i, _clock, _pool) = iface();
        i.udp_bind(7).unwrap();
        let mut bad = udp(PEER, US, 1, 7, b"payload", false);
        bad[9] ^= 0x40;
        i.nic_mut().inject(&ipv4_frame(PEER, US, PROTO_UDP, &bad));
        i.nic_mut().inject(&ipv4_frame(
            PEER,
            US,
            PROTO_UDP,
            &udp(PEER, US, 1, 7, b"nosum", true),
        ));
        i.poll(&mut ());
        assert_eq!(i.stats().dropped(D::UdpBadChecksum), 1);
        assert_eq!(i.udp_recv(7).unwrap().payload.data(), b"nosum");
        assert!(i.udp_recv(7).is_none());
    }

    #[test]
    fn malformed_lengths_are_counted() {
        let (mut i, _clock, _pool) = iface();
        i.udp_bind(7).unwrap();
        let good = udp(PEER, US, 1, 7, b"abc", true);
        let mut long = good.clone();
        long[4..6].copy_from_slice(&100u16.to_be_bytes());
        let mut short = good.clone();
        short[4..6].copy_from_slice(&7u16.to_be_bytes());
        let mut port0 = good.clone();
        port0[2..4].fill(0);
        for m in [&long[..], &short[..], &port0[..], &good[..5]] {
            i.nic_mut().inject(&ipv4_frame(PEER, US, PROTO_UDP, m));
        }
        // A UDP length shorter than the IP payload: the rest is ignored.
        let mut trailing = udp(PEER, US, 1, 7, b"abc", true);
        trailing.extend_from_slice(b"junk");
        i.nic_mut()
            .inject(&ipv4_frame(PEER, US, PROTO_UDP, &trailing));
        i.poll(&mut ());
        assert_eq!(i.stats().dropped(D::UdpMalformed), 4);
        assert_eq!(i.udp_recv(7).unwrap().payload.data(), b"abc");
    }

    #[test]
    fn per_port_queue_is_bounded() {
        let mut cfg = Config::new(US, 24);
        cfg.udp_queue_depth = 4;
        let (mut i, _clock, pool) = iface_with(cfg);
        i.udp_bind(7).unwrap();
        for n in 0..6u8 {
            i.nic_mut().inject(&udp_frame(1, 7, &[n]));
        }
        i.poll(&mut ());
        assert_eq!(i.udp_queued(7), 4);
        assert_eq!(i.stats().dropped(D::UdpQueueFull), 2);
        assert_eq!(
            pool.stats().in_use(),
            4,
            "only queued datagrams hold buffers"
        );
        let first: Vec<u8> = (0..4).map(|_| i.udp_recv(7).unwrap().payload[0]).collect();
        assert_eq!(first, vec![0, 1, 2, 3]);
        assert_eq!(pool.stats().in_use(), 0);
    }

    #[test]
    fn unbound_port_is_counted_and_answered_with_port_unreachable() {
        let (mut i, _clock, _pool) = resolved();
        let dgram = udp_frame(4444, 9999, b"anyone?");
        i.nic_mut().inject(&dgram);
        i.poll(&mut ());
        assert_eq!(i.stats().dropped(D::UdpNoPort), 1);
        let sent = i.nic_mut().take_sent();
        assert_eq!(sent.len(), 1);
        let caps = ChecksumCapabilities::default();
        let ip = Ipv4Packet::new_checked(&sent[0][14..]).unwrap();
        let ipr = Ipv4Repr::parse(&ip, &caps).unwrap();
        assert_eq!((ipr.src_addr, ipr.dst_addr), (US, PEER));
        // RFC 792's quote is the IP header and 8 bytes; smoltcp's Icmpv4Repr::parse
        // wants the whole quoted datagram, so the fields are checked by hand here.
        let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
        assert!(icmp.verify_checksum());
        assert_eq!(
            icmp.msg_type(),
            smoltcp::wire::Icmpv4Message::DstUnreachable
        );
        assert_eq!(
            Icmpv4DstUnreachable::from(icmp.msg_code()),
            Icmpv4DstUnreachable::PortUnreachable
        );
        assert_eq!(&ip.payload()[4..8], &[0; 4], "unused word");
        assert_eq!(
            &ip.payload()[8..],
            &dgram[14..42],
            "quotes IP header + 8 bytes"
        );
        assert_eq!(ipr.payload_len, 8 + 28);
    }

    #[test]
    fn port_unreachable_is_rate_limited_and_never_for_broadcasts() {
        let mut cfg = Config::new(US, 24);
        cfg.icmp_error_burst = 3;
        let (mut i, _clock, _pool) = iface_with(cfg);
        i.arp_insert_static(PEER, PEER_MAC);
        for _ in 0..5 {
            i.nic_mut().inject(&udp_frame(1, 9999, b"x"));
        }
        let bcast = ipv4_frame(
            PEER,
            Ipv4Addr::BROADCAST,
            PROTO_UDP,
            &udp(PEER, Ipv4Addr::BROADCAST, 1, 9999, b"x", false),
        );
        i.nic_mut().inject(&bcast);
        i.poll(&mut ());
        assert_eq!(i.nic_mut().take_sent().len(), 3);
        assert_eq!(i.stats().dropped(D::IcmpRateLimited), 2);
        assert_eq!(i.stats().dropped(D::UdpNoPort), 6);
        assert_eq!(i.stats().get(Event::IcmpErrorsSent), 3);
    }

    #[test]
    fn broadcast_datagrams_reach_a_bound_port() {
        let (mut i, _clock, _pool) = iface();
        i.udp_bind(67).unwrap();
        let b = Ipv4Addr::BROADCAST;
        let f = ipv4_frame_with(
            Ipv4Addr::UNSPECIFIED,
            b,
            PROTO_UDP,
            &udp(Ipv4Addr::UNSPECIFIED, b, 68, 67, b"discover", false),
            crate::testutil::IpOpts {
                eth_dst: crate::ethernet::BROADCAST,
                ..Default::default()
            },
        );
        i.nic_mut().inject(&f);
        i.poll(&mut ());
        let d = i.udp_recv(67).unwrap();
        assert_eq!(d.dst, SocketAddrV4::new(b, 67));
    }

    #[test]
    fn send_attaches_payload_by_reference() {
        let (mut i, _clock, pool) = resolved();
        let value = pool.shared_from(b"...the value we serve...").unwrap();
        ix_nic::copy::reset();
        let to = SocketAddrV4::new(PEER, 6000);
        assert_eq!(i.udp_send(11211, to, &value, 3..21), Ok(Sent::Queued));
        assert_eq!(value.ref_count(), 2, "the frame refers to the value");
        i.poll(&mut ());
        assert_eq!(ix_nic::copy::copied_bytes(), 0, "zero copy");
        assert_eq!(value.ref_count(), 1, "released once transmitted");
        let sent = i.nic_mut().take_sent();
        let (ip, u, payload) = parse_sent(&sent[0]);
        assert_eq!((ip.src_addr, ip.dst_addr, ip.hop_limit), (US, PEER, 64));
        assert_eq!((u.src_port, u.dst_port), (11211, 6000));
        assert_eq!(payload, b"the value we serve");
        assert_eq!(&sent[0][..12], &[PEER_MAC, US_MAC].concat()[..]);
        drop(value);
        assert_eq!(pool.stats().in_use(), 0);
    }

    #[test]
    fn send_copy_counts_the_copied_payload() {
        let (mut i, _clock, _pool) = resolved();
        ix_nic::copy::reset();
        i.udp_send_copy(1, SocketAddrV4::new(PEER, 2), b"odd!!")
            .unwrap();
        assert_eq!(ix_nic::copy::copied_bytes(), 5);
        i.poll(&mut ());
        let (_, _, payload) = parse_sent(&i.nic_mut().take_sent()[0]);
        assert_eq!(payload, b"odd!!");
    }

    #[test]
    fn oversized_datagrams_are_refused_and_counted() {
        let (mut i, _clock, pool) = resolved();
        let big = vec![0u8; 1500 - 28 + 1];
        let r = i.udp_send_copy(1, SocketAddrV4::new(PEER, 2), &big);
        assert_eq!(r, Err(SendError::TooBig));
        let fits = pool.shared_from(&big[..1472]).unwrap();
        assert_eq!(
            i.udp_send(1, SocketAddrV4::new(PEER, 2), &fits, 0..1472),
            Ok(Sent::Queued)
        );
        assert_eq!(
            i.udp_send(1, SocketAddrV4::new(PEER, 2), &fits, 0..1473),
            Err(SendError::TooBig)
        );
        assert_eq!(
            i.udp_send(1, SocketAddrV4::new(PEER, 2), &fits, 5..1472 + 4),
            Err(SendError::NoBuffers),
            "range beyond the buffer"
        );
        assert_eq!(i.stats().dropped(D::TxTooBig), 2);
        assert_eq!(i.stats().dropped(D::TxNoBuffers), 1);
        i.poll(&mut ());
        assert_eq!(i.nic_mut().take_sent().len(), 1);
        assert!(fits.len() == 1472 && pool.buf_capacity() == 2048);
    }

    #[test]
    fn sends_to_port_zero_are_refused_and_counted() {
        let (mut i, _clock, pool) = resolved();
        let to_zero = SocketAddrV4::new(PEER, 0);
        assert_eq!(i.udp_send_copy(1, to_zero, b"x"), Err(SendError::PortZero));
        let shared = pool.shared_from(b"zero copy").unwrap();
        assert_eq!(
            i.udp_send(1, to_zero, &shared, 0..9),
            Err(SendError::PortZero)
        );
        assert_eq!(i.stats().dropped(D::TxPortZero), 2);
        assert_eq!(SendError::PortZero.reason(), D::TxPortZero);
        // Over the MTU is still TooBig, whatever the port.
        let big = vec![0u8; 1500 - 28 + 1];
        assert_eq!(i.udp_send_copy(1, to_zero, &big), Err(SendError::TooBig));
        // The source port may be 0 (RFC 768: "not used").
        assert_eq!(
            i.udp_send_copy(0, SocketAddrV4::new(PEER, 7), b"x"),
            Ok(Sent::Queued)
        );
        i.poll(&mut ());
        let sent = i.nic_mut().take_sent();
        assert_eq!(sent.len(), 1, "only the datagram to port 7");
        assert_eq!(parse_sent(&sent[0]).1.dst_port, 7);
        drop((sent, shared));
        assert_eq!(pool.stats().in_use(), 0, "refused sends hold nothing");
    }

    #[test]
    fn round_trip_between_two_interfaces() {
        let mut a = iface();
        let mut b = iface_at(Config::new(PEER, 24), PEER_MAC);
        // The test is the wire: carries what one sent to the other.
        fn shuttle(from: &mut Setup, to: &mut Setup) {
            for f in from.0.nic_mut().take_sent() {
                to.0.nic_mut().inject(&f);
            }
        }
        b.0.udp_bind(53).unwrap();
        a.0.udp_bind(4000).unwrap();
        a.0.udp_send_copy(4000, SocketAddrV4::new(PEER, 53), b"query")
            .unwrap();
        for _ in 0..3 {
            a.0.poll(&mut ());
            shuttle(&mut a, &mut b);
            b.0.poll(&mut ());
            shuttle(&mut b, &mut a);
        }
        let q = b.0.udp_recv(53).expect("query arrived after ARP");
        assert_eq!(q.src, SocketAddrV4::new(US, 4000));
        assert_eq!(q.payload.data(), b"query");
        let answer = b.2.shared_from(b"answer").unwrap();
        assert_eq!(
            b.0.udp_send(53, q.src, &answer, 0..6),
            Ok(Sent::Queued),
            "b learned a from its request"
        );
        b.0.poll(&mut ());
        shuttle(&mut b, &mut a);
        a.0.poll(&mut ());
        let r = a.0.udp_recv(4000).expect("answer");
        assert_eq!(
            (r.src, r.payload.data()),
            (SocketAddrV4::new(PEER, 53), &b"answer"[..])
        );
        assert_eq!(a.0.stats().total_drops() + b.0.stats().total_drops(), 0);
    }
}

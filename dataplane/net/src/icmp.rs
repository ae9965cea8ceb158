//! ICMP: echo replies made in place, port-unreachable errors, and their rate limit.
//!
//! An echo request becomes its own reply: the received buffer is turned into a
//! transmit frame, addresses swapped, the type changed and the checksum updated
//! incrementally (RFC 1624), so the payload is neither copied nor read twice.
//! Requests to broadcast addresses are not answered (no smurf amplification), nor
//! are requests whose reply would exceed the MTU: the reply is as big as the request
//! and we never fragment (Linux would send the reply in fragments). Other
//! messages (echo replies, errors) go to the transport if it accepts ICMP (the TCP
//! engine wants destination-unreachable for path MTU and dead peers); otherwise they
//! are counted and dropped.

use crate::checksum;
use crate::config::is_unicast;
use crate::context::TxContext;
use crate::ethernet::{self, ETHERTYPE_IPV4};
use crate::ipv4::{Ipv4Info, PROTO_ICMP};
use crate::stats::{DropReason, Event};
use crate::transport::Transport;
use ix_nic::{BufPool, Instant, RxBuf, RxSeg, TxFrame};
use smoltcp::wire::Ipv4Packet;
use std::net::Ipv4Addr;

/// ICMP type of an echo reply.
pub const ECHO_REPLY: u8 = 0;
/// ICMP type of destination unreachable.
pub const DST_UNREACHABLE: u8 = 3;
/// ICMP type of an echo request.
pub const ECHO_REQUEST: u8 = 8;
/// Destination-unreachable code for "port unreachable".
pub const CODE_PORT_UNREACHABLE: u8 = 3;
/// Bytes of the ICMP header (type, code, checksum, 4 bytes of rest-of-header).
pub const HEADER_LEN: usize = 8;

/// Handles a received ICMP message addressed to us.
pub(crate) fn receive<P: BufPool, T: Transport<P>>(
    ctx: &mut TxContext<'_, P>,
    upper: &mut T,
    rx: P::Rx,
    ip: &Ipv4Info,
) {
    let msg = rx.data().get(ip.l4_range()).unwrap_or_default();
    let &[ty, code, ..] = msg else {
        ctx.st().stats.drop(DropReason::IcmpTruncated);
        return;
    };
    if msg.len() < HEADER_LEN {
        ctx.st().stats.drop(DropReason::IcmpTruncated);
        return;
    }
    if !checksum::is_valid(msg) {
        ctx.st().stats.drop(DropReason::IcmpBadChecksum);
        return;
    }
    match (ty, code) {
        (ECHO_REQUEST, 0) if ip.broadcast => ctx.st().stats.drop(DropReason::IcmpBroadcastEcho),
        // The reply is the request's IP packet, options (as NOPs) included.
        (ECHO_REQUEST, 0) if ip.header_len + ip.l4_len > ctx.mtu() => {
            ctx.st().stats.drop(DropReason::IcmpEchoTooBig);
        }
        (ECHO_REQUEST, 0) => echo_reply(ctx, rx, ip),
        _ if upper.accepts(PROTO_ICMP) && !ip.broadcast => match RxSeg::new(rx, ip.l4_range()) {
            Some(seg) => {
                ctx.st().stats.count(Event::TransportDelivered);
                upper.receive(ctx, ip, seg);
            }
            None => ctx.st().stats.drop(DropReason::IcmpTruncated),
        },
        _ => ctx.st().stats.drop(DropReason::IcmpUnhandled),
    }
}

/// Turns the echo request in `rx` into its reply and queues it.
fn echo_reply<P: BufPool>(ctx: &mut TxContext<'_, P>, rx: P::Rx, ip: &Ipv4Info) {
    let mut frame = ctx.pool().rx_into_frame(rx);
    // Link padding after the IP packet is not part of the reply.
    frame.truncate(ip.l4_offset + ip.l4_len);
    let (mac, addr, ttl) = (ctx.mac(), ctx.local_addr(), ctx.config().ttl);
    if rewrite_as_reply(frame.linear_mut(), ip, mac, addr, ttl).is_none() {
        // Unreachable: the request was validated in this very buffer.
        ctx.st().stats.drop(DropReason::IcmpTruncated);
        return;
    }
    if ctx.queue(frame).is_ok() {
        ctx.st().stats.count(Event::IcmpEchoReplies);
    }
}

/// Rewrites the echo request in `buf` (described by `ip`) into our reply in place.
fn rewrite_as_reply(
    buf: &mut [u8],
    ip: &Ipv4Info,
    mac: [u8; 6],
    addr: Ipv4Addr,
    ttl: u8,
) -> Option<()> {
    // Replies go straight back to the MAC the request came from (the sender, or the
    // router it came through): no ARP lookup, so a ping never waits for resolution.
    // Ingress took the frame only from another single station's MAC, so this is
    // never a group address, zero, or ours.
    ethernet::write_header(buf, ip.src_mac, mac, ETHERTYPE_IPV4);
    let hdr = buf.get_mut(ethernet::HEADER_LEN..ip.l4_offset)?;
    // Options would be reflected toward the sender (a source route in particular must
    // not be): overwrite them with NOPs, which keeps the header length and so leaves
    // the payload where it is.
    hdr.get_mut(crate::ipv4::HEADER_LEN..)?.fill(1);
    let mut p = Ipv4Packet::new_unchecked(hdr);
    p.set_src_addr(addr);
    p.set_dst_addr(ip.src);
    p.set_hop_limit(ttl);
    p.fill_checksum();
    let icmp = buf.get_mut(ip.l4_range())?;
    let (head, _) = icmp.split_first_chunk_mut::<4>()?;
    let [ty, code, c0, c1] = *head;
    // Only the type changes (code, identifier, sequence and data are echoed), so the
    // checksum is updated for that one 16-bit word.
    let [n0, n1] = checksum::update(
        u16::from_be_bytes([c0, c1]),
        u16::from_be_bytes([ty, code]),
        u16::from_be_bytes([ECHO_REPLY, code]),
    )
    .to_be_bytes();
    *head = [ECHO_REPLY, code, n0, n1];
    Some(())
}

/// Answers a UDP datagram to a closed port with ICMP port unreachable (RFC 1122
/// 4.1.3.1), quoting its IP header and first 8 bytes (RFC 792's minimum: the ports,
/// and no payload copied); `frame` is the received frame's bytes. Never for
/// broadcasts or non-unicast senders, and rate limited.
pub(crate) fn port_unreachable<P: BufPool>(
    ctx: &mut TxContext<'_, P>,
    frame: &[u8],
    ip: &Ipv4Info,
) {
    if !ctx.config().icmp_port_unreachable || ip.broadcast || !is_unicast(ip.src) {
        return;
    }
    let now = ctx.now();
    if !ctx.st().icmp_limit.allow(now) {
        ctx.st().stats.drop(DropReason::IcmpRateLimited);
        return;
    }
    let quoted = ip.header_len + ip.l4_len.min(8);
    let start = ethernet::HEADER_LEN;
    let Some(quote) = frame.get(start..start + quoted) else {
        return;
    };
    let Ok(mut pkt) = ctx.packet(ip.src, PROTO_ICMP, HEADER_LEN + quoted) else {
        return;
    };
    let Some((head, rest)) = pkt.l4_mut().split_first_chunk_mut::<HEADER_LEN>() else {
        return;
    };
    *head = [DST_UNREACHABLE, CODE_PORT_UNREACHABLE, 0, 0, 0, 0, 0, 0];
    // Headers, not payload: not counted as a payload copy.
    if let Some(dst) = rest.get_mut(..quoted) {
        dst.copy_from_slice(quote);
    }
    pkt.fill_plain_checksum(2);
    if ctx.send(pkt).is_ok() {
        ctx.st().stats.count(Event::IcmpErrorsSent);
    }
}

/// A token bucket: at most `burst` at once, refilled at `per_sec`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateLimiter {
    per_sec: u32,
    burst: u32,
    tokens: u32,
    last: Instant,
}

impl RateLimiter {
    /// A full bucket; `per_sec == 0` allows nothing.
    pub fn new(per_sec: u32, burst: u32) -> Self {
        RateLimiter {
            per_sec,
            burst,
            tokens: burst,
            last: Instant::ZERO,
        }
    }

    /// Takes a token at `now` if one is left.
    pub fn allow(&mut self, now: Instant) -> bool {
        if self.per_sec == 0 {
            return false;
        }
        let elapsed = now.saturating_since(self.last).as_nanos();
        let earned = elapsed.saturating_mul(u128::from(self.per_sec)) / 1_000_000_000;
        if earned > 0 {
            let earned = u32::try_from(earned).unwrap_or(u32::MAX);
            self.tokens = self.tokens.saturating_add(earned).min(self.burst);
            self.last = now;
        }
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::DropReason as D;
    use crate::testutil::*;
    use crate::Config;
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{Icmpv4Packet, Icmpv4Repr, Ipv4Repr};

    const DATA: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRS"; // 55: odd

    /// Parses a reply with checksums verified by smoltcp.
    fn parse_reply(f: &[u8]) -> (Ipv4Repr, Icmpv4Repr<'_>) {
        let caps = ChecksumCapabilities::default();
        let ip = Ipv4Packet::new_checked(&f[14..]).unwrap();
        let repr = Ipv4Repr::parse(&ip, &caps).unwrap();
        let icmp = Icmpv4Packet::new_checked(&f[14 + usize::from(ip.header_len())..]).unwrap();
        (repr, Icmpv4Repr::parse(&icmp, &caps).unwrap())
    }

    #[test]
    fn echo_reply_is_byte_exact_and_made_in_place() {
        let (mut i, _clock, pool) = iface();
        let req = ipv4_frame(PEER, US, PROTO_ICMP, &icmp_echo(0x4242, 7, DATA));
        i.nic_mut().inject(&req);
        ix_nic::copy::reset();
        let allocs = pool.stats().allocs;
        i.poll(&mut ());
        assert_eq!(ix_nic::copy::copied_bytes(), 0, "payload never copied");
        assert_eq!(
            pool.stats().allocs,
            allocs,
            "the request's buffer became the reply"
        );
        let sent = i.nic_mut().take_sent();
        assert_eq!(sent.len(), 1);
        let rep = &sent[0];
        assert_eq!(rep.len(), req.len());
        assert_eq!((&rep[0..6], &rep[6..12]), (&PEER_MAC[..], &US_MAC[..]));
        let (ip, icmp) = parse_reply(rep);
        assert_eq!((ip.src_addr, ip.dst_addr, ip.hop_limit), (US, PEER, 64));
        assert_eq!(
            icmp,
            Icmpv4Repr::EchoReply {
                ident: 0x4242,
                seq_no: 7,
                data: DATA
            }
        );
        // Byte-exact: only type and checksum differ in the ICMP message.
        assert_eq!(&rep[34 + 4..], &req[34 + 4..]);
        assert_eq!(rep[34], ECHO_REPLY);
        assert_eq!(i.stats().get(Event::IcmpEchoReplies), 1);
        drop(sent);
        assert_eq!(pool.stats().in_use(), 0);
    }

    #[test]
    fn reply_ttl_is_ours_and_padding_is_trimmed() {
        let mut cfg = Config::new(US, 24);
        cfg.ttl = 32;
        let (mut i, _clock, _pool) = iface_with(cfg);
        let mut req = ipv4_frame_with(
            PEER,
            US,
            PROTO_ICMP,
            &icmp_echo(1, 1, b"hi"),
            IpOpts {
                ttl: 3,
                ..IpOpts::default()
            },
        );
        let unpadded = req.len();
        req.resize(60, 0xee);
        i.nic_mut().inject(&req);
        i.poll(&mut ());
        let rep = i.nic_mut().take_sent().pop().unwrap();
        assert_eq!(rep.len(), unpadded);
        assert_eq!(parse_reply(&rep).0.hop_limit, 32);
    }

    #[test]
    fn options_are_neutralised_and_payload_stays_put() {
        let (mut i, _clock, _pool) = iface();
        // A loose source route option (type 131, length 7, pointer 4, one address) + EOL.
        let lsrr = [131, 7, 4, 192, 168, 9, 9, 0];
        let req = ipv4_frame_with(
            PEER,
            US,
            PROTO_ICMP,
            &icmp_echo(9, 9, DATA),
            IpOpts {
                options: &lsrr,
                ..IpOpts::default()
            },
        );
        i.nic_mut().inject(&req);
        i.poll(&mut ());
        let rep = i.nic_mut().take_sent().pop().unwrap();
        assert_eq!(rep[14] & 0x0f, 7, "header length kept");
        assert_eq!(&rep[34..42], &[1; 8], "options replaced by NOPs");
        let (_, icmp) = parse_reply(&rep);
        assert!(matches!(icmp, Icmpv4Repr::EchoReply { data: DATA, .. }));
        assert_eq!(i.stats().get(Event::Ipv4Options), 1);
    }

    #[test]
    fn broadcast_pings_are_not_answered() {
        let (mut i, _clock, _pool) = iface();
        for dst in [Ipv4Addr::BROADCAST, Ipv4Addr::new(10, 0, 0, 255)] {
            let req = ipv4_frame_with(
                PEER,
                dst,
                PROTO_ICMP,
                &icmp_echo(1, 1, b"smurf"),
                IpOpts {
                    eth_dst: ethernet::BROADCAST,
                    ..IpOpts::default()
                },
            );
            i.nic_mut().inject(&req);
        }
        i.poll(&mut ());
        assert!(i.nic_mut().take_sent().is_empty());
        assert_eq!(i.stats().dropped(D::IcmpBroadcastEcho), 2);
    }

    #[test]
    fn all_zero_echo_reply_has_checksum_0xffff() {
        let (mut i, _clock, _pool) = iface();
        let req = icmp_echo(0, 0, b"");
        assert_eq!(req[2..4], [0xf7, 0xff]);
        i.nic_mut().inject(&ipv4_frame(PEER, US, PROTO_ICMP, &req));
        // With data that sums to zero too.
        let req = icmp_echo(0, 0, &[0; 10]);
        i.nic_mut().inject(&ipv4_frame(PEER, US, PROTO_ICMP, &req));
        i.poll(&mut ());
        let sent = i.nic_mut().take_sent();
        assert_eq!(sent.len(), 2);
        for rep in &sent {
            assert_eq!(rep[34..36], [ECHO_REPLY, 0]);
            assert_eq!(rep[36..38], [0xff, 0xff], "not 0x0000");
            assert!(rep[38..].iter().all(|&b| b == 0));
            assert!(checksum::is_valid(&rep[34..]));
            parse_reply(rep);
        }
    }

    #[test]
    fn echo_requests_whose_reply_exceeds_the_mtu_are_dropped() {
        let mut cfg = Config::new(US, 24);
        cfg.mtu = 576;
        let (mut i, _clock, pool) = iface_with(cfg);
        // 20 + 8 + 548 = 576: the largest answered.
        let fits = ipv4_frame(PEER, US, PROTO_ICMP, &icmp_echo(1, 1, &[7; 548]));
        let over = ipv4_frame(PEER, US, PROTO_ICMP, &icmp_echo(1, 2, &[7; 549]));
        // Options count: the reply keeps the header's length.
        let over_with_options = ipv4_frame_with(
            PEER,
            US,
            PROTO_ICMP,
            &icmp_echo(1, 3, &[7; 545]),
            IpOpts {
                options: &[1, 1, 1, 0],
                ..IpOpts::default()
            },
        );
        let big = ipv4_frame(PEER, US, PROTO_ICMP, &icmp_echo(1, 4, &[7; 1000]));
        for f in [&fits, &over, &over_with_options, &big] {
            i.nic_mut().inject(f);
        }
        // Link padding is not part of the reply: a frame padded past the MTU is
        // still answered.
        let mut padded = ipv4_frame(PEER, US, PROTO_ICMP, &icmp_echo(1, 5, &[7; 548]));
        padded.resize(padded.len() + 40, 0);
        i.nic_mut().inject(&padded);
        i.poll(&mut ());
        let sent = i.nic_mut().take_sent();
        let seqs: Vec<u8> = sent.iter().map(|f| f[41]).collect();
        assert_eq!(seqs, [1, 5]);
        assert!(sent.iter().all(|f| f.len() == 14 + 576));
        assert_eq!(i.stats().dropped(D::IcmpEchoTooBig), 3);
        assert_eq!(i.stats().get(Event::IcmpEchoReplies), 2);
        drop(sent);
        assert_eq!(pool.stats().in_use(), 0);
    }

    #[test]
    fn echo_requests_from_bad_source_macs_are_not_answered() {
        let (mut i, _clock, pool) = iface();
        let bad_macs = [
            ethernet::BROADCAST,
            [0x01, 0x00, 0x5e, 0, 0, 1],
            [0x33, 0x33, 0, 0, 0, 1],
            [0; 6],
            US_MAC,
        ];
        for eth_src in bad_macs {
            for eth_dst in [US_MAC, ethernet::BROADCAST] {
                let req = ipv4_frame_with(
                    PEER,
                    US,
                    PROTO_ICMP,
                    &icmp_echo(1, 1, b"ping"),
                    IpOpts {
                        eth_src,
                        eth_dst,
                        ..IpOpts::default()
                    },
                );
                i.nic_mut().inject(&req);
            }
        }
        i.poll(&mut ());
        assert!(i.nic_mut().take_sent().is_empty());
        let s = i.stats();
        assert_eq!(s.dropped(D::EthSourceMulticast), 6);
        assert_eq!(s.dropped(D::EthSourceZero), 2);
        assert_eq!(s.dropped(D::EthSourceOurs), 2);
        assert_eq!(s.total_drops(), 10);
        // From a peer's MAC, the reply goes back to it.
        i.nic_mut()
            .inject(&ipv4_frame(PEER, US, PROTO_ICMP, &icmp_echo(1, 2, b"ping")));
        i.poll(&mut ());
        let sent = i.nic_mut().take_sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0][..6], PEER_MAC);
        drop(sent);
        assert_eq!(pool.stats().in_use(), 0);
    }

    #[test]
    fn martian_sources_get_no_answer() {
        let (mut i, _clock, _pool) = iface();
        i.udp_bind(7).unwrap();
        let lo = Ipv4Addr::LOCALHOST;
        for src in [lo, US] {
            i.nic_mut()
                .inject(&ipv4_frame(src, US, PROTO_ICMP, &icmp_echo(1, 1, b"ping")));
            // To a closed port: no port unreachable; to a bound one: not delivered.
            for port in [9, 7] {
                let dg = crate::testutil::udp(src, US, 4000, port, b"x", false);
                i.nic_mut()
                    .inject(&ipv4_frame(src, US, crate::ipv4::PROTO_UDP, &dg));
            }
        }
        i.poll(&mut ());
        assert!(i.nic_mut().take_sent().is_empty());
        assert_eq!(i.udp_queued(7), 0);
        assert_eq!(i.stats().dropped(D::Ipv4LoopbackSource), 3);
        assert_eq!(i.stats().dropped(D::Ipv4OwnSource), 3);
        assert_eq!(i.stats().total_drops(), 6);
    }

    #[test]
    fn bad_short_and_other_icmp_is_counted() {
        let (mut i, _clock, pool) = iface();
        let mut bad = icmp_echo(1, 1, b"data");
        bad[8] ^= 0xff;
        i.nic_mut().inject(&ipv4_frame(PEER, US, PROTO_ICMP, &bad));
        i.nic_mut()
            .inject(&ipv4_frame(PEER, US, PROTO_ICMP, &[8, 0, 0xf7]));
        let mut ts = icmp_echo(1, 1, &[0; 12]);
        ts[0] = 13; // timestamp request
        ts[2..4].fill(0);
        let c = !checksum::sum(&ts);
        ts[2..4].copy_from_slice(&c.to_be_bytes());
        i.nic_mut().inject(&ipv4_frame(PEER, US, PROTO_ICMP, &ts));
        let mut reply = icmp_echo(1, 1, b"x");
        reply[0] = ECHO_REPLY;
        reply[2..4].fill(0);
        let c = !checksum::sum(&reply);
        reply[2..4].copy_from_slice(&c.to_be_bytes());
        i.nic_mut()
            .inject(&ipv4_frame(PEER, US, PROTO_ICMP, &reply));
        i.poll(&mut ());
        assert!(i.nic_mut().take_sent().is_empty());
        assert_eq!(i.stats().dropped(D::IcmpBadChecksum), 1);
        assert_eq!(i.stats().dropped(D::IcmpTruncated), 1);
        assert_eq!(i.stats().dropped(D::IcmpUnhandled), 2);
        assert_eq!(pool.stats().in_use(), 0);
    }

    #[test]
    fn rate_limiter_bursts_then_refills() {
        let mut r = RateLimiter::new(10, 3);
        let t0 = Instant::from_millis(0);
        assert!(r.allow(t0) && r.allow(t0) && r.allow(t0));
        assert!(!r.allow(t0));
        assert!(!r.allow(Instant::from_millis(99)));
        assert!(r.allow(Instant::from_millis(100)));
        assert!(!r.allow(Instant::from_millis(150)));
        assert!(r.allow(Instant::from_millis(10_000)));
        let mut never = RateLimiter::new(0, 5);
        assert!(!never.allow(t0));
    }
}

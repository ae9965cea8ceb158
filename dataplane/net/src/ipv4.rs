//! IPv4: validating received headers, and writing ours.
//!
//! Received: version, IHL, total length against the frame, header checksum; options
//! are legal and skipped (the payload starts after them); fragments are dropped
//! (no reassembly: ix's peers use path MTU discovery); packets for other hosts are
//! dropped, and so are packets from sources no host on the wire can have (martians:
//! broadcast, multicast, loopback, our own address; RFC 1122 3.2.1.3), which would
//! otherwise be answered. Sent: a 20-byte header with DF set, our TTL and a
//! per-interface ident.

use crate::checksum::{self, Accumulator};
use crate::config::{is_unicast, Config};
use crate::ethernet;
use crate::stats::DropReason;
use core::ops::Range;
use smoltcp::wire::{IpProtocol, Ipv4Packet};
use std::net::Ipv4Addr;

/// Bytes in an option-less IPv4 header (the only kind we emit).
pub const HEADER_LEN: usize = 20;

/// Protocol number of ICMP.
pub const PROTO_ICMP: u8 = 1;
/// Protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// Protocol number of UDP.
pub const PROTO_UDP: u8 = 17;

/// What the IPv4 layer learned about a received packet addressed to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Info {
    /// The sender.
    pub src: Ipv4Addr,
    /// The destination: our address, or a broadcast address if `broadcast`.
    pub dst: Ipv4Addr,
    /// The protocol number (6 for TCP).
    pub protocol: u8,
    /// The TTL it arrived with.
    pub ttl: u8,
    /// The type-of-service byte (DSCP and ECN).
    pub tos: u8,
    /// The header length in bytes, options included.
    pub header_len: usize,
    /// Where the L4 header starts, counted from the start of the frame.
    pub l4_offset: usize,
    /// Bytes of L4 header and payload (from the total length: link padding excluded).
    pub l4_len: usize,
    /// Whether it was sent to a broadcast address rather than to ours.
    pub broadcast: bool,
    /// The Ethernet source of the frame it came in.
    pub src_mac: [u8; 6],
}

impl Ipv4Info {
    /// The L4 bytes' range within the frame.
    pub fn l4_range(&self) -> Range<usize> {
        self.l4_offset..self.l4_offset + self.l4_len
    }

    /// The pseudo-header sum for this packet's UDP/TCP checksum.
    pub fn pseudo_header_sum(&self) -> u16 {
        let len = u16::try_from(self.l4_len).unwrap_or(u16::MAX);
        checksum::pseudo_header(self.src, self.dst, self.protocol, len)
    }

    /// Whether `l4` (this packet's L4 bytes, checksum field included) carries a valid
    /// UDP/TCP-style checksum; for the transport to call on what it receives.
    pub fn l4_checksum_ok(&self, l4: &[u8]) -> bool {
        let mut acc = Accumulator::new();
        acc.add_sum(self.pseudo_header_sum());
        acc.add(l4);
        acc.sum() == 0xffff
    }
}

/// Validates the IPv4 packet in `frame` (after its Ethernet header, which came from
/// `src_mac`) and decides whether it is for us under `cfg`.
pub fn parse(frame: &[u8], src_mac: [u8; 6], cfg: &Config) -> Result<Ipv4Info, DropReason> {
    let ip = frame.get(ethernet::HEADER_LEN..).unwrap_or_default();
    if ip.len() < HEADER_LEN {
        return Err(DropReason::Ipv4Truncated);
    }
    // The accessors used below read only the first 20 bytes, checked above, and the
    // first `header_len` bytes, checked before use.
    let p = Ipv4Packet::new_unchecked(ip);
    if p.version() != 4 {
        return Err(DropReason::Ipv4BadVersion);
    }
    let header_len = usize::from(p.header_len());
    if header_len < HEADER_LEN {
        return Err(DropReason::Ipv4BadHeaderLen);
    }
    if ip.len() < header_len {
        return Err(DropReason::Ipv4Truncated);
    }
    let total_len = usize::from(p.total_len());
    if total_len < header_len {
        return Err(DropReason::Ipv4BadHeaderLen);
    }
    if total_len > ip.len() {
        return Err(DropReason::Ipv4Truncated);
    }
    if !ip.get(..header_len).is_some_and(checksum::is_valid) {
        return Err(DropReason::Ipv4BadChecksum);
    }
    if p.more_frags() || p.frag_offset() != 0 {
        return Err(DropReason::Ipv4Fragment);
    }
    let (src, dst) = (p.src_addr(), p.dst_addr());
    let broadcast = if dst == cfg.addr {
        false
    } else if cfg.is_broadcast(dst) {
        true
    } else {
        return Err(DropReason::Ipv4NotForUs);
    };
    // Nobody sends from a broadcast or multicast address; only a host without an
    // address yet (a DHCP client) sends from 0.0.0.0, and only to broadcast.
    let src_ok = (is_unicast(src) && !cfg.is_broadcast(src)) || (src.is_unspecified() && broadcast);
    if !src_ok {
        return Err(DropReason::Ipv4BadSource);
    }
    // 127.0.0.0/8 is internal to a host and must never appear on a wire (RFC 1122
    // 3.2.1.3(g)); our own address as a source is a spoof or our packet reflected.
    // Answering either would send to ourselves or to whoever owns the source MAC.
    if src.is_loopback() {
        return Err(DropReason::Ipv4LoopbackSource);
    }
    if src == cfg.addr {
        return Err(DropReason::Ipv4OwnSource);
    }
    Ok(Ipv4Info {
        src,
        dst,
        protocol: u8::from(p.next_header()),
        ttl: p.hop_limit(),
        tos: (p.dscp() << 2) | p.ecn(),
        header_len,
        l4_offset: ethernet::HEADER_LEN + header_len,
        l4_len: total_len - header_len,
        broadcast,
        src_mac,
    })
}

/// The fields of an IPv4 header we emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol number.
    pub protocol: u8,
    /// Time to live.
    pub ttl: u8,
    /// Identification (meaningless with DF set, RFC 6864, but varied all the same).
    pub ident: u16,
}

impl Header {
    /// Writes a 20-byte header, DF set and checksum filled, for `payload_len` bytes
    /// of payload at the start of `buf`; does nothing if `buf` is shorter.
    pub fn write(&self, buf: &mut [u8], payload_len: u16) {
        let Some(hdr) = buf.get_mut(..HEADER_LEN) else {
            return;
        };
        let mut p = Ipv4Packet::new_unchecked(hdr);
        p.set_version(4);
        p.set_header_len(HEADER_LEN as u8);
        p.set_dscp(0);
        p.set_ecn(0);
        p.set_total_len(payload_len.saturating_add(HEADER_LEN as u16));
        p.set_ident(self.ident);
        p.clear_flags();
        p.set_dont_frag(true);
        p.set_frag_offset(0);
        p.set_hop_limit(self.ttl);
        p.set_next_header(IpProtocol::from(self.protocol));
        p.set_src_addr(self.src);
        p.set_dst_addr(self.dst);
        p.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{ipv4_frame, ipv4_frame_with, IpOpts, PEER, PEER_MAC, US};

    fn cfg() -> Config {
        Config::new(US, 24)
    }

    fn parse_frame(f: &[u8]) -> Result<Ipv4Info, DropReason> {
        parse(f, PEER_MAC, &cfg())
    }

    #[test]
    fn valid_packet_for_us() {
        let f = ipv4_frame(PEER, US, PROTO_UDP, b"0123456789");
        let info = parse_frame(&f).unwrap();
        assert_eq!((info.src, info.dst, info.protocol), (PEER, US, PROTO_UDP));
        assert_eq!((info.header_len, info.l4_offset, info.l4_len), (20, 34, 10));
        assert_eq!(&f[info.l4_range()], b"0123456789");
        assert!(!info.broadcast);
        assert_eq!(info.ttl, 64);
    }

    #[test]
    fn link_padding_is_not_payload() {
        let mut f = ipv4_frame(PEER, US, PROTO_UDP, b"abc");
        f.resize(60, 0);
        assert_eq!(parse_frame(&f).unwrap().l4_len, 3);
    }

    #[test]
    fn options_are_skipped() {
        // IHL 6: one 4-byte option word (NOP NOP NOP EOL).
        let f = ipv4_frame_with(
            PEER,
            US,
            PROTO_UDP,
            b"payload",
            IpOpts {
                options: &[1, 1, 1, 0],
                ..IpOpts::default()
            },
        );
        let info = parse_frame(&f).unwrap();
        assert_eq!((info.header_len, info.l4_offset), (24, 38));
        assert_eq!(&f[info.l4_range()], b"payload");
    }

    #[test]
    fn bad_checksum_version_and_lengths() {
        let good = ipv4_frame(PEER, US, PROTO_UDP, b"xyzw");
        let mut f = good.clone();
        f[14 + 10] ^= 1;
        assert_eq!(parse_frame(&f), Err(DropReason::Ipv4BadChecksum));
        let mut f = good.clone();
        f[14] = 0x65; // version 6
        assert_eq!(parse_frame(&f), Err(DropReason::Ipv4BadVersion));
        let mut f = good.clone();
        f[14] = 0x44; // IHL 4
        assert_eq!(parse_frame(&f), Err(DropReason::Ipv4BadHeaderLen));
        let mut f = good.clone();
        f[14] = 0x4f; // IHL 15 = 60 bytes, more than the frame
        assert_eq!(parse_frame(&f), Err(DropReason::Ipv4Truncated));
        assert_eq!(
            parse_frame(&good[..good.len() - 1]),
            Err(DropReason::Ipv4Truncated),
            "total length beyond the frame"
        );
        assert_eq!(parse_frame(&good[..30]), Err(DropReason::Ipv4Truncated));
        assert_eq!(parse_frame(&good[..14]), Err(DropReason::Ipv4Truncated));
        assert_eq!(parse_frame(&[]), Err(DropReason::Ipv4Truncated));
    }

    #[test]
    fn total_length_below_header_is_refused() {
        let f = ipv4_frame_with(
            PEER,
            US,
            PROTO_UDP,
            b"abcd",
            IpOpts {
                total_len: Some(12),
                ..IpOpts::default()
            },
        );
        assert_eq!(parse_frame(&f), Err(DropReason::Ipv4BadHeaderLen));
    }

    #[test]
    fn fragments_are_dropped() {
        for (mf, offset) in [(true, 0), (false, 8), (true, 16)] {
            let f = ipv4_frame_with(
                PEER,
                US,
                PROTO_UDP,
                b"frag",
                IpOpts {
                    more_frags: mf,
                    frag_offset: offset,
                    ..IpOpts::default()
                },
            );
            assert_eq!(parse_frame(&f), Err(DropReason::Ipv4Fragment));
        }
    }

    #[test]
    fn destination_and_source_checks() {
        let other = Ipv4Addr::new(10, 0, 0, 77);
        assert_eq!(
            parse_frame(&ipv4_frame(PEER, other, PROTO_UDP, b"")),
            Err(DropReason::Ipv4NotForUs)
        );
        let b = parse_frame(&ipv4_frame(
            PEER,
            Ipv4Addr::new(10, 0, 0, 255),
            PROTO_UDP,
            b"",
        ));
        assert!(b.unwrap().broadcast);
        assert!(
            parse_frame(&ipv4_frame(PEER, Ipv4Addr::BROADCAST, PROTO_UDP, b""))
                .unwrap()
                .broadcast
        );
        for bad_src in [
            Ipv4Addr::new(224, 0, 0, 1),
            Ipv4Addr::BROADCAST,
            Ipv4Addr::new(10, 0, 0, 255),
            Ipv4Addr::UNSPECIFIED,
        ] {
            assert_eq!(
                parse_frame(&ipv4_frame(bad_src, US, PROTO_UDP, b"")),
                Err(DropReason::Ipv4BadSource),
                "{bad_src}"
            );
        }
        assert!(
            parse_frame(&ipv4_frame(
                Ipv4Addr::UNSPECIFIED,
                Ipv4Addr::BROADCAST,
                PROTO_UDP,
                b""
            ))
            .is_ok(),
            "a DHCP client's broadcast"
        );
    }

    #[test]
    fn martian_sources_are_dropped_by_reason() {
        for lo in [
            Ipv4Addr::LOCALHOST,
            Ipv4Addr::new(127, 0, 0, 0),
            Ipv4Addr::new(127, 255, 255, 254),
            Ipv4Addr::new(127, 10, 0, 2),
        ] {
            for dst in [US, Ipv4Addr::BROADCAST, Ipv4Addr::new(10, 0, 0, 255)] {
                assert_eq!(
                    parse_frame(&ipv4_frame(lo, dst, PROTO_UDP, b"")),
                    Err(DropReason::Ipv4LoopbackSource),
                    "{lo} to {dst}"
                );
            }
        }
        for dst in [US, Ipv4Addr::BROADCAST, Ipv4Addr::new(10, 0, 0, 255)] {
            assert_eq!(
                parse_frame(&ipv4_frame(US, dst, PROTO_ICMP, b"")),
                Err(DropReason::Ipv4OwnSource),
                "from us to {dst}"
            );
        }
        // Neighbours of 127/8 and of our address are fine.
        for ok in [
            Ipv4Addr::new(126, 255, 255, 255),
            Ipv4Addr::new(128, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 3),
        ] {
            assert!(
                parse_frame(&ipv4_frame(ok, US, PROTO_UDP, b"")).is_ok(),
                "{ok}"
            );
        }
    }

    #[test]
    fn written_header_parses_with_smoltcp() {
        use smoltcp::phy::ChecksumCapabilities;
        use smoltcp::wire::Ipv4Repr;
        let mut buf = [0u8; 20 + 4];
        Header {
            src: US,
            dst: PEER,
            protocol: PROTO_TCP,
            ttl: 64,
            ident: 7,
        }
        .write(&mut buf, 4);
        let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
        let r = Ipv4Repr::parse(&p, &ChecksumCapabilities::default()).unwrap();
        assert_eq!(
            (r.src_addr, r.dst_addr, r.payload_len, r.hop_limit),
            (US, PEER, 4, 64)
        );
        assert_eq!(r.next_header, IpProtocol::Tcp);
        assert!(p.dont_frag() && !p.more_frags());
        assert_eq!(p.ident(), 7);
    }
}

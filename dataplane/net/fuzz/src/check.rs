//! What every frame the stack transmits must look like.
//!
//! Checksums are recomputed here with `smoltcp::wire::checksum` rather than through
//! the packets' `verify_checksum`, which smoltcp turns into `return true` when built
//! with `cfg(fuzzing)` (as cargo-fuzz builds everything by default).
//!
//! Beyond well-formedness, [`frame`] enforces the RFC 1122 rules on what a host may
//! *answer*: no ICMP to a non-unicast address, no ICMP error about an ICMP error,
//! about a broadcast or multicast datagram, or about a non-initial fragment.

use crate::addrs::{OUR_IP, OUR_MAC, PREFIX_LEN};
use crate::known;
use smoltcp::wire::{
    checksum, ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    Icmpv4Packet, IpProtocol, Ipv4Address, Ipv4Cidr, Ipv4Packet, UdpPacket,
};

/// Bytes of Ethernet header in front of the MTU.
const ETHERNET_HEADER: usize = 14;

/// What a transmitted frame was, once checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// An ARP request for this address.
    ArpRequest(Ipv4Address),
    /// An ARP reply to this address.
    ArpReply(Ipv4Address),
    /// An ICMP message of this type to this address.
    Icmp(u8, Ipv4Address),
    /// A UDP datagram from this port to this address and port.
    Udp(u16, Ipv4Address, u16),
}

/// Checks one frame transmitted by an interface with this `mtu`; says what it was,
/// or what is wrong with it.
pub fn frame(bytes: &[u8], mtu: usize) -> Result<Sent, String> {
    let eth = EthernetFrame::new_checked(bytes).map_err(|_| "runt Ethernet frame")?;
    let echo_reply = is_echo_reply(eth.payload());
    if bytes.len() > mtu + ETHERNET_HEADER && !(echo_reply && known::ECHO_REPLY_IGNORES_MTU) {
        return Err(format!("{}-byte frame over MTU {mtu}", bytes.len()));
    }
    if eth.src_addr() != OUR_MAC {
        return Err(format!("Ethernet source {} is not ours", eth.src_addr()));
    }
    let dst = eth.dst_addr();
    let lax = known::ECHO_REPLY_TO_ANY_SOURCE_MAC && echo_reply;
    if (dst == OUR_MAC || dst == EthernetAddress([0; 6])) && !lax {
        return Err(format!("Ethernet destination {dst} is ours or zero"));
    }
    match eth.ethertype() {
        EthernetProtocol::Arp => arp(dst, eth.payload()),
        EthernetProtocol::Ipv4 => ipv4(dst, eth.payload(), bytes.len(), lax),
        other => Err(format!("sent ethertype {other}")),
    }
}

/// An ARP request or reply from us, addressed consistently.
fn arp(eth_dst: EthernetAddress, bytes: &[u8]) -> Result<Sent, String> {
    let p = ArpPacket::new_checked(bytes).map_err(|_| "truncated ARP")?;
    let ArpRepr::EthernetIpv4 {
        operation,
        source_hardware_addr,
        source_protocol_addr,
        target_hardware_addr,
        target_protocol_addr,
    } = ArpRepr::parse(&p).map_err(|_| "ARP not Ethernet/IPv4")?
    else {
        return Err("unknown ARP representation".into());
    };
    if source_hardware_addr != OUR_MAC || source_protocol_addr != OUR_IP {
        return Err(format!(
            "ARP sender {source_hardware_addr}/{source_protocol_addr} is not us"
        ));
    }
    match operation {
        ArpOperation::Request => Ok(Sent::ArpRequest(target_protocol_addr)),
        ArpOperation::Reply => {
            if target_hardware_addr != eth_dst || !eth_dst.is_unicast() {
                return Err(format!(
                    "ARP reply to {target_hardware_addr} sent to Ethernet {eth_dst}"
                ));
            }
            Ok(Sent::ArpReply(target_protocol_addr))
        }
        other => Err(format!("sent ARP operation {other:?}")),
    }
}

/// Whether `ip` is an IPv4 packet carrying an ICMP echo reply (without checking it).
fn is_echo_reply(ip: &[u8]) -> bool {
    let header_len = usize::from(ip.first().map_or(0, |b| b & 0x0f)) * 4;
    ip.get(9) == Some(&1) && ip.get(header_len) == Some(&0)
}

/// An IPv4 packet from us with a right header checksum, carrying a checked ICMP
/// message or UDP datagram; `lax_eth` skips the Ethernet-versus-IP destination check.
fn ipv4(
    eth_dst: EthernetAddress,
    bytes: &[u8],
    frame_len: usize,
    lax_eth: bool,
) -> Result<Sent, String> {
    let p = Ipv4Packet::new_checked(bytes).map_err(|_| "IPv4 header or length inconsistent")?;
    let total = usize::from(p.total_len());
    if p.version() != 4 {
        return Err(format!("IPv4 version {}", p.version()));
    }
    if total < bytes.len() && frame_len > 60 {
        return Err(format!(
            "{} bytes after a {total}-byte IPv4 packet",
            bytes.len() - total
        ));
    }
    let header = &bytes[..usize::from(p.header_len())];
    if checksum::data(header) != !0 {
        return Err("bad IPv4 header checksum".into());
    }
    if p.src_addr() != OUR_IP {
        return Err(format!("IPv4 source {} is not ours", p.src_addr()));
    }
    if p.hop_limit() == 0 || p.more_frags() || p.frag_offset() != 0 {
        return Err("sent TTL 0 or a fragment".into());
    }
    let dst = p.dst_addr();
    let wrong_eth = eth_dst.is_broadcast() != (dst.is_broadcast() || dst == subnet_broadcast())
        || eth_dst.is_multicast() && !eth_dst.is_broadcast() && !dst.is_multicast();
    if wrong_eth && !lax_eth {
        return Err(format!("IPv4 {dst} sent to Ethernet {eth_dst}"));
    }
    let payload = &bytes[usize::from(p.header_len())..total];
    match p.next_header() {
        IpProtocol::Icmp => icmp(dst, payload),
        IpProtocol::Udp => udp(dst, payload),
        other => Err(format!("sent IP protocol {other}")),
    }
}

/// The subnet's directed broadcast address.
fn subnet_broadcast() -> Ipv4Address {
    Ipv4Cidr::new(OUR_IP, PREFIX_LEN)
        .broadcast()
        .unwrap_or(Ipv4Address::BROADCAST)
}

/// Whether `a` names a single host other than us (what an answer may go to).
fn single_host(a: Ipv4Address) -> bool {
    !(a.is_unspecified()
        || a.is_broadcast()
        || a.is_multicast()
        || (a.is_loopback() && !known::ACCEPTS_LOOPBACK_SOURCE)
        || a == subnet_broadcast()
        || (a == OUR_IP && !known::ACCEPTS_OWN_SOURCE))
}

/// A UDP datagram with a right (or absent) checksum and a length field that matches.
fn udp(dst: Ipv4Address, bytes: &[u8]) -> Result<Sent, String> {
    let p = UdpPacket::new_checked(bytes).map_err(|_| "UDP length inconsistent")?;
    if usize::from(p.len()) != bytes.len() {
        return Err(format!("UDP length {} in {} bytes", p.len(), bytes.len()));
    }
    let sum = checksum::combine(&[
        checksum::pseudo_header_v4(&OUR_IP, &dst, IpProtocol::Udp, u32::from(p.len())),
        checksum::data(bytes),
    ]);
    if p.checksum() != 0 && sum != !0 {
        return Err("bad UDP checksum".into());
    }
    if p.dst_port() == 0 {
        return Err("UDP to port 0".into());
    }
    Ok(Sent::Udp(p.src_port(), dst, p.dst_port()))
}

/// Whether an ICMP type is an error message (as opposed to a query or reply).
fn is_icmp_error(ty: u8) -> bool {
    matches!(ty, 3 | 4 | 5 | 11 | 12)
}

/// An ICMP message with a right checksum, to a single host, and if it is an error,
/// about a datagram RFC 1122 allows errors about.
fn icmp(dst: Ipv4Address, bytes: &[u8]) -> Result<Sent, String> {
    let p = Icmpv4Packet::new_checked(bytes).map_err(|_| "truncated ICMP")?;
    let all_zero_reply = bytes.iter().all(|&b| b == 0);
    if checksum::data(bytes) != !0 && !(all_zero_reply && known::ECHO_REPLY_ZERO_CHECKSUM) {
        return Err("bad ICMP checksum".into());
    }
    let ty = u8::from(p.msg_type());
    if !single_host(dst) {
        return Err(format!("ICMP type {ty} sent to {dst}, not a single host"));
    }
    if is_icmp_error(ty) {
        quoted(&bytes[8..])?;
    } else if ty != 0 {
        return Err(format!("sent ICMP type {ty}, neither echo reply nor error"));
    }
    Ok(Sent::Icmp(ty, dst))
}

/// The datagram an ICMP error quotes: its header and at least 8 bytes after it, for
/// a datagram that was whole or a first fragment, to and from single hosts, and not
/// itself an ICMP error.
fn quoted(bytes: &[u8]) -> Result<(), String> {
    let Some(&ver_ihl) = bytes.first() else {
        return Err("ICMP error quotes nothing".into());
    };
    let header_len = usize::from(ver_ihl & 0x0f) * 4;
    if ver_ihl >> 4 != 4 || header_len < 20 || bytes.len() < header_len + 8 {
        return Err(format!("ICMP error quotes {} bytes", bytes.len()));
    }
    let q = Ipv4Packet::new_unchecked(bytes);
    if q.frag_offset() != 0 {
        return Err("ICMP error about a non-initial fragment".into());
    }
    if !single_host(q.src_addr()) && q.src_addr() != OUR_IP {
        return Err(format!("ICMP error about a datagram from {}", q.src_addr()));
    }
    let qdst = q.dst_addr();
    if qdst.is_broadcast() || qdst.is_multicast() || qdst == subnet_broadcast() {
        return Err(format!("ICMP error about a datagram to {qdst}"));
    }
    if q.next_header() == IpProtocol::Icmp && is_icmp_error(bytes[header_len]) {
        return Err("ICMP error about an ICMP error".into());
    }
    Ok(())
}

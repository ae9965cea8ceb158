//! Reads a frame's fields leniently: every field a matcher may check, plus whether
//! each checksum verifies. Malformed frames decode as far as they go, never panic.

use crate::decode_tcp::{decode_tcp, Tcp, PROTO_TCP};
use crate::payload::to_hex;
use crate::value::Mac;
use core::fmt;
use smoltcp::wire::{checksum, ArpPacket, EthernetFrame, IpProtocol, Ipv4Packet};
use std::net::Ipv4Addr;

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// IP protocol number of ICMP.
pub const PROTO_ICMP: u8 = 1;
/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;

/// A frame's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// Ethernet source.
    pub src: Mac,
    /// Ethernet destination.
    pub dst: Mac,
    /// EtherType.
    pub ethertype: u16,
    /// What follows the Ethernet header.
    pub body: Body<'a>,
}

/// The part of a frame after the Ethernet header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body<'a> {
    /// An ARP packet.
    Arp(Arp),
    /// An IPv4 datagram.
    Ipv4(Ip<'a>),
    /// Something else (another EtherType, or too malformed to read): why, and the bytes.
    Other(String, &'a [u8]),
}

/// ARP fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    /// Hardware type, protocol type, hardware and protocol address lengths.
    pub formats: (u16, u16, u8, u8),
    /// Operation.
    pub op: u16,
    /// Sender hardware address.
    pub sha: Mac,
    /// Sender protocol address.
    pub spa: Ipv4Addr,
    /// Target hardware address.
    pub tha: Mac,
    /// Target protocol address.
    pub tpa: Ipv4Addr,
}

/// IPv4 header fields and what the datagram carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ip<'a> {
    /// Version field.
    pub version: u8,
    /// Header length field, in 32-bit words.
    pub ihl: u8,
    /// TOS byte.
    pub tos: u8,
    /// Total length field.
    pub len: u16,
    /// Identification.
    pub id: u16,
    /// Don't fragment.
    pub df: bool,
    /// More fragments.
    pub mf: bool,
    /// Fragment offset in bytes.
    pub off: u16,
    /// Time to live.
    pub ttl: u8,
    /// Protocol.
    pub proto: u8,
    /// Header checksum field.
    pub csum: u16,
    /// Whether the header checksum verifies.
    pub csum_ok: bool,
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Option bytes.
    pub options: &'a [u8],
    /// The datagram, header included, cut to the total length (Ethernet padding
    /// dropped) or to the frame if the total length claims more.
    pub datagram: &'a [u8],
    /// The payload.
    pub l4: L4<'a>,
}

/// An IPv4 payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L4<'a> {
    /// An ICMP message.
    Icmp {
        /// Type.
        ty: u8,
        /// Code.
        code: u8,
        /// Bytes 4..6.
        id: u16,
        /// Bytes 6..8.
        seq: u16,
        /// Checksum field.
        csum: u16,
        /// Whether the checksum verifies.
        csum_ok: bool,
        /// Data after the 8-byte header.
        payload: &'a [u8],
    },
    /// A UDP datagram.
    Udp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Length field.
        len: u16,
        /// Checksum field.
        csum: u16,
        /// Whether the checksum verifies (a zero checksum does not).
        csum_ok: bool,
        /// Data after the header, cut to the length field if that is shorter.
        payload: &'a [u8],
    },
    /// A TCP segment.
    Tcp(Tcp<'a>),
    /// Another protocol, a fragment, or a header too short to read.
    Opaque(&'a [u8]),
}

impl L4<'_> {
    /// The bytes a script's `payload=` refers to.
    pub fn payload(&self) -> &[u8] {
        match self {
            L4::Icmp { payload, .. } | L4::Udp { payload, .. } | L4::Opaque(payload) => payload,
            L4::Tcp(t) => t.payload,
        }
    }
}

/// Decodes `frame`; `None` if it is shorter than an Ethernet header.
pub fn decode(frame: &[u8]) -> Option<Decoded<'_>> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let ethertype = u16::from(eth.ethertype());
    let rest = &frame[14..];
    let body = match ethertype {
        ETHERTYPE_ARP => decode_arp(rest),
        ETHERTYPE_IPV4 => decode_ip(rest),
        _ => Body::Other(format!("ethertype 0x{ethertype:04x}"), rest),
    };
    Some(Decoded {
        src: Mac(eth.src_addr().0),
        dst: Mac(eth.dst_addr().0),
        ethertype,
        body,
    })
}

/// Decodes an ARP packet for IPv4 over Ethernet.
fn decode_arp(bytes: &[u8]) -> Body<'_> {
    let Ok(p) = ArpPacket::new_checked(bytes) else {
        return Body::Other("truncated arp".to_string(), bytes);
    };
    if p.hardware_len() != 6 || p.protocol_len() != 4 {
        return Body::Other("arp with unusual address lengths".to_string(), bytes);
    }
    let ip = |b: &[u8]| Ipv4Addr::new(b[0], b[1], b[2], b[3]);
    let mac = |b: &[u8]| Mac([b[0], b[1], b[2], b[3], b[4], b[5]]);
    Body::Arp(Arp {
        formats: (
            u16::from(p.hardware_type()),
            u16::from(p.protocol_type()),
            p.hardware_len(),
            p.protocol_len(),
        ),
        op: u16::from(p.operation()),
        sha: mac(p.source_hardware_addr()),
        spa: ip(p.source_protocol_addr()),
        tha: mac(p.target_hardware_addr()),
        tpa: ip(p.target_protocol_addr()),
    })
}

/// Decodes an IPv4 datagram as far as its fields allow.
fn decode_ip(bytes: &[u8]) -> Body<'_> {
    if bytes.len() < 20 {
        return Body::Other("truncated ipv4 header".to_string(), bytes);
    }
    // Unchecked on purpose: a malformed header is still worth comparing field by field.
    let p = Ipv4Packet::new_unchecked(bytes);
    let hdr_len = usize::from(p.header_len());
    if hdr_len < 20 || hdr_len > bytes.len() {
        return Body::Other(format!("ipv4 header length {hdr_len}"), bytes);
    }
    let len = p.total_len();
    let end = usize::from(len).clamp(hdr_len, bytes.len());
    let datagram = &bytes[..end];
    let proto = u8::from(p.next_header());
    let (src, dst) = (p.src_addr(), p.dst_addr());
    let fragment = p.more_frags() || p.frag_offset() != 0;
    let payload = &datagram[hdr_len..];
    let l4 = if fragment {
        L4::Opaque(payload)
    } else {
        decode_l4(proto, src, dst, payload)
    };
    Body::Ipv4(Ip {
        version: p.version(),
        ihl: bytes[0] & 0x0f,
        tos: bytes[1],
        len,
        id: p.ident(),
        df: p.dont_frag(),
        mf: p.more_frags(),
        off: p.frag_offset(),
        ttl: p.hop_limit(),
        proto,
        csum: p.checksum(),
        csum_ok: checksum::data(&bytes[..hdr_len]) == 0xffff,
        src,
        dst,
        options: &bytes[20..hdr_len],
        datagram,
        l4,
    })
}

/// Decodes an unfragmented IPv4 payload.
fn decode_l4<'a>(proto: u8, src: Ipv4Addr, dst: Ipv4Addr, bytes: &'a [u8]) -> L4<'a> {
    if bytes.len() < 8 {
        return L4::Opaque(bytes);
    }
    let be16 = |i: usize| u16::from_be_bytes([bytes[i], bytes[i + 1]]);
    match proto {
        PROTO_ICMP => L4::Icmp {
            ty: bytes[0],
            code: bytes[1],
            csum: be16(2),
            id: be16(4),
            seq: be16(6),
            csum_ok: checksum::data(bytes) == 0xffff,
            payload: &bytes[8..],
        },
        PROTO_UDP => {
            let len = be16(4);
            let end = usize::from(len).clamp(8, bytes.len());
            let pseudo = checksum::pseudo_header_v4(&src, &dst, IpProtocol::Udp, u32::from(len));
            let csum = be16(6);
            L4::Udp {
                sport: be16(0),
                dport: be16(2),
                len,
                csum,
                csum_ok: csum != 0
                    && checksum::combine(&[pseudo, checksum::data(&bytes[..end])]) == 0xffff,
                payload: &bytes[8..end],
            }
        }
        PROTO_TCP => decode_tcp(src, dst, bytes).map_or(L4::Opaque(bytes), L4::Tcp),
        _ => L4::Opaque(bytes),
    }
}

/// Payloads longer than this are shown shortened.
const SHOWN: usize = 32;

/// `hex:..` of a payload, shortened past [`SHOWN`] bytes.
fn show_bytes(b: &[u8]) -> String {
    if b.len() <= SHOWN {
        format!("hex:{}", to_hex(b))
    } else {
        format!("hex:{}...({} bytes)", to_hex(&b[..SHOWN]), b.len())
    }
}

impl fmt::Display for Decoded<'_> {
    /// Shows the frame in script syntax, so a line can be written from a failure.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.body {
            Body::Arp(a) => {
                match a.op {
                    1 => write!(f, "arp request who-has {} tell {}", a.tpa, a.spa)?,
                    2 => write!(f, "arp reply {} is-at {}", a.spa, a.sha)?,
                    op => write!(f, "arp op={op} spa={}", a.spa)?,
                }
                write!(f, " sha={} tha={} tpa={}", a.sha, a.tha, a.tpa)?;
            }
            Body::Ipv4(ip) => {
                match &ip.l4 {
                    L4::Icmp {
                        ty,
                        code,
                        id,
                        seq,
                        payload,
                        ..
                    } => {
                        match icmp_name(*ty) {
                            Some(name) => write!(f, "icmp {name} code={code}")?,
                            None => write!(f, "icmp type={ty} code={code}")?,
                        }
                        write!(f, " id={id} seq={seq} payload={}", show_bytes(payload))?;
                    }
                    L4::Udp {
                        sport,
                        dport,
                        payload,
                        ..
                    } => write!(
                        f,
                        "udp sport={sport} dport={dport} payload={}",
                        show_bytes(payload)
                    )?,
                    L4::Tcp(t) => write!(f, "{t}")?,
                    L4::Opaque(p) => {
                        write!(f, "ipv4 proto={} payload={}", ip.proto, show_bytes(p))?
                    }
                }
                write!(
                    f,
                    " ip.src={} ip.dst={} ip.ttl={} ip.id={}",
                    ip.src, ip.dst, ip.ttl, ip.id
                )?;
                if ip.mf || ip.off != 0 {
                    write!(f, " ip.mf={} ip.off={}", u8::from(ip.mf), ip.off)?;
                }
            }
            Body::Other(why, bytes) => write!(f, "{why} ({} bytes)", bytes.len())?,
        }
        write!(f, " eth.src={} eth.dst={}", self.src, self.dst)
    }
}

/// The script name of ICMP type `ty`, if it has one.
fn icmp_name(ty: u8) -> Option<&'static str> {
    Some(match ty {
        0 => "echo-reply",
        3 => "dest-unreachable",
        8 => "echo-request",
        11 => "time-exceeded",
        12 => "param-problem",
        _ => return None,
    })
}

/// A one-line summary of any frame, even one too short to decode.
pub fn describe(frame: &[u8]) -> String {
    match decode(frame) {
        Some(d) => d.to_string(),
        None => format!("runt frame {}", show_bytes(frame)),
    }
}

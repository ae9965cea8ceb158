//! What a script line says about one frame, layer by layer.
//!
//! The parser fills in every field: what the line wrote, or the direction's default
//! (often a harness variable such as `$peer_mac`). Fields the stack computes (lengths,
//! checksums) are `None` when the line leaves them to be computed or verified.

use crate::payload::PayloadSpec;
use crate::tcp_flags::TcpFlags;
use crate::tcp_opts::OptsSpec;
use crate::value::{Mac, Value};
use std::net::Ipv4Addr;

/// One frame to inject or expect.
#[allow(
    clippy::large_enum_variant,
    reason = "one per script line, made once at parse time: boxing would buy nothing"
)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameSpec {
    /// `raw ...`: the frame's bytes, Ethernet header included, exactly as given.
    Raw(PayloadSpec),
    /// An Ethernet frame built from (or compared against) its layers.
    Eth(EthSpec, BodySpec),
}

/// The Ethernet header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthSpec {
    /// Source address.
    pub src: Value<Mac>,
    /// Destination address.
    pub dst: Value<Mac>,
    /// EtherType; `None` means the one the body implies.
    pub ethertype: Option<Value<u64>>,
    /// Bytes after the body (link padding, trailing junk); `None`: nothing sent, and
    /// whatever the SUT sends is not checked.
    pub pad: Option<PayloadSpec>,
}

/// What follows the Ethernet header.
#[allow(
    clippy::large_enum_variant,
    reason = "one per script line, made once at parse time: boxing would buy nothing"
)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodySpec {
    /// An ARP packet for IPv4 over Ethernet.
    Arp(ArpSpec),
    /// An IPv4 datagram and what it carries.
    Ipv4(Ipv4Spec, L4Spec),
}

/// An ARP packet (hardware type Ethernet, protocol IPv4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpSpec {
    /// Operation: 1 request, 2 reply.
    pub op: Value<u64>,
    /// Sender hardware address.
    pub sha: Value<Mac>,
    /// Sender protocol address.
    pub spa: Value<Ipv4Addr>,
    /// Target hardware address.
    pub tha: Value<Mac>,
    /// Target protocol address.
    pub tpa: Value<Ipv4Addr>,
}

/// How a checksum is written or checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsumSpec {
    /// Correct (the default both ways).
    Valid,
    /// Deliberately wrong when injected; expected to be wrong when expected.
    Bad,
    /// Zero (UDP's "no checksum").
    Zero,
    /// Any value (expectations only).
    Any,
    /// Exactly this value.
    Exact(u16),
}

/// The IPv4 header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Spec {
    /// Source address.
    pub src: Value<Ipv4Addr>,
    /// Destination address.
    pub dst: Value<Ipv4Addr>,
    /// Time to live.
    pub ttl: Value<u64>,
    /// The whole TOS byte (DSCP and ECN).
    pub tos: Value<u64>,
    /// Identification.
    pub id: Value<u64>,
    /// Don't-fragment flag (0 or 1).
    pub df: Value<u64>,
    /// More-fragments flag (0 or 1).
    pub mf: Value<u64>,
    /// Fragment offset in bytes (a multiple of 8).
    pub off: Value<u64>,
    /// Version field; 4 unless a script breaks it on purpose.
    pub version: Value<u64>,
    /// Header length field in 32-bit words; `None`: what the options imply.
    pub ihl: Option<Value<u64>>,
    /// Total length field; `None`: the real length.
    pub len: Option<Value<u64>>,
    /// Protocol field; `None`: what the payload implies.
    pub proto: Option<Value<u64>>,
    /// Option bytes (padded with zeros to a multiple of 4 when injected); `None`: no
    /// options when injected, any when expected.
    pub options: Option<PayloadSpec>,
    /// Header checksum.
    pub csum: CsumSpec,
}

/// What an IPv4 datagram carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L4Spec {
    /// An ICMP message.
    Icmp(IcmpSpec),
    /// A UDP datagram.
    Udp(UdpSpec),
    /// A TCP segment.
    Tcp(TcpSpec),
    /// Opaque bytes (an `ipv4` line): any protocol, no header of ours.
    Opaque(PayloadSpec),
}

/// An ICMP message; `id` and `seq` are the two halves of the 4-byte rest-of-header,
/// as echo messages use them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcmpSpec {
    /// Type.
    pub ty: Value<u64>,
    /// Code.
    pub code: Value<u64>,
    /// Identifier (bytes 4..6).
    pub id: Value<u64>,
    /// Sequence number (bytes 6..8).
    pub seq: Value<u64>,
    /// Data after the 8-byte header.
    pub payload: PayloadSpec,
    /// Checksum.
    pub csum: CsumSpec,
}

/// A UDP datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpSpec {
    /// Source port.
    pub sport: Value<u64>,
    /// Destination port.
    pub dport: Value<u64>,
    /// Length field; `None`: the real length.
    pub len: Option<Value<u64>>,
    /// Data after the 8-byte header.
    pub payload: PayloadSpec,
    /// Checksum.
    pub csum: CsumSpec,
}

/// A TCP segment. Sequence numbers are absolute; scripts make them relative by
/// capturing the SUT's initial sequence number in a variable (`seq=$isn`) and
/// offsetting it (`ack=$isn+1`, modulo 2^32).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSpec {
    /// Source port.
    pub sport: Value<u64>,
    /// Destination port.
    pub dport: Value<u64>,
    /// The flags; `None` for `*`.
    pub flags: Option<TcpFlags>,
    /// Sequence number.
    pub seq: Value<u64>,
    /// Acknowledgment number.
    pub ack: Value<u64>,
    /// Window field (unscaled, as on the wire).
    pub win: Value<u64>,
    /// Urgent pointer.
    pub urg: Value<u64>,
    /// Data offset in 32-bit words; `None`: what the options imply (and, expected,
    /// that the options fit it).
    pub off: Option<Value<u64>>,
    /// Options.
    pub opts: OptsSpec,
    /// Data after the header.
    pub payload: PayloadSpec,
    /// `len=N` on an expectation: the data's length, whatever its bytes.
    pub len: Option<Value<u64>>,
    /// Checksum.
    pub csum: CsumSpec,
}

//! Transport layer: UDP datagrams, TCP segments, ICMP messages.

use super::Payload;
use crate::addrs::{IpChoice, PortChoice};
use crate::policy::{Checksum, Length};
use arbitrary::Arbitrary;

/// What an IPv4 packet carries.
#[derive(Arbitrary, Debug, Clone)]
pub enum L4 {
    /// UDP (protocol 17).
    Udp(UdpSpec),
    /// ICMP (protocol 1).
    Icmp(IcmpSpec),
    /// TCP (protocol 6): what ix-net hands to the transport.
    Tcp(TcpSpec),
    /// Any protocol number with opaque bytes (TCP's 6 among them, unstructured).
    Other {
        /// The protocol field.
        protocol: u8,
        /// The payload.
        data: Payload,
    },
}

/// A UDP datagram.
#[derive(Arbitrary, Debug, Clone)]
pub struct UdpSpec {
    /// Source port.
    pub src_port: PortChoice,
    /// Destination port.
    pub dst_port: PortChoice,
    /// The length field relative to the true length.
    pub len: Length,
    /// The checksum (zero means none, which IPv4 allows).
    pub checksum: Checksum,
    /// The data.
    pub payload: Payload,
}

/// A TCP segment (no options): enough for ix-net's hand-off to the transport,
/// which checks nothing above IPv4 but may be asked for the L4 checksum.
#[derive(Arbitrary, Debug, Clone)]
pub struct TcpSpec {
    /// Source port.
    pub src_port: PortChoice,
    /// Destination port.
    pub dst_port: PortChoice,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Flags, FIN (bit 0) to CWR (bit 7).
    pub flags: u8,
    /// Window.
    pub window: u16,
    /// The checksum.
    pub checksum: Checksum,
    /// The data.
    pub payload: Payload,
}

/// An ICMP message.
#[derive(Arbitrary, Debug, Clone)]
pub struct IcmpSpec {
    /// Type and code.
    pub kind: IcmpKind,
    /// Echo identifier (bytes 4-5; "unused" in error messages).
    pub ident: u16,
    /// Echo sequence number (bytes 6-7).
    pub seq: u16,
    /// The data after the 8-byte header (after the quote, for errors).
    pub payload: Payload,
    /// The checksum.
    pub checksum: Checksum,
}

/// ICMP type and code.
#[derive(Arbitrary, Debug, Clone)]
pub enum IcmpKind {
    /// Type 8.
    EchoRequest,
    /// Type 0.
    EchoReply,
    /// Type 3 with a code, quoting an offending datagram.
    DstUnreachable {
        /// The code (3 is port unreachable).
        code: u8,
        /// The quoted datagram's header and first 8 bytes.
        quote: Quote,
    },
    /// Type 11 with a code, quoting an offending datagram.
    TimeExceeded {
        /// The code.
        code: u8,
        /// The quoted datagram.
        quote: Quote,
    },
    /// Any type and code.
    Raw {
        /// The type.
        ty: u8,
        /// The code.
        code: u8,
    },
}

/// The start of a datagram quoted in an ICMP error: an IPv4 header and 8 bytes of
/// UDP (or other) header.
#[derive(Arbitrary, Debug, Clone)]
pub struct Quote {
    /// Quoted source address (ours, when the error is about something we sent).
    pub src: IpChoice,
    /// Quoted destination address.
    pub dst: IpChoice,
    /// Whether the quoted protocol is UDP (else ICMP).
    pub udp: bool,
    /// Quoted source port.
    pub src_port: PortChoice,
    /// Quoted destination port.
    pub dst_port: PortChoice,
    /// How many of the quoted header's bytes to keep: all of them when this is
    /// 0, else `cut` modulo 28.
    pub cut: u8,
}

//! Link and network layer: Ethernet frames, ARP packets, IPv4 headers.

use super::{Bytes, Payload, L4};
use crate::addrs::{IpChoice, MacChoice};
use crate::policy::{Checksum, Length};
use arbitrary::{Arbitrary, Unstructured};

/// One Ethernet frame.
#[derive(Arbitrary, Debug, Clone)]
pub struct FrameSpec {
    /// Destination address.
    pub dst: MacChoice,
    /// Source address.
    pub src: MacChoice,
    /// What follows the Ethernet header.
    pub body: Body,
    /// What follows the body.
    pub tail: Tail,
}

/// What an Ethernet frame carries.
#[derive(Arbitrary, Debug, Clone)]
pub enum Body {
    /// An IPv4 packet (ethertype 0x0800).
    Ipv4(Ipv4Spec),
    /// An ARP packet (ethertype 0x0806).
    Arp(ArpSpec),
    /// Some other ethertype (IPv6, VLAN, or any value) with opaque bytes.
    Other {
        /// The ethertype.
        ethertype: EtherTypeChoice,
        /// The bytes after the Ethernet header.
        data: Payload,
    },
    /// Only the first `n` (modulo 14) bytes of an Ethernet header: a runt.
    Runt(u8),
}

/// An ethertype other than IPv4 and ARP (those have their own [`Body`] variants,
/// but may still be chosen here with an unstructured body).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum EtherTypeChoice {
    /// 0x86DD.
    Ipv6,
    /// 0x8100, an 802.1Q tag.
    Vlan,
    /// 0x0800 with an unstructured body.
    Ipv4,
    /// 0x0806 with an unstructured body.
    Arp,
    /// Any value (below 0x0600 it is an 802.3 length field).
    Raw(u16),
}

impl EtherTypeChoice {
    /// The 16-bit value on the wire.
    pub fn value(self) -> u16 {
        match self {
            EtherTypeChoice::Ipv6 => 0x86dd,
            EtherTypeChoice::Vlan => 0x8100,
            EtherTypeChoice::Ipv4 => 0x0800,
            EtherTypeChoice::Arp => 0x0806,
            EtherTypeChoice::Raw(v) => v,
        }
    }
}

/// Bytes after the frame's body.
#[derive(Debug, Clone)]
pub enum Tail {
    /// Nothing.
    None,
    /// Zeros up to the 60-byte Ethernet minimum, as a real NIC pads.
    PadTo60,
    /// These bytes.
    Bytes(Bytes<32>),
}

impl<'a> Arbitrary<'a> for Tail {
    /// Mostly nothing or padding (what real links carry), sometimes junk.
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u8::arbitrary(u)? {
            0..=159 => Tail::None,
            160..=223 => Tail::PadTo60,
            _ => Tail::Bytes(Bytes::arbitrary(u)?),
        })
    }
}

/// An ARP packet.
#[derive(Arbitrary, Debug, Clone)]
pub struct ArpSpec {
    /// The operation.
    pub op: ArpOp,
    /// Sender hardware address.
    pub sender_mac: MacChoice,
    /// Sender protocol address.
    pub sender_ip: IpChoice,
    /// Target hardware address.
    pub target_mac: MacChoice,
    /// Target protocol address.
    pub target_ip: IpChoice,
    /// Whether the fixed fields are right.
    pub shape: ArpShape,
}

/// An ARP operation.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum ArpOp {
    /// 1.
    Request,
    /// 2.
    Reply,
    /// Any value.
    Raw(u16),
}

/// How well-formed an ARP packet's fixed fields are.
#[derive(Debug, Clone, Copy)]
pub enum ArpShape {
    /// Ethernet/IPv4, lengths 6 and 4, all 28 bytes.
    Normal,
    /// A hardware type other than Ethernet's 1.
    HardwareType(u16),
    /// A protocol type other than IPv4's 0x0800.
    ProtocolType(u16),
    /// Wrong address lengths.
    Lengths(u8, u8),
    /// Only the first `n` (modulo 28) bytes.
    Truncated(u8),
}

impl<'a> Arbitrary<'a> for ArpShape {
    /// Normal 7 times in 8.
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u8::arbitrary(u)? {
            0..=223 => ArpShape::Normal,
            224..=231 => ArpShape::HardwareType(u16::arbitrary(u)?),
            232..=239 => ArpShape::ProtocolType(u16::arbitrary(u)?),
            240..=247 => ArpShape::Lengths(u8::arbitrary(u)?, u8::arbitrary(u)?),
            _ => ArpShape::Truncated(u8::arbitrary(u)?),
        })
    }
}

/// An IPv4 packet.
#[derive(Arbitrary, Debug, Clone)]
pub struct Ipv4Spec {
    /// The version nibble.
    pub version: Version,
    /// Option bytes, zero-padded to a multiple of four (so IHL is 5 to 15).
    pub options: Bytes<40>,
    /// The IHL field relative to the true header length, in 32-bit words (masked to 4 bits).
    pub ihl: Length,
    /// The whole TOS byte (DSCP and ECN).
    pub tos: u8,
    /// The total-length field relative to the true length.
    pub total_len: Length,
    /// The identification field.
    pub ident: u16,
    /// Flags and fragment offset.
    pub frag: Frag,
    /// Time to live.
    pub ttl: u8,
    /// Source address.
    pub src: IpChoice,
    /// Destination address.
    pub dst: IpChoice,
    /// Header checksum.
    pub checksum: Checksum,
    /// What the packet carries.
    pub payload: L4,
}

/// The version nibble: 4 nearly always.
#[derive(Debug, Clone, Copy)]
pub struct Version(pub u8);

impl<'a> Arbitrary<'a> for Version {
    /// 4 fifteen times in sixteen, else any nibble.
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let b = u8::arbitrary(u)?;
        Ok(Version(if b < 240 { 4 } else { b & 0x0f }))
    }
}

/// The flags and fragment-offset field.
#[derive(Debug, Clone, Copy)]
pub enum Frag {
    /// A whole datagram, with or without DF.
    Whole {
        /// Don't-fragment.
        df: bool,
    },
    /// A fragment: more-fragments and an offset in 8-byte units (masked to 13 bits).
    Fragment {
        /// More-fragments.
        mf: bool,
        /// Offset in 8-byte units.
        offset: u16,
    },
    /// Any 16-bit value (the reserved bit included).
    Raw(u16),
}

impl<'a> Arbitrary<'a> for Frag {
    /// Whole 7 times in 8.
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u8::arbitrary(u)? {
            0..=223 => Frag::Whole {
                df: bool::arbitrary(u)?,
            },
            224..=247 => Frag::Fragment {
                mf: bool::arbitrary(u)?,
                offset: u16::arbitrary(u)? & 0x1fff,
            },
            _ => Frag::Raw(u16::arbitrary(u)?),
        })
    }
}

impl Frag {
    /// The 16-bit field on the wire.
    pub fn value(self) -> u16 {
        match self {
            Frag::Whole { df } => u16::from(df) << 14,
            Frag::Fragment { mf, offset } => (u16::from(mf) << 13) | (offset & 0x1fff),
            Frag::Raw(v) => v,
        }
    }
}

//! The small universe of addresses and ports the fuzzer draws from.
//!
//! Drawing from a handful of values (ours, a few peers, broadcast, the odd random
//! one) instead of 2^32 makes the fuzzer hit "this packet is for me", "this is my
//! peer's ARP entry" and "this port is bound" on most inputs instead of almost never.

use arbitrary::{Arbitrary, Unstructured};
use smoltcp::wire::{EthernetAddress, Ipv4Address};

/// The interface's own Ethernet address.
pub const OUR_MAC: EthernetAddress = EthernetAddress([0x02, 0x00, 0x00, 0x00, 0x00, 0x02]);
/// The interface's own IPv4 address.
pub const OUR_IP: Ipv4Address = Ipv4Address::new(10, 0, 0, 2);
/// The interface's prefix length: 10.0.0.0/24.
pub const PREFIX_LEN: u8 = 24;
/// The subnet's directed broadcast address.
pub const SUBNET_BROADCAST: Ipv4Address = Ipv4Address::new(10, 0, 0, 255);

/// Peers on the link: their IPv4 and Ethernet addresses, index-aligned.
pub const PEER_IPS: [Ipv4Address; 3] = [
    Ipv4Address::new(10, 0, 0, 1),
    Ipv4Address::new(10, 0, 0, 3),
    Ipv4Address::new(10, 0, 0, 200),
];
/// The peers' Ethernet addresses.
pub const PEER_MACS: [EthernetAddress; 3] = [
    EthernetAddress([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]),
    EthernetAddress([0x02, 0x00, 0x00, 0x00, 0x00, 0x03]),
    EthernetAddress([0x02, 0x00, 0x00, 0x00, 0x00, 0xc8]),
];

/// UDP ports the scripts bind (and so the ports packets are most often sent to).
pub const PORTS: [u16; 4] = [7, 53, 4242, 65535];

/// An Ethernet address, mostly from the small set.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum MacChoice {
    /// The interface's own address.
    Ours,
    /// ff:ff:ff:ff:ff:ff.
    Broadcast,
    /// A peer's address (index taken modulo the set).
    Peer(u8),
    /// An IPv4 multicast MAC, 01:00:5e:xx:xx:xx with the low byte given.
    Multicast(u8),
    /// 00:00:00:00:00:00.
    Zero,
    /// Anything at all.
    Random([u8; 6]),
}

impl MacChoice {
    /// The address this choice stands for.
    pub fn resolve(self) -> EthernetAddress {
        match self {
            MacChoice::Ours => OUR_MAC,
            MacChoice::Broadcast => EthernetAddress::BROADCAST,
            MacChoice::Peer(i) => PEER_MACS[usize::from(i) % PEER_MACS.len()],
            MacChoice::Multicast(b) => EthernetAddress([0x01, 0x00, 0x5e, 0x00, 0x00, b]),
            MacChoice::Zero => EthernetAddress([0; 6]),
            MacChoice::Random(b) => EthernetAddress(b),
        }
    }
}

/// An IPv4 address, mostly from the small set.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum IpChoice {
    /// The interface's own address.
    Ours,
    /// A peer on the link (index taken modulo the set).
    Peer(u8),
    /// 255.255.255.255.
    Broadcast,
    /// 10.0.0.255.
    SubnetBroadcast,
    /// 0.0.0.0.
    Unspecified,
    /// 10.0.0.0, the subnet's network address.
    Network,
    /// Any address on the subnet, 10.0.0.x (many distinct next hops to resolve).
    OnLink(u8),
    /// An address off the subnet (192.0.2.x, TEST-NET-1).
    OffLink(u8),
    /// 224.0.0.x.
    Multicast(u8),
    /// 127.0.0.1.
    Loopback,
    /// Anything at all.
    Random([u8; 4]),
}

impl IpChoice {
    /// The address this choice stands for.
    pub fn resolve(self) -> Ipv4Address {
        match self {
            IpChoice::Ours => OUR_IP,
            IpChoice::Peer(i) => PEER_IPS[usize::from(i) % PEER_IPS.len()],
            IpChoice::Broadcast => Ipv4Address::BROADCAST,
            IpChoice::SubnetBroadcast => SUBNET_BROADCAST,
            IpChoice::Unspecified => Ipv4Address::UNSPECIFIED,
            IpChoice::Network => Ipv4Address::new(10, 0, 0, 0),
            IpChoice::OnLink(b) => Ipv4Address::new(10, 0, 0, b),
            IpChoice::OffLink(b) => Ipv4Address::new(192, 0, 2, b),
            IpChoice::Multicast(b) => Ipv4Address::new(224, 0, 0, b),
            IpChoice::Loopback => Ipv4Address::new(127, 0, 0, 1),
            IpChoice::Random(b) => Ipv4Address::from_octets(b),
        }
    }
}

/// A UDP port: mostly one the scripts bind.
#[derive(Debug, Clone, Copy)]
pub enum PortChoice {
    /// One of [`PORTS`] (index taken modulo the set).
    Known(u8),
    /// Port 0.
    Zero,
    /// Anything at all.
    Random(u16),
}

impl<'a> Arbitrary<'a> for PortChoice {
    /// Three times in four a known port, so bound ports are hit often.
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u8::arbitrary(u)? {
            0..=191 => PortChoice::Known(u8::arbitrary(u)?),
            192..=207 => PortChoice::Zero,
            _ => PortChoice::Random(u16::arbitrary(u)?),
        })
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (1, Some(3))
    }
}

impl PortChoice {
    /// The port number this choice stands for.
    pub fn resolve(self) -> u16 {
        match self {
            PortChoice::Known(i) => PORTS[usize::from(i) % PORTS.len()],
            PortChoice::Zero => 0,
            PortChoice::Random(p) => p,
        }
    }
}

//! How the interface under test is made: the part of a script that comes first.
//!
//! Default sizes exercise the paths a real deployment runs; tiny ones make every bound
//! (ARP table, ARP wait queues, UDP ports and queues, transmit backlog, NIC rings,
//! buffer pool, MTU) reachable within a few actions.

use crate::addrs::{OUR_IP, PEER_IPS, PEER_MACS, PREFIX_LEN};
use arbitrary::Arbitrary;
use ix_net::Config;

/// Block size of the buffer pool: a full Ethernet frame fits, a jumbo one does not.
pub const BLOCK_SIZE: usize = 2048;

/// The interface's construction parameters.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct Setup {
    /// Table, queue and pool sizes.
    pub sizes: Sizes,
    /// Whether peer 0 (10.0.0.1) is the default gateway.
    pub gateway: bool,
    /// Whether peer 0's MAC is in the ARP table as a permanent entry from the start.
    pub static_peer: bool,
    /// Whether datagrams to unbound ports are answered with ICMP port unreachable.
    pub port_unreachable: bool,
    /// The MTU.
    pub mtu: Mtu,
    /// Whether the transport takes ICMP (other than echo requests) as well as TCP.
    pub transport_icmp: bool,
}

/// Sizes of every bounded structure.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sizes {
    /// `Config::new`'s defaults, 1,024-deep NIC rings, 192 buffers (three bursts).
    Default,
    /// Two of everything, a 4-frame transmit backlog, 8-deep NIC rings, 96 buffers:
    /// every bound is reached before the pool runs dry.
    Tiny,
    /// `Config::new`'s defaults but only 16 buffers: the pool runs dry first.
    Starved,
}

/// The interface MTU.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mtu {
    /// 1,500.
    Ethernet,
    /// 576, the smallest every IPv4 host must accept.
    Small,
    /// 68, the smallest IPv4 allows.
    Minimum,
}

impl Mtu {
    /// The MTU in bytes (IPv4 header included).
    pub fn bytes(self) -> usize {
        match self {
            Mtu::Ethernet => 1500,
            Mtu::Small => 576,
            Mtu::Minimum => 68,
        }
    }
}

impl Setup {
    /// Default sizes, peer 0 as gateway and statically resolved: the raw-bytes target's world.
    pub const PLAIN: Setup = Setup {
        sizes: Sizes::Default,
        gateway: true,
        static_peer: true,
        port_unreachable: true,
        mtu: Mtu::Ethernet,
        transport_icmp: false,
    };

    /// The interface configuration.
    pub fn config(&self) -> Config {
        let mut c = Config::new(OUR_IP, PREFIX_LEN);
        if self.gateway {
            c = c.with_gateway(PEER_IPS[0]);
        }
        c.mtu = self.mtu.bytes();
        c.icmp_port_unreachable = self.port_unreachable;
        if self.sizes == Sizes::Tiny {
            c.tx_backlog = 4;
            c.udp_ports = 2;
            c.udp_queue_depth = 2;
            c.icmp_error_burst = 2;
            c.arp.table_size = 2;
            c.arp.pending_hops = 2;
            c.arp.pending_per_hop = 2;
        }
        c
    }

    /// Depth of each NIC ring.
    pub fn ring_depth(&self) -> usize {
        match self.sizes {
            Sizes::Tiny => 8,
            Sizes::Default | Sizes::Starved => ix_fakenic::DEFAULT_RING_DEPTH,
        }
    }

    /// Buffers in the pool.
    pub fn pool_blocks(&self) -> usize {
        match self.sizes {
            Sizes::Default => 192,
            Sizes::Tiny => 96,
            Sizes::Starved => 16,
        }
    }

    /// The permanent ARP entry to install, if any.
    pub fn static_entry(&self) -> Option<(std::net::Ipv4Addr, [u8; 6])> {
        self.static_peer.then_some((PEER_IPS[0], PEER_MACS[0].0))
    }
}

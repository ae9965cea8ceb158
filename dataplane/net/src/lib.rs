//! ix's per-core network layers below TCP: Ethernet, ARP, IPv4, ICMP and UDP.
//!
//! One [`Interface`] per core drives one NIC queue pair run-to-completion:
//! [`Interface::poll`] receives a burst (at most [`ix_nic::BURST`] frames, never
//! waiting), takes each frame through Ethernet, ARP or IPv4 and on to ICMP, UDP or
//! the upper-layer [`Transport`] (the TCP engine), lets the transport run its timers,
//! ages ARP, and transmits what was produced in bursts.
//!
//! Everything is generic over [`ix_nic::Nic`] and [`ix_nic::Clock`], so the same
//! code runs on DPDK mbufs and on the fake NIC. Only `smoltcp::wire` is used (packet
//! views and checksums): its `Interface` scans every socket per packet and copies
//! payload into socket rings, which is what ix exists to avoid.
//!
//! Steady-state rules, enforced by construction and tested: no allocation (every
//! table and queue is preallocated and bounded), no locks, no system calls, no
//! logging, and no payload copies except where the API says so (counted by
//! [`ix_nic::copy`]). Malformed input is counted by reason in [`Stats`] and dropped;
//! it never panics.
//!
//! Upper layers receive through [`Transport::receive`] (packets of the protocols
//! they [`accept`](Transport::accepts), TCP by default, plus any ICMP message the
//! interface does not answer itself if they accept ICMP) and transmit through a
//! [`TxContext`]: [`TxContext::packet`] gives an [`OutPacket`] with the Ethernet and
//! IPv4 headers reserved, the caller writes its L4 header and attaches payload by
//! reference, and [`TxContext::send`] emits the IPv4 header, resolves the next hop
//! and queues the frame.
//!
//! Layout, one concept per file: [`config`], [`stats`], [`checksum`], [`ethernet`],
//! [`arp`] (the protocol; [`arp::cache`] the table; [`arp::pending`] packets
//! awaiting resolution), [`ipv4`], [`icmp`], [`udp`] ([`udp::table`] bound ports),
//! [`packet`] (outgoing packets), [`context`] (the transmit context), [`txqueue`],
//! [`transport`] (the upper-layer hook), `ingress` (one frame's receive path) and
//! [`iface`] (the per-core interface and its poll loop).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod arp;
pub mod checksum;
pub mod config;
pub mod context;
pub mod ethernet;
pub mod icmp;
pub mod iface;
mod ingress;
pub mod ipv4;
pub mod packet;
pub mod stats;
pub mod transport;
pub mod txqueue;
pub mod udp;

#[cfg(test)]
mod testutil;

pub use config::{ArpConfig, Config, ConfigError};
pub use context::{SendError, Sent, TxContext};
pub use iface::{Interface, PollReport};
pub use ipv4::Ipv4Info;
pub use packet::OutPacket;
pub use stats::{DropReason, Event, Stats};
pub use transport::Transport;
pub use udp::{Datagram, UdpError};

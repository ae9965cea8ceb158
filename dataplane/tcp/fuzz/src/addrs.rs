//! The addresses of the fuzzed world: the engine's interface and its peers.

use std::net::Ipv4Addr;

/// The engine's address.
pub const OUR_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// The engine's Ethernet address.
pub const OUR_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
/// The subnet's prefix length.
pub const PREFIX_LEN: u8 = 24;

/// Peers the harness plays. The first [`RESOLVED_PEERS`] have static ARP entries;
/// the last never answers ARP, so what the engine sends it waits for resolution and
/// is dropped when ARP gives up (the interface's wait queues and their release are
/// exercised with TCP frames in them).
pub const PEER_IPS: [Ipv4Addr; 4] = [
    Ipv4Addr::new(10, 0, 0, 2),
    Ipv4Addr::new(10, 0, 0, 3),
    Ipv4Addr::new(10, 0, 0, 4),
    Ipv4Addr::new(10, 0, 0, 9),
];

/// Peers with a static ARP entry (the first ones of [`PEER_IPS`]).
pub const RESOLVED_PEERS: usize = 3;

/// A peer's Ethernet address.
pub fn peer_mac(peer: usize) -> [u8; 6] {
    [2, 0, 0, 0, 1, peer as u8]
}

/// The index in [`PEER_IPS`] of `ip`, if it is a peer.
pub fn peer_index(ip: Ipv4Addr) -> Option<usize> {
    PEER_IPS.iter().position(|&p| p == ip)
}

/// The engine's listening ports at the start (more may be opened by the script).
pub const LISTEN_PORT: u16 = 80;
/// A second port a script may listen on.
pub const OTHER_PORT: u16 = 81;
/// A port nothing listens on (segments to it are answered with RST).
pub const CLOSED_PORT: u16 = 9;
/// The peers' ports for the connections made at set-up: `PEER_PORT_BASE + k`.
pub const PEER_PORT_BASE: u16 = 40_000;
/// The peers' listening port for the engine's active opens at set-up.
pub const PEER_LISTEN_PORT: u16 = 7_000;

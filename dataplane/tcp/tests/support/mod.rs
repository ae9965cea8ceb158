//! Test harness: two hosts (interface + TCP engine + a scripted application) over a
//! fake link, on a virtual clock; and a raw peer for packet-level tests, whose
//! segments are built by name ([`Peer`], [`Seg`]) and whose usual handshake is
//! [`Raw::handshake`].
#![allow(dead_code, unused_imports)]

mod host;
mod net;
mod peer;
mod raw;

pub use host::{App, ConnLog, Host};
pub use net::{faulty_pair, pair, pair_with, Faulty, Net};
pub use peer::{syn_opts, Handshake, Peer, Seg};
pub use raw::{data_seqs, payload_len, shape, tcp_frame, Out, Raw};

use ix_tcp::header::Flags;
use ix_tcp::options::TcpOptions;
use ix_tcp::TcpConfig;
use std::net::Ipv4Addr;
use std::time::Duration;

pub const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 1];
pub const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 2];

/// The raw peer's usual ISN: its first data byte is `PEER_ISN + 1`.
pub const PEER_ISN: u32 = 1000;
/// The raw peer's usual port.
pub const SPORT: u16 = 4000;
/// The raw peer's first data byte.
pub const NXT: u32 = PEER_ISN + 1;
/// The port the raw engine listens on in most tests.
pub const PORT: u16 = 80;
/// The raw peer of most tests: `SPORT` talking to `PORT`.
pub const PEER: Peer = Peer::new(SPORT, PORT);
/// The usual handshake from `PEER`: ISN `PEER_ISN`, MSS 1460, no SACK, no delay.
pub const OPEN: Handshake = Handshake::new(PEER, PEER_ISN);

/// SYN and ACK together.
pub const SYN_ACK: Flags = Flags::SYN.with(Flags::ACK);
/// FIN and ACK together.
pub const FIN_ACK: Flags = Flags::FIN.with(Flags::ACK);
/// PSH and ACK together (a data segment ending a write).
pub const PSH_ACK: Flags = Flags::PSH.with(Flags::ACK);
/// RST and ACK together (the answer to a segment without ACK).
pub const RST_ACK: Flags = Flags::RST.with(Flags::ACK);

/// A deterministic configuration for tests.
pub fn cfg() -> TcpConfig {
    TcpConfig {
        secret: Some([9; 16]),
        max_conns: 64,
        time_wait_max: 64,
        ..TcpConfig::default()
    }
}

/// No TCP options.
pub fn none() -> TcpOptions {
    TcpOptions::default()
}

/// `n` milliseconds.
pub const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `n` microseconds.
pub const fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// Pseudo-random bytes.
pub fn pattern(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

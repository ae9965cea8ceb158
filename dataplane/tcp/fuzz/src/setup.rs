//! How the engine under test is made, and which connections exist before the
//! script's actions: the part of an input that comes first.
//!
//! Roomy sizes run the paths a deployment runs; tight ones make every bound
//! (connection table, SYN queue and accept backlog, TIME_WAIT ring, send and receive
//! buffers, receive and out-of-order queues, the interface's transmit backlog)
//! reachable within a few actions; a starved pool makes allocation fail.

use arbitrary::Arbitrary;
use ix_tcp::{KeepaliveConfig, TcpConfig};
use std::time::Duration;

/// Block size of the buffer pool: a full Ethernet frame fits.
pub const BLOCK_SIZE: usize = 2048;

/// The engine's construction parameters and the connections opened first.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setup {
    /// Table, buffer and pool sizes.
    pub sizes: Sizes,
    /// Passive connections (peer to our listener) opened first: 1 + this % 4.
    pub passive: u8,
    /// Active connections (ours to a peer) opened first: this % 3.
    pub active: u8,
    /// Engine features.
    pub features: Features,
    /// The options the peers put on their SYNs during set-up.
    pub peer: PeerSyn,
    /// The engine's MSS: 1,460 or 536.
    pub small_mss: bool,
    /// The peers' first sequence number (connection k uses this + k * 2^28, so
    /// some connections cross the 2^32 wrap early).
    pub peer_isn: u32,
    /// A fixed initial sequence number for the engine (else hashed per 4-tuple).
    pub engine_isn: Option<u32>,
}

/// Table and pool sizes.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sizes {
    /// 16 connections, 64 KiB buffers, 1,024 pool blocks.
    Roomy,
    /// Two or four of everything, 4 KiB buffers, 256 blocks, a 4-frame transmit
    /// backlog and 16-deep NIC rings (a flight of a dozen segments fills them).
    Tight,
    /// Roomy tables over only 64 pool blocks.
    Starved,
}

/// Engine features, each on or off.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// Offer and use SACK.
    pub sack: bool,
    /// Report duplicates with D-SACK blocks (RFC 2883), when SACK is on.
    pub dsack: bool,
    /// Offer window scaling.
    pub window_scaling: bool,
    /// Answer with SYN cookies when the SYN queue is full.
    pub syncookies: bool,
    /// Keepalive probing (5 s idle, 1 s interval, 3 probes).
    pub keepalive: bool,
    /// A 20 s user timeout.
    pub user_timeout: bool,
    /// ACK every segment at once (else every second, or after 500 µs).
    pub quick_ack: bool,
    /// RFC 7323 timestamps: the engine's and the peers' (who then offer TSopt on
    /// their SYNs and put it, as the script chooses, on every segment). Not
    /// decoded here: [`crate::grammar::Script`] takes it from the input's first bit.
    #[arbitrary(default)]
    pub timestamps: bool,
}

/// What the peers offer on their SYNs (and SYN-ACKs) at set-up.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerSyn {
    /// An MSS option, if any (none means 536).
    pub mss: Option<PeerMss>,
    /// A window scale option, if any (the shift is taken modulo 16).
    pub wscale: Option<u8>,
    /// SACK permitted.
    pub sack: bool,
}

/// An MSS the peers offer.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerMss {
    /// 1,460.
    Ethernet,
    /// 536.
    Minimum,
    /// 100: tiny segments, many of them.
    Tiny,
}

impl PeerMss {
    /// The value.
    pub fn value(self) -> u16 {
        match self {
            PeerMss::Ethernet => 1460,
            PeerMss::Minimum => 536,
            PeerMss::Tiny => 100,
        }
    }
}

impl Setup {
    /// Passive connections opened at set-up.
    pub fn passive_count(&self) -> usize {
        usize::from(self.passive % 4) + 1
    }

    /// Active connections opened at set-up.
    pub fn active_count(&self) -> usize {
        usize::from(self.active % 3)
    }

    /// The engine's configuration.
    pub fn config(&self) -> TcpConfig {
        let f = self.features;
        let base = TcpConfig {
            secret: Some([0x5a; 16]),
            fixed_isn: self.engine_isn,
            max_conns: 16,
            time_wait_max: 16,
            syn_backlog: 8,
            accept_backlog: 8,
            send_buf: 64 * 1024,
            recv_buf: 64 * 1024,
            send_pieces: 64,
            recv_segments: 64,
            ooo_segments: 16,
            ooo_bytes_total: 256 * 1024,
            msl: Duration::from_secs(2),
            fin_wait2_timeout: Duration::from_secs(10),
            mss: if self.small_mss { 536 } else { 1460 },
            sack: f.sack,
            dsack: f.dsack,
            window_scaling: f.window_scaling,
            syncookies: f.syncookies,
            keepalive: f.keepalive.then_some(KeepaliveConfig {
                idle: Duration::from_secs(5),
                interval: Duration::from_secs(1),
                probes: 3,
            }),
            user_timeout: f.user_timeout.then_some(Duration::from_secs(20)),
            delack_segments: if f.quick_ack { 1 } else { 2 },
            timestamps: f.timestamps,
            ..TcpConfig::default()
        };
        match self.sizes {
            Sizes::Roomy | Sizes::Starved => base,
            Sizes::Tight => TcpConfig {
                // Room for the set-up connections (at most 6) and a couple more.
                max_conns: 8,
                time_wait_max: 2,
                syn_backlog: 2,
                accept_backlog: 2,
                send_buf: 6000,
                recv_buf: 4096,
                send_pieces: 4,
                recv_segments: 4,
                ooo_segments: 3,
                ooo_bytes_total: 6000,
                syn_retries: 2,
                synack_retries: 2,
                max_retransmits: 4,
                ..base
            },
        }
    }

    /// Blocks in the buffer pool.
    pub fn pool_blocks(&self) -> usize {
        match self.sizes {
            Sizes::Roomy => 1024,
            Sizes::Tight => 256,
            Sizes::Starved => 64,
        }
    }

    /// Depth of the NIC's rings, if not the default.
    pub fn ring_depth(&self) -> Option<usize> {
        (self.sizes == Sizes::Tight).then_some(16)
    }

    /// The interface's transmit backlog.
    pub fn tx_backlog(&self) -> usize {
        match self.sizes {
            Sizes::Tight => 4,
            _ => 1024,
        }
    }

    /// The peers' initial sequence number for set-up connection `k`.
    pub fn isn(&self, k: usize) -> u32 {
        self.peer_isn.wrapping_add((k as u32) << 28)
    }
}

//! `ix-run`'s command line.

use clap::{Parser, ValueEnum};
use echo_ix::cli::{ClientArgs, ServiceArgs};
use std::path::PathBuf;

/// Which port to run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NicKind {
    /// A DPDK tap port, kernel side in a network namespace.
    Tap,
    /// The vhost-user end of a shared-memory pair (creates --socket).
    Vhost,
    /// The virtio_user end of a shared-memory pair (connects to --socket).
    Virtio,
}

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "Runs echo-ix (server, or client with --client) on one elastic thread")]
pub struct Args {
    /// The port: tap, or one end of a shared-memory pair (vhost, virtio).
    #[arg(long, value_enum, default_value_t = NicKind::Tap)]
    pub nic: NicKind,
    /// vhost/virtio: the vhost-user socket (the vhost end creates it, deleting a
    /// stale file first; the virtio end waits for it).
    #[arg(long)]
    pub socket: Option<PathBuf>,
    /// virtio: the port's MAC address (default: random).
    #[arg(long)]
    pub mac: Option<String>,
    /// A permanent ARP entry IP=MAC (repeatable); otherwise ARP resolves.
    #[arg(long = "static-arp", value_name = "IP=MAC")]
    pub static_arp: Vec<String>,
    /// virtio: seconds to wait for the vhost end's socket.
    #[arg(long, default_value_t = 30)]
    pub socket_wait_secs: u64,
    /// Client on a pair: seconds to wait for the link before starting.
    #[arg(long, default_value_t = 30)]
    pub link_wait_secs: u64,
    /// virtio: seconds to wait at exit for the vhost end to go first.
    #[arg(long, default_value_t = 10)]
    pub linger_secs: u64,
    /// tap: kernel name of the tap interface.
    #[arg(long, default_value = "ixr0")]
    pub iface: String,
    /// tap: network namespace for the tap's kernel side ("" = the current one).
    #[arg(long, default_value = "ix-run")]
    pub netns: String,
    /// tap: address of the kernel side, with prefix length.
    #[arg(long, default_value = "10.78.0.1/24")]
    pub host_addr: String,
    /// Address ix answers on, optionally with a prefix length (tap: default the
    /// host side's; pair: default /24).
    #[arg(long, default_value = "10.78.0.2")]
    pub addr: String,
    /// The services served (without --client).
    #[command(flatten)]
    pub services: ServiceArgs,
    /// The echo client (with --client).
    #[command(flatten)]
    pub client: ClientArgs,
    /// A TOML file with a `[fault]` table: wrap the NIC in the fault injector.
    #[arg(long)]
    pub fault_plan: Option<PathBuf>,
    /// Core of the elastic thread (of every thread, with --threads and no --cores).
    #[arg(long, default_value_t = 1)]
    pub core: u32,
    /// Elastic threads, each on its own queue of the tap (default: one per --cores
    /// entry, else 1). Flows are steered to threads by flow group; each client
    /// thread opens --conns connections of its own.
    #[arg(long)]
    pub threads: Option<u16>,
    /// Cores of the elastic threads, e.g. "1,1" (two threads sharing core 1) or
    /// "2-5"; the first is the EAL's main core.
    #[arg(long)]
    pub cores: Option<String>,
    /// Receive burst bound (1..=64).
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Spin forever when idle instead of backing off (a dedicated core).
    #[arg(long)]
    pub spin: bool,
    /// Once started, give the elastic thread (this process's main thread, not the
    /// EAL's helper threads) SCHED_FIFO priority N (1-99, via chrt), so other
    /// processes on its core cannot preempt it: a dedicated core's behaviour on a
    /// shared machine. The kernel's RT throttling still leaves others 5% of the
    /// core. 0 = normal scheduling.
    #[arg(long, default_value_t = 0)]
    pub rt_priority: u8,
    /// EAL memory in MiB (default: 512 on tap, 256 on a pair).
    #[arg(long)]
    pub memory_mb: Option<u32>,
    /// Direct mbufs in the pool.
    #[arg(long, default_value_t = 16383)]
    pub mbufs: u32,
    /// Connections the TCP engine holds.
    #[arg(long, default_value_t = 4096)]
    pub max_conns: usize,
    /// Lower bound of TCP's retransmission timeout, ms (Linux: 200; a link whose
    /// round trip is tens of microseconds recovers far faster with a few ms).
    #[arg(long, default_value_t = 200)]
    pub rto_min_ms: u64,
    /// Stop after this many seconds (0 = run until signalled, or until done).
    #[arg(long, default_value_t = 0)]
    pub seconds: u64,
}

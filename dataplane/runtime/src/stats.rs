//! Per-thread statistics: plain counters the thread alone writes, copied into a
//! [`Snapshot`] now and then for outside readers (never per packet).

use crate::meter::{NicMeter, HIST_BUCKETS};
use core::fmt;

/// The elastic thread's own counters (the NIC's, the interface's and the engine's
/// are kept where they are counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Loop iterations.
    pub iterations: u64,
    /// Iterations that found work.
    pub busy_iterations: u64,
    /// Events handed to the application.
    pub events: u64,
    /// Calls the application made.
    pub calls: u64,
    /// Handler invocations.
    pub handler_runs: u64,
    /// Handler panics contained.
    pub handler_panics: u64,
    /// Connections reset because their handler panicked.
    pub panic_resets: u64,
    /// Nanoseconds in iterations that did work.
    pub busy_ns: u64,
    /// Nanoseconds in empty iterations and back-off.
    pub idle_ns: u64,
}

/// A copy of everything one elastic thread counts, taken on the thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The thread's index.
    pub thread: usize,
    /// The thread's clock when taken, ns.
    pub at_ns: u64,
    /// The loop's counters.
    pub counters: Counters,
    /// Packets, bytes and bursts at the NIC.
    pub nic: NicMeter,
    /// Payload bytes copied on this thread (`ix_nic::copy`; the application's copies
    /// count if it reports them there).
    pub copied_bytes: u64,
    /// Connections in the engine.
    pub conns: usize,
    /// Application timers armed.
    pub timers: usize,
    /// Whether the instance is marked failed.
    pub failed: bool,
    /// The interface's counters (drops by reason).
    pub net: ix_net::Stats,
    /// The engine's counters (drops by reason, retransmissions...).
    pub tcp: ix_tcp::TcpStats,
}

impl fmt::Display for Snapshot {
    /// One `name value` line per counter; zero-valued interface and engine counters
    /// are left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.counters;
        let n = &self.nic;
        let lines: [(&str, u64); 16] = [
            ("thread", self.thread as u64),
            ("iterations", c.iterations),
            ("busy_iterations", c.busy_iterations),
            ("rx_packets", n.rx_packets),
            ("rx_bytes", n.rx_bytes),
            ("tx_packets", n.tx_packets),
            ("tx_bytes", n.tx_bytes),
            ("rx_batches", n.rx_batches),
            ("events", c.events),
            ("calls", c.calls),
            ("handler_panics", c.handler_panics),
            ("panic_resets", c.panic_resets),
            ("busy_ns", c.busy_ns),
            ("idle_ns", c.idle_ns),
            ("copied_bytes", self.copied_bytes),
            ("conns", self.conns as u64),
        ];
        for (k, v) in lines {
            writeln!(f, "{k} {v}")?;
        }
        for (i, v) in n.rx_batch_hist.iter().enumerate().take(HIST_BUCKETS) {
            writeln!(f, "rx_batch_hist_{} {v}", 1u32 << i)?;
        }
        for (k, v) in self.net.iter().filter(|&(_, v)| v > 0) {
            writeln!(f, "net_{k} {v}")?;
        }
        for (k, v) in self.tcp.iter().filter(|&(_, v)| v > 0) {
            writeln!(f, "{} {v}", k.name())?;
        }
        writeln!(f, "failed {}", u8::from(self.failed))
    }
}

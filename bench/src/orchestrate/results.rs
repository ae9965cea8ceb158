//! The figures of each measurement's runs, read from the roles' RESULT lines.

use anyhow::{bail, Result};

use crate::kv::Fields;
use crate::stats::{rate, RttSummary};

/// One run of (a): DPDK tap -> kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct TapTxRun {
    /// Measured seconds.
    pub secs: f64,
    /// Frames the tap PMD accepted in `tx_burst`.
    pub accepted: u64,
    /// The PMD's `opackets` over the window.
    pub pmd_opackets: u64,
    /// The PMD's `oerrors` over the window.
    pub pmd_oerrors: u64,
    /// The kernel side's `rx_packets` over the window.
    pub kernel_rx: u64,
    /// The kernel side's `rx_dropped` over the window.
    pub kernel_rx_dropped: u64,
    /// Share of its core the transmitting loop got in the window, percent.
    pub cpu_pct: Option<f64>,
}

impl TapTxRun {
    /// Reads a run from the `tap-tx` role's RESULT line.
    pub(super) fn from_result(r: &Fields) -> Result<TapTxRun> {
        Ok(TapTxRun {
            secs: r.f64("secs")?,
            accepted: r.u64("accepted")?,
            pmd_opackets: r.u64("pmd_opackets")?,
            pmd_oerrors: r.u64("pmd_oerrors")?,
            kernel_rx: r.u64("kernel_rx")?,
            kernel_rx_dropped: r.u64("kernel_rx_dropped")?,
            cpu_pct: cpu_pct(r),
        })
    }

    /// Frames per second the kernel received.
    pub fn rate(&self) -> f64 {
        rate(self.kernel_rx, self.secs)
    }
}

/// One run of (b): kernel -> DPDK tap.
#[derive(Debug, Clone, PartialEq)]
pub struct TapRxRun {
    /// Measured seconds.
    pub secs: f64,
    /// Benchmark frames the tap PMD received in the window.
    pub received: u64,
    /// Frames the generator's af_packet PMD accepted, whole run.
    pub gen_accepted: u64,
    /// Sequence numbers the tap PMD never saw (lost frames), from the first
    /// frame to the window's end.
    pub lost: u64,
    /// The kernel side's `tx_packets` from before the first frame to the window's end.
    pub kernel_tx: u64,
    /// The kernel side's `tx_dropped`, same span: transmit attempts refused
    /// because the tap's queue was full (af_packet retries them).
    pub kernel_tx_dropped: u64,
    /// Share of its core the tap's receive loop got in the window, percent.
    pub cpu_pct: Option<f64>,
    /// Share of its core the generator got over its whole run, percent.
    pub peer_cpu_pct: Option<f64>,
}

impl TapRxRun {
    /// Reads a run from the RESULT lines of the `tap-rx` role (`r`) and of
    /// its generator (`gen`).
    pub(super) fn from_results(r: &Fields, gen: &Fields) -> Result<TapRxRun> {
        Ok(TapRxRun {
            secs: r.f64("secs")?,
            received: r.u64("received")?,
            gen_accepted: gen.u64("accepted")?,
            lost: r.u64("missing")?,
            kernel_tx: r.u64("kernel_tx_total")?,
            kernel_tx_dropped: r.u64("kernel_tx_dropped_total")?,
            cpu_pct: cpu_pct(r),
            peer_cpu_pct: cpu_pct(gen),
        })
    }

    /// Frames per second the tap PMD received.
    pub fn rate(&self) -> f64 {
        rate(self.received, self.secs)
    }
}

/// One run of the pair throughput.
#[derive(Debug, Clone, PartialEq)]
pub struct PairRun {
    /// Measured seconds.
    pub secs: f64,
    /// Frames the receiver got in the window.
    pub received: u64,
    /// Sequence numbers skipped (lost frames), whole run.
    pub missing: u64,
    /// Share of its core the receive loop got in the window, percent.
    pub cpu_pct: Option<f64>,
    /// Share of its core the sender got over its whole run, percent.
    pub peer_cpu_pct: Option<f64>,
}

impl PairRun {
    /// Reads a run from the RESULT lines of the receiver (`r`) and the sender.
    pub(super) fn from_results(r: &Fields, sender: &Fields) -> Result<PairRun> {
        Ok(PairRun {
            secs: r.f64("secs")?,
            received: r.u64("received")?,
            missing: r.u64("missing")?,
            cpu_pct: cpu_pct(r),
            peer_cpu_pct: cpu_pct(sender),
        })
    }

    /// Frames per second received.
    pub fn rate(&self) -> f64 {
        rate(self.received, self.secs)
    }
}

/// One run of the ping-pong at one burst size.
#[derive(Debug, Clone, PartialEq)]
pub struct PingRun {
    /// Frames per ping.
    pub burst: usize,
    /// Pings that timed out.
    pub lost: u64,
    /// Round-trip times.
    pub rtt: RttSummary,
    /// Share of its core the timing client got in the window, percent.
    pub cpu_pct: Option<f64>,
    /// Share of its core the reflector got over the whole run (all burst sizes), percent.
    pub peer_cpu_pct: Option<f64>,
}

impl PingRun {
    /// Reads the client's RESULT line for `burst`; fails if it is for another
    /// burst. `peer_cpu_pct` is left for the reflector's line.
    pub(super) fn from_result(r: &Fields, burst: usize) -> Result<PingRun> {
        let got = r.u64("burst")?;
        if got != burst as u64 {
            bail!("expected the result for burst {burst}, got burst {got}");
        }
        Ok(PingRun {
            burst,
            lost: r.u64("lost")?,
            rtt: RttSummary {
                count: r.u64("pings")?,
                min_ns: r.u64("min_ns")?,
                p50_ns: r.u64("p50_ns")?,
                p99_ns: r.u64("p99_ns")?,
                p999_ns: r.u64("p999_ns")?,
                max_ns: r.u64("max_ns")?,
            },
            cpu_pct: cpu_pct(r),
            peer_cpu_pct: None,
        })
    }
}

/// Everything measured, and what failed.
#[derive(Debug, Default)]
pub struct Results {
    /// (a) runs.
    pub tap_tx: Vec<TapTxRun>,
    /// (b) runs.
    pub tap_rx: Vec<TapRxRun>,
    /// Pair throughput runs.
    pub pair: Vec<PairRun>,
    /// Ping-pong runs, per burst size (in order).
    pub ping: Vec<(usize, Vec<PingRun>)>,
    /// Measurements that failed, with why.
    pub failures: Vec<String>,
}

/// The `cpu_pct` field of a RESULT line, if the role could measure it.
pub(super) fn cpu_pct(r: &Fields) -> Option<f64> {
    r.str("cpu_pct").ok()?.parse().ok()
}

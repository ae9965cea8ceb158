//! The receive loops: counting a measured window, and draining.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use ix_dpdk::{tsc, Burst, Port, BURST_MAX};

use super::control::{bail_if_stopped, stopped};
use super::cpu::CpuMeter;
use super::{cycles, measured_window, SETUP_TIMEOUT, WARMUP};
use crate::cli::RoleArgs;
use crate::frame::{self, SeqTracker};

/// What a receiver counted in its measured window.
pub(super) struct Window {
    /// Measured seconds.
    pub(super) secs: f64,
    /// Benchmark frames received in the window.
    pub(super) count: u64,
    /// Sequence gaps and reordering since the first frame.
    pub(super) tracker: SeqTracker,
    /// Other frames received.
    pub(super) other: u64,
    /// Share of its core the receiving loop got in the window.
    pub(super) cpu_pct: String,
}

impl Window {
    /// The `secs`, `received`, `other` and `missing` fields of a RESULT line.
    pub(super) fn fields(&self) -> [(&'static str, String); 4] {
        [
            ("secs", format!("{:.6}", self.secs)),
            ("received", self.count.to_string()),
            ("other", self.other.to_string()),
            ("missing", self.tracker.missing.to_string()),
        ]
    }
}

/// Counts benchmark frames received on `port` over a window of
/// `args.seconds` that starts `WARMUP` after the first one arrived.
pub(super) fn receive_window(
    args: &RoleArgs,
    port: &mut Port,
    stop: &AtomicBool,
) -> Result<Window> {
    let hz = tsc::hz();
    let mut rx = Burst::<BURST_MAX>::new();
    let mut tracker = SeqTracker::default();
    let (mut count, mut other) = (0u64, 0u64);
    let first_deadline = Instant::now() + SETUP_TIMEOUT;
    // Phase 0: waiting for the first frame; 1: warm-up; 2: measuring.
    let mut phase = 0;
    let (mut phase_end, mut start_count, mut start_tsc) = (0u64, 0u64, 0u64);
    let mut cpu = CpuMeter::start();
    let mut polls = 0u64;
    loop {
        port.rx_burst_max(0, &mut rx, args.burst)?;
        for m in rx.drain(..) {
            match frame::read_seq(m.data()) {
                Some(seq) => {
                    tracker.see(seq);
                    count += 1;
                }
                None => other += 1,
            }
        }
        polls += 1;
        if polls.is_multiple_of(64) {
            let now = tsc::rdtsc();
            if phase == 0 && count > 0 {
                phase = 1;
                phase_end = now + cycles(WARMUP, hz);
            } else if phase == 1 && now >= phase_end {
                phase = 2;
                start_count = count;
                start_tsc = now;
                cpu = CpuMeter::start();
                phase_end = now + cycles(measured_window(args), hz);
            } else if phase == 2 && now >= phase_end {
                return Ok(Window {
                    secs: (now - start_tsc) as f64 / hz as f64,
                    count: count - start_count,
                    tracker,
                    other,
                    cpu_pct: cpu.percent(),
                });
            }
            bail_if_stopped(stop)?;
            if phase == 0 && Instant::now() > first_deadline {
                bail!("no benchmark frame arrived within {SETUP_TIMEOUT:?}");
            }
        }
    }
}

/// Receives and drops everything until told to stop.
pub(super) fn drain_until_stop(port: &mut Port, stop: &AtomicBool) -> Result<()> {
    let mut rx = Burst::<BURST_MAX>::new();
    while !stopped(stop) {
        if port.rx_burst(0, &mut rx)? == 0 {
            std::thread::sleep(Duration::from_micros(100));
        }
        rx.clear();
    }
    Ok(())
}

//! The transmit loop of the throughput roles.

use std::sync::atomic::AtomicBool;

use anyhow::Result;
use ix_dpdk::{tsc, Burst, Mempool, Port, BURST_MAX};

use super::control::stopped;
use crate::cli::RoleArgs;
use crate::frame::{self, Mac};

/// What a [`Sender`] has counted so far.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SendCounts {
    /// Frames the driver accepted.
    pub(super) accepted: u64,
    /// tx bursts where the driver accepted fewer frames than offered.
    pub(super) short_bursts: u64,
}

impl SendCounts {
    /// What was counted after `earlier` (a snapshot of the same sender).
    pub(super) fn since(self, earlier: SendCounts) -> SendCounts {
        SendCounts {
            accepted: self.accepted - earlier.accepted,
            short_bursts: self.short_bursts - earlier.short_bursts,
        }
    }

    /// The `accepted` and `short_bursts` fields of a RESULT line.
    pub(super) fn fields(self) -> [(&'static str, String); 2] {
        [
            ("accepted", self.accepted.to_string()),
            ("short_bursts", self.short_bursts.to_string()),
        ]
    }
}

/// Fills bursts with numbered frames and offers them to a port, keeping
/// (and retrying first) whatever the driver refuses.
pub(super) struct Sender {
    burst: usize,
    frame_size: usize,
    dst: Mac,
    src: Mac,
    next_seq: u64,
    tx: Burst<BURST_MAX>,
    counts: SendCounts,
}

impl Sender {
    /// A sender of `args.burst` frames of `args.frame_size` bytes from `src`
    /// to `dst`, numbered from 0.
    pub(super) fn new(args: &RoleArgs, dst: Mac, src: Mac) -> Sender {
        Sender {
            burst: args.burst,
            frame_size: args.frame_size,
            dst,
            src,
            next_seq: 0,
            tx: Burst::new(),
            counts: SendCounts::default(),
        }
    }

    /// What it has counted since it was made.
    pub(super) fn counts(&self) -> SendCounts {
        self.counts
    }

    /// Tops the burst up to `burst` frames and offers it once.
    pub(super) fn step(&mut self, port: &mut Port, pool: &Mempool) -> Result<()> {
        let want = self.burst.saturating_sub(self.tx.len());
        if want > 0 && pool.alloc_bulk(&mut self.tx, want).is_ok() {
            let first_new = self.tx.len() - want;
            for m in &mut self.tx[first_new..] {
                let data = m.append(self.frame_size)?;
                frame::write_frame(data, self.dst, self.src, self.next_seq);
                self.next_seq += 1;
            }
        }
        let offered = self.tx.len();
        let sent = port.tx_burst_max(0, &mut self.tx, self.burst)?;
        self.counts.accepted += sent as u64;
        if sent < offered {
            self.counts.short_bursts += 1;
        }
        Ok(())
    }

    /// Sends until `until` (a TSC value) or a stop.
    pub(super) fn run_until(
        &mut self,
        port: &mut Port,
        pool: &Mempool,
        until: u64,
        stop: &AtomicBool,
    ) -> Result<()> {
        while tsc::rdtsc() < until && !stopped(stop) {
            self.step(port, pool)?;
        }
        Ok(())
    }

    /// Sends until a stop.
    pub(super) fn run_until_stop(
        &mut self,
        port: &mut Port,
        pool: &Mempool,
        stop: &AtomicBool,
    ) -> Result<()> {
        while !stopped(stop) {
            self.step(port, pool)?;
        }
        Ok(())
    }
}

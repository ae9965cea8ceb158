//! The ping-pong roles over a vhost-user/virtio_user pair: the vhost side
//! reflects (`pp-server`), the virtio_user side times round trips
//! (`pp-client`).

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, Result};
use ix_dpdk::{tsc, Burst, Mempool, Port, BURST_MAX};

use super::control::{bail_if_stopped, emit_result, stopped, wait_for_stop};
use super::cpu::CpuMeter;
use super::pair::{start_vhost_server, start_virtio_client, PAIR_DST, PAIR_SRC};
use super::{cycles, measured_window, SETUP_TIMEOUT, WARMUP};
use crate::cli::RoleArgs;
use crate::frame;
use crate::stats::{rtt_histogram, RttSummary};

/// A ping whose frames are not all back after this long counts as lost.
const PING_TIMEOUT: Duration = Duration::from_millis(200);

/// Ping-pong reflector: the vhost-user server sends every frame straight back.
pub(super) fn pp_server(args: &RoleArgs, stop: &AtomicBool) -> Result<()> {
    let mut dev = start_vhost_server(args)?;
    let port = &mut dev.port;
    let mut buf = Burst::<BURST_MAX>::new();
    let cpu = CpuMeter::start();
    let (mut reflected, mut polls) = (0u64, 0u64);
    loop {
        if buf.is_empty() {
            port.rx_burst(0, &mut buf)?;
            for m in buf.iter_mut() {
                frame::swap_macs(m.data_mut()?);
            }
        }
        if !buf.is_empty() {
            reflected += port.tx_burst(0, &mut buf)? as u64;
        }
        polls += 1;
        if polls.is_multiple_of(1024) && stopped(stop) {
            break;
        }
    }
    emit_result(&[&[
        ("reflected", reflected.to_string()),
        ("cpu_pct", cpu.percent()),
    ]]);
    Ok(())
}

/// Ping-pong client: for each burst size, sends `b` frames, waits until all
/// `b` are back, and records that round trip; a warm-up first, then
/// `args.seconds` of recorded round trips. One RESULT line per burst size.
pub(super) fn pp_client(args: &RoleArgs, stop: &AtomicBool) -> Result<()> {
    let mut dev = start_virtio_client(args)?;
    let hz = tsc::hz();
    let mut ping_id = 0u64;
    for &burst in &args.bursts {
        let mut hist = rtt_histogram()?;
        let mut lost = 0u64;
        let warm_end = tsc::rdtsc() + cycles(WARMUP, hz);
        // If the window passes without one complete round trip (a starved
        // core), keep going until one completes, up to this.
        let give_up = warm_end + cycles(measured_window(args) + SETUP_TIMEOUT, hz);
        let mut end = u64::MAX;
        let mut measuring = false;
        let mut cpu = CpuMeter::start();
        loop {
            let now = tsc::rdtsc();
            if !measuring && now >= warm_end {
                measuring = true;
                cpu = CpuMeter::start();
                end = now + cycles(measured_window(args), hz);
            }
            if (now >= end && (!hist.is_empty() || now >= give_up)) || stopped(stop) {
                break;
            }
            ping_id += 1;
            match ping(
                &mut dev.port,
                &dev.pool,
                burst,
                args.frame_size,
                ping_id,
                hz,
            )? {
                Some(rtt_cycles) if measuring => {
                    let ns = (u128::from(rtt_cycles) * 1_000_000_000 / u128::from(hz)) as u64;
                    hist.record(ns.max(1))?;
                }
                Some(_) => {}
                None if measuring => lost += 1,
                None => {}
            }
        }
        bail_if_stopped(stop)?;
        let s = RttSummary::of(&hist).context("no round trip completed")?;
        emit_result(&[&[
            ("burst", burst.to_string()),
            ("pings", s.count.to_string()),
            ("lost", lost.to_string()),
            ("min_ns", s.min_ns.to_string()),
            ("p50_ns", s.p50_ns.to_string()),
            ("p99_ns", s.p99_ns.to_string()),
            ("p999_ns", s.p999_ns.to_string()),
            ("max_ns", s.max_ns.to_string()),
            ("cpu_pct", cpu.percent()),
        ]]);
    }
    // Keep the port open until l2bench has stopped the reflector (vhost first).
    wait_for_stop(stop);
    Ok(())
}

/// One round trip of `burst` frames tagged `id`: returns the TSC cycles from
/// just before the first transmit to the arrival of the last frame back, or
/// `None` if not all came back within `PING_TIMEOUT`. Frames of earlier
/// (lost) pings that straggle in are ignored.
fn ping(
    port: &mut Port,
    pool: &Mempool,
    burst: usize,
    frame_size: usize,
    id: u64,
    hz: u64,
) -> Result<Option<u64>> {
    let mut tx = Burst::<BURST_MAX>::new();
    pool.alloc_bulk(&mut tx, burst)?;
    for m in &mut tx {
        frame::write_frame(m.append(frame_size)?, PAIR_DST, PAIR_SRC, id);
    }
    let mut rx = Burst::<BURST_MAX>::new();
    let start = tsc::rdtsc();
    let timeout = start + cycles(PING_TIMEOUT, hz);
    let mut back = 0usize;
    while back < burst {
        if !tx.is_empty() {
            port.tx_burst(0, &mut tx)?;
        }
        port.rx_burst(0, &mut rx)?;
        back += rx
            .drain(..)
            .filter(|m| frame::read_seq(m.data()) == Some(id))
            .count();
        if back < burst && tsc::rdtsc() > timeout {
            return Ok(None);
        }
    }
    Ok(Some(tsc::rdtsc() - start))
}

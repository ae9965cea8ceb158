//! The tap roles: (a) DPDK -> kernel (`tap-tx`), (b) kernel -> DPDK
//! (`tap-rx`) and (b)'s kernel-side generator (`afp-gen`). All run in the
//! namespace the orchestrator created for the tap's kernel side.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use ix_dpdk::{tsc, Burst, BURST_MAX};
use ix_hostlink::Netns;

use super::control::{bail_if_stopped, emit, emit_result, stopped, wait_for_stop};
use super::cpu::CpuMeter;
use super::device::Device;
use super::receiver::{drain_until_stop, receive_window};
use super::sender::Sender;
use super::{cycles, measured_window, WARMUP};
use crate::cli::RoleArgs;
use crate::frame::{format_mac, kernel_side_mac, Mac};

/// (a) DPDK -> kernel: the tap port transmits as fast as it can; the kernel
/// side's `rx_packets` says how many arrived.
pub(super) fn tap_tx(args: &RoleArgs, stop: &AtomicBool) -> Result<()> {
    let mut tap = TapPort::start(args)?;
    let Device { port, pool, .. } = &mut tap.dev;
    let hz = tsc::hz();
    let mut sender = Sender::new(args, tap.kernel_mac, tap.port_mac);
    sender.run_until(port, pool, tsc::rdtsc() + cycles(WARMUP, hz), stop)?;

    let names = ["rx_packets", "rx_dropped"];
    let k0 = kernel_counters(args, &names)?;
    let p0 = port.stats()?;
    let sent0 = sender.counts();
    let t0 = Instant::now();
    let cpu = CpuMeter::start();
    let window_end = tsc::rdtsc() + cycles(measured_window(args), hz);
    sender.run_until(port, pool, window_end, stop)?;
    let secs = t0.elapsed().as_secs_f64();
    let cpu_pct = cpu.percent();
    let p1 = port.stats()?;
    let k1 = kernel_counters(args, &names)?;
    bail_if_stopped(stop)?;
    emit_result(&[
        &[("secs", format!("{secs:.6}"))],
        &sender.counts().since(sent0).fields(),
        &[
            ("pmd_opackets", (p1.opackets - p0.opackets).to_string()),
            ("pmd_oerrors", (p1.oerrors - p0.oerrors).to_string()),
            ("kernel_rx", (k1[0] - k0[0]).to_string()),
            ("kernel_rx_dropped", (k1[1] - k0[1]).to_string()),
            ("cpu_pct", cpu_pct),
        ],
    ]);
    wait_for_stop(stop);
    Ok(())
}

/// (b) kernel -> DPDK: the tap port counts what the af_packet generator on
/// the kernel side sends it.
pub(super) fn tap_rx(args: &RoleArgs, stop: &AtomicBool) -> Result<()> {
    let mut tap = TapPort::start(args)?;
    let port = &mut tap.dev.port;
    let names = ["tx_packets", "tx_dropped"];
    let k0 = kernel_counters(args, &names)?;
    let p0 = port.stats()?;
    let w = receive_window(args, port, stop)?;
    let p1 = port.stats()?;
    let k1 = kernel_counters(args, &names)?;
    emit_result(&[
        &w.fields(),
        &[
            ("cpu_pct", w.cpu_pct.clone()),
            (
                "pmd_ipackets_total",
                (p1.ipackets - p0.ipackets).to_string(),
            ),
            ("pmd_imissed_total", (p1.imissed - p0.imissed).to_string()),
            ("kernel_tx_total", (k1[0] - k0[0]).to_string()),
            ("kernel_tx_dropped_total", (k1[1] - k0[1]).to_string()),
        ],
    ]);
    drain_until_stop(port, stop)
}

/// The kernel-side generator for (b): an af_packet port on the tap's kernel
/// interface transmitting frames addressed to the tap port, until stopped.
pub(super) fn afp_gen(args: &RoleArgs, stop: &AtomicBool) -> Result<()> {
    let _ns = enter_netns(args)?;
    let dst = args.dst_mac.context("no --dst-mac")?;
    let vdev = format!(
        "net_af_packet0,iface={},qpairs=1,qdisc_bypass=1,framecnt=2048",
        iface(args)?
    );
    let mut dev = Device::start(args, &vdev, "net_af_packet0")?;
    dev.wait_link("the af_packet link")?;
    let Device { port, pool, .. } = &mut dev;
    let src = port.mac()?;
    emit("READY", &[("mac", format_mac(src))]);
    let mut sender = Sender::new(args, dst, src);
    let mut rx = Burst::<BURST_MAX>::new();
    let cpu = CpuMeter::start();
    let mut n = 0u64;
    while !stopped(stop) {
        sender.step(port, pool)?;
        n += 1;
        if n.is_multiple_of(64) {
            // The socket also sees what the kernel sends; keep its ring empty.
            port.rx_burst(0, &mut rx)?;
            rx.clear();
        }
    }
    let s = port.stats()?;
    emit_result(&[
        &sender.counts().fields(),
        &[
            ("pmd_opackets", s.opackets.to_string()),
            ("pmd_oerrors", s.oerrors.to_string()),
            ("cpu_pct", cpu.percent()),
        ],
    ]);
    Ok(())
}

/// The tap port of (a) and (b), started and said READY (with its MAC).
/// Fields drop in order: the DPDK side first, the namespace handle last.
struct TapPort {
    dev: Device,
    /// The DPDK port's MAC.
    port_mac: Mac,
    /// The MAC given to the kernel side.
    kernel_mac: Mac,
    _ns: Netns,
}

impl TapPort {
    /// Joins the namespace, starts the tap port, brings up its kernel side
    /// (see [`tap_kernel_side`]) and says READY with the port's MAC.
    fn start(args: &RoleArgs) -> Result<TapPort> {
        let ns = enter_netns(args)?;
        let vdev = format!("net_tap0,iface={}", iface(args)?);
        let dev = Device::start(args, &vdev, "net_tap0")?;
        let (port_mac, kernel_mac) = tap_kernel_side(args, &dev)?;
        emit("READY", &[("mac", format_mac(port_mac))]);
        Ok(TapPort {
            dev,
            port_mac,
            kernel_mac,
            _ns: ns,
        })
    }
}

/// Moves this (main) thread into the orchestrator's namespace, before EAL
/// init: the tap and af_packet PMDs create their kernel-side objects in the
/// namespace of the thread that probes them.
fn enter_netns(args: &RoleArgs) -> Result<Netns> {
    let name = args.netns.as_deref().context("no --netns")?;
    if !Netns::exists(name) {
        bail!("network namespace {name} does not exist (l2bench creates it)");
    }
    // It exists, so this joins it without owning it: dropping leaves it.
    let ns = Netns::create_or_join(name)?;
    ns.enter_current_thread()?;
    Ok(ns)
}

/// The tap's kernel-side interface (`--iface`).
fn iface(args: &RoleArgs) -> Result<&str> {
    args.iface.as_deref().context("no --iface")
}

/// Reads counters of the tap's kernel side from
/// `/sys/class/net/IF/statistics/` as seen inside the namespace (sysfs shows
/// the namespace it was mounted in, hence `ip netns exec`, which remounts it).
fn kernel_counters(args: &RoleArgs, names: &[&str]) -> Result<Vec<u64>> {
    let netns = args.netns.as_deref().context("no --netns")?;
    let iface = iface(args)?;
    let paths: Vec<String> = names
        .iter()
        .map(|n| format!("/sys/class/net/{iface}/statistics/{n}"))
        .collect();
    let mut cmd = vec!["netns", "exec", netns, "cat"];
    cmd.extend(paths.iter().map(String::as_str));
    let out = ix_hostlink::run("ip", &cmd)?;
    let values = out
        .lines()
        .map(|l| l.trim().parse::<u64>())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parsing kernel counters {out:?}"))?;
    if values.len() != names.len() {
        bail!("expected {} kernel counters, got {out:?}", names.len());
    }
    Ok(values)
}

/// Brings up the tap's kernel side: its own MAC (the PMD gave it the port's),
/// up; then waits for the port's link. Returns (port MAC, kernel-side MAC).
fn tap_kernel_side(args: &RoleArgs, dev: &Device) -> Result<(Mac, Mac)> {
    let iface = iface(args)?;
    let port_mac = dev.port.mac()?;
    let kernel_mac = kernel_side_mac(port_mac);
    ix_hostlink::run(
        "ip",
        &["link", "set", iface, "address", &format_mac(kernel_mac)],
    )?;
    ix_hostlink::run("ip", &["link", "set", iface, "up"])?;
    dev.wait_link("the tap link")?;
    Ok((port_mac, kernel_mac))
}

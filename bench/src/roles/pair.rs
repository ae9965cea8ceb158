//! The pair throughput roles over a vhost-user/virtio_user pair: the vhost
//! side receives (`pair-rx`), the virtio_user side sends (`pair-tx`); and
//! how either side of the pair is started (shared with the ping-pong).

use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};

use super::control::{emit, emit_result, wait_for_stop};
use super::cpu::CpuMeter;
use super::device::Device;
use super::receiver::receive_window;
use super::sender::Sender;
use crate::cli::RoleArgs;
use crate::frame::Mac;

/// Source MAC of frames from virtio_user/vhost ports (their MACs are random).
pub(super) const PAIR_SRC: Mac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
/// Destination MAC of frames over the pair.
pub(super) const PAIR_DST: Mac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];

/// Pair receiver: the vhost-user server counts frames from the virtio_user sender.
pub(super) fn pair_rx(args: &RoleArgs, stop: &AtomicBool) -> Result<()> {
    let mut dev = start_vhost_server(args)?;
    let port = &mut dev.port;
    let p0 = port.stats()?;
    let w = receive_window(args, port, stop)?;
    let p1 = port.stats()?;
    emit_result(&[
        &w.fields(),
        &[
            ("reordered", w.tracker.reordered.to_string()),
            ("cpu_pct", w.cpu_pct.clone()),
            ("pmd_imissed_total", (p1.imissed - p0.imissed).to_string()),
        ],
    ]);
    // Stop receiving; the sender's ring fills and it just retries.
    wait_for_stop(stop);
    // The vhost side maps the virtio side's memory: it stops and closes first
    // (l2bench stops this process before the sender), when `dev` drops.
    Ok(())
}

/// Pair sender: the virtio_user client transmits as fast as it can until stopped.
pub(super) fn pair_tx(args: &RoleArgs, stop: &AtomicBool) -> Result<()> {
    let mut dev = start_virtio_client(args)?;
    let Device { port, pool, .. } = &mut dev;
    let mut sender = Sender::new(args, PAIR_DST, PAIR_SRC);
    let cpu = CpuMeter::start();
    sender.run_until_stop(port, pool, stop)?;
    emit_result(&[&sender.counts().fields(), &[("cpu_pct", cpu.percent())]]);
    Ok(())
}

/// Starts the vhost-user server on `--socket`, says READY (its socket now
/// exists, so the orchestrator may start the client) and waits for the
/// virtio_user side to connect.
pub(super) fn start_vhost_server(args: &RoleArgs) -> Result<Device> {
    let dev = Device::start(args, &socket_vdev(args, true)?, "net_vhost0")?;
    emit("READY", &[]);
    dev.wait_link("the virtio_user side")?;
    Ok(dev)
}

/// Starts the virtio_user client on `--socket` (the server must be up),
/// waits until it is connected, then says READY.
pub(super) fn start_virtio_client(args: &RoleArgs) -> Result<Device> {
    let dev = Device::start(args, &socket_vdev(args, false)?, "virtio_user0")?;
    dev.wait_link("the vhost side")?;
    emit("READY", &[]);
    Ok(dev)
}

/// The `--vdev` of the vhost-user server (`vhost`) or virtio_user client on `--socket`.
fn socket_vdev(args: &RoleArgs, vhost: bool) -> Result<String> {
    let socket = args.socket.as_deref().context("no --socket")?;
    let socket = socket.to_str().context("socket path is not UTF-8")?;
    Ok(if vhost {
        format!("net_vhost0,iface={socket},queues=1")
    } else {
        format!("virtio_user0,path={socket},queues=1")
    })
}

//! Bringing up a DPDK port over an existing kernel interface: `net_af_packet`
//! (AF_PACKET sockets) or `net_af_xdp` (AF_XDP sockets), e.g. on one end of a veth
//! pair in a network namespace. The namespace is entered before EAL init, since the
//! drivers open their sockets in the namespace of the thread that probes them.
//!
//! The peer must send complete checksums: on a veth pair, turn transmit checksum
//! offload off on the other end (`ethtool -K PEER tx off`; ixcp does), or the
//! kernel hands AF_PACKET/AF_XDP frames whose TCP checksum is still to be filled
//! in, and ix drops them.
//!
//! AF_XDP with DPDK 22.11 needs two more things, both handled here and in
//! `ports`: the receive pool packed back to back (`DpdkPool::new_packed`: the
//! driver registers `n` times the object size from the pool's start as its umem,
//! and a `--no-huge` pool padded to one mbuf per 4 KiB page is 1.7 times that, so
//! TX stalled for good once mbufs from beyond the umem were sent), and frames
//! sent as one segment (`Device::needs_linear_tx`). At close the driver keeps the
//! mbufs of its fill ring (2048), so the pool cannot be freed and the EAL is not
//! cleaned up: the instance logs a warning, and ixcp removes the EAL's runtime
//! directory after the process exits.

use crate::eal_settings::EalSettings;
use anyhow::{bail, Context, Result};
use ix_dpdk::nic::{DpdkNic, DpdkPool};
use ix_dpdk::{Eal, EalArgs, Port, PortConfig};
use ix_hostlink::Netns;
use std::time::Duration;

/// Which kernel socket family carries the frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelKind {
    /// AF_PACKET (`net_af_packet0`): works on any interface, copies each frame.
    AfPacket,
    /// AF_XDP (`net_af_xdp0`): needs XDP support on the interface and libbpf/libxdp.
    AfXdp,
}

impl KernelKind {
    /// The ethdev name of the port.
    pub fn port_name(self) -> &'static str {
        match self {
            KernelKind::AfPacket => "net_af_packet0",
            KernelKind::AfXdp => "net_af_xdp0",
        }
    }

    /// The `--vdev` specification for `queues` queue pairs on `iface`.
    pub fn vdev(self, iface: &str, queues: u16) -> String {
        match self {
            KernelKind::AfPacket => format!("net_af_packet0,iface={iface},qpairs={queues}"),
            // busy_budget=0: no preferred busy polling, which would make every
            // empty receive poll a recvfrom() syscall.
            KernelKind::AfXdp => format!(
                "net_af_xdp0,iface={iface},start_queue=0,queue_count={queues},busy_budget=0"
            ),
        }
    }
}

/// Where and how to bring the port up.
#[derive(Debug, Clone)]
pub struct KernelOptions {
    /// Socket family.
    pub kind: KernelKind,
    /// The kernel interface (it must exist).
    pub iface: String,
    /// Its namespace ("" = the current one); it must exist.
    pub netns: String,
    /// The core the EAL's main thread is pinned to.
    pub core: u32,
    /// Queue pairs, one per elastic thread.
    pub queues: u16,
    /// EAL memory, file prefix, extra arguments.
    pub eal: EalSettings,
    /// Direct mbufs in the pool (as many indirect ones again).
    pub mbufs: u32,
}

/// A running port on a kernel interface. Fields drop in order: the queue pairs (if
/// not taken), the pool, the EAL, then the namespace handle (never deleted here).
pub struct KernelPort {
    kind: KernelKind,
    nics: Vec<DpdkNic>,
    pool: DpdkPool,
    eal: Eal,
    _netns: Option<Netns>,
}

impl core::fmt::Debug for KernelPort {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KernelPort")
            .field("queues", &self.nics.len())
            .finish_non_exhaustive()
    }
}

impl KernelPort {
    /// Enters the namespace, raises the interface, starts the EAL with the driver's
    /// vdev, configures `opts.queues` queue pairs and waits for the link.
    pub fn bring_up(opts: &KernelOptions) -> Result<KernelPort> {
        if opts.iface.is_empty() || opts.iface.len() > 15 {
            bail!("interface {:?}: 1-15 characters", opts.iface);
        }
        if opts.queues == 0 {
            bail!("a port needs at least one queue pair");
        }
        let netns = if opts.netns.is_empty() {
            None
        } else {
            if !Netns::exists(&opts.netns) {
                bail!(
                    "network namespace {:?} does not exist (the interface must be in it)",
                    opts.netns
                );
            }
            let ns = Netns::create_or_join(&opts.netns)?;
            ns.enter_current_thread()?;
            Some(ns)
        };
        ix_hostlink::run("ip", &["link", "set", &opts.iface, "up"])
            .with_context(|| format!("raising {} (does it exist?)", opts.iface))?;
        let eal_args = opts
            .eal
            .apply(EalArgs::new("ix-instance"), "ix-kernel")
            .no_pci()
            .lcores(&opts.core.to_string())
            .vdev(&opts.kind.vdev(&opts.iface, opts.queues))
            .build()?;
        let eal = Eal::init(&eal_args).context("starting DPDK's EAL")?;
        let pool = match opts.kind {
            KernelKind::AfPacket => DpdkPool::new(&eal, "ixkern", opts.mbufs, 256),
            // The driver takes the receive pool's memory as its umem (see there).
            KernelKind::AfXdp => DpdkPool::new_packed(&eal, "ixkern", opts.mbufs, 256),
        }
        .context("mbuf pools")?;
        let port_cfg = PortConfig {
            queues: opts.queues,
            rss: false,
            ..PortConfig::default()
        };
        let port = Port::configure_by_name(&eal, opts.kind.port_name(), &port_cfg, pool.direct())
            .with_context(|| format!("configuring {}", opts.kind.port_name()))?;
        let nics = DpdkNic::split(port, &pool).context("starting the port")?;
        if let Some(first) = nics.first() {
            first
                .port()
                .wait_link_up(Duration::from_secs(10))
                .context("waiting for the link")?;
        }
        Ok(KernelPort {
            kind: opts.kind,
            nics,
            pool,
            eal,
            _netns: netns,
        })
    }

    /// Takes every queue pair (once) to hand to elastic threads; drop them before
    /// this `KernelPort`.
    pub fn take_nics(&mut self) -> Vec<DpdkNic> {
        std::mem::take(&mut self.nics)
    }

    /// The socket family.
    pub fn kind(&self) -> KernelKind {
        self.kind
    }

    /// The mbuf pools.
    pub fn pool(&self) -> &DpdkPool {
        &self.pool
    }

    /// The EAL this port runs on (to make more pools on it).
    pub fn eal(&self) -> &Eal {
        &self.eal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vdevs_name_the_interface_and_queues() {
        assert_eq!(
            KernelKind::AfPacket.vdev("veth0", 2),
            "net_af_packet0,iface=veth0,qpairs=2"
        );
        assert_eq!(
            KernelKind::AfXdp.vdev("veth0", 1),
            "net_af_xdp0,iface=veth0,start_queue=0,queue_count=1,busy_budget=0"
        );
    }
}

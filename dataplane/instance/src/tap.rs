//! Bringing up a DPDK tap port whose kernel side lives in a network namespace (as
//! `ix-pingd` does): the namespace is entered before EAL init, since the tap PMD
//! creates its kernel interface in the namespace of the thread that probes it.

use crate::eal_settings::EalSettings;
use anyhow::{bail, Context, Result};
use ix_dpdk::nic::{DpdkNic, DpdkPool};
use ix_dpdk::{Eal, EalArgs, Port, PortConfig};
use ix_hostlink::Netns;
use ix_nic::Nic;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Where and how to bring the port up.
#[derive(Debug, Clone)]
pub struct TapOptions {
    /// Kernel name of the tap interface (1-15 characters).
    pub iface: String,
    /// Namespace for the kernel side ("" = the current one); created if missing and
    /// then removed on drop.
    pub netns: String,
    /// The kernel side's address and prefix length.
    pub host_addr: (Ipv4Addr, u8),
    /// The core the EAL's main thread (and so the elastic thread) is pinned to.
    pub core: u32,
    /// Queue pairs, one per elastic thread (more than one needs the runtime's
    /// deterministic tap steering).
    pub queues: u16,
    /// EAL memory, file prefix, extra arguments.
    pub eal: EalSettings,
    /// Direct mbufs in the pool (as many indirect ones again).
    pub mbufs: u32,
}

/// A running tap port. Fields drop in order: the NIC (if not taken), the pool, the
/// EAL, then the namespace.
pub struct TapPort {
    nic: Option<DpdkNic>,
    pool: DpdkPool,
    _eal: Eal,
    netns: Option<Netns>,
}

impl core::fmt::Debug for TapPort {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TapPort")
            .field("nic", &self.nic)
            .finish_non_exhaustive()
    }
}

/// A locally administered unicast MAC for the kernel side, distinct from the port's
/// (the two ends of a link must not share one).
fn kernel_side_mac(port: [u8; 6]) -> String {
    let m = [0x02, 0x00, port[2], port[3], port[4], port[5] ^ 0x01];
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl TapPort {
    /// Enters (or creates) the namespace, starts the EAL on `opts.core`, configures
    /// the tap port with one queue pair, and configures and raises the kernel side.
    pub fn bring_up(opts: &TapOptions) -> Result<TapPort> {
        if opts.iface.is_empty() || opts.iface.len() > 15 {
            bail!("--iface {:?}: 1-15 characters", opts.iface);
        }
        let netns = if opts.netns.is_empty() {
            None
        } else {
            let ns = Netns::create_or_join(&opts.netns)?;
            ns.enter_current_thread()?;
            Some(ns)
        };
        if opts.queues != 1 {
            bail!(
                "a tap port with {} queue pairs: only 1 is supported yet",
                opts.queues
            );
        }
        let eal_args = opts
            .eal
            .apply(EalArgs::new("ix-run"), "ix-run")
            .no_pci()
            .lcores(&opts.core.to_string())
            .vdev(&format!("net_tap0,iface={}", opts.iface))
            .build()?;
        let eal = Eal::init(&eal_args).context("starting DPDK's EAL")?;
        let pool = DpdkPool::new(&eal, "ixrun", opts.mbufs, 256).context("mbuf pools")?;
        let port_cfg = PortConfig {
            queues: 1,
            rss: false,
            ..PortConfig::default()
        };
        let port = Port::configure_by_name(&eal, "net_tap0", &port_cfg, pool.direct())
            .context("configuring the tap port")?;
        let nic = DpdkNic::new(port, &pool).context("starting the tap port")?;
        let (host, prefix) = opts.host_addr;
        let host_cidr = format!("{host}/{prefix}");
        ix_hostlink::run(
            "ip",
            &[
                "link",
                "set",
                &opts.iface,
                "address",
                &kernel_side_mac(nic.mac()),
            ],
        )?;
        ix_hostlink::run("ip", &["addr", "replace", &host_cidr, "dev", &opts.iface])?;
        ix_hostlink::run("ip", &["link", "set", &opts.iface, "up"])?;
        nic.port()
            .wait_link_up(Duration::from_secs(10))
            .context("waiting for the tap link")?;
        Ok(TapPort {
            nic: Some(nic),
            pool,
            _eal: eal,
            netns,
        })
    }

    /// Takes the queue pair (once) to hand to an elastic thread; drop it before
    /// this `TapPort`.
    pub fn take_nic(&mut self) -> Option<DpdkNic> {
        self.nic.take()
    }

    /// The mbuf pools.
    pub fn pool(&self) -> &DpdkPool {
        &self.pool
    }

    /// The namespace's name, if the kernel side is in one.
    pub fn netns(&self) -> Option<&str> {
        self.netns.as_ref().map(Netns::name)
    }
}

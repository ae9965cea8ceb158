//! Bringing up a DPDK tap port whose kernel side lives in a network namespace (as
//! `ix-pingd` does): the namespace is entered before EAL init, since the tap PMD
//! creates its kernel interface in the namespace of the thread that probes it.
//!
//! With more than one queue pair, the kernel's choice of queue for each frame it
//! sends into the tap is made deterministic: a steering program
//! (`ix_dpdk::tap_steering`) sends every IPv4/TCP flow to the queue of the thread
//! owning its flow group (`ix_runtime::FlowGroups`, by default 128 groups
//! round-robin over the queues) and everything else (ARP) to queue 0.

use crate::eal_settings::EalSettings;
use anyhow::{bail, Context, Result};
use ix_dpdk::nic::{DpdkNic, DpdkPool};
use ix_dpdk::tap_steering::{self, SteeringTable};
use ix_dpdk::{Eal, EalArgs, Port, PortConfig};
use ix_hostlink::Netns;
use ix_nic::Nic;
use ix_runtime::FlowGroups;
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
    /// The kernel side's address and prefix length; `None` leaves the kernel side
    /// without an address (e.g. enslaved to a bridge that holds the host's address).
    pub host_addr: Option<(Ipv4Addr, u8)>,
    /// The core the EAL's main thread (and so the elastic thread) is pinned to.
    pub core: u32,
    /// Queue pairs, one per elastic thread (1-16; with more than one, flows are
    /// steered to queues by the runtime's default flow groups).
    pub queues: u16,
    /// EAL memory, file prefix, extra arguments.
    pub eal: EalSettings,
    /// Direct mbufs in the pool (as many indirect ones again).
    pub mbufs: u32,
}

/// A running tap port. Fields drop in order: the NIC (if not taken), the pool, the
/// EAL, then the namespace.
pub struct TapPort {
    nics: Vec<DpdkNic>,
    iface: String,
    pool: DpdkPool,
    eal: Eal,
    netns: Option<Netns>,
}

impl core::fmt::Debug for TapPort {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TapPort")
            .field("iface", &self.iface)
            .field("nics", &self.nics)
            .finish_non_exhaustive()
    }
}

/// Queue pairs the tap PMD offers (`RTE_PMD_TAP_MAX_QUEUES`).
pub const MAX_TAP_QUEUES: u16 = 16;
/// Flow groups of the default steering (the runtime's default).
pub const DEFAULT_FLOW_GROUPS: usize = 128;

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
    /// the tap port with `opts.queues` queue pairs (steered by the default flow
    /// groups when more than one), and configures and raises the kernel side.
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
        if opts.queues == 0 || opts.queues > MAX_TAP_QUEUES {
            bail!(
                "a tap port with {} queue pairs: 1-{MAX_TAP_QUEUES} are supported",
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
            queues: opts.queues,
            rss: false,
            ..PortConfig::default()
        };
        let port = Port::configure_by_name(&eal, "net_tap0", &port_cfg, pool.direct())
            .context("configuring the tap port")?;
        if opts.queues > 1 {
            // Every queue is open now (configured), and no traffic flows yet.
            let groups = FlowGroups::new(DEFAULT_FLOW_GROUPS, usize::from(opts.queues))
                .context("flow groups for the tap's queues")?;
            steer_iface(&opts.iface, &groups, opts.queues)?;
        }
        let nics = DpdkNic::split(port, &pool).context("starting the tap port")?;
        let mac = nics
            .first()
            .map(Nic::mac)
            .context("the tap port's queues")?;
        ix_hostlink::run(
            "ip",
            &["link", "set", &opts.iface, "address", &kernel_side_mac(mac)],
        )?;
        if let Some((host, prefix)) = opts.host_addr {
            let host_cidr = format!("{host}/{prefix}");
            ix_hostlink::run("ip", &["addr", "replace", &host_cidr, "dev", &opts.iface])?;
        }
        ix_hostlink::run("ip", &["link", "set", &opts.iface, "up"])?;
        if let Some(nic) = nics.first() {
            nic.port()
                .wait_link_up(Duration::from_secs(10))
                .context("waiting for the tap link")?;
        }
        Ok(TapPort {
            nics,
            iface: opts.iface.clone(),
            pool,
            eal,
            netns,
        })
    }

    /// Takes the first queue pair (once) to hand to an elastic thread; drop it
    /// before this `TapPort`.
    pub fn take_nic(&mut self) -> Option<DpdkNic> {
        (!self.nics.is_empty()).then(|| self.nics.remove(0))
    }

    /// Takes every queue pair not taken yet, in queue order (queue `t` for elastic
    /// thread `t`); drop them before this `TapPort`.
    pub fn take_nics(&mut self) -> Vec<DpdkNic> {
        std::mem::take(&mut self.nics)
    }

    /// Steers the tap's flows by `groups` instead (the control plane moved groups
    /// between threads): group `g` to queue `groups.owner(g)`. Call it from a thread
    /// in the tap's namespace (the one that brought it up). Frames in flight keep
    /// the queue they had.
    pub fn steer(&self, groups: &FlowGroups, queues: u16) -> Result<()> {
        steer_iface(&self.iface, groups, queues)
    }

    /// The mbuf pools.
    pub fn pool(&self) -> &DpdkPool {
        &self.pool
    }

    /// The EAL this port runs on (to make more pools on it).
    pub fn eal(&self) -> &Eal {
        &self.eal
    }

    /// The namespace's name, if the kernel side is in one.
    pub fn netns(&self) -> Option<&str> {
        self.netns.as_ref().map(Netns::name)
    }
}

/// Attaches the steering program for `groups` over `queues` queues to `iface`.
fn steer_iface(iface: &str, groups: &FlowGroups, queues: u16) -> Result<()> {
    tap_steering::install(
        iface,
        &SteeringTable {
            key: groups.key(),
            owner: groups.owners(),
            queues,
        },
    )
    .with_context(|| format!("steering the tap {iface}'s queues by flow group"))?;
    Ok(())
}

//! A role's DPDK side: the EAL on its core, one mbuf pool and one port.

use anyhow::{Context, Result};
use ix_dpdk::mempool::DEFAULT_DATA_ROOM;
use ix_dpdk::{Eal, EalArgs, Mempool, Port, PortConfig};

use super::SETUP_TIMEOUT;
use crate::cli::RoleArgs;

/// The EAL, pool and port of a role. Fields drop in declaration order: the
/// port stops and closes first, then the pool goes, then the EAL cleans up.
/// Whatever holds mbufs of the pool (senders, bursts) is declared after the
/// `Device` in a role, so it is dropped before it.
pub(super) struct Device {
    /// The one started port, with one queue pair.
    pub(super) port: Port,
    /// The mbuf pool the port receives into and senders allocate from.
    pub(super) pool: Mempool,
    /// Kept for its drop (EAL cleanup), after the port and pool.
    _eal: Eal,
}

impl Device {
    /// Starts the EAL on the role's core with the one virtual device `vdev`,
    /// then configures and starts its port, called `port_name`.
    pub(super) fn start(args: &RoleArgs, vdev: &str, port_name: &str) -> Result<Device> {
        let eal_args = EalArgs::new("l2bench")
            .no_huge(args.memory_mb)
            .no_pci()
            .file_prefix(&args.prefix)
            .lcores(&args.core.to_string())
            .vdev(vdev)
            .log_level("notice")
            .build()?;
        let eal = Eal::init(&eal_args).context("starting DPDK's EAL")?;
        let pool = Mempool::new(&eal, "l2bench", 8191, 256, DEFAULT_DATA_ROOM)
            .context("creating the mbuf pool")?;
        let port = start_port(&eal, &pool, port_name)?;
        Ok(Device {
            port,
            pool,
            _eal: eal,
        })
    }

    /// Waits up to `SETUP_TIMEOUT` for the port's link; `peer` names what
    /// is waited for in the error.
    pub(super) fn wait_link(&self, peer: &str) -> Result<()> {
        self.port
            .wait_link_up(SETUP_TIMEOUT)
            .with_context(|| format!("waiting for {peer}"))?;
        Ok(())
    }
}

/// Configures and starts the port named `name` with one queue pair.
fn start_port(eal: &Eal, pool: &Mempool, name: &str) -> Result<Port> {
    let config = PortConfig {
        queues: 1,
        rx_desc: 1024,
        tx_desc: 1024,
        rss: false,
        mtu: None,
    };
    let mut port = Port::configure_by_name(eal, name, &config, pool)
        .with_context(|| format!("configuring port {name}"))?;
    port.start()
        .with_context(|| format!("starting port {name}"))?;
    Ok(port)
}

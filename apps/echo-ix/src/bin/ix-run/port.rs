//! The DPDK port ix-run runs on — a tap, or one end of a vhost-user/virtio_user
//! pair — brought up from the command line.

use crate::args::{Args, NicKind};
use crate::parse::parse_cidr;
use crate::settings::Settings;
use anyhow::{bail, Context, Result};
use echo_ix::tap::{TapOptions, TapPort};
use echo_ix::vhost::{parse_mac, PairKind, PairOptions, PairPort};
use ix_dpdk::nic::DpdkNic;
use ix_instance::eal_settings::EalSettings;
use std::time::Duration;

/// The port the instance runs on.
pub enum Device {
    /// A tap port (one queue per elastic thread).
    Tap(TapPort),
    /// One end of a shared-memory pair (one queue).
    Pair(PairPort),
}

/// A port just brought up: the device, the prefix length of ix's address on it,
/// and a description of where it is for the start-up line.
pub struct BroughtUp {
    /// The port.
    pub device: Device,
    /// Prefix length of ix's address (`--addr`'s, else the tap's or /24).
    pub prefix: u8,
    /// E.g. "tap ixr0; kernel side 10.78.0.1/24 in netns ix-run".
    pub description: String,
}

impl Device {
    /// Brings up the port `args` describe, with a queue per thread of `settings`,
    /// the EAL's main core on thread 0's core; a client on a pair waits for the link.
    pub fn bring_up(args: &Args, settings: &Settings) -> Result<BroughtUp> {
        let core = settings.cores[0];
        match args.nic {
            NicKind::Tap => {
                let host_addr = parse_cidr(&args.host_addr)?;
                if host_addr.0 == settings.addr {
                    bail!("--addr and --host-addr must differ");
                }
                let tap = TapPort::bring_up(&TapOptions {
                    iface: args.iface.clone(),
                    netns: args.netns.clone(),
                    host_addr: Some(host_addr),
                    core,
                    queues: u16::try_from(settings.threads()).context("too many threads")?,
                    eal: EalSettings {
                        memory_mb: args.memory_mb.unwrap_or(512),
                        ..EalSettings::default()
                    },
                    mbufs: args.mbufs,
                })?;
                let ns = tap.netns().unwrap_or("").to_owned();
                let description = format!(
                    "tap {}; kernel side {}/{}{}{}",
                    args.iface,
                    host_addr.0,
                    host_addr.1,
                    if ns.is_empty() { "" } else { " in netns " },
                    ns
                );
                Ok(BroughtUp {
                    device: Device::Tap(tap),
                    prefix: settings.addr_prefix.unwrap_or(host_addr.1),
                    description,
                })
            }
            NicKind::Vhost | NicKind::Virtio => {
                let kind = if args.nic == NicKind::Vhost {
                    PairKind::Vhost
                } else {
                    PairKind::Virtio
                };
                let socket = args
                    .socket
                    .clone()
                    .context("--socket PATH is needed with --nic vhost|virtio")?;
                let mac = args.mac.as_deref().map(parse_mac).transpose()?;
                let pair = PairPort::bring_up(&PairOptions {
                    kind,
                    socket: socket.clone(),
                    core,
                    eal: EalSettings {
                        memory_mb: args.memory_mb.unwrap_or(256),
                        ..EalSettings::default()
                    },
                    mbufs: args.mbufs,
                    mac,
                    socket_wait: Duration::from_secs(args.socket_wait_secs),
                })?;
                if settings.client.is_some() {
                    pair.wait_link_up(Duration::from_secs(args.link_wait_secs))?;
                }
                let description = format!(
                    "{} end of the pair on {}",
                    kind.port_name(),
                    socket.display()
                );
                Ok(BroughtUp {
                    device: Device::Pair(pair),
                    prefix: settings.addr_prefix.unwrap_or(24),
                    description,
                })
            }
        }
    }

    /// The queue pairs, in queue order (one per elastic thread).
    pub fn take_nics(&mut self) -> Vec<DpdkNic> {
        match self {
            Device::Tap(t) => t.take_nics(),
            Device::Pair(p) => p.take_nic().into_iter().collect(),
        }
    }

    /// Whether this is the virtio end of a pair, which waits at exit for the vhost
    /// end (see [`linger`](Self::linger)).
    pub fn lingers(&self) -> bool {
        matches!(self, Device::Pair(p) if p.kind() == PairKind::Virtio)
    }

    /// On the virtio end of a pair, waits up to `secs` for the vhost end (which
    /// maps this end's memory) to go first; `nic` is this end's queue pair.
    pub fn linger(&self, nic: &DpdkNic, secs: u64) {
        if let Device::Pair(p) = self {
            if !PairPort::linger(p.kind(), nic, Duration::from_secs(secs)) {
                eprintln!(
                    "ix-run: the vhost end is still up after {secs} s; closing the virtio end anyway"
                );
            }
        }
    }
}

//! Bringing up one end of a shared-memory pair between two DPDK processes: a
//! vhost-user port (`net_vhost0`, which creates and listens on a unix socket) or a
//! `virtio_user0` port (which connects to that socket). Frames move through virtio
//! rings in shared memory; no kernel network device is involved.
//!
//! Ordering, as `ix-l2pair` found it:
//!
//! - the vhost side creates its socket when its port is configured, so the virtio
//!   side waits for the socket file before it starts its EAL (the `virtio_user`
//!   device connects while it is probed);
//! - the vhost side maps the virtio side's memory, so at shutdown the vhost side
//!   stops and closes first; the virtio side waits (bounded) for its link to go
//!   down, which is the vhost side going away, before it closes
//!   ([`PairPort::linger`]);
//! - a stale socket file (left by a killed vhost process) is deleted before the
//!   vhost side starts, and the vhost side removes its socket when dropped.

use crate::eal_settings::EalSettings;
use anyhow::{bail, Context, Result};
use ix_dpdk::nic::{DpdkNic, DpdkPool};
use ix_dpdk::{Eal, EalArgs, Port, PortConfig};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Which end of the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairKind {
    /// The vhost-user backend: owns (creates, listens on) the socket.
    Vhost,
    /// The virtio_user frontend: connects to the vhost side's socket.
    Virtio,
}

impl PairKind {
    /// The ethdev name of the port.
    pub fn port_name(self) -> &'static str {
        match self {
            PairKind::Vhost => "net_vhost0",
            PairKind::Virtio => "virtio_user0",
        }
    }

    /// The `--vdev` specification for a port on `socket`.
    pub fn vdev(self, socket: &Path, mac: Option<[u8; 6]>) -> String {
        let path = socket.display();
        match self {
            PairKind::Vhost => format!("net_vhost0,iface={path},queues=1"),
            PairKind::Virtio => {
                let mut spec = format!("virtio_user0,path={path},queues=1,queue_size=1024");
                if let Some(m) = mac {
                    spec.push_str(",mac=");
                    spec.push_str(&format_mac(m));
                }
                spec
            }
        }
    }
}

/// Where and how to bring one end of the pair up.
#[derive(Debug, Clone)]
pub struct PairOptions {
    /// Which end.
    pub kind: PairKind,
    /// The vhost-user socket (made by the vhost side, connected to by the virtio side).
    pub socket: PathBuf,
    /// The core the EAL's main thread (and so the elastic thread) is pinned to.
    pub core: u32,
    /// EAL memory, file prefix, extra arguments (the vhost side maps all of the
    /// virtio side's memory).
    pub eal: EalSettings,
    /// Direct mbufs in the pool (as many indirect ones again).
    pub mbufs: u32,
    /// The virtio side's MAC address (`None`: the driver picks a random one). The
    /// vhost PMD's MAC is fixed by the driver.
    pub mac: Option<[u8; 6]>,
    /// Virtio side: how long to wait for the vhost side's socket to appear.
    pub socket_wait: Duration,
}

/// A running end of the pair. Fields drop in order: the NIC (if not taken, which
/// stops and closes the port), the pool, the EAL; then the socket file is removed
/// (vhost side).
pub struct PairPort {
    nic: Option<DpdkNic>,
    pool: DpdkPool,
    eal: Eal,
    kind: PairKind,
    socket: PathBuf,
}

impl core::fmt::Debug for PairPort {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PairPort")
            .field("kind", &self.kind)
            .field("socket", &self.socket)
            .field("nic", &self.nic)
            .finish_non_exhaustive()
    }
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(s: &str) -> Result<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut mac {
        let p = parts.next().context("a MAC address has six bytes")?;
        *b = u8::from_str_radix(p, 16).with_context(|| format!("bad MAC byte {p:?}"))?;
    }
    if parts.next().is_some() {
        bail!("a MAC address has six bytes");
    }
    Ok(mac)
}

/// Removes a socket file nobody listens on (left by a killed vhost process); refuses
/// to touch anything that is not a socket, or a socket a live process listens on.
fn remove_stale_socket(path: &Path) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        bail!("{} exists and is not a socket", path.display());
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        bail!(
            "a live process listens on {} (another vhost end?)",
            path.display()
        );
    }
    std::fs::remove_file(path)
        .with_context(|| format!("removing the stale socket {}", path.display()))
}

impl PairPort {
    /// Starts the EAL on `opts.core` with the pair device and configures and starts
    /// its port. The vhost side deletes a stale socket file first (its socket exists
    /// when this returns); the virtio side first waits for the socket to appear.
    pub fn bring_up(opts: &PairOptions) -> Result<PairPort> {
        let socket = &opts.socket;
        if socket.as_os_str().is_empty() {
            bail!("--socket is needed with a vhost or virtio NIC");
        }
        match opts.kind {
            PairKind::Vhost => remove_stale_socket(socket)?,
            PairKind::Virtio => {
                let until = Instant::now() + opts.socket_wait;
                while !socket.exists() {
                    if Instant::now() >= until {
                        bail!(
                            "no vhost-user socket at {} after {:?} (start the vhost side first)",
                            socket.display(),
                            opts.socket_wait
                        );
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
        let base = match opts.kind {
            PairKind::Vhost => "ix-run-vhost",
            PairKind::Virtio => "ix-run-virtio",
        };
        let eal_args = opts
            .eal
            .apply(EalArgs::new("ix-run"), base)
            .no_pci()
            .lcores(&opts.core.to_string())
            .log_level("notice")
            .vdev(&opts.kind.vdev(socket, opts.mac))
            .build()?;
        let eal = Eal::init(&eal_args).context("starting DPDK's EAL")?;
        let pool = DpdkPool::new(&eal, "ixpair", opts.mbufs, 256).context("mbuf pools")?;
        let port_cfg = PortConfig {
            queues: 1,
            rx_desc: 1024,
            tx_desc: 1024,
            rss: false,
            mtu: None,
        };
        let port = Port::configure_by_name(&eal, opts.kind.port_name(), &port_cfg, pool.direct())
            .with_context(|| format!("configuring {}", opts.kind.port_name()))?;
        let nic = DpdkNic::new(port, &pool).context("starting the pair port")?;
        Ok(PairPort {
            nic: Some(nic),
            pool,
            eal,
            kind: opts.kind,
            socket: socket.clone(),
        })
    }

    /// Waits up to `timeout` for the link (the peer attached and its queues ready).
    pub fn wait_link_up(&self, timeout: Duration) -> Result<()> {
        let nic = self.nic.as_ref().context("the NIC was taken")?;
        nic.port()
            .wait_link_up(timeout)
            .context("waiting for the pair's link (is the other side running?)")?;
        Ok(())
    }

    /// Takes the queue pair (once) to hand to an elastic thread; drop it before
    /// this `PairPort` (and, on the virtio side, after [`PairPort::linger`]).
    pub fn take_nic(&mut self) -> Option<DpdkNic> {
        self.nic.take()
    }

    /// The mbuf pools.
    pub fn pool(&self) -> &DpdkPool {
        &self.pool
    }

    /// The EAL this port runs on (to make more pools on it).
    pub fn eal(&self) -> &Eal {
        &self.eal
    }

    /// Which end this is.
    pub fn kind(&self) -> PairKind {
        self.kind
    }

    /// The socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Before the virtio side closes `nic` (its port): waits up to `timeout` for the
    /// link to go down, i.e. for the vhost side, which maps this process's memory,
    /// to have stopped and closed. Returns whether it went down. The vhost side
    /// returns at once.
    pub fn linger(kind: PairKind, nic: &DpdkNic, timeout: Duration) -> bool {
        if kind == PairKind::Vhost {
            return true;
        }
        let until = Instant::now() + timeout;
        loop {
            if !nic.port().link().map(|l| l.up).unwrap_or(false) {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for PairPort {
    fn drop(&mut self) {
        // The port (if still here) closes before the pools and the EAL (field
        // order); the vhost side's socket file goes last.
        drop(self.nic.take());
        if self.kind == PairKind::Vhost {
            let _ = std::fs::remove_file(&self.socket);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_round_trip_and_nonsense_is_refused() {
        let m = [0x02, 0, 0xab, 0x10, 0xff, 0x01];
        assert_eq!(parse_mac(&format_mac(m)).ok(), Some(m));
        assert!(parse_mac("02:00:00:00:00").is_err());
        assert!(parse_mac("02:00:00:00:00:00:00").is_err());
        assert!(parse_mac("02:00:00:00:00:zz").is_err());
    }

    #[test]
    fn only_stale_sockets_are_removed() {
        let dir = std::env::temp_dir();
        let pid = std::process::id();
        let file = dir.join(format!("ix-vhost-test-{pid}.txt"));
        std::fs::write(&file, b"keep me").expect("write");
        assert!(remove_stale_socket(&file).is_err(), "not a socket");
        assert!(file.exists());
        let _ = std::fs::remove_file(&file);

        let sock = dir.join(format!("ix-vhost-test-{pid}.sock"));
        let _ = std::fs::remove_file(&sock);
        let live = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
        assert!(remove_stale_socket(&sock).is_err(), "someone listens");
        drop(live);
        assert!(sock.exists(), "a closed listener leaves its file");
        assert!(remove_stale_socket(&sock).is_ok());
        assert!(!sock.exists());
        assert!(remove_stale_socket(&sock).is_ok(), "nothing to remove");
    }

    #[test]
    fn vdev_specs_name_the_socket() {
        let s = Path::new("/tmp/x.sock");
        assert_eq!(
            PairKind::Vhost.vdev(s, None),
            "net_vhost0,iface=/tmp/x.sock,queues=1"
        );
        assert_eq!(
            PairKind::Virtio.vdev(s, Some([2, 0, 0, 0, 0, 9])),
            "virtio_user0,path=/tmp/x.sock,queues=1,queue_size=1024,mac=02:00:00:00:00:09"
        );
    }
}

//! An instance's port, whatever its kind: brought up from the spec's [`NicSpec`],
//! then split into one queue pair ([`DpdkNic`]) per elastic thread.

use crate::eal_settings::EalSettings;
use crate::kernel_port::{KernelKind, KernelOptions, KernelPort};
use crate::spec::{InstanceSpec, NicSpec};
use crate::tap::{TapOptions, TapPort, DEFAULT_FLOW_GROUPS};
use crate::vhost::{parse_mac, PairKind, PairOptions, PairPort};
use anyhow::{bail, Context, Result};
use ix_dpdk::nic::{DpdkNic, DpdkPool};
use ix_dpdk::Eal;
use ix_nic::{Batch, BufPool, FrameOf, Nic, RxOf, TxFrame};
use ix_runtime::FlowGroups;
use std::time::Duration;

/// How long a virtio_user end waits for its vhost end's socket.
const SOCKET_WAIT: Duration = Duration::from_secs(30);

/// How long the virtio end waits at shutdown for the vhost end to go first.
pub const LINGER: Duration = Duration::from_secs(5);

/// Direct mbufs for `memory_mb` of EAL memory with `queues` queue pairs: about a
/// quarter of the memory, at least enough to fill every receive ring twice.
pub fn mbufs_for(memory_mb: u32, queues: usize) -> u32 {
    let by_memory = memory_mb.saturating_mul(32);
    let floor = (queues as u32).saturating_mul(2048).max(2048);
    by_memory.clamp(floor, 1 << 17) - 1
}

/// The running port.
#[derive(Debug)]
pub enum Device {
    /// A DPDK tap port.
    Tap(TapPort),
    /// One end of a vhost-user/virtio_user pair.
    Pair(PairPort),
    /// AF_PACKET or AF_XDP on a kernel interface.
    Kernel(KernelPort),
}

/// The EAL settings a spec asks for.
pub fn eal_settings(spec: &InstanceSpec) -> EalSettings {
    EalSettings {
        file_prefix: (!spec.file_prefix.is_empty()).then(|| spec.file_prefix.clone()),
        memory_mb: spec.memory_mb,
        hugepages: spec.hugepages,
        extra: spec.eal_args.clone(),
    }
}

impl Device {
    /// Brings up the spec's port on the calling thread (the EAL pins it to the
    /// first core and, for tap and kernel ports, it enters their namespace). Waits
    /// for the link; a pair's link waits for its peer until `abort` says so.
    pub fn bring_up(spec: &InstanceSpec, abort: &dyn Fn() -> bool) -> Result<Device> {
        let queues = spec.cores.len();
        let core = *spec.cores.first().context("the instance has no cores")?;
        let core = u32::try_from(core).context("core number")?;
        let queues16 = u16::try_from(queues).context("too many cores")?;
        let eal = eal_settings(spec);
        let mbufs = mbufs_for(spec.memory_mb, queues);
        match &spec.nic {
            NicSpec::Tap {
                iface,
                netns,
                host_addr,
                host_prefix,
                bridge,
            } => {
                if host_addr.is_none() && bridge.is_none() {
                    bail!("tap {iface}: the kernel side needs host_addr or a bridge");
                }
                let tap = TapPort::bring_up(&TapOptions {
                    iface: iface.clone(),
                    netns: netns.clone(),
                    host_addr: host_addr.map(|h| (h, *host_prefix)),
                    core,
                    queues: queues16,
                    eal,
                    mbufs,
                })?;
                if queues > 1 && spec.flow_groups != DEFAULT_FLOW_GROUPS {
                    // The port steers by the default groups; the runtime uses the spec's.
                    let groups = FlowGroups::new(spec.flow_groups, queues)
                        .context("flow groups for the tap's queues")?;
                    tap.steer(&groups, queues16)?;
                }
                if let Some(br) = bridge {
                    ix_hostlink::run("ip", &["link", "set", iface, "master", br])
                        .with_context(|| format!("attaching {iface} to bridge {br}"))?;
                }
                Ok(Device::Tap(tap))
            }
            NicSpec::Vhost { socket, mac } | NicSpec::Virtio { socket, mac } => {
                let kind = if matches!(spec.nic, NicSpec::Vhost { .. }) {
                    PairKind::Vhost
                } else {
                    PairKind::Virtio
                };
                if queues != 1 {
                    bail!("a vhost/virtio pair runs one queue pair; the spec has {queues} cores");
                }
                let mac = mac.as_deref().map(parse_mac).transpose()?;
                let pair = PairPort::bring_up(&PairOptions {
                    kind,
                    socket: socket.clone(),
                    core,
                    eal,
                    mbufs,
                    mac,
                    socket_wait: SOCKET_WAIT,
                })?;
                loop {
                    if pair.wait_link_up(Duration::from_millis(100)).is_ok() {
                        break;
                    }
                    if abort() {
                        bail!("stopped while waiting for the pair's peer");
                    }
                }
                Ok(Device::Pair(pair))
            }
            NicSpec::AfPacket { iface, netns } | NicSpec::AfXdp { iface, netns } => {
                let kind = if matches!(spec.nic, NicSpec::AfXdp { .. }) {
                    KernelKind::AfXdp
                } else {
                    KernelKind::AfPacket
                };
                let port = KernelPort::bring_up(&KernelOptions {
                    kind,
                    iface: iface.clone(),
                    netns: netns.clone(),
                    core,
                    queues: queues16,
                    eal,
                    mbufs,
                })?;
                Ok(Device::Kernel(port))
            }
            NicSpec::Pci { addr } => bail!(
                "NIC pci {addr}: a PCI device needs vfio-pci and a real NIC (an SR-IOV \
                 virtual function bound to vfio-pci); not supported on this host"
            ),
        }
    }

    /// Takes one queue pair per elastic thread (once); fails unless exactly
    /// `threads` are available.
    pub fn take_nics(&mut self, threads: usize) -> Result<Vec<DpdkNic>> {
        let nics = match self {
            Device::Tap(t) => t.take_nics(),
            Device::Pair(p) => p.take_nic().into_iter().collect(),
            Device::Kernel(k) => k.take_nics(),
        };
        if nics.len() != threads {
            bail!(
                "the port gave {} queue pairs for {threads} elastic threads",
                nics.len()
            );
        }
        Ok(nics)
    }

    /// The EAL the port runs on.
    pub fn eal(&self) -> &Eal {
        match self {
            Device::Tap(t) => t.eal(),
            Device::Pair(p) => p.eal(),
            Device::Kernel(k) => k.eal(),
        }
    }

    /// The port's mbuf pools.
    pub fn pool(&self) -> &DpdkPool {
        match self {
            Device::Tap(t) => t.pool(),
            Device::Pair(p) => p.pool(),
            Device::Kernel(k) => k.pool(),
        }
    }

    /// Whether frames must reach the driver as one segment: DPDK 22.11's
    /// `net_af_xdp` copies (or hands the kernel) `pkt_len` bytes from the first
    /// segment only, so a frame with attached payload would go out with the bytes
    /// that follow its header mbuf instead of the payload (seen as bad TCP
    /// checksums on the peer).
    pub fn needs_linear_tx(&self) -> bool {
        matches!(self, Device::Kernel(k) if k.kind() == KernelKind::AfXdp)
    }

    /// How long the thread owning a queue pair waits, before closing it, for the
    /// peer to go first (the virtio end of a pair; zero otherwise).
    pub fn linger(&self) -> Option<(PairKind, Duration)> {
        match self {
            Device::Pair(p) if p.kind() == PairKind::Virtio => Some((p.kind(), LINGER)),
            _ => None,
        }
    }
}

/// One queue pair as an elastic thread owns it: the DPDK queue pair, plus, on the
/// virtio end of a pair, a wait (bounded) for the vhost end to go first when it is
/// dropped (the vhost end maps this process's memory), and, for drivers that take
/// one segment only ([`Device::needs_linear_tx`]), frames with attached payload
/// copied into one buffer before they are sent.
#[derive(Debug)]
pub struct QueueNic {
    nic: DpdkNic,
    linger: Option<(PairKind, Duration)>,
    linear_tx: bool,
}

impl QueueNic {
    /// Wraps `nic`; `linger` as [`Device::linger`] says, `linear_tx` as
    /// [`Device::needs_linear_tx`].
    pub fn new(nic: DpdkNic, linger: Option<(PairKind, Duration)>, linear_tx: bool) -> Self {
        QueueNic {
            nic,
            linger,
            linear_tx,
        }
    }

    /// The DPDK queue pair.
    pub fn dpdk(&self) -> &DpdkNic {
        &self.nic
    }
}

impl Nic for QueueNic {
    type Pool = DpdkPool;

    fn pool(&self) -> &DpdkPool {
        self.nic.pool()
    }

    fn rx_burst(&mut self, out: &mut Batch<RxOf<DpdkPool>>) -> usize {
        self.nic.rx_burst(out)
    }

    fn tx_burst(&mut self, frames: &mut Batch<FrameOf<DpdkPool>>) -> usize {
        let dropped = if self.linear_tx {
            linearize(self.nic.pool(), frames)
        } else {
            0
        };
        self.nic.tx_burst(frames) + dropped
    }

    fn mac(&self) -> [u8; 6] {
        self.nic.mac()
    }
}

impl Drop for QueueNic {
    fn drop(&mut self) {
        if let Some((kind, timeout)) = self.linger {
            if !PairPort::linger(kind, &self.nic, timeout) {
                tracing::warn!("the vhost end is still up after {timeout:?}; closing anyway");
            }
        }
    }
}

/// Replaces every frame of `frames` that has attached payload by a one-segment
/// copy (counted in `ix_nic::copy`); a frame that cannot be copied (no buffer
/// left, or longer than one) is dropped, as a full wire would. Returns how many
/// were dropped.
fn linearize(pool: &DpdkPool, frames: &mut Batch<FrameOf<DpdkPool>>) -> usize {
    let mut dropped = 0;
    let mut i = 0;
    while i < frames.len() {
        if frames[i].attachments() == 0 {
            i += 1;
            continue;
        }
        let len = frames[i].len();
        let copied = pool.alloc_frame().ok().and_then(|mut flat| {
            let dst = flat.append(len)?;
            let mut at = 0;
            frames[i].for_each_segment(|seg| {
                let n = seg.len().min(dst.len() - at);
                if at == 0 {
                    // The headers: built here anyway, not payload.
                    dst[..n].copy_from_slice(&seg[..n]);
                } else {
                    ix_nic::copy::copy_payload(&mut dst[at..at + n], seg);
                }
                at += n;
            });
            (at == len).then_some(flat)
        });
        match copied {
            Some(flat) => {
                frames[i] = flat;
                i += 1;
            }
            None => {
                frames.remove(i);
                dropped += 1;
            }
        }
    }
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbufs_scale_with_memory_and_queues() {
        assert_eq!(mbufs_for(256, 1), 8191);
        assert_eq!(mbufs_for(16, 1), 2047);
        assert_eq!(mbufs_for(16, 4), 8191);
        assert_eq!(mbufs_for(1 << 20, 1), (1 << 17) - 1);
    }
}

//! What the control plane tells an instance to be: [`InstanceSpec`], written by
//! `ixcp` as JSON to a file whose path it passes in the `IX_INSTANCE_SPEC`
//! environment variable when it starts the application binary. The application's
//! own arguments are its command line, untouched.

use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// The environment variable naming the spec file.
pub const SPEC_ENV: &str = "IX_INSTANCE_SPEC";

/// The environment variable naming the supervisor's process id (set by `ixcp`):
/// an instance whose parent is no longer that process has lost its supervisor
/// (nobody can stop or restart it any more) and stops gracefully.
pub const SUPERVISOR_ENV: &str = "IX_SUPERVISOR_PID";

/// One dataplane instance: its cores, NIC, address and bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceSpec {
    /// The instance's name (unique on the host; names its EAL file prefix).
    pub name: String,
    /// One elastic thread per core, pinned; thread `i` owns queue pair `i`.
    pub cores: Vec<usize>,
    /// The virtual NIC and its host side.
    pub nic: NicSpec,
    /// The instance's IPv4 address.
    pub addr: Ipv4Addr,
    /// Its prefix length.
    pub prefix: u8,
    /// Default gateway, if any.
    pub gateway: Option<Ipv4Addr>,
    /// Receive burst bound (1..=64).
    pub batch: usize,
    /// Flow groups (a power of two).
    pub flow_groups: usize,
    /// Largest number of TCP connections per elastic thread.
    pub max_conns: usize,
    /// Cores are shared (`oversubscribe`): idle threads must back off.
    pub idle_backoff: bool,
    /// EAL memory in MiB.
    pub memory_mb: u32,
    /// Use hugepages (otherwise `--no-huge`).
    pub hugepages: bool,
    /// Extra EAL arguments from the config.
    pub eal_args: Vec<String>,
    /// The EAL `--file-prefix` (so instances never share DPDK runtime files).
    pub file_prefix: String,
    /// The Unix socket the instance's agent listens on for the control plane.
    pub agent_socket: PathBuf,
    /// tracing filter, e.g. "info".
    pub log_level: String,
}

/// An instance's virtual NIC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum NicSpec {
    /// A DPDK tap port: one queue pair per elastic thread; kernel side `iface` in
    /// namespace `netns` ("" = the current one) with `host_addr/host_prefix`, or
    /// enslaved to `bridge` (then the bridge holds the address).
    Tap {
        /// Kernel interface name.
        iface: String,
        /// Namespace of the kernel side.
        netns: String,
        /// The kernel side's address.
        host_addr: Option<Ipv4Addr>,
        /// Its prefix length.
        host_prefix: u8,
        /// A Linux bridge in `netns` to attach the kernel side to.
        bridge: Option<String>,
    },
    /// The vhost-user end of a shared-memory pair (creates `socket`).
    Vhost {
        /// The vhost-user socket.
        socket: PathBuf,
        /// The port's MAC, if fixed.
        mac: Option<String>,
    },
    /// The virtio_user end of a shared-memory pair (connects to `socket`).
    Virtio {
        /// The vhost-user socket.
        socket: PathBuf,
        /// The port's MAC, if fixed.
        mac: Option<String>,
    },
    /// AF_XDP on a kernel interface (e.g. one end of a veth in `netns`).
    AfXdp {
        /// Kernel interface name.
        iface: String,
        /// Its namespace.
        netns: String,
    },
    /// AF_PACKET on a kernel interface.
    AfPacket {
        /// Kernel interface name.
        iface: String,
        /// Its namespace.
        netns: String,
    },
    /// A PCI device (an SR-IOV virtual function bound to vfio-pci).
    Pci {
        /// PCI address, e.g. 0000:3b:02.0.
        addr: String,
    },
}

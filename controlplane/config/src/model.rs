//! The configuration's schema, as serde reads it from TOML. Unknown keys are
//! refused everywhere. Defaults are documented on each field and in
//! `configs/README.md`.

use serde::{Deserialize, Serialize};

/// A whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Settings for every instance.
    #[serde(default)]
    pub global: Global,
    /// Linux bridges (in a namespace) that several taps can share a subnet on.
    #[serde(default, rename = "bridge")]
    pub bridges: Vec<Bridge>,
    /// Virtual NICs, one per instance.
    #[serde(default, rename = "nic")]
    pub nics: Vec<NicConfig>,
    /// Dataplane instances.
    #[serde(default, rename = "instance")]
    pub instances: Vec<InstanceConfig>,
}

/// How EAL memory is backed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MemoryMode {
    /// Anonymous memory (`--no-huge`): works anywhere, slower.
    #[default]
    NoHuge,
    /// Hugepages (`/dev/hugepages`).
    Hugepages,
}

/// Global settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Global {
    /// Extra EAL arguments for every instance.
    pub eal_args: Vec<String>,
    /// EAL memory backing (default `no-huge`).
    pub memory: MemoryMode,
    /// EAL memory per instance in MiB (default 256).
    pub memory_mb: u32,
    /// tracing filter for instances (default `info`).
    pub log_level: String,
    /// Let instances share cores (forces idle back-off); never for benchmarks.
    pub oversubscribe: bool,
}

impl Default for Global {
    fn default() -> Self {
        Global {
            eal_args: Vec::new(),
            memory: MemoryMode::NoHuge,
            memory_mb: 256,
            log_level: "info".into(),
            oversubscribe: false,
        }
    }
}

/// A Linux bridge in a namespace, created by ixcp before the instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bridge {
    /// Interface name (1-15 characters).
    pub name: String,
    /// Its namespace (default `ix-default`; "" = the current one).
    #[serde(default = "default_netns")]
    pub netns: String,
    /// The bridge's own address, e.g. `10.77.0.1/24` (the host side of the subnet).
    pub addr: Option<String>,
}

/// One virtual NIC, by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NicConfig {
    /// A DPDK tap port.
    Tap(TapNic),
    /// A memif port (refused for now: DPDK's memif needs the multi-process channel).
    Memif(MemifNic),
    /// One end of a vhost-user/virtio_user shared-memory pair.
    VirtioUser(VirtioUserNic),
    /// AF_XDP on one end of a veth pair ixcp creates.
    AfXdp(AfNic),
    /// AF_PACKET on one end of a veth pair ixcp creates.
    AfPacket(AfNic),
    /// A PCI device (an SR-IOV virtual function bound to vfio-pci).
    Pci(PciNic),
}

impl NicConfig {
    /// The NIC's name, which instances refer to.
    pub fn name(&self) -> &str {
        match self {
            NicConfig::Tap(n) => &n.name,
            NicConfig::Memif(n) => &n.name,
            NicConfig::VirtioUser(n) => &n.name,
            NicConfig::AfXdp(n) | NicConfig::AfPacket(n) => &n.name,
            NicConfig::Pci(n) => &n.name,
        }
    }

    /// Queue pairs the NIC offers (one per elastic thread).
    pub fn queues(&self) -> usize {
        match self {
            NicConfig::Tap(n) => n.queues,
            NicConfig::Memif(_) | NicConfig::VirtioUser(_) => 1,
            NicConfig::AfXdp(n) | NicConfig::AfPacket(n) => n.queues,
            NicConfig::Pci(n) => n.queues,
        }
    }

    /// The kind as written in the config.
    pub fn kind(&self) -> &'static str {
        match self {
            NicConfig::Tap(_) => "tap",
            NicConfig::Memif(_) => "memif",
            NicConfig::VirtioUser(_) => "virtio_user",
            NicConfig::AfXdp(_) => "af_xdp",
            NicConfig::AfPacket(_) => "af_packet",
            NicConfig::Pci(_) => "pci",
        }
    }

    /// The namespace holding the NIC's host side, if it has one ("" = current).
    pub fn netns(&self) -> Option<&str> {
        match self {
            NicConfig::Tap(n) => Some(&n.netns),
            NicConfig::AfXdp(n) | NicConfig::AfPacket(n) => Some(&n.netns),
            _ => None,
        }
    }
}

fn default_netns() -> String {
    "ix-default".into()
}
fn one() -> usize {
    1
}

/// `kind = "tap"`: the instance's DPDK tap PMD creates `iface` in `netns`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TapNic {
    /// The NIC's name.
    pub name: String,
    /// Kernel interface name (default: the NIC's name; 1-15 characters).
    pub iface: Option<String>,
    /// Namespace of the kernel side (default `ix-default`; "" = the current one).
    #[serde(default = "default_netns")]
    pub netns: String,
    /// Kernel side's address, e.g. `10.77.0.1/24` (not with `bridge`).
    pub host_addr: Option<String>,
    /// A `[[bridge]]` to enslave the kernel side to instead.
    pub bridge: Option<String>,
    /// Queue pairs (default 1; a tap runs one queue until steering lands).
    #[serde(default = "one")]
    pub queues: usize,
}

/// `kind = "memif"`: accepted by the parser, refused by validation for now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemifNic {
    /// The NIC's name.
    pub name: String,
    /// The memif control socket.
    pub socket: String,
    /// `server` or `client`.
    pub role: String,
}

/// Which end of a vhost-user/virtio_user pair an instance is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VirtioRole {
    /// The vhost-user end: creates the socket (started first).
    Vhost,
    /// The virtio_user end: connects to the socket.
    Virtio,
}

/// `kind = "virtio_user"`: one end of an IX-to-IX shared-memory pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtioUserNic {
    /// The NIC's name.
    pub name: String,
    /// The vhost-user socket; relative paths are under ixcp's run directory.
    pub socket: String,
    /// `vhost` (creates the socket) or `virtio` (connects to it).
    pub role: VirtioRole,
    /// A fixed MAC for the port.
    pub mac: Option<String>,
}

/// `kind = "af_xdp"` / `"af_packet"`: ixcp creates a veth pair `iface`/`peer` in
/// `netns`; the instance binds `iface`, `peer` holds `host_addr`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AfNic {
    /// The NIC's name.
    pub name: String,
    /// The instance's end of the veth (1-15 characters).
    pub iface: String,
    /// The host's end of the veth (1-15 characters).
    pub peer: String,
    /// Namespace of both ends (default `ix-default`; "" = the current one).
    #[serde(default = "default_netns")]
    pub netns: String,
    /// The host end's address, e.g. `10.78.0.1/24`.
    pub host_addr: Option<String>,
    /// Queue pairs (default 1).
    #[serde(default = "one")]
    pub queues: usize,
}

/// `kind = "pci"`: an SR-IOV virtual function bound to vfio-pci.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PciNic {
    /// The NIC's name.
    pub name: String,
    /// PCI address, e.g. `0000:3b:02.0`.
    pub addr: String,
    /// Queue pairs the function offers (default 1).
    #[serde(default = "one")]
    pub queues: usize,
}

/// When ixcp restarts an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// After any exit or hang.
    Always,
    /// After a crash, a non-zero exit or a hang (default).
    #[default]
    OnFailure,
    /// Never.
    Never,
}

/// How the application is isolated from the dataplane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// Linked into the instance process (default; the only mode so far).
    #[default]
    Linked,
    /// In a separate process (not supported yet).
    Process,
}

/// One dataplane instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceConfig {
    /// Unique name ([A-Za-z0-9_-], 1-32 characters).
    pub name: String,
    /// Application binary (see [`crate::resolve_app`]).
    pub app: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Cores, one elastic thread each; never core 0.
    pub cores: Vec<usize>,
    /// The `[[nic]]` it owns.
    pub nic: String,
    /// Its IPv4 address and prefix, e.g. `10.77.0.2/24`.
    pub addr: String,
    /// Default gateway.
    pub gateway: Option<String>,
    /// TCP ports the application listens on (shown by `ixctl start`).
    #[serde(default)]
    pub ports: Vec<u16>,
    /// Receive burst bound, 1..=64 (default 64).
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// Flow groups, a power of two (default 128).
    #[serde(default = "default_flow_groups")]
    pub flow_groups: usize,
    /// Largest number of connections per elastic thread (default 16384).
    #[serde(default = "default_max_conns")]
    pub max_conns: usize,
    /// Restart policy (default `on-failure`).
    #[serde(default)]
    pub restart: RestartPolicy,
    /// Restarts allowed before giving up (default 10).
    #[serde(default = "default_max_restarts")]
    pub max_restarts: u32,
    /// First restart delay; doubles per consecutive restart (default 100 ms).
    #[serde(default = "default_backoff")]
    pub restart_backoff_ms: u64,
    /// Cap on the restart delay (default 5000 ms).
    #[serde(default = "default_backoff_max")]
    pub restart_backoff_max_ms: u64,
    /// A thread whose heartbeat does not move this long is hung (default 1000 ms;
    /// IX used 10 ms on dedicated cores).
    #[serde(default = "default_heartbeat_timeout")]
    pub heartbeat_timeout_ms: u64,
    /// How long to wait for the instance to report ready (default 30000 ms).
    #[serde(default = "default_ready_timeout")]
    pub ready_timeout_ms: u64,
    /// Isolation of the application (default `linked`).
    #[serde(default)]
    pub protection: Protection,
}

fn default_batch() -> usize {
    64
}
fn default_flow_groups() -> usize {
    128
}
fn default_max_conns() -> usize {
    16384
}
fn default_max_restarts() -> u32 {
    10
}
fn default_backoff() -> u64 {
    100
}
fn default_backoff_max() -> u64 {
    5000
}
fn default_heartbeat_timeout() -> u64 {
    1000
}
fn default_ready_timeout() -> u64 {
    30_000
}

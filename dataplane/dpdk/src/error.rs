//! Typed errors for every fallible DPDK call, carrying `rte_errno` text.

use std::ffi::CStr;
use std::fmt;
use std::time::Duration;

/// An error number from DPDK (`rte_errno` or a negative return value) and
/// its `rte_strerror` text.
#[derive(Clone, PartialEq, Eq)]
pub struct Errno {
    /// The positive error number (`EINVAL`, `ENOMEM`, DPDK's `E_RTE_*`...).
    pub code: i32,
    /// `rte_strerror(code)`.
    pub message: String,
}

impl Errno {
    /// Builds an `Errno` from a (positive or negative) error number; assumes nothing.
    pub fn from_code(code: i32) -> Self {
        let code = code.saturating_abs();
        // SAFETY: rte_strerror accepts any value and returns a pointer to a
        // NUL-terminated string (static, or in a per-thread buffer that stays
        // valid until this thread's next call), which is copied at once.
        let message = unsafe { CStr::from_ptr(dpdk_sys::rte_strerror(code)) }
            .to_string_lossy()
            .into_owned();
        Errno { code, message }
    }

    /// Reads the calling thread's OS `errno` (after a failed system call).
    pub fn last_os() -> Self {
        Self::from_code(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }

    /// Reads the calling thread's `rte_errno`; assumes the last DPDK call on this thread failed.
    pub fn last() -> Self {
        // SAFETY: reads a thread-local integer; no preconditions.
        Self::from_code(unsafe { dpdk_sys::ix_rte_errno() })
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (errno {})", self.message, self.code)
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Errno({}: {})", self.code, self.message)
    }
}

/// Everything that can go wrong in `ix-dpdk`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `Eal::init` was called a second time in this process.
    #[error(
        "the DPDK EAL is already initialized (or a previous rte_eal_init failed) in this process; \
         it is process-global and can be initialized only once"
    )]
    EalAlreadyInitialized,
    /// Contradictory EAL arguments were asked of [`EalArgs`](crate::EalArgs).
    #[error("invalid EAL arguments: {0}")]
    InvalidEalArgs(String),
    /// An argument for `rte_eal_init` contained a NUL byte.
    #[error("EAL argument {0:?} contains a NUL byte")]
    InvalidEalArg(String),
    /// `rte_eal_init` failed (bad arguments, a vdev that did not probe, no memory...).
    #[error("rte_eal_init({args}) failed: {errno}")]
    EalInit {
        /// The arguments given, joined by spaces.
        args: String,
        /// `rte_errno` after the failure.
        errno: Errno,
    },
    /// Hotplugging a device (`rte_dev_probe`) failed.
    #[error("probing device {devargs:?} failed: {errno}")]
    DeviceProbe {
        /// The device arguments given.
        devargs: String,
        /// The error returned.
        errno: Errno,
    },
    /// A DPDK object name was empty, too long or contained a NUL byte.
    #[error("invalid {what} name {name:?}: {reason}")]
    InvalidName {
        /// What was being named (mempool, port...).
        what: &'static str,
        /// The name given.
        name: String,
        /// Why it was refused.
        reason: String,
    },
    /// `rte_pktmbuf_pool_create` failed.
    #[error(
        "creating mbuf pool {name:?} ({n} mbufs of {data_room} bytes data room, cache {cache}) failed: {errno}{hint}"
    )]
    MempoolCreate {
        /// The pool name.
        name: String,
        /// Number of mbufs asked for.
        n: u32,
        /// Per-lcore cache size asked for.
        cache: u32,
        /// Data room per mbuf, in bytes.
        data_room: u16,
        /// `rte_errno` after the failure.
        errno: Errno,
        /// Extra explanation (e.g. that the pool does not fit in EAL memory).
        hint: &'static str,
    },
    /// The pool had no free mbuf.
    #[error("mbuf pool {pool:?} is exhausted: could not allocate {count} mbuf(s)")]
    MbufAlloc {
        /// The pool name.
        pool: String,
        /// How many mbufs were asked for.
        count: usize,
    },
    /// An mbuf segment lacked headroom or tailroom for the requested growth.
    #[error("mbuf {op}: asked for {asked} bytes but only {room} are available")]
    MbufNoRoom {
        /// The operation (`append`, `prepend`, `adj`, `trim`).
        op: &'static str,
        /// Bytes asked for.
        asked: usize,
        /// Bytes available.
        room: usize,
    },
    /// The mbuf's data buffer is shared with other mbufs and must not be written.
    #[error(
        "mbuf {op}: the data buffer is shared (indirect or refcount > 1) and cannot be written"
    )]
    MbufShared {
        /// The operation refused.
        op: &'static str,
    },
    /// Chaining would exceed DPDK's segment limit.
    #[error("mbuf chain: too many segments (limit {limit})")]
    MbufTooManySegments {
        /// `RTE_MBUF_MAX_NB_SEGS`.
        limit: u32,
    },
    /// No ethdev port has the given name.
    #[error("no DPDK port named {name:?} (is the --vdev given to the EAL? {errno})")]
    PortNotFound {
        /// The device name looked up.
        name: String,
        /// Error from `rte_eth_dev_get_port_by_name`.
        errno: Errno,
    },
    /// The port id does not name an attached port.
    #[error("port {0} does not exist")]
    NoSuchPort(u16),
    /// A port was already owned by another `Port` handle.
    #[error("port {0} is already configured by another handle")]
    PortInUse(u16),
    /// An ethdev call failed.
    #[error("port {port}: {op} failed: {errno}")]
    Port {
        /// The port id.
        port: u16,
        /// The DPDK call that failed.
        op: &'static str,
        /// The error it returned.
        errno: Errno,
    },
    /// The configuration asks for more than the device offers.
    #[error("port {port}: {what}: asked for {asked}, device supports at most {max}")]
    PortLimit {
        /// The port id.
        port: u16,
        /// What exceeded the limit.
        what: &'static str,
        /// The requested value.
        asked: u32,
        /// The device's limit.
        max: u32,
    },
    /// A queue id beyond the configured queues.
    #[error("port {port}: queue {queue} is not configured ({configured} queues)")]
    NoSuchQueue {
        /// The port id.
        port: u16,
        /// The queue asked for.
        queue: u16,
        /// How many queues the port has.
        configured: u16,
    },
    /// The port's link did not come up in time.
    #[error("port {port}: link still down after {waited:?}")]
    LinkDown {
        /// The port id.
        port: u16,
        /// How long was waited.
        waited: Duration,
    },
    /// A `bpf(2)` call failed (for a load: with the end of the verifier's log).
    #[error("{what} failed: {errno}{}", if log.is_empty() { String::new() } else { format!("; verifier: {log}") })]
    Bpf {
        /// The command.
        what: &'static str,
        /// The error number.
        errno: Errno,
        /// The end of the verifier's log (empty if none).
        log: String,
    },
    /// A tun/tap ioctl on the kernel interface failed.
    #[error("tap {iface:?}: {what} failed: {errno}")]
    Tun {
        /// The kernel interface.
        iface: String,
        /// The operation.
        what: &'static str,
        /// The error number.
        errno: Errno,
    },
    /// A steering table that cannot be turned into a program.
    #[error("tap steering table: {0}")]
    Steering(String),
}

impl Error {
    /// Wraps a negative ethdev return value; assumes `ret < 0`.
    pub(crate) fn port(port: u16, op: &'static str, ret: i32) -> Self {
        Error::Port {
            port,
            op,
            errno: Errno::from_code(ret),
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

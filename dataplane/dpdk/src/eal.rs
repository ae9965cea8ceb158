//! The DPDK Environment Abstraction Layer: process-global initialization.

use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{Errno, Error, Result};
use crate::signals;

/// Set once `rte_eal_init` has been attempted in this process; DPDK cannot
/// initialize twice, nor retry after a failed attempt.
static INIT_ATTEMPTED: AtomicBool = AtomicBool::new(false);

/// Keeps the EAL alive: every DPDK object (mempool, port) holds a clone, and
/// the last one to go calls `rte_eal_cleanup`. An object that cannot be
/// released safely (a mempool with mbufs still out) leaks its clone, so the
/// EAL is then never cleaned up.
#[derive(Debug)]
pub(crate) struct EalToken {
    /// The runtime directory (`/var/run/dpdk/<file-prefix>`) of a primary
    /// process, removed after cleanup; `None` for a secondary process.
    runtime_dir: Option<PathBuf>,
}

impl Drop for EalToken {
    fn drop(&mut self) {
        // SAFETY: this is the last token, so every mempool and port made
        // through this crate is released (or leaked together with a token)
        // and no DPDK object it handed out is still referenced.
        let ret = unsafe { dpdk_sys::rte_eal_cleanup() };
        if ret < 0 {
            tracing::warn!("rte_eal_cleanup failed: {}", Errno::from_code(ret));
            return;
        }
        // DPDK leaves its shared-config files behind (several MB with
        // --no-huge); with the primary gone nothing can attach to them.
        if let Some(dir) = &self.runtime_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Proof that the EAL is initialized; DPDK objects are created through it.
///
/// The EAL is process-global: only one `Eal` can ever exist in a process
/// (clones share it). Dropping the last clone and every mempool and port
/// runs `rte_eal_cleanup` and, in a primary process, removes the EAL's
/// runtime directory; after that DPDK cannot be initialized again in this
/// process. If a mempool had to be leaked (mbufs still out), cleanup is
/// skipped, since those mbufs live in EAL memory.
#[derive(Debug, Clone)]
pub struct Eal {
    token: Arc<EalToken>,
}

impl Eal {
    /// Initializes the EAL with `args` (`args[0]` is the program name, as in
    /// `argv`); must be called once per process, from the thread that is to
    /// become the main lcore. A second call (even after a failed first one)
    /// returns [`Error::EalAlreadyInitialized`].
    ///
    /// Before `rte_eal_init` it claims idle real-time signals so that the tap
    /// PMD polls instead of taking one signal per packet (see `signals.rs`).
    pub fn init(args: &[String]) -> Result<Eal> {
        let mut c_args = Vec::with_capacity(args.len() + 1);
        if args.is_empty() {
            c_args.push(CString::from(c"ix"));
        }
        for arg in args {
            c_args.push(CString::new(arg.as_str()).map_err(|_| Error::InvalidEalArg(arg.clone()))?);
        }
        if INIT_ATTEMPTED.swap(true, Ordering::SeqCst) {
            return Err(Error::EalAlreadyInitialized);
        }
        signals::claim_realtime_signals();

        // The EAL may keep pointers into argv (getopt permutes it in place),
        // so both the strings and the array are leaked: once per process.
        let argv: &mut [*mut c_char] = Vec::leak(
            c_args
                .into_iter()
                .map(CString::into_raw)
                .collect::<Vec<_>>(),
        );
        let argc = i32::try_from(argv.len())
            .map_err(|_| Error::InvalidEalArgs("too many arguments".to_owned()))?;
        // SAFETY: argv holds argc valid, NUL-terminated, never-freed strings;
        // INIT_ATTEMPTED guarantees this is the only call in the process.
        let ret = unsafe { dpdk_sys::rte_eal_init(argc, argv.as_mut_ptr()) };
        if ret < 0 {
            return Err(Error::EalInit {
                args: args.join(" "),
                errno: Errno::last(),
            });
        }
        // SAFETY: the EAL is initialized; both return process-wide values
        // (the directory string lives as long as the EAL).
        let runtime_dir = unsafe {
            (dpdk_sys::rte_eal_process_type() == dpdk_sys::RTE_PROC_PRIMARY)
                .then(|| CStr::from_ptr(dpdk_sys::rte_eal_get_runtime_dir()))
                .map(|dir| PathBuf::from(dir.to_string_lossy().into_owned()))
                .filter(|dir| !dir.as_os_str().is_empty())
        };
        Ok(Eal {
            token: Arc::new(EalToken { runtime_dir }),
        })
    }

    /// Returns a token that keeps the EAL from being cleaned up while held.
    pub(crate) fn token(&self) -> Arc<EalToken> {
        Arc::clone(&self.token)
    }

    /// Returns the main lcore's id; assumes nothing beyond initialization.
    pub fn main_lcore(&self) -> u32 {
        // SAFETY: the EAL is initialized (we hold a token).
        unsafe { dpdk_sys::rte_get_main_lcore() }
    }

    /// Returns how many lcores the EAL was given (`-l`).
    pub fn lcore_count(&self) -> u32 {
        // SAFETY: the EAL is initialized.
        unsafe { dpdk_sys::rte_lcore_count() }
    }

    /// Returns the number of usable ethdev ports (probed vdevs and NICs).
    pub fn port_count(&self) -> u16 {
        // SAFETY: the EAL is initialized.
        unsafe { dpdk_sys::rte_eth_dev_count_avail() }
    }

    /// Probes a device after init (hotplug), e.g. `"virtio_user0,path=/tmp/s.sock"`
    /// (bus inferred from the driver name) or `"vdev:net_null5"`; its port
    /// can then be configured by name. Assumes the device is not yet probed.
    pub fn probe_device(&self, devargs: &str) -> Result<()> {
        let c_args = CString::new(devargs).map_err(|_| Error::InvalidEalArg(devargs.to_owned()))?;
        // SAFETY: valid C string; the EAL is initialized.
        let ret = unsafe { dpdk_sys::rte_dev_probe(c_args.as_ptr()) };
        if ret < 0 {
            return Err(Error::DeviceProbe {
                devargs: devargs.to_owned(),
                errno: Errno::from_code(ret),
            });
        }
        Ok(())
    }

    /// Returns the ids and device names of all usable ethdev ports.
    pub fn ports(&self) -> Vec<(u16, String)> {
        let mut ports = Vec::new();
        // SAFETY: the EAL is initialized; any start id is accepted.
        let mut port = unsafe { dpdk_sys::rte_eth_find_next(0) };
        while u32::from(port) < dpdk_sys::RTE_MAX_ETHPORTS {
            ports.push((port, port_name(port).unwrap_or_default()));
            // SAFETY: as above.
            port = unsafe { dpdk_sys::rte_eth_find_next(port + 1) };
        }
        ports
    }
}

/// Returns the device name of `port` (e.g. `net_tap0`), or `None` if it does not exist.
pub fn port_name(port: u16) -> Option<String> {
    let mut buf = [0 as c_char; dpdk_sys::RTE_ETH_NAME_MAX_LEN as usize];
    // SAFETY: buf is RTE_ETH_NAME_MAX_LEN bytes, as rte_eth_dev_get_name_by_port requires.
    let ret = unsafe { dpdk_sys::rte_eth_dev_get_name_by_port(port, buf.as_mut_ptr()) };
    if ret != 0 {
        return None;
    }
    // SAFETY: on success DPDK wrote a NUL-terminated name into buf.
    Some(
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// Returns the calling thread's lcore id, or `None` for a thread the EAL does not manage.
pub fn lcore_id() -> Option<u32> {
    // SAFETY: reads a thread-local; valid on any thread.
    let id = unsafe { dpdk_sys::rte_lcore_id() };
    (id != dpdk_sys::LCORE_ID_ANY).then_some(id)
}

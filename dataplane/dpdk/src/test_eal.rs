//! The EAL shared by this crate's unit tests.
//!
//! The EAL is process-global and `cargo test` runs tests as threads of one
//! process, so every unit test uses this one instance. Tests that need an
//! EAL of their own live in `tests/` (each file is its own process).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use crate::{Eal, EalArgs};

/// Path of the vhost-user socket of the test EAL's `net_vhost0` port.
pub(crate) fn vhost_socket() -> String {
    format!("/tmp/ixtest-{}-vhost.sock", std::process::id())
}

/// Name of the kernel interface of the test EAL's `net_tap0` port.
pub(crate) fn tap_iface() -> String {
    format!("ixt{}", std::process::id())
}

/// Returns the test binary's EAL, initializing it on first use with
/// `--no-huge -m 256 --no-pci` and these vdevs: `net_ring0`, `net_ring1`,
/// `net_ring2` (loopback rings), `net_null0`, `net_null1` (never
/// successfully configured, so it stays listed), `net_vhost0` (never connected: link down)
/// and `net_tap0`.
pub(crate) fn eal() -> &'static Eal {
    static EAL: OnceLock<Eal> = OnceLock::new();
    EAL.get_or_init(|| {
        let pid = std::process::id();
        remove_stale_runtime_dirs();
        let _ = std::fs::remove_file(vhost_socket());
        let args = EalArgs::new("ix-dpdk-test")
            .no_huge(256)
            .no_pci()
            .no_shconf()
            .file_prefix(&format!("ixtest-{pid}"))
            .lcores("0")
            .vdev("net_ring0")
            .vdev("net_ring1")
            .vdev("net_ring2")
            .vdev("net_null0")
            .vdev("net_null1")
            .vdev(&format!("net_vhost0,iface={},queues=1", vhost_socket()))
            .vdev(&format!("net_tap0,iface={}", tap_iface()))
            .log_level("notice")
            .build()
            .expect("test EAL arguments");
        Eal::init(&args).expect("test EAL init")
    })
}

/// Removes the (empty, thanks to `--no-shconf`) runtime directories that
/// earlier test processes left: the shared test EAL is never cleaned up.
fn remove_stale_runtime_dirs() {
    let Ok(entries) = std::fs::read_dir("/var/run/dpdk") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("ixtest-") else {
            continue;
        };
        if !std::path::Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}

/// Returns a mempool name unique within this process: `<base><n>`.
pub(crate) fn unique_name(base: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!("{base}{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

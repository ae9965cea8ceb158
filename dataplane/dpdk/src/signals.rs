//! Claiming real-time signals before the EAL starts, so the tap PMD polls.
//!
//! The tap PMD (DPDK 22.11 as packaged by Debian) looks for a free real-time
//! signal and asks the kernel (`F_SETSIG` + `O_ASYNC`) to raise it each time
//! a packet arrives on the tap file descriptor; its receive burst then only
//! reads the fd when that signal was seen. That costs one signal delivery per
//! received packet and capped receive at 15-90 kpps on our VM. When every
//! real-time signal it scans is already handled it logs "All rt-signals are
//! in use" and simply polls the fd, which measured 0.6-1.85 Mpps. So before
//! `rte_eal_init` we install no-op handlers on SIGRTMIN+1..=SIGRTMAX-1, but
//! only on signals nobody handles yet (an application's own handlers win).

use std::os::raw::c_int;

/// Does nothing: the signal only has to count as "handled".
extern "C" fn ignore_signal(_signal: c_int) {}

/// Installs a no-op handler on each real-time signal in SIGRTMIN+1..=SIGRTMAX-1
/// whose disposition is still the default; returns how many it claimed.
pub(crate) fn claim_realtime_signals() -> usize {
    let mut claimed = 0;
    for signal in (libc::SIGRTMIN() + 1)..libc::SIGRTMAX() {
        // SAFETY: an all-zero `sigaction` is a valid value (SIG_DFL, empty
        // mask, no flags) for sigaction(2) to overwrite.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: querying (null `act`) with a valid out-pointer has no side effect.
        if unsafe { libc::sigaction(signal, std::ptr::null(), &mut old) } != 0 {
            continue;
        }
        if old.sa_sigaction != libc::SIG_DFL {
            continue; // Already handled or ignored by someone else: leave it.
        }
        // SAFETY: as above, all-zero is a valid `sigaction`.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = ignore_signal as extern "C" fn(c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        // SAFETY: `action.sa_mask` is a valid sigset_t to initialize.
        unsafe { libc::sigemptyset(&mut action.sa_mask) };
        // SAFETY: `action` is fully initialized and its handler is an
        // async-signal-safe `extern "C"` function that does nothing.
        if unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) } == 0 {
            claimed += 1;
        }
    }
    claimed
}

//! Helpers shared by echo-ix's end-to-end tests: processes that print `READY`
//! ([`process`]), namespaces and an `ix-run` inside one ([`netns`]), an `echo-ix`
//! instance started from a spec and asked through its agent ([`instance`]), the
//! parsing of what the binaries print ([`output`]) and Linux socket clients
//! ([`linux`]).
//!
//! Each test file includes this with `mod support;` and uses a part of it.

#![allow(dead_code)]

pub mod instance;
pub mod linux;
pub mod netns;
pub mod output;
pub mod process;

use std::sync::{Mutex, MutexGuard};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The turn of one test of this file: they run one at a time (one DPDK instance
/// on the dataplane core, timings not disturbed); a failed test passes the turn on.
pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

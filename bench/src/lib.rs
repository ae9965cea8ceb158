//! ix-bench: benchmarks for ix.
//!
//! `l2bench` (`src/bin/l2bench.rs`) measures the raw layer-2 limits of the
//! virtual NICs this machine has (DPDK tap, virtio_user/vhost-user pairs):
//! the ceiling every later ix benchmark is measured against. See
//! `bench/README.md`. The modules:
//!
//! - [`stats`]: medians, spreads and latency summaries (pure).
//! - [`frame`]: the benchmark's Ethernet frames and MAC addresses (pure).
//! - [`kv`]: the `READY`/`RESULT key=value` lines roles print (pure).
//! - [`cli`]: the command line and its validation.
//! - [`child`]: role processes: spawning, line protocol, clean shutdown.
//! - [`roles`]: what each DPDK process does (the only code touching DPDK).
//! - [`orchestrate`]: runs the measurements and aggregates them.
//! - [`table`]: the printed report.

#![forbid(unsafe_code)]

pub mod child;
pub mod cli;
pub mod frame;
pub mod kv;
pub mod orchestrate;
pub mod roles;
pub mod stats;
pub mod table;

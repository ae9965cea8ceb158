//! A safe layer over DPDK 22.11 for ix.
//!
//! Together with `dpdk-sys` this is the only place `unsafe` lives. One module
//! per concept:
//!
//! - [`eal`]: process-global EAL initialization ([`Eal`], [`EalArgs`]).
//! - [`mempool`]: pktmbuf pools ([`Mempool`]).
//! - [`mbuf`]: owned packet buffers ([`Mbuf`]) and their segments.
//! - [`shared`]: refcounted immutable buffers ([`SharedMbuf`]) and
//!   zero-copy indirect mbufs attached to them.
//! - [`port`]: ethdev ports: configuration, RSS, link, statistics ([`Port`]).
//! - [`burst`]: fixed-capacity receive/transmit bursts ([`Burst`]).
//! - [`tsc`]: the time-stamp counter.
//! - [`bpf`], [`tap_steering`]: an eBPF program steering a multi-queue tap's
//!   kernel-to-DPDK frames to queues by flow group (`TUNSETSTEERINGEBPF`).
//! - [`nic`]: `ix-nic`'s buffer and NIC traits over DPDK ([`nic::DpdkNic`], [`nic::DpdkPool`]).
//! - [`error`]: the [`Error`] type.
//!
//! The `ix-l2pair` binary (`src/bin/ix-l2pair.rs`) moves numbered frames
//! between two DPDK processes over virtio-user/vhost-user shared memory;
//! `tests/l2pair.rs` runs it with 1,000,000 frames.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod bpf;
pub mod burst;
pub mod eal;
pub mod eal_args;
pub mod error;
pub mod mbuf;
pub mod mempool;
pub mod nic;
pub mod packet_socket;
pub mod port;
pub mod shared;
mod signals;
pub mod tap_steering;
pub mod tsc;

#[cfg(test)]
pub(crate) mod test_eal;

pub use burst::{Burst, QueuePair, BURST_MAX};
pub use eal::Eal;
pub use eal_args::EalArgs;
pub use error::{Errno, Error, Result};
pub use mbuf::Mbuf;
pub use mempool::Mempool;
pub use nic::{DpdkNic, DpdkPool};
pub use port::{Link, Port, PortConfig, Stats};
pub use shared::SharedMbuf;

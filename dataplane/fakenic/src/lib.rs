//! An in-memory NIC for running ix's stack without DPDK: in tests and benchmarks.
//!
//! A [`FakeNic`] implements [`ix_nic::Nic`] over a [`HeapPool`](ix_nic::heap::HeapPool).
//! Standalone, the test plays the wire: it [`inject`](FakeNic::inject)s frames to be
//! received and [`pop_sent`](FakeNic::pop_sent)s what was transmitted. Two NICs made
//! by [`FakeLink::pair`] are cabled back to back: what one transmits the other
//! receives.
//!
//! It behaves like a NIC where that matters to the stack: rings have a fixed depth
//! reserved up front ([`DEFAULT_RING_DEPTH`] descriptors unless told otherwise), a
//! full receive ring or an empty pool drops the frame and counts it, a full transmit
//! ring refuses frames (they stay in the caller's batch), receive never waits, and
//! received bytes land in a block of the receiver's own pool, as DMA would. The
//! steady-state path allocates nothing per frame.
//!
//! ```
//! use ix_fakenic::FakeLink;
//! use ix_nic::{Batch, BufPool, Nic, NoBuffers, RxBuf, TxFrame};
//!
//! let (mut a, mut b) = FakeLink::pair([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], 64, 2048);
//! let mut frame = a.pool().alloc_frame()?;
//! frame.append(5).ok_or(NoBuffers)?.copy_from_slice(b"hello");
//! let mut burst = Batch::new();
//! burst.push(frame);
//! assert_eq!(a.tx_burst(&mut burst), 1);
//! let mut got = Batch::new();
//! assert_eq!(b.rx_burst(&mut got), 1);
//! assert_eq!(got[0].data(), b"hello");
//! # Ok::<(), NoBuffers>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod land;
mod link;
mod nic;
mod ring;
mod stats;
mod wire;

pub use link::FakeLink;
pub use nic::FakeNic;
pub use ring::DEFAULT_RING_DEPTH;
pub use stats::FakeNicStats;

//! What ix's network stack needs from a NIC, and nothing about any particular NIC.
//!
//! The stack (`ix-net`, later the TCP engine) is generic over a [`Nic`]: a burst
//! receive, a burst transmit, and a [`BufPool`] of memory the NIC can reach. The
//! three kinds of payload the dataplane carries are decided here, once:
//!
//! - received data: [`RxSeg`], an owned, read-only, non-`Clone` handle over a
//!   received buffer; dropping it releases the buffer and, through an optional
//!   [`Credit`], reopens a TCP receive window. [`RxSeg::into_shared`] turns it into
//!   transmit payload without a copy ([`SharedSeg`]: the frame frozen whole, the
//!   credit handed to the caller).
//! - transmit data: [`MutBuf`]s from the pool, frozen into [`SharedBuf`]s:
//!   reference-counted, immutable, `Send + Sync`, sendable many times and storable.
//! - headers: every transmission is its own [`TxFrame`] whose linear part holds the
//!   headers and to which payload is *attached* by reference, so a retransmission
//!   never rewrites bytes an earlier copy still has in a ring.
//!
//! Implementations: [`heap`] (ordinary memory, for tests and the kernel transport)
//! here; DPDK mbufs in `ix-dpdk`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod batch;
pub mod buf;
pub mod clock;
pub mod copy;
pub mod credit;
pub mod heap;
pub mod nic;
pub mod rxseg;

pub use batch::{Batch, BURST};
pub use buf::{
    BufPool, FrameOf, MutBuf, MutOf, NoBuffers, RxBuf, RxOf, SharedBuf, SharedOf, TxFrame,
};
pub use clock::{Clock, Instant, MonotonicClock, VirtualClock};
pub use credit::{Credit, CreditLedger};
pub use nic::Nic;
pub use rxseg::{RxSeg, SharedSeg};

//! The NIC as the stack sees it: one receive/transmit queue pair and its buffers.

use crate::batch::Batch;
use crate::buf::{BufPool, FrameOf, RxOf};

/// One queue pair of a NIC: burst in, burst out, and the pool its buffers come from.
///
/// Implementations never block and never allocate per packet.
pub trait Nic {
    /// Where this NIC's buffers come from.
    type Pool: BufPool;

    /// The pool for frames and payload this queue transmits; assumes nothing.
    fn pool(&self) -> &Self::Pool;

    /// Appends up to `out`'s spare capacity of received frames to `out`; returns how many.
    fn rx_burst(&mut self, out: &mut Batch<RxOf<Self::Pool>>) -> usize;

    /// Transmits frames from the front of `frames`, removing those the NIC took; returns
    /// how many. Frames it could not take stay in `frames`, in order, for the caller to
    /// retry or drop.
    fn tx_burst(&mut self, frames: &mut Batch<FrameOf<Self::Pool>>) -> usize;

    /// The queue's Ethernet address.
    fn mac(&self) -> [u8; 6];
}

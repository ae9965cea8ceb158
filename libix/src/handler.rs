//! [`Handler`]: the application's side of the boundary, one per elastic thread.

use crate::call::Calls;
use crate::event::EventBatch;
use ix_nic::BufPool;

/// An application as a transport drives it: once at start, then once per batch of
/// event conditions (or of completions), making its calls through `calls`.
///
/// Generic over the pool `P` so the same code runs on every transport (DPDK mbufs
/// on the linked one, heap buffers on the kernel one). It runs on its elastic
/// thread only (no `Send` needed), must not block, and should not allocate per
/// event if the thread is to stay allocation-free.
pub trait Handler<P: BufPool> {
    /// Called once before the first batch: listen, connect, arm timers.
    fn start(&mut self, calls: &mut Calls<'_, P>) {
        let _ = calls;
    }

    /// Handles one batch: take the events out with [`EventBatch::drain`], read the
    /// previous batch's [`EventBatch::completions`], queue calls. Events left in the
    /// batch are dropped when this returns.
    fn events(&mut self, batch: &mut EventBatch<P>, calls: &mut Calls<'_, P>);
}

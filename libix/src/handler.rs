//! [`Handler`]: the application's side of the boundary, one per elastic thread; and
//! how a runtime invokes it with a panic contained ([`start_contained`],
//! [`events_contained`]), shared by the linked and kernel runtimes.

use crate::call::{CallQueue, Calls};
use crate::event::EventBatch;
use crate::id::ConnId;
use ix_nic::{BufPool, Instant};
use std::panic::{catch_unwind, AssertUnwindSafe};

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

/// Runs `handler.start` with its calls going to `queue` (payload from `pool`, time
/// `now`), catching a panic: `Err` carries the payload, and `queue` keeps what was
/// queued before it (the runtime decides what to drop). For runtimes.
pub fn start_contained<P: BufPool, H: Handler<P>>(
    handler: &mut H,
    queue: &mut CallQueue<P>,
    pool: &P,
    now: Instant,
) -> std::thread::Result<()> {
    let mut calls = Calls::new(queue, pool, now);
    catch_unwind(AssertUnwindSafe(|| handler.start(&mut calls)))
}

/// Notes in `involved` (cleared first) the connections `batch`'s events are about,
/// as many as its capacity holds (it never grows: those are the ones a runtime
/// resets if the handler panics), then runs `handler.events` on `batch` as
/// [`start_contained`] runs `start`. For runtimes.
pub fn events_contained<P: BufPool, H: Handler<P>>(
    handler: &mut H,
    batch: &mut EventBatch<P>,
    queue: &mut CallQueue<P>,
    pool: &P,
    now: Instant,
    involved: &mut Vec<ConnId>,
) -> std::thread::Result<()> {
    involved.clear();
    for ev in batch.events() {
        if let Some(c) = ev.conn() {
            if involved.len() < involved.capacity() {
                involved.push(c);
            }
        }
    }
    let mut calls = Calls::new(queue, pool, now);
    catch_unwind(AssertUnwindSafe(|| handler.events(batch, &mut calls)))
}

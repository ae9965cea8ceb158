//! The transport boundary: what runs an application's calls and produces its events.
//!
//! Three transports, and one application binary (a [`crate::Handler`])
//! serves all of them unchanged:
//!
//! - **linked** (`ix_runtime::LinkedTransport`, built): the application runs on the
//!   elastic thread itself, on top of `ix-net` + `ix-tcp` over one NIC queue pair.
//!   Events are the TCP engine's, received payload is the NIC's buffer (zero copy),
//!   sends attach the application's `SharedBuf` to frames (zero copy).
//! - **kernel** ([`crate::kernel::KernelTransport`], built): plain Linux sockets driven
//!   by epoll (mio), one shared-nothing thread per core with `SO_REUSEPORT` listeners.
//!   Its pool is `ix_nic::heap::HeapPool`: `readv` fills pool blocks that become
//!   `RxSeg`s, sends `sendmsg` the `SharedBuf` ranges by reference. `Sent` means the
//!   kernel accepted the bytes, not that the peer acknowledged them (see
//!   [`crate::kernel`] for every difference).
//! - **process** (not built): shared-memory rings between the dataplane process and
//!   an application process; the pool must be memory both map (DPDK memory or a
//!   memfd), events and calls are fixed-size ring entries carrying buffer indices.
//!
//! Contract every transport keeps (applications rely on it):
//! - one [`crate::Completion`] per call, in call order, in the next batch that
//!   reaches the handler (a transport runs the handler when there are completions
//!   even if there is no event);
//! - calls run in order; after a short send on a connection, later sends on it in
//!   the same batch fail with `EarlierSendShort` (so a stream never has a gap);
//! - per connection, events keep the order documented on [`crate::Event`];
//! - nothing blocks, and the batch and call queue never grow.

use crate::call::CallQueue;
use crate::event::EventBatch;
use ix_nic::{BufPool, Instant};

/// A transport: the source of an application's events and the executor of its calls.
pub trait Transport {
    /// Where payload buffers come from.
    type Pool: BufPool;

    /// The pool applications allocate payload from.
    fn pool(&self) -> &Self::Pool;

    /// The transport's current time.
    fn now(&self) -> Instant;

    /// Does one round of I/O without waiting (receive, protocol processing, timers)
    /// and moves up to `batch.room()` events into `batch`; returns how many. Events
    /// that do not fit wait for the next call.
    fn poll(&mut self, batch: &mut EventBatch<Self::Pool>) -> usize;

    /// Runs the queued calls in order, leaving the queue empty and recording one
    /// completion per call in `batch` (for the next handler invocation).
    fn execute(&mut self, calls: &mut CallQueue<Self::Pool>, batch: &mut EventBatch<Self::Pool>);

    /// Lets what the calls produced leave now (transmit), without waiting.
    fn flush(&mut self);
}

/// One iteration of a transport and a handler, without the runtime's extras
/// (statistics, panic containment, back-off): poll, hand over the batch if there is
/// anything, run the calls, flush. Returns the number of events handed over.
pub fn step<T, H>(
    transport: &mut T,
    handler: &mut H,
    batch: &mut EventBatch<T::Pool>,
    calls: &mut CallQueue<T::Pool>,
) -> usize
where
    T: Transport,
    H: crate::Handler<T::Pool>,
{
    let n = transport.poll(batch);
    batch.set_now(transport.now());
    if batch.has_work() {
        let now = transport.now();
        {
            let mut c = crate::Calls::new(calls, transport.pool(), now);
            handler.events(batch, &mut c);
        }
        batch.clear_events();
        batch.clear_completions();
        transport.execute(calls, batch);
        transport.flush();
    }
    n
}

//! [`FlowLog`]: a handler wrapper that notes the remote end of every connection
//! knocking on this elastic thread, so that which thread served which flow can be
//! printed (`t1 flow 10.78.0.1:40312`) and checked from outside.

use ix_nic::BufPool;
use libix::{Calls, Event, EventBatch, Handler};
use std::net::SocketAddrV4;

/// Wraps a handler; remembers up to `capacity` knocking remotes (preallocated: the
/// per-packet path does not allocate), counts the rest.
#[derive(Debug)]
pub struct FlowLog<H> {
    inner: H,
    remotes: Vec<SocketAddrV4>,
    unlogged: u64,
}

impl<H> FlowLog<H> {
    /// Wraps `inner`, with room for `capacity` remotes.
    pub fn new(inner: H, capacity: usize) -> Self {
        FlowLog {
            inner,
            remotes: Vec::with_capacity(capacity),
            unlogged: 0,
        }
    }

    /// The wrapped handler.
    pub fn inner(&self) -> &H {
        &self.inner
    }

    /// The remotes that knocked, in order.
    pub fn remotes(&self) -> &[SocketAddrV4] {
        &self.remotes
    }

    /// Knocks not logged for lack of room.
    pub fn unlogged(&self) -> u64 {
        self.unlogged
    }
}

impl<P: BufPool, H: Handler<P>> Handler<P> for FlowLog<H> {
    fn start(&mut self, calls: &mut Calls<'_, P>) {
        self.inner.start(calls);
    }

    fn events(&mut self, batch: &mut EventBatch<P>, calls: &mut Calls<'_, P>) {
        for ev in batch.events() {
            if let Event::Knock { remote, .. } = ev {
                if self.remotes.len() < self.remotes.capacity() {
                    self.remotes.push(*remote);
                } else {
                    self.unlogged += 1;
                }
            }
        }
        self.inner.events(batch, calls);
    }
}

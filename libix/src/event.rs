//! Event conditions: what a transport tells the application, a batch at a time.

use crate::completion::Completion;
use crate::error::CloseReason;
use crate::id::{ConnId, TimerId};
use ix_nic::{BufPool, Instant, RxSeg};
use std::net::SocketAddrV4;

/// One event condition. Per connection they come in the order things happened:
/// `Knock`/`Connected` first, `Recv`s in stream order, `PeerClosed` after the last
/// `Recv`, and `Dead`/`ConnectFailed` last (the id is invalid afterwards).
#[derive(Debug)]
pub enum Event<P: BufPool> {
    /// A connection to a listening port completed its handshake: answer with
    /// `accept` or `reject` (data it sends waits until then).
    Knock {
        /// The new connection.
        conn: ConnId,
        /// Our port it arrived on.
        local_port: u16,
        /// The peer.
        remote: SocketAddrV4,
    },
    /// An outgoing connection (a `connect` call) is established.
    Connected {
        /// The connection.
        conn: ConnId,
        /// The cookie given to `connect`.
        cookie: u64,
    },
    /// An outgoing connection failed; the id is invalid afterwards.
    ConnectFailed {
        /// The connection that never was.
        conn: ConnId,
        /// The cookie given to `connect`.
        cookie: u64,
        /// Why.
        reason: CloseReason,
    },
    /// In-order received bytes, zero copy: dropping `seg` is `recv_done` (it releases
    /// the buffer and reopens the receive window by its length).
    Recv {
        /// The connection.
        conn: ConnId,
        /// The connection's cookie.
        cookie: u64,
        /// The bytes, in the buffer they arrived in.
        seg: RxSeg<P::Rx>,
    },
    /// The peer acknowledged `acked` more bytes: that much send room is free again and
    /// the acknowledged buffers' references are released.
    Sent {
        /// The connection.
        conn: ConnId,
        /// The connection's cookie.
        cookie: u64,
        /// Bytes newly acknowledged.
        acked: usize,
    },
    /// The peer closed its side: no more `Recv` (we may still send, then close).
    PeerClosed {
        /// The connection.
        conn: ConnId,
        /// The connection's cookie.
        cookie: u64,
    },
    /// The connection is gone; the id is invalid from now on.
    Dead {
        /// The connection.
        conn: ConnId,
        /// The connection's cookie.
        cookie: u64,
        /// Why it ended.
        reason: CloseReason,
    },
    /// A timer armed with `set_timer` fired (once; the id is invalid afterwards).
    Timer {
        /// The timer.
        id: TimerId,
        /// The token given to `set_timer`.
        token: u64,
    },
}

impl<P: BufPool> Event<P> {
    /// The connection the event is about (`None` for timers).
    pub fn conn(&self) -> Option<ConnId> {
        match self {
            Event::Knock { conn, .. }
            | Event::Connected { conn, .. }
            | Event::ConnectFailed { conn, .. }
            | Event::Recv { conn, .. }
            | Event::Sent { conn, .. }
            | Event::PeerClosed { conn, .. }
            | Event::Dead { conn, .. } => Some(*conn),
            Event::Timer { .. } => None,
        }
    }
}

/// A bounded batch of event conditions, plus the completions of the calls the
/// application made in the previous batch.
///
/// Both lists have a capacity fixed at creation and never grow: a transport stops
/// adding events when the batch is full (the rest wait for the next batch), so
/// handing a batch over never allocates. Events the application leaves in the batch
/// are dropped (their buffers released) when its handler returns.
pub struct EventBatch<P: BufPool> {
    events: Vec<Event<P>>,
    done: Vec<Completion>,
    now: Instant,
}

impl<P: BufPool> core::fmt::Debug for EventBatch<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EventBatch")
            .field("events", &self.events.len())
            .field("completions", &self.done)
            .field("now", &self.now)
            .finish()
    }
}

impl<P: BufPool> EventBatch<P> {
    /// An empty batch for up to `events` events and `completions` completions
    /// (at least 1 each); allocates both now.
    pub fn new(events: usize, completions: usize) -> Self {
        EventBatch {
            events: Vec::with_capacity(events.max(1)),
            done: Vec::with_capacity(completions.max(1)),
            now: Instant::ZERO,
        }
    }

    /// Takes the events out in order, leaving the batch empty (never allocates).
    pub fn drain(&mut self) -> std::vec::Drain<'_, Event<P>> {
        self.events.drain(..)
    }

    /// The events, for looking without taking.
    pub fn events(&self) -> &[Event<P>] {
        &self.events
    }

    /// Completions of the previous batch's calls, in the order the calls were made.
    pub fn completions(&self) -> &[Completion] {
        &self.done
    }

    /// Events in the batch.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether the batch holds no events.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Whether the handler has anything to look at: events or completions.
    pub fn has_work(&self) -> bool {
        !self.events.is_empty() || !self.done.is_empty()
    }

    /// The transport's time when the batch was gathered.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Events that can still be added (for transports).
    pub fn room(&self) -> usize {
        self.events.capacity() - self.events.len()
    }

    /// Adds an event (for transports); gives it back if the batch is full.
    pub fn push(&mut self, ev: Event<P>) -> Result<(), Event<P>> {
        if self.room() == 0 {
            return Err(ev);
        }
        self.events.push(ev);
        Ok(())
    }

    /// Records a call's completion (for transports); `false` if the list is full,
    /// which cannot happen when its capacity is at least the call batch's.
    pub fn complete(&mut self, c: Completion) -> bool {
        if self.done.len() == self.done.capacity() {
            return false;
        }
        self.done.push(c);
        true
    }

    /// Sets the batch's time (for transports).
    pub fn set_now(&mut self, now: Instant) {
        self.now = now;
    }

    /// Drops every event left in the batch (for transports, after the handler).
    pub fn clear_events(&mut self) {
        self.events.clear();
    }

    /// Forgets the completions (for transports, once the handler has seen them).
    pub fn clear_completions(&mut self) {
        self.done.clear();
    }
}

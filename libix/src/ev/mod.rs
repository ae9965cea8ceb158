//! An ixev-style per-connection layer over the raw batch interface: per-connection
//! state and callbacks, sends of `SharedBuf` references queued per connection
//! (bounded) and retried automatically after short sends, closes deferred until the
//! queue drains.
//!
//! An application implements [`App`]; [`Ev`] wraps it into a [`crate::Handler`].

mod cx;
mod io;
mod pending;

pub use cx::{ConnCx, Cx, EvError};
pub use pending::Pending;

use crate::call::Calls;
use crate::completion::Completion;
use crate::error::CloseReason;
use crate::event::{Event, EventBatch};
use crate::handler::Handler;
use crate::id::ConnId;
use cx::CONN_TIMER;
use io::Io;
use ix_nic::{BufPool, RxSeg};
use std::net::SocketAddrV4;

/// An application written per connection. `Conn` is its per-connection state.
pub trait App<P: BufPool> {
    /// Per-connection state.
    type Conn;

    /// Called once at start: listen, connect, arm timers.
    fn start(&mut self, cx: &mut Cx<'_, '_, P, Self::Conn>) {
        let _ = cx;
    }

    /// A connection knocks on `local_port`: its state to accept it, `None` to reject.
    fn knock(&mut self, local_port: u16, remote: SocketAddrV4) -> Option<Self::Conn>;

    /// An accepted connection is ready (may send at once).
    fn accepted(&mut self, c: &mut ConnCx<'_, '_, P>, state: &mut Self::Conn) {
        let _ = (c, state);
    }

    /// An outgoing connection is established.
    fn connected(&mut self, c: &mut ConnCx<'_, '_, P>, state: &mut Self::Conn) {
        let _ = (c, state);
    }

    /// Bytes arrived (zero copy; dropping `seg` releases it and reopens the window).
    fn recv(&mut self, c: &mut ConnCx<'_, '_, P>, state: &mut Self::Conn, seg: RxSeg<P::Rx>);

    /// The peer acknowledged `acked` bytes: room to queue more.
    fn sent(&mut self, c: &mut ConnCx<'_, '_, P>, state: &mut Self::Conn, acked: usize) {
        let _ = (c, state, acked);
    }

    /// The peer closed its side; by default we close ours too.
    fn peer_closed(&mut self, c: &mut ConnCx<'_, '_, P>, state: &mut Self::Conn) {
        let _ = state;
        c.close();
    }

    /// A wake-up asked for with [`ConnCx::wake_after`].
    fn wake(&mut self, c: &mut ConnCx<'_, '_, P>, state: &mut Self::Conn) {
        let _ = (c, state);
    }

    /// The connection is gone; its state is handed back.
    fn dead(&mut self, state: Self::Conn, reason: CloseReason) {
        let _ = (state, reason);
    }

    /// An outgoing connection failed; its state is handed back.
    fn connect_failed(&mut self, state: Self::Conn, reason: CloseReason) {
        let _ = (state, reason);
    }

    /// A timer armed with [`Cx::set_timer`] fired.
    fn timer(&mut self, cx: &mut Cx<'_, '_, P, Self::Conn>, token: u64) {
        let _ = (cx, token);
    }
}

/// Bounds of the per-connection layer, all reserved up front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvConfig {
    /// Connection slots (at least the transport's connection limit: ids index them).
    pub max_conns: usize,
    /// Unsent references queued per connection.
    pub max_unsent: usize,
    /// Outgoing connections being opened at once.
    pub max_connecting: usize,
}

impl Default for EvConfig {
    /// 1024 connections (ix-tcp's default), 64 references each, 256 connecting.
    fn default() -> Self {
        EvConfig {
            max_conns: 1024,
            max_unsent: 64,
            max_connecting: 256,
        }
    }
}

struct Slot<P: BufPool, S> {
    id: Option<ConnId>,
    state: Option<S>,
    io: Io<P>,
}

/// An [`App`] as a [`Handler`]: routes events to per-connection callbacks and runs
/// the send queues.
pub struct Ev<P: BufPool, A: App<P>> {
    app: A,
    slots: Vec<Slot<P, A::Conn>>,
    pending: Pending<A::Conn>,
}

impl<P: BufPool, A: App<P>> core::fmt::Debug for Ev<P, A> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let live = self.slots.iter().filter(|s| s.id.is_some()).count();
        f.debug_struct("Ev")
            .field("conns", &live)
            .finish_non_exhaustive()
    }
}

impl<P: BufPool, A: App<P>> Ev<P, A> {
    /// Wraps `app` with the bounds of `cfg`; allocates every slot and queue now.
    pub fn new(app: A, cfg: EvConfig) -> Self {
        let cap = cfg.max_unsent.max(1);
        Ev {
            app,
            slots: (0..cfg.max_conns)
                .map(|_| Slot {
                    id: None,
                    state: None,
                    io: Io::new(cap),
                })
                .collect(),
            pending: Pending::new(cfg.max_connecting),
        }
    }

    /// The application.
    pub fn app(&self) -> &A {
        &self.app
    }

    /// The application, mutably.
    pub fn app_mut(&mut self) -> &mut A {
        &mut self.app
    }

    /// Live connections.
    pub fn conns(&self) -> usize {
        self.slots.iter().filter(|s| s.id.is_some()).count()
    }

    fn completion(&mut self, c: Completion, calls: &mut Calls<'_, P>) {
        match c {
            Completion::Send {
                conn,
                requested,
                result,
            } => {
                let Some(slot) = live(&mut self.slots, conn) else {
                    return;
                };
                match result {
                    Ok(n) => {
                        slot.io.taken(n, requested);
                    }
                    Err(crate::CallError::EarlierSendShort) => {
                        slot.io.in_flight = slot.io.in_flight.saturating_sub(1);
                    }
                    Err(_) => {
                        // The connection cannot send any more: its end follows.
                        slot.io.in_flight = slot.io.in_flight.saturating_sub(1);
                        slot.io.unsent.clear();
                        slot.io.blocked = true;
                    }
                }
                slot.io.pump(conn, calls);
            }
            Completion::Connect { cookie, result, .. } => {
                let Some(state) = self.pending.take(cookie) else {
                    return;
                };
                match result {
                    Ok(conn) => match self.slots.get_mut(conn.index()) {
                        Some(slot) => {
                            slot.io.reset();
                            slot.id = Some(conn);
                            slot.state = Some(state);
                        }
                        None => {
                            let _ = calls.abort(conn);
                            self.app.connect_failed(state, CloseReason::Aborted);
                        }
                    },
                    Err(_) => self.app.connect_failed(state, CloseReason::Aborted),
                }
            }
            Completion::Accept {
                conn,
                result: Err(_),
            } => {
                if let Some(state) = self.remove(conn) {
                    self.app.dead(state, CloseReason::Aborted);
                }
            }
            _ => {}
        }
    }

    fn remove(&mut self, conn: ConnId) -> Option<A::Conn> {
        let slot = live(&mut self.slots, conn)?;
        slot.id = None;
        slot.io.reset();
        slot.state.take()
    }

    /// Runs `f` on the connection's callbacks, then its abort or send queue.
    fn with_conn(
        &mut self,
        conn: ConnId,
        calls: &mut Calls<'_, P>,
        f: impl FnOnce(&mut A, &mut ConnCx<'_, '_, P>, &mut A::Conn),
    ) {
        let Some(slot) = live(&mut self.slots, conn) else {
            return;
        };
        let Some(state) = slot.state.as_mut() else {
            return;
        };
        {
            let mut c = ConnCx {
                calls: &mut *calls,
                io: &mut slot.io,
                conn,
            };
            f(&mut self.app, &mut c, state);
        }
        if slot.io.abort_wanted {
            let _ = calls.abort(conn);
            if let Some(state) = self.remove(conn) {
                self.app.dead(state, CloseReason::Aborted);
            }
            return;
        }
        slot.io.pump(conn, calls);
    }

    fn event(&mut self, ev: Event<P>, calls: &mut Calls<'_, P>) {
        match ev {
            Event::Knock {
                conn,
                local_port,
                remote,
            } => {
                let state = self.app.knock(local_port, remote);
                match (state, self.slots.get_mut(conn.index())) {
                    (Some(state), Some(slot)) if calls.accept(conn, 0).is_ok() => {
                        slot.io.reset();
                        slot.id = Some(conn);
                        slot.state = Some(state);
                        self.with_conn(conn, calls, |a, c, s| a.accepted(c, s));
                    }
                    (Some(state), _) => {
                        let _ = calls.reject(conn);
                        self.app.dead(state, CloseReason::Aborted);
                    }
                    (None, _) => {
                        let _ = calls.reject(conn);
                    }
                }
            }
            Event::Connected { conn, .. } => {
                self.with_conn(conn, calls, |a, c, s| a.connected(c, s));
            }
            Event::ConnectFailed { conn, reason, .. } => {
                if let Some(state) = self.remove(conn) {
                    self.app.connect_failed(state, reason);
                }
            }
            Event::Recv { conn, seg, .. } => {
                self.with_conn(conn, calls, |a, c, s| a.recv(c, s, seg));
            }
            Event::Sent { conn, acked, .. } => {
                if let Some(slot) = live(&mut self.slots, conn) {
                    slot.io.blocked = false;
                }
                self.with_conn(conn, calls, |a, c, s| a.sent(c, s, acked));
            }
            Event::PeerClosed { conn, .. } => {
                self.with_conn(conn, calls, |a, c, s| a.peer_closed(c, s));
            }
            Event::Dead { conn, reason, .. } => {
                if let Some(state) = self.remove(conn) {
                    self.app.dead(state, reason);
                }
            }
            Event::Timer { token, .. } if token & CONN_TIMER != 0 => {
                let index = (token & 0xffff_ffff) as usize;
                let gen = ((token >> 32) & 0x7fff_ffff) as u32;
                let conn = self
                    .slots
                    .get(index)
                    .and_then(|s| s.id)
                    .filter(|id| id.generation() & 0x7fff_ffff == gen);
                if let Some(conn) = conn {
                    self.with_conn(conn, calls, |a, c, s| a.wake(c, s));
                }
            }
            Event::Timer { token, .. } => {
                let mut cx = Cx {
                    calls,
                    pending: &mut self.pending,
                };
                self.app.timer(&mut cx, token);
            }
        }
    }
}

/// The slot of `conn` if it is still that connection's.
fn live<P: BufPool, S>(slots: &mut [Slot<P, S>], conn: ConnId) -> Option<&mut Slot<P, S>> {
    slots.get_mut(conn.index()).filter(|s| s.id == Some(conn))
}

impl<P: BufPool, A: App<P>> Handler<P> for Ev<P, A> {
    fn start(&mut self, calls: &mut Calls<'_, P>) {
        let mut cx = Cx {
            calls,
            pending: &mut self.pending,
        };
        self.app.start(&mut cx);
    }

    fn events(&mut self, batch: &mut EventBatch<P>, calls: &mut Calls<'_, P>) {
        // Completions first: they belong to calls made before any of these events.
        for i in 0..batch.completions().len() {
            if let Some(&c) = batch.completions().get(i) {
                self.completion(c, calls);
            }
        }
        for ev in batch.drain() {
            self.event(ev, calls);
        }
    }
}

//! The libix application: memcached on the per-connection layer (`libix::ev`),
//! generic over the transport's pool `P`; the store, shared by every thread, holds
//! values in buffers of its own pool `SP` whose shared buffers are `P`'s, so GET
//! responses send stored buffers by reference.
//!
//! Each connection's received segments are kept until its state machine has
//! consumed them; while its response queue is over its bound it stops consuming
//! (its receive window stays closed) and resumes when the peer takes responses.

use crate::conn::Conn;
use crate::conns::{ConnEntry, ConnState};
use crate::exec::Ctx;
use crate::out::Out;
use crate::stats::{Stats, ThreadStats};
use crate::store::Store;
use ix_nic::{BufPool, RxSeg};
use libix::ev::{App, ConnCx, Cx};
use libix::CloseReason;
use std::collections::VecDeque;
use std::net::SocketAddrV4;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// One connection's state.
pub struct McConn<P: BufPool, SP: BufPool> {
    conn: Conn<SP>,
    entry: ConnEntry,
    out: Out<P>,
    held: VecDeque<RxSeg<P::Rx>>,
    peer_closed: bool,
    closing: bool,
}

impl<P: BufPool, SP: BufPool> core::fmt::Debug for McConn<P, SP> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("McConn")
            .field("held", &self.held.len())
            .field("out", &self.out)
            .field("closing", &self.closing)
            .finish()
    }
}

/// The memcached application of one thread.
pub struct Memcached<P: BufPool, SP: BufPool<Shared = P::Shared>> {
    store: Arc<Store<SP>>,
    stats: Arc<Stats>,
    thread: usize,
    port: u16,
    _pool: core::marker::PhantomData<P>,
}

impl<P: BufPool, SP: BufPool<Shared = P::Shared>> core::fmt::Debug for Memcached<P, SP> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Memcached")
            .field("thread", &self.thread)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl<P: BufPool, SP: BufPool<Shared = P::Shared>> Memcached<P, SP> {
    /// Thread `thread`'s application serving `port` (0: the transport's choice)
    /// from `store`, counting into `stats`.
    pub fn new(store: Arc<Store<SP>>, stats: Arc<Stats>, thread: usize, port: u16) -> Self {
        Memcached {
            store,
            stats,
            thread,
            port,
            _pool: core::marker::PhantomData,
        }
    }

    fn counters(&self) -> &ThreadStats {
        self.stats.thread(self.thread)
    }

    /// Hands queued responses to the connection's send queue while it has room.
    fn flush(&self, c: &mut ConnCx<'_, '_, P>, st: &mut McConn<P, SP>) {
        while c.send_room() > 0 {
            let Some((buf, range)) = st.out.pop() else {
                break;
            };
            let n = range.len() as u64;
            if c.send(&buf, range.clone()).is_err() {
                st.out.unpop((buf, range));
                break;
            }
            ThreadStats::add(&self.counters().bytes_written, n);
        }
    }

    /// Consumes held input while responses have room, then sends.
    fn pump(&mut self, c: &mut ConnCx<'_, '_, P>, st: &mut McConn<P, SP>) {
        let stats = Arc::clone(&self.stats);
        let thread = stats.thread(self.thread);
        loop {
            self.flush(c, st);
            if st.closing {
                break;
            }
            let Some(seg) = st.held.front_mut() else {
                break;
            };
            if st.out.over_bound() {
                ThreadStats::add(&thread.conn_yields, 1);
                break;
            }
            let mut cx = Ctx {
                store: &self.store,
                pool: c.pool(),
                out: &mut st.out,
                stats: &stats,
                thread,
                now: self.store.clock().now(),
            };
            let before = st.conn.commands();
            st.entry.info().set_state(ConnState::ParseCmd);
            let fed = st.conn.feed(seg, &mut cx);
            if st.conn.commands() != before {
                st.entry.info().commanded(cx.now);
            }
            st.out.seal();
            seg.advance(fed.consumed);
            if seg.is_empty() {
                st.held.pop_front();
            }
            if fed.close {
                st.closing = true;
                st.held.clear();
            } else if fed.consumed == 0 && !st.out.over_bound() {
                break;
            }
        }
        self.flush(c, st);
        if st.peer_closed && st.held.is_empty() {
            st.closing = true;
        }
        let state = if st.closing {
            ConnState::Closing
        } else if st.out.over_bound() {
            ConnState::Mwrite
        } else {
            st.conn.phase()
        };
        st.entry.info().set_state(state);
        if st.closing && st.out.is_empty() {
            c.close();
        }
        thread
            .ix_copied_bytes
            .store(ix_nic::copy::copied_bytes(), Ordering::Relaxed);
    }
}

impl<P: BufPool, SP: BufPool<Shared = P::Shared>> App<P> for Memcached<P, SP> {
    type Conn = McConn<P, SP>;

    fn start(&mut self, cx: &mut Cx<'_, '_, P, Self::Conn>) {
        if let Err(e) = cx.listen(self.port) {
            tracing::error!(port = self.port, error = %e, "cannot listen");
        }
    }

    fn knock(&mut self, _port: u16, remote: SocketAddrV4) -> Option<Self::Conn> {
        let open: u64 = self
            .stats
            .threads
            .iter()
            .map(|t| t.curr_connections.load(Ordering::Relaxed))
            .sum();
        let t = self.counters();
        if open >= self.stats.settings.maxconns as u64 {
            ThreadStats::add(&t.rejected_connections, 1);
            return None;
        }
        ThreadStats::add(&t.curr_connections, 1);
        ThreadStats::add(&t.total_connections, 1);
        let entry = self.stats.conns.open(remote, self.store.clock().now());
        Some(McConn {
            conn: Conn::default(),
            entry,
            out: Out::default(),
            held: VecDeque::new(),
            peer_closed: false,
            closing: false,
        })
    }

    fn recv(&mut self, c: &mut ConnCx<'_, '_, P>, st: &mut Self::Conn, seg: RxSeg<P::Rx>) {
        ThreadStats::add(&self.counters().bytes_read, seg.len() as u64);
        if st.closing {
            return;
        }
        st.held.push_back(seg);
        self.pump(c, st);
    }

    fn sent(&mut self, c: &mut ConnCx<'_, '_, P>, st: &mut Self::Conn, _acked: usize) {
        self.pump(c, st);
    }

    fn wake(&mut self, c: &mut ConnCx<'_, '_, P>, st: &mut Self::Conn) {
        self.pump(c, st);
    }

    fn peer_closed(&mut self, c: &mut ConnCx<'_, '_, P>, st: &mut Self::Conn) {
        st.peer_closed = true;
        self.pump(c, st);
    }

    fn dead(&mut self, _st: Self::Conn, _reason: CloseReason) {
        self.counters()
            .curr_connections
            .fetch_sub(1, Ordering::Relaxed);
    }
}

//! The connection table: slots taken for new sockets (registered with epoll), ended
//! (socket closed, last event owed) and freed (generation moved on, so stale ids and
//! epoll reports are refused); plus the attention and transmit queues' membership.

use super::token::{conn_token, next_gen};
use super::KernelTransport;
use crate::error::{CallError, CloseReason};
use crate::id::ConnId;
use crate::kernel::conn::{Conn, Final, Phase};
use ix_nic::heap::HeapShared;
use mio::net::TcpStream;
use mio::Interest;
use socket2::SockRef;
use std::collections::VecDeque;
use std::time::Duration;

/// Queues slot `i` (whose entry is `c`) for servicing, unless it is queued already.
pub(super) fn enqueue(c: &mut Conn<HeapShared>, i: usize, q: &mut VecDeque<u32>) {
    if !c.in_attention {
        c.in_attention = true;
        q.push_back(i as u32);
    }
}

/// Puts slot `i` (whose entry is `c`) on the transmit list, unless it is on it already.
pub(super) fn tx_add(c: &mut Conn<HeapShared>, i: usize, tx: &mut Vec<u32>) {
    if !c.in_tx {
        c.in_tx = true;
        tx.push(i as u32);
    }
}

impl KernelTransport {
    /// The slot of `conn` if the application may still name it.
    pub(super) fn lookup(&self, conn: ConnId) -> Result<usize, CallError> {
        let i = conn.index();
        match self.conns.get(i) {
            Some(c) if c.gen == conn.generation() && c.phase != Phase::Free && !c.gone => Ok(i),
            _ => Err(CallError::NoSuchConnection),
        }
    }

    /// Takes a free slot for `sock` and registers it with epoll; `None` (and the
    /// socket closed) if the table is full or registration fails.
    pub(super) fn adopt(
        &mut self,
        mut sock: TcpStream,
        phase: Phase,
        port: u16,
        cookie: u64,
    ) -> Option<ConnId> {
        let i = self.free.pop()? as usize;
        if self.cfg.nodelay {
            let _ = sock.set_nodelay(true);
        }
        let gen = self.conns[i].gen;
        let interest = Interest::READABLE | Interest::WRITABLE;
        if self
            .poll
            .registry()
            .register(&mut sock, conn_token(i, gen), interest)
            .is_err()
        {
            self.free.push(i as u32);
            return None;
        }
        let credit_gen = self.ledger.open(i as u32);
        let c = &mut self.conns[i];
        c.open(phase, sock, port, cookie);
        c.credit_gen = credit_gen;
        // An established socket may have data and room already: try at once (the
        // first read or write that finds nothing clears the flag).
        let established = phase != Phase::Connecting;
        c.readable = established;
        c.writable = established;
        Some(ConnId::new(i as u32, gen))
    }

    /// Closes slot `i`'s socket (with a RST if `reset`) and frees the slot: its id
    /// is invalid from now on and no event follows.
    pub(super) fn free_slot(&mut self, i: usize, reset: bool) {
        self.drop_socket(i, reset);
        let c = &mut self.conns[i];
        c.phase = Phase::Free;
        c.gone = false;
        c.final_event = None;
        c.gen = next_gen(c.gen);
        self.free.push(i as u32);
    }

    /// Closes slot `i`'s socket (if any) and drops what it had queued to send.
    fn drop_socket(&mut self, i: usize, reset: bool) {
        let c = &mut self.conns[i];
        if let Some(mut s) = c.sock.take() {
            if reset {
                // SO_LINGER 0: close sends a RST and forgets the connection.
                let _ = SockRef::from(&s).set_linger(Some(Duration::ZERO));
            }
            let _ = self.poll.registry().deregister(&mut s);
        }
        if let Some(t) = c.fin_timer.take() {
            self.fins.cancel(t);
        }
        c.sendq.clear();
        c.acked = 0;
    }

    /// Ends slot `i`: the socket is closed now (with a RST if `reset`), `last` is
    /// owed to the application.
    pub(super) fn end(&mut self, i: usize, last: Final, reset: bool) {
        self.drop_socket(i, reset);
        let c = &mut self.conns[i];
        c.phase = Phase::Ending;
        c.final_event = Some(last);
        enqueue(c, i, &mut self.attention);
    }

    /// The socket of slot `i` failed with `reason`.
    pub(super) fn fail(&mut self, i: usize, reason: CloseReason) {
        let last = if self.conns[i].phase == Phase::Connecting {
            Final::ConnectFailed(reason)
        } else {
            Final::Dead(reason)
        };
        self.end(i, last, false);
    }
}

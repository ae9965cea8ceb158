//! The application's calls: listening, opening, accepting or rejecting, sending,
//! closing and aborting connections, and taking their events. They only queue: what
//! they cause leaves on the next poll.

use super::TcpEngine;
use crate::api::{ConnId, State, TcpError, TcpEvent};
use crate::conn::state::{after_close, can_send};
use crate::conn::tcb::Knock;
use crate::flow_table::FlowKey;
use crate::stats::Counter;
use crate::timestamps;
use core::ops::Range;
use ix_nic::{BufPool, SharedBuf};
use std::net::SocketAddrV4;

impl<P: BufPool> TcpEngine<P> {
    /// Starts accepting connections on `port`; `Knock` events announce them.
    pub fn listen(&mut self, port: u16) -> Result<(), TcpError> {
        if port == 0 {
            return Err(TcpError::InvalidAddress);
        }
        self.listeners.add(port)
    }

    /// Stops listening on `port`; connections from it not yet accepted are reset.
    pub fn unlisten(&mut self, port: u16) -> Result<(), TcpError> {
        if !self.listeners.remove(port) {
            return Err(TcpError::NotListening);
        }
        for slot in 0..self.conns.len() as u32 {
            let t = &self.conns[slot as usize];
            if t.in_use && t.dead.is_none() && t.listen_port == Some(port) {
                self.owe_rst(slot);
                self.free_now(slot);
            }
        }
        Ok(())
    }

    /// Opens a connection to `remote` from `local_port` (an ephemeral port if
    /// `None`). The SYN leaves on the next poll; `Connected` or `ConnectFailed`
    /// follows. Data may be queued with [`TcpEngine::send`] at once.
    pub fn connect(
        &mut self,
        remote: SocketAddrV4,
        local_port: Option<u16>,
    ) -> Result<ConnId, TcpError> {
        let ip = *remote.ip();
        if remote.port() == 0
            || ip.is_unspecified()
            || ip.is_broadcast()
            || ip.is_multicast()
            || local_port == Some(0)
        {
            return Err(TcpError::InvalidAddress);
        }
        if self.free.is_empty() {
            return Err(TcpError::TooManyConnections);
        }
        let key = match local_port {
            Some(p) => {
                let k = FlowKey::new(remote, p);
                if self.flows.get(k).is_some() {
                    return Err(TcpError::AddrInUse);
                }
                k
            }
            None => self.ephemeral(remote).ok_or(TcpError::AddrInUse)?,
        };
        let Some(slot) = self.free.pop() else {
            return Err(TcpError::TooManyConnections);
        };
        if self.flows.insert(key, slot).is_err() {
            self.free.push(slot);
            return Err(TcpError::TooManyConnections);
        }
        let iss = self.isn.isn(self.core.local, key, self.core.now);
        let ts_offset = timestamps::offset(&self.ts_key, self.core.local, key);
        let t = &mut self.conns[slot as usize];
        t.open(&mut self.core, key, State::SynSent, iss);
        t.ts.offset = ts_offset;
        t.knock = Knock::Active;
        let id = t.id();
        self.core.txq.push(slot);
        Ok(id)
    }

    /// A free local port for a connection to `remote`.
    fn ephemeral(&mut self, remote: SocketAddrV4) -> Option<FlowKey> {
        let (lo, hi) = self.core.cfg.ephemeral_ports;
        let span = u32::from(hi - lo) + 1;
        for _ in 0..span {
            let p = self.next_port;
            self.next_port = if p >= hi { lo } else { p + 1 };
            let k = FlowKey::new(remote, p);
            if self.flows.get(k).is_none() && self.listeners.get(p).is_none() {
                return Some(k);
            }
        }
        None
    }

    /// Takes a knocking connection: from now on it reports events with `cookie`.
    pub fn accept(&mut self, conn: ConnId, cookie: u64) -> Result<(), TcpError> {
        let t = self.visible_mut(conn)?;
        if t.knock != Knock::Delivered {
            return Err(TcpError::InvalidState);
        }
        t.knock = Knock::Accepted;
        t.cookie = cookie;
        let port = t.listen_port.take();
        let events = t.has_events();
        if let Some(l) = port.and_then(|p| self.listeners.get_mut(p)) {
            l.backlog = l.backlog.saturating_sub(1);
        }
        if events {
            self.core.ready.push(conn.slot);
        }
        Ok(())
    }

    /// Refuses a knocking connection: it is reset and the id becomes invalid.
    pub fn reject(&mut self, conn: ConnId) -> Result<(), TcpError> {
        let t = self.visible(conn)?;
        if t.knock != Knock::Delivered {
            return Err(TcpError::InvalidState);
        }
        self.core.count(Counter::Rejected);
        self.owe_rst(conn.slot);
        self.free_now(conn.slot);
        Ok(())
    }

    /// Sets the cookie reported with the connection's events.
    pub fn set_cookie(&mut self, conn: ConnId, cookie: u64) -> Result<(), TcpError> {
        self.visible_mut(conn)?.cookie = cookie;
        Ok(())
    }

    /// Queues `buf[range]` to send, by reference (no copy; `buf` stays alive until
    /// acknowledged). Returns the bytes accepted: fewer than asked (maybe 0) when the
    /// send buffer is full; retry the rest after a `Sent` event.
    pub fn send(
        &mut self,
        conn: ConnId,
        buf: &P::Shared,
        range: Range<usize>,
    ) -> Result<usize, TcpError> {
        if range.start > range.end || range.end > buf.len() {
            return Err(TcpError::InvalidRange);
        }
        let (max_bytes, max_pieces) = (self.core.cfg.send_buf, self.core.cfg.send_pieces);
        let t = self.visible_mut(conn)?;
        if t.knock == Knock::Delivered || t.app_closed || !can_send(t.state) {
            return Err(TcpError::InvalidState);
        }
        let n = t.sendq.push(buf, range, max_bytes, max_pieces);
        if n > 0 {
            self.core.txq.push(conn.slot);
        }
        Ok(n)
    }

    /// Bytes [`TcpEngine::send`] would accept now.
    pub fn send_room(&self, conn: ConnId) -> Result<usize, TcpError> {
        let t = self.visible(conn)?;
        Ok(self.core.cfg.send_buf.saturating_sub(t.sendq.len()) as usize)
    }

    /// Closes our sending side: FIN after the queued data. Receiving goes on until
    /// the peer closes (`PeerClosed`); `Dead` ends it. A connection still in SYN_SENT
    /// is dropped at once (no event follows).
    pub fn close(&mut self, conn: ConnId) -> Result<(), TcpError> {
        let t = self.visible_mut(conn)?;
        if t.knock == Knock::Delivered || t.app_closed {
            return Err(TcpError::InvalidState);
        }
        if t.state == State::SynSent {
            self.free_now(conn.slot);
            return Ok(());
        }
        let next = after_close(t.state).ok_or(TcpError::InvalidState)?;
        t.app_closed = true;
        t.state = next;
        self.core.txq.push(conn.slot);
        Ok(())
    }

    /// Resets the connection: a RST goes out on the next poll, queued data in both
    /// directions is discarded, and the id is invalid at once (no event follows).
    pub fn abort(&mut self, conn: ConnId) -> Result<(), TcpError> {
        let t = self.visible(conn)?;
        if t.state != State::SynSent {
            self.owe_rst(conn.slot);
        }
        self.core.count(Counter::Aborted);
        self.free_now(conn.slot);
        Ok(())
    }

    /// The next event for the application, if any (never blocks, never allocates).
    pub fn poll_event(&mut self) -> Option<TcpEvent<P::Rx>> {
        loop {
            let slot = self.core.ready.pop()?;
            let t = self.conns.get_mut(slot as usize)?;
            if !t.in_use {
                continue;
            }
            let port = t.key.local_port();
            let Some(ev) = t.next_event(port) else {
                continue;
            };
            if matches!(ev, TcpEvent::Dead { .. } | TcpEvent::ConnectFailed { .. }) {
                t.release(&mut self.core);
                self.free.push(slot);
            } else if t.has_events() {
                self.core.ready.push(slot);
            }
            return Some(ev);
        }
    }
}

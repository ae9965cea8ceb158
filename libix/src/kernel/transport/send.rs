//! The send path: `send` queues `SharedBuf` ranges by reference (short when the
//! connection's send room is used up), the transmit list's connections `sendmsg`
//! them (partial writes wait for the next writable edge), each reference is
//! released once the kernel took its bytes; `close` adds the FIN after them, and a
//! peer that never closes in turn is reset after the FIN timeout.

use super::table::{enqueue, tx_add};
use super::KernelTransport;
use crate::error::{CallError, CloseReason};
use crate::id::ConnId;
use crate::kernel::config::MAX_WRITE_PIECES;
use crate::kernel::conn::{Final, Phase};
use crate::kernel::error::{close_reason, interrupted, would_block};
use core::ops::Range;
use ix_nic::heap::HeapShared;
use ix_nic::{Clock, Instant, SharedBuf};
use socket2::SockRef;
use std::net::Shutdown;

impl KernelTransport {
    /// `send(conn, buf, range)`: queues as much of `buf[range]` as the connection's
    /// send room allows, by reference; a short send makes the connection's later
    /// sends in this call batch fail with `EarlierSendShort`. Allowed while connecting
    /// (written once established), refused after `close`.
    pub(super) fn send(
        &mut self,
        conn: ConnId,
        buf: HeapShared,
        range: Range<usize>,
    ) -> Result<usize, CallError> {
        if range.start > range.end || range.end > buf.len() {
            return Err(CallError::InvalidRange);
        }
        let i = self.lookup(conn)?;
        let c = &mut self.conns[i];
        if c.short_in == self.call_batch {
            return Err(CallError::EarlierSendShort);
        }
        if !matches!(c.phase, Phase::Open | Phase::Connecting) || c.close_wanted {
            return Err(CallError::InvalidState);
        }
        let requested = range.len();
        let n = c
            .sendq
            .push(buf, range, self.cfg.send_buf, self.cfg.send_pieces);
        if n < requested {
            c.short_in = self.call_batch;
        }
        if n > 0 && c.phase == Phase::Open {
            tx_add(c, i, &mut self.tx);
        }
        Ok(n)
    }

    /// `close(conn)`: an open connection sends its FIN once its queue is written; a
    /// connecting one is dropped at once and owes `Dead { Aborted }`.
    pub(super) fn close(&mut self, conn: ConnId) -> Result<(), CallError> {
        let i = self.lookup(conn)?;
        let c = &mut self.conns[i];
        match c.phase {
            Phase::Connecting => {
                // Dropped before the handshake finished: `Dead { Aborted }` follows.
                c.gone = true;
                self.end(i, Final::Dead(CloseReason::Aborted), false);
                Ok(())
            }
            Phase::Open if !c.close_wanted => {
                c.close_wanted = true;
                tx_add(c, i, &mut self.tx);
                Ok(())
            }
            _ => Err(CallError::InvalidState),
        }
    }

    /// Writes what the connections on the transmit list have queued, and their FINs.
    pub(super) fn write_pending(&mut self) {
        if self.tx.is_empty() {
            return;
        }
        std::mem::swap(&mut self.tx, &mut self.tx_work);
        for k in 0..self.tx_work.len() {
            let i = self.tx_work[k] as usize;
            self.conns[i].in_tx = false;
            self.write(i);
        }
        self.tx_work.clear();
    }

    /// `sendmsg`s slot `i`'s queue until it is empty or the socket is full; then
    /// the FIN if the application closed and everything is out.
    fn write(&mut self, i: usize) {
        let c = &mut self.conns[i];
        if c.phase != Phase::Open {
            return;
        }
        let Some(sock) = c.sock.as_ref() else {
            return;
        };
        let mut error = None;
        let mut wrote = false;
        while c.writable && !c.sendq.is_empty() {
            let (result, offered) = {
                let iov = c.sendq.slices::<MAX_WRITE_PIECES>();
                let offered: usize = iov.iter().map(|s| s.len()).sum();
                let r = SockRef::from(sock).send_vectored_with_flags(&iov, libc::MSG_NOSIGNAL);
                (r, offered)
            };
            match result {
                Ok(n) => {
                    self.stats.writes += 1;
                    self.stats.tx_bytes += n as u64;
                    c.sendq.consume(n);
                    c.acked += n;
                    wrote = true;
                    if n < offered {
                        // The socket's buffer is full: EPOLLOUT (a new edge) says
                        // when it has room again.
                        self.stats.short_writes += 1;
                        c.writable = false;
                    }
                }
                Err(e) if would_block(&e) => {
                    self.stats.short_writes += 1;
                    c.writable = false;
                }
                Err(e) if interrupted(&e) => {}
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        let mut fin = false;
        if error.is_none() && c.sendq.is_empty() && c.close_wanted && !c.shutdown_done {
            match sock.shutdown(Shutdown::Write) {
                Ok(()) => {
                    c.shutdown_done = true;
                    fin = true;
                }
                Err(e) => error = Some(e),
            }
        }
        if let Some(e) = error {
            self.fail(i, close_reason(&e));
            return;
        }
        if fin && !c.eof {
            let deadline = self.clock.now() + self.cfg.fin_timeout;
            c.fin_timer = self.fins.arm(deadline, i as u32, c.gen);
        }
        if wrote || fin {
            enqueue(c, i, &mut self.attention);
        }
    }

    /// Connections whose peer did not close within the FIN timeout are reset.
    pub(super) fn fin_timeouts(&mut self, now: Instant) {
        while let Some((i, gen)) = self.fins.poll(now) {
            let i = i as usize;
            let Some(c) = self.conns.get_mut(i) else {
                continue;
            };
            if c.gen != gen || c.phase != Phase::Open {
                continue;
            }
            c.fin_timer = None;
            if !c.eof {
                self.end(i, Final::Dead(CloseReason::Timeout), true);
            }
        }
    }
}

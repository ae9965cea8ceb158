//! Batched calls: what the application asks of its transport, queued during its
//! handler and run in order right after it returns.

use crate::error::CallError;
use crate::id::{ConnId, TimerId};
use core::ops::Range;
use ix_nic::{BufPool, Instant, SharedBuf};
use std::net::SocketAddrV4;
use std::time::Duration;

/// One call. Each produces exactly one [`crate::Completion`] in the next batch.
#[derive(Debug)]
pub enum Call<P: BufPool> {
    /// Start accepting connections on `port` (`Knock` events announce them).
    Listen {
        /// The port.
        port: u16,
    },
    /// Stop accepting on `port`; knocking connections not yet accepted are reset.
    Unlisten {
        /// The port.
        port: u16,
    },
    /// Take a knocking connection; its events report `cookie` from now on.
    Accept {
        /// The connection.
        conn: ConnId,
        /// Reported with its events.
        cookie: u64,
    },
    /// Refuse a knocking connection (it is reset; the id becomes invalid).
    Reject {
        /// The connection.
        conn: ConnId,
    },
    /// Open a connection to `remote`; the completion gives its id, `Connected` or
    /// `ConnectFailed` (with `cookie`) follows.
    Connect {
        /// The peer.
        remote: SocketAddrV4,
        /// Reported with its events.
        cookie: u64,
    },
    /// Send `buf[range]` by reference (the transport holds a reference until the
    /// bytes are acknowledged; nothing is copied on the linked transport).
    Send {
        /// The connection.
        conn: ConnId,
        /// The payload buffer (one more reference).
        buf: P::Shared,
        /// The bytes of `buf` to send.
        range: Range<usize>,
    },
    /// Close our sending side after the queued data (FIN). A connection whose
    /// handshake has not finished is dropped instead (a `Dead` event follows).
    Close {
        /// The connection.
        conn: ConnId,
    },
    /// Reset the connection; the id is invalid at once and no event follows.
    Abort {
        /// The connection.
        conn: ConnId,
    },
    /// Arm a one-shot timer; a `Timer` event with `token` follows after `after`.
    SetTimer {
        /// Reported with the event.
        token: u64,
        /// Delay from now.
        after: Duration,
    },
    /// Disarm a timer (no event follows).
    CancelTimer {
        /// The timer.
        id: TimerId,
    },
}

/// The batch of calls an application makes during one handler invocation; capacity
/// fixed at creation (pushing never allocates; a full batch refuses).
pub struct CallQueue<P: BufPool> {
    calls: Vec<Call<P>>,
}

impl<P: BufPool> core::fmt::Debug for CallQueue<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CallQueue")
            .field("len", &self.calls.len())
            .field("capacity", &self.calls.capacity())
            .finish()
    }
}

impl<P: BufPool> CallQueue<P> {
    /// A queue for up to `capacity` calls per batch (at least 1); allocates now.
    pub fn new(capacity: usize) -> Self {
        CallQueue {
            calls: Vec::with_capacity(capacity.max(1)),
        }
    }

    /// Calls that can still be queued.
    pub fn room(&self) -> usize {
        self.calls.capacity() - self.calls.len()
    }

    /// Calls queued.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether none is queued.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The queue's fixed capacity.
    pub fn capacity(&self) -> usize {
        self.calls.capacity()
    }

    /// Queues `call`; `BatchFull` (and the call is dropped) if there is no room.
    pub fn push(&mut self, call: Call<P>) -> Result<(), CallError> {
        if self.room() == 0 {
            return Err(CallError::BatchFull);
        }
        self.calls.push(call);
        Ok(())
    }

    /// Takes the calls out in order (for transports; never allocates).
    pub fn drain(&mut self) -> std::vec::Drain<'_, Call<P>> {
        self.calls.drain(..)
    }

    /// Drops every queued call unrun (a panicking handler's).
    pub fn clear(&mut self) {
        self.calls.clear();
    }
}

/// What a handler gets to make calls with: the call batch, the transport's buffer
/// pool (to make payload) and the time.
#[derive(Debug)]
pub struct Calls<'a, P: BufPool> {
    queue: &'a mut CallQueue<P>,
    pool: &'a P,
    now: Instant,
}

impl<'a, P: BufPool> Calls<'a, P> {
    /// A view over `queue` for one handler invocation (for transports).
    pub fn new(queue: &'a mut CallQueue<P>, pool: &'a P, now: Instant) -> Self {
        Calls { queue, pool, now }
    }

    /// The pool payload buffers come from (allocate, fill, freeze, send).
    pub fn pool(&self) -> &P {
        self.pool
    }

    /// The transport's time for this batch.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Calls that can still be made in this batch.
    pub fn room(&self) -> usize {
        self.queue.room()
    }

    /// Queues any call.
    pub fn push(&mut self, call: Call<P>) -> Result<(), CallError> {
        self.queue.push(call)
    }

    /// Queues `listen(port)`.
    pub fn listen(&mut self, port: u16) -> Result<(), CallError> {
        self.push(Call::Listen { port })
    }

    /// Queues `unlisten(port)`.
    pub fn unlisten(&mut self, port: u16) -> Result<(), CallError> {
        self.push(Call::Unlisten { port })
    }

    /// Queues `accept(conn, cookie)`.
    pub fn accept(&mut self, conn: ConnId, cookie: u64) -> Result<(), CallError> {
        self.push(Call::Accept { conn, cookie })
    }

    /// Queues `reject(conn)`.
    pub fn reject(&mut self, conn: ConnId) -> Result<(), CallError> {
        self.push(Call::Reject { conn })
    }

    /// Queues `connect(remote, cookie)`.
    pub fn connect(&mut self, remote: SocketAddrV4, cookie: u64) -> Result<(), CallError> {
        self.push(Call::Connect { remote, cookie })
    }

    /// Queues a send of `buf[range]`, taking one more reference on `buf` (no copy);
    /// `InvalidRange` at once if the range is outside the buffer.
    pub fn send(
        &mut self,
        conn: ConnId,
        buf: &P::Shared,
        range: Range<usize>,
    ) -> Result<(), CallError> {
        if range.start > range.end || range.end > buf.len() {
            return Err(CallError::InvalidRange);
        }
        self.push(Call::Send {
            conn,
            buf: buf.clone(),
            range,
        })
    }

    /// Queues one send per piece, in order (a `sendv`): all of them or, if the batch
    /// lacks room or a range is bad, none.
    pub fn sendv(
        &mut self,
        conn: ConnId,
        pieces: &[(P::Shared, Range<usize>)],
    ) -> Result<(), CallError> {
        if self.room() < pieces.len() {
            return Err(CallError::BatchFull);
        }
        if pieces
            .iter()
            .any(|(b, r)| r.start > r.end || r.end > b.len())
        {
            return Err(CallError::InvalidRange);
        }
        for (buf, range) in pieces {
            self.push(Call::Send {
                conn,
                buf: buf.clone(),
                range: range.clone(),
            })?;
        }
        Ok(())
    }

    /// Queues `close(conn)`.
    pub fn close(&mut self, conn: ConnId) -> Result<(), CallError> {
        self.push(Call::Close { conn })
    }

    /// Queues `abort(conn)`.
    pub fn abort(&mut self, conn: ConnId) -> Result<(), CallError> {
        self.push(Call::Abort { conn })
    }

    /// Queues a one-shot timer firing `after` from now with `token`.
    pub fn set_timer(&mut self, token: u64, after: Duration) -> Result<(), CallError> {
        self.push(Call::SetTimer { token, after })
    }

    /// Queues the cancellation of timer `id`.
    pub fn cancel_timer(&mut self, id: TimerId) -> Result<(), CallError> {
        self.push(Call::CancelTimer { id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ix_nic::heap::HeapPool;

    #[test]
    fn a_full_batch_refuses_and_sendv_is_all_or_nothing() {
        let pool = HeapPool::new(4, 64);
        let buf = pool.shared_from(b"hello").unwrap();
        let mut q = CallQueue::<HeapPool>::new(3);
        let mut calls = Calls::new(&mut q, &pool, Instant::ZERO);
        let c = ConnId::new(1, 1);
        assert_eq!(calls.send(c, &buf, 0..6), Err(CallError::InvalidRange));
        calls.send(c, &buf, 0..5).unwrap();
        let pieces = [
            (buf.clone(), 0..2),
            (buf.clone(), 2..5),
            (buf.clone(), 0..1),
        ];
        assert_eq!(calls.sendv(c, &pieces), Err(CallError::BatchFull));
        calls.sendv(c, &pieces[..2]).unwrap();
        assert_eq!(calls.close(c), Err(CallError::BatchFull));
        assert_eq!(q.len(), 3);
        assert_eq!(buf.ref_count(), 1 + 3 + 3, "references, not copies");
        q.clear();
        assert_eq!(buf.ref_count(), 4);
    }
}

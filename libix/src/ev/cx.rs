//! The contexts the per-connection layer hands to application callbacks.

use crate::call::Calls;
use crate::error::CallError;
use crate::ev::io::Io;
use crate::ev::pending::Pending;
use crate::id::ConnId;
use core::ops::Range;
use ix_nic::{BufPool, Instant, SharedBuf};
use std::net::SocketAddrV4;
use std::time::Duration;

/// Why the per-connection layer refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EvError {
    /// The connection's queue of unsent references is full: send more after `sent`.
    #[error("send queue full")]
    Full,
    /// The connection is closing or aborted: nothing more can be sent.
    #[error("connection closing")]
    Closing,
    /// Too many outgoing connections are being opened at once.
    #[error("too many connections being opened")]
    TooManyConnecting,
    /// The call itself was refused.
    #[error(transparent)]
    Call(#[from] CallError),
}

/// Timer tokens with this bit are the layer's per-connection wake-ups.
pub(crate) const CONN_TIMER: u64 = 1 << 63;

/// What a per-connection callback can do to its connection.
#[derive(Debug)]
pub struct ConnCx<'a, 'c, P: BufPool> {
    pub(crate) calls: &'a mut Calls<'c, P>,
    pub(crate) io: &'a mut Io<P>,
    pub(crate) conn: ConnId,
}

impl<'c, P: BufPool> ConnCx<'_, 'c, P> {
    /// The connection.
    pub fn id(&self) -> ConnId {
        self.conn
    }

    /// The pool to make payload from.
    pub fn pool(&self) -> &P {
        self.calls.pool()
    }

    /// The batch's time.
    pub fn now(&self) -> Instant {
        self.calls.now()
    }

    /// Queues `buf[range]` to send by reference; retried automatically after short
    /// sends. `Full` when the connection already has its bound of unsent references.
    pub fn send(&mut self, buf: &P::Shared, range: Range<usize>) -> Result<(), EvError> {
        if self.io.close_wanted || self.io.abort_wanted {
            return Err(EvError::Closing);
        }
        if range.start > range.end || range.end > buf.len() {
            return Err(EvError::Call(CallError::InvalidRange));
        }
        if self.io.unsent.len() >= self.io.cap {
            return Err(EvError::Full);
        }
        if !range.is_empty() {
            self.io.unsent.push_back((buf.clone(), range));
        }
        Ok(())
    }

    /// References that can still be queued with [`ConnCx::send`].
    pub fn send_room(&self) -> usize {
        self.io.cap - self.io.unsent.len()
    }

    /// Bytes queued and not yet taken by the transport.
    pub fn unsent_bytes(&self) -> usize {
        self.io.unsent_bytes()
    }

    /// Closes our side once everything queued is taken (FIN after the data).
    pub fn close(&mut self) {
        self.io.close_wanted = true;
    }

    /// Resets the connection now; `dead(.., Aborted)` follows at once.
    pub fn abort(&mut self) {
        self.io.abort_wanted = true;
    }

    /// Asks for a `wake` callback on this connection after `after`.
    pub fn wake_after(&mut self, after: Duration) -> Result<(), EvError> {
        let token = CONN_TIMER
            | (u64::from(self.conn.generation() & 0x7fff_ffff) << 32)
            | self.conn.index() as u64;
        Ok(self.calls.set_timer(token, after)?)
    }

    /// The raw call batch, for what this layer does not wrap.
    pub fn calls(&mut self) -> &mut Calls<'c, P> {
        self.calls
    }
}

/// What an application-wide callback (`start`, `timer`) can do.
#[derive(Debug)]
pub struct Cx<'a, 'c, P: BufPool, S> {
    pub(crate) calls: &'a mut Calls<'c, P>,
    pub(crate) pending: &'a mut Pending<S>,
}

impl<'c, P: BufPool, S> Cx<'_, 'c, P, S> {
    /// Opens a connection to `remote` whose state is `state`; `connected` or
    /// `connect_failed` follows.
    pub fn connect(&mut self, remote: SocketAddrV4, state: S) -> Result<(), EvError> {
        let Some(cookie) = self.pending.put(state) else {
            return Err(EvError::TooManyConnecting);
        };
        if let Err(e) = self.calls.connect(remote, cookie) {
            self.pending.take(cookie);
            return Err(e.into());
        }
        Ok(())
    }

    /// Arms a timer: `timer(token)` follows after `after`. Assumes `token < 2^63`
    /// (the top bit is the layer's).
    pub fn set_timer(&mut self, token: u64, after: Duration) -> Result<(), EvError> {
        Ok(self.calls.set_timer(token & !CONN_TIMER, after)?)
    }

    /// Starts listening on `port`.
    pub fn listen(&mut self, port: u16) -> Result<(), EvError> {
        Ok(self.calls.listen(port)?)
    }

    /// The pool to make payload from.
    pub fn pool(&self) -> &P {
        self.calls.pool()
    }

    /// The batch's time.
    pub fn now(&self) -> Instant {
        self.calls.now()
    }

    /// The raw call batch.
    pub fn calls(&mut self) -> &mut Calls<'c, P> {
        self.calls
    }
}

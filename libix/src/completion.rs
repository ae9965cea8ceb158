//! What became of each call: delivered with the next batch, in call order, so results
//! (bytes accepted, new connection ids, errors) reach the application without
//! allocation and without a round trip per call.

use crate::error::CallError;
use crate::id::{ConnId, TimerId};
use std::net::SocketAddrV4;

/// The result of one call, named by what the call was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// `listen(port)`.
    Listen {
        /// The port.
        port: u16,
        /// Whether it worked.
        result: Result<(), CallError>,
    },
    /// `unlisten(port)`.
    Unlisten {
        /// The port.
        port: u16,
        /// Whether it worked.
        result: Result<(), CallError>,
    },
    /// `accept(conn, cookie)`.
    Accept {
        /// The connection.
        conn: ConnId,
        /// Whether it worked.
        result: Result<(), CallError>,
    },
    /// `reject(conn)`.
    Reject {
        /// The connection.
        conn: ConnId,
        /// Whether it worked.
        result: Result<(), CallError>,
    },
    /// `connect(remote, cookie)`: the new connection's id, or why not.
    Connect {
        /// The peer asked for.
        remote: SocketAddrV4,
        /// The cookie given.
        cookie: u64,
        /// The connection (its `Connected` or `ConnectFailed` follows), or why none.
        result: Result<ConnId, CallError>,
    },
    /// `send(conn, buf, range)`: how many bytes from the front of the range the
    /// transport took (fewer than `requested` when its send buffer is full: retry the
    /// rest after a `Sent` event).
    Send {
        /// The connection.
        conn: ConnId,
        /// Bytes asked to send.
        requested: usize,
        /// Bytes taken, or why none.
        result: Result<usize, CallError>,
    },
    /// `close(conn)`.
    Close {
        /// The connection.
        conn: ConnId,
        /// Whether it worked.
        result: Result<(), CallError>,
    },
    /// `abort(conn)`.
    Abort {
        /// The connection.
        conn: ConnId,
        /// Whether it worked.
        result: Result<(), CallError>,
    },
    /// `set_timer(token, after)`: the timer's id, or why none.
    SetTimer {
        /// The token given.
        token: u64,
        /// The timer, or why none.
        result: Result<TimerId, CallError>,
    },
    /// `cancel_timer(id)`.
    CancelTimer {
        /// The timer.
        id: TimerId,
        /// Whether it was still armed.
        result: Result<(), CallError>,
    },
}

impl Completion {
    /// The connection the call was about, if any (the new one for a connect).
    pub fn conn(&self) -> Option<ConnId> {
        match self {
            Completion::Accept { conn, .. }
            | Completion::Reject { conn, .. }
            | Completion::Send { conn, .. }
            | Completion::Close { conn, .. }
            | Completion::Abort { conn, .. } => Some(*conn),
            Completion::Connect { result, .. } => result.ok(),
            _ => None,
        }
    }

    /// The error, if the call failed.
    pub fn error(&self) -> Option<CallError> {
        match self {
            Completion::Listen { result, .. }
            | Completion::Unlisten { result, .. }
            | Completion::Accept { result, .. }
            | Completion::Reject { result, .. }
            | Completion::Close { result, .. }
            | Completion::Abort { result, .. }
            | Completion::CancelTimer { result, .. } => result.err(),
            Completion::Connect { result, .. } => result.err(),
            Completion::Send { result, .. } => result.err(),
            Completion::SetTimer { result, .. } => result.err(),
        }
    }
}

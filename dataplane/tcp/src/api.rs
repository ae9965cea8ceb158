//! The application-facing types: connection ids, events, errors, states, info.
//!
//! The calls themselves are methods of [`crate::TcpEngine`]; this file holds what
//! they take and return, so an application (or libix) can be written against it
//! without reading the engine.

use core::fmt;
use ix_nic::{RxBuf, RxSeg};
use std::net::SocketAddrV4;
use std::time::Duration;

/// A connection: a slot in the engine's table plus that slot's generation, so an id
/// kept after its connection died is refused ([`TcpError::NoSuchConnection`]) and
/// never reaches the slot's next occupant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    pub(crate) slot: u32,
    pub(crate) gen: u32,
}

impl ConnId {
    /// The slot index (dense, below [`crate::TcpConfig::max_conns`]): usable as an
    /// index into an application's own per-connection array.
    pub fn index(self) -> usize {
        self.slot as usize
    }

    /// The slot's generation when this id was issued.
    pub fn generation(self) -> u32 {
        self.gen
    }
}

impl fmt::Display for ConnId {
    /// `slot.generation`, as logs and `ixctl` print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.slot, self.gen)
    }
}

/// What the engine tells the application, drained with
/// [`crate::TcpEngine::poll_event`]. Per connection, events come in the order
/// things happened: `Knock`/`Connected` first, then `Recv`s in sequence order,
/// `PeerClosed` after the last `Recv`, and `Dead`/`ConnectFailed` last.
#[derive(Debug)]
pub enum TcpEvent<R: RxBuf> {
    /// A connection to a listening port completed its handshake; answer with
    /// [`crate::TcpEngine::accept`] or [`crate::TcpEngine::reject`]. Until then it
    /// holds a place in the listener's accept backlog and received data waits.
    Knock {
        /// The new connection.
        conn: ConnId,
        /// Our port it arrived on.
        local_port: u16,
        /// The peer.
        remote: SocketAddrV4,
    },
    /// An active open ([`crate::TcpEngine::connect`]) completed.
    Connected {
        /// The connection.
        conn: ConnId,
        /// The application's cookie for it (0 unless set).
        cookie: u64,
    },
    /// An active open failed; the id is invalid afterwards.
    ConnectFailed {
        /// The connection that never was.
        conn: ConnId,
        /// Why: refused (RST), timed out, ...
        reason: CloseReason,
    },
    /// In-order data, zero copy. Dropping `seg` releases its buffer and returns its
    /// bytes to the connection's receive window.
    Recv {
        /// The connection.
        conn: ConnId,
        /// The application's cookie.
        cookie: u64,
        /// The payload bytes, exactly as received.
        seg: RxSeg<R>,
    },
    /// The peer acknowledged `acked_bytes` more bytes of what was sent: their buffers
    /// are released and that much send-buffer room is free again.
    Sent {
        /// The connection.
        conn: ConnId,
        /// The application's cookie.
        cookie: u64,
        /// Bytes newly acknowledged since the last `Sent`.
        acked_bytes: usize,
    },
    /// The peer sent FIN: no more data will come (we may still send).
    PeerClosed {
        /// The connection.
        conn: ConnId,
        /// The application's cookie.
        cookie: u64,
    },
    /// The connection is gone; the id is invalid from now on.
    Dead {
        /// The connection.
        conn: ConnId,
        /// The application's cookie.
        cookie: u64,
        /// Why it ended.
        reason: CloseReason,
    },
}

impl<R: RxBuf> TcpEvent<R> {
    /// The connection the event is about.
    pub fn conn(&self) -> ConnId {
        match self {
            TcpEvent::Knock { conn, .. }
            | TcpEvent::Connected { conn, .. }
            | TcpEvent::ConnectFailed { conn, .. }
            | TcpEvent::Recv { conn, .. }
            | TcpEvent::Sent { conn, .. }
            | TcpEvent::PeerClosed { conn, .. }
            | TcpEvent::Dead { conn, .. } => *conn,
        }
    }
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// Both sides closed in order (our FIN acknowledged, theirs received).
    Closed,
    /// The peer reset it.
    Reset,
    /// The peer refused the connection (RST in answer to our SYN).
    Refused,
    /// Retransmissions were not acknowledged (SYN retries, R2 or the user timeout).
    Timeout,
    /// Keepalive probes went unanswered.
    KeepaliveTimeout,
    /// FIN_WAIT_2 lasted longer than its configured bound.
    FinWait2Timeout,
    /// The application aborted it.
    Aborted,
}

/// Why an application call was refused. Nothing here is fatal to the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum TcpError {
    /// The id is stale (its connection is gone) or was never issued.
    #[error("no such connection")]
    NoSuchConnection,
    /// The call does not fit the connection's state (send after close, accept twice).
    #[error("invalid in the connection's state")]
    InvalidState,
    /// Already listening on that port.
    #[error("port already in use")]
    PortInUse,
    /// Not listening on that port.
    #[error("not listening on that port")]
    NotListening,
    /// The listener table is full.
    #[error("too many listeners")]
    TooManyListeners,
    /// The connection table is full.
    #[error("too many connections")]
    TooManyConnections,
    /// No free local port for that remote address (or the one asked for is taken).
    #[error("no local port available")]
    AddrInUse,
    /// The remote address is not a unicast address, or its port is 0.
    #[error("invalid remote address")]
    InvalidAddress,
    /// The byte range is outside the buffer.
    #[error("range outside the buffer")]
    InvalidRange,
}

/// The RFC 9293 states, as [`crate::TcpEngine::state`] reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// No connection (a slot being torn down).
    Closed,
    /// Our SYN is out (or about to go out); waiting for SYN-ACK.
    SynSent,
    /// Their SYN received, our SYN-ACK out; waiting for the ACK.
    SynReceived,
    /// Open both ways.
    Established,
    /// We closed; our FIN not yet acknowledged.
    FinWait1,
    /// We closed and our FIN is acknowledged; waiting for theirs.
    FinWait2,
    /// They closed; we may still send.
    CloseWait,
    /// Both closed at once; our FIN not yet acknowledged.
    Closing,
    /// They closed, then we did; waiting for our FIN's ACK.
    LastAck,
    /// Both closed; lingering for 2*MSL to absorb stray segments.
    TimeWait,
}

impl State {
    /// Whether the handshake is complete and no RST ended it (RFC 9293's
    /// "synchronized states").
    pub fn is_synchronized(self) -> bool {
        !matches!(self, State::Closed | State::SynSent | State::SynReceived)
    }

    /// A short upper-case name (as `ss` shows them).
    pub fn name(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        }
    }
}

impl fmt::Display for State {
    /// The RFC 9293 name (see [`State::name`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A snapshot of one connection, for monitoring (`ixctl conns`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnInfo {
    /// The connection.
    pub conn: ConnId,
    /// Our address and port (address 0.0.0.0 until the interface first polled).
    pub local: SocketAddrV4,
    /// The peer's.
    pub remote: SocketAddrV4,
    /// The state.
    pub state: State,
    /// Congestion window, bytes.
    pub cwnd: u32,
    /// Slow-start threshold, bytes.
    pub ssthresh: u32,
    /// Smoothed RTT, once measured.
    pub srtt: Option<Duration>,
    /// Current retransmission timeout (backoff included).
    pub rto: Duration,
    /// Bytes sent and not yet acknowledged.
    pub bytes_in_flight: u32,
    /// Bytes queued by the application and not yet acknowledged (in flight included).
    pub send_queued: u32,
    /// The peer's advertised window, scaled, bytes.
    pub snd_wnd: u32,
    /// The window we advertise now, bytes.
    pub rcv_wnd: u32,
    /// Received bytes handed to (or waiting for) the application and not yet released.
    pub rcv_unreleased: u32,
    /// Our effective maximum segment size.
    pub mss: u16,
    /// Whether SACK was negotiated.
    pub sack: bool,
    /// Whether RFC 7323 timestamps were negotiated.
    pub timestamps: bool,
    /// Segments retransmitted over the connection's life.
    pub retransmits: u64,
}

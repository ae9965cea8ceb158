//! One connection slot of the kernel transport: its socket, what epoll said about
//! it, its receive window, its queue of `SharedBuf` references to send
//! ([`SendQueue`]), and the events it still owes the application.

use super::sendq::SendQueue;
use crate::error::CloseReason;
use ix_nic::SharedBuf;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// The slot is unused.
    Free,
    /// Accepted from the kernel, announced by `Knock`, not yet accepted by the
    /// application (nothing is read).
    Knocking,
    /// A non-blocking `connect` is in progress.
    Connecting,
    /// Established and the application's.
    Open,
    /// The socket is gone; the final event (`final_event`) is owed.
    Ending,
}

/// The last event a connection owes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Final {
    /// `Dead { reason }`.
    Dead(CloseReason),
    /// `ConnectFailed { reason }`.
    ConnectFailed(CloseReason),
}

/// One slot of the connection table.
#[derive(Debug)]
pub(crate) struct Conn<S: SharedBuf> {
    /// The slot's generation: part of the `ConnId` and of the epoll token.
    pub(crate) gen: u32,
    pub(crate) phase: Phase,
    pub(crate) sock: Option<mio::net::TcpStream>,
    pub(crate) cookie: u64,
    /// The listening port it arrived on (0 for outgoing connections).
    pub(crate) port: u16,
    /// The application may no longer name it (closed while connecting, or reset by
    /// the runtime): calls get `NoSuchConnection`, the final event is still owed.
    pub(crate) gone: bool,
    /// The final event, once the phase is `Ending`.
    pub(crate) final_event: Option<Final>,
    /// Edge-triggered readiness as last seen: data (or EOF, or an error) may be
    /// waiting / the socket may take bytes.
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    /// The peer's FIN (or an error) has been seen by epoll: keep reading after a
    /// short read until the end of stream shows.
    pub(crate) rdhup: bool,
    /// A read returned end of stream.
    pub(crate) eof: bool,
    /// `PeerClosed` was delivered.
    pub(crate) peer_closed_sent: bool,
    /// `Connected` is owed.
    pub(crate) connected_due: bool,
    /// Received bytes the application holds unreleased (the receive window used).
    pub(crate) outstanding: usize,
    /// The credit-ledger generation of this connection's segments.
    pub(crate) credit_gen: u32,
    pub(crate) sendq: SendQueue<S>,
    /// Bytes the kernel accepted and `Sent` has not reported yet.
    pub(crate) acked: usize,
    /// The application closed its side: FIN once `sendq` is empty.
    pub(crate) close_wanted: bool,
    pub(crate) shutdown_done: bool,
    /// The call batch in which a send on it was short.
    pub(crate) short_in: u64,
    pub(crate) fin_timer: Option<ix_timer::TimerId>,
    /// On the attention queue / the transmit list.
    pub(crate) in_attention: bool,
    pub(crate) in_tx: bool,
}

impl<S: SharedBuf> Conn<S> {
    /// A free slot whose send queue reserves `pieces` entries.
    pub(crate) fn new(pieces: usize) -> Self {
        Conn {
            gen: 1,
            phase: Phase::Free,
            sock: None,
            cookie: 0,
            port: 0,
            gone: false,
            final_event: None,
            readable: false,
            writable: false,
            rdhup: false,
            eof: false,
            peer_closed_sent: false,
            connected_due: false,
            outstanding: 0,
            credit_gen: 0,
            sendq: SendQueue::new(pieces),
            acked: 0,
            close_wanted: false,
            shutdown_done: false,
            short_in: 0,
            fin_timer: None,
            in_attention: false,
            in_tx: false,
        }
    }

    /// Takes the slot for a new connection on `sock` (the generation was moved on
    /// when the slot was freed). Queue flags are left alone: a stale queue entry just
    /// services the slot once more, harmlessly.
    pub(crate) fn open(&mut self, phase: Phase, sock: mio::net::TcpStream, port: u16, cookie: u64) {
        self.phase = phase;
        self.sock = Some(sock);
        self.cookie = cookie;
        self.port = port;
        self.gone = false;
        self.final_event = None;
        self.readable = false;
        self.writable = false;
        self.rdhup = false;
        self.eof = false;
        self.peer_closed_sent = false;
        self.connected_due = false;
        self.outstanding = 0;
        self.sendq.clear();
        self.acked = 0;
        self.close_wanted = false;
        self.shutdown_done = false;
        self.short_in = 0;
        self.fin_timer = None;
    }

    /// Whether the transmit path has something to do: bytes to write or a FIN due.
    pub(crate) fn tx_due(&self) -> bool {
        !self.sendq.is_empty() || (self.close_wanted && !self.shutdown_done)
    }
}

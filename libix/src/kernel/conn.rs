//! One connection slot of the kernel transport: its socket, what epoll said about
//! it, its receive window, its queue of `SharedBuf` references to send, and the
//! events it still owes the application.

use crate::error::CloseReason;
use arrayvec::ArrayVec;
use core::ops::Range;
use ix_nic::SharedBuf;
use std::collections::VecDeque;
use std::io::IoSlice;

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

/// A connection's queue of payload references not yet accepted by the kernel.
///
/// Each entry keeps one reference to its buffer; when the kernel accepts bytes the
/// entries they cover are released (the buffer lives exactly until then).
#[derive(Debug)]
pub(crate) struct SendQueue<S: SharedBuf> {
    pieces: VecDeque<(S, Range<usize>)>,
    bytes: usize,
}

impl<S: SharedBuf> SendQueue<S> {
    /// An empty queue with room for `pieces` entries reserved.
    pub(crate) fn new(pieces: usize) -> Self {
        SendQueue {
            pieces: VecDeque::with_capacity(pieces),
            bytes: 0,
        }
    }

    /// Bytes queued.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether nothing is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// Queues as much of `buf[range]` as the bounds allow (keeping the reference
    /// given, no copy; dropping it if nothing fits); returns the bytes taken from the
    /// front of the range.
    pub(crate) fn push(
        &mut self,
        buf: S,
        range: Range<usize>,
        max_bytes: usize,
        max_pieces: usize,
    ) -> usize {
        if self.pieces.len() >= max_pieces {
            return 0;
        }
        let n = range.len().min(max_bytes.saturating_sub(self.bytes));
        if n > 0 {
            self.pieces.push_back((buf, range.start..range.start + n));
            self.bytes += n;
        }
        n
    }

    /// The queued bytes, oldest first, as at most `N` slices for one `sendmsg`.
    pub(crate) fn slices<const N: usize>(&self) -> ArrayVec<IoSlice<'_>, N> {
        self.pieces
            .iter()
            .take(N)
            .filter_map(|(b, r)| b.data().get(r.clone()))
            .map(IoSlice::new)
            .collect()
    }

    /// The kernel accepted `n` bytes from the front: releases the references they
    /// covered.
    pub(crate) fn consume(&mut self, n: usize) {
        let mut left = n.min(self.bytes);
        self.bytes -= left;
        while left > 0 {
            let Some((_, r)) = self.pieces.front_mut() else {
                break;
            };
            let k = left.min(r.len());
            r.start += k;
            left -= k;
            if r.start >= r.end {
                self.pieces.pop_front();
            }
        }
    }

    /// Drops every reference (the connection died).
    pub(crate) fn clear(&mut self) {
        self.pieces.clear();
        self.bytes = 0;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use ix_nic::heap::HeapPool;

    #[test]
    fn queue_takes_what_fits_and_releases_references_as_the_kernel_accepts() {
        let pool = HeapPool::new(4, 64);
        let a = pool.shared_from(b"0123456789").unwrap();
        let b = pool.shared_from(b"abcdef").unwrap();
        let mut q = SendQueue::new(4);
        assert_eq!(q.push(a.clone(), 2..10, 12, 3), 8);
        assert_eq!(q.push(b.clone(), 0..6, 12, 3), 4, "byte bound");
        assert_eq!(q.push(b.clone(), 4..6, 12, 3), 0, "full");
        assert_eq!(q.bytes(), 12);
        assert_eq!((a.ref_count(), b.ref_count()), (2, 2));
        let s = q.slices::<8>();
        let flat: Vec<u8> = s.iter().flat_map(|s| s.iter().copied()).collect();
        assert_eq!(flat, b"23456789abcd");
        drop(s);
        q.consume(5);
        assert_eq!(a.ref_count(), 2, "3 bytes of a still queued");
        q.consume(3);
        assert_eq!(a.ref_count(), 1, "a released once the kernel took it all");
        let flat: Vec<u8> = q
            .slices::<8>()
            .iter()
            .flat_map(|s| s.iter().copied())
            .collect();
        assert_eq!(flat, b"abcd");
        assert_eq!(q.push(b.clone(), 4..6, 12, 3), 2);
        q.clear();
        assert_eq!((q.bytes(), b.ref_count()), (0, 1));
    }

    #[test]
    fn piece_bound_and_slice_bound() {
        let pool = HeapPool::new(2, 64);
        let a = pool.shared_from(b"xy").unwrap();
        let mut q = SendQueue::new(4);
        for _ in 0..3 {
            assert_eq!(q.push(a.clone(), 0..2, 100, 3), 2);
        }
        assert_eq!(q.push(a.clone(), 0..2, 100, 3), 0, "piece bound");
        assert_eq!(q.slices::<2>().len(), 2);
        q.consume(100);
        assert!(q.is_empty());
        assert_eq!(a.ref_count(), 1);
    }
}

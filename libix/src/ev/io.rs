//! A connection's send side in the per-connection layer: the bounded queue of
//! payload references not yet taken by the transport, and what is in flight.

use crate::call::Calls;
use crate::id::ConnId;
use core::ops::Range;
use ix_nic::BufPool;
use std::collections::VecDeque;

/// Calls kept free in every batch for control calls (accept, close, abort), so a
/// burst of sends cannot crowd them out.
pub(crate) const CONTROL_RESERVE: usize = 64;

/// The send state of one connection.
pub(crate) struct Io<P: BufPool> {
    /// References not yet taken by the transport, oldest first (range left to send).
    pub(crate) unsent: VecDeque<(P::Shared, Range<usize>)>,
    /// The bound on `unsent` (reserved up front: pushing never allocates).
    pub(crate) cap: usize,
    /// Send calls made and not yet completed.
    pub(crate) in_flight: usize,
    /// A send was short: wait for a `Sent` event before offering more.
    pub(crate) blocked: bool,
    /// The application asked to close once everything is taken.
    pub(crate) close_wanted: bool,
    /// The close call is made.
    pub(crate) close_sent: bool,
    /// The application asked to abort.
    pub(crate) abort_wanted: bool,
}

impl<P: BufPool> core::fmt::Debug for Io<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Io")
            .field("unsent", &self.unsent.len())
            .field("in_flight", &self.in_flight)
            .field("blocked", &self.blocked)
            .finish_non_exhaustive()
    }
}

impl<P: BufPool> Io<P> {
    /// An idle send side for up to `cap` references.
    pub(crate) fn new(cap: usize) -> Self {
        Io {
            unsent: VecDeque::with_capacity(cap),
            cap,
            in_flight: 0,
            blocked: false,
            close_wanted: false,
            close_sent: false,
            abort_wanted: false,
        }
    }

    /// Back to idle for the slot's next connection, keeping the queue's memory.
    pub(crate) fn reset(&mut self) {
        self.unsent.clear();
        self.in_flight = 0;
        self.blocked = false;
        self.close_wanted = false;
        self.close_sent = false;
        self.abort_wanted = false;
    }

    /// Bytes queued and not yet taken by the transport.
    pub(crate) fn unsent_bytes(&self) -> usize {
        self.unsent.iter().map(|(_, r)| r.end - r.start).sum()
    }

    /// A send completed having taken `n` bytes of the oldest reference (`requested`
    /// asked); returns whether it was short.
    pub(crate) fn taken(&mut self, n: usize, requested: usize) -> bool {
        self.in_flight = self.in_flight.saturating_sub(1);
        let mut left = n;
        while left > 0 {
            let Some((_, r)) = self.unsent.front_mut() else {
                break;
            };
            let k = left.min(r.len());
            r.start += k;
            left -= k;
            if r.start >= r.end {
                self.unsent.pop_front();
            }
        }
        if n < requested {
            self.blocked = true;
            return true;
        }
        false
    }

    /// Offers what is queued to the transport (if nothing is in flight and no send
    /// was short), then the close if it is due.
    pub(crate) fn pump(&mut self, conn: ConnId, calls: &mut Calls<'_, P>) {
        if self.abort_wanted {
            return;
        }
        if self.in_flight == 0 && !self.blocked {
            for (buf, range) in self.unsent.iter() {
                if calls.room() <= CONTROL_RESERVE {
                    break;
                }
                if calls.send(conn, buf, range.clone()).is_ok() {
                    self.in_flight += 1;
                }
            }
        }
        if self.close_wanted && !self.close_sent && self.unsent.is_empty() && self.in_flight == 0 {
            self.close_sent = calls.close(conn).is_ok();
        }
    }
}

//! Readiness: one `epoll_wait` (bounded by the timers and by work already waiting)
//! and what it reports turned into connection flags and the attention and transmit
//! queues. Edge-triggered: a flag stays set until a read or write finds nothing.

use super::table::{enqueue, tx_add};
use super::token::{token_conn, WAKER};
use super::KernelTransport;
use crate::kernel::conn::Phase;
use ix_nic::Clock;
use std::time::Duration;

/// How long an idle wait lasts at most when something must be retried (the pool was
/// empty, the connection table full, descriptors ran out).
const RETRY: Duration = Duration::from_millis(1);

impl KernelTransport {
    /// Blocks in epoll until something happens, the next timer is due, or `max`
    /// passes (`None`: no bound but the timers); returns at once if work is already
    /// waiting. What epoll reports is taken in for the next [`crate::Transport::poll`].
    pub fn wait(&mut self, max: Option<Duration>) {
        let now = self.clock.now();
        let cap = |t: Option<Duration>, d: Duration| Some(t.map_or(d, |t| t.min(d)));
        let mut timeout = max;
        let deadlines = [self.timers.next_deadline(), self.fins.next_deadline()];
        for d in deadlines.into_iter().flatten() {
            timeout = cap(timeout, d.saturating_since(now));
        }
        let ready_listener = self.listeners.iter().flatten().any(|l| l.ready);
        if self.retry_soon {
            timeout = cap(timeout, RETRY);
        } else if !self.attention.is_empty() || ready_listener || !self.tx.is_empty() {
            timeout = Some(Duration::ZERO);
        }
        self.io(timeout);
        self.waited = true;
    }

    /// One `epoll_wait`; readiness goes into the connections' flags and queues.
    pub(super) fn io(&mut self, timeout: Option<Duration>) {
        self.stats.epoll_waits += 1;
        if self.poll.poll(&mut self.events, timeout).is_err() {
            // EINTR: nothing was reported; the next round polls again.
            return;
        }
        for ev in self.events.iter() {
            self.stats.readiness += 1;
            let t = ev.token();
            if t == WAKER {
                continue;
            }
            let Some((i, gen)) = token_conn(t) else {
                if let Some(Some(l)) = self.listeners.get_mut(t.0) {
                    l.ready = true;
                }
                continue;
            };
            let Some(c) = self.conns.get_mut(i) else {
                continue;
            };
            if c.gen != gen || matches!(c.phase, Phase::Free | Phase::Ending) {
                continue;
            }
            let err = ev.is_error();
            if ev.is_readable() || ev.is_read_closed() || err {
                c.readable = true;
            }
            if ev.is_read_closed() || err {
                c.rdhup = true;
            }
            if ev.is_writable() || ev.is_write_closed() || err {
                c.writable = true;
            }
            match c.phase {
                Phase::Connecting => enqueue(c, i, &mut self.attention),
                Phase::Open => {
                    if c.readable {
                        enqueue(c, i, &mut self.attention);
                    }
                    if c.writable && c.tx_due() {
                        tx_add(c, i, &mut self.tx);
                    }
                }
                _ => {}
            }
        }
    }
}

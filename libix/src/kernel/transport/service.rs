//! Servicing connections: each one on the attention queue delivers what it owes,
//! in the order libix promises per connection (`Connected`, `Sent`, `Recv`s,
//! `PeerClosed`, then `Dead` / `ConnectFailed`), as far as the batch has room.

use super::recv::ReadOutcome;
use super::table::enqueue;
use super::KernelTransport;
use crate::error::CloseReason;
use crate::event::{Event, EventBatch};
use crate::id::ConnId;
use crate::kernel::conn::{Final, Phase};
use ix_nic::heap::HeapPool;

/// What servicing a connection came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    /// Nothing more to do until epoll, a call or a released segment says so.
    Done,
    /// More is likely waiting: service it again in a later round.
    Again,
    /// The batch is full: service it first next time.
    Full,
}

impl KernelTransport {
    /// Services connections on the attention queue (each at most once per round)
    /// while the batch has room.
    pub(super) fn service_all(&mut self, batch: &mut EventBatch<HeapPool>) {
        let mut budget = self.attention.len();
        while budget > 0 && batch.room() > 0 {
            budget -= 1;
            let Some(i) = self.attention.pop_front() else {
                return;
            };
            let i = i as usize;
            self.conns[i].in_attention = false;
            match self.service(i, batch) {
                Next::Done => {}
                Next::Again => enqueue(&mut self.conns[i], i, &mut self.attention),
                Next::Full => {
                    self.conns[i].in_attention = true;
                    self.attention.push_front(i as u32);
                    return;
                }
            }
        }
    }

    /// Delivers what slot `i` owes, in the order libix promises: `Connected`, `Sent`,
    /// `Recv`s, `PeerClosed`, then `Dead` / `ConnectFailed` (which free the slot).
    fn service(&mut self, i: usize, batch: &mut EventBatch<HeapPool>) -> Next {
        match self.conns[i].phase {
            Phase::Free | Phase::Knocking => return Next::Done,
            Phase::Connecting => {
                if !self.check_connect(i) {
                    return Next::Done;
                }
            }
            Phase::Open | Phase::Ending => {}
        }
        if self.conns[i].phase == Phase::Ending {
            return self.finish(i, batch);
        }
        let c = &mut self.conns[i];
        let (conn, cookie) = (ConnId::new(i as u32, c.gen), c.cookie);
        if c.connected_due {
            if batch.push(Event::Connected { conn, cookie }).is_err() {
                return Next::Full;
            }
            c.connected_due = false;
        }
        if c.acked > 0 {
            let acked = c.acked;
            if batch
                .push(Event::Sent {
                    conn,
                    cookie,
                    acked,
                })
                .is_err()
            {
                return Next::Full;
            }
            c.acked = 0;
        }
        let mut more = false;
        if c.readable && !c.eof {
            match self.read(i, conn, batch) {
                ReadOutcome::Idle => {}
                ReadOutcome::More => more = true,
                ReadOutcome::Full => return Next::Full,
                ReadOutcome::Failed => return self.finish(i, batch),
            }
        }
        let c = &mut self.conns[i];
        if c.eof && !c.peer_closed_sent {
            if batch.push(Event::PeerClosed { conn, cookie }).is_err() {
                return Next::Full;
            }
            c.peer_closed_sent = true;
        }
        if c.peer_closed_sent && c.shutdown_done {
            let reason = CloseReason::Closed;
            if batch
                .push(Event::Dead {
                    conn,
                    cookie,
                    reason,
                })
                .is_err()
            {
                return Next::Full;
            }
            self.stats.closed += 1;
            self.free_slot(i, false);
            return Next::Done;
        }
        if more {
            Next::Again
        } else {
            Next::Done
        }
    }

    /// Delivers an ending connection's last event and frees its slot.
    fn finish(&mut self, i: usize, batch: &mut EventBatch<HeapPool>) -> Next {
        let c = &self.conns[i];
        let (conn, cookie) = (ConnId::new(i as u32, c.gen), c.cookie);
        let ev = match c.final_event {
            Some(Final::Dead(reason)) => Event::Dead {
                conn,
                cookie,
                reason,
            },
            Some(Final::ConnectFailed(reason)) => Event::ConnectFailed {
                conn,
                cookie,
                reason,
            },
            None => {
                self.free_slot(i, false);
                return Next::Done;
            }
        };
        if batch.push(ev).is_err() {
            return Next::Full;
        }
        if matches!(c.final_event, Some(Final::Dead(CloseReason::Closed))) {
            self.stats.closed += 1;
        } else {
            self.stats.failed += 1;
        }
        self.free_slot(i, false);
        Next::Done
    }
}

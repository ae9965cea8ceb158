//! The engine's side of a connection's life: acting on what the connection
//! reported after a segment or a timer ([`Outcome`]: established, TIME_WAIT, dead),
//! unlinking it from the flow table and its listener, freeing its slot, owing RSTs,
//! and keeping its wheel timer at its earliest deadline.

use super::{TcpEngine, RST_BACKLOG};
use crate::api::{CloseReason, State};
use crate::conn::output::send_rst;
use crate::conn::tcb::{Knock, Tcb};
use crate::conn::Outcome;
use crate::core::Core;
use crate::stats::Counter;
use ix_net::TxContext;
use ix_nic::BufPool;

impl<P: BufPool> TcpEngine<P> {
    /// Queues a RST for the connection in `slot` (sent at the next poll).
    pub(super) fn owe_rst(&mut self, slot: u32) {
        let t = &self.conns[slot as usize];
        if self.rsts.len() >= RST_BACKLOG {
            self.rsts.pop_front();
            self.core.count(Counter::TxFailed);
        }
        self.rsts.push_back((t.key, t.snd_nxt));
    }

    /// Removes the connection in `slot` at once, no event: the flow entry, its
    /// listener's count, its buffers and timer.
    pub(super) fn free_now(&mut self, slot: u32) {
        self.unlink(slot);
        let t = &mut self.conns[slot as usize];
        t.release(&mut self.core);
        self.free.push(slot);
    }

    /// Takes the connection out of the flow table and its listener's counts.
    fn unlink(&mut self, slot: u32) {
        let t = &mut self.conns[slot as usize];
        if self.flows.get(t.key) == Some(slot) {
            self.flows.remove(t.key);
        }
        if let Some(p) = t.listen_port.take() {
            if let Some(l) = self.listeners.get_mut(p) {
                match t.knock {
                    Knock::Embryonic => l.syn_queue = l.syn_queue.saturating_sub(1),
                    Knock::Pending | Knock::Delivered => l.backlog = l.backlog.saturating_sub(1),
                    Knock::Active | Knock::Accepted => {}
                }
            }
        }
    }

    /// The connection died: the application hears of it (after its pending data) if
    /// it knows the connection; otherwise it vanishes.
    fn kill(&mut self, slot: u32, reason: CloseReason) {
        self.unlink(slot);
        let t = &mut self.conns[slot as usize];
        match t.knock {
            Knock::Embryonic | Knock::Pending => {
                t.release(&mut self.core);
                self.free.push(slot);
            }
            Knock::Active | Knock::Delivered | Knock::Accepted => {
                t.connect_failed = t.knock == Knock::Active
                    && matches!(t.state, State::SynSent | State::SynReceived);
                t.bury(&mut self.core, reason);
                self.core.ready.push(slot);
            }
        }
    }

    /// Acts on what a connection reported, then queues its events and output and
    /// re-arms its timer.
    pub(super) fn after(&mut self, ctx: &mut TxContext<'_, P>, slot: u32, outcome: Outcome) {
        match outcome {
            Outcome::None => {}
            Outcome::Established => {
                let t = &mut self.conns[slot as usize];
                if t.knock == Knock::Embryonic {
                    t.knock = Knock::Pending;
                    if let Some(l) = t.listen_port.and_then(|p| self.listeners.get_mut(p)) {
                        l.syn_queue = l.syn_queue.saturating_sub(1);
                        l.backlog += 1;
                    }
                }
            }
            Outcome::TimeWait => self.enter_time_wait(ctx, slot),
            Outcome::Dead(reason, rst) => {
                if rst {
                    let t = &self.conns[slot as usize];
                    let (key, seq) = (t.key, t.snd_nxt);
                    send_rst(ctx, &mut self.core, key, seq, None);
                }
                self.kill(slot, reason);
            }
        }
        let t = &mut self.conns[slot as usize];
        if !t.in_use {
            return;
        }
        if t.has_events() {
            self.core.ready.push(slot);
        }
        if t.dead.is_none() {
            self.core.txq.push(slot);
            Self::schedule(&mut self.core, t);
        }
    }

    /// Points the connection's wheel timer at its earliest deadline.
    pub(super) fn schedule(core: &mut Core, t: &mut Tcb<P>) {
        if !t.in_use || t.dead.is_some() {
            return;
        }
        let next = t.dl.earliest();
        if !t.timer.schedule(&mut core.wheel, t.slot, t.gen, next) {
            core.count(Counter::TimerFull);
        }
    }
}

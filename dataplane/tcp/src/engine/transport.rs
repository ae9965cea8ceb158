//! The interface's entry points ([`Transport`]): each received segment goes by the
//! flow table to its connection, its TIME_WAIT entry or the listeners; each poll
//! returns released receive credit, fires due timers, expires TIME_WAIT, sends owed
//! RSTs and transmits for every connection marked for output.

use super::{TcpEngine, TW_TAG};
use crate::conn::output::send_rst;
use crate::flow_table::FlowKey;
use crate::header::Header;
use crate::stats::Counter;
use crate::timers::unpack;
use ix_net::{Ipv4Info, Transport, TxContext};
use ix_nic::{BufPool, RxSeg};
use std::net::SocketAddrV4;

impl<P: BufPool> TcpEngine<P> {
    /// A segment for an existing connection.
    pub(super) fn conn_input(
        &mut self,
        ctx: &mut TxContext<'_, P>,
        slot: u32,
        hdr: &Header,
        payload: RxSeg<P::Rx>,
    ) {
        let backlog_max = self.core.cfg.accept_backlog;
        let Some(t) = self.conns.get_mut(slot as usize) else {
            return;
        };
        let accept_room = t
            .listen_port
            .and_then(|p| self.listeners.get(p))
            .is_none_or(|l| l.backlog < backlog_max);
        let outcome = t.input(&mut self.core, ctx, hdr, payload, accept_room);
        self.after(ctx, slot, outcome);
    }

    /// Returns released receive credit to its connections, queueing window updates.
    fn drain_credit(&mut self) {
        let ledger = std::rc::Rc::clone(&self.core.ledger);
        let conns = &mut self.conns;
        let core = &mut self.core;
        ledger.drain(|slot, gen, bytes| {
            let Some(t) = conns.get_mut(slot as usize) else {
                return;
            };
            if !t.in_use || t.ledger_gen != gen {
                return;
            }
            t.unreleased = t.unreleased.saturating_sub(bytes);
            if t.dead.is_none() && t.state.is_synchronized() && t.window_update_due(&core.cfg) {
                t.ack_now = true;
                core.stats.count(Counter::WindowUpdates);
                core.txq.push(slot);
            }
        });
    }
}

impl<P: BufPool> Transport<P> for TcpEngine<P> {
    /// One received TCP segment (IPv4 checks done by the interface): checksum,
    /// header and ports checked, then handed to whoever owns its 4-tuple.
    fn receive(&mut self, ctx: &mut TxContext<'_, P>, ip: &Ipv4Info, seg: RxSeg<P::Rx>) {
        self.core.now = ctx.now();
        self.core.local = ctx.local_addr();
        self.core.count(Counter::SegsIn);
        if !ip.l4_checksum_ok(&seg) {
            self.core.count(Counter::BadChecksum);
            return;
        }
        let Ok(hdr) = Header::parse(&seg) else {
            self.core.count(Counter::Malformed);
            return;
        };
        if hdr.src_port == 0 || hdr.dst_port == 0 {
            self.core.count(Counter::BadPort);
            return;
        }
        let key = FlowKey::new(SocketAddrV4::new(ip.src, hdr.src_port), hdr.dst_port);
        let mut payload = seg;
        payload.advance(hdr.header_len);
        match self.flows.get(key) {
            Some(v) if v & TW_TAG != 0 => {
                self.time_wait_input(ctx, key, v & !TW_TAG, &hdr, payload)
            }
            Some(slot) => self.conn_input(ctx, slot, &hdr, payload),
            None => self.listen_input(ctx, key, &hdr, payload, None),
        }
    }

    /// Once per burst, after its segments: credit, timers, TIME_WAIT, RSTs, output.
    fn poll(&mut self, ctx: &mut TxContext<'_, P>) {
        let now = ctx.now();
        self.core.now = now;
        self.core.local = ctx.local_addr();
        self.drain_credit();
        // Each connection holds one timer and clears every due deadline when it
        // fires, so this ends; the bound makes sure of it whatever a bug might do.
        let mut budget = 2 * self.conns.len() + 16;
        while budget > 0 {
            budget -= 1;
            let Some((id, p)) = self.core.wheel.poll(now) else {
                break;
            };
            let (slot, gen) = unpack(p);
            let Some(t) = self.conns.get_mut(slot as usize) else {
                continue;
            };
            if !t.in_use || t.gen != gen || t.timer.id != Some(id) {
                continue;
            }
            t.timer.fired();
            let outcome = t.on_timers(&mut self.core, ctx);
            self.after(ctx, slot, outcome);
        }
        let flows = &mut self.flows;
        self.tw.expire(now, |k| {
            flows.remove(k);
        });
        while ctx.tx_room() > 0 {
            let Some((key, seq)) = self.rsts.pop_front() else {
                break;
            };
            send_rst(ctx, &mut self.core, key, seq, None);
        }
        let n = self.core.txq.len();
        for _ in 0..n {
            let Some(slot) = self.core.txq.pop() else {
                break;
            };
            let Some(t) = self.conns.get_mut(slot as usize) else {
                continue;
            };
            let done = t.output(&mut self.core, ctx);
            Self::schedule(&mut self.core, t);
            if !done {
                self.core.txq.push(slot);
                break;
            }
        }
    }
}

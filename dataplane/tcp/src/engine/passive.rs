//! Segments for no connection: a listener's SYN opens an embryonic connection (or,
//! with the SYN queue full, is answered with a SYN cookie); an ACK completes a
//! cookie handshake; anything else draws a RST (RFC 9293 3.10.7.1-2).

use super::TcpEngine;
use crate::api::State;
use crate::conn::output::{our_mss, send_control, send_rst};
use crate::conn::tcb::Knock;
use crate::conn::window::Offer;
use crate::flow_table::FlowKey;
use crate::header::{Flags, Header};
use crate::options::TcpOptions;
use crate::seq::Seq;
use crate::stats::Counter;
use crate::timestamps;
use ix_net::TxContext;
use ix_nic::{BufPool, RxSeg};

impl<P: BufPool> TcpEngine<P> {
    /// A segment matching no connection: a listener's SYN or cookie ACK, or a RST
    /// in answer (RFC 9293 3.10.7.1-2).
    pub(super) fn listen_input(
        &mut self,
        ctx: &mut TxContext<'_, P>,
        key: FlowKey,
        hdr: &Header,
        payload: RxSeg<P::Rx>,
        iss_floor: Option<Seq>,
    ) {
        let f = hdr.flags;
        let port = key.local_port();
        if f.has(Flags::RST) {
            self.core.count(Counter::NoListenerDrop);
            return;
        }
        if self.listeners.get(port).is_none() {
            self.core.count(Counter::NoListenerRst);
            self.rst_for(ctx, key, hdr, payload.len());
            return;
        }
        if f.has(Flags::ACK) {
            if !f.has(Flags::SYN) && self.core.cfg.syncookies {
                self.cookie_ack(ctx, key, hdr, payload);
            } else {
                send_rst(ctx, &mut self.core, key, hdr.ack, None);
            }
            return;
        }
        if !f.has(Flags::SYN) {
            return;
        }
        self.core.count(Counter::SynsIn);
        let cfg = &self.core.cfg;
        let queue_full = self
            .listeners
            .get(port)
            .is_none_or(|l| l.syn_queue >= cfg.syn_backlog);
        if queue_full || self.free.is_empty() {
            if self.free.is_empty() {
                self.core.count(Counter::ConnTableFull);
            }
            if self.core.cfg.syncookies {
                self.send_cookie(ctx, key, hdr);
            } else {
                self.core.count(Counter::SynQueueFull);
            }
            return;
        }
        let Some(slot) = self.free.pop() else { return };
        if self.flows.insert(key, slot).is_err() {
            self.free.push(slot);
            self.core.count(Counter::ConnTableFull);
            return;
        }
        let mut iss = self.isn.isn(self.core.local, key, self.core.now);
        if let Some(floor) = iss_floor {
            if iss.lt(floor) {
                iss = floor;
            }
        }
        let offer = Offer::of(&self.core.cfg);
        let ts_offset = timestamps::offset(&self.ts_key, self.core.local, key);
        let t = &mut self.conns[slot as usize];
        t.open(&mut self.core, key, State::SynReceived, iss);
        t.ts.offset = ts_offset;
        t.knock = Knock::Embryonic;
        t.listen_port = Some(port);
        t.irs = hdr.seq;
        t.rcv_nxt = hdr.seq.add(1);
        t.rcv_adv = t.rcv_nxt;
        t.negotiate(
            &self.core.cfg,
            &hdr.options,
            ctx.mtu(),
            offer,
            self.core.now,
        );
        t.snd_wnd = u32::from(hdr.window);
        t.max_snd_wnd = t.snd_wnd;
        if let Some(l) = self.listeners.get_mut(port) {
            l.syn_queue += 1;
        }
        self.core.txq.push(slot);
        Self::schedule(&mut self.core, t);
    }

    /// Answers a SYN statelessly with a SYN cookie.
    fn send_cookie(&mut self, ctx: &mut TxContext<'_, P>, key: FlowKey, hdr: &Header) {
        let mss = our_mss(&self.core, ctx.mtu());
        let peer_mss = hdr.options.mss.unwrap_or(536);
        let cookie = self
            .cookies
            .make(self.core.local, key, hdr.seq, peer_mss, self.core.now);
        let opts = TcpOptions {
            mss: Some(mss),
            ..TcpOptions::default()
        };
        let window = self.core.cfg.recv_buf.min(u32::from(u16::MAX)) as u16;
        send_control(
            ctx,
            &mut self.core,
            key,
            cookie,
            hdr.seq.add(1),
            Flags::SYN.with(Flags::ACK),
            window,
            opts,
        );
        self.core.count(Counter::SynCookiesSent);
    }

    /// An ACK to a listener: the end of a SYN cookie handshake, or garbage (RST).
    fn cookie_ack(
        &mut self,
        ctx: &mut TxContext<'_, P>,
        key: FlowKey,
        hdr: &Header,
        payload: RxSeg<P::Rx>,
    ) {
        let port = key.local_port();
        let Some(peer_mss) =
            self.cookies
                .check(self.core.local, key, hdr.seq, hdr.ack, self.core.now)
        else {
            self.core.count(Counter::SynCookiesBad);
            send_rst(ctx, &mut self.core, key, hdr.ack, None);
            return;
        };
        let backlog_full = self
            .listeners
            .get(port)
            .is_none_or(|l| l.backlog >= self.core.cfg.accept_backlog);
        if backlog_full {
            self.core.count(Counter::AcceptBacklogFull);
            return;
        }
        let Some(slot) = self.free.pop() else {
            self.core.count(Counter::ConnTableFull);
            return;
        };
        if self.flows.insert(key, slot).is_err() {
            self.free.push(slot);
            self.core.count(Counter::ConnTableFull);
            return;
        }
        self.core.count(Counter::SynCookiesOk);
        self.core.count(Counter::PassiveOpens);
        let iss = hdr.ack.sub(1);
        let opts = TcpOptions {
            mss: Some(peer_mss),
            ..TcpOptions::default()
        };
        let t = &mut self.conns[slot as usize];
        t.open(&mut self.core, key, State::Established, iss);
        t.negotiate(&self.core.cfg, &opts, ctx.mtu(), Offer::NONE, self.core.now);
        t.snd_una = hdr.ack;
        t.snd_nxt = hdr.ack;
        t.snd_max = hdr.ack;
        t.irs = hdr.seq.sub(1);
        t.rcv_nxt = hdr.seq;
        t.rcv_adv = hdr.seq.add(self.core.cfg.recv_buf.min(u32::from(u16::MAX)));
        t.snd_wnd = u32::from(hdr.window);
        t.max_snd_wnd = t.snd_wnd;
        t.snd_wl1 = hdr.seq;
        t.snd_wl2 = hdr.ack;
        t.knock = Knock::Pending;
        t.listen_port = Some(port);
        if let Some(l) = self.listeners.get_mut(port) {
            l.backlog += 1;
        }
        // The ACK may carry data (or a FIN): process it as an established segment.
        self.conn_input(ctx, slot, hdr, payload);
    }

    /// RST in answer to a segment for no connection (RFC 9293 3.10.7.1).
    fn rst_for(&mut self, ctx: &mut TxContext<'_, P>, key: FlowKey, hdr: &Header, data_len: usize) {
        let f = hdr.flags;
        if f.has(Flags::ACK) {
            send_rst(ctx, &mut self.core, key, hdr.ack, None);
        } else {
            let len = data_len as u32 + u32::from(f.has(Flags::SYN)) + u32::from(f.has(Flags::FIN));
            send_rst(ctx, &mut self.core, key, Seq(0), Some(hdr.seq.add(len)));
        }
    }
}

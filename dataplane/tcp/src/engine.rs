//! [`TcpEngine`]: one core's TCP, plugged under `ix_net::Interface` as its
//! [`Transport`], with the application API on top.
//!
//! Run to completion: the interface hands each received TCP segment to
//! [`Transport::receive`], which processes it at once (state, data, ACK fields) and
//! marks the connection for output; then one [`Transport::poll`] drains released
//! receive credit, fires due timers, expires TIME_WAIT and transmits for every marked
//! connection, so a burst's ACKs for in-order data are coalesced per connection (an
//! out-of-order or duplicate segment, or one filling a gap, is acknowledged at once:
//! each changes what the ACK's SACK blocks say). Application calls
//! ([`TcpEngine::send`], [`TcpEngine::close`], ...) only queue; what they cause leaves
//! on the next poll. Events come out of [`TcpEngine::poll_event`].

use crate::api::{CloseReason, ConnId, ConnInfo, State, TcpError, TcpEvent};
use crate::config::{ConfigError, TcpConfig};
use crate::conn::output::{our_mss, send_control, send_rst};
use crate::conn::state::{after_close, can_send};
use crate::conn::tcb::{Knock, Tcb};
use crate::conn::Outcome;
use crate::core::Core;
use crate::flow_table::{FlowKey, FlowTable};
use crate::header::{Flags, Header};
use crate::isn::IsnGenerator;
use crate::listener::Listeners;
use crate::options::TcpOptions;
use crate::seq::Seq;
use crate::siphash::SipKey;
use crate::stats::{Counter, TcpStats};
use crate::syncookie::SynCookies;
use crate::timers::unpack;
use crate::timewait::TimeWaitTable;
use core::ops::Range;
use ix_net::{Ipv4Info, Transport, TxContext};
use ix_nic::{BufPool, RxSeg, SharedBuf};
use std::collections::VecDeque;
use std::net::SocketAddrV4;

/// Flow-table values with this bit name a TIME_WAIT entry, not a connection slot.
const TW_TAG: u32 = 1 << 31;

/// RSTs owed by `abort`/`reject`/`unlisten`, sent at the next poll; past this many
/// the oldest are dropped (counted): a peer then learns from its next segment.
const RST_BACKLOG: usize = 1024;

/// One core's TCP engine over buffers of pool `P`.
pub struct TcpEngine<P: BufPool> {
    core: Core,
    conns: Vec<Tcb<P>>,
    free: Vec<u32>,
    flows: FlowTable,
    listeners: Listeners,
    tw: TimeWaitTable,
    isn: IsnGenerator,
    cookies: SynCookies,
    rsts: VecDeque<(FlowKey, Seq)>,
    next_port: u16,
}

impl<P: BufPool> core::fmt::Debug for TcpEngine<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TcpEngine")
            .field("conns", &(self.conns.len() - self.free.len()))
            .field("time_wait", &self.tw.len())
            .field("listeners", &self.listeners.iter().count())
            .field("stats", &self.core.stats)
            .finish_non_exhaustive()
    }
}

impl<P: BufPool> TcpEngine<P> {
    /// An engine for `cfg`; validates it and allocates every table now.
    pub fn new(cfg: TcpConfig) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let secret = cfg.secret.unwrap_or_else(rand::random);
        let key = SipKey::new(secret);
        let mut cookie_secret = secret;
        for b in &mut cookie_secret {
            *b ^= 0x5c;
        }
        let flow_seed = key.hash(b"ix-tcp flow table");
        let (lo, hi) = cfg.ephemeral_ports;
        let next_port = lo + (flow_seed % u64::from(hi - lo + 1)) as u16;
        let max = cfg.max_conns;
        let conns = (0..max as u32).map(|i| Tcb::vacant(i, &cfg)).collect();
        Ok(TcpEngine {
            flows: FlowTable::new(max + cfg.time_wait_max, flow_seed),
            listeners: Listeners::new(cfg.max_listeners),
            tw: TimeWaitTable::new(cfg.time_wait_max),
            isn: IsnGenerator::new(key, cfg.fixed_isn),
            cookies: SynCookies::new(SipKey::new(cookie_secret)),
            rsts: VecDeque::with_capacity(RST_BACKLOG),
            free: (0..max as u32).rev().collect(),
            conns,
            next_port,
            core: Core::new(cfg),
        })
    }

    // ----- Application API -----

    /// Starts accepting connections on `port`; `Knock` events announce them.
    pub fn listen(&mut self, port: u16) -> Result<(), TcpError> {
        if port == 0 {
            return Err(TcpError::InvalidAddress);
        }
        self.listeners.add(port)
    }

    /// Stops listening on `port`; connections from it not yet accepted are reset.
    pub fn unlisten(&mut self, port: u16) -> Result<(), TcpError> {
        if !self.listeners.remove(port) {
            return Err(TcpError::NotListening);
        }
        for slot in 0..self.conns.len() as u32 {
            let t = &self.conns[slot as usize];
            if t.in_use && t.dead.is_none() && t.listen_port == Some(port) {
                self.owe_rst(slot);
                self.free_now(slot);
            }
        }
        Ok(())
    }

    /// Opens a connection to `remote` from `local_port` (an ephemeral port if
    /// `None`). The SYN leaves on the next poll; `Connected` or `ConnectFailed`
    /// follows. Data may be queued with [`TcpEngine::send`] at once.
    pub fn connect(
        &mut self,
        remote: SocketAddrV4,
        local_port: Option<u16>,
    ) -> Result<ConnId, TcpError> {
        let ip = *remote.ip();
        if remote.port() == 0
            || ip.is_unspecified()
            || ip.is_broadcast()
            || ip.is_multicast()
            || local_port == Some(0)
        {
            return Err(TcpError::InvalidAddress);
        }
        if self.free.is_empty() {
            return Err(TcpError::TooManyConnections);
        }
        let key = match local_port {
            Some(p) => {
                let k = FlowKey::new(remote, p);
                if self.flows.get(k).is_some() {
                    return Err(TcpError::AddrInUse);
                }
                k
            }
            None => self.ephemeral(remote).ok_or(TcpError::AddrInUse)?,
        };
        let Some(slot) = self.free.pop() else {
            return Err(TcpError::TooManyConnections);
        };
        if self.flows.insert(key, slot).is_err() {
            self.free.push(slot);
            return Err(TcpError::TooManyConnections);
        }
        let iss = self.isn.isn(self.core.local, key, self.core.now);
        let t = &mut self.conns[slot as usize];
        t.open(&mut self.core, key, State::SynSent, iss);
        t.knock = Knock::Active;
        let id = t.id();
        self.core.txq.push(slot);
        Ok(id)
    }

    /// A free local port for a connection to `remote`.
    fn ephemeral(&mut self, remote: SocketAddrV4) -> Option<FlowKey> {
        let (lo, hi) = self.core.cfg.ephemeral_ports;
        let span = u32::from(hi - lo) + 1;
        for _ in 0..span {
            let p = self.next_port;
            self.next_port = if p >= hi { lo } else { p + 1 };
            let k = FlowKey::new(remote, p);
            if self.flows.get(k).is_none() && self.listeners.get(p).is_none() {
                return Some(k);
            }
        }
        None
    }

    /// The live connection `conn` names, if the application may act on it.
    fn visible(&self, conn: ConnId) -> Result<&Tcb<P>, TcpError> {
        match self.conns.get(conn.slot as usize) {
            Some(t) if t.gen == conn.gen && t.app_visible() => Ok(t),
            _ => Err(TcpError::NoSuchConnection),
        }
    }

    fn visible_mut(&mut self, conn: ConnId) -> Result<&mut Tcb<P>, TcpError> {
        match self.conns.get_mut(conn.slot as usize) {
            Some(t) if t.gen == conn.gen && t.app_visible() => Ok(t),
            _ => Err(TcpError::NoSuchConnection),
        }
    }

    /// Takes a knocking connection: from now on it reports events with `cookie`.
    pub fn accept(&mut self, conn: ConnId, cookie: u64) -> Result<(), TcpError> {
        let t = self.visible_mut(conn)?;
        if t.knock != Knock::Delivered {
            return Err(TcpError::InvalidState);
        }
        t.knock = Knock::Accepted;
        t.cookie = cookie;
        let port = t.listen_port.take();
        let events = t.has_events();
        if let Some(l) = port.and_then(|p| self.listeners.get_mut(p)) {
            l.backlog = l.backlog.saturating_sub(1);
        }
        if events {
            self.core.ready.push(conn.slot);
        }
        Ok(())
    }

    /// Refuses a knocking connection: it is reset and the id becomes invalid.
    pub fn reject(&mut self, conn: ConnId) -> Result<(), TcpError> {
        let t = self.visible(conn)?;
        if t.knock != Knock::Delivered {
            return Err(TcpError::InvalidState);
        }
        self.core.count(Counter::Rejected);
        self.owe_rst(conn.slot);
        self.free_now(conn.slot);
        Ok(())
    }

    /// Sets the cookie reported with the connection's events.
    pub fn set_cookie(&mut self, conn: ConnId, cookie: u64) -> Result<(), TcpError> {
        self.visible_mut(conn)?.cookie = cookie;
        Ok(())
    }

    /// Queues `buf[range]` to send, by reference (no copy; `buf` stays alive until
    /// acknowledged). Returns the bytes accepted: fewer than asked (maybe 0) when the
    /// send buffer is full; retry the rest after a `Sent` event.
    pub fn send(
        &mut self,
        conn: ConnId,
        buf: &P::Shared,
        range: Range<usize>,
    ) -> Result<usize, TcpError> {
        if range.start > range.end || range.end > buf.len() {
            return Err(TcpError::InvalidRange);
        }
        let (max_bytes, max_pieces) = (self.core.cfg.send_buf, self.core.cfg.send_pieces);
        let t = self.visible_mut(conn)?;
        if t.knock == Knock::Delivered || t.app_closed || !can_send(t.state) {
            return Err(TcpError::InvalidState);
        }
        let n = t.sendq.push(buf, range, max_bytes, max_pieces);
        if n > 0 {
            self.core.txq.push(conn.slot);
        }
        Ok(n)
    }

    /// Bytes [`TcpEngine::send`] would accept now.
    pub fn send_room(&self, conn: ConnId) -> Result<usize, TcpError> {
        let t = self.visible(conn)?;
        Ok(self.core.cfg.send_buf.saturating_sub(t.sendq.len()) as usize)
    }

    /// Closes our sending side: FIN after the queued data. Receiving goes on until
    /// the peer closes (`PeerClosed`); `Dead` ends it. A connection still in SYN_SENT
    /// is dropped at once (no event follows).
    pub fn close(&mut self, conn: ConnId) -> Result<(), TcpError> {
        let t = self.visible_mut(conn)?;
        if t.knock == Knock::Delivered || t.app_closed {
            return Err(TcpError::InvalidState);
        }
        if t.state == State::SynSent {
            self.free_now(conn.slot);
            return Ok(());
        }
        let next = after_close(t.state).ok_or(TcpError::InvalidState)?;
        t.app_closed = true;
        t.state = next;
        self.core.txq.push(conn.slot);
        Ok(())
    }

    /// Resets the connection: a RST goes out on the next poll, queued data in both
    /// directions is discarded, and the id is invalid at once (no event follows).
    pub fn abort(&mut self, conn: ConnId) -> Result<(), TcpError> {
        let t = self.visible(conn)?;
        if t.state != State::SynSent {
            self.owe_rst(conn.slot);
        }
        self.core.count(Counter::Aborted);
        self.free_now(conn.slot);
        Ok(())
    }

    /// The next event for the application, if any (never blocks, never allocates).
    pub fn poll_event(&mut self) -> Option<TcpEvent<P::Rx>> {
        loop {
            let slot = self.core.ready.pop()?;
            let t = self.conns.get_mut(slot as usize)?;
            if !t.in_use {
                continue;
            }
            let port = t.key.local_port();
            let Some(ev) = t.next_event(port) else {
                continue;
            };
            if matches!(ev, TcpEvent::Dead { .. } | TcpEvent::ConnectFailed { .. }) {
                t.release(&mut self.core);
                self.free.push(slot);
            } else if t.has_events() {
                self.core.ready.push(slot);
            }
            return Some(ev);
        }
    }

    /// The connection's state.
    pub fn state(&self, conn: ConnId) -> Result<State, TcpError> {
        Ok(self.visible(conn)?.state)
    }

    /// A snapshot of the connection (4-tuple, state, windows, RTT, ...).
    pub fn conn_info(&self, conn: ConnId) -> Result<ConnInfo, TcpError> {
        Ok(self.visible(conn)?.info(&self.core))
    }

    /// Snapshots of every connection, half-open and dying ones included.
    pub fn conns(&self) -> impl Iterator<Item = ConnInfo> + '_ {
        self.conns
            .iter()
            .filter(|t| t.in_use)
            .map(|t| t.info(&self.core))
    }

    /// Connections in use (any state but TIME_WAIT).
    pub fn conn_count(&self) -> usize {
        self.conns.len() - self.free.len()
    }

    /// Entries in TIME_WAIT.
    pub fn time_wait_count(&self) -> usize {
        self.tw.len()
    }

    /// The engine's counters.
    pub fn stats(&self) -> &TcpStats {
        &self.core.stats
    }

    /// The configuration in use.
    pub fn config(&self) -> &TcpConfig {
        &self.core.cfg
    }

    // ----- Internals -----

    /// Queues a RST for the connection in `slot` (sent at the next poll).
    fn owe_rst(&mut self, slot: u32) {
        let t = &self.conns[slot as usize];
        if self.rsts.len() >= RST_BACKLOG {
            self.rsts.pop_front();
            self.core.count(Counter::TxFailed);
        }
        self.rsts.push_back((t.key, t.snd_nxt));
    }

    /// Removes the connection in `slot` at once, no event: the flow entry, its
    /// listener's count, its buffers and timer.
    fn free_now(&mut self, slot: u32) {
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

    /// Both sides closed: a TIME_WAIT entry takes over the 4-tuple, the final ACK goes
    /// out if one is owed, and the application is told the connection closed.
    ///
    /// The ACK is owed when the peer's FIN is what ended it (from FIN_WAIT_1 or 2),
    /// or when it is still unsent; from CLOSING the peer's FIN was acknowledged
    /// already, and the segment that ends it, the ACK of our FIN, needs no answer.
    fn enter_time_wait(&mut self, ctx: &mut TxContext<'_, P>, slot: u32) {
        let t = &mut self.conns[slot as usize];
        let key = t.key;
        let window = t.advertise(&self.core.cfg, false);
        let (snd, rcv) = (t.snd_nxt, t.rcv_nxt);
        if t.ack_now {
            send_control(
                ctx,
                &mut self.core,
                key,
                snd,
                rcv,
                Flags::ACK,
                window,
                TcpOptions::default(),
            );
        }
        let expires = self.core.now + self.core.cfg.time_wait();
        let (idx, recycled) = self.tw.push(key, snd, rcv, window, expires);
        if let Some(old) = recycled {
            self.flows.remove(old);
            self.core.count(Counter::TimeWaitRecycled);
        }
        self.core.count(Counter::TimeWaitEntered);
        // Replaces the slot's entry (the table has room: same key).
        let _ = self.flows.insert(key, idx | TW_TAG);
        let t = &mut self.conns[slot as usize];
        t.listen_port = None;
        t.bury(&mut self.core, CloseReason::Closed);
        self.core.ready.push(slot);
    }

    /// Acts on what a connection reported, then queues its events and output and
    /// re-arms its timer.
    fn after(&mut self, ctx: &mut TxContext<'_, P>, slot: u32, outcome: Outcome) {
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
    fn schedule(core: &mut Core, t: &mut Tcb<P>) {
        if !t.in_use || t.dead.is_some() {
            return;
        }
        let next = t.dl.earliest();
        if !t.timer.schedule(&mut core.wheel, t.slot, t.gen, next) {
            core.count(Counter::TimerFull);
        }
    }

    /// A segment for an existing connection.
    fn conn_input(
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

    /// A segment for a 4-tuple in TIME_WAIT (RFC 9293 3.10.7.4 for TIME-WAIT, RFC
    /// 1337: RSTs ignored; RFC 6191-style reuse by a SYN beyond the old sequence).
    fn time_wait_input(
        &mut self,
        ctx: &mut TxContext<'_, P>,
        key: FlowKey,
        idx: u32,
        hdr: &Header,
        payload: RxSeg<P::Rx>,
    ) {
        let Some(e) = self.tw.get(idx).copied() else {
            self.flows.remove(key);
            return self.listen_input(ctx, key, hdr, payload, None);
        };
        let f = hdr.flags;
        if f.has(Flags::RST) {
            self.core.count(Counter::RstIgnored);
            return;
        }
        if f.has(Flags::SYN) && !f.has(Flags::ACK) && hdr.seq.gt(e.rcv_nxt) {
            self.tw.kill(idx);
            self.flows.remove(key);
            self.core.count(Counter::TimeWaitReused);
            // The new incarnation's ISN lies beyond anything the old one sent.
            let floor = e.snd_nxt.add(u32::from(u16::MAX) + 2);
            return self.listen_input(ctx, key, hdr, payload, Some(floor));
        }
        if !payload.is_empty() || f.has(Flags::FIN) || f.has(Flags::SYN) {
            send_control(
                ctx,
                &mut self.core,
                key,
                e.snd_nxt,
                e.rcv_nxt,
                Flags::ACK,
                e.window,
                TcpOptions::default(),
            );
        }
        // The peer's FIN again (our ACK was lost): acknowledged above, and 2*MSL
        // starts over (RFC 9293 3.10.7.4), so a third copy still finds us here.
        let fin_end = hdr.seq.add(payload.len() as u32 + 1);
        if f.has(Flags::FIN) && !f.has(Flags::SYN) && fin_end == e.rcv_nxt {
            let expires = self.core.now + self.core.cfg.time_wait();
            if let Some((new_idx, recycled)) = self.tw.restart(idx, expires) {
                if let Some(old) = recycled {
                    self.flows.remove(old);
                    self.core.count(Counter::TimeWaitRecycled);
                }
                if new_idx != idx {
                    // Replaces the entry of this key: the table has room.
                    let _ = self.flows.insert(key, new_idx | TW_TAG);
                }
            }
        }
    }

    /// A segment matching no connection: a listener's SYN or cookie ACK, or a RST
    /// in answer (RFC 9293 3.10.7.1-2).
    fn listen_input(
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
        let (ws, sack) = (self.core.cfg.window_scaling, self.core.cfg.sack);
        let t = &mut self.conns[slot as usize];
        t.open(&mut self.core, key, State::SynReceived, iss);
        t.knock = Knock::Embryonic;
        t.listen_port = Some(port);
        t.irs = hdr.seq;
        t.rcv_nxt = hdr.seq.add(1);
        t.rcv_adv = t.rcv_nxt;
        t.negotiate(&self.core.cfg, &hdr.options, ctx.mtu(), ws, sack);
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
        t.negotiate(&self.core.cfg, &opts, ctx.mtu(), false, false);
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

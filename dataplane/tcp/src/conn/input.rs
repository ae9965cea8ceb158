//! The receive path of one connection: RFC 9293 3.10.7 "SEGMENT ARRIVES" for every
//! state but LISTEN and TIME_WAIT (handled by the engine, which owns no TCB for
//! them), with RFC 5961's defences, RFC 5681/6675/6582 ACK processing and IX flow
//! control on the data.

use crate::api::{CloseReason, State};
use crate::conn::output::send_rst;
use crate::conn::tcb::{Knock, Recovery, Tcb};
use crate::conn::Outcome;
use crate::core::Core;
use crate::header::{Flags, Header};
use crate::ooo::OooRefusal;
use crate::seq::Seq;
use crate::stats::Counter;
use ix_net::TxContext;
use ix_nic::{BufPool, RxSeg};

impl<P: BufPool> Tcb<P> {
    /// Processes one segment for this connection. `payload` is the segment with its
    /// header already skipped; `accept_room` says whether the listener of a passive
    /// connection can take one more established connection into its backlog.
    pub(crate) fn input(
        &mut self,
        core: &mut Core,
        ctx: &mut TxContext<'_, P>,
        hdr: &Header,
        payload: RxSeg<P::Rx>,
        accept_room: bool,
    ) -> Outcome {
        self.last_rx = core.now;
        self.ka_probes = 0;
        match self.state {
            State::SynSent => self.input_syn_sent(core, ctx, hdr),
            State::Closed | State::TimeWait => Outcome::None,
            _ => self.input_synchronized(core, ctx, hdr, payload, accept_room),
        }
    }

    /// RFC 9293 3.10.7.3: our SYN is out.
    fn input_syn_sent(
        &mut self,
        core: &mut Core,
        ctx: &mut TxContext<'_, P>,
        hdr: &Header,
    ) -> Outcome {
        let f = hdr.flags;
        let ack_ok = if f.has(Flags::ACK) {
            if hdr.ack.le(self.iss) || hdr.ack.gt(self.snd_max) {
                if !f.has(Flags::RST) {
                    send_rst(ctx, core, self.key, hdr.ack, None);
                }
                core.count(Counter::AckTooNew);
                return Outcome::None;
            }
            true
        } else {
            false
        };
        if f.has(Flags::RST) {
            if ack_ok {
                core.count(Counter::ConnRefused);
                return Outcome::Dead(CloseReason::Refused, false);
            }
            core.count(Counter::RstIgnored);
            return Outcome::None;
        }
        if !f.has(Flags::SYN) {
            return Outcome::None;
        }
        self.irs = hdr.seq;
        self.rcv_nxt = hdr.seq.add(1);
        self.rcv_adv = self.rcv_nxt;
        let (ws, sack) = (core.cfg.window_scaling, core.cfg.sack);
        self.negotiate(&core.cfg, &hdr.options, ctx.mtu(), ws, sack);
        // The SYN's window is never scaled.
        self.snd_wnd = u32::from(hdr.window);
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = hdr.seq;
        self.snd_wl2 = hdr.ack;
        if ack_ok {
            self.ack_advance(core, hdr.ack);
            self.state = State::Established;
            self.ev_connected = true;
            self.ack_now = true;
            core.count(Counter::ActiveOpens);
            Outcome::Established
        } else {
            // Simultaneous open: answer with SYN-ACK (same ISS).
            self.state = State::SynReceived;
            self.snd_nxt = self.iss;
            Outcome::None
        }
    }

    /// Every state from SYN_RECEIVED on (RFC 9293 3.10.7.4).
    fn input_synchronized(
        &mut self,
        core: &mut Core,
        ctx: &mut TxContext<'_, P>,
        hdr: &Header,
        mut payload: RxSeg<P::Rx>,
        accept_room: bool,
    ) -> Outcome {
        let f = hdr.flags;
        // Simultaneous open (RFC 9293 figure 8, line 6): the peer's SYN-ACK, its SYN
        // again with the acknowledgment of ours, completes the handshake. (Read
        // literally, 3.10.7.4's sequence check would drop it: its SYN lies below
        // RCV.NXT. Linux lets it through the same way, for a connection it opened.)
        if self.state == State::SynReceived
            && self.knock == Knock::Active
            && f.has(Flags::SYN)
            && f.has(Flags::ACK)
            && !f.has(Flags::RST)
            && hdr.seq == self.irs
            && hdr.ack.gt(self.snd_una)
            && hdr.ack.le(self.snd_max)
        {
            return self.simultaneous_synack(core, hdr);
        }
        // A retransmitted SYN in SYN_RECEIVED: our SYN-ACK was lost; resend it.
        if self.state == State::SynReceived
            && f.has(Flags::SYN)
            && !f.has(Flags::ACK)
            && hdr.seq == self.irs
        {
            self.snd_nxt = self.iss;
            return Outcome::None;
        }
        // SYN in a synchronized state, whatever its sequence number (RFC 5961 4.2,
        // RFC 9293 3.10.7.4 fourth check): challenge ACK.
        if f.has(Flags::SYN) && !f.has(Flags::RST) {
            if core.challenge_ok() {
                self.ack_now = true;
            }
            return Outcome::None;
        }
        let mut seq = hdr.seq;
        let data_len = payload.len() as u32;
        let seg_len = data_len + u32::from(f.has(Flags::SYN)) + u32::from(f.has(Flags::FIN));
        let wnd = self.rcv_adv.since(self.rcv_nxt);

        // 1. Sequence number check.
        let acceptable = match (seg_len, wnd) {
            (0, 0) => seq == self.rcv_nxt,
            (0, _) => seq.in_range(self.rcv_nxt, self.rcv_adv),
            (_, 0) => false,
            (_, _) => {
                seq.in_range(self.rcv_nxt, self.rcv_adv)
                    || seq.add(seg_len - 1).in_range(self.rcv_nxt, self.rcv_adv)
            }
        };
        // With a zero window, an in-sequence segment's ACK still counts (RFC 9293:
        // "valid ACKs, URGs, and RSTs" are processed); its data is dropped below.
        let zero_window_ok = wnd == 0 && seq == self.rcv_nxt;
        if !acceptable && !zero_window_ok {
            if f.has(Flags::RST) {
                core.count(Counter::RstIgnored);
                return Outcome::None;
            }
            if seq.add(seg_len).le(self.rcv_nxt) {
                core.count(Counter::DupSegs);
            } else {
                core.count(Counter::OutOfWindow);
            }
            self.ack_now = true;
            return Outcome::None;
        }

        // 2. RST (RFC 5961 3.2: only an exact match resets; in-window gets a challenge).
        if f.has(Flags::RST) {
            if seq != self.rcv_nxt {
                if core.challenge_ok() {
                    self.ack_now = true;
                }
                return Outcome::None;
            }
            core.count(Counter::RstsIn);
            return match self.state {
                State::SynReceived if self.knock == Knock::Active => {
                    core.count(Counter::ConnRefused);
                    Outcome::Dead(CloseReason::Refused, false)
                }
                _ => Outcome::Dead(CloseReason::Reset, false),
            };
        }

        // 5. ACK.
        if !f.has(Flags::ACK) {
            core.count(Counter::NoAckFlag);
            return Outcome::None;
        }
        let mut outcome = Outcome::None;
        if self.state == State::SynReceived {
            if hdr.ack.gt(self.snd_una) && hdr.ack.le(self.snd_max) {
                if self.knock == Knock::Embryonic && !accept_room {
                    // The peer will retransmit; by then the application may have
                    // made room (Linux drops the ACK the same way).
                    core.count(Counter::AcceptBacklogFull);
                    return Outcome::None;
                }
                self.state = State::Established;
                self.snd_wnd = u32::from(hdr.window) << self.snd_wscale;
                self.max_snd_wnd = self.snd_wnd;
                self.snd_wl1 = seq;
                self.snd_wl2 = hdr.ack;
                if self.knock == Knock::Active {
                    self.ev_connected = true;
                    core.count(Counter::ActiveOpens);
                } else {
                    core.count(Counter::PassiveOpens);
                }
                if self.app_closed {
                    self.state = State::FinWait1;
                }
                outcome = Outcome::Established;
            } else {
                send_rst(ctx, core, self.key, hdr.ack, None);
                return Outcome::None;
            }
        }
        if hdr.ack.gt(self.snd_max) {
            core.count(Counter::AckTooNew);
            self.ack_now = true;
            return outcome;
        }
        let floor = self.snd_una.sub(self.max_snd_wnd.max(u32::from(u16::MAX)));
        if hdr.ack.lt(floor) {
            core.count(Counter::AckTooOld);
            self.ack_now = true;
            return outcome;
        }
        self.process_ack(core, hdr, data_len);
        match self.state {
            State::FinWait1 if self.fin_acked() => {
                self.state = State::FinWait2;
                self.dl.linger = Some(core.now + core.cfg.fin_wait2_timeout);
            }
            State::Closing if self.fin_acked() => return Outcome::TimeWait,
            State::LastAck if self.fin_acked() => return Outcome::Dead(CloseReason::Closed, false),
            _ => {}
        }

        // 7. Segment text.
        if data_len > 0 {
            match self.state {
                State::Established | State::FinWait1 | State::FinWait2 => {
                    // Trim what was received already, then what is past the window.
                    if seq.lt(self.rcv_nxt) {
                        let skip = self.rcv_nxt.since(seq);
                        payload.advance(skip as usize);
                        seq = self.rcv_nxt;
                    }
                    let room = if seq.lt(self.rcv_adv) {
                        self.rcv_adv.since(seq)
                    } else {
                        0
                    };
                    let mut fin = f.has(Flags::FIN);
                    if payload.len() as u32 > room {
                        core.count(Counter::WindowOverrun);
                        payload.truncate(room as usize);
                        fin = false;
                    }
                    let end = seq.add(payload.len() as u32);
                    if !payload.is_empty() {
                        self.receive_data(core, seq, payload);
                    } else {
                        self.ack_now = true;
                    }
                    if self.pending_fin {
                        return self.process_fin(outcome);
                    }
                    if fin {
                        return self.fin_arrives(end, outcome);
                    }
                    return outcome;
                }
                _ => {
                    // Data after the peer's FIN: nothing to do but acknowledge.
                    self.ack_now = true;
                    return outcome;
                }
            }
        }
        if f.has(Flags::FIN) {
            return self.fin_arrives(seq, outcome);
        }
        outcome
    }

    /// The peer's SYN-ACK in SYN_RECEIVED after a simultaneous open (checked by the
    /// caller: its SYN is the one we hold, its ACK acceptable): ESTABLISHED, and an
    /// ACK in answer, as Linux sends, so the peer completes too even if our SYN-ACK
    /// was lost.
    fn simultaneous_synack(&mut self, core: &mut Core, hdr: &Header) -> Outcome {
        self.state = if self.app_closed {
            State::FinWait1
        } else {
            State::Established
        };
        // A SYN's window is never scaled (RFC 7323 2.2).
        self.snd_wnd = u32::from(hdr.window);
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = hdr.seq;
        self.snd_wl2 = hdr.ack;
        self.ack_advance(core, hdr.ack);
        self.ev_connected = true;
        self.ack_now = true;
        core.count(Counter::ActiveOpens);
        Outcome::Established
    }

    /// RFC 5961 5.2 passed: the ACK field of an acceptable segment.
    fn process_ack(&mut self, core: &mut Core, hdr: &Header, data_len: u32) {
        let ack = hdr.ack;
        if self.sack_ok {
            for &(l, r) in &hdr.options.sack {
                self.scoreboard.add(l, r, self.snd_una, self.snd_max);
            }
        }
        let window = u32::from(hdr.window) << self.snd_wscale;
        if ack.gt(self.snd_una) {
            self.ack_advance(core, ack);
        } else if ack == self.snd_una
            && data_len == 0
            && !hdr.flags.has(Flags::FIN)
            && window == self.snd_wnd
            && self.outstanding() > 0
        {
            // A duplicate ACK (RFC 5681 2, definition of DUPLICATE ACKNOWLEDGMENT).
            self.dupacks += 1;
            core.count(Counter::DupAcks);
            match self.recovery {
                Some(_) if !self.sack_ok => self.cc.inflate_for_dupacks(1),
                Some(_) => {}
                None => {
                    let sack_lost =
                        self.sack_ok && self.scoreboard.sacked_bytes() >= 3 * u32::from(self.mss);
                    if self.dupacks >= 3 || sack_lost {
                        self.enter_recovery(core);
                    }
                }
            }
        }
        // Window update (RFC 9293 3.10.7.4, fifth check, SND.WL1/WL2 rule).
        if self.snd_wl1.lt(hdr.seq) || (self.snd_wl1 == hdr.seq && self.snd_wl2.le(ack)) {
            self.snd_wnd = window;
            self.max_snd_wnd = self.max_snd_wnd.max(window);
            self.snd_wl1 = hdr.seq;
            self.snd_wl2 = ack;
            if window > 0 {
                self.probes = 0;
            }
        }
    }

    /// SND.UNA moves to `ack`: release acknowledged data, sample the RTT, grow the
    /// window or advance recovery, restart or stop the retransmission timer.
    pub(crate) fn ack_advance(&mut self, core: &mut Core, ack: Seq) {
        let now = core.now;
        let acked = ack.since(self.snd_una);
        let data_acked = self.sendq.ack_to(ack);
        self.snd_una = ack;
        if self.snd_nxt.lt(ack) {
            self.snd_nxt = ack;
        }
        if matches!(
            self.knock,
            Knock::Active | Knock::Accepted | Knock::Delivered | Knock::Pending
        ) {
            self.ev_sent += u64::from(data_acked);
        }
        if let Some((s, t)) = self.timing {
            if ack.gt(s) {
                self.rtt.sample(now.saturating_since(t));
                self.timing = None;
            }
        }
        self.retries = 0;
        self.probes = 0;
        self.rtt.clear_backoff();
        self.scoreboard.ack(ack);
        match self.recovery {
            Some(rec) if ack.ge(rec.recover) => {
                self.recovery = None;
                self.cc.exit_recovery(self.outstanding());
            }
            Some(mut rec) => {
                // Partial ACK: NewReno resends the next segment (RFC 6582 3.2 step 5);
                // with SACK the scoreboard says what is missing.
                if !self.sack_ok || self.scoreboard.is_empty() {
                    self.cc.partial_ack(acked);
                    rec.next = ack;
                    rec.end = ack.add(u32::from(self.mss));
                    rec.first_sent = false;
                }
                rec.next = rec.next.max(ack);
                self.recovery = Some(rec);
            }
            None => self.cc.on_ack(acked),
        }
        self.dupacks = 0;
        if self.outstanding() == 0 {
            self.dl.rto = None;
            self.set_unacked_since(core, None);
        } else {
            self.dl.rto = Some(now + self.rtt.rto());
            self.set_unacked_since(core, Some(now));
        }
    }

    /// Three duplicate ACKs (or SACKed data past three segments): fast retransmit
    /// and enter recovery (RFC 6675 5 with SACK, RFC 6582 3.2 without).
    fn enter_recovery(&mut self, core: &mut Core) {
        let flight = self.outstanding();
        self.cc.on_loss(flight);
        if self.sack_ok {
            core.count(Counter::SackRecoveries);
        } else {
            self.cc.inflate_for_dupacks(3);
            core.count(Counter::NewRenoRecoveries);
        }
        core.count(Counter::FastRetransmits);
        self.recovery = Some(Recovery {
            recover: self.snd_max,
            next: self.snd_una,
            end: self.snd_una.add(u32::from(self.mss)),
            first_sent: false,
        });
        // Karn: a measurement spanning a retransmission is ambiguous.
        self.timing = None;
    }

    /// In-window data starting at `seq` (at or after RCV.NXT): in order it goes to
    /// the application with a credit; beyond a gap it waits in the out-of-order queue.
    fn receive_data(&mut self, core: &mut Core, seq: Seq, payload: RxSeg<P::Rx>) {
        if seq == self.rcv_nxt {
            let filled_gap = !self.ooo.is_empty();
            if !self.deliver(core, payload) {
                self.ack_now = true;
                return;
            }
            while let Some(next) = self.ooo.pop_in_order(self.rcv_nxt) {
                if !self.deliver(core, next) {
                    break;
                }
            }
            self.sync_ooo(core);
            if filled_gap {
                // RFC 5681 4.2: ACK at once when a gap fills.
                self.ack_now = true;
            } else {
                self.unacked_segs += 1;
                if self.unacked_segs >= core.cfg.delack_segments {
                    self.ack_now = true;
                } else if self.dl.delack.is_none() {
                    self.dl.delack = Some(core.now + core.cfg.delack_timeout);
                }
            }
            return;
        }
        // Out of order: ACK at once (a duplicate ACK, with SACK blocks).
        self.ack_now = true;
        if core.ooo_bytes + payload.len() > core.cfg.ooo_bytes_total {
            core.count(Counter::OooDropEngine);
            return;
        }
        match self.ooo.insert(seq, payload, core.cfg.ooo_segments) {
            Ok(_) => core.count(Counter::OooQueued),
            Err(OooRefusal::Duplicate) => core.count(Counter::DupSegs),
            Err(OooRefusal::Full) => core.count(Counter::OooDropConn),
        }
        self.sync_ooo(core);
    }

    /// Queues in-order data for the application (with its credit); false if the
    /// queue is full (the data is dropped unacknowledged and will be resent).
    fn deliver(&mut self, core: &mut Core, seg: RxSeg<P::Rx>) -> bool {
        let n = seg.len() as u32;
        let credit = core.ledger.credit(self.slot, self.ledger_gen, n);
        if self
            .recvq
            .push(seg.with_credit(credit), core.cfg.recv_segments)
            .is_err()
        {
            // The refused segment is dropped here and its credit comes back through
            // the ledger as a release: count it as held so the books balance.
            self.unreleased += n;
            core.count(Counter::RecvQueueFull);
            return false;
        }
        self.unreleased += n;
        self.rcv_nxt = self.rcv_nxt.add(n);
        core.stats.add(Counter::BytesIn, u64::from(n));
        if let Some(fs) = self.ooo_fin {
            if fs == self.rcv_nxt {
                self.ooo_fin = None;
                self.pending_fin = true;
            }
        }
        true
    }

    /// A FIN at sequence `fin_seq`: processed if it is next, remembered if beyond a gap.
    fn fin_arrives(&mut self, fin_seq: Seq, outcome: Outcome) -> Outcome {
        if fin_seq == self.rcv_nxt {
            return self.process_fin(outcome);
        }
        if fin_seq.gt(self.rcv_nxt) {
            self.ooo_fin = Some(fin_seq);
        }
        self.ack_now = true;
        outcome
    }

    /// The peer's FIN is in order: RCV.NXT covers it, the application is told, and
    /// the state moves (RFC 9293 3.10.7.4, eighth check).
    pub(crate) fn process_fin(&mut self, outcome: Outcome) -> Outcome {
        self.pending_fin = false;
        if self.fin_rcvd {
            self.ack_now = true;
            return outcome;
        }
        self.fin_rcvd = true;
        self.rcv_nxt = self.rcv_nxt.add(1);
        self.ack_now = true;
        self.ev_peer_closed = true;
        match self.state {
            State::SynReceived | State::Established => self.state = State::CloseWait,
            State::FinWait1 if self.fin_acked() => return Outcome::TimeWait,
            State::FinWait1 => self.state = State::Closing,
            State::FinWait2 => return Outcome::TimeWait,
            _ => {}
        }
        outcome
    }
}

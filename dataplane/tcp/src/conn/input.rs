//! The receive path of one connection: RFC 9293 3.10.7 "SEGMENT ARRIVES" for every
//! state but LISTEN and TIME_WAIT (handled by the engine, which owns no TCB for
//! them), with RFC 5961's defences, RFC 5681/6675/6582 ACK processing and IX flow
//! control on the data.

use crate::api::{CloseReason, State};
use crate::config::TcpConfig;
use crate::conn::output::send_rst;
use crate::conn::tcb::{Knock, Recovery, RecoveryKind, Tcb, Undo};
use crate::conn::Outcome;
use crate::core::Core;
use crate::header::{Flags, Header};
use crate::ooo::OooRefusal;
use crate::rack::Tlp;
use crate::rtxq::SegRec;
use crate::seq::Seq;
use crate::stats::Counter;
use arrayvec::ArrayVec;
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
        let outcome = match self.state {
            State::SynSent => self.input_syn_sent(core, ctx, hdr),
            State::Closed | State::TimeWait => Outcome::None,
            _ => self.input_synchronized(core, ctx, hdr, payload, accept_room),
        };
        // The ACK a segment starting a new out-of-order block, a duplicate or a
        // filled gap calls for goes at once (RFC 5681 4.2), not at the end of the
        // burst: each changes the shape of what the sender knows (a new SACK block, a
        // D-SACK, a cumulative jump), and one ACK per burst reports only the latest
        // few blocks, so the sender would learn of the others late or never and take
        // their segments for lost. Segments that only extend a block, and in-order
        // data, are acknowledged once per burst (stretch ACKs, as with GRO).
        if self.ack_at_once && outcome == Outcome::None && self.state.is_synchronized() {
            self.send_ack(core, ctx);
        }
        outcome
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
                if data_len > 0 {
                    self.note_dsack(&core.cfg, seq, seq.add(data_len));
                }
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
                        self.note_dsack(&core.cfg, seq, self.rcv_nxt);
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
                    // The stream ends at a FIN already seen beyond a gap: nothing at
                    // or after it is data (nor is this segment's FIN, further on).
                    if let Some(fs) = self.ooo_fin {
                        let keep = if seq.lt(fs) { fs.since(seq) } else { 0 };
                        if payload.len() as u32 > keep {
                            core.count(Counter::DataPastFin);
                            payload.truncate(keep as usize);
                            fin = false;
                        }
                    }
                    let end = seq.add(payload.len() as u32);
                    // The FIN is known before the data goes in: held segments the
                    // data joins up with must stop at it.
                    if fin && end.gt(self.rcv_nxt) {
                        self.fin_beyond_gap(core, end);
                    }
                    if !payload.is_empty() {
                        self.receive_data(core, seq, payload);
                    } else {
                        self.ack_now = true;
                    }
                    if self.pending_fin {
                        return self.process_fin(core, outcome);
                    }
                    if fin {
                        return self.fin_arrives(core, end, outcome);
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
            return self.fin_arrives(core, seq, outcome);
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

    /// RFC 5961 5.2 passed: the ACK field of an acceptable segment: SACK blocks,
    /// the cumulative acknowledgment, duplicate ACKs, RACK loss detection and the
    /// tail loss probe's outcome (RFC 8985), the peer's window.
    fn process_ack(&mut self, core: &mut Core, hdr: &Header, data_len: u32) {
        let ack = hdr.ack;
        let now = core.now;
        let window = u32::from(hdr.window) << self.snd_wscale;
        // The cumulative ACK first, then the SACK blocks: RACK sees a segment the
        // ACK delivers below data SACKed only by earlier ACKs as reordering, and
        // not one below data this same ACK SACKs.
        let advanced = ack.gt(self.snd_una);
        if advanced {
            self.ack_advance(core, ack);
        }
        let mut newly_sacked = 0;
        let mut dsack = None;
        if self.sack_ok {
            let blocks = &hdr.options.sack;
            // RFC 2883 4: a first block below the cumulative ACK, or inside the
            // second block, reports a duplicate (D-SACK), not data held.
            if let Some(&(l, r)) = blocks.first() {
                let inside_next = blocks.get(1).is_some_and(|&(l2, r2)| l2.le(l) && r.le(r2));
                if l.lt(r) && (r.le(ack) || inside_next) {
                    dsack = Some((l, r));
                    core.count(Counter::DsacksIn);
                }
            }
            let skip = usize::from(dsack.is_some());
            let (rack, undo) = (&mut self.rack, &mut self.undo);
            let max = core.cfg.inflight_segments;
            for &(l, r) in blocks.iter().skip(skip) {
                // Blocks beyond what we sent, or wholly acknowledged, are ignored.
                if !l.lt(r) || r.gt(self.snd_max) || r.le(self.snd_una) {
                    continue;
                }
                newly_sacked += self.rtxq.sack(l, r, max, |seg| {
                    if !rack.delivered(seg, now) {
                        late_original(undo, seg);
                    }
                });
            }
            self.try_undo(core);
            if advanced && self.rtxq.front().is_some_and(|r| r.is_sacked()) {
                // The peer acknowledged up to data it SACKed and no further: it
                // dropped what it SACKed (RFC 2018 8). Forget the marks; the segment
                // at the cumulative ACK is certainly missing.
                core.count(Counter::SackReneging);
                self.rtxq.clear_sacks();
                self.rtxq.mark_lost(0);
            }
        }
        if !advanced
            && ack == self.snd_una
            && data_len == 0
            && !hdr.flags.has(Flags::FIN)
            && self.outstanding() > 0
        {
            // A duplicate ACK: with SACK, one that SACKs new data (RFC 6675 2), so
            // duplicated ACKs and window updates never count; without, RFC 5681 2's
            // definition (same window).
            let dup = if self.sack_ok {
                newly_sacked > 0
            } else {
                window == self.snd_wnd
            };
            if dup {
                self.dupacks += 1;
                core.count(Counter::DupAcks);
                if !self.sack_ok {
                    self.newreno_dupack(core);
                }
            }
        }
        if self.sack_ok {
            if let Some((l, r)) = dsack {
                // A retransmission that was not needed: widen RACK's reordering
                // window. Not for what the network duplicated (more D-SACKs than
                // retransmissions) nor for a loss probe's (timer-driven, not RACK's
                // doing); as Linux does.
                self.dsacks += 1;
                if self.dsacks <= self.retransmits && self.tlp.end != Some(r) {
                    self.rack.dsack(self.snd_una, self.snd_max);
                }
                self.dsack_undo(core, l, r);
            }
            // Loss detection has work only if something is SACKed, lost or resent
            // (else every segment left was sent after every one delivered).
            let pending = self.rtxq.needs_detection() || self.dl.reo.is_some();
            if (advanced || newly_sacked > 0) && pending {
                self.rack_detect(core);
            }
            let news = advanced || newly_sacked > 0;
            let sacks = !hdr.options.sack.is_empty();
            self.tlp_ack(core, ack, dsack, sacks, news, advanced);
            if advanced || (news && self.recovery.is_some()) || self.dl.tlp.is_none() {
                self.schedule_tlp(core);
            }
        }
        // Window update (RFC 9293 3.10.7.4, fifth check): only from an ACK within
        // SND.UNA =< SEG.ACK =< SND.MAX (checked above; SND.UNA is `ack` now if it
        // advanced), since the window a segment carries counts from its own ACK.
        // Then the SND.WL1/WL2 rule, and, as Linux does, any ACK that advances
        // SND.UNA: the peer's ACKs only grow, so its window is the newest, even
        // on a segment below SND.WL1 (one filling a gap behind data it sent
        // ahead). Else the older window would count from the new SND.UNA, past
        // any edge the peer advertised. So SND.UNA + SND.WND is always the right
        // edge of the window the peer advertised last.
        let in_range = ack == self.snd_una;
        let newer = advanced
            || self.snd_wl1.lt(hdr.seq)
            || (self.snd_wl1 == hdr.seq && self.snd_wl2.le(ack));
        if in_range && newer {
            self.snd_wnd = window;
            self.max_snd_wnd = self.max_snd_wnd.max(window);
            self.snd_wl1 = hdr.seq;
            self.snd_wl2 = ack;
            if window > 0 {
                self.probes = 0;
            }
        }
    }

    /// A D-SACK for `[l, r)`: if it names a retransmission of the latest fast
    /// recovery, that one was not needed.
    fn dsack_undo(&mut self, core: &mut Core, l: Seq, r: Seq) {
        if let Some(u) = self.undo.as_mut() {
            if let Some(i) = u.pending.iter().position(|&(a, b)| a.le(l) && r.le(b)) {
                u.pending.swap_remove(i);
                self.try_undo(core);
            }
        }
    }

    /// When every retransmission of the latest fast recovery came back duplicate,
    /// the recovery was caused by reordering, not loss: once it is over, its window
    /// reduction is undone (RFC 3708; Linux's D-SACK undo).
    fn try_undo(&mut self, core: &mut Core) {
        let done = self
            .undo
            .as_ref()
            .is_some_and(|u| u.any && !u.overflow && u.pending.is_empty());
        if done && self.recovery.is_none() {
            if let Some(u) = self.undo.take() {
                self.cc.undo(u.prior);
                core.count(Counter::RecoveriesUndone);
            }
        }
    }

    /// A duplicate ACK without SACK: NewReno (RFC 6582) after the third, unless a
    /// recovery is on (fast: window inflation; after a timeout: nothing, RFC 6582
    /// 4.1). The first two let new data out (limited transmit, RFC 3042; see
    /// `send_new_data`).
    fn newreno_dupack(&mut self, core: &mut Core) {
        match self.recovery {
            Some(r) if r.kind == RecoveryKind::Fast => self.cc.inflate_for_dupacks(1),
            Some(_) => {}
            None if self.dupacks >= 3 => {
                self.rtxq.mark_lost(0);
                self.enter_recovery(core);
            }
            None => {}
        }
    }

    /// RACK's loss detection (RFC 8985 6.2 step 5), after an ACK delivered something
    /// or the reordering timer fired: marks what is lost, arms the timer for what may
    /// still be reordered, and starts fast recovery for a loss found outside one.
    pub(crate) fn rack_detect(&mut self, core: &mut Core) {
        if let Some((xmit, end)) = self.rack.last.filter(|_| self.rtxq.needs_detection()) {
            let in_recovery = self.recovery.is_some();
            let reo = self
                .rack
                .reo_wnd(self.rtt.srtt(), in_recovery, self.rtxq.sacked_segs());
            let d = self
                .rtxq
                .detect_lost(xmit, end, self.rack.rtt().saturating_add(reo), core.now);
            core.stats.add(Counter::RackLost, u64::from(d.lost));
            core.stats
                .add(Counter::LostRetransmits, u64::from(d.rtx_lost));
            self.dl.reo = d.wait.map(|w| core.now + w);
        } else {
            self.dl.reo = None;
        }
        if self.rtxq.lost_bytes() > 0 && self.recovery.is_none() {
            self.enter_recovery(core);
        }
    }

    /// A probe's outcome. A tail loss probe's (RFC 8985 7.4): once the ACK reaches
    /// the probe, the episode ends; a probe that was a retransmission and is
    /// acknowledged with more data (no D-SACK saying the original arrived too)
    /// repaired a loss, which the congestion window answers for. A probe sent during
    /// recovery has done its work once an ACK brings news (`news`: something newly
    /// acknowledged or SACKed; `advanced`: SND.UNA moved).
    fn tlp_ack(
        &mut self,
        core: &mut Core,
        ack: Seq,
        dsack: Option<(Seq, Seq)>,
        sacks: bool,
        news: bool,
        advanced: bool,
    ) {
        let Some(end) = self.tlp.end else {
            return;
        };
        if self.recovery.is_some() {
            if news {
                self.tlp = Tlp::default();
            }
            return;
        }
        if ack.lt(end) {
            return;
        }
        if !self.tlp.retrans || dsack.is_some_and(|(_, r)| r == end) {
            self.tlp = Tlp::default();
        } else if ack.gt(end) {
            self.tlp = Tlp::default();
            self.cc.reduce();
            core.count(Counter::TlpRepaired);
        } else if !advanced && !sacks {
            // A duplicate ACK: the probe and the original both arrived.
            self.tlp = Tlp::default();
        }
    }

    /// SND.UNA moves to `ack`: release acknowledged data, sample the RTT, feed RACK
    /// the delivered segments, grow the window or advance recovery, restart or stop
    /// the retransmission timer.
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
                let r = now.saturating_since(t);
                self.rtt.sample(r);
                self.pto = crate::rack::pto(self.rtt.srtt(), false);
                // The handshake's sample too: RACK's minimum RTT from the start.
                self.rack.sample_min_rtt(r, now);
                self.timing = None;
            }
        }
        self.retries = 0;
        self.probes = 0;
        self.rtt.clear_backoff();
        let (rack, undo) = (&mut self.rack, &mut self.undo);
        self.rtxq.ack(ack, |seg| {
            if !rack.delivered(seg, now) {
                late_original(undo, seg);
            }
        });
        match self.recovery {
            Some(rec) if ack.ge(rec.recover) => {
                self.recovery = None;
                if rec.kind == RecoveryKind::Fast {
                    self.cc.exit_recovery();
                    self.try_undo(core);
                }
                self.rack.recovery_ended();
                // A probe sent during the episode belongs to it.
                self.tlp = Tlp::default();
            }
            Some(mut rec) => match rec.kind {
                // Partial ACK without SACK: NewReno resends the next segment at once
                // (RFC 6582 3.2 step 5). With SACK, RACK finds what is missing.
                RecoveryKind::Fast if !self.sack_ok => {
                    self.cc.partial_ack(acked);
                    self.rtxq.mark_lost(0);
                    rec.first_sent = false;
                    self.recovery = Some(rec);
                }
                RecoveryKind::Fast => {}
                // After a timeout the window grows as in slow start (RFC 5681 3.1).
                RecoveryKind::Timeout => self.cc.on_ack(acked),
            },
            None => self.cc.on_ack(acked),
        }
        self.dupacks = 0;
        if self.outstanding() == 0 {
            self.dl.rto = None;
            self.dl.reo = None;
            self.dl.tlp = None;
            self.set_unacked_since(core, None);
        } else {
            self.dl.rto = Some(now + self.rtt.rto());
            self.set_unacked_since(core, Some(now));
        }
    }

    /// A loss found (RACK, or three duplicate ACKs without SACK): fast recovery
    /// (RFC 6675 5 with SACK, RFC 6582 3.2 without), the window halved once for the
    /// episode; the segments deemed lost go first.
    pub(crate) fn enter_recovery(&mut self, core: &mut Core) {
        let flight = self.outstanding();
        self.undo = Some(Undo {
            pending: ArrayVec::new(),
            overflow: false,
            any: false,
            prior: self.cc,
        });
        self.cc.on_loss(flight);
        if self.sack_ok {
            core.count(Counter::SackRecoveries);
        } else {
            self.cc.inflate_for_dupacks(3);
            core.count(Counter::NewRenoRecoveries);
        }
        core.count(Counter::FastRetransmits);
        self.recovery = Some(Recovery {
            kind: RecoveryKind::Fast,
            recover: self.snd_max,
            first_sent: false,
        });
        // A probe outstanding is part of this episode now.
        self.tlp = Tlp::default();
        self.dl.tlp = None;
        // Karn: a measurement spanning the recovery would include it.
        self.timing = None;
    }

    /// A duplicate of data held arrived (`[l, r)`): report it with the next ACK
    /// (D-SACK, RFC 2883, if configured), which goes at once. Not data older than a
    /// receive buffer before RCV.NXT: no sender can still be retransmitting that,
    /// and a block reaching that far back tells it nothing. Nor bytes before the
    /// peer's first (after its SYN): never received, so not duplicates.
    fn note_dsack(&mut self, cfg: &TcpConfig, mut l: Seq, r: Seq) {
        let recent = self.rcv_nxt.since(l) <= cfg.recv_buf || l.ge(self.rcv_nxt);
        let first = self.irs.add(1);
        if recent && l.lt(first) {
            l = first;
        }
        if cfg.dsack && self.sack_ok && l.lt(r) && recent {
            self.dsack = Some((l, r));
            self.ack_now = true;
            self.ack_at_once = true;
        }
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
                self.ack_at_once = true;
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
        // Out of order: a duplicate ACK with SACK blocks, at once if this segment
        // starts a new block (a new hole for the sender to hear of); one extending
        // a block is acknowledged with the rest of the burst.
        self.ack_now = true;
        if core.ooo_bytes + payload.len() > core.cfg.ooo_bytes_total {
            core.count(Counter::OooDropEngine);
            return;
        }
        let end = seq.add(payload.len() as u32);
        match self.ooo.insert(seq, payload, core.cfg.ooo_segments) {
            Ok(_) => {
                core.count(Counter::OooQueued);
                if !self.sack_ok || self.ooo.created_block() {
                    self.ack_at_once = true;
                }
            }
            Err(OooRefusal::Duplicate) => {
                core.count(Counter::DupSegs);
                self.note_dsack(&core.cfg, seq, end);
            }
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
    fn fin_arrives(&mut self, core: &mut Core, fin_seq: Seq, outcome: Outcome) -> Outcome {
        if fin_seq == self.rcv_nxt {
            return self.process_fin(core, outcome);
        }
        if fin_seq.gt(self.rcv_nxt) {
            self.fin_beyond_gap(core, fin_seq);
        }
        self.ack_now = true;
        outcome
    }

    /// A FIN at `fin_seq`, beyond RCV.NXT: remembered (the lowest, if the peer sent
    /// several), and out-of-order data held at or after it released: it can never
    /// be delivered, and SACKing it would tell the peer it arrived.
    fn fin_beyond_gap(&mut self, core: &mut Core, fin_seq: Seq) {
        let fs = match self.ooo_fin {
            Some(known) if known.le(fin_seq) => known,
            _ => fin_seq,
        };
        self.ooo_fin = Some(fs);
        if self.ooo.truncate_from(fs) > 0 {
            core.count(Counter::DataPastFin);
            self.sync_ooo(core);
        }
    }

    /// The peer's FIN is in order: RCV.NXT covers it, the application is told, and
    /// the state moves (RFC 9293 3.10.7.4, eighth check).
    pub(crate) fn process_fin(&mut self, core: &mut Core, outcome: Outcome) -> Outcome {
        self.pending_fin = false;
        if self.fin_rcvd {
            self.ack_now = true;
            return outcome;
        }
        self.fin_rcvd = true;
        self.rcv_nxt = self.rcv_nxt.add(1);
        // Everything still held out of order lies after the FIN.
        self.ooo_fin = None;
        if !self.ooo.is_empty() {
            core.count(Counter::DataPastFin);
            self.ooo.clear();
            self.sync_ooo(core);
        }
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

/// A retransmission of `seg` turned out unneeded (its original was acknowledged):
/// it no longer stands in the way of undoing the latest recovery's reduction.
fn late_original(undo: &mut Option<Undo>, seg: &SegRec) {
    if let Some(u) = undo.as_mut() {
        let (l, r) = (seg.start, seg.end);
        if let Some(i) = u.pending.iter().position(|&(a, b)| l.le(a) && b.le(r)) {
            u.pending.swap_remove(i);
        }
    }
}

//! The handshake's segments: the answer to our SYN (SYN_SENT, RFC 9293 3.10.7.3),
//! SYNs arriving in a synchronized state (the peer's SYN-ACK after a simultaneous
//! open, a retransmitted SYN, anything else: a challenge ACK), and the ACK that
//! completes a passive or simultaneous open in SYN_RECEIVED.

use crate::api::{CloseReason, State};
use crate::conn::output::send_rst;
use crate::conn::tcb::{Knock, Tcb};
use crate::conn::window::Offer;
use crate::conn::Outcome;
use crate::core::Core;
use crate::header::{Flags, Header};
use crate::stats::Counter;
use ix_net::TxContext;
use ix_nic::BufPool;

impl<P: BufPool> Tcb<P> {
    /// RFC 9293 3.10.7.3: our SYN is out.
    pub(super) fn input_syn_sent(
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
        // Our SYN offered what the configuration says.
        self.negotiate(
            &core.cfg,
            &hdr.options,
            ctx.mtu(),
            Offer::of(&core.cfg),
            core.now,
        );
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

    /// A SYN in a synchronized state: the peer's SYN-ACK completing a simultaneous
    /// open, a retransmitted SYN in SYN_RECEIVED (our SYN-ACK is resent), or a SYN
    /// that draws a challenge ACK. `None` for any other segment (no SYN; or SYN with
    /// RST, unless it matches the retransmitted SYN): the regular checks take it.
    pub(super) fn syn_arrives(&mut self, core: &mut Core, hdr: &Header) -> Option<Outcome> {
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
            return Some(self.simultaneous_synack(core, hdr));
        }
        // A retransmitted SYN in SYN_RECEIVED: our SYN-ACK was lost; resend it.
        if self.state == State::SynReceived
            && f.has(Flags::SYN)
            && !f.has(Flags::ACK)
            && hdr.seq == self.irs
        {
            self.snd_nxt = self.iss;
            return Some(Outcome::None);
        }
        // SYN in a synchronized state, whatever its sequence number (RFC 5961 4.2,
        // RFC 9293 3.10.7.4 fourth check): challenge ACK.
        if f.has(Flags::SYN) && !f.has(Flags::RST) {
            if core.challenge_ok() {
                self.ack_now = true;
            }
            return Some(Outcome::None);
        }
        None
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

    /// The ACK of a segment in SYN_RECEIVED (RFC 9293 3.10.7.4, fifth check): if it
    /// acknowledges our SYN, ESTABLISHED (FIN_WAIT_1 if the application closed
    /// already) and true; false if the segment is dropped here: a RST answers an
    /// unacceptable ACK, and a passive connection whose listener has no room in its
    /// accept backlog (`accept_room` false) waits for the peer's retransmission.
    pub(super) fn syn_received_ack(
        &mut self,
        core: &mut Core,
        ctx: &mut TxContext<'_, P>,
        hdr: &Header,
        accept_room: bool,
    ) -> bool {
        let seq = hdr.seq;
        if hdr.ack.gt(self.snd_una) && hdr.ack.le(self.snd_max) {
            if self.knock == Knock::Embryonic && !accept_room {
                // The peer will retransmit; by then the application may have
                // made room (Linux drops the ACK the same way).
                core.count(Counter::AcceptBacklogFull);
                return false;
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
            true
        } else {
            send_rst(ctx, core, self.key, hdr.ack, None);
            false
        }
    }
}

//! The receive path of one connection: RFC 9293 3.10.7 "SEGMENT ARRIVES" for every
//! state but LISTEN and TIME_WAIT (handled by the engine, which owns no TCB for
//! them), with RFC 5961's defences, RFC 5681/6675/6582 ACK processing and IX flow
//! control on the data.
//!
//! This file runs the steps in order; each step lives with its concept:
//! `handshake` (SYN_SENT, SYNs in later states, the ACK completing a passive or
//! simultaneous open), `checks` (sequence number, RST and ACK-range checks with RFC
//! 5961's challenge ACKs), `timestamps` (PAWS, TS.Recent, RTT from TSecr), `ack`
//! (SND.UNA, RTT sample, the peer's window), `sack` (the SACK scoreboard),
//! `recovery` (duplicate ACKs, RACK, loss probes, fast recovery), `undo` (D-SACK undo of spurious recoveries), `data` (trimming,
//! in-order delivery, out-of-order queueing, D-SACK notes) and `fin`.

mod ack;
mod checks;
mod data;
mod fin;
mod handshake;
mod recovery;
mod sack;
mod timestamps;
mod undo;

use crate::api::{CloseReason, State};
use crate::conn::tcb::Tcb;
use crate::conn::Outcome;
use crate::core::Core;
use crate::header::{Flags, Header};
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

    /// Every state from SYN_RECEIVED on (RFC 9293 3.10.7.4), its checks in the RFC's
    /// order; `payload` and `accept_room` as for [`Tcb::input`].
    fn input_synchronized(
        &mut self,
        core: &mut Core,
        ctx: &mut TxContext<'_, P>,
        hdr: &Header,
        payload: RxSeg<P::Rx>,
        accept_room: bool,
    ) -> Outcome {
        let f = hdr.flags;
        // SYNs first, whatever their sequence number (see `syn_arrives`).
        if let Some(outcome) = self.syn_arrives(core, hdr) {
            return outcome;
        }
        let seq = hdr.seq;
        let data_len = payload.len() as u32;

        // PAWS (RFC 7323 5.3 R1), before the sequence number check.
        if self.paws_drops(core, hdr, data_len) {
            return Outcome::None;
        }

        // 1. Sequence number check.
        if !self.seq_acceptable(core, hdr, data_len) {
            return Outcome::None;
        }
        // TS.Recent (RFC 7323 5.3 R3).
        self.note_tsval(core, hdr);

        // 2. RST (RFC 5961 3.2: only an exact match resets; in-window gets a challenge).
        if f.has(Flags::RST) {
            return self.rst_arrives(core, seq);
        }

        // 5. ACK.
        if !f.has(Flags::ACK) {
            core.count(Counter::NoAckFlag);
            return Outcome::None;
        }
        let mut outcome = Outcome::None;
        if self.state == State::SynReceived {
            if !self.syn_received_ack(core, ctx, hdr, accept_room) {
                return Outcome::None;
            }
            outcome = Outcome::Established;
        }
        if !self.ack_acceptable(core, hdr.ack) {
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

        // 7. Segment text, and the FIN.
        self.segment_text(core, f, seq, payload, outcome)
    }
}

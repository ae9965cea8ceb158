//! The peer's FIN (RFC 9293 3.10.7.4, eighth check): processed when it is next in
//! sequence, remembered when it lies beyond a gap (data held past it released).

use crate::api::State;
use crate::conn::tcb::Tcb;
use crate::conn::Outcome;
use crate::core::Core;
use crate::seq::Seq;
use crate::stats::Counter;
use ix_nic::BufPool;

impl<P: BufPool> Tcb<P> {
    /// A FIN at sequence `fin_seq`: processed if it is next, remembered if beyond a gap.
    pub(super) fn fin_arrives(
        &mut self,
        core: &mut Core,
        fin_seq: Seq,
        outcome: Outcome,
    ) -> Outcome {
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
    pub(super) fn fin_beyond_gap(&mut self, core: &mut Core, fin_seq: Seq) {
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

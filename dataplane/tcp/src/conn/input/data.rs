//! The segment's text (RFC 9293 3.10.7.4, seventh check) and IX flow control: data
//! trimmed to what is new and what the window takes, delivered in order to the
//! application with a credit, held out of order beyond a gap (acknowledged at once
//! when that tells the sender something new), duplicates noted for a D-SACK.

use crate::api::State;
use crate::config::TcpConfig;
use crate::conn::tcb::Tcb;
use crate::conn::Outcome;
use crate::core::Core;
use crate::header::Flags;
use crate::ooo::OooRefusal;
use crate::seq::Seq;
use crate::stats::Counter;
use ix_nic::{BufPool, RxSeg};

impl<P: BufPool> Tcb<P> {
    /// The text and FIN (flags `f`) of a segment whose ACK was processed: `payload`
    /// starting at `seq`, checked acceptable. Returns `outcome` (what its ACK did) or
    /// what the FIN makes of it.
    pub(super) fn segment_text(
        &mut self,
        core: &mut Core,
        f: Flags,
        seq: Seq,
        payload: RxSeg<P::Rx>,
        outcome: Outcome,
    ) -> Outcome {
        let data_len = payload.len() as u32;
        if data_len > 0 {
            return match self.state {
                State::Established | State::FinWait1 | State::FinWait2 => {
                    self.receive_text(core, f, seq, payload, outcome)
                }
                _ => {
                    // Data after the peer's FIN: nothing to do but acknowledge.
                    self.ack_now = true;
                    outcome
                }
            };
        }
        if f.has(Flags::FIN) {
            return self.fin_arrives(core, seq, outcome);
        }
        outcome
    }

    /// Data (and maybe a FIN, flags `f`) at `seq` in a state that receives: trims
    /// what was received already, what is past the window and what is past a FIN seen
    /// beyond a gap, takes the rest, then the FIN. Returns `outcome` or what the FIN
    /// makes of it.
    fn receive_text(
        &mut self,
        core: &mut Core,
        f: Flags,
        mut seq: Seq,
        mut payload: RxSeg<P::Rx>,
        outcome: Outcome,
    ) -> Outcome {
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
        outcome
    }

    /// A duplicate of data held arrived (`[l, r)`): report it with the next ACK
    /// (D-SACK, RFC 2883, if configured), which goes at once. Not data older than a
    /// receive buffer before RCV.NXT: no sender can still be retransmitting that,
    /// and a block reaching that far back tells it nothing. Nor bytes before the
    /// peer's first (after its SYN): never received, so not duplicates.
    pub(super) fn note_dsack(&mut self, cfg: &TcpConfig, mut l: Seq, r: Seq) {
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
}

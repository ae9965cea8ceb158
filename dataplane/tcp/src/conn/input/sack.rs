//! The SACK scoreboard (RFC 2018, RFC 6675): an acceptable ACK's SACK blocks mark
//! the retransmission queue; a first block reporting a duplicate (D-SACK, RFC 2883)
//! is set apart; an ACK that stops at data it SACKed shows the receiver reneged.

use super::undo::late_original;
use crate::conn::tcb::Tcb;
use crate::core::Core;
use crate::header::Header;
use crate::seq::Seq;
use crate::stats::Counter;
use ix_nic::BufPool;

impl<P: BufPool> Tcb<P> {
    /// Applies the SACK blocks of an acceptable ACK (SACK negotiated; `advanced`: the
    /// ACK moved SND.UNA, already processed). Returns the bytes newly SACKed and the
    /// D-SACK block, if the first block is one.
    pub(super) fn sack_update(
        &mut self,
        core: &mut Core,
        hdr: &Header,
        advanced: bool,
    ) -> (u32, Option<(Seq, Seq)>) {
        let ack = hdr.ack;
        let now = core.now;
        let mut newly_sacked = 0;
        let mut dsack = None;
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
        (newly_sacked, dsack)
    }
}

//! RFC 7323 on the receive path of a connection that negotiated timestamps: PAWS
//! before the sequence check, TS.Recent after it, and the RTT sample of an ACK
//! that advances SND.UNA (the rules themselves are in [`crate::timestamps`]).

use crate::conn::tcb::Tcb;
use crate::core::Core;
use crate::header::{Flags, Header};
use crate::stats::Counter;
use ix_nic::BufPool;

impl<P: BufPool> Tcb<P> {
    /// RFC 7323 5.3 R1: whether PAWS drops this segment (`data_len` payload bytes);
    /// if so it is counted and an ACK is owed. A segment without TSopt is counted
    /// and passes (see [`crate::timestamps`]); so does a RST.
    ///
    /// As Linux (`tcp_disordered_ack`), a pure duplicate ACK that reordering made
    /// older than TS.Recent passes: answering it would send the peer a duplicate ACK
    /// of our own, and three of those a spurious fast retransmit.
    pub(super) fn paws_drops(&mut self, core: &mut Core, hdr: &Header, data_len: u32) -> bool {
        if !self.ts.ok || hdr.flags.has(Flags::RST) {
            return false;
        }
        let Some((tsval, _)) = hdr.options.timestamps else {
            core.count(Counter::TsMissing);
            return false;
        };
        if !self.ts.paws_reject(tsval, core.now) {
            return false;
        }
        let disordered_ack = data_len == 0
            && hdr.flags == Flags::ACK
            && hdr.seq == self.rcv_nxt
            && hdr.ack == self.snd_una;
        if disordered_ack {
            return false;
        }
        core.count(Counter::PawsDropped);
        self.ack_now = true;
        true
    }

    /// RFC 7323 4.3 / 5.3 R3: an acceptable non-RST segment's TSval may become
    /// TS.Recent.
    pub(super) fn note_tsval(&mut self, core: &Core, hdr: &Header) {
        if !self.ts.ok || hdr.flags.has(Flags::RST) {
            return;
        }
        if let Some((tsval, _)) = hdr.options.timestamps {
            self.ts.update_recent(tsval, hdr.seq, core.now);
        }
    }

    /// RFC 7323 4.1 with RFC 6298: the RTT sample of an ACK that advanced SND.UNA,
    /// from its TSecr (which, unlike Karn's timing, retransmissions do not void).
    pub(super) fn ts_rtt_sample(&mut self, core: &mut Core, hdr: &Header) {
        let Some((_, tsecr)) = hdr.options.timestamps else {
            return;
        };
        let Some(r) = self.ts.rtt_sample(tsecr, core.now) else {
            return;
        };
        self.rtt.sample(r);
        self.pto = crate::rack::pto(self.rtt.srtt(), false);
        core.count(Counter::TsRttSamples);
    }
}

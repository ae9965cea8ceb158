//! The acceptability checks of RFC 9293 3.10.7.4 with RFC 5961's defences: the
//! sequence number check (first), the RST check (second: only an exact match
//! resets, anything else in the window draws a rate-limited challenge ACK), and the
//! ACK range check (RFC 5961 5.2).

use crate::api::{CloseReason, State};
use crate::conn::tcb::{Knock, Tcb};
use crate::conn::Outcome;
use crate::core::Core;
use crate::header::{Flags, Header};
use crate::seq::Seq;
use crate::stats::Counter;
use ix_nic::BufPool;

impl<P: BufPool> Tcb<P> {
    /// RFC 9293 3.10.7.4's first check: whether the segment (with `data_len` payload
    /// bytes) lies in the receive window. If not, it is dropped here: counted, noted
    /// for a D-SACK if it duplicates data received, and answered with an ACK (a RST
    /// outside the window is ignored).
    pub(super) fn seq_acceptable(&mut self, core: &mut Core, hdr: &Header, data_len: u32) -> bool {
        let f = hdr.flags;
        let seq = hdr.seq;
        let seg_len = data_len + u32::from(f.has(Flags::SYN)) + u32::from(f.has(Flags::FIN));
        let wnd = self.rcv_adv.since(self.rcv_nxt);

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
        if acceptable || zero_window_ok {
            return true;
        }
        if f.has(Flags::RST) {
            core.count(Counter::RstIgnored);
            return false;
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
        false
    }

    /// A RST in the window (RFC 5961 3.2): one at exactly RCV.NXT ends the
    /// connection (refused, for our own open still in SYN_RECEIVED; else reset);
    /// any other draws a challenge ACK, within the engine's rate limit.
    pub(super) fn rst_arrives(&mut self, core: &mut Core, seq: Seq) -> Outcome {
        if seq != self.rcv_nxt {
            if core.challenge_ok() {
                self.ack_now = true;
            }
            return Outcome::None;
        }
        core.count(Counter::RstsIn);
        match self.state {
            State::SynReceived if self.knock == Knock::Active => {
                core.count(Counter::ConnRefused);
                Outcome::Dead(CloseReason::Refused, false)
            }
            _ => Outcome::Dead(CloseReason::Reset, false),
        }
    }

    /// RFC 5961 5.2: whether a segment's ACK may be processed: not
    /// beyond what we sent, nor older than a window before SND.UNA. Otherwise the
    /// segment is answered with an ACK and its ACK (and text) ignored.
    pub(super) fn ack_acceptable(&mut self, core: &mut Core, ack: Seq) -> bool {
        if ack.gt(self.snd_max) {
            core.count(Counter::AckTooNew);
            self.ack_now = true;
            return false;
        }
        let floor = self.snd_una.sub(self.max_snd_wnd.max(u32::from(u16::MAX)));
        if ack.lt(floor) {
            core.count(Counter::AckTooOld);
            self.ack_now = true;
            return false;
        }
        true
    }
}

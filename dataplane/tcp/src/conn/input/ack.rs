//! The cumulative acknowledgment of an acceptable segment (RFC 9293 3.10.7.4, fifth
//! check): SND.UNA advances (acknowledged data released, RTT sampled, congestion
//! window grown or recovery advanced, retransmission timer restarted), then the
//! SACK scoreboard, duplicate ACKs and loss detection, then the peer's window.

use super::undo::late_original;
use crate::conn::tcb::{Knock, RecoveryKind, Tcb};
use crate::core::Core;
use crate::header::Header;
use crate::rack::Tlp;
use crate::seq::Seq;
use ix_nic::BufPool;

impl<P: BufPool> Tcb<P> {
    /// RFC 5961 5.2 passed: the ACK field of an acceptable segment (`data_len`
    /// payload bytes): the cumulative acknowledgment, SACK blocks, duplicate ACKs,
    /// RACK loss detection and the tail loss probe's outcome (RFC 8985), the peer's
    /// window.
    pub(super) fn process_ack(&mut self, core: &mut Core, hdr: &Header, data_len: u32) {
        let ack = hdr.ack;
        let window = u32::from(hdr.window) << self.snd_wscale;
        // The cumulative ACK first, then the SACK blocks: RACK sees a segment the
        // ACK delivers below data SACKed only by earlier ACKs as reordering, and
        // not one below data this same ACK SACKs.
        let advanced = ack.gt(self.snd_una);
        if advanced {
            // Karn's timed segment, if this ACK covers it, gives the finer sample
            // (microseconds); else a timestamp echo gives one (milliseconds).
            let timed = self.timing.is_some_and(|(s, _)| ack.gt(s));
            if self.ts.ok && !timed {
                self.ts_rtt_sample(core, hdr);
            }
            self.ack_advance(core, ack);
        }
        let (newly_sacked, dsack) = if self.sack_ok {
            self.sack_update(core, hdr, advanced)
        } else {
            (0, None)
        };
        self.note_dupack(core, hdr, data_len, advanced, newly_sacked, window);
        if self.sack_ok {
            self.detect_losses(core, hdr, dsack, advanced, newly_sacked);
        }
        self.update_window(hdr, window, advanced);
    }

    /// The window update of an ACK (`window` scaled already; `advanced`: it moved
    /// SND.UNA, which is its `ack` now).
    fn update_window(&mut self, hdr: &Header, window: u32, advanced: bool) {
        let ack = hdr.ack;
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
}

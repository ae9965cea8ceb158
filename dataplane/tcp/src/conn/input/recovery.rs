//! Loss detection and recovery on the ACK side: duplicate ACKs (NewReno without
//! SACK, RFC 6582), RACK's time-based detection (RFC 8985 6), the loss probe's
//! outcome (RFC 8985 7.4), and entering fast recovery (RFC 6675, RFC 6582).

use crate::conn::tcb::{Recovery, RecoveryKind, Tcb, Undo};
use crate::core::Core;
use crate::header::{Flags, Header};
use crate::rack::Tlp;
use crate::seq::Seq;
use crate::stats::Counter;
use arrayvec::ArrayVec;
use ix_nic::BufPool;

impl<P: BufPool> Tcb<P> {
    /// Counts a duplicate ACK if this is one (`advanced`: it moved SND.UNA;
    /// `newly_sacked`: bytes its SACK blocks marked; `window`: its window, scaled),
    /// and without SACK lets NewReno act on it.
    pub(super) fn note_dupack(
        &mut self,
        core: &mut Core,
        hdr: &Header,
        data_len: u32,
        advanced: bool,
        newly_sacked: u32,
        window: u32,
    ) {
        let ack = hdr.ack;
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

    /// After the SACK scoreboard took an ACK (SACK negotiated; `dsack`: its D-SACK
    /// block; `advanced`: it moved SND.UNA; `newly_sacked`: bytes it SACKed): a
    /// D-SACK widens RACK's reordering window and may undo a recovery, RACK looks
    /// for losses, the loss probe's outcome is settled and its timer rescheduled.
    pub(super) fn detect_losses(
        &mut self,
        core: &mut Core,
        hdr: &Header,
        dsack: Option<(Seq, Seq)>,
        advanced: bool,
        newly_sacked: u32,
    ) {
        let ack = hdr.ack;
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
}

//! Probes for when no ACK would come otherwise: the loss probe (RFC 8985 7, and
//! one per stall during recovery), the persist timer's window probes (RFC 9293
//! 3.8.6.1) and keepalives.

use super::NewData;
use crate::conn::tcb::Tcb;
use crate::core::Core;
use crate::header::Flags;
use crate::rack::{self, Tlp};
use crate::stats::Counter;
use ix_net::TxContext;
use ix_nic::{BufPool, Instant};

impl<P: BufPool> Tcb<P> {
    /// Whether a loss probe may be scheduled or sent: SACK on, data outstanding, no
    /// probe outstanding (one per stall), and either RFC 8985 7.2's tail loss probe
    /// (no recovery, nothing SACKed: RACK's timer covers holes below SACKed data) or
    /// a probe during recovery (see [`Tcb::schedule_tlp`]).
    pub(crate) fn tlp_allowed(&self, core: &Core) -> bool {
        core.cfg.tlp
            && self.sack_ok
            && self.tlp.end.is_none()
            && !self.rtxq.is_empty()
            && self.state.is_synchronized()
            && (self.recovery.is_some() || self.rtxq.sacked_bytes() == 0)
    }

    /// (Re)starts the probe timer after data went out or an ACK brought news: PTO
    /// from now, never after the retransmission timer; stops it when no probe may go.
    ///
    /// During recovery too, which RFC 8985 does not do: when the window is full of
    /// retransmissions and the last of them is lost (or every ACK after it), nothing
    /// is delivered after it for RACK to notice, and only the retransmission timer
    /// (200 ms or more, and the window down to one segment) would end the stall. One
    /// probe (new data, or the highest segment not SACKed), sent regardless of the
    /// window when no ACK came for a PTO, draws the SACK that lets RACK find the lost
    /// retransmission. Its timeout counts the latest RTT (RACK's) as well as the
    /// smoothed one. It costs one segment per stall, does not postpone the
    /// retransmission timer (a peer that is gone still times out on schedule), and
    /// no probe is scheduled that could not go before that timer.
    pub(crate) fn schedule_tlp(&mut self, core: &Core) {
        if !self.tlp_allowed(core) {
            self.dl.tlp = None;
            return;
        }
        // In recovery the latest RTT counts too: a path slower now than its smoothed
        // history must not draw probes its ACKs were simply not yet due for. And no
        // allowance for a delayed ACK of a lone segment: a receiver with a hole to
        // fill acknowledges every segment at once (RFC 5681 4.2).
        let pto = match self.recovery {
            Some(_) => rack::pto(self.rtt.srtt().map(|s| s.max(self.rack.rtt())), false),
            None if self.rtxq.len() == 1 => self.pto.saturating_add(rack::WC_DEL_ACK),
            None => self.pto,
        };
        let mut at = core.now + pto;
        if let Some(rto) = self.dl.rto {
            if self.recovery.is_some() && at >= rto {
                self.dl.tlp = None;
                return;
            }
            at = at.min(rto);
        }
        self.dl.tlp = Some(at);
    }

    /// Sends the loss probe (RFC 8985 7.3): a segment of new data if the peer's
    /// window takes one, else the highest segment not SACKed again; regardless of
    /// the congestion window.
    pub(super) fn send_probe(&mut self, core: &mut Core, ctx: &mut TxContext<'_, P>) {
        self.probe_owed = false;
        if !self.tlp_allowed(core) {
            return;
        }
        let retrans = if self.send_new_data(core, ctx, NewData::Probe) {
            false
        } else {
            let Some(last) = (0..self.rtxq.len())
                .rev()
                .find(|&i| self.rtxq.get(i).is_some_and(|r| !r.is_sacked()))
            else {
                return;
            };
            if self.retransmit(core, ctx, last) == 0 {
                return;
            }
            true
        };
        self.tlp = Tlp {
            end: Some(self.snd_max),
            retrans,
        };
        self.dl.tlp = None;
        if self.recovery.is_some() {
            core.count(Counter::RecoveryProbes);
        } else {
            core.count(Counter::TlpProbes);
        }
    }

    /// Arms the persist timer when data waits but nothing is in flight to bring an
    /// ACK (the peer's window is closed or too small); disarms it otherwise.
    pub(super) fn update_persist(&mut self, now: Instant, max: std::time::Duration) {
        let waiting = self.snd_nxt.lt(self.sendq.end_seq());
        if waiting && self.outstanding() == 0 {
            if self.dl.persist.is_none() {
                self.dl.persist = Some(now + self.persist_interval(max));
            }
        } else {
            self.dl.persist = None;
            self.persist_backoff = 0;
        }
    }

    /// The current persist interval: the RTO, backed off per unanswered probe, at
    /// most `max`.
    pub(crate) fn persist_interval(&self, max: std::time::Duration) -> std::time::Duration {
        let base = self.rtt.rto();
        base.checked_mul(1u32 << self.persist_backoff.min(16))
            .unwrap_or(max)
            .min(max)
    }

    /// The persist timer fired: send what the window allows even if small, or a
    /// zero-window probe (an old sequence number, which the peer must answer with
    /// an ACK carrying its window, as Linux does). False if the probes ran out.
    pub(crate) fn persist_fire(&mut self, core: &mut Core, ctx: &mut TxContext<'_, P>) -> bool {
        let now = core.now;
        self.dl.persist = None;
        if !self.snd_nxt.lt(self.sendq.end_seq()) || self.outstanding() > 0 {
            return true;
        }
        self.probes += 1;
        if self.probes > core.cfg.max_retransmits {
            return false;
        }
        if ctx.tx_room() == 0 {
            self.dl.persist = Some(now + self.persist_interval(core.cfg.rto_max));
            return true;
        }
        if !self.send_new_data(core, ctx, NewData::Persist) {
            core.count(Counter::WindowProbes);
            let seq = self.snd_una.sub(1);
            let _ = self.send_seg(core, ctx, seq, 0, Flags::ACK);
        }
        self.persist_backoff += 1;
        if self.outstanding() == 0 {
            self.dl.persist = Some(now + self.persist_interval(core.cfg.rto_max));
        }
        true
    }

    /// Sends a keepalive probe (an old sequence number with no data).
    pub(crate) fn send_keepalive(&mut self, core: &mut Core, ctx: &mut TxContext<'_, P>) {
        core.count(Counter::KeepaliveProbes);
        let seq = self.snd_una.sub(1);
        let _ = self.send_seg(core, ctx, seq, 0, Flags::ACK);
    }
}

//! What a connection does when one of its deadlines passes: retransmission timeout
//! (RFC 6298 5.4-5.7, with give-up after SYN retries, R2 or the user timeout), the
//! tail loss probe and RACK's reordering timer (RFC 8985), delayed ACK, persist,
//! keepalive, and the FIN_WAIT_2 bound.

use crate::api::{CloseReason, State};
use crate::conn::tcb::{Recovery, RecoveryKind, Tcb};
use crate::conn::Outcome;
use crate::core::Core;
use crate::rack::Tlp;
use crate::stats::Counter;
use ix_net::TxContext;
use ix_nic::BufPool;

impl<P: BufPool> Tcb<P> {
    /// Runs every deadline due at `core.now`; returns what the engine must do.
    pub(crate) fn on_timers(&mut self, core: &mut Core, ctx: &mut TxContext<'_, P>) -> Outcome {
        let now = core.now;
        let due = |d: Option<ix_nic::Instant>| d.is_some_and(|t| t <= now);
        if due(self.dl.linger) {
            self.dl.linger = None;
            if self.state == State::FinWait2 {
                core.count(Counter::FinWait2Timeouts);
                return Outcome::Dead(CloseReason::FinWait2Timeout, true);
            }
        }
        if due(self.dl.user) {
            self.dl.user = None;
            if self.user_timed_out(core) {
                return Outcome::Dead(CloseReason::Timeout, true);
            }
        }
        if due(self.dl.tlp) {
            self.dl.tlp = None;
            if self.tlp_allowed(core) {
                // The probe goes with the next output; after a tail loss probe the
                // retransmission timer restarts (RFC 8985 7.3), after a probe during
                // recovery it keeps its deadline.
                self.probe_owed = true;
                if self.recovery.is_none() {
                    self.dl.rto = Some(now + self.rtt.rto());
                }
                core.txq.push(self.slot);
            }
        }
        if due(self.dl.reo) {
            self.dl.reo = None;
            core.count(Counter::RackTimeouts);
            self.rack_detect(core);
            core.txq.push(self.slot);
        }
        if due(self.dl.rto) {
            let o = self.rto_fire(core);
            if o != Outcome::None {
                return o;
            }
        }
        if due(self.dl.delack) {
            self.dl.delack = None;
            if self.unacked_segs > 0 {
                core.count(Counter::DelayedAcks);
                self.ack_now = true;
                core.txq.push(self.slot);
            }
        }
        if due(self.dl.persist) && !self.persist_fire(core, ctx) {
            core.count(Counter::RetransmitTimeouts);
            return Outcome::Dead(CloseReason::Timeout, true);
        }
        if due(self.dl.keepalive) {
            let o = self.keepalive_fire(core, ctx);
            if o != Outcome::None {
                return o;
            }
        }
        Outcome::None
    }

    /// The retransmission timer expired.
    fn rto_fire(&mut self, core: &mut Core) -> Outcome {
        let now = core.now;
        self.dl.rto = None;
        if self.outstanding() == 0 {
            return Outcome::None;
        }
        if self.user_timed_out(core) {
            return Outcome::Dead(CloseReason::Timeout, true);
        }
        self.retries += 1;
        let (limit, counter) = match self.state {
            State::SynSent => (core.cfg.syn_retries, Counter::SynTimeouts),
            State::SynReceived => (core.cfg.synack_retries, Counter::SynAckTimeouts),
            _ => (core.cfg.max_retransmits, Counter::RetransmitTimeouts),
        };
        if self.retries > limit {
            core.count(counter);
            // No RST for a peer that never answered (Linux does the same).
            return Outcome::Dead(CloseReason::Timeout, false);
        }
        core.count(Counter::RtoFired);
        // RFC 5681 3.1: ssthresh from the flight at the first timeout, held for the
        // later ones of the same data; one segment in flight either way.
        if self.retries == 1 {
            self.cc.on_rto(self.outstanding());
        } else {
            self.cc.on_repeated_rto();
        }
        self.dupacks = 0;
        self.undo = None;
        self.rtt.back_off();
        self.timing = None;
        self.tlp = Tlp::default();
        self.probe_owed = false;
        self.dl.tlp = None;
        self.dl.reo = None;
        if self.state.is_synchronized() {
            // Everything not SACKed is resent in slow start, lowest first. The SACK
            // marks stay (RFC 6675 5.1; a reneging peer is noticed when it
            // acknowledges up to SACKed data), so SACKed segments are not resent.
            self.rtxq.mark_all_lost();
            self.recovery = Some(Recovery {
                kind: RecoveryKind::Timeout,
                recover: self.snd_max,
                first_sent: false,
            });
        } else {
            // Go back: resend the SYN (or SYN-ACK).
            self.recovery = None;
            self.snd_nxt = self.snd_una;
        }
        self.dl.rto = Some(now + self.rtt.rto());
        core.txq.push(self.slot);
        Outcome::None
    }

    /// Whether sent data has waited for an acknowledgment as long as the user
    /// timeout allows (counted if so).
    fn user_timed_out(&mut self, core: &mut Core) -> bool {
        let (Some(limit), Some(since)) = (core.cfg.user_timeout, self.unacked_since) else {
            return false;
        };
        if self.outstanding() == 0 || core.now.saturating_since(since) < limit {
            return false;
        }
        core.count(Counter::UserTimeouts);
        true
    }

    /// The keepalive deadline passed: probe if the connection has been idle long
    /// enough, give up after the configured unanswered probes.
    fn keepalive_fire(&mut self, core: &mut Core, ctx: &mut TxContext<'_, P>) -> Outcome {
        let now = core.now;
        self.dl.keepalive = None;
        let Some(k) = core.cfg.keepalive else {
            return Outcome::None;
        };
        let idle = now.saturating_since(self.last_rx);
        let quiet = self.outstanding() == 0 && self.sendq.is_empty();
        let eligible = matches!(self.state, State::Established | State::CloseWait) && quiet;
        if !eligible {
            self.ka_probes = 0;
            self.dl.keepalive = Some(now + k.idle);
            return Outcome::None;
        }
        if idle < k.idle {
            // Traffic since: the next check is an idle period after the last segment.
            self.ka_probes = 0;
            self.dl.keepalive = Some(self.last_rx + k.idle);
            return Outcome::None;
        }
        if self.ka_probes >= k.probes {
            core.count(Counter::KeepaliveTimeouts);
            return Outcome::Dead(CloseReason::KeepaliveTimeout, true);
        }
        self.ka_probes += 1;
        if ctx.tx_room() > 0 {
            self.send_keepalive(core, ctx);
        }
        self.dl.keepalive = Some(now + k.interval);
        Outcome::None
    }
}

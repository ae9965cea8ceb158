//! The transmit path: building segments (each its own frame, header written here,
//! payload attached by reference from the send queue) and deciding what a
//! connection sends now: SYN or SYN-ACK, retransmissions during recovery, new data
//! within the congestion and peer windows, FIN, and ACKs.
//!
//! This file decides what goes (RFC 6675 NextSeg: lost segments first, then new
//! data; the FIN; the ACK owed) and does the sending of data and retransmissions;
//! `segment` builds and emits one segment (header, SACK blocks, payload by
//! reference), `probes` holds the probes sent when no ACK would come otherwise
//! (tail loss probe, persist, keepalive).

mod probes;
mod segment;

pub(crate) use segment::{our_mss, send_control, send_rst};

use crate::api::State;
use crate::conn::tcb::Tcb;
use crate::core::Core;
use crate::header::Flags;
use crate::stats::Counter;
use ix_net::TxContext;
use ix_nic::{BufPool, Instant};

/// Why new data is being sent: what may override the congestion window and sender
/// silly-window avoidance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NewData {
    /// Within the windows, full segments (or all that is left).
    Normal,
    /// The persist timer: whatever the peer's window takes, however small.
    Persist,
    /// A tail loss probe: one segment regardless of the congestion window.
    Probe,
}

impl<P: BufPool> Tcb<P> {
    /// Sends `len` bytes of new data from SND.MAX (with our FIN after them if they are
    /// the last and the application closed; `len` 0 sends the FIN alone): records
    /// the segment, times it if nothing is timed, arms the timers. Returns the
    /// sequence numbers sent (0: nothing went out).
    fn send_new(&mut self, core: &mut Core, ctx: &mut TxContext<'_, P>, len: u32) -> u32 {
        let now = core.now;
        let seq = self.snd_max;
        let data_end = self.sendq.end_seq();
        let end = seq.add(len);
        let fin = self.app_closed && end == data_end;
        let mut flags = Flags::ACK;
        if end == data_end && len > 0 {
            flags = flags.with(Flags::PSH);
        }
        if fin {
            flags = flags.with(Flags::FIN);
        }
        let Ok(sent) = self.send_seg(core, ctx, seq, len, flags) else {
            return 0;
        };
        if sent == 0 && len > 0 {
            return 0;
        }
        let fin_sent = fin && sent == len;
        let seg_end = seq.add(sent + u32::from(fin_sent));
        if self.timing.is_none() {
            self.timing = Some((seq, now));
        }
        self.rtxq.push(seq, seg_end, now, fin_sent);
        self.snd_nxt = seg_end;
        self.snd_max = seg_end;
        self.arm_rto(core);
        self.schedule_tlp(core);
        seg_end.since(seq)
    }

    /// Sends the segment of retransmission-queue record `idx` again (its payload
    /// from the send queue, its FIN). Returns the sequence numbers sent (0: nothing
    /// went out).
    fn retransmit(&mut self, core: &mut Core, ctx: &mut TxContext<'_, P>, idx: usize) -> u32 {
        let Some(rec) = self.rtxq.get(idx).copied() else {
            return 0;
        };
        let len = rec.data_len();
        let mut flags = Flags::ACK;
        if rec.start.add(len) == self.sendq.end_seq() && len > 0 {
            flags = flags.with(Flags::PSH);
        }
        if rec.has_fin() {
            flags = flags.with(Flags::FIN);
        }
        let Ok(sent) = self.send_seg(core, ctx, rec.start, len, flags) else {
            return 0;
        };
        if sent == 0 && len > 0 {
            return 0;
        }
        self.retransmits += 1;
        core.count(Counter::Retransmits);
        if let Some(u) = self.undo.as_mut() {
            u.any = true;
            if u.pending
                .try_push((rec.start, rec.start.add(sent)))
                .is_err()
            {
                u.overflow = true;
            }
        }
        self.rtxq.retransmitted(idx, core.now);
        if sent < len {
            // The frame took only part of it (and dropped the FIN): the rest waits.
            self.rtxq.split(idx, sent, core.cfg.inflight_segments);
        }
        // Karn: a retransmitted segment gives no RTT sample.
        if self
            .timing
            .is_some_and(|(s, _)| s.in_range(rec.start, rec.end))
        {
            self.timing = None;
        }
        self.arm_rto(core);
        if self.recovery.is_some() && self.dl.tlp.is_none() {
            self.schedule_tlp(core);
        }
        sent + u32::from(rec.has_fin() && sent == len)
    }

    /// Arms the retransmission timer if it is not running, and starts counting
    /// the user timeout if it is not counting.
    pub(crate) fn arm_rto(&mut self, core: &Core) {
        let now = core.now;
        if self.dl.rto.is_none() {
            self.dl.rto = Some(now + self.rtt.rto());
        }
        if self.unacked_since.is_none() {
            self.set_unacked_since(core, Some(now));
        }
    }

    /// Sent data has waited for an acknowledgment since `since` (`None`: nothing
    /// waits); the user timeout's deadline follows.
    pub(crate) fn set_unacked_since(&mut self, core: &Core, since: Option<Instant>) {
        self.unacked_since = since;
        self.dl.user = since.zip(core.cfg.user_timeout).map(|(s, limit)| s + limit);
    }

    /// Tries to send one segment of new data.
    fn send_new_data(&mut self, core: &mut Core, ctx: &mut TxContext<'_, P>, why: NewData) -> bool {
        let data_end = self.sendq.end_seq();
        let nxt = self.snd_max;
        if !nxt.lt(data_end) {
            return false;
        }
        if self.rtxq.len() >= core.cfg.inflight_segments {
            core.count(Counter::RtxQueueFull);
            return false;
        }
        let unsent = data_end.since(nxt);
        let edge = self.snd_una.add(self.snd_wnd);
        let wnd_avail = if nxt.lt(edge) { edge.since(nxt) } else { 0 };
        let mss = u32::from(self.mss);
        let cwnd_avail = if why == NewData::Probe {
            u32::MAX
        } else {
            // Limited transmit (RFC 3042): without SACK, each of the first two
            // duplicate ACKs lets one more segment out. (With SACK the pipe already
            // leaves out what the peer SACKed.)
            let limited = if !self.sack_ok && self.recovery.is_none() {
                self.dupacks.min(2) * mss
            } else {
                0
            };
            (self.cc.cwnd() + limited).saturating_sub(self.pipe())
        };
        let n = mss.min(unsent).min(wnd_avail).min(cwnd_avail);
        if n == 0 {
            return false;
        }
        // Sender SWS avoidance (RFC 9293 3.8.6.2.1), no Nagle: send a full segment,
        // or everything left, or at least half the largest window seen.
        if n < mss.min(unsent) && n < self.max_snd_wnd / 2 && why == NewData::Normal {
            return false;
        }
        self.send_new(core, ctx, n) > 0
    }

    /// Sends what the connection has to send now. Returns false if the interface's
    /// transmit queue filled up first (the caller retries on the next poll).
    pub(crate) fn output(&mut self, core: &mut Core, ctx: &mut TxContext<'_, P>) -> bool {
        if !self.in_use || self.dead.is_some() {
            return true;
        }
        let now = core.now;
        match self.state {
            State::SynSent | State::SynReceived => {
                if self.snd_nxt == self.iss {
                    if ctx.tx_room() == 0 {
                        return false;
                    }
                    let flags = if self.state == State::SynSent {
                        Flags::SYN
                    } else {
                        Flags::SYN.with(Flags::ACK)
                    };
                    if self.retries > 0 {
                        self.retransmits += 1;
                        core.count(Counter::Retransmits);
                    } else if self.timing.is_none() {
                        self.timing = Some((self.iss, now));
                    }
                    // Sent or not, the timer retries it.
                    let _ = self.send_seg(core, ctx, self.iss, 0, flags);
                    self.snd_nxt = self.iss.add(1);
                    self.snd_max = self.snd_max.max(self.snd_nxt);
                    self.arm_rto(core);
                } else if self.ack_now && self.state == State::SynReceived {
                    // The ACK an unacceptable segment or a challenge calls for
                    // (RFC 9293 3.10.7.4, RFC 5961), once the SYN-ACK is out.
                    if ctx.tx_room() == 0 {
                        return false;
                    }
                    let seq = self.snd_nxt;
                    let _ = self.send_seg(core, ctx, seq, 0, Flags::ACK);
                }
                // In SYN_SENT there is nothing to acknowledge yet.
                self.ack_now = false;
                return true;
            }
            State::Closed | State::TimeWait => return true,
            _ => {}
        }
        loop {
            if ctx.tx_room() == 0 {
                core.count(Counter::TxDeferred);
                return false;
            }
            if self.probe_owed {
                self.send_probe(core, ctx);
                continue;
            }
            // RFC 6675 NextSeg: segments deemed lost first, then new data; both
            // within the congestion window, except the first retransmission of an
            // episode.
            if let Some(idx) = self.rtxq.next_lost() {
                let len = self.rtxq.get(idx).map_or(1, |r| r.data_len().max(1));
                let first = self.recovery.is_some_and(|r| !r.first_sent);
                if !first && self.pipe() + len > self.cc.cwnd() {
                    break;
                }
                let n = self.retransmit(core, ctx, idx);
                if let Some(r) = self.recovery.as_mut() {
                    r.first_sent = true;
                }
                if n == 0 {
                    break;
                }
                continue;
            }
            if !self.send_new_data(core, ctx, NewData::Normal) {
                break;
            }
        }
        // FIN on its own, once all data went out.
        let fin_states = matches!(
            self.state,
            State::FinWait1 | State::Closing | State::LastAck
        );
        if self.app_closed
            && fin_states
            && self.snd_max == self.fin_seq()
            && self.rtxq.len() < core.cfg.inflight_segments
        {
            if ctx.tx_room() == 0 {
                return false;
            }
            self.send_new(core, ctx, 0);
        }
        if self.ack_now {
            if ctx.tx_room() == 0 {
                return false;
            }
            self.send_ack(core, ctx);
        }
        self.update_persist(now, core.cfg.rto_max);
        true
    }

    /// Sends a pure ACK now if the transmit queue has room (else `output` will).
    pub(crate) fn send_ack(&mut self, core: &mut Core, ctx: &mut TxContext<'_, P>) {
        if ctx.tx_room() > 0 {
            // SND.MAX: the peer may hold data up to it, and would find an ACK with
            // an older sequence number outside its window and ignore its
            // acknowledgment field.
            let seq = self.snd_max;
            let _ = self.send_seg(core, ctx, seq, 0, Flags::ACK);
        }
    }
}

//! The transmit path: building segments (each its own frame, header written here,
//! payload attached by reference from the send queue) and deciding what a
//! connection sends now: SYN or SYN-ACK, retransmissions during recovery, new data
//! within the congestion and peer windows, FIN, and ACKs.

use crate::api::State;
use crate::conn::tcb::{wscale_for, Tcb};
use crate::core::Core;
use crate::flow_table::FlowKey;
use crate::header::{Flags, Header};
use crate::options::TcpOptions;
use crate::rack::{self, Tlp};
use crate::sendq::SendQueue;
use crate::seq::Seq;
use crate::stats::Counter;
use ix_net::ipv4::PROTO_TCP;
use ix_net::TxContext;
use ix_nic::{BufPool, Instant};

/// Offset of the flags byte in the TCP header.
const FLAGS_OFFSET: usize = 13;
/// Offset of the checksum field in the TCP header.
const CHECKSUM_OFFSET: usize = 16;
/// An IPv4 header without options (what ix-net sends).
const IPV4_HEADER_LEN: usize = 20;

/// Builds and queues one segment to `key`'s peer: `hdr`, then up to `len` bytes of
/// `payload` from sequence `from` attached by reference. If fewer bytes could be
/// attached (the frame ran out of attachment slots) the segment carries fewer and
/// loses its FIN. Returns the payload bytes sent; `Err` if nothing was sent.
pub(crate) fn emit<P: BufPool>(
    ctx: &mut TxContext<'_, P>,
    core: &mut Core,
    key: FlowKey,
    hdr: &Header,
    payload: Option<(&mut SendQueue<P::Shared>, Seq, u32)>,
) -> Result<u32, ()> {
    let remote = key.remote();
    let Ok(mut pkt) = ctx.packet(*remote.ip(), PROTO_TCP, hdr.emitted_len()) else {
        core.count(Counter::TxFailed);
        return Err(());
    };
    hdr.emit(pkt.l4_mut());
    let mut sent = 0;
    if let Some((q, from, len)) = payload {
        sent = q.for_range(from, len, |buf, r| pkt.attach(buf, r).is_ok());
        if sent < len {
            if let Some(f) = pkt.l4_mut().get_mut(FLAGS_OFFSET) {
                *f &= !Flags::FIN.0;
            }
        }
    }
    pkt.fill_l4_checksum(CHECKSUM_OFFSET);
    if ctx.send(pkt).is_err() {
        core.count(Counter::TxFailed);
        return Err(());
    }
    core.count(Counter::SegsOut);
    core.stats.add(Counter::BytesOut, u64::from(sent));
    Ok(sent)
}

/// Sends a RST to `key`'s peer (RFC 9293 3.10.7.1's two shapes: with `ack`, the
/// <SEQ=0><ACK=..><CTL=RST,ACK> form; without, <SEQ=seq><CTL=RST>).
pub(crate) fn send_rst<P: BufPool>(
    ctx: &mut TxContext<'_, P>,
    core: &mut Core,
    key: FlowKey,
    seq: Seq,
    ack: Option<Seq>,
) {
    let hdr = Header {
        src_port: key.local_port(),
        dst_port: key.remote().port(),
        seq,
        ack: ack.unwrap_or(Seq(0)),
        flags: if ack.is_some() {
            Flags::RST.with(Flags::ACK)
        } else {
            Flags::RST
        },
        window: 0,
        header_len: 0,
        options: TcpOptions::default(),
    };
    if emit(ctx, core, key, &hdr, None).is_ok() {
        core.count(Counter::RstsOut);
    }
}

/// Sends a segment without payload and without a TCB (TIME_WAIT answers, SYN
/// cookie SYN-ACKs): every header field is the caller's.
#[allow(clippy::too_many_arguments)] // a header's fields, spelled out at call sites
pub(crate) fn send_control<P: BufPool>(
    ctx: &mut TxContext<'_, P>,
    core: &mut Core,
    key: FlowKey,
    seq: Seq,
    ack: Seq,
    flags: Flags,
    window: u16,
    options: TcpOptions,
) {
    let hdr = Header {
        src_port: key.local_port(),
        dst_port: key.remote().port(),
        seq,
        ack,
        flags,
        window,
        header_len: 0,
        options,
    };
    let _ = emit(ctx, core, key, &hdr, None);
}

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

/// The MSS we advertise: configured, clamped to the interface MTU.
pub(crate) fn our_mss(core: &Core, mtu: usize) -> u16 {
    let path = mtu.saturating_sub(40).clamp(64, usize::from(u16::MAX)) as u16;
    core.cfg.mss.min(path)
}

impl<P: BufPool> Tcb<P> {
    /// Builds our header for a segment at `seq` with `flags` (ACK fields, window,
    /// options filled in).
    fn header(&mut self, core: &mut Core, mtu: usize, seq: Seq, flags: Flags) -> Header {
        let syn = flags.has(Flags::SYN);
        let window = self.advertise(&core.cfg, syn);
        let mut options = TcpOptions::default();
        if syn {
            options.mss = Some(our_mss(core, mtu));
            let active = self.state == State::SynSent;
            if active {
                if core.cfg.window_scaling {
                    options.wscale = Some(wscale_for(core.cfg.recv_buf));
                }
                options.sack_permitted = core.cfg.sack;
            } else {
                // Answer only what the peer offered (negotiate() decided).
                if self.ws_agreed {
                    options.wscale = Some(self.rcv_wscale);
                }
                options.sack_permitted = self.sack_ok;
            }
        } else if self.sack_ok && (self.dsack.is_some() || !self.ooo.is_empty()) {
            // A D-SACK block first (RFC 2883), then the block holding it if it is
            // out-of-order data, then what the out-of-order queue holds.
            let blocks = self.ooo.sack_blocks(4);
            let mut holder = None;
            if let Some((l, r)) = self.dsack.take() {
                holder = blocks.iter().position(|&(a, b)| a.le(l) && r.le(b));
                // A sender tells a D-SACK block by its place (at or below the ACK,
                // or inside the next block: RFC 2883 4). One that is neither now
                // (the data it duplicated was released since, past a FIN) would
                // read as data held: it is left out.
                if r.le(self.rcv_nxt) || holder.is_some() {
                    options.sack.push((l, r));
                    core.count(Counter::DsacksOut);
                }
                if let Some(i) = holder {
                    options.sack.push(blocks[i]);
                }
            }
            for (i, &b) in blocks.iter().enumerate() {
                if Some(i) != holder && !options.sack.is_full() {
                    options.sack.push(b);
                }
            }
        }
        Header {
            src_port: self.key.local_port(),
            dst_port: self.key.remote().port(),
            seq,
            ack: if flags.has(Flags::ACK) {
                self.rcv_nxt
            } else {
                Seq(0)
            },
            flags,
            window,
            header_len: 0,
            options,
        }
    }

    /// Sends one segment of this connection: up to `len` payload bytes from `seq`.
    /// Options (SACK blocks) take room from the payload, as they do from the MSS
    /// (RFC 6691): fewer bytes go, and then no FIN. Returns the payload bytes sent.
    fn send_seg(
        &mut self,
        core: &mut Core,
        ctx: &mut TxContext<'_, P>,
        seq: Seq,
        len: u32,
        flags: Flags,
    ) -> Result<u32, ()> {
        let mut hdr = self.header(core, ctx.mtu(), seq, flags);
        let mut len = len;
        if len > 0 && !hdr.options.sack.is_empty() {
            let room = u32::try_from(ctx.mtu())
                .unwrap_or(u32::MAX)
                .saturating_sub((IPV4_HEADER_LEN + hdr.emitted_len()) as u32);
            if len > room {
                hdr.flags = Flags(hdr.flags.0 & !Flags::FIN.0);
                len = room;
            }
        }
        let payload = if len > 0 {
            Some((&mut self.sendq, seq, len))
        } else {
            None
        };
        let n = emit(ctx, core, self.key, &hdr, payload)?;
        if flags.has(Flags::ACK) {
            self.ack_now = false;
            self.ack_at_once = false;
            self.unacked_segs = 0;
            self.dl.delack = None;
        }
        Ok(n)
    }

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
    fn send_probe(&mut self, core: &mut Core, ctx: &mut TxContext<'_, P>) {
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

    /// Arms the persist timer when data waits but nothing is in flight to bring an
    /// ACK (the peer's window is closed or too small); disarms it otherwise.
    fn update_persist(&mut self, now: Instant, max: std::time::Duration) {
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

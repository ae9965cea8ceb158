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

/// The MSS we advertise: configured, clamped to the interface MTU.
pub(crate) fn our_mss(core: &Core, mtu: usize) -> u16 {
    let path = mtu.saturating_sub(40).clamp(64, usize::from(u16::MAX)) as u16;
    core.cfg.mss.min(path)
}

impl<P: BufPool> Tcb<P> {
    /// Builds our header for a segment at `seq` with `flags` (ACK fields, window,
    /// options filled in).
    fn header(&mut self, core: &Core, mtu: usize, seq: Seq, flags: Flags) -> Header {
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
        } else if self.sack_ok && !self.ooo.is_empty() {
            options.sack = self.ooo.sack_blocks(4);
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

    /// Sends one segment of this connection: `len` payload bytes from `seq`.
    fn send_seg(
        &mut self,
        core: &mut Core,
        ctx: &mut TxContext<'_, P>,
        seq: Seq,
        len: u32,
        flags: Flags,
    ) -> Result<u32, ()> {
        let hdr = self.header(core, ctx.mtu(), seq, flags);
        let payload = if len > 0 {
            Some((&mut self.sendq, seq, len))
        } else {
            None
        };
        let n = emit(ctx, core, self.key, &hdr, payload)?;
        if flags.has(Flags::ACK) {
            self.ack_now = false;
            self.unacked_segs = 0;
            self.dl.delack = None;
        }
        Ok(n)
    }

    /// Sends `len` bytes of data from `seq` (new or resent); updates SND.NXT/MAX, the
    /// RTT timing and the retransmission timer. Returns the bytes sent.
    fn send_data(
        &mut self,
        core: &mut Core,
        ctx: &mut TxContext<'_, P>,
        seq: Seq,
        len: u32,
        advance_nxt: bool,
    ) -> u32 {
        let now = core.now;
        let data_end = self.sendq.end_seq();
        let end = seq.add(len);
        let fin = self.app_closed && end == data_end && advance_nxt;
        let mut flags = Flags::ACK;
        if end == data_end {
            flags = flags.with(Flags::PSH);
        }
        if fin {
            flags = flags.with(Flags::FIN);
        }
        let Ok(sent) = self.send_seg(core, ctx, seq, len, flags) else {
            return 0;
        };
        if sent == 0 {
            return 0;
        }
        let fin_sent = fin && sent == len;
        if seq.lt(self.snd_max) {
            self.retransmits += 1;
            core.count(Counter::Retransmits);
        } else if self.timing.is_none() {
            self.timing = Some((seq, now));
        }
        if advance_nxt {
            self.snd_nxt = seq.add(sent + u32::from(fin_sent));
            self.snd_max = self.snd_max.max(self.snd_nxt);
        }
        self.arm_rto(core);
        sent
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

    /// The next retransmission recovery calls for: `(seq, len)`.
    fn next_retransmit(&self) -> Option<(Seq, u32)> {
        let rec = self.recovery?;
        let data_end = self.sendq.end_seq();
        let from = rec.next.max(self.snd_una);
        let mss = u32::from(self.mss);
        let (start, limit) = if self.sack_ok && !self.scoreboard.is_empty() {
            let (hs, he) = self.scoreboard.next_hole(from)?;
            (hs, he)
        } else {
            (from, rec.end.min(self.snd_max))
        };
        if !start.lt(limit) || !start.lt(data_end) {
            return None;
        }
        let len = mss.min(limit.since(start)).min(data_end.since(start));
        (len > 0).then_some((start, len))
    }

    /// Tries to send one segment of new data (or data being resent after a timeout);
    /// `force` overrides sender silly-window avoidance (the persist timer's send).
    fn send_new_data(&mut self, core: &mut Core, ctx: &mut TxContext<'_, P>, force: bool) -> bool {
        let data_end = self.sendq.end_seq();
        if !self.snd_nxt.lt(data_end) {
            return false;
        }
        let unsent = data_end.since(self.snd_nxt);
        let edge = self.snd_una.add(self.snd_wnd);
        let wnd_avail = if self.snd_nxt.lt(edge) {
            edge.since(self.snd_nxt)
        } else {
            0
        };
        let cwnd_avail = self.cc.cwnd().saturating_sub(self.pipe());
        let mss = u32::from(self.mss);
        let n = mss.min(unsent).min(wnd_avail).min(cwnd_avail);
        if n == 0 {
            return false;
        }
        // Sender SWS avoidance (RFC 9293 3.8.6.2.1), no Nagle: send a full segment,
        // or everything left, or at least half the largest window seen.
        if n < mss.min(unsent) && n < self.max_snd_wnd / 2 && !force {
            return false;
        }
        let seq = self.snd_nxt;
        self.send_data(core, ctx, seq, n, true) > 0
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
            if let Some((s, len)) = self.next_retransmit() {
                let first = self.recovery.is_some_and(|r| !r.first_sent);
                if first || self.pipe() + len <= self.cc.cwnd() {
                    let n = self.send_data(core, ctx, s, len, false);
                    if let Some(r) = self.recovery.as_mut() {
                        r.next = s.add(n.max(1));
                        r.first_sent = true;
                    }
                    if n == 0 {
                        break;
                    }
                    continue;
                }
            }
            if !self.send_new_data(core, ctx, false) {
                break;
            }
        }
        // FIN on its own, once all data went out.
        let fin_states = matches!(
            self.state,
            State::FinWait1 | State::Closing | State::LastAck
        );
        if self.app_closed && fin_states && self.snd_nxt == self.fin_seq() {
            if ctx.tx_room() == 0 {
                return false;
            }
            let seq = self.snd_nxt;
            if self.snd_nxt.lt(self.snd_max) {
                self.retransmits += 1;
                core.count(Counter::Retransmits);
            }
            if self
                .send_seg(core, ctx, seq, 0, Flags::FIN.with(Flags::ACK))
                .is_ok()
            {
                self.snd_nxt = seq.add(1);
                self.snd_max = self.snd_max.max(self.snd_nxt);
                self.arm_rto(core);
            }
        }
        if self.ack_now {
            if ctx.tx_room() == 0 {
                return false;
            }
            // SND.MAX, not SND.NXT: after a timeout rewound SND.NXT, the peer may
            // hold data up to SND.MAX and would find an ACK at SND.NXT outside its
            // window and ignore its acknowledgment field (both ends retransmitting
            // to each other would then never learn of each other's progress).
            let seq = self.snd_max;
            let _ = self.send_seg(core, ctx, seq, 0, Flags::ACK);
        }
        self.update_persist(now, core.cfg.rto_max);
        true
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
        if !self.send_new_data(core, ctx, true) {
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

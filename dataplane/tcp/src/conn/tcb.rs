//! The transmission control block: everything one connection remembers (RFC 9293
//! 3.3.1's variables plus loss recovery, flow control, timers and the events owed to
//! the application).
//!
//! A slot's TCB is reused by the slot's next connection: [`Tcb::open`] resets every
//! field but keeps the queues' capacity, so a warm engine allocates nothing to open
//! a connection either.

use crate::api::{CloseReason, ConnId, ConnInfo, State, TcpEvent};
use crate::cc::NewReno;
use crate::config::TcpConfig;
use crate::core::Core;
use crate::flow_table::FlowKey;
use crate::ooo::OooQueue;
use crate::options::{TcpOptions, MAX_WSCALE};
use crate::rack::{pto, Rack, Tlp};
use crate::recvq::RecvQueue;
use crate::rtt::RttEstimator;
use crate::rtxq::RtxQueue;
use crate::sendq::SendQueue;
use crate::seq::Seq;
use crate::timers::{ConnTimer, Deadlines};
use arrayvec::ArrayVec;
use ix_nic::{BufPool, Instant};
use std::net::SocketAddrV4;
use std::time::Duration;

/// Where a passive connection stands with the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Knock {
    /// Active open: the application made it and knows it.
    Active,
    /// Passive, handshake not complete: the application does not know it.
    Embryonic,
    /// Passive, established, `Knock` event not yet taken.
    Pending,
    /// `Knock` taken; waiting for accept or reject.
    Delivered,
    /// Accepted: a normal connection.
    Accepted,
}

/// How a loss recovery episode began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecoveryKind {
    /// Fast recovery: losses found by RACK or by duplicate ACKs (RFC 6675, RFC 6582);
    /// the window was halved once.
    Fast,
    /// After a retransmission timeout: everything not SACKed is resent in slow start
    /// (RFC 5681 3.1, RFC 6675 5.1); no fast recovery until it ends.
    Timeout,
}

/// Loss recovery in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Recovery {
    pub kind: RecoveryKind,
    /// RFC 6582's "recover" (RFC 6675's RecoveryPoint): the episode ends when this
    /// is acknowledged.
    pub recover: Seq,
    /// Whether the first retransmission (sent regardless of the window) went out.
    pub first_sent: bool,
}

/// Retransmissions of one episode remembered for undo; an episode with more is
/// not undone (reordering makes one or two spurious retransmissions, not dozens).
pub(crate) const UNDO_RANGES: usize = 8;

/// What it takes to undo a window reduction found unneeded (RFC 3708: a D-SACK for
/// every retransmission of the episode means nothing was lost).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Undo {
    /// The episode's retransmissions not yet reported duplicate. A D-SACK must
    /// name one of them: a segment the network duplicated draws one too.
    pub pending: ArrayVec<(Seq, Seq), UNDO_RANGES>,
    /// Some retransmission was not remembered (too many): no undo.
    pub overflow: bool,
    /// Whether anything was retransmitted at all.
    pub any: bool,
    /// The window before the reduction.
    pub prior: NewReno,
}

/// One connection's state.
#[derive(Debug)]
pub(crate) struct Tcb<P: BufPool> {
    pub slot: u32,
    pub gen: u32,
    pub in_use: bool,
    pub key: FlowKey,
    pub state: State,
    pub cookie: u64,
    /// The listening port a passive connection came from (counted in its queues
    /// until accepted).
    pub listen_port: Option<u16>,
    pub knock: Knock,
    /// The application closed its sending side: FIN after the queued data.
    pub app_closed: bool,
    /// Dead: the reason is reported (after pending data) and the slot freed.
    pub dead: Option<CloseReason>,
    /// The death is reported as `ConnectFailed` (an active open that never opened).
    pub connect_failed: bool,

    // Send sequence space (RFC 9293 3.3.1).
    pub iss: Seq,
    pub snd_una: Seq,
    pub snd_nxt: Seq,
    /// The highest sequence sent (snd_nxt goes back to snd_una after a timeout).
    pub snd_max: Seq,
    /// The peer's window, scaled.
    pub snd_wnd: u32,
    pub max_snd_wnd: u32,
    pub snd_wl1: Seq,
    pub snd_wl2: Seq,
    /// Shift applied to the peer's window field.
    pub snd_wscale: u8,
    /// Shift the peer applies to ours.
    pub rcv_wscale: u8,
    /// Both sides offered window scaling.
    pub ws_agreed: bool,
    pub sack_ok: bool,
    /// Our maximum segment size (payload bytes per segment we send).
    pub mss: u16,
    pub sendq: SendQueue<P::Shared>,

    // Receive sequence space.
    pub irs: Seq,
    pub rcv_nxt: Seq,
    /// The right edge of the window last advertised (never moves back).
    pub rcv_adv: Seq,
    /// Bytes accepted in order and not yet released by the application.
    pub unreleased: u32,
    pub fin_rcvd: bool,
    /// A FIN seen beyond a gap, processed when the gap fills.
    pub ooo_fin: Option<Seq>,
    pub recvq: RecvQueue<P::Rx>,
    pub ooo: OooQueue<P::Rx>,
    /// What this connection's out-of-order bytes add to the engine-wide total.
    pub ooo_held: usize,
    /// The FIN remembered in `ooo_fin` became next: process it.
    pub pending_fin: bool,
    pub ledger_gen: u32,

    // Loss recovery and congestion control.
    pub rtt: RttEstimator,
    /// Karn: the one segment being timed, and when it left.
    pub timing: Option<(Seq, Instant)>,
    /// Consecutive timeouts without progress.
    pub retries: u32,
    pub cc: NewReno,
    /// Every segment sent and not acknowledged: SACK marks, losses, send times.
    pub rtxq: RtxQueue,
    pub rack: Rack,
    pub tlp: Tlp,
    /// The probe timeout from SRTT (RFC 8985 7.2, without the delayed-ACK
    /// allowance), kept current as SRTT changes.
    pub pto: Duration,
    /// The tail loss probe timer fired: the next output sends the probe.
    pub probe_owed: bool,
    pub dupacks: u32,
    pub recovery: Option<Recovery>,
    pub retransmits: u64,
    /// D-SACKs received: past `retransmits`, the network duplicated segments.
    pub dsacks: u64,
    /// The last fast recovery's reduction, while it may still be undone.
    pub undo: Option<Undo>,

    // ACK generation.
    pub ack_now: bool,
    pub unacked_segs: u32,
    /// The ACK owed goes at once, not at the end of the burst (out-of-order or
    /// duplicate data, a filled gap).
    pub ack_at_once: bool,
    /// A duplicate segment arrived: the next ACK reports it first (D-SACK, RFC 2883).
    pub dsack: Option<(Seq, Seq)>,

    // Timers.
    pub dl: Deadlines,
    pub timer: ConnTimer,
    pub last_rx: Instant,
    /// Since when sent data has waited for an acknowledgment (user timeout).
    pub unacked_since: Option<Instant>,
    /// Unanswered zero-window or keepalive probes.
    pub probes: u32,
    pub persist_backoff: u32,
    /// Unanswered keepalive probes.
    pub ka_probes: u32,

    // Events owed to the application.
    pub ev_connected: bool,
    pub ev_sent: u64,
    pub ev_peer_closed: bool,
}

impl<P: BufPool> Tcb<P> {
    /// An unused slot's TCB, with queue capacity reserved from `cfg`.
    pub fn vacant(slot: u32, cfg: &TcpConfig) -> Self {
        // Small initial reservations: deeper queues grow on first use and keep
        // their capacity for the slot's later connections.
        let pieces = cfg.send_pieces.min(4);
        let segs = cfg.recv_segments.min(4);
        let ooo = cfg.ooo_segments.min(2);
        let inflight = cfg.inflight_segments.min(16);
        Tcb {
            slot,
            gen: 0,
            in_use: false,
            key: FlowKey(0),
            state: State::Closed,
            cookie: 0,
            listen_port: None,
            knock: Knock::Active,
            app_closed: false,
            dead: None,
            connect_failed: false,
            iss: Seq(0),
            snd_una: Seq(0),
            snd_nxt: Seq(0),
            snd_max: Seq(0),
            snd_wnd: 0,
            max_snd_wnd: 0,
            snd_wl1: Seq(0),
            snd_wl2: Seq(0),
            snd_wscale: 0,
            rcv_wscale: 0,
            ws_agreed: false,
            sack_ok: false,
            mss: cfg.mss,
            sendq: SendQueue::with_capacity(pieces),
            irs: Seq(0),
            rcv_nxt: Seq(0),
            rcv_adv: Seq(0),
            unreleased: 0,
            fin_rcvd: false,
            ooo_fin: None,
            recvq: RecvQueue::with_capacity(segs),
            ooo: OooQueue::with_capacity(ooo),
            ooo_held: 0,
            pending_fin: false,
            ledger_gen: 0,
            rtt: RttEstimator::new(cfg.rto_initial, cfg.rto_min, cfg.rto_max, cfg.timer_tick),
            timing: None,
            retries: 0,
            cc: NewReno::new(cfg.mss, cfg.initial_window),
            rtxq: RtxQueue::with_capacity(inflight),
            rack: Rack::new(),
            tlp: Tlp::default(),
            pto: pto(None, false),
            probe_owed: false,
            dupacks: 0,
            recovery: None,
            retransmits: 0,
            dsacks: 0,
            undo: None,
            ack_now: false,
            unacked_segs: 0,
            ack_at_once: false,
            dsack: None,
            dl: Deadlines::default(),
            timer: ConnTimer::default(),
            last_rx: Instant::ZERO,
            unacked_since: None,
            probes: 0,
            persist_backoff: 0,
            ka_probes: 0,
            ev_connected: false,
            ev_sent: 0,
            ev_peer_closed: false,
        }
    }

    /// Starts a new connection in this (free) slot: every field reset, queues
    /// emptied (capacity kept), a new generation and ledger generation.
    pub fn open(&mut self, core: &mut Core, key: FlowKey, state: State, iss: Seq) {
        self.recvq.clear();
        self.ooo.clear();
        self.sync_ooo(core);
        let cfg = &core.cfg;
        self.gen = self.gen.wrapping_add(1);
        self.in_use = true;
        self.key = key;
        self.state = state;
        self.cookie = 0;
        self.listen_port = None;
        self.knock = Knock::Active;
        self.app_closed = false;
        self.dead = None;
        self.connect_failed = false;
        self.iss = iss;
        self.snd_una = iss;
        self.snd_nxt = iss;
        self.snd_max = iss;
        self.snd_wnd = 0;
        self.max_snd_wnd = 0;
        self.snd_wl1 = Seq(0);
        self.snd_wl2 = Seq(0);
        self.snd_wscale = 0;
        self.rcv_wscale = 0;
        self.ws_agreed = false;
        self.sack_ok = false;
        self.mss = cfg.mss.min(536);
        // Data starts after our SYN.
        self.sendq.reset(iss.add(1));
        self.irs = Seq(0);
        self.rcv_nxt = Seq(0);
        self.rcv_adv = Seq(0);
        self.unreleased = 0;
        self.fin_rcvd = false;
        self.ooo_fin = None;
        self.pending_fin = false;
        self.ledger_gen = core.ledger.open(self.slot);
        self.rtt = RttEstimator::new(cfg.rto_initial, cfg.rto_min, cfg.rto_max, cfg.timer_tick);
        self.timing = None;
        self.retries = 0;
        self.cc = NewReno::new(cfg.mss, cfg.initial_window);
        self.rtxq.clear();
        self.rack = Rack::new();
        self.tlp = Tlp::default();
        self.pto = pto(None, false);
        self.probe_owed = false;
        self.dupacks = 0;
        self.recovery = None;
        self.retransmits = 0;
        self.dsacks = 0;
        self.undo = None;
        self.ack_now = false;
        self.unacked_segs = 0;
        self.ack_at_once = false;
        self.dsack = None;
        self.dl = Deadlines::default();
        self.last_rx = core.now;
        self.unacked_since = None;
        self.probes = 0;
        self.persist_backoff = 0;
        self.ka_probes = 0;
        self.ev_connected = false;
        self.ev_sent = 0;
        self.ev_peer_closed = false;
        if let Some(k) = cfg.keepalive {
            self.dl.keepalive = Some(core.now + k.idle);
        }
    }

    /// Releases everything the connection holds (buffers, timer) and marks the slot
    /// free. The caller removes the flow-table entry and returns the slot.
    pub fn release(&mut self, core: &mut Core) {
        self.timer.cancel(&mut core.wheel);
        self.sendq.reset(Seq(0));
        self.recvq.clear();
        self.ooo.clear();
        self.sync_ooo(core);
        self.in_use = false;
        self.state = State::Closed;
        self.dead = None;
    }

    /// Drops what only a live connection needs once it is dead: the send queue, the
    /// out-of-order data, the timers. In-order data stays for the application.
    pub fn bury(&mut self, core: &mut Core, reason: CloseReason) {
        self.timer.cancel(&mut core.wheel);
        self.dl = Deadlines::default();
        let end = self.sendq.end_seq();
        self.sendq.reset(end);
        self.ooo.clear();
        self.sync_ooo(core);
        self.rtxq.clear();
        self.recovery = None;
        self.probe_owed = false;
        self.state = State::Closed;
        self.dead = Some(reason);
    }

    /// Brings the engine-wide out-of-order byte total in step with this queue.
    pub fn sync_ooo(&mut self, core: &mut Core) {
        let now = self.ooo.bytes();
        core.ooo_bytes = core.ooo_bytes.saturating_sub(self.ooo_held) + now;
        self.ooo_held = now;
    }

    /// The id the application knows this connection by.
    pub fn id(&self) -> ConnId {
        ConnId {
            slot: self.slot,
            gen: self.gen,
        }
    }

    /// Whether the application may act on this connection by id.
    pub fn app_visible(&self) -> bool {
        self.in_use
            && self.dead.is_none()
            && matches!(
                self.knock,
                Knock::Active | Knock::Accepted | Knock::Delivered
            )
    }

    /// Applies the options of the peer's SYN: MSS, window scaling, SACK.
    pub fn negotiate(
        &mut self,
        cfg: &TcpConfig,
        opts: &TcpOptions,
        mtu: usize,
        offer_ws: bool,
        offer_sack: bool,
    ) {
        let path_mss = mtu.saturating_sub(40).clamp(64, usize::from(u16::MAX)) as u16;
        // RFC 9293 3.7.1: without the option, assume 536.
        let peer = opts.mss.unwrap_or(536).max(64);
        self.mss = cfg.mss.min(peer).min(path_mss);
        match (offer_ws, opts.wscale) {
            (true, Some(s)) => {
                self.snd_wscale = s;
                self.rcv_wscale = wscale_for(cfg.recv_buf);
                self.ws_agreed = true;
            }
            _ => {
                self.snd_wscale = 0;
                self.rcv_wscale = 0;
                self.ws_agreed = false;
            }
        }
        self.sack_ok = offer_sack && opts.sack_permitted;
        self.cc = NewReno::new(self.mss, cfg.initial_window);
    }

    /// Bytes sent and not acknowledged, whatever their fate.
    pub fn outstanding(&self) -> u32 {
        self.snd_max.since(self.snd_una)
    }

    /// RFC 6675's pipe, the bytes in the network: sent and not acknowledged, less
    /// what the peer SACKed and what is deemed lost, plus retransmissions in flight.
    pub fn pipe(&self) -> u32 {
        self.rtxq.pipe()
    }

    /// The sequence number of our FIN (valid once the application closed).
    pub fn fin_seq(&self) -> Seq {
        self.sendq.end_seq()
    }

    /// Whether our FIN was sent and acknowledged.
    pub fn fin_acked(&self) -> bool {
        self.app_closed && self.snd_una.gt(self.fin_seq())
    }

    /// The receive window we can offer now: buffer minus what the application holds,
    /// at most what the window field can say (65535 without window scaling). Past
    /// that, `rcv_adv` would run ahead of the edge the peer was told, and every
    /// release of credit would look like a window update worth sending.
    pub fn free_window(&self, cfg: &TcpConfig) -> u32 {
        let most = u32::from(u16::MAX) << self.rcv_wscale;
        cfg.recv_buf.saturating_sub(self.unreleased).min(most)
    }

    /// The window field to send, moving `rcv_adv` forward as far as it advertises.
    /// Receiver SWS avoidance (RFC 9293 3.8.6.2.2): the right edge moves only by at
    /// least min(buffer/2, MSS), and never back.
    pub fn advertise(&mut self, cfg: &TcpConfig, syn: bool) -> u16 {
        let free = self.free_window(cfg);
        let want = self.rcv_nxt.add(free);
        let step = (cfg.recv_buf / 2).min(u32::from(self.mss));
        if want.gt(self.rcv_adv)
            && (want.since(self.rcv_adv) >= step || self.rcv_adv.le(self.rcv_nxt))
        {
            self.rcv_adv = want;
        }
        if self.rcv_adv.lt(self.rcv_nxt) {
            self.rcv_adv = self.rcv_nxt;
        }
        let wnd = self.rcv_adv.since(self.rcv_nxt);
        if syn {
            // Never scaled in a SYN (RFC 7323 2.2).
            let w = wnd.min(u32::from(u16::MAX));
            self.rcv_adv = self.rcv_nxt.add(w);
            return w as u16;
        }
        // RFC 7323 2.4: SEG.WND = RCV.WND >> Rcv.Wind.Shift, rounded down. The edge
        // the peer computes may then lie up to 2^shift - 1 bytes left of rcv_adv (a
        // retraction RFC 7323 2.4 and appendix F allow). Rounding up instead would
        // promise bytes past the buffer, and more with every segment of a length
        // not a multiple of 2^shift: the window would never close.
        let shift = u32::from(self.rcv_wscale);
        (wnd >> shift).min(u32::from(u16::MAX)) as u16
    }

    /// Whether a window update is worth an ACK of its own: the edge can move by
    /// min(buffer/2, 2*MSS), or the advertised window was below one MSS.
    pub fn window_update_due(&self, cfg: &TcpConfig) -> bool {
        let want = self.rcv_nxt.add(self.free_window(cfg));
        if !want.gt(self.rcv_adv) {
            return false;
        }
        let grow = want.since(self.rcv_adv);
        let open = self.rcv_adv.since(self.rcv_nxt);
        grow >= (cfg.recv_buf / 2).min(2 * u32::from(self.mss))
            || (open < u32::from(self.mss) && grow >= u32::from(self.mss).min(cfg.recv_buf / 2))
    }

    /// Whether events wait for the application.
    pub fn has_events(&self) -> bool {
        if !self.in_use {
            return false;
        }
        match self.knock {
            Knock::Embryonic => false,
            Knock::Pending => true,
            Knock::Delivered => self.dead.is_some(),
            Knock::Active | Knock::Accepted => {
                self.ev_connected
                    || !self.recvq.is_empty()
                    || self.ev_sent > 0
                    || self.ev_peer_closed
                    || self.dead.is_some()
            }
        }
    }

    /// The next event for the application, in per-connection order. A `Dead` or
    /// `ConnectFailed` returned means the caller must free the slot.
    pub fn next_event(&mut self, local_port: u16) -> Option<TcpEvent<P::Rx>> {
        let conn = self.id();
        let cookie = self.cookie;
        match self.knock {
            Knock::Embryonic => return None,
            Knock::Pending => {
                self.knock = Knock::Delivered;
                return Some(TcpEvent::Knock {
                    conn,
                    local_port,
                    remote: self.key.remote(),
                });
            }
            Knock::Delivered => {
                return self.dead.map(|reason| TcpEvent::Dead {
                    conn,
                    cookie,
                    reason,
                });
            }
            Knock::Active | Knock::Accepted => {}
        }
        if self.ev_connected {
            self.ev_connected = false;
            return Some(TcpEvent::Connected { conn, cookie });
        }
        if let Some(seg) = self.recvq.pop() {
            return Some(TcpEvent::Recv { conn, cookie, seg });
        }
        if self.ev_sent > 0 {
            let acked_bytes =
                usize::try_from(std::mem::take(&mut self.ev_sent)).unwrap_or(usize::MAX);
            return Some(TcpEvent::Sent {
                conn,
                cookie,
                acked_bytes,
            });
        }
        if self.ev_peer_closed {
            self.ev_peer_closed = false;
            return Some(TcpEvent::PeerClosed { conn, cookie });
        }
        let reason = self.dead?;
        Some(if self.connect_failed {
            TcpEvent::ConnectFailed { conn, reason }
        } else {
            TcpEvent::Dead {
                conn,
                cookie,
                reason,
            }
        })
    }

    /// A monitoring snapshot.
    pub fn info(&self, core: &Core) -> ConnInfo {
        ConnInfo {
            conn: self.id(),
            local: SocketAddrV4::new(core.local, self.key.local_port()),
            remote: self.key.remote(),
            state: self.state,
            cwnd: self.cc.cwnd(),
            ssthresh: self.cc.ssthresh(),
            srtt: self.rtt.srtt(),
            rto: self.rtt.rto(),
            bytes_in_flight: self.outstanding(),
            send_queued: self.sendq.len(),
            snd_wnd: self.snd_wnd,
            rcv_wnd: self.rcv_adv.since(self.rcv_nxt),
            rcv_unreleased: self.unreleased,
            mss: self.mss,
            sack: self.sack_ok,
            retransmits: self.retransmits,
        }
    }
}

/// The window shift that lets a 16-bit field describe `buf` bytes.
pub(crate) fn wscale_for(buf: u32) -> u8 {
    let mut s = 0u8;
    while s < MAX_WSCALE && (buf >> s) > u32::from(u16::MAX) {
        s += 1;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_shift_covers_the_buffer() {
        assert_eq!(wscale_for(65535), 0);
        assert_eq!(wscale_for(65536), 1);
        assert_eq!(wscale_for(256 * 1024), 3);
        assert_eq!(wscale_for(1 << 30), 14);
    }
}

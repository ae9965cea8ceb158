//! A connection slot's life: a vacant TCB made once per slot, reset for each new
//! connection ([`Tcb::open`]), stripped when the connection dies ([`Tcb::bury`]) and
//! freed ([`Tcb::release`]); and who may see it.
//!
//! A slot's TCB is reused by the slot's next connection: `open` resets every field
//! but keeps the queues' capacity, so a warm engine allocates nothing to open a
//! connection either.

use crate::api::{CloseReason, ConnId, State};
use crate::cc::NewReno;
use crate::config::TcpConfig;
use crate::conn::tcb::{Knock, Tcb};
use crate::core::Core;
use crate::flow_table::FlowKey;
use crate::ooo::OooQueue;
use crate::rack::{pto, Rack, Tlp};
use crate::recvq::RecvQueue;
use crate::rtt::RttEstimator;
use crate::rtxq::RtxQueue;
use crate::sendq::SendQueue;
use crate::seq::Seq;
use crate::timers::{ConnTimer, Deadlines};
use crate::timestamps::TsState;
use ix_nic::{BufPool, Instant};

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
            ts: TsState::default(),
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
        self.ts = TsState::default();
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
}

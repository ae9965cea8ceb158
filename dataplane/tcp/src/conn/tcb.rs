//! The transmission control block: everything one connection remembers (RFC 9293
//! 3.3.1's variables plus loss recovery, flow control, timers and the events owed to
//! the application).
//!
//! A slot's TCB is reused by the slot's next connection: [`Tcb::open`] resets every
//! field but keeps the queues' capacity, so a warm engine allocates nothing to open
//! a connection either.
//!
//! This file holds the block itself and the small types it is made of; its
//! methods live with what they are about: `slot` (opening, burying, releasing),
//! `window` (SYN options, sequence space, the receive window we advertise),
//! `app_events` (events owed to the application), `input`, `output`, `timeouts`.

use crate::api::{CloseReason, State};
use crate::cc::NewReno;
use crate::flow_table::FlowKey;
use crate::ooo::OooQueue;
use crate::rack::{Rack, Tlp};
use crate::recvq::RecvQueue;
use crate::rtt::RttEstimator;
use crate::rtxq::RtxQueue;
use crate::sendq::SendQueue;
use crate::seq::Seq;
use crate::timers::{ConnTimer, Deadlines};
use crate::timestamps::TsState;
use arrayvec::ArrayVec;
use ix_nic::{BufPool, Instant};
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
    /// RFC 7323 timestamps: negotiated or not, TS.Recent, our clock's offset.
    pub ts: TsState,
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

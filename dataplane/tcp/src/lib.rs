//! ix-tcp: one core's TCP engine, run to completion under `ix_net::Interface`.
//!
//! [`TcpEngine`] implements [`ix_net::Transport`]: the interface hands it every TCP
//! segment of a receive burst, then polls it once to fire timers and transmit. The
//! application drives it between polls through an IX-style API: [`TcpEngine::listen`]
//! / [`TcpEngine::connect`], [`TcpEngine::send`] (payload by reference),
//! [`TcpEngine::close`] / [`TcpEngine::abort`], and events from
//! [`TcpEngine::poll_event`] (`Knock` -> `accept`/`reject`, `Connected`, `Recv` with
//! the received segment itself, `Sent`, `PeerClosed`, `Dead`). See [`api`].
//!
//! What it implements: RFC 9293's state machine (active, passive, simultaneous open
//! and close, half-close, TIME_WAIT in a compact ring with early recycling and reuse
//! by a later SYN), RFC 5961 (challenge ACKs, ACK range check), RFC 6528 ISNs
//! (SipHash), SYN cookies when the SYN queue is full, RFC 6298 RTO with Karn and
//! backoff, RFC 5681 congestion control with RFC 6928's initial window, SACK (RFC
//! 2018) and D-SACK (RFC 2883) with RACK-TLP loss detection (RFC 8985: time-based,
//! lost retransmissions included, tail loss probes), RFC 6675 recovery (pipe, lost
//! segments first, SACK marks kept across a timeout) and D-SACK undo of spurious
//! recoveries (RFC 3708), NewReno (RFC 6582) with limited transmit (RFC 3042) without
//! SACK, window scaling (RFC 7323), delayed ACKs, persist, keepalive, user timeout
//! and FIN_WAIT_2 timeout. RFC 7323 timestamps ([`timestamps`]) are negotiated only
//! when [`TcpConfig::timestamps`] is on (off by default): then PAWS, TS.Recent per
//! Last.ACK.sent and an RTT sample per advancing ACK; without them RTT is sampled
//! Karn-style, one segment per round trip (RACK takes one per delivered segment),
//! there is no PAWS (fine below ~10 Gb/s per flow), and SYN cookies carry neither
//! window scaling nor SACK (with or without timestamps: see [`syncookie`]).
//!
//! Zero copy both ways: received in-order data goes to the application as the
//! received buffer itself (an `RxSeg` advanced past the headers) carrying a credit
//! that reopens the window when dropped (IX flow control); sent data stays in the
//! application's `SharedBuf`s and every (re)transmission attaches it to a fresh frame.
//!
//! Per-core and bounded: connections live in a preallocated slab, flows in an
//! open-addressing table, timers on one `ix-timer` wheel; nothing locks, and a warm
//! engine allocates nothing per packet.
//!
//! Layout, one concept per file: [`api`], [`config`], [`engine`] (`app`, `transport`,
//! `passive`, `time_wait`, `lifecycle`), `core` (engine-wide state), `conn` (`tcb`,
//! `slot`, `window`, `app_events`, `input` (`handshake`, `checks`, `ack`, `sack`,
//! `timestamps`, `recovery`, `undo`, `data`, `fin`), `output` (`segment`, `probes`), `timeouts`,
//! `state`), [`timestamps`], [`flow_table`], [`listener`], [`timewait`],
//! [`syncookie`], [`isn`], [`siphash`], [`seq`], [`header`], [`options`], [`rtxq`] (segments in flight:
//! `record`, `sack` marks, `loss` marks), [`rack`], [`cc`], [`rtt`], [`sendq`],
//! [`recvq`], [`ooo`], [`timers`], [`events`], [`stats`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod cc;
pub mod config;
mod conn;
mod core;
pub mod engine;
pub mod events;
pub mod flow_table;
pub mod header;
pub mod isn;
pub mod listener;
pub mod ooo;
pub mod options;
pub mod rack;
pub mod recvq;
pub mod rtt;
pub mod rtxq;
pub mod sendq;
pub mod seq;
pub mod siphash;
pub mod stats;
pub mod syncookie;
pub mod timers;
pub mod timestamps;
pub mod timewait;

pub use api::{CloseReason, ConnId, ConnInfo, State, TcpError, TcpEvent};
pub use config::{ConfigError, KeepaliveConfig, TcpConfig};
pub use engine::TcpEngine;
pub use stats::{Counter, TcpStats};

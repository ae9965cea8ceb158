//! [`TcpEngine`]: one core's TCP, plugged under `ix_net::Interface` as its
//! [`Transport`](ix_net::Transport), with the application API on top.
//!
//! Run to completion: the interface hands each received TCP segment to
//! [`Transport::receive`](ix_net::Transport::receive), which processes it at once
//! (state, data, ACK fields) and marks the connection for output; then one
//! [`Transport::poll`](ix_net::Transport::poll) drains released receive credit, fires
//! due timers, expires TIME_WAIT and transmits for every marked connection, so a
//! burst's ACKs for in-order data are coalesced per connection (an out-of-order or
//! duplicate segment, or one filling a gap, is acknowledged at once: each changes
//! what the ACK's SACK blocks say). Application calls ([`TcpEngine::send`],
//! [`TcpEngine::close`], ...) only queue; what they cause leaves on the next poll.
//! Events come out of [`TcpEngine::poll_event`].
//!
//! Layout: this file holds the engine's tables and its monitoring accessors; the
//! application's calls are in `app`, the interface's entry points (segment demux by
//! flow table, the poll: credit, timers, TIME_WAIT expiry, output) in `transport`,
//! listeners and SYN cookies in `passive`, TIME_WAIT in `time_wait`, and what
//! happens to a connection slot as it opens, dies or is freed in `lifecycle`.

mod app;
mod lifecycle;
mod passive;
mod time_wait;
mod transport;

use crate::api::{ConnId, ConnInfo, State, TcpError};
use crate::config::{ConfigError, TcpConfig};
use crate::conn::tcb::Tcb;
use crate::core::Core;
use crate::flow_table::{FlowKey, FlowTable};
use crate::isn::IsnGenerator;
use crate::listener::Listeners;
use crate::seq::Seq;
use crate::siphash::SipKey;
use crate::stats::TcpStats;
use crate::syncookie::SynCookies;
use crate::timewait::TimeWaitTable;
use ix_nic::BufPool;
use std::collections::VecDeque;

/// Flow-table values with this bit name a TIME_WAIT entry, not a connection slot.
const TW_TAG: u32 = 1 << 31;

/// RSTs owed by `abort`/`reject`/`unlisten`, sent at the next poll; past this many
/// the oldest are dropped (counted): a peer then learns from its next segment.
const RST_BACKLOG: usize = 1024;

/// One core's TCP engine over buffers of pool `P`.
pub struct TcpEngine<P: BufPool> {
    core: Core,
    conns: Vec<Tcb<P>>,
    free: Vec<u32>,
    flows: FlowTable,
    listeners: Listeners,
    tw: TimeWaitTable,
    isn: IsnGenerator,
    cookies: SynCookies,
    /// Key of the timestamp offsets (RFC 7323 5.4).
    ts_key: SipKey,
    rsts: VecDeque<(FlowKey, Seq)>,
    next_port: u16,
}

impl<P: BufPool> core::fmt::Debug for TcpEngine<P> {
    /// Summarises the engine: live connections, TIME_WAIT entries, listeners, counters.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TcpEngine")
            .field("conns", &(self.conns.len() - self.free.len()))
            .field("time_wait", &self.tw.len())
            .field("listeners", &self.listeners.iter().count())
            .field("stats", &self.core.stats)
            .finish_non_exhaustive()
    }
}

impl<P: BufPool> TcpEngine<P> {
    /// An engine for `cfg`; validates it and allocates every table now.
    pub fn new(cfg: TcpConfig) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let secret = cfg.secret.unwrap_or_else(rand::random);
        let key = SipKey::new(secret);
        let mut cookie_secret = secret;
        for b in &mut cookie_secret {
            *b ^= 0x5c;
        }
        let flow_seed = key.hash(b"ix-tcp flow table");
        let mut ts_secret = secret;
        for b in &mut ts_secret {
            *b ^= 0x36;
        }
        let (lo, hi) = cfg.ephemeral_ports;
        let next_port = lo + (flow_seed % u64::from(hi - lo + 1)) as u16;
        let max = cfg.max_conns;
        let conns = (0..max as u32).map(|i| Tcb::vacant(i, &cfg)).collect();
        Ok(TcpEngine {
            flows: FlowTable::new(max + cfg.time_wait_max, flow_seed),
            listeners: Listeners::new(cfg.max_listeners),
            tw: TimeWaitTable::new(cfg.time_wait_max),
            isn: IsnGenerator::new(key, cfg.fixed_isn),
            cookies: SynCookies::new(SipKey::new(cookie_secret)),
            ts_key: SipKey::new(ts_secret),
            rsts: VecDeque::with_capacity(RST_BACKLOG),
            free: (0..max as u32).rev().collect(),
            conns,
            next_port,
            core: Core::new(cfg),
        })
    }

    /// The live connection `conn` names, if the application may act on it.
    fn visible(&self, conn: ConnId) -> Result<&Tcb<P>, TcpError> {
        match self.conns.get(conn.slot as usize) {
            Some(t) if t.gen == conn.gen && t.app_visible() => Ok(t),
            _ => Err(TcpError::NoSuchConnection),
        }
    }

    /// The live connection `conn` names, mutably, if the application may act on it.
    fn visible_mut(&mut self, conn: ConnId) -> Result<&mut Tcb<P>, TcpError> {
        match self.conns.get_mut(conn.slot as usize) {
            Some(t) if t.gen == conn.gen && t.app_visible() => Ok(t),
            _ => Err(TcpError::NoSuchConnection),
        }
    }

    /// The connection's state.
    pub fn state(&self, conn: ConnId) -> Result<State, TcpError> {
        Ok(self.visible(conn)?.state)
    }

    /// A snapshot of the connection (4-tuple, state, windows, RTT, ...).
    pub fn conn_info(&self, conn: ConnId) -> Result<ConnInfo, TcpError> {
        Ok(self.visible(conn)?.info(&self.core))
    }

    /// Snapshots of every connection, half-open and dying ones included.
    pub fn conns(&self) -> impl Iterator<Item = ConnInfo> + '_ {
        self.conns
            .iter()
            .filter(|t| t.in_use)
            .map(|t| t.info(&self.core))
    }

    /// Connections in use (any state but TIME_WAIT).
    pub fn conn_count(&self) -> usize {
        self.conns.len() - self.free.len()
    }

    /// Entries in TIME_WAIT.
    pub fn time_wait_count(&self) -> usize {
        self.tw.len()
    }

    /// The engine's counters.
    pub fn stats(&self) -> &TcpStats {
        &self.core.stats
    }

    /// The configuration in use.
    pub fn config(&self) -> &TcpConfig {
        &self.core.cfg
    }
}

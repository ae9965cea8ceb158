//! [`EchoClient`]: an echo load generator on libix's per-connection layer.
//!
//! It opens `conns` connections to an echo server and on each sends `requests`
//! fixed-size requests, keeping up to `pipeline` of them outstanding (1: strict
//! ping-pong). Every echoed byte is checked against what was sent (the bytes of
//! request `k` on connection `c` derive from both, so a byte that is lost, duplicated,
//! shifted or taken from another connection or request is noticed). The round trip
//! of each request — from the batch that sent it to the batch in which its last
//! echoed byte arrived, on the elastic thread's clock — goes into an HDR histogram;
//! the first `warmup` requests of every connection are checked but not timed.
//!
//! When every connection has ended, the client raises its `finished` flag (for
//! whoever stops the elastic thread) and [`EchoClient::report`] sums up: requests
//! completed, errors, elapsed time, request/responses per second, latency
//! percentiles.
//!
//! This file holds the connection state machine (opening connections in chunks,
//! closing each once all its echoes are back, counting the ones that end early);
//! `config.rs` the configuration, `request.rs` each connection's request schedule
//! and the checking of its echoes, `stats.rs` the counters and the report.

mod config;
mod request;
mod stats;
#[cfg(test)]
mod tests;

pub use config::ClientConfig;
pub use request::{fill_request, request_mismatches, ClientConn};
pub use stats::ClientReport;

use hdrhistogram::Histogram;
use ix_nic::{BufPool, RxSeg};
use libix::ev::{App, ConnCx, Cx};
use libix::CloseReason;
use stats::ClientStats;
use std::fmt;
use std::net::SocketAddrV4;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The client's timer token for opening more connections.
const CONNECT_TIMER: u64 = 1;
/// Connections opened per timer tick (spreads a large number of handshakes).
const CONNECT_CHUNK: u32 = 128;
/// Time between connect chunks.
const CONNECT_TICK: Duration = Duration::from_micros(200);

/// The echo client.
pub struct EchoClient {
    cfg: ClientConfig,
    stats: ClientStats,
    /// Connects made so far (the next connection's number).
    opened: u32,
    /// Connections that ended (or never opened).
    ended: u32,
    finished: Arc<AtomicBool>,
    /// Why the client gave up before starting (e.g. requests larger than a buffer).
    fatal: Option<String>,
}

impl fmt::Debug for EchoClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EchoClient")
            .field("cfg", &self.cfg)
            .field("opened", &self.opened)
            .field("ended", &self.ended)
            .field("completed", &self.stats.completed())
            .finish_non_exhaustive()
    }
}

impl EchoClient {
    /// A client running `cfg` (assumed validated); allocates its histogram now.
    pub fn new(cfg: ClientConfig) -> Result<Self, String> {
        Ok(EchoClient {
            cfg,
            stats: ClientStats::new()?,
            opened: 0,
            ended: 0,
            finished: Arc::new(AtomicBool::new(false)),
            fatal: None,
        })
    }

    /// Raised once every connection has ended (or the client gave up).
    pub fn finished_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.finished)
    }

    /// Why the client gave up, if it did.
    pub fn fatal(&self) -> Option<&str> {
        self.fatal.as_deref()
    }

    /// The latency histogram (ns).
    pub fn histogram(&self) -> &Histogram<u64> {
        self.stats.histogram()
    }

    /// The summary so far.
    pub fn report(&self) -> ClientReport {
        self.stats.report(self.cfg)
    }

    /// One more connection is over (ended, failed, or never opened).
    fn one_ended(&mut self) {
        self.ended += 1;
        if self.ended >= self.cfg.conns {
            self.finished.store(true, Ordering::Release);
        }
    }

    /// Gives up: nothing more will be opened.
    fn give_up(&mut self, why: String) {
        tracing::error!(error = %why, "echo client gives up");
        self.fatal = Some(why);
        self.finished.store(true, Ordering::Release);
    }

    /// Opens up to a chunk of the remaining connections; re-arms itself if more
    /// remain.
    fn open_more<P: BufPool>(&mut self, cx: &mut Cx<'_, '_, P, ClientConn>) {
        self.stats.connecting(cx.now());
        let mut n = 0;
        while self.opened < self.cfg.conns && n < CONNECT_CHUNK {
            let state = ClientConn::new(self.opened, self.cfg.pipeline);
            match cx.connect(self.cfg.server, state) {
                Ok(()) => {}
                // The table of connects in progress is full: try again next tick.
                Err(libix::ev::EvError::TooManyConnecting)
                | Err(libix::ev::EvError::Call(libix::CallError::BatchFull)) => break,
                Err(e) => {
                    tracing::warn!(error = %e, conn = self.opened, "connect refused");
                    self.stats.conn_failed();
                    self.one_ended();
                }
            }
            self.opened += 1;
            n += 1;
        }
        if self.opened < self.cfg.conns && cx.set_timer(CONNECT_TIMER, CONNECT_TICK).is_err() {
            self.give_up("cannot arm the connect timer".into());
        }
    }

    /// Sends requests on `st` while fewer than `pipeline` are outstanding.
    fn fill<P: BufPool>(&mut self, c: &mut ConnCx<'_, '_, P>, st: &mut ClientConn) {
        st.send_requests(&self.cfg, &mut self.stats, c);
    }
}

impl<P: BufPool> App<P> for EchoClient {
    type Conn = ClientConn;

    fn start(&mut self, cx: &mut Cx<'_, '_, P, ClientConn>) {
        let cap = cx.pool().buf_capacity();
        if self.cfg.size > cap {
            self.give_up(format!(
                "--size {} is larger than one buffer ({cap} bytes)",
                self.cfg.size
            ));
            return;
        }
        self.open_more(cx);
    }

    fn timer(&mut self, cx: &mut Cx<'_, '_, P, ClientConn>, token: u64) {
        if token == CONNECT_TIMER && self.fatal.is_none() {
            self.open_more(cx);
        }
    }

    fn knock(&mut self, _local_port: u16, _remote: SocketAddrV4) -> Option<ClientConn> {
        None
    }

    fn connected(&mut self, c: &mut ConnCx<'_, '_, P>, st: &mut ClientConn) {
        self.stats.connected(c.now(), self.cfg.conns);
        self.fill(c, st);
    }

    fn recv(&mut self, c: &mut ConnCx<'_, '_, P>, st: &mut ClientConn, seg: RxSeg<P::Rx>) {
        let now = c.now();
        st.check_echo(&self.cfg, &mut self.stats, &seg, now);
        drop(seg);
        if st.all_echoed(&self.cfg) {
            if !st.closing {
                st.closing = true;
                c.close();
            }
        } else {
            self.fill(c, st);
        }
    }

    fn sent(&mut self, c: &mut ConnCx<'_, '_, P>, st: &mut ClientConn, _acked: usize) {
        if !st.closing {
            self.fill(c, st);
        }
    }

    fn wake(&mut self, c: &mut ConnCx<'_, '_, P>, st: &mut ClientConn) {
        if !st.closing {
            self.fill(c, st);
        }
    }

    fn dead(&mut self, st: ClientConn, reason: CloseReason) {
        if !st.all_echoed(&self.cfg) {
            tracing::warn!(
                conn = st.index,
                ?reason,
                received = st.received,
                "connection ended early"
            );
            self.stats.conn_failed();
        }
        self.one_ended();
    }

    fn connect_failed(&mut self, st: ClientConn, reason: CloseReason) {
        tracing::warn!(conn = st.index, ?reason, "connect failed");
        self.stats.conn_failed();
        self.one_ended();
    }
}

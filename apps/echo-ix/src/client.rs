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
//! Requests are built in pool buffers (one per request, filled from a stack block:
//! no heap allocation per request) and sent by reference.

use hdrhistogram::Histogram;
use ix_nic::{BufPool, Instant, MutBuf, RxSeg};
use libix::ev::{App, ConnCx, Cx};
use libix::CloseReason;
use std::collections::VecDeque;
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
/// Retry delay after the pool ran dry.
const ALLOC_RETRY: Duration = Duration::from_millis(1);
/// Histogram upper bound: 60 s in nanoseconds.
const HIST_MAX_NS: u64 = 60_000_000_000;

/// What to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    /// The echo server.
    pub server: SocketAddrV4,
    /// Connections.
    pub conns: u32,
    /// Requests per connection.
    pub requests: u64,
    /// Bytes per request (and response).
    pub size: usize,
    /// Requests outstanding per connection (1: ping-pong).
    pub pipeline: usize,
    /// Requests per connection checked but not timed, at the start.
    pub warmup: u64,
}

impl ClientConfig {
    /// Checks the numbers make sense; `max_unsent` is the per-connection bound of
    /// queued send references (`libix::ev::EvConfig::max_unsent`).
    pub fn validate(&self, max_unsent: usize) -> Result<(), String> {
        if self.conns == 0 {
            return Err("--conns must be at least 1".into());
        }
        if self.requests == 0 {
            return Err("--requests must be at least 1".into());
        }
        if self.size == 0 {
            return Err("--size must be at least 1".into());
        }
        if self.pipeline == 0 || self.pipeline > max_unsent {
            return Err(format!("--pipeline must be in 1..={max_unsent}"));
        }
        if self.requests.checked_mul(self.size as u64).is_none() {
            return Err("--requests x --size overflows".into());
        }
        Ok(())
    }

    /// Requests over all connections.
    pub fn total_requests(&self) -> u64 {
        u64::from(self.conns) * self.requests
    }
}

/// The 64-bit seed of request `k` on connection `conn` (splitmix64).
fn request_word(conn: u32, k: u64) -> u64 {
    let mut z = (u64::from(conn) << 40 ^ k).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Fills `out` with bytes `j0..j0 + out.len()` of request `k` on connection `conn`:
/// byte `j` is byte `j mod 8` of the request's word, xor `j / 8`.
pub fn fill_request(conn: u32, k: u64, j0: usize, out: &mut [u8]) {
    let w = request_word(conn, k).to_le_bytes();
    for (i, b) in out.iter_mut().enumerate() {
        let j = j0 + i;
        *b = w[j & 7] ^ (j >> 3) as u8;
    }
}

/// How many of `bytes`, which claim to be bytes `j0..` of request `k` on connection
/// `conn`, are wrong.
pub fn request_mismatches(conn: u32, k: u64, j0: usize, bytes: &[u8]) -> u64 {
    let mut want = [0u8; 256];
    let mut wrong = 0;
    for (c, chunk) in bytes.chunks(want.len()).enumerate() {
        let want = &mut want[..chunk.len()];
        fill_request(conn, k, j0 + c * 256, want);
        if want != chunk {
            wrong += want.iter().zip(chunk).filter(|(a, b)| a != b).count() as u64;
        }
    }
    wrong
}

/// One connection's progress.
#[derive(Debug)]
pub struct ClientConn {
    /// The connection's number (0..conns): part of every request's bytes.
    index: u32,
    /// Requests handed to the transport.
    sent: u64,
    /// Echoed bytes received and checked.
    received: u64,
    /// Send times of the outstanding requests, oldest first.
    sent_at: VecDeque<Instant>,
    /// Whether our close is queued.
    closing: bool,
}

impl ClientConn {
    fn new(index: u32, pipeline: usize) -> Self {
        ClientConn {
            index,
            sent: 0,
            received: 0,
            sent_at: VecDeque::with_capacity(pipeline),
            closing: false,
        }
    }
}

/// The summary printed as the `RESULT` line.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientReport {
    /// The configuration it ran.
    pub cfg: ClientConfig,
    /// Requests whose whole echo arrived.
    pub completed: u64,
    /// Echoed bytes that differed from what was sent.
    pub byte_errors: u64,
    /// Bytes received beyond what was sent.
    pub extra_bytes: u64,
    /// Connections that failed to open or ended before all their echoes arrived.
    pub failed_conns: u64,
    /// Times a request buffer could not be allocated (retried).
    pub alloc_failures: u64,
    /// Connections established.
    pub connected: u64,
    /// From the first connect to the last connection established, ms.
    pub connect_ms: f64,
    /// From the first request sent to the last response received, seconds.
    pub elapsed_s: f64,
    /// Request/responses per second over `elapsed_s`.
    pub rps: f64,
    /// Round trips timed (completed minus warm-up).
    pub rtt_samples: u64,
    /// Round-trip minimum, ns.
    pub rtt_min_ns: u64,
    /// Round-trip mean, ns.
    pub rtt_mean_ns: u64,
    /// Round-trip median, ns.
    pub rtt_p50_ns: u64,
    /// Round-trip 99th percentile, ns.
    pub rtt_p99_ns: u64,
    /// Round-trip 99.9th percentile, ns.
    pub rtt_p999_ns: u64,
    /// Round-trip maximum, ns.
    pub rtt_max_ns: u64,
}

impl ClientReport {
    /// All errors: wrong bytes, extra bytes, failed connections, missing requests.
    pub fn errors(&self) -> u64 {
        self.byte_errors
            + self.extra_bytes
            + self.failed_conns
            + self.cfg.total_requests().saturating_sub(self.completed)
    }

    /// Whether every request completed with every byte right.
    pub fn ok(&self) -> bool {
        self.errors() == 0 && self.completed == self.cfg.total_requests()
    }
}

impl fmt::Display for ClientReport {
    /// `key=value` pairs, space-separated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "role=client server={} conns={} requests_per_conn={} total_requests={} size={} \
             pipeline={} warmup={} \
             completed={} errors={} byte_errors={} extra_bytes={} failed_conns={} \
             alloc_failures={} connected={} connect_ms={:.3} elapsed_s={:.6} rps={:.0} \
             rtt_samples={} rtt_min_ns={} rtt_mean_ns={} rtt_p50_ns={} rtt_p99_ns={} \
             rtt_p999_ns={} rtt_max_ns={}",
            self.cfg.server,
            self.cfg.conns,
            self.cfg.requests,
            self.cfg.total_requests(),
            self.cfg.size,
            self.cfg.pipeline,
            self.cfg.warmup,
            self.completed,
            self.errors(),
            self.byte_errors,
            self.extra_bytes,
            self.failed_conns,
            self.alloc_failures,
            self.connected,
            self.connect_ms,
            self.elapsed_s,
            self.rps,
            self.rtt_samples,
            self.rtt_min_ns,
            self.rtt_mean_ns,
            self.rtt_p50_ns,
            self.rtt_p99_ns,
            self.rtt_p999_ns,
            self.rtt_max_ns,
        )
    }
}

/// The echo client.
pub struct EchoClient {
    cfg: ClientConfig,
    hist: Histogram<u64>,
    /// Connects made so far (the next connection's number).
    opened: u32,
    connected: u64,
    /// Connections that ended (or never opened).
    ended: u32,
    completed: u64,
    byte_errors: u64,
    extra_bytes: u64,
    failed_conns: u64,
    alloc_failures: u64,
    first_connect: Option<Instant>,
    all_connected: Option<Instant>,
    first_send: Option<Instant>,
    last_response: Option<Instant>,
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
            .field("completed", &self.completed)
            .finish_non_exhaustive()
    }
}

impl EchoClient {
    /// A client running `cfg` (assumed validated); allocates its histogram now.
    pub fn new(cfg: ClientConfig) -> Result<Self, String> {
        let hist = Histogram::new_with_bounds(1, HIST_MAX_NS, 3)
            .map_err(|e| format!("latency histogram: {e}"))?;
        Ok(EchoClient {
            cfg,
            hist,
            opened: 0,
            connected: 0,
            ended: 0,
            completed: 0,
            byte_errors: 0,
            extra_bytes: 0,
            failed_conns: 0,
            alloc_failures: 0,
            first_connect: None,
            all_connected: None,
            first_send: None,
            last_response: None,
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
        &self.hist
    }

    /// The summary so far.
    pub fn report(&self) -> ClientReport {
        let ms = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(a), Some(b)) => b.saturating_since(a).as_secs_f64() * 1e3,
            _ => 0.0,
        };
        let elapsed_s = ms(self.first_send, self.last_response) / 1e3;
        let h = &self.hist;
        let empty = h.is_empty();
        let q = |q: f64| if empty { 0 } else { h.value_at_quantile(q) };
        ClientReport {
            cfg: self.cfg,
            completed: self.completed,
            byte_errors: self.byte_errors,
            extra_bytes: self.extra_bytes,
            failed_conns: self.failed_conns,
            alloc_failures: self.alloc_failures,
            connected: self.connected,
            connect_ms: ms(self.first_connect, self.all_connected),
            elapsed_s,
            rps: if elapsed_s > 0.0 {
                self.completed as f64 / elapsed_s
            } else {
                0.0
            },
            rtt_samples: h.len(),
            rtt_min_ns: if empty { 0 } else { h.min() },
            rtt_mean_ns: if empty { 0 } else { h.mean() as u64 },
            rtt_p50_ns: q(0.5),
            rtt_p99_ns: q(0.99),
            rtt_p999_ns: q(0.999),
            rtt_max_ns: if empty { 0 } else { h.max() },
        }
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
        if self.first_connect.is_none() {
            self.first_connect = Some(cx.now());
        }
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
                    self.failed_conns += 1;
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

    /// Sends requests while fewer than `pipeline` are outstanding.
    fn fill<P: BufPool>(&mut self, c: &mut ConnCx<'_, '_, P>, st: &mut ClientConn) {
        let size = self.cfg.size;
        while st.sent < self.cfg.requests
            && st.sent_at.len() < self.cfg.pipeline
            && c.send_room() > 0
        {
            let Ok(mut m) = c.pool().alloc_mut() else {
                self.alloc_failures += 1;
                let _ = c.wake_after(ALLOC_RETRY);
                return;
            };
            // Fill from a stack block: no heap allocation per request.
            let mut block = [0u8; 256];
            let mut j = 0;
            while j < size {
                let n = (size - j).min(block.len());
                fill_request(st.index, st.sent, j, &mut block[..n]);
                if m.extend_from_slice(&block[..n]) != n {
                    break;
                }
                j += n;
            }
            if j < size {
                // Checked at start: cannot happen unless buffers shrink.
                self.byte_errors += (size - j) as u64;
                c.abort();
                return;
            }
            let buf = m.freeze();
            if c.send(&buf, 0..size).is_err() {
                return;
            }
            let now = c.now();
            st.sent += 1;
            st.sent_at.push_back(now);
            if self.first_send.is_none() {
                self.first_send = Some(now);
            }
        }
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
        self.connected += 1;
        if self.connected == u64::from(self.cfg.conns) {
            self.all_connected = Some(c.now());
        }
        self.fill(c, st);
    }

    fn recv(&mut self, c: &mut ConnCx<'_, '_, P>, st: &mut ClientConn, seg: RxSeg<P::Rx>) {
        let now = c.now();
        let size = self.cfg.size;
        let size64 = size as u64;
        let mut bytes: &[u8] = &seg;
        while !bytes.is_empty() {
            // Only what was sent can come back.
            let sent_bytes = st.sent * size64;
            if st.received >= sent_bytes {
                self.extra_bytes += bytes.len() as u64;
                break;
            }
            let k = st.received / size64;
            let j = (st.received % size64) as usize;
            let n = bytes.len().min(size - j);
            let (this, rest) = bytes.split_at(n);
            self.byte_errors += request_mismatches(st.index, k, j, this);
            st.received += n as u64;
            bytes = rest;
            if j + n == size {
                if let Some(t) = st.sent_at.pop_front() {
                    if k >= self.cfg.warmup {
                        let ns = now.saturating_since(t).as_nanos();
                        self.hist
                            .saturating_record(u64::try_from(ns).unwrap_or(u64::MAX).max(1));
                    }
                }
                self.completed += 1;
                self.last_response = Some(now);
            }
        }
        drop(seg);
        if st.received >= self.cfg.requests * size64 {
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
        if st.received < self.cfg.requests * self.cfg.size as u64 {
            tracing::warn!(
                conn = st.index,
                ?reason,
                received = st.received,
                "connection ended early"
            );
            self.failed_conns += 1;
        }
        self.one_ended();
    }

    fn connect_failed(&mut self, st: ClientConn, reason: CloseReason) {
        tracing::warn!(conn = st.index, ?reason, "connect failed");
        self.failed_conns += 1;
        self.one_ended();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EchoIx, Services};
    use ix_fakenic::FakeLink;
    use ix_net::Config as NetConfig;
    use ix_nic::VirtualClock;
    use ix_runtime::{ElasticThread, Parts, RuntimeConfig};
    use ix_tcp::TcpConfig;
    use libix::ev::{Ev, EvConfig};
    use std::net::Ipv4Addr;

    #[test]
    fn requests_differ_by_connection_and_number_and_are_checked() {
        let mut a = [0u8; 100];
        let mut b = [0u8; 100];
        fill_request(1, 7, 0, &mut a);
        fill_request(1, 8, 0, &mut b);
        assert_ne!(a, b);
        fill_request(2, 7, 0, &mut b);
        assert_ne!(a, b);
        assert_eq!(request_mismatches(1, 7, 0, &a), 0);
        assert_eq!(request_mismatches(1, 7, 10, &a[10..]), 0);
        assert_eq!(request_mismatches(1, 7, 0, &a[1..]), 99, "shifted by one");
        let mut c = a;
        c[50] ^= 0x10;
        assert_eq!(request_mismatches(1, 7, 0, &c), 1);
        // Longer than the checker's block, checked from an odd offset.
        let mut big = vec![0u8; 1000];
        fill_request(3, 9, 0, &mut big);
        assert_eq!(request_mismatches(3, 9, 13, &big[13..]), 0);
        big[700] ^= 1;
        big[999] ^= 1;
        assert_eq!(request_mismatches(3, 9, 13, &big[13..]), 2);
    }

    /// One connection, one 64-byte request, to 10.0.0.1:7.
    fn smallest_config() -> ClientConfig {
        ClientConfig {
            server: SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 7),
            conns: 1,
            requests: 1,
            size: 64,
            pipeline: 1,
            warmup: 0,
        }
    }

    #[test]
    fn config_validation_names_the_bad_flag() {
        let ok = smallest_config();
        assert!(ok.validate(64).is_ok());
        assert!(ClientConfig { conns: 0, ..ok }.validate(64).is_err());
        assert!(ClientConfig { pipeline: 65, ..ok }.validate(64).is_err());
        assert!(ClientConfig { size: 0, ..ok }.validate(64).is_err());
    }

    /// Client and echo server over an in-memory link on a virtual clock.
    #[test]
    fn client_and_echo_server_agree_over_a_fake_link() {
        let (a, b) = FakeLink::pair([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], 1024, 2048);
        let clock = VirtualClock::new();
        let net = |last| NetConfig::new(Ipv4Addr::new(10, 0, 0, last), 24);
        let rt = RuntimeConfig::default();
        let server = Ev::new(EchoIx::new(Services::default()), EvConfig::default());
        let cfg = ClientConfig {
            conns: 4,
            requests: 50,
            size: 100,
            pipeline: 3,
            warmup: 2,
            ..smallest_config()
        };
        let client = EchoClient::new(cfg).expect("client");
        let done = client.finished_flag();
        let client = Ev::new(client, EvConfig::default());
        let tcp = TcpConfig::default();
        let mut s = ElasticThread::new(
            Parts::new(a, clock.clone(), net(1), tcp.clone(), server),
            rt.clone(),
        )
        .expect("server");
        let mut c = ElasticThread::new(Parts::new(b, clock.clone(), net(2), tcp, client), rt)
            .expect("client");
        for _ in 0..100_000 {
            s.iterate();
            c.iterate();
            clock.advance(Duration::from_micros(10));
            if done.load(Ordering::Acquire) {
                break;
            }
        }
        assert!(done.load(Ordering::Acquire), "the client finished");
        let r = c.handler().app().report();
        assert!(r.ok(), "{r}");
        assert_eq!(r.completed, 200);
        assert_eq!(r.rtt_samples, 4 * 48, "warm-up requests are not timed");
        assert!(r.rtt_p50_ns > 0 && r.rtt_p50_ns <= r.rtt_p99_ns);
        assert!(r.to_string().contains("completed=200 errors=0"));
        assert_eq!(s.handler().app().stats().echoed_bytes, 200 * 100);
    }
}

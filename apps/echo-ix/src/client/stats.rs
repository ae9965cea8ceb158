//! The client's statistics: [`ClientStats`], the counters, moments and round-trip
//! histogram kept while it runs, and [`ClientReport`], their summary printed as the
//! `RESULT` line.

use super::config::ClientConfig;
use hdrhistogram::Histogram;
use ix_nic::Instant;
use std::fmt;
use std::time::Duration;

/// Histogram upper bound: 60 s in nanoseconds.
const HIST_MAX_NS: u64 = 60_000_000_000;

/// What the client counted so far, over all connections; the state machine and
/// the request schedule tell it what happened, it keeps what the report needs.
pub(crate) struct ClientStats {
    /// Round trips, ns.
    hist: Histogram<u64>,
    /// Connections established.
    connected: u64,
    /// Requests whose whole echo arrived.
    completed: u64,
    /// Echoed bytes that differed from what was sent.
    byte_errors: u64,
    /// Bytes received beyond what was sent.
    extra_bytes: u64,
    /// Connections that failed to open or ended before all their echoes arrived.
    failed_conns: u64,
    /// Times a request buffer could not be allocated (retried).
    alloc_failures: u64,
    /// When the first connect was made.
    first_connect: Option<Instant>,
    /// When the last connection was established.
    all_connected: Option<Instant>,
    /// When the first request was sent.
    first_send: Option<Instant>,
    /// When the last response arrived.
    last_response: Option<Instant>,
}

impl ClientStats {
    /// Nothing counted yet; allocates the histogram now.
    pub(super) fn new() -> Result<Self, String> {
        let hist = Histogram::new_with_bounds(1, HIST_MAX_NS, 3)
            .map_err(|e| format!("latency histogram: {e}"))?;
        Ok(ClientStats {
            hist,
            connected: 0,
            completed: 0,
            byte_errors: 0,
            extra_bytes: 0,
            failed_conns: 0,
            alloc_failures: 0,
            first_connect: None,
            all_connected: None,
            first_send: None,
            last_response: None,
        })
    }

    /// The round-trip histogram (ns).
    pub(super) fn histogram(&self) -> &Histogram<u64> {
        &self.hist
    }

    /// Requests whose whole echo arrived so far.
    pub(super) fn completed(&self) -> u64 {
        self.completed
    }

    /// Connects are being made at `now` (the first call starts the connect time).
    pub(super) fn connecting(&mut self, now: Instant) {
        if self.first_connect.is_none() {
            self.first_connect = Some(now);
        }
    }

    /// One more connection was established at `now`, of `conns` in all.
    pub(super) fn connected(&mut self, now: Instant, conns: u32) {
        self.connected += 1;
        if self.connected == u64::from(conns) {
            self.all_connected = Some(now);
        }
    }

    /// A connection failed to open or ended before all its echoes arrived.
    pub(super) fn conn_failed(&mut self) {
        self.failed_conns += 1;
    }

    /// A request buffer could not be allocated.
    pub(super) fn alloc_failed(&mut self) {
        self.alloc_failures += 1;
    }

    /// `n` echoed (or unsendable) bytes were wrong.
    pub(super) fn bytes_wrong(&mut self, n: u64) {
        self.byte_errors += n;
    }

    /// `n` bytes arrived beyond what was sent.
    pub(super) fn bytes_extra(&mut self, n: u64) {
        self.extra_bytes += n;
    }

    /// A request was sent at `now` (the first one starts the elapsed time).
    pub(super) fn request_sent(&mut self, now: Instant) {
        if self.first_send.is_none() {
            self.first_send = Some(now);
        }
    }

    /// A request's whole echo arrived at `now`; `rtt` is its round trip if it is
    /// timed (past the warm-up), recorded as at least 1 ns and saturating at the
    /// histogram's bound.
    pub(super) fn request_completed(&mut self, now: Instant, rtt: Option<Duration>) {
        if let Some(rtt) = rtt {
            let ns = rtt.as_nanos();
            self.hist
                .saturating_record(u64::try_from(ns).unwrap_or(u64::MAX).max(1));
        }
        self.completed += 1;
        self.last_response = Some(now);
    }

    /// The summary of running `cfg` so far.
    pub(super) fn report(&self, cfg: ClientConfig) -> ClientReport {
        let ms = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(a), Some(b)) => b.saturating_since(a).as_secs_f64() * 1e3,
            _ => 0.0,
        };
        let elapsed_s = ms(self.first_send, self.last_response) / 1e3;
        let h = &self.hist;
        let empty = h.is_empty();
        let q = |q: f64| if empty { 0 } else { h.value_at_quantile(q) };
        ClientReport {
            cfg,
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

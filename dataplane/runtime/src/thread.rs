//! [`ElasticThread`]: IX's elastic thread: one run-to-completion loop owning a NIC
//! queue pair, its stack and its application.
//!
//! One iteration: receive a burst (what is queued, up to the batch bound, never
//! waited for) -> Ethernet/IP/TCP (timers and acknowledgements out) -> the batch of
//! event conditions and the previous calls' completions to the handler -> its calls
//! run -> what they produced is transmitted. An idle loop backs off. A panic in the
//! handler is contained at this boundary.

use crate::backoff::Backoff;
use crate::config::{PanicPolicy, RuntimeConfig};
use crate::control::{Control, Shared};
use crate::error::RuntimeError;
use crate::linked::LinkedTransport;
use crate::stats::{Counters, Snapshot};
use crossbeam_channel::{Receiver, TryRecvError};
use ix_nic::{Clock, Instant, Nic};
use ix_tcp::TcpConfig;
use libix::handler::{events_contained, start_contained};
use libix::{CallQueue, ConnId, EventBatch, Handler, Transport};
use std::sync::atomic::Ordering;

/// Everything an elastic thread is built from (made on the thread itself when
/// spawned: the TCP engine's buffers are not `Send`).
#[derive(Debug)]
pub struct Parts<N, C, H> {
    /// The NIC queue pair.
    pub nic: N,
    /// The clock.
    pub clock: C,
    /// The interface's configuration.
    pub net: ix_net::Config,
    /// The TCP engine's configuration.
    pub tcp: TcpConfig,
    /// The application.
    pub handler: H,
}

impl<N, C, H> Parts<N, C, H> {
    /// Bundles the parts.
    pub fn new(nic: N, clock: C, net: ix_net::Config, tcp: TcpConfig, handler: H) -> Self {
        Parts {
            nic,
            clock,
            net,
            tcp,
            handler,
        }
    }
}

/// One elastic thread's state; [`ElasticThread::run`] is its loop,
/// [`ElasticThread::iterate`] one turn of it (tests drive it directly).
pub struct ElasticThread<N: Nic, C: Clock, H: Handler<N::Pool>> {
    transport: LinkedTransport<N, C>,
    handler: H,
    batch: EventBatch<N::Pool>,
    calls: CallQueue<N::Pool>,
    /// Connections of the batch being handled (reset if the handler panics).
    involved: Vec<ConnId>,
    cfg: RuntimeConfig,
    counters: Counters,
    started: bool,
    failed: bool,
    shared: Shared,
    backoff: Backoff,
    last_publish: Instant,
}

impl<N: Nic, C: Clock, H: Handler<N::Pool>> core::fmt::Debug for ElasticThread<N, C, H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ElasticThread")
            .field("thread", &self.cfg.thread)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

/// The text of a panic payload.
fn panic_text(p: &(dyn std::any::Any + Send)) -> &str {
    p.downcast_ref::<&str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic)")
}

impl<N: Nic, C: Clock, H: Handler<N::Pool>> ElasticThread<N, C, H> {
    /// Builds the thread's stack from `parts` and `cfg`; allocates everything now.
    pub fn new(parts: Parts<N, C, H>, cfg: RuntimeConfig) -> Result<Self, RuntimeError> {
        let transport = LinkedTransport::new(parts.nic, parts.clock, parts.net, parts.tcp, &cfg)?;
        let now = transport.now();
        Ok(ElasticThread {
            batch: EventBatch::new(cfg.max_events, cfg.max_calls),
            calls: CallQueue::new(cfg.max_calls),
            involved: Vec::with_capacity(cfg.max_events),
            backoff: Backoff::new(cfg.idle),
            handler: parts.handler,
            transport,
            cfg,
            counters: Counters::default(),
            started: false,
            failed: false,
            shared: Shared::default(),
            last_publish: now,
        })
    }

    /// Connects the thread to outside readers (heartbeat, published snapshots).
    pub fn attach(&mut self, shared: Shared) {
        self.shared = shared;
    }

    /// The application.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// The application, mutably.
    pub fn handler_mut(&mut self) -> &mut H {
        &mut self.handler
    }

    /// The transport (interface, engine, meters).
    pub fn transport(&self) -> &LinkedTransport<N, C> {
        &self.transport
    }

    /// The transport, mutably.
    pub fn transport_mut(&mut self) -> &mut LinkedTransport<N, C> {
        &mut self.transport
    }

    /// The loop's counters so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Whether a handler panic marked the instance failed.
    pub fn is_failed(&self) -> bool {
        self.failed
    }

    /// Everything counted so far (copies fixed-size arrays; no allocation).
    pub fn snapshot(&self) -> Snapshot {
        let t = &self.transport;
        Snapshot {
            thread: self.cfg.thread,
            at_ns: t.now().as_nanos(),
            counters: self.counters,
            nic: *t.meter(),
            copied_bytes: ix_nic::copy::copied_bytes(),
            conns: t.tcp().conn_count(),
            timers: t.timers_armed(),
            failed: self.failed,
            net: t.iface().stats().clone(),
            tcp: t.tcp().stats().clone(),
        }
    }

    /// Runs the application's `start`, then its calls.
    fn start(&mut self) {
        self.started = true;
        let now = self.transport.now();
        let result = start_contained(
            &mut self.handler,
            &mut self.calls,
            self.transport.pool(),
            now,
        );
        if let Err(p) = result {
            self.contain(&*p);
        }
        self.transport.execute(&mut self.calls, &mut self.batch);
        self.transport.flush();
    }

    /// One turn of the loop; returns whether it found work.
    pub fn iterate(&mut self) -> bool {
        let t0 = self.transport.now();
        if !self.started {
            self.start();
        }
        let n = self.transport.poll(&mut self.batch);
        let report = self.transport.last_report();
        let mut work = n > 0 || !report.is_idle();
        if self.batch.has_work() {
            work = true;
            self.counters.events += self.batch.len() as u64;
            self.handle();
            self.batch.clear_events();
            self.batch.clear_completions();
            self.counters.calls += self.calls.len() as u64;
            self.transport.execute(&mut self.calls, &mut self.batch);
            self.transport.flush();
        }
        self.counters.iterations += 1;
        self.shared
            .heartbeat
            .store(self.counters.iterations, Ordering::Relaxed);
        let spent = self.transport.now().saturating_since(t0).as_nanos() as u64;
        if work {
            self.counters.busy_iterations += 1;
            self.counters.busy_ns += spent;
        } else {
            self.counters.idle_ns += spent;
        }
        work
    }

    /// Hands the batch to the handler, containing a panic.
    fn handle(&mut self) {
        self.counters.handler_runs += 1;
        let now = self.transport.now();
        let result = events_contained(
            &mut self.handler,
            &mut self.batch,
            &mut self.calls,
            self.transport.pool(),
            now,
            &mut self.involved,
        );
        if let Err(p) = result {
            self.contain(&*p);
        }
    }

    /// After a handler panic: drop its calls and the rest of its batch, reset the
    /// connections the batch was about, count, log, and apply the policy.
    fn contain(&mut self, payload: &(dyn std::any::Any + Send)) {
        self.counters.handler_panics += 1;
        self.calls.clear();
        self.batch.clear_events();
        let mut reset = 0u64;
        for i in 0..self.involved.len() {
            if let Some(&c) = self.involved.get(i) {
                if self.transport.reset(c) {
                    reset += 1;
                }
            }
        }
        self.counters.panic_resets += reset;
        tracing::error!(
            thread = self.cfg.thread,
            panic = panic_text(payload),
            connections_reset = reset,
            "application handler panicked"
        );
        if self.cfg.panic_policy == PanicPolicy::FailInstance {
            self.failed = true;
        }
    }

    /// Publishes a snapshot if the interval has passed (a bounded channel's free
    /// slot: skipped if readers are behind).
    fn maybe_publish(&mut self) {
        let now = self.transport.now();
        if now.saturating_since(self.last_publish) < self.cfg.stats_interval {
            return;
        }
        self.last_publish = now;
        if let Some(tx) = &self.shared.snapshots {
            let _ = tx.try_send(self.snapshot());
        }
    }

    /// The loop: iterates until told to stop (or the control side is gone), backing
    /// off when idle; returns the final snapshot, or why the instance failed.
    pub fn run(&mut self, control: &Receiver<Control>) -> Result<Snapshot, RuntimeError> {
        let every = u64::from(self.cfg.control_every);
        loop {
            let work = self.iterate();
            if self.failed {
                return Err(RuntimeError::Failed(self.counters.handler_panics));
            }
            if work {
                self.backoff.busy();
            } else {
                let t = self.transport.now();
                self.backoff.wait();
                self.counters.idle_ns += self.transport.now().saturating_since(t).as_nanos() as u64;
            }
            if !work || self.counters.iterations.is_multiple_of(every) {
                match control.try_recv() {
                    Ok(Control::Stop) | Err(TryRecvError::Disconnected) => break,
                    Ok(Control::Stats(reply)) => {
                        let _ = reply.try_send(self.snapshot());
                    }
                    Ok(Control::Conns(reply)) => {
                        let _ = reply.try_send(self.transport.tcp().conns().collect());
                    }
                    Ok(Control::Drain) => {
                        let closing = self.transport.drain();
                        tracing::info!(
                            thread = self.cfg.thread,
                            closing,
                            "draining: listeners closed"
                        );
                        self.transport.flush();
                    }
                    Err(TryRecvError::Empty) => {}
                }
                self.maybe_publish();
            }
        }
        Ok(self.snapshot())
    }
}

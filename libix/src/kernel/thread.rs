//! [`KernelThread`]: one loop over one [`KernelTransport`] and one handler, like an
//! elastic thread (batch in, handler, calls out, write; block in epoll when idle).

use super::config::KernelConfig;
use super::error::KernelError;
use super::stats::KernelStats;
use super::stop::StopHandle;
use super::transport::KernelTransport;
use crate::call::CallQueue;
use crate::event::EventBatch;
use crate::handler::{events_contained, start_contained, Handler};
use crate::id::ConnId;
use crate::transport::Transport;
use ix_nic::heap::HeapPool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// One loop over a [`KernelTransport`] and its application, like an elastic thread:
/// gather up to `batch` events (epoll readiness turned into reads, accepts, timer
/// expiries), hand them and the previous calls' completions to the handler, run its
/// calls in order, write what they queued; block in epoll when there is nothing to
/// do. A panic in the handler is contained: the connections of that batch are reset
/// (each gets `Dead { Aborted }` later) and the loop goes on.
pub struct KernelThread<H: Handler<HeapPool>> {
    transport: KernelTransport,
    handler: H,
    batch: EventBatch<HeapPool>,
    calls: CallQueue<HeapPool>,
    /// Connections of the batch being handled (reset if the handler panics).
    involved: Vec<ConnId>,
    started: bool,
    counters: KernelStats,
    /// Where the iteration count is published for a [`super::KernelRuntime`]'s
    /// `heartbeat` (set by the runtime before the loop runs).
    pub(super) heartbeat: Option<Arc<AtomicU64>>,
}

impl<H: Handler<HeapPool>> core::fmt::Debug for KernelThread<H> {
    /// The transport and whether the application has started.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KernelThread")
            .field("transport", &self.transport)
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

impl<H: Handler<HeapPool>> KernelThread<H> {
    /// Thread `thread`'s loop for `handler` (allocates everything now; nothing runs
    /// until [`KernelThread::start`] or the first iteration).
    pub fn new(cfg: &KernelConfig, thread: usize, handler: H) -> Result<Self, KernelError> {
        let transport = KernelTransport::new(cfg, thread)?;
        Ok(KernelThread {
            transport,
            handler,
            batch: EventBatch::new(cfg.batch, cfg.max_calls),
            calls: CallQueue::new(cfg.max_calls),
            involved: Vec::with_capacity(cfg.batch),
            started: false,
            counters: KernelStats::default(),
            heartbeat: None,
        })
    }

    /// The application.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// The application, mutably.
    pub fn handler_mut(&mut self) -> &mut H {
        &mut self.handler
    }

    /// The transport.
    pub fn transport(&self) -> &KernelTransport {
        &self.transport
    }

    /// The transport, mutably.
    pub fn transport_mut(&mut self) -> &mut KernelTransport {
        &mut self.transport
    }

    /// Everything counted so far: the transport's counters and the loop's.
    pub fn stats(&self) -> KernelStats {
        let c = &self.counters;
        KernelStats {
            iterations: c.iterations,
            busy_iterations: c.busy_iterations,
            handler_runs: c.handler_runs,
            handler_panics: c.handler_panics,
            panic_resets: c.panic_resets,
            events: c.events,
            calls: c.calls,
            busy_ns: c.busy_ns,
            idle_ns: c.idle_ns,
            copied_bytes: ix_nic::copy::copied_bytes(),
            ..self.transport.stats()
        }
    }

    /// Runs the application's `start` and its calls (listen, connect...), once.
    pub fn start(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        let now = self.transport.now();
        let result = start_contained(
            &mut self.handler,
            &mut self.calls,
            self.transport.pool(),
            now,
        );
        if result.is_err() {
            self.counters.handler_panics += 1;
            self.calls.clear();
        }
        self.counters.calls += self.calls.len() as u64;
        self.transport.execute(&mut self.calls, &mut self.batch);
        self.transport.flush();
    }

    /// One turn of the loop without waiting; returns whether it found work.
    pub fn iterate(&mut self) -> bool {
        let t0 = self.transport.now();
        self.start();
        let n = self.transport.poll(&mut self.batch);
        let mut work = n > 0;
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
        if let Some(h) = &self.heartbeat {
            h.store(self.counters.iterations, Ordering::Relaxed);
        }
        let spent = self.transport.now().saturating_since(t0).as_nanos() as u64;
        if work {
            self.counters.busy_iterations += 1;
            self.counters.busy_ns += spent;
        } else {
            self.counters.idle_ns += spent;
        }
        work
    }

    /// One turn; if it found nothing, waits in epoll up to `max` for something to
    /// happen. Returns whether the turn found work.
    pub fn turn(&mut self, max: Duration) -> bool {
        let work = self.iterate();
        if !work {
            self.park(Some(max));
        }
        work
    }

    /// Waits in epoll (up to `max`, and the timers) and counts the time as idle.
    fn park(&mut self, max: Option<Duration>) {
        let t = self.transport.now();
        self.transport.wait(max);
        self.counters.idle_ns += self.transport.now().saturating_since(t).as_nanos() as u64;
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
        if result.is_err() {
            self.counters.handler_panics += 1;
            self.calls.clear();
            self.batch.clear_events();
            for k in 0..self.involved.len() {
                let c = self.involved[k];
                if self.transport.reset(c) {
                    self.counters.panic_resets += 1;
                }
            }
        }
    }

    /// The loop: iterates until `stop` says so, blocking in epoll when idle (a stop
    /// wakes it at once); returns the counters.
    pub fn run(&mut self, stop: &StopHandle) -> KernelStats {
        stop.register(self.transport.waker());
        self.start();
        while !stop.is_stopped() {
            if !self.iterate() {
                self.park(None);
            }
        }
        self.stats()
    }
}

//! Running applications on the kernel transport: [`KernelThread`] (one loop: one
//! transport, one handler), [`KernelRuntime`] (one such thread per core, sharing
//! nothing) and [`StopHandle`].

use super::config::KernelConfig;
use super::error::KernelError;
use super::stats::KernelStats;
use super::transport::KernelTransport;
use crate::call::{CallQueue, Calls};
use crate::event::EventBatch;
use crate::handler::Handler;
use crate::id::ConnId;
use crate::transport::Transport;
use ix_nic::heap::HeapPool;
use mio::Waker;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

#[derive(Default)]
struct StopInner {
    stopped: AtomicBool,
    wakers: Mutex<Vec<Arc<Waker>>>,
}

/// Stops kernel-transport loops from any thread: sets a flag and wakes every loop
/// registered with it out of `epoll_wait`. Clones share the flag.
#[derive(Clone, Default)]
pub struct StopHandle(Arc<StopInner>);

impl core::fmt::Debug for StopHandle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StopHandle")
            .field("stopped", &self.is_stopped())
            .finish()
    }
}

impl StopHandle {
    /// A handle not yet stopped.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells every loop to stop (each finishes its iteration first).
    pub fn stop(&self) {
        self.0.stopped.store(true, Ordering::SeqCst);
        let wakers = self.0.wakers.lock().unwrap_or_else(|e| e.into_inner());
        for w in wakers.iter() {
            let _ = w.wake();
        }
    }

    /// Whether [`StopHandle::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.0.stopped.load(Ordering::SeqCst)
    }

    /// Registers a loop's waker (woken at once if already stopped).
    fn register(&self, w: Arc<Waker>) {
        let mut wakers = self.0.wakers.lock().unwrap_or_else(|e| e.into_inner());
        if self.is_stopped() {
            let _ = w.wake();
        }
        wakers.push(w);
    }
}

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
    involved: Vec<ConnId>,
    started: bool,
    counters: KernelStats,
    heartbeat: Option<Arc<AtomicU64>>,
}

impl<H: Handler<HeapPool>> core::fmt::Debug for KernelThread<H> {
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
        let result = {
            let mut calls = Calls::new(&mut self.calls, self.transport.pool(), now);
            let handler = &mut self.handler;
            catch_unwind(AssertUnwindSafe(|| handler.start(&mut calls)))
        };
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

    fn park(&mut self, max: Option<Duration>) {
        let t = self.transport.now();
        self.transport.wait(max);
        self.counters.idle_ns += self.transport.now().saturating_since(t).as_nanos() as u64;
    }

    /// Hands the batch to the handler, containing a panic.
    fn handle(&mut self) {
        self.involved.clear();
        for ev in self.batch.events() {
            if let Some(c) = ev.conn() {
                if self.involved.len() < self.involved.capacity() {
                    self.involved.push(c);
                }
            }
        }
        self.counters.handler_runs += 1;
        let now = self.transport.now();
        let result = {
            let mut calls = Calls::new(&mut self.calls, self.transport.pool(), now);
            let (handler, batch) = (&mut self.handler, &mut self.batch);
            catch_unwind(AssertUnwindSafe(|| handler.events(batch, &mut calls)))
        };
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

/// What one thread of a [`KernelRuntime`] ended with.
#[derive(Debug, Clone)]
pub struct ThreadReport<R> {
    /// The thread's index.
    pub thread: usize,
    /// Its counters.
    pub stats: KernelStats,
    /// What the `finish` function made of its application.
    pub app: R,
}

type ThreadResult<R> = Result<ThreadReport<R>, KernelError>;

/// An application on the kernel transport: one [`KernelThread`] per configured
/// thread (pinned to `cores` if given), each with its own epoll instance, listeners
/// (`SO_REUSEPORT`: the kernel spreads a port's connections over the threads),
/// buffer pool and handler. Nothing is shared but the stop flag.
pub struct KernelRuntime<R> {
    stop: StopHandle,
    threads: Vec<JoinHandle<ThreadResult<R>>>,
    listening: Vec<Vec<u16>>,
    heartbeats: Vec<Arc<AtomicU64>>,
}

impl<R> core::fmt::Debug for KernelRuntime<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KernelRuntime")
            .field("threads", &self.threads.len())
            .field("listening", &self.listening)
            .finish_non_exhaustive()
    }
}

enum Startup {
    Ready(usize, Vec<u16>),
    Failed(usize, String),
}

impl<R: Send + 'static> KernelRuntime<R> {
    /// Starts `cfg.threads` threads. Thread `i` builds its handler with `make(i)` on
    /// itself (handlers need not be `Send`), runs its `start` (listen, connect...),
    /// then loops until stopped; `finish(i, &mut handler)` then makes its report.
    /// Returns once every thread has started, with the ports each listens on.
    pub fn spawn<H, F, G>(cfg: KernelConfig, make: F, finish: G) -> Result<Self, KernelError>
    where
        H: Handler<HeapPool> + 'static,
        F: Fn(usize) -> H + Send + Sync + 'static,
        G: Fn(usize, &mut H) -> R + Send + Sync + 'static,
    {
        cfg.validate()?;
        let stop = StopHandle::new();
        let make = Arc::new(make);
        let finish = Arc::new(finish);
        let (ready_tx, ready_rx) = mpsc::channel();
        let mut rt = KernelRuntime {
            stop: stop.clone(),
            threads: Vec::with_capacity(cfg.threads),
            listening: vec![Vec::new(); cfg.threads],
            heartbeats: Vec::with_capacity(cfg.threads),
        };
        for t in 0..cfg.threads {
            let heartbeat = Arc::new(AtomicU64::new(0));
            rt.heartbeats.push(Arc::clone(&heartbeat));
            let (cfg, stop, make, finish, ready) = (
                cfg.clone(),
                stop.clone(),
                Arc::clone(&make),
                Arc::clone(&finish),
                ready_tx.clone(),
            );
            let join = std::thread::Builder::new()
                .name(format!("ix-kernel-{t}"))
                .spawn(move || -> ThreadResult<R> {
                    let fail = |e: KernelError| {
                        let _ = ready.send(Startup::Failed(t, e.to_string()));
                        Err(e)
                    };
                    if let Some(&core) = cfg.cores.get(t % cfg.cores.len().max(1)) {
                        if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
                            return fail(KernelError::Pin(core));
                        }
                    }
                    let mut th = match KernelThread::new(&cfg, t, make(t)) {
                        Ok(th) => th,
                        Err(e) => return fail(e),
                    };
                    th.heartbeat = Some(heartbeat);
                    th.start();
                    let _ = ready.send(Startup::Ready(t, th.transport().listening()));
                    let stats = th.run(&stop);
                    let app = finish(t, th.handler_mut());
                    Ok(ThreadReport {
                        thread: t,
                        stats,
                        app,
                    })
                });
            match join {
                Ok(j) => rt.threads.push(j),
                Err(e) => {
                    rt.shutdown();
                    return Err(KernelError::Io(e));
                }
            }
        }
        drop(ready_tx);
        for _ in 0..cfg.threads {
            match ready_rx.recv() {
                Ok(Startup::Ready(t, ports)) => rt.listening[t] = ports,
                Ok(Startup::Failed(thread, message)) => {
                    rt.shutdown();
                    return Err(KernelError::Thread { thread, message });
                }
                Err(_) => {
                    rt.shutdown();
                    return Err(KernelError::Panicked);
                }
            }
        }
        Ok(rt)
    }

    /// A handle that stops every thread (for signal handlers, other threads).
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Tells every thread to stop.
    pub fn stop(&self) {
        self.stop.stop();
    }

    /// The ports each thread listened on once its application had started.
    pub fn listening(&self) -> &[Vec<u16>] {
        &self.listening
    }

    /// Loop iterations thread `thread` has completed (moves while it is alive).
    pub fn heartbeat(&self, thread: usize) -> u64 {
        self.heartbeats
            .get(thread)
            .map_or(0, |h| h.load(Ordering::Relaxed))
    }

    /// Stops every thread and waits for them: their reports in thread order.
    pub fn join(mut self) -> Result<Vec<ThreadReport<R>>, KernelError> {
        self.stop.stop();
        let mut out = Vec::with_capacity(self.threads.len());
        let mut first_err = None;
        for j in self.threads.drain(..) {
            match j.join() {
                Ok(Ok(r)) => out.push(r),
                Ok(Err(e)) => {
                    first_err.get_or_insert(e);
                }
                Err(_) => {
                    first_err.get_or_insert(KernelError::Panicked);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    fn shutdown(&mut self) {
        self.stop.stop();
        for j in self.threads.drain(..) {
            let _ = j.join();
        }
    }
}

impl<R> Drop for KernelRuntime<R> {
    fn drop(&mut self) {
        self.stop.stop();
        for j in self.threads.drain(..) {
            let _ = j.join();
        }
    }
}

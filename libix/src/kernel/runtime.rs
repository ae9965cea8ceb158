//! [`KernelRuntime`]: an application on the kernel transport, one [`KernelThread`]
//! per configured thread (pinned if asked), sharing nothing but the stop flag.

use super::config::KernelConfig;
use super::error::KernelError;
use super::stats::KernelStats;
use super::stop::StopHandle;
use super::thread::KernelThread;
use crate::handler::Handler;
use ix_nic::heap::HeapPool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

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

/// What a runtime thread's closure returns.
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
    /// The number of threads and the ports each listens on.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KernelRuntime")
            .field("threads", &self.threads.len())
            .field("listening", &self.listening)
            .finish_non_exhaustive()
    }
}

/// What a runtime thread reports once it has started (or failed to).
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

    /// Stops every thread started so far and waits for them (a failed `spawn`).
    fn shutdown(&mut self) {
        self.stop.stop();
        for j in self.threads.drain(..) {
            let _ = j.join();
        }
    }
}

impl<R> Drop for KernelRuntime<R> {
    /// Stops every thread and waits for them (their reports are dropped).
    fn drop(&mut self) {
        self.stop.stop();
        for j in self.threads.drain(..) {
            let _ = j.join();
        }
    }
}

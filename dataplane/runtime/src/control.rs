//! Talking to an elastic thread from outside: control messages in, heartbeat and
//! statistics out, and [`spawn`] to start one pinned to its core.

use crate::config::RuntimeConfig;
use crate::error::RuntimeError;
use crate::stats::Snapshot;
use crate::thread::{ElasticThread, Parts};
use crossbeam_channel::{bounded, Receiver, Sender};
use ix_nic::{Clock, Nic};
use libix::Handler;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A message to an elastic thread, checked without blocking every few iterations.
#[derive(Debug)]
pub enum Control {
    /// Finish the current iteration and return.
    Stop,
    /// Send a snapshot of the statistics to this channel now.
    Stats(Sender<Snapshot>),
    /// Send a snapshot of every TCP connection (4-tuple, state) to this channel now
    /// (allocates on the thread: a monitoring request, never per packet).
    Conns(Sender<Vec<ix_tcp::ConnInfo>>),
    /// Begin a graceful shutdown: stop listening (new connections are refused) and
    /// close every connection; the thread keeps running until told to [`Control::Stop`].
    Drain,
}

/// What a thread shares with its readers: the heartbeat (iterations, stored Relaxed
/// once per iteration) and the channel periodic snapshots go to.
#[derive(Debug, Clone, Default)]
pub struct Shared {
    /// The number of loop iterations so far.
    pub heartbeat: Arc<AtomicU64>,
    /// Where periodic snapshots go (bounded: skipped when readers are behind).
    pub snapshots: Option<Sender<Snapshot>>,
}

/// Snapshots kept waiting for a slow reader before new ones are skipped.
const SNAPSHOT_SLOTS: usize = 4;

/// The outside handle of a spawned elastic thread.
#[derive(Debug)]
pub struct ElasticHandle {
    control: Sender<Control>,
    heartbeat: Arc<AtomicU64>,
    snapshots: Receiver<Snapshot>,
    latest: Option<Snapshot>,
    join: Option<JoinHandle<Result<Snapshot, RuntimeError>>>,
}

impl ElasticHandle {
    /// Iterations the thread has completed (moves while it is alive and looping).
    pub fn heartbeat(&self) -> u64 {
        self.heartbeat.load(Ordering::Relaxed)
    }

    /// The newest periodically published snapshot, if any was published yet.
    pub fn latest_stats(&mut self) -> Option<&Snapshot> {
        while let Ok(s) = self.snapshots.try_recv() {
            self.latest = Some(s);
        }
        self.latest.as_ref()
    }

    /// Asks the thread for a snapshot now and waits up to `timeout` for it.
    pub fn request_stats(&self, timeout: Duration) -> Option<Snapshot> {
        let (tx, rx) = bounded(1);
        self.control
            .send_timeout(Control::Stats(tx), timeout)
            .ok()?;
        rx.recv_timeout(timeout).ok()
    }

    /// Asks the thread for its connections now and waits up to `timeout` for them.
    pub fn request_conns(&self, timeout: Duration) -> Option<Vec<ix_tcp::ConnInfo>> {
        let (tx, rx) = bounded(1);
        self.control
            .send_timeout(Control::Conns(tx), timeout)
            .ok()?;
        rx.recv_timeout(timeout).ok()
    }

    /// Tells the thread to stop listening and close its connections gracefully
    /// (it keeps running; [`ElasticHandle::stop`] ends it); false if the control
    /// channel is full or the thread is gone.
    pub fn drain(&self) -> bool {
        self.control.try_send(Control::Drain).is_ok()
    }

    /// Whether the thread has ended (stopped, failed or panicked).
    pub fn is_finished(&self) -> bool {
        self.join.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Tells the thread to stop (it finishes its iteration first).
    pub fn stop(&self) {
        let _ = self.control.try_send(Control::Stop);
    }

    /// Stops the thread and waits for it: its final snapshot, or why it failed.
    pub fn join(mut self) -> Result<Snapshot, RuntimeError> {
        self.stop();
        match self.join.take() {
            Some(j) => j.join().map_err(|_| RuntimeError::Panicked)?,
            None => Err(RuntimeError::Panicked),
        }
    }
}

impl Drop for ElasticHandle {
    fn drop(&mut self) {
        if let Some(j) = self.join.take() {
            let _ = self.control.try_send(Control::Stop);
            let _ = j.join();
        }
    }
}

/// A control channel for a thread run by hand ([`ElasticThread::run`] on the current
/// thread): the sender to keep, the receiver to pass to `run`.
pub fn control_channel() -> (Sender<Control>, Receiver<Control>) {
    bounded(16)
}

/// Pins the calling thread to `core` (for elastic threads run by hand).
pub fn pin_current_thread(core: usize) -> Result<(), RuntimeError> {
    if core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
        Ok(())
    } else {
        Err(RuntimeError::Pin(core))
    }
}

/// Starts an elastic thread: pins it to `cfg.core` (if set), calls `build` on it
/// (the stack's buffers are not `Send`, so they are made where they live), then
/// runs the loop until stopped.
pub fn spawn<N, C, H, F>(cfg: RuntimeConfig, build: F) -> Result<ElasticHandle, RuntimeError>
where
    N: Nic + 'static,
    C: Clock + 'static,
    H: Handler<N::Pool> + 'static,
    F: FnOnce() -> Result<Parts<N, C, H>, String> + Send + 'static,
{
    cfg.validate()?;
    let (control, control_rx) = control_channel();
    let (snap_tx, snapshots) = bounded(SNAPSHOT_SLOTS);
    let shared = Shared {
        heartbeat: Arc::new(AtomicU64::new(0)),
        snapshots: Some(snap_tx),
    };
    let heartbeat = Arc::clone(&shared.heartbeat);
    let join = std::thread::Builder::new()
        .name(format!("ix-elastic-{}", cfg.thread))
        .spawn(move || {
            if let Some(core) = cfg.core {
                pin_current_thread(core)?;
            }
            let parts = build().map_err(RuntimeError::Build)?;
            let mut t = ElasticThread::new(parts, cfg)?;
            t.attach(shared);
            t.run(&control_rx)
        })?;
    Ok(ElasticHandle {
        control,
        heartbeat,
        snapshots,
        latest: None,
        join: Some(join),
    })
}

//! Starting and stopping the process's dataplane instance for `--transport libix`.
//!
//! `ix_instance::run` blocks until the instance stops, so it runs on a thread of its
//! own (which enters the tap's namespace and starts the EAL; the rest of the process
//! stays where it was). Each elastic thread's handler is a [`LoadDriver`]; once all
//! are built the instance is ready. At the end the binary asks for a stop through
//! the instance's [`StopHandle`] and waits for everything to be released.

use super::driver::LoadDriver;
use super::Dataplane;
use crate::error::{LoadgenError, Result};
use ix_instance::spec::InstanceSpec;
use ix_instance::{StopHandle, ThreadCtx};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the port and the elastic threads may take to come up.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The instance running on its own thread.
#[derive(Debug)]
pub struct RunningInstance {
    thread: Option<JoinHandle<anyhow::Result<()>>>,
    stop: Arc<OnceLock<StopHandle>>,
    name: String,
}

/// Starts the instance `spec` describes with a load driver per core, installs it
/// as the process's dataplane and waits until every elastic thread runs.
pub fn start(spec: InstanceSpec) -> Result<RunningInstance> {
    let threads = spec.cores.len();
    let name = spec.name.clone();
    let share_core = spec.idle_backoff;
    let (dataplane, ends) = Dataplane::new(threads);
    dataplane.install()?;
    let ends: Arc<Mutex<Vec<_>>> = Arc::new(Mutex::new(ends.into_iter().map(Some).collect()));
    let stop: Arc<OnceLock<StopHandle>> = Arc::new(OnceLock::new());
    let built = Arc::new(AtomicUsize::new(0));
    let (stop2, built2) = (Arc::clone(&stop), Arc::clone(&built));
    let make = move |ctx: ThreadCtx| {
        let _ = stop2.set(ctx.stop.clone());
        let taken = ends
            .lock()
            .ok()
            .and_then(|mut e| e.get_mut(ctx.thread).and_then(Option::take));
        built2.fetch_add(1, Ordering::AcqRel);
        match taken {
            Some((commands, replies)) => LoadDriver::new(commands, replies, share_core),
            // A restarted thread (never in practice): a driver nobody talks to.
            None => {
                let (_, commands) = std::sync::mpsc::channel();
                let (replies, _) = std::sync::mpsc::channel();
                LoadDriver::new(commands, replies, share_core)
            }
        }
    };
    let thread = std::thread::Builder::new()
        .name("ix-instance".into())
        .spawn(move || ix_instance::run(spec, make))
        .map_err(|e| LoadgenError::io("spawn the instance thread", e))?;
    let mut running = RunningInstance {
        thread: Some(thread),
        stop,
        name,
    };
    let since = Instant::now();
    while built.load(Ordering::Acquire) < threads {
        if running.thread.as_ref().is_some_and(JoinHandle::is_finished) {
            let why = running.join();
            return Err(LoadgenError::Config(format!(
                "the dataplane instance did not start: {why}"
            )));
        }
        if since.elapsed() > READY_TIMEOUT {
            return Err(LoadgenError::Config(format!(
                "the dataplane instance was not up after {READY_TIMEOUT:?}"
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(running)
}

impl RunningInstance {
    /// Whether the instance has ended by itself (a signal, a failure).
    pub fn has_ended(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    fn join(&mut self) -> String {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(Ok(()))) => "stopped".into(),
            Some(Ok(Err(e))) => format!("{e:#}"),
            Some(Err(_)) => "its thread panicked".into(),
            None => "already stopped".into(),
        }
    }

    /// Stops the instance (connections drained, port closed, EAL cleaned up) and
    /// waits for it.
    pub fn stop(mut self) -> Result<()> {
        self.request_stop();
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(Ok(()))) | None => Ok(()),
            Some(Ok(Err(e))) => Err(LoadgenError::Config(format!(
                "instance {}: {e:#}",
                self.name
            ))),
            Some(Err(_)) => Err(LoadgenError::Config(format!(
                "instance {}: its thread panicked",
                self.name
            ))),
        }
    }

    fn request_stop(&self) {
        if let Some(s) = self.stop.get() {
            s.request_stop();
        }
    }
}

impl Drop for RunningInstance {
    fn drop(&mut self) {
        self.request_stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

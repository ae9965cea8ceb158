//! `--transport libix`: the load generator as a kernel-bypass client on the
//! dataplane, as the IX paper's clients were. The process runs one dataplane
//! instance (`ix_instance::run` on the spec given with `--ix-spec`: a DPDK tap
//! port, one end of a vhost/virtio pair, ...), one elastic thread per core of the
//! spec, each running a [`driver::LoadDriver`] as its libix handler.
//!
//! Everything above the transport (runner, master, agents) is unchanged: each load
//! thread's [`Transport`] is a [`DataplaneTransport`] bound to one elastic thread,
//! which it drives by [`driver::Command`]s over a channel. The instance lives for
//! the whole process (DPDK's EAL starts once per process), so it is a process-wide
//! [`Dataplane`], started by the binary before anything runs and stopped at the end.

pub mod commands;
pub mod driver;
pub mod instance;
pub mod link;

use super::Transport;
use crate::clock::Clock;
use crate::conn::Connection;
use crate::error::{LoadgenError, Result};
use commands::{Command, Job, Reply};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub use instance::{start, RunningInstance};

/// How long a connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long closing the connections may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Slack beyond a drive's deadline before the elastic thread is declared stuck.
const DRIVE_SLACK: Duration = Duration::from_secs(10);

/// A driver's ends of its channels: commands in, replies out.
pub type DriverEnds = (Receiver<Command>, Sender<Reply>);

/// The runner's end of one elastic thread's driver.
#[derive(Debug)]
pub struct ThreadSlot {
    /// The elastic thread's index.
    pub thread: usize,
    commands: Sender<Command>,
    replies: Mutex<Receiver<Reply>>,
    busy: AtomicBool,
}

/// The running instance's elastic threads, as load threads can claim them.
#[derive(Debug)]
pub struct Dataplane {
    slots: Vec<Arc<ThreadSlot>>,
}

static DATAPLANE: OnceLock<Dataplane> = OnceLock::new();

impl Dataplane {
    /// Slots for `threads` drivers, and each driver's ends of their channels.
    pub fn new(threads: usize) -> (Dataplane, Vec<DriverEnds>) {
        let mut slots = Vec::with_capacity(threads);
        let mut ends = Vec::with_capacity(threads);
        for thread in 0..threads {
            let (ctx, crx) = std::sync::mpsc::channel();
            let (rtx, rrx) = std::sync::mpsc::channel();
            slots.push(Arc::new(ThreadSlot {
                thread,
                commands: ctx,
                replies: Mutex::new(rrx),
                busy: AtomicBool::new(false),
            }));
            ends.push((crx, rtx));
        }
        (Dataplane { slots }, ends)
    }

    /// Makes `self` the process's dataplane (once per process: the EAL's rule).
    pub fn install(self) -> Result<()> {
        DATAPLANE
            .set(self)
            .map_err(|_| LoadgenError::Config("a dataplane instance is already running".into()))
    }

    /// Elastic threads (load threads that can run at once).
    pub fn threads(&self) -> usize {
        self.slots.len()
    }
}

/// One load thread's connections on a claimed elastic thread; released (its
/// connections closed) on drop.
#[derive(Debug)]
pub struct DataplaneTransport {
    slot: Arc<ThreadSlot>,
    conns: usize,
}

impl DataplaneTransport {
    /// Claims a free elastic thread of the process's dataplane.
    pub fn new() -> Result<Self> {
        let dp = DATAPLANE.get().ok_or_else(|| {
            LoadgenError::Config(
                "--transport libix: no dataplane instance is running (--ix-spec)".into(),
            )
        })?;
        for slot in &dp.slots {
            if slot
                .busy
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return Ok(DataplaneTransport {
                    slot: Arc::clone(slot),
                    conns: 0,
                });
            }
        }
        Err(LoadgenError::Config(format!(
            "--transport libix: more load threads than the instance's {} cores (-T)",
            dp.slots.len()
        )))
    }

    fn ask(&self, cmd: Command, timeout: Duration) -> Result<Reply> {
        let replies = self
            .slot
            .replies
            .lock()
            .map_err(|_| LoadgenError::Config("dataplane: a load thread panicked".into()))?;
        self.slot.commands.send(cmd).map_err(|_| gone())?;
        match replies.recv_timeout(timeout) {
            Ok(r) => Ok(r),
            Err(RecvTimeoutError::Timeout) => Err(LoadgenError::Config(format!(
                "dataplane: elastic thread {} did not answer in {timeout:?}",
                self.slot.thread
            ))),
            Err(RecvTimeoutError::Disconnected) => Err(gone()),
        }
    }
}

fn gone() -> LoadgenError {
    LoadgenError::Config("dataplane: the instance's elastic thread has ended".into())
}

impl Transport for DataplaneTransport {
    fn connect(&mut self, server: SocketAddr) -> Result<()> {
        let v4 = super::ipv4_server(server)?;
        match self.ask(Command::Connect(v4), CONNECT_TIMEOUT)? {
            Reply::Connected(Ok(())) => {
                self.conns += 1;
                Ok(())
            }
            Reply::Connected(Err(e)) => Err(LoadgenError::Config(format!(
                "libix: connect to {server}: {e}"
            ))),
            other => Err(LoadgenError::Config(format!(
                "dataplane: unexpected answer to connect: {other:?}"
            ))),
        }
    }

    fn drive(
        &mut self,
        conns: &mut Vec<Connection>,
        clock: &Clock,
        deadline_ns: u64,
    ) -> Result<bool> {
        let job = Job {
            conns: std::mem::take(conns),
            clock: *clock,
            deadline_ns,
        };
        let wait = Duration::from_nanos(deadline_ns.saturating_sub(clock.now_ns())) + DRIVE_SLACK;
        let started = Instant::now();
        match self.ask(Command::Drive(job), wait)? {
            Reply::Driven {
                conns: back,
                result,
            } => {
                *conns = back;
                result.map_err(|e| LoadgenError::Protocol(format!("libix: {e}")))
            }
            other => Err(LoadgenError::Config(format!(
                "dataplane: unexpected answer to drive after {:?}: {other:?}",
                started.elapsed()
            ))),
        }
    }
}

impl Drop for DataplaneTransport {
    fn drop(&mut self) {
        // Close this thread's connections so the next user of the elastic thread
        // starts from none; a thread that does not answer keeps its slot busy.
        if let Ok(Reply::Closed) = self.ask(Command::CloseAll, CLOSE_TIMEOUT) {
            self.slot.busy.store(false, Ordering::Release);
        }
    }
}

//! The control socket protocol between ixctl and ixcp: one JSON object per line
//! over the Unix stream socket `RUN_DIR/ixcp.sock`; each [`Request`] gets exactly
//! one [`Response`], then the client may send another or close.

use ix_instance::agent_proto::{CapturedFrame, ConnInfo};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What ixctl asks ixcp.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Is the daemon there? Answered with [`Response::Pong`].
    Ping,
    /// Validate, allocate, launch every instance of `config` and wait until each is
    /// ready. `search` are the client's directories for bare application names.
    Start {
        /// Absolute path of the config file.
        config: PathBuf,
        /// Directories searched for bare application names (the client's view).
        search: Vec<PathBuf>,
    },
    /// Every instance's state.
    Status,
    /// Live per-thread counters of one instance or all.
    Stats {
        /// The instance (`None`: all).
        instance: Option<String>,
    },
    /// Open connections of one instance.
    Conns {
        /// The instance.
        instance: String,
    },
    /// The next `count` frames one instance sees (or what came within `timeout_ms`).
    Capture {
        /// The instance.
        instance: String,
        /// Frames wanted.
        count: usize,
        /// How long to wait for them.
        timeout_ms: u64,
    },
    /// Stop one instance gracefully, or (`None`) every instance and then ixcp.
    Stop {
        /// The instance (`None`: all, and the daemon exits).
        instance: Option<String>,
    },
}

/// How to reach and what holds one instance, as `ixctl start` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceSummary {
    /// The instance's name.
    pub name: String,
    /// Its cores.
    pub cores: Vec<usize>,
    /// NIC kind and name, e.g. `tap ix0`.
    pub nic: String,
    /// Namespace of the host side ("" = the current one).
    pub netns: String,
    /// The host side's address, if any.
    pub host_addr: Option<String>,
    /// The instance's address/prefix.
    pub addr: String,
    /// Its listening ports.
    pub ports: Vec<u16>,
    /// A command that reaches it.
    pub reach: String,
}

/// One instance's state, as `ixctl status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceStatus {
    /// What `ixctl start` printed for it.
    pub summary: InstanceSummary,
    /// `starting`, `running`, `restarting`, `failed`, `exited`, `stopping`.
    pub state: String,
    /// Its process id while it has one.
    pub pid: Option<u32>,
    /// Restarts so far.
    pub restarts: u32,
    /// Why it was last restarted or why it failed.
    pub last_reason: Option<String>,
    /// How long the last restart took, from detecting the failure to ready again.
    pub last_restart_ms: Option<u64>,
    /// Milliseconds since the current process became ready.
    pub uptime_ms: Option<u64>,
    /// Each elastic thread's last heartbeat.
    pub heartbeats: Vec<u64>,
}

/// Per-thread counters of one instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceStats {
    /// The instance.
    pub name: String,
    /// Thread index -> `(counter, value)` in a stable order.
    pub threads: Vec<Vec<(String, u64)>>,
}

/// Error classes a script can rely on (and ixctl maps to exit codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The configuration was refused.
    InvalidConfig,
    /// No such instance.
    NoSuchInstance,
    /// Anything else failed.
    Failed,
}

/// What ixcp answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Response {
    /// Answer to [`Request::Ping`].
    Pong {
        /// ixcp's process id.
        pid: u32,
    },
    /// Every instance of the config is ready.
    Started {
        /// How to reach each.
        instances: Vec<InstanceSummary>,
    },
    /// Answer to [`Request::Status`].
    Status {
        /// Every instance.
        instances: Vec<InstanceStatus>,
    },
    /// Answer to [`Request::Stats`].
    Stats {
        /// Each instance asked for.
        instances: Vec<InstanceStats>,
    },
    /// Answer to [`Request::Conns`].
    Conns {
        /// Every open connection.
        conns: Vec<ConnInfo>,
    },
    /// Answer to [`Request::Capture`].
    Capture {
        /// The frames, oldest first.
        frames: Vec<CapturedFrame>,
    },
    /// Answer to [`Request::Stop`].
    Stopped {
        /// The instances stopped.
        instances: Vec<String>,
        /// Whether ixcp is exiting too.
        daemon_exiting: bool,
    },
    /// The request failed.
    Error {
        /// Its class.
        error: ErrorKind,
        /// A message for people.
        message: String,
    },
}

/// Sends one JSON line and reads one JSON line back over `stream`.
pub fn exchange<Q: Serialize, A: for<'de> Deserialize<'de>>(
    stream: &mut UnixStream,
    request: &Q,
) -> Result<A, crate::Error> {
    let mut line =
        serde_json::to_string(request).map_err(|e| crate::Error::Protocol(e.to_string()))?;
    line.push('\n');
    stream
        .write_all(line.as_bytes())
        .map_err(|e| crate::Error::io("sending a request", e))?;
    let mut reader = BufReader::new(&*stream);
    let mut answer = String::new();
    let n = reader
        .read_line(&mut answer)
        .map_err(|e| crate::Error::io("reading the answer", e))?;
    if n == 0 {
        return Err(crate::Error::Protocol(
            "the peer closed without answering".into(),
        ));
    }
    serde_json::from_str(&answer).map_err(|e| crate::Error::Protocol(format!("{e}: {answer:?}")))
}

/// Connects to `socket`, sends `request` and returns the answer; each I/O step
/// waits at most `timeout`.
pub fn call<Q: Serialize, A: for<'de> Deserialize<'de>>(
    socket: &Path,
    request: &Q,
    timeout: Duration,
) -> Result<A, crate::Error> {
    let mut s = UnixStream::connect(socket)
        .map_err(|e| crate::Error::io(format!("connecting to {}", socket.display()), e))?;
    s.set_read_timeout(Some(timeout))
        .and_then(|()| s.set_write_timeout(Some(timeout)))
        .map_err(|e| crate::Error::io("setting socket timeouts", e))?;
    exchange(&mut s, request)
}

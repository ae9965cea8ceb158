//! The protocol between the control plane (`ixcp`) and an instance's agent: one
//! JSON object per line over the Unix stream socket named in
//! [`crate::spec::InstanceSpec::agent_socket`]; each [`AgentRequest`] gets exactly
//! one [`AgentResponse`].

use serde::{Deserialize, Serialize};

/// What the control plane asks an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum AgentRequest {
    /// Readiness and each elastic thread's heartbeat.
    Status,
    /// Every thread's counters, live.
    Stats,
    /// Open connections and their TCP state.
    Conns,
    /// The next `count` frames in either direction (or what arrived within
    /// `timeout_ms`), from the dataplane's capture ring.
    Capture {
        /// Frames wanted.
        count: usize,
        /// How long to wait for them.
        timeout_ms: u64,
    },
    /// Stop gracefully: refuse new connections, close, release everything, exit.
    Stop {
        /// How long to let connections close before exiting anyway.
        grace_ms: u64,
    },
}

/// One elastic thread's liveness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadStatus {
    /// The thread's index.
    pub thread: usize,
    /// The core it is pinned to.
    pub core: usize,
    /// Loop iterations so far (moves while the thread is alive).
    pub heartbeat: u64,
    /// Whether the thread marked the instance failed (panic policy).
    pub failed: bool,
}

/// One connection, as `ixctl conns` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnInfo {
    /// The elastic thread that owns it.
    pub thread: usize,
    /// Local address:port.
    pub local: String,
    /// Remote address:port.
    pub remote: String,
    /// TCP state (RFC 9293 name, e.g. "ESTABLISHED").
    pub state: String,
}

/// One captured frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapturedFrame {
    /// Nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// The elastic thread that saw it.
    pub thread: usize,
    /// "rx" or "tx".
    pub dir: String,
    /// The frame's length on the wire.
    pub orig_len: u32,
    /// Its bytes (possibly truncated to a snap length), hex-encoded.
    pub data_hex: String,
}

/// The instance's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AgentResponse {
    /// Answer to [`AgentRequest::Status`].
    Status {
        /// Every link is up and every application has started.
        ready: bool,
        /// The instance's process id.
        pid: u32,
        /// Each elastic thread.
        threads: Vec<ThreadStatus>,
    },
    /// Answer to [`AgentRequest::Stats`]: per thread, `name value` counters.
    Stats {
        /// Thread index -> counters in a stable order.
        threads: Vec<Vec<(String, u64)>>,
    },
    /// Answer to [`AgentRequest::Conns`].
    Conns {
        /// Every open connection.
        conns: Vec<ConnInfo>,
    },
    /// Answer to [`AgentRequest::Capture`].
    Capture {
        /// The frames, oldest first.
        frames: Vec<CapturedFrame>,
    },
    /// Answer to [`AgentRequest::Stop`]: the instance is stopping.
    Stopping,
    /// The request could not be served.
    Error {
        /// Why.
        message: String,
    },
}

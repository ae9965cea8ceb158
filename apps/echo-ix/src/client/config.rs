//! [`ClientConfig`]: what the echo client runs, and the checks its numbers must pass.

use std::net::SocketAddrV4;

/// What to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    /// The echo server.
    pub server: SocketAddrV4,
    /// Connections.
    pub conns: u32,
    /// Requests per connection.
    pub requests: u64,
    /// Bytes per request (and response).
    pub size: usize,
    /// Requests outstanding per connection (1: ping-pong).
    pub pipeline: usize,
    /// Requests per connection checked but not timed, at the start.
    pub warmup: u64,
}

impl ClientConfig {
    /// Checks the numbers make sense; `max_unsent` is the per-connection bound of
    /// queued send references (`libix::ev::EvConfig::max_unsent`).
    pub fn validate(&self, max_unsent: usize) -> Result<(), String> {
        if self.conns == 0 {
            return Err("--conns must be at least 1".into());
        }
        if self.requests == 0 {
            return Err("--requests must be at least 1".into());
        }
        if self.size == 0 {
            return Err("--size must be at least 1".into());
        }
        if self.pipeline == 0 || self.pipeline > max_unsent {
            return Err(format!("--pipeline must be in 1..={max_unsent}"));
        }
        if self.requests.checked_mul(self.size as u64).is_none() {
            return Err("--requests x --size overflows".into());
        }
        Ok(())
    }

    /// Requests over all connections.
    pub fn total_requests(&self) -> u64 {
        u64::from(self.conns) * self.requests
    }

    /// Bytes each connection sends (and expects back); assumes the config was
    /// validated (no overflow).
    pub(super) fn bytes_per_conn(&self) -> u64 {
        self.requests * self.size as u64
    }
}

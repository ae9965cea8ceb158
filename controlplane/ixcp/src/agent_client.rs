//! ixcp's side of the agent protocol: one request per connection to an
//! instance's agent socket, with a deadline.

use crate::proto::call;
use crate::Error;
use ix_instance::agent_proto::{AgentRequest, AgentResponse, ThreadStatus};
use std::path::Path;
use std::time::Duration;

/// Sends `req` to the agent at `socket`; an [`AgentResponse::Error`] becomes an
/// error.
pub fn ask(socket: &Path, req: &AgentRequest, timeout: Duration) -> Result<AgentResponse, Error> {
    match call(socket, req, timeout)? {
        AgentResponse::Error { message } => Err(Error::Instance(message)),
        r => Ok(r),
    }
}

/// One Status answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Liveness {
    /// The instance is ready.
    pub ready: bool,
    /// Its pid as it reports it.
    pub pid: u32,
    /// Its threads.
    pub threads: Vec<ThreadStatus>,
}

/// Asks the agent for its status.
pub fn status(socket: &Path, timeout: Duration) -> Result<Liveness, Error> {
    match ask(socket, &AgentRequest::Status, timeout)? {
        AgentResponse::Status {
            ready,
            pid,
            threads,
        } => Ok(Liveness {
            ready,
            pid,
            threads,
        }),
        other => Err(Error::Protocol(format!("status answered with {other:?}"))),
    }
}

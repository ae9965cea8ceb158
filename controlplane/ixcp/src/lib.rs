//! ixcp (the control-plane daemon) and ixctl (its command-line client).
//!
//! ixcp owns resources (cores, virtual NICs, memory, the host side of links) and
//! never touches packets: it starts each dataplane instance as its own process with
//! an [`ix_instance::spec::InstanceSpec`], watches its process and its elastic
//! threads' heartbeats through the instance's agent socket, and restarts it by
//! policy. ixctl talks to it over a Unix socket ([`proto`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod agent_client;
pub mod cleanup;
pub mod daemon;
pub mod hostside;
pub mod journal;
pub mod pcapng;
pub mod plan;
pub mod proto;
pub mod rundir;
pub mod server;
pub mod supervisor;

/// Why a control-plane operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration was refused.
    #[error(transparent)]
    Config(#[from] ix_config::Error),
    /// Setting up or tearing down the host side failed.
    #[error(transparent)]
    Host(#[from] ix_hostlink::Error),
    /// A file or socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// Another ixcp holds the run directory's lock.
    #[error("another ixcp is running with run directory {0}")]
    Locked(String),
    /// A peer answered something that is not the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// An instance failed to start or stop.
    #[error("{0}")]
    Instance(String),
}

impl Error {
    /// An [`Error::Io`] for `what`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}

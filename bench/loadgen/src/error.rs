//! The library's error type.

use std::io;

/// Everything that can go wrong in the load generator: bad input, I/O, a server or
/// agent speaking out of turn.
#[derive(Debug, thiserror::Error)]
pub enum LoadgenError {
    /// A command-line value (distribution, address, range) could not be parsed.
    #[error("invalid {what} '{input}': {why}")]
    Parse {
        /// Which option or value was being parsed.
        what: &'static str,
        /// The text given.
        input: String,
        /// What is wrong with it.
        why: String,
    },
    /// A combination of options that cannot work.
    #[error("{0}")]
    Config(String),
    /// A socket or file operation failed.
    #[error("{context}: {err}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error (shown in the message, so not chained as a source).
        err: io::Error,
    },
    /// A server's reply could not be understood.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The agent protocol went wrong (unexpected message, agent error, lost agent).
    #[error("agent: {0}")]
    Agent(String),
}

impl LoadgenError {
    /// Builds a parse error for option `what` with input `input`.
    pub fn parse(what: &'static str, input: &str, why: impl Into<String>) -> Self {
        LoadgenError::Parse {
            what,
            input: input.to_string(),
            why: why.into(),
        }
    }

    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, err: io::Error) -> Self {
        LoadgenError::Io {
            context: context.into(),
            err,
        }
    }
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, LoadgenError>;

//! The host side of ix's links: network namespaces, and the kernel interfaces
//! (tap host sides, veths) configured in them with `ip`.
//!
//! Everything ix creates on the host goes through a guard here, so that it is
//! removed again when the guard drops: a test, or `ixctl stop`, leaves nothing behind.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod netns;

pub use netns::{valid_netns_name, Netns};

/// Why a host-side operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A namespace name `ip netns` would refuse or that could escape /run/netns.
    #[error("invalid network namespace name {0:?}: use 1-64 characters from [A-Za-z0-9_.-], not starting with '.'")]
    BadName(String),
    /// A command could not be started.
    #[error("could not run `{cmd}`: {source}")]
    Spawn {
        /// The command line.
        cmd: String,
        /// Why it could not start.
        source: std::io::Error,
    },
    /// A command ran and failed.
    #[error("`{cmd}` failed: {stderr}")]
    Command {
        /// The command line.
        cmd: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// Entering a namespace failed.
    #[error("could not enter network namespace {name}: {reason}")]
    Enter {
        /// The namespace.
        name: String,
        /// Why.
        reason: String,
    },
}

/// Runs `program args...` to completion; error with its stderr if it fails.
pub fn run(program: &str, args: &[&str]) -> Result<String, Error> {
    let cmd = format!("{program} {}", args.join(" "));
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .map_err(|source| Error::Spawn {
            cmd: cmd.clone(),
            source,
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(Error::Command {
            cmd,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

//! `memcached-ix`: memcached on libix, in one of two modes.
//!
//! - **Dataplane instance** (the control plane set `IX_INSTANCE_SPEC`): one
//!   elastic thread per core of the spec on the instance's DPDK port, values in an
//!   application pool on the instance's EAL sized from `-m`; listens on `-p` at the
//!   spec's address. Readiness and stop go through the instance's agent
//!   (`ixctl status` / `ixctl stop`). See [`instance`].
//! - **Kernel transport** (otherwise): Linux sockets and epoll, one thread per `-t`
//!   each with its own `SO_REUSEPORT` listener; prints `READY` once every thread
//!   listens and stops on SIGINT/SIGTERM. See [`kernel`].
//!
//! Either way one store is shared by every thread.

#![forbid(unsafe_code)]

#[cfg(feature = "instance")]
mod instance;
mod kernel;

use anyhow::{Context, Result};
use clap::Parser;
use memcached_ix::args::Args;
use std::process::ExitCode;

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("memcached-ix: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<()> {
    args.validate().context("bad command line")?;
    if std::env::var_os("IX_INSTANCE_SPEC").is_some() {
        return run_instance(args);
    }
    kernel::run(args)
}

#[cfg(feature = "instance")]
fn run_instance(args: Args) -> Result<()> {
    instance::run(args)
}

#[cfg(not(feature = "instance"))]
fn run_instance(_args: Args) -> Result<()> {
    anyhow::bail!(
        "IX_INSTANCE_SPEC is set, but this build has no dataplane instance mode \
         (built without the `instance` feature); run without it for the kernel transport"
    )
}

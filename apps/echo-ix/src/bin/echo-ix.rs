//! `echo-ix`: echo-ix (echo, sink, source) as a dataplane instance: started by the
//! control plane (`ixctl start CONFIG` -> `ixcp`), which writes the instance spec
//! and names it in `IX_INSTANCE_SPEC`. Runs one elastic thread per core of the spec
//! through `ix_instance::run` (port, agent, capture, graceful stop).
//!
//! Without `IX_INSTANCE_SPEC` it refuses to start: by hand, use `ix-run` (DPDK) or
//! `echo-kernel` (Linux sockets).

#![forbid(unsafe_code)]

use anyhow::{bail, Result};
use clap::Parser;
use echo_ix::{EchoIx, Services};
use ix_dpdk::nic::DpdkPool;
use libix::ev::{Ev, EvConfig};
use std::process::ExitCode;

/// Command line (the instance itself is described by the spec file).
#[derive(Debug, Parser)]
#[command(about = "echo-ix as a dataplane instance (started by ixctl/ixcp)")]
struct Args {
    /// Echo port (0 = none).
    #[arg(long, default_value_t = 7)]
    port: u16,
    /// Sink port: discards and checks the pattern (0 = none).
    #[arg(long, default_value_t = 9)]
    sink_port: u16,
    /// Source port: sends --source-bytes of the pattern, then closes (0 = none).
    #[arg(long, default_value_t = 19)]
    source_port: u16,
    /// Bytes the source sends per connection.
    #[arg(long, default_value_t = 64 << 20)]
    source_bytes: u64,
}

fn port(p: u16) -> Option<u16> {
    (p != 0).then_some(p)
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo-ix: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<()> {
    let services = Services {
        echo: port(args.port),
        sink: port(args.sink_port),
        source: port(args.source_port),
        source_bytes: args.source_bytes,
    };
    if services.echo.is_none() && services.sink.is_none() && services.source.is_none() {
        bail!("no service: give --port, --sink-port or --source-port");
    }
    let Some(spec) = ix_instance::spec_from_env() else {
        bail!(
            "echo-ix is a dataplane instance started by the control plane \
             (`ixctl start CONFIG`), which passes its spec in {}; to run it by hand use \
             `ix-run` (DPDK tap or pair) or `echo-kernel` (Linux sockets)",
            ix_instance::spec::SPEC_ENV
        );
    };
    let spec = spec?;
    let max_conns = spec.max_conns;
    ix_instance::run(spec, move |_ctx| {
        Ev::new(
            EchoIx::<DpdkPool>::new(services),
            EvConfig {
                max_conns,
                ..EvConfig::default()
            },
        )
    })
}

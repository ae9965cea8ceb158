//! `echo-ix`: echo-ix (echo, sink, source) as a dataplane instance: started by the
//! control plane (`ixctl start CONFIG` -> `ixcp`), which writes the instance spec
//! and names it in `IX_INSTANCE_SPEC`. Runs one elastic thread per core of the spec
//! through `ix_instance::run` (port, agent, capture, graceful stop).
//!
//! With `--client SERVER:PORT` it is an echo client instead (e.g. the far end of an
//! IX-to-IX pair): every elastic thread opens `--conns` connections and runs
//! `--requests` checked request/responses on each, then logs one line
//! `RESULT thread=T ok=BOOL role=client ... completed=N errors=E ...` (to the
//! instance's log, `RUN_DIR/instances/NAME/log`) and stays idle until stopped.
//!
//! Without `IX_INSTANCE_SPEC` it refuses to start: by hand, use `ix-run` (DPDK) or
//! `echo-kernel` (Linux sockets).

#![forbid(unsafe_code)]

use anyhow::{bail, Result};
use clap::Parser;
use echo_ix::client::{ClientConfig, ClientConn, EchoClient};
use echo_ix::{EchoIx, Services};
use ix_dpdk::nic::DpdkPool;
use ix_nic::{BufPool, RxSeg};
use libix::ev::{App, ConnCx, Cx, Ev, EvConfig};
use libix::CloseReason;
use std::net::SocketAddrV4;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

/// The deepest pipeline the client accepts (as `ix-run`).
const MAX_PIPELINE: usize = 1024;

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
    /// Run the echo client against this server instead of serving.
    #[arg(long, value_name = "SERVER_IP:PORT")]
    client: Option<SocketAddrV4>,
    /// Client: connections per elastic thread.
    #[arg(long, default_value_t = 1)]
    conns: u32,
    /// Client: requests per connection.
    #[arg(long, default_value_t = 10_000)]
    requests: u64,
    /// Client: bytes per request (at most one buffer, 2048).
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Client: requests outstanding per connection (1 = ping-pong).
    #[arg(long, default_value_t = 1)]
    pipeline: usize,
    /// Client: requests per connection checked but not timed, at the start.
    #[arg(long, default_value_t = 0)]
    warmup: u64,
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
    let client = match args.client {
        Some(server) => {
            let c = ClientConfig {
                server,
                conns: args.conns,
                requests: args.requests,
                size: args.size,
                pipeline: args.pipeline,
                warmup: args.warmup,
            };
            c.validate(MAX_PIPELINE).map_err(anyhow::Error::msg)?;
            Some(c)
        }
        None => None,
    };
    let services = Services {
        echo: port(args.port),
        sink: port(args.sink_port),
        source: port(args.source_port),
        source_bytes: args.source_bytes,
    };
    if client.is_none()
        && services.echo.is_none()
        && services.sink.is_none()
        && services.source.is_none()
    {
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
    match client {
        None => ix_instance::run(spec, move |_ctx| {
            Ev::new(
                EchoIx::<DpdkPool>::new(services),
                EvConfig {
                    max_conns,
                    ..EvConfig::default()
                },
            )
        }),
        Some(cfg) => ix_instance::run(spec, move |ctx| {
            let ev = EvConfig {
                max_conns,
                max_unsent: cfg.pipeline.max(64),
                max_connecting: (cfg.conns as usize).clamp(1, max_conns),
            };
            Ev::new(ReportingClient::new(cfg, ctx.thread), ev)
        }),
    }
}

/// The echo client, logging its `RESULT` line once when it has finished (or why
/// it could not start).
struct ReportingClient {
    client: Result<EchoClient, String>,
    thread: usize,
    reported: bool,
}

impl ReportingClient {
    fn new(cfg: ClientConfig, thread: usize) -> ReportingClient {
        ReportingClient {
            client: EchoClient::new(cfg),
            thread,
            reported: false,
        }
    }

    /// Logs the result once, when the client has finished.
    fn report_if_finished(&mut self) {
        if self.reported {
            return;
        }
        match &self.client {
            Err(e) => {
                self.reported = true;
                tracing::error!("RESULT thread={} ok=false error={e:?}", self.thread);
            }
            Ok(c) if c.finished_flag().load(Ordering::Acquire) => {
                self.reported = true;
                if let Some(why) = c.fatal() {
                    tracing::error!(thread = self.thread, "echo client gave up: {why}");
                }
                let r = c.report();
                tracing::info!("RESULT thread={} ok={} {r}", self.thread, r.ok());
            }
            Ok(_) => {}
        }
    }
}

impl<P: BufPool> App<P> for ReportingClient {
    type Conn = ClientConn;

    fn start(&mut self, cx: &mut Cx<'_, '_, P, ClientConn>) {
        if let Ok(c) = &mut self.client {
            c.start(cx);
        }
        self.report_if_finished();
    }

    fn timer(&mut self, cx: &mut Cx<'_, '_, P, ClientConn>, token: u64) {
        if let Ok(c) = &mut self.client {
            c.timer(cx, token);
        }
        self.report_if_finished();
    }

    fn knock(&mut self, _local_port: u16, _remote: SocketAddrV4) -> Option<ClientConn> {
        None
    }

    fn connected(&mut self, cx: &mut ConnCx<'_, '_, P>, st: &mut ClientConn) {
        if let Ok(c) = &mut self.client {
            c.connected(cx, st);
        }
    }

    fn recv(&mut self, cx: &mut ConnCx<'_, '_, P>, st: &mut ClientConn, seg: RxSeg<P::Rx>) {
        if let Ok(c) = &mut self.client {
            c.recv(cx, st, seg);
        }
    }

    fn sent(&mut self, cx: &mut ConnCx<'_, '_, P>, st: &mut ClientConn, acked: usize) {
        if let Ok(c) = &mut self.client {
            c.sent(cx, st, acked);
        }
    }

    fn peer_closed(&mut self, cx: &mut ConnCx<'_, '_, P>, st: &mut ClientConn) {
        if let Ok(c) = &mut self.client {
            c.peer_closed(cx, st);
        }
    }

    fn wake(&mut self, cx: &mut ConnCx<'_, '_, P>, st: &mut ClientConn) {
        if let Ok(c) = &mut self.client {
            c.wake(cx, st);
        }
    }

    fn dead(&mut self, st: ClientConn, reason: CloseReason) {
        if let Ok(c) = &mut self.client {
            App::<P>::dead(c, st, reason);
        }
        self.report_if_finished();
    }

    fn connect_failed(&mut self, st: ClientConn, reason: CloseReason) {
        if let Ok(c) = &mut self.client {
            App::<P>::connect_failed(c, st, reason);
        }
        self.report_if_finished();
    }
}

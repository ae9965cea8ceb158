//! `ix-run`: runs echo-ix on elastic threads over a DPDK port, as the echo server
//! (echo, sink, source) or, with `--client`, as an echo client.
//!
//! One thread on `--core` by default; `--threads N` / `--cores LIST` run N threads
//! on N queues of a tap, flows steered to threads by flow group (`ix_dpdk::
//! tap_steering`), ARP shared between the threads (`ix_runtime::arp_share`). Each
//! thread's output lines are then prefixed `tN `, the server prints `flow REMOTE`
//! for every connection a thread served, and a last `RESULT threads=N ...` sums up.
//!
//! The port (`--nic`):
//!
//! - `tap` (default): a DPDK tap port whose kernel side is in a network namespace;
//! - `vhost --socket PATH`: the vhost-user end of a shared-memory pair between two
//!   DPDK processes (creates the socket; start it first);
//! - `virtio --socket PATH`: the virtio_user end (waits for the socket, connects).
//!
//! Both ends of a pair run ix-net, so ARP resolves as usual; `--static-arp IP=MAC`
//! adds permanent entries instead.
//!
//! Prints `READY` when up. The server stops on SIGINT/SIGTERM or after `--seconds`;
//! the client when every connection has ended (or on a signal, or after
//! `--seconds`). Both then print the thread's statistics (`stat NAME VALUE`), the
//! application's (`app NAME VALUE`, server) and one `RESULT key=value ...` line.
//! The client exits non-zero unless every request completed with every byte right.
//!
//! Shutdown of a pair: the vhost end closes at once; the virtio end, after printing
//! its results, waits up to `--linger-secs` for its link to go down (the vhost end,
//! which maps its memory, gone) before it closes.

#![forbid(unsafe_code)]

mod args;
mod client;
mod elastic;
mod flow_log;
mod parse;
mod port;
mod report;
mod server;
mod settings;
mod threads;

use anyhow::{bail, Context, Result};
use args::Args;
use clap::Parser;
use echo_ix::vhost::format_mac;
use elastic::{realtime, Setup};
use ix_nic::Nic;
use ix_runtime::{IdlePolicy, RuntimeConfig};
use ix_tcp::TcpConfig;
use port::Device;
use settings::Settings;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use threads::run_threads;

fn main() -> Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let settings = Settings::from_args(&args)?;
    let threads = settings.threads();
    let cores = settings.cores.clone();
    let core = cores[0];

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("signal handler")?;
    }

    let up = Device::bring_up(&args, &settings)?;
    let (mut device, prefix, place) = (up.device, up.prefix, up.description);
    let nics = device.take_nics();
    if nics.len() != threads {
        bail!("the port has {} queues for {threads} threads", nics.len());
    }
    let mac = nics[0].mac();
    let addr = settings.addr;
    let client_cfg = settings.client;
    let setup = setup(&args, settings, prefix);
    let threads_note = if threads > 1 {
        format!(" ({threads} elastic threads on cores {cores:?}, queue t for thread t)")
    } else {
        String::new()
    };

    let role = match &client_cfg {
        Some(cfg) => format!(
            "echo client at {addr}/{prefix} (mac {}) -> {}: {} connections x {} requests of {} \
             bytes, pipeline {}",
            format_mac(mac),
            cfg.server,
            cfg.conns,
            cfg.requests,
            cfg.size,
            cfg.pipeline,
        ),
        None => format!(
            "echo-ix at {addr}/{prefix} (mac {}) (echo {}, sink {}, source {})",
            format_mac(mac),
            args.services.port,
            args.services.sink_port,
            args.services.source_port,
        ),
    };
    println!("ix-run: {place}, core {core}{threads_note}; {role}");
    realtime(args.rt_priority)?;
    let outcomes = match client_cfg {
        Some(cfg) => run_threads(&setup, nics, &device, &stop, |s, slot| {
            client::client(s, slot, cfg, &stop)
        })?,
        None => {
            let services = args.services.services();
            run_threads(&setup, nics, &device, &stop, |s, slot| {
                server::serve(s, slot, services, &stop)
            })?
        }
    };
    let ok = report::print(&outcomes);
    // The NICs' buffers went with their threads; now the pools, then the EAL.
    drop(device);
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What every elastic thread is built from: the stack's configuration from
/// `args`, ix's address (`settings.addr`/`prefix`) and the parsed `settings`.
fn setup(args: &Args, settings: Settings, prefix: u8) -> Setup {
    let tcp = TcpConfig {
        max_conns: args.max_conns,
        time_wait_max: args.max_conns,
        syn_backlog: 1024,
        accept_backlog: 1024,
        rto_min: Duration::from_millis(args.rto_min_ms),
        ..TcpConfig::default()
    };
    let rt = RuntimeConfig {
        batch: args.batch,
        threads: settings.threads(),
        idle: if args.spin {
            IdlePolicy::SPIN
        } else {
            IdlePolicy::default()
        },
        ..RuntimeConfig::default()
    };
    let mut net = ix_net::Config::new(settings.addr, prefix);
    if settings.client.is_some() {
        // All of the client's first SYNs may wait for the server's address at once.
        net.arp.pending_per_hop = net.arp.pending_per_hop.max(256);
    }
    Setup {
        net,
        tcp,
        rt,
        static_arp: settings.static_arp,
        plan: settings.plan,
        cores: settings.cores[1..].to_vec(),
        seconds: args.seconds,
        linger_secs: args.linger_secs,
        max_conns: args.max_conns,
    }
}

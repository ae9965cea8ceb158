//! `echo-kernel`: echo-ix (echo, sink, source) unchanged on libix's kernel transport —
//! plain Linux sockets and epoll, no DPDK — one thread per `--threads`, each with its
//! own `SO_REUSEPORT` listeners, buffer pool and connection table. Prints `READY`
//! once every thread listens. Stops on SIGINT/SIGTERM or after `--seconds`, then
//! prints the totals over the threads (`stat NAME VALUE`, `app NAME VALUE`) and each
//! thread's main counters (`thread T NAME VALUE`).
//!
//! The same application on `ix-run` (ix's own stack over DPDK) and here separates
//! what the stack gains from what the application costs.

#![forbid(unsafe_code)]

use anyhow::{bail, Context, Result};
use clap::Parser;
use echo_ix::{AppStats, EchoIx, Services};
use ix_nic::heap::HeapPool;
use libix::ev::{Ev, EvConfig};
use libix::kernel::{KernelConfig, KernelRuntime, KernelStats};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "Runs echo-ix on libix's kernel transport (Linux sockets, epoll)")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    addr: Ipv4Addr,
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
    /// Threads (-T): one transport and application each, sharing nothing.
    #[arg(short = 'T', long, default_value_t = 1)]
    threads: usize,
    /// Cores to pin the threads to, comma-separated (thread i on the i-th, cycling);
    /// empty: no pinning.
    #[arg(long, value_delimiter = ',')]
    cores: Vec<usize>,
    /// Events per batch (IX's B).
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Connections per thread.
    #[arg(long, default_value_t = 4096)]
    max_conns: usize,
    /// Buffer pool blocks per thread.
    #[arg(long, default_value_t = 8192)]
    pool_blocks: usize,
    /// Bytes per pool block (largest received segment and payload buffer).
    #[arg(long, default_value_t = 16 * 1024)]
    block_size: usize,
    /// Stop after this many seconds (0 = run until signalled).
    #[arg(long, default_value_t = 0)]
    seconds: u64,
}

fn port(p: u16) -> Option<u16> {
    (p != 0).then_some(p)
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let services = Services {
        echo: port(args.port),
        sink: port(args.sink_port),
        source: port(args.source_port),
        source_bytes: args.source_bytes,
    };
    let wanted: Vec<u16> = [services.echo, services.sink, services.source]
        .into_iter()
        .flatten()
        .collect();
    if wanted.is_empty() {
        bail!("no service: give --port, --sink-port or --source-port");
    }
    let cfg = KernelConfig {
        addr: args.addr,
        threads: args.threads,
        cores: args.cores.clone(),
        max_conns: args.max_conns,
        batch: args.batch,
        max_calls: 4096.max(args.batch),
        pool_blocks: args.pool_blocks,
        block_size: args.block_size,
        backlog: 4096,
        ..KernelConfig::default()
    };
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("signal handler")?;
    }
    let max_conns = args.max_conns;
    let rt = KernelRuntime::spawn(
        cfg,
        move |_thread| {
            Ev::new(
                EchoIx::<HeapPool>::new(services),
                EvConfig {
                    max_conns,
                    ..EvConfig::default()
                },
            )
        },
        |_thread, ev: &mut Ev<HeapPool, EchoIx<HeapPool>>| ev.app().stats(),
    )
    .context("starting the kernel transport's threads")?;
    for (t, ports) in rt.listening().iter().enumerate() {
        for p in &wanted {
            if !ports.contains(p) {
                bail!("thread {t} could not listen on {}:{p}", args.addr);
            }
        }
    }
    println!(
        "echo-kernel: {} thread(s) on the kernel transport; echo-ix at {} (echo {}, sink {}, source {})",
        args.threads, args.addr, args.port, args.sink_port, args.source_port
    );
    println!("READY");

    let deadline = (args.seconds > 0).then(|| Instant::now() + Duration::from_secs(args.seconds));
    while !stop.load(Ordering::Relaxed) && deadline.is_none_or(|d| Instant::now() < d) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let reports = rt.join().context("a thread failed")?;

    let mut total = KernelStats::default();
    let mut app = AppStats::default();
    for r in &reports {
        total.add(&r.stats);
        let a = r.app;
        app.accepted += a.accepted;
        app.ended += a.ended;
        app.echoed_bytes += a.echoed_bytes;
        app.sunk_bytes += a.sunk_bytes;
        app.sink_errors += a.sink_errors;
        app.sourced_bytes += a.sourced_bytes;
        app.alloc_failures += a.alloc_failures;
        for (k, v) in r.stats.iter().filter(|(k, _)| {
            matches!(
                *k,
                "accepted" | "events" | "handler_runs" | "rx_bytes" | "tx_bytes" | "busy_ns"
            )
        }) {
            println!("thread {} {k} {v}", r.thread);
        }
    }
    for (k, v) in total.iter().filter(|(k, _)| *k != "thread") {
        println!("stat {k} {v}");
    }
    for (k, v) in [
        ("accepted", app.accepted),
        ("ended", app.ended),
        ("echoed_bytes", app.echoed_bytes),
        ("sunk_bytes", app.sunk_bytes),
        ("sink_errors", app.sink_errors),
        ("sourced_bytes", app.sourced_bytes),
        ("alloc_failures", app.alloc_failures),
    ] {
        println!("app {k} {v}");
    }
    Ok(())
}

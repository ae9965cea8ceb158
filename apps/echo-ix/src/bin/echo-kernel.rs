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
use echo_ix::cli::ServiceArgs;
use echo_ix::{AppStats, EchoIx};
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
    /// The services served.
    #[command(flatten)]
    services: ServiceArgs,
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

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let services = args.services.services();
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
        args.threads,
        args.addr,
        args.services.port,
        args.services.sink_port,
        args.services.source_port
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
        app.add(&r.app);
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
    for (k, v) in app.named() {
        println!("app {k} {v}");
    }
    Ok(())
}

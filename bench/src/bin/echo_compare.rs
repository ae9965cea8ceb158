//! `echo_compare`: the same echo workloads over ix and over the kernel, in one run.
//!
//! - **ix**: `ix-run` twice, the echo server on the vhost-user end of a shared-memory
//!   pair (server core) and libix's echo client on the virtio_user end (client
//!   core); both run ix-net and ix-tcp over DPDK.
//! - **kernel**: `echo-kernel` (the same echo-ix application on libix's kernel
//!   transport: Linux sockets, epoll) on 127.0.0.1 (server core), and the same echo
//!   client on the kernel transport in this process (client core).
//!
//! Workloads: a 64-byte ping-pong on one connection (round trip median and p99,
//! request/responses per second), and multi-connection echo throughput (many
//! connections, several requests outstanding on each). Every echoed byte is
//! checked by the client on both sides. Prints each figure and the ix/kernel ratio.
//! Traffic stays in shared memory or on loopback.

use anyhow::{bail, Context, Result};
use clap::Parser;
use echo_ix::client::{ClientConfig, ClientReport, EchoClient};
use ix_nic::heap::HeapPool;
use libix::ev::{Ev, EvConfig};
use libix::kernel::{KernelConfig, KernelRuntime};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

#[path = "echo_compare/procs.rs"]
mod procs;
use procs::Procs;

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "Echo RTT and throughput: ix (vhost/virtio_user pair) vs the kernel (loopback)")]
struct Args {
    /// Ping-pong: requests on the one connection (after the warm-up).
    #[arg(long, default_value_t = 200_000)]
    pingpong_requests: u64,
    /// Throughput: connections.
    #[arg(long, default_value_t = 32)]
    conns: u32,
    /// Throughput: requests outstanding per connection.
    #[arg(long, default_value_t = 16)]
    pipeline: usize,
    /// Throughput: requests per connection (after the warm-up).
    #[arg(long, default_value_t = 40_000)]
    requests: u64,
    /// Bytes per request and response.
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Requests per connection checked but not timed, first.
    #[arg(long, default_value_t = 2_000)]
    warmup: u64,
    /// Core of both servers.
    #[arg(long, default_value_t = 1)]
    server_core: u32,
    /// Core of both clients.
    #[arg(long, default_value_t = 0)]
    client_core: u32,
    /// The `ix-run` binary (default: next to this one; `cargo build --release -p echo-ix`).
    #[arg(long)]
    ix_run: Option<PathBuf>,
    /// The `echo-kernel` binary (default: next to this one).
    #[arg(long)]
    echo_kernel: Option<PathBuf>,
}

/// One workload: what the client runs.
#[derive(Debug, Clone, Copy)]
struct Workload {
    name: &'static str,
    conns: u32,
    requests: u64,
    pipeline: usize,
}

/// What a run measured.
#[derive(Debug, Clone, Copy)]
struct Figures {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    completed: u64,
}

/// A binary next to this one, or the one given.
fn sibling(given: &Option<PathBuf>, name: &str) -> Result<PathBuf> {
    let path = match given {
        Some(p) => p.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("this binary's directory")?
            .join(name),
    };
    if !path.exists() {
        bail!(
            "{} not found: build it first (cargo build --release -p echo-ix) or pass --{}",
            path.display(),
            name.replace('-', "_").replace('_', "-")
        );
    }
    Ok(path)
}

fn client_config(w: &Workload, args: &Args, server: SocketAddrV4) -> ClientConfig {
    ClientConfig {
        server,
        conns: w.conns,
        requests: w.requests + args.warmup,
        size: args.size,
        pipeline: w.pipeline,
        warmup: args.warmup,
    }
}

/// The `key=value` pairs of a `RESULT` line.
fn fields(line: &str) -> HashMap<&str, &str> {
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .collect()
}

fn field(f: &HashMap<&str, &str>, key: &str) -> Result<f64> {
    f.get(key)
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no numeric {key} in the client's RESULT"))
}

/// The workload between two ix-run processes over a vhost-user/virtio_user pair.
fn ix_pair(w: &Workload, args: &Args, ix_run: &Path) -> Result<Figures> {
    let pid = std::process::id();
    let mut procs = Procs::new(&format!("ix-echo-compare-{pid}"))?;
    let socket = procs.dir().join("pair.sock");
    let socket_s = socket.to_string_lossy().into_owned();
    let server = SocketAddrV4::new(Ipv4Addr::new(10, 97, 0, 1), 7);
    let cfg = client_config(w, args, server);
    let common = [
        "--socket",
        &socket_s,
        "--rto-min-ms",
        "20",
        "--seconds",
        "900",
    ];
    procs.spawn(
        "server",
        ix_run,
        &[
            &["--nic", "vhost", "--addr", "10.97.0.1/24"][..],
            &["--core", &args.server_core.to_string()],
            &["--sink-port", "0", "--source-port", "0"],
            &common,
        ]
        .concat(),
    )?;
    procs.wait_line("server", "READY", Duration::from_secs(60))?;
    let conns = cfg.conns.to_string();
    let requests = cfg.requests.to_string();
    let size = cfg.size.to_string();
    let pipeline = cfg.pipeline.to_string();
    let warmup = cfg.warmup.to_string();
    let target = server.to_string();
    procs.spawn(
        "client",
        ix_run,
        &[
            &["--nic", "virtio", "--addr", "10.97.0.2/24"][..],
            &["--core", &args.client_core.to_string(), "--client", &target],
            &["--conns", &conns, "--requests", &requests, "--size", &size],
            &["--pipeline", &pipeline, "--warmup", &warmup],
            &common,
        ]
        .concat(),
    )?;
    let line = procs.wait_line("client", "RESULT ", Duration::from_secs(600))?;
    // The vhost end goes first (it maps the virtio end's memory).
    procs.terminate("server", Duration::from_secs(30))?;
    procs.terminate("client", Duration::from_secs(30))?;
    let f = fields(&line);
    if field(&f, "errors").unwrap_or(0.0) != 0.0
        || field(&f, "byte_errors")? != 0.0
        || field(&f, "failed_conns")? != 0.0
    {
        bail!("the ix client saw errors: {line}");
    }
    Ok(Figures {
        rps: field(&f, "rps")?,
        p50_us: field(&f, "rtt_p50_ns")? / 1e3,
        p99_us: field(&f, "rtt_p99_ns")? / 1e3,
        completed: field(&f, "completed")? as u64,
    })
}

/// A loopback port nothing listens on now.
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// The workload between echo-kernel and the echo client on the kernel transport.
fn kernel(w: &Workload, args: &Args, echo_kernel: &Path) -> Result<Figures> {
    let pid = std::process::id();
    let mut procs = Procs::new(&format!("ix-echo-compare-k-{pid}"))?;
    let port = free_port()?;
    procs.spawn(
        "server",
        echo_kernel,
        &[
            "--addr",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--sink-port",
            "0",
            "--source-port",
            "0",
            "--cores",
            &args.server_core.to_string(),
            "--seconds",
            "900",
        ],
    )?;
    procs.wait_line("server", "READY", Duration::from_secs(60))?;
    let cfg = client_config(w, args, SocketAddrV4::new(Ipv4Addr::LOCALHOST, port));
    let kcfg = KernelConfig {
        threads: 1,
        cores: vec![args.client_core as usize],
        max_conns: (cfg.conns as usize).max(16),
        ..KernelConfig::default()
    };
    // Checked here, where a bad configuration is an error; the runtime's factory
    // below cannot return one, and the same configuration cannot fail there.
    EchoClient::new(cfg).map_err(|e| anyhow::anyhow!("client configuration: {e}"))?;
    let (flag_tx, flag_rx) = mpsc::channel::<Arc<AtomicBool>>();
    let flag_tx = std::sync::Mutex::new(flag_tx);
    let rt = KernelRuntime::spawn(
        kcfg,
        move |_| {
            let client = EchoClient::new(cfg).unwrap_or_else(|e| panic!("validated above: {e}"));
            if let Ok(tx) = flag_tx.lock() {
                let _ = tx.send(client.finished_flag());
            }
            Ev::new(
                client,
                EvConfig {
                    max_conns: (cfg.conns as usize).max(16),
                    max_unsent: cfg.pipeline.max(64),
                    max_connecting: cfg.conns as usize,
                },
            )
        },
        |_, ev: &mut Ev<HeapPool, EchoClient>| ev.app().report(),
    )
    .context("starting the kernel-transport client")?;
    let finished = flag_rx
        .recv_timeout(Duration::from_secs(30))
        .context("the client thread did not start")?;
    let deadline = Instant::now() + Duration::from_secs(600);
    while !finished.load(Ordering::Acquire) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    rt.stop();
    let reports = rt.join().context("the kernel-transport client failed")?;
    procs.terminate("server", Duration::from_secs(30))?;
    let r: &ClientReport = &reports.first().context("no client report")?.app;
    if !r.ok() {
        bail!("the kernel client saw errors: {r}");
    }
    Ok(Figures {
        rps: r.rps,
        p50_us: r.rtt_p50_ns as f64 / 1e3,
        p99_us: r.rtt_p99_ns as f64 / 1e3,
        completed: r.completed,
    })
}

fn print_row(w: &Workload, side: &str, f: &Figures, size: usize) {
    let mbps = f.rps * size as f64 * 8.0 / 1e6;
    println!(
        "{:<22} {:<24} {:>12.0} {:>10.1} {:>10.1} {:>10.1} {:>10}",
        w.name, side, f.rps, mbps, f.p50_us, f.p99_us, f.completed
    );
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.size == 0 || args.size > 1024 || args.conns == 0 || args.pipeline == 0 {
        bail!("--size must be 1..=1024, --conns and --pipeline at least 1");
    }
    let ix_run = sibling(&args.ix_run, "ix-run")?;
    let echo_kernel = sibling(&args.echo_kernel, "echo-kernel")?;
    let workloads = [
        Workload {
            name: "ping-pong, 1 conn",
            conns: 1,
            requests: args.pingpong_requests,
            pipeline: 1,
        },
        Workload {
            name: "throughput",
            conns: args.conns,
            requests: args.requests,
            pipeline: args.pipeline,
        },
    ];
    println!(
        "echo_compare: {} B requests; servers on core {}, clients on core {}; \
         throughput = {} conns x {} outstanding",
        args.size, args.server_core, args.client_core, args.conns, args.pipeline
    );
    let mut results = Vec::new();
    for w in &workloads {
        eprintln!("running {} over ix ...", w.name);
        let ix = ix_pair(w, &args, &ix_run).with_context(|| format!("{} over ix", w.name))?;
        eprintln!("running {} over the kernel ...", w.name);
        let k = kernel(w, &args, &echo_kernel)
            .with_context(|| format!("{} over the kernel", w.name))?;
        results.push((w, ix, k));
    }
    println!(
        "{:<22} {:<24} {:>12} {:>10} {:>10} {:>10} {:>10}",
        "workload", "stack", "req/s", "Mbit/s", "p50 us", "p99 us", "requests"
    );
    for (w, ix, k) in &results {
        print_row(w, "ix (vhost/virtio pair)", ix, args.size);
        print_row(w, "kernel (loopback)", k, args.size);
        println!(
            "{:<22} {:<24} {:>12.2} {:>10} {:>10.2} {:>10.2}",
            w.name,
            "ratio ix / kernel",
            ix.rps / k.rps,
            "",
            ix.p50_us / k.p50_us,
            ix.p99_us / k.p99_us
        );
    }
    Ok(())
}

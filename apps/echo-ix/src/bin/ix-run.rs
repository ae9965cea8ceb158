//! `ix-run`: brings up a DPDK tap port (kernel side in a network namespace) and runs
//! echo-ix (echo, sink, source) on one elastic thread on `--core`, printing `READY`
//! when up. Stops on SIGINT/SIGTERM or after `--seconds`, then prints the thread's
//! statistics (`stat NAME VALUE`) and the application's (`app NAME VALUE`).

#![forbid(unsafe_code)]

use anyhow::{bail, Context, Result};
use clap::Parser;
use echo_ix::nic::MaybeFaulty;
use echo_ix::tap::{TapOptions, TapPort};
use echo_ix::{EchoIx, Services};
use ix_fault::{FaultPlan, FaultyNic};
use ix_nic::MonotonicClock;
use ix_runtime::{control_channel, Control, ElasticThread, IdlePolicy, Parts, RuntimeConfig};
use ix_tcp::TcpConfig;
use libix::ev::{Ev, EvConfig};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "Runs echo-ix on one elastic thread over a DPDK tap port")]
struct Args {
    /// Kernel name of the tap interface.
    #[arg(long, default_value = "ixr0")]
    iface: String,
    /// Network namespace for the tap's kernel side ("" = the current one).
    #[arg(long, default_value = "ix-run")]
    netns: String,
    /// Address of the kernel side, with prefix length.
    #[arg(long, default_value = "10.78.0.1/24")]
    host_addr: String,
    /// Address ix answers on (same subnet as the host side).
    #[arg(long, default_value = "10.78.0.2")]
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
    /// A TOML file with a `[fault]` table: wrap the NIC in the fault injector.
    #[arg(long)]
    fault_plan: Option<PathBuf>,
    /// Core of the elastic thread.
    #[arg(long, default_value_t = 1)]
    core: u32,
    /// Receive burst bound (1..=64).
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Spin forever when idle instead of backing off (a dedicated core).
    #[arg(long)]
    spin: bool,
    /// EAL memory in MiB.
    #[arg(long, default_value_t = 512)]
    memory_mb: u32,
    /// Direct mbufs in the pool.
    #[arg(long, default_value_t = 16383)]
    mbufs: u32,
    /// Connections the TCP engine holds.
    #[arg(long, default_value_t = 4096)]
    max_conns: usize,
    /// Lower bound of TCP's retransmission timeout, ms (Linux: 200; a link whose
    /// round trip is tens of microseconds recovers far faster with a few ms).
    #[arg(long, default_value_t = 200)]
    rto_min_ms: u64,
    /// Stop after this many seconds (0 = run until signalled).
    #[arg(long, default_value_t = 0)]
    seconds: u64,
}

/// The instance file's shape: only the `[fault]` table is read here.
#[derive(Debug, serde::Deserialize)]
struct Instance {
    fault: Option<FaultPlan>,
}

/// Parses "A.B.C.D/N".
fn parse_cidr(s: &str) -> Result<(Ipv4Addr, u8)> {
    let (a, p) = s.split_once('/').context("expected ADDRESS/PREFIX")?;
    let prefix: u8 = p.parse().context("bad prefix length")?;
    if prefix > 32 {
        bail!("prefix length must be 0..=32");
    }
    Ok((a.parse().context("bad IPv4 address")?, prefix))
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
    let host_addr = parse_cidr(&args.host_addr)?;
    if host_addr.0 == args.addr {
        bail!("--addr and --host-addr must differ");
    }
    let plan = match &args.fault_plan {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let inst: Instance = toml::from_str(&text).context("parsing the fault plan")?;
            let plan = inst
                .fault
                .context("the fault plan file has no [fault] table")?;
            plan.validate()?;
            Some(plan)
        }
        None => None,
    };

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("signal handler")?;
    }

    let mut tap = TapPort::bring_up(&TapOptions {
        iface: args.iface.clone(),
        netns: args.netns.clone(),
        host_addr,
        core: args.core,
        memory_mb: args.memory_mb,
        mbufs: args.mbufs,
    })?;
    let dpdk_nic = tap.take_nic().context("the port's queue")?;
    let nic = match &plan {
        Some(p) => MaybeFaulty::Faulty(Box::new(FaultyNic::new(
            dpdk_nic,
            MonotonicClock::new(),
            p,
        )?)),
        None => MaybeFaulty::Plain(dpdk_nic),
    };
    let services = Services {
        echo: port(args.port),
        sink: port(args.sink_port),
        source: port(args.source_port),
        source_bytes: args.source_bytes,
    };
    let tcp = TcpConfig {
        max_conns: args.max_conns,
        time_wait_max: args.max_conns,
        syn_backlog: 1024,
        accept_backlog: 1024,
        rto_min: Duration::from_millis(args.rto_min_ms),
        ..TcpConfig::default()
    };
    let ev = Ev::new(
        EchoIx::new(services),
        EvConfig {
            max_conns: args.max_conns,
            ..EvConfig::default()
        },
    );
    let rt = RuntimeConfig {
        batch: args.batch,
        idle: if args.spin {
            IdlePolicy::SPIN
        } else {
            IdlePolicy::default()
        },
        ..RuntimeConfig::default()
    };
    let net = ix_net::Config::new(args.addr, host_addr.1);
    // The EAL pinned this (its main) thread to --core: the elastic thread runs here.
    let mut thread = ElasticThread::new(Parts::new(nic, MonotonicClock::new(), net, tcp, ev), rt)?;

    let (control, control_rx) = control_channel();
    let deadline = (args.seconds > 0).then(|| Instant::now() + Duration::from_secs(args.seconds));
    let watcher = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) && deadline.is_none_or(|d| Instant::now() < d) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = control.send(Control::Stop);
        })
    };

    let ns = tap.netns().unwrap_or("");
    println!(
        "ix-run: tap {} on core {}; echo-ix at {} (echo {}, sink {}, source {}); kernel side {}/{}{}{}",
        args.iface,
        args.core,
        args.addr,
        args.port,
        args.sink_port,
        args.source_port,
        host_addr.0,
        host_addr.1,
        if ns.is_empty() { "" } else { " in netns " },
        ns,
    );
    println!("READY");

    let result = thread.run(&control_rx);
    stop.store(true, Ordering::Relaxed);
    let _ = watcher.join();
    let snap = match result {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ix-run: elastic thread failed: {e}");
            thread.snapshot()
        }
    };
    print!(
        "{}",
        snap.to_string()
            .lines()
            .map(|l| format!("stat {l}\n"))
            .collect::<String>()
    );
    let app = thread.handler().app().stats();
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
    if let Some((rx, tx)) = thread.transport().iface().nic().inner().fault_stats() {
        println!("fault rx {rx:?}");
        println!("fault tx {tx:?}");
    }
    // The NIC's buffers go before the pools, the pools before the EAL.
    drop(thread);
    drop(tap);
    Ok(())
}

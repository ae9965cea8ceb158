//! `ix-run`: runs echo-ix on one elastic thread on `--core` over a DPDK port, as the
//! echo server (echo, sink, source) or, with `--client`, as an echo client.
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

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use echo_ix::client::{ClientConfig, EchoClient};
use echo_ix::nic::MaybeFaulty;
use echo_ix::tap::{TapOptions, TapPort};
use echo_ix::vhost::{format_mac, parse_mac, PairKind, PairOptions, PairPort};
use echo_ix::{EchoIx, Services};
use ix_dpdk::nic::{DpdkNic, DpdkPool};
use ix_fault::{FaultPlan, FaultyNic};
use ix_instance::eal_settings::EalSettings;
use ix_nic::{MonotonicClock, Nic};
use ix_runtime::{
    control_channel, Control, ElasticThread, IdlePolicy, Parts, RuntimeConfig, Snapshot,
};
use ix_tcp::TcpConfig;
use libix::ev::{App, Ev, EvConfig};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which port to run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum NicKind {
    /// A DPDK tap port, kernel side in a network namespace.
    Tap,
    /// The vhost-user end of a shared-memory pair (creates --socket).
    Vhost,
    /// The virtio_user end of a shared-memory pair (connects to --socket).
    Virtio,
}

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "Runs echo-ix (server, or client with --client) on one elastic thread")]
struct Args {
    /// The port: tap, or one end of a shared-memory pair (vhost, virtio).
    #[arg(long, value_enum, default_value_t = NicKind::Tap)]
    nic: NicKind,
    /// vhost/virtio: the vhost-user socket (the vhost end creates it, deleting a
    /// stale file first; the virtio end waits for it).
    #[arg(long)]
    socket: Option<PathBuf>,
    /// virtio: the port's MAC address (default: random).
    #[arg(long)]
    mac: Option<String>,
    /// A permanent ARP entry IP=MAC (repeatable); otherwise ARP resolves.
    #[arg(long = "static-arp", value_name = "IP=MAC")]
    static_arp: Vec<String>,
    /// virtio: seconds to wait for the vhost end's socket.
    #[arg(long, default_value_t = 30)]
    socket_wait_secs: u64,
    /// Client on a pair: seconds to wait for the link before starting.
    #[arg(long, default_value_t = 30)]
    link_wait_secs: u64,
    /// virtio: seconds to wait at exit for the vhost end to go first.
    #[arg(long, default_value_t = 10)]
    linger_secs: u64,
    /// tap: kernel name of the tap interface.
    #[arg(long, default_value = "ixr0")]
    iface: String,
    /// tap: network namespace for the tap's kernel side ("" = the current one).
    #[arg(long, default_value = "ix-run")]
    netns: String,
    /// tap: address of the kernel side, with prefix length.
    #[arg(long, default_value = "10.78.0.1/24")]
    host_addr: String,
    /// Address ix answers on, optionally with a prefix length (tap: default the
    /// host side's; pair: default /24).
    #[arg(long, default_value = "10.78.0.2")]
    addr: String,
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
    /// Client: connections.
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
    /// Once started, give the elastic thread (this process's main thread, not the
    /// EAL's helper threads) SCHED_FIFO priority N (1-99, via chrt), so other
    /// processes on its core cannot preempt it: a dedicated core's behaviour on a
    /// shared machine. The kernel's RT throttling still leaves others 5% of the
    /// core. 0 = normal scheduling.
    #[arg(long, default_value_t = 0)]
    rt_priority: u8,
    /// EAL memory in MiB (default: 512 on tap, 256 on a pair).
    #[arg(long)]
    memory_mb: Option<u32>,
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
    /// Stop after this many seconds (0 = run until signalled, or until done).
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

/// Parses "A.B.C.D" or "A.B.C.D/N".
fn parse_addr(s: &str) -> Result<(Ipv4Addr, Option<u8>)> {
    if s.contains('/') {
        let (a, p) = parse_cidr(s)?;
        Ok((a, Some(p)))
    } else {
        Ok((s.parse().context("bad IPv4 address")?, None))
    }
}

/// Parses "IP=MAC".
fn parse_arp(s: &str) -> Result<(Ipv4Addr, [u8; 6])> {
    let (ip, mac) = s.split_once('=').context("--static-arp wants IP=MAC")?;
    Ok((
        ip.parse().context("bad IPv4 address in --static-arp")?,
        parse_mac(mac)?,
    ))
}

fn port(p: u16) -> Option<u16> {
    (p != 0).then_some(p)
}

/// The port the instance runs on.
enum Device {
    Tap(TapPort),
    Pair(PairPort),
}

impl Device {
    fn take_nic(&mut self) -> Option<DpdkNic> {
        match self {
            Device::Tap(t) => t.take_nic(),
            Device::Pair(p) => p.take_nic(),
        }
    }
}

type IxNic = MaybeFaulty<DpdkNic, MonotonicClock>;
type Thread<A> = ElasticThread<IxNic, MonotonicClock, Ev<DpdkPool, A>>;

/// What every instance is built from.
struct Setup {
    nic: IxNic,
    net: ix_net::Config,
    tcp: TcpConfig,
    rt: RuntimeConfig,
    static_arp: Vec<(Ipv4Addr, [u8; 6])>,
}

/// Builds the elastic thread for `app` on this (the EAL's main, pinned) thread.
fn build<A: App<DpdkPool>>(setup: Setup, app: A, ev: EvConfig) -> Result<Thread<A>> {
    let mut thread = ElasticThread::new(
        Parts::new(
            setup.nic,
            MonotonicClock::new(),
            setup.net,
            setup.tcp,
            Ev::new(app, ev),
        ),
        setup.rt,
    )?;
    for (ip, mac) in setup.static_arp {
        if !thread
            .transport_mut()
            .iface_mut()
            .arp_insert_static(ip, mac)
        {
            bail!("cannot add the static ARP entry {ip} = {}", format_mac(mac));
        }
    }
    Ok(thread)
}

/// Runs the thread until `stop` (signals), the deadline, or `finished` (the
/// application's own flag); returns its final snapshot.
fn run<A: App<DpdkPool>>(
    thread: &mut Thread<A>,
    stop: &Arc<AtomicBool>,
    finished: Option<Arc<AtomicBool>>,
    seconds: u64,
) -> Snapshot {
    let (control, control_rx) = control_channel();
    let deadline = (seconds > 0).then(|| Instant::now() + Duration::from_secs(seconds));
    let watcher = {
        let stop = Arc::clone(stop);
        std::thread::spawn(move || {
            let done = || finished.as_ref().is_some_and(|f| f.load(Ordering::Acquire));
            while !stop.load(Ordering::Relaxed)
                && !done()
                && deadline.is_none_or(|d| Instant::now() < d)
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = control.send(Control::Stop);
        })
    };
    let result = thread.run(&control_rx);
    stop.store(true, Ordering::Relaxed);
    let _ = watcher.join();
    match result {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ix-run: elastic thread failed: {e}");
            thread.snapshot()
        }
    }
}

/// Prints the thread's statistics and the fault injector's.
fn print_stats<A: App<DpdkPool>>(thread: &Thread<A>, snap: &Snapshot) {
    print!(
        "{}",
        snap.to_string()
            .lines()
            .map(|l| format!("stat {l}\n"))
            .collect::<String>()
    );
    if let Some((rx, tx)) = thread.transport().iface().nic().inner().fault_stats() {
        println!("fault rx {rx:?}");
        println!("fault tx {tx:?}");
    }
}

/// Gives this process's main thread (the elastic thread) SCHED_FIFO `priority`
/// (after start-up, so the EAL's helper threads keep normal scheduling).
fn realtime(priority: u8) -> Result<()> {
    if priority == 0 {
        return Ok(());
    }
    if priority > 99 {
        bail!("--rt-priority must be 0..=99");
    }
    ix_hostlink::run(
        "chrt",
        &[
            "-f",
            "-p",
            &priority.to_string(),
            &std::process::id().to_string(),
        ],
    )
    .context("setting SCHED_FIFO with chrt")?;
    Ok(())
}

/// The virtio end of a pair waits for the vhost end to go first.
fn linger<A: App<DpdkPool>>(thread: &Thread<A>, device: &Device, secs: u64) {
    if let Device::Pair(p) = device {
        let nic = thread.transport().iface().nic().inner().inner();
        if !PairPort::linger(p.kind(), nic, Duration::from_secs(secs)) {
            eprintln!(
                "ix-run: the vhost end is still up after {secs} s; closing the virtio end anyway"
            );
        }
    }
}

fn main() -> Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let (addr, addr_prefix) = parse_addr(&args.addr)?;
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
    let static_arp = args
        .static_arp
        .iter()
        .map(|s| parse_arp(s))
        .collect::<Result<Vec<_>>>()?;
    let client_cfg = match args.client {
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

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("signal handler")?;
    }

    let (mut device, prefix, where_) = match args.nic {
        NicKind::Tap => {
            let host_addr = parse_cidr(&args.host_addr)?;
            if host_addr.0 == addr {
                bail!("--addr and --host-addr must differ");
            }
            let tap = TapPort::bring_up(&TapOptions {
                iface: args.iface.clone(),
                netns: args.netns.clone(),
                host_addr,
                core: args.core,
                queues: 1,
                eal: EalSettings {
                    memory_mb: args.memory_mb.unwrap_or(512),
                    ..EalSettings::default()
                },
                mbufs: args.mbufs,
            })?;
            let ns = tap.netns().unwrap_or("").to_owned();
            let where_ = format!(
                "tap {}; kernel side {}/{}{}{}",
                args.iface,
                host_addr.0,
                host_addr.1,
                if ns.is_empty() { "" } else { " in netns " },
                ns
            );
            (Device::Tap(tap), addr_prefix.unwrap_or(host_addr.1), where_)
        }
        NicKind::Vhost | NicKind::Virtio => {
            let kind = if args.nic == NicKind::Vhost {
                PairKind::Vhost
            } else {
                PairKind::Virtio
            };
            let socket = args
                .socket
                .clone()
                .context("--socket PATH is needed with --nic vhost|virtio")?;
            let mac = args.mac.as_deref().map(parse_mac).transpose()?;
            let pair = PairPort::bring_up(&PairOptions {
                kind,
                socket: socket.clone(),
                core: args.core,
                eal: EalSettings {
                    memory_mb: args.memory_mb.unwrap_or(256),
                    ..EalSettings::default()
                },
                mbufs: args.mbufs,
                mac,
                socket_wait: Duration::from_secs(args.socket_wait_secs),
            })?;
            if client_cfg.is_some() {
                pair.wait_link_up(Duration::from_secs(args.link_wait_secs))?;
            }
            let where_ = format!(
                "{} end of the pair on {}",
                kind.port_name(),
                socket.display()
            );
            (Device::Pair(pair), addr_prefix.unwrap_or(24), where_)
        }
    };
    let dpdk_nic = device.take_nic().context("the port's queue")?;
    let mac = dpdk_nic.mac();
    let nic = match &plan {
        Some(p) => MaybeFaulty::Faulty(Box::new(FaultyNic::new(
            dpdk_nic,
            MonotonicClock::new(),
            p,
        )?)),
        None => MaybeFaulty::Plain(dpdk_nic),
    };
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
        idle: if args.spin {
            IdlePolicy::SPIN
        } else {
            IdlePolicy::default()
        },
        ..RuntimeConfig::default()
    };
    let mut net = ix_net::Config::new(addr, prefix);
    if client_cfg.is_some() {
        // All of the client's first SYNs may wait for the server's address at once.
        net.arp.pending_per_hop = net.arp.pending_per_hop.max(256);
    }
    let setup = Setup {
        nic,
        net,
        tcp,
        rt,
        static_arp,
    };

    let code = match client_cfg {
        Some(cfg) => {
            let client = EchoClient::new(cfg).map_err(anyhow::Error::msg)?;
            let finished = client.finished_flag();
            let ev = EvConfig {
                max_conns: args.max_conns,
                max_unsent: cfg.pipeline.max(64),
                max_connecting: (cfg.conns as usize).clamp(1, args.max_conns),
            };
            let mut thread = build(setup, client, ev)?;
            println!(
                "ix-run: {where_}, core {}; echo client at {addr}/{prefix} (mac {}) -> {}: \
                 {} connections x {} requests of {} bytes, pipeline {}",
                args.core,
                format_mac(mac),
                cfg.server,
                cfg.conns,
                cfg.requests,
                cfg.size,
                cfg.pipeline,
            );
            realtime(args.rt_priority)?;
            println!("READY");
            let snap = run(&mut thread, &stop, Some(finished), args.seconds);
            print_stats(&thread, &snap);
            let app = thread.handler().app();
            let report = app.report();
            if let Some(why) = app.fatal() {
                eprintln!("ix-run: client gave up: {why}");
            }
            println!("RESULT {report}");
            eprintln!(
                "ix-run: {} request/responses in {:.3} s: {:.0}/s; RTT median {:.1} us, \
                 p99 {:.1} us, p99.9 {:.1} us; {} errors",
                report.completed,
                report.elapsed_s,
                report.rps,
                report.rtt_p50_ns as f64 / 1e3,
                report.rtt_p99_ns as f64 / 1e3,
                report.rtt_p999_ns as f64 / 1e3,
                report.errors(),
            );
            let ok = report.ok() && snap.counters.handler_panics == 0;
            linger(&thread, &device, args.linger_secs);
            // The NIC's buffers go before the pools, the pools before the EAL.
            drop(thread);
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        None => {
            let services = Services {
                echo: port(args.port),
                sink: port(args.sink_port),
                source: port(args.source_port),
                source_bytes: args.source_bytes,
            };
            let ev = EvConfig {
                max_conns: args.max_conns,
                ..EvConfig::default()
            };
            let mut thread = build(setup, EchoIx::new(services), ev)?;
            println!(
                "ix-run: {where_}, core {}; echo-ix at {addr}/{prefix} (mac {}) (echo {}, sink {}, \
                 source {})",
                args.core,
                format_mac(mac),
                args.port,
                args.sink_port,
                args.source_port,
            );
            realtime(args.rt_priority)?;
            println!("READY");
            let snap = run(&mut thread, &stop, None, args.seconds);
            print_stats(&thread, &snap);
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
            println!(
                "RESULT role=server accepted={} ended={} echoed_bytes={} sunk_bytes={} \
                 sink_errors={} sourced_bytes={} alloc_failures={} handler_panics={} \
                 copied_bytes={} rx_packets={} tx_packets={}",
                app.accepted,
                app.ended,
                app.echoed_bytes,
                app.sunk_bytes,
                app.sink_errors,
                app.sourced_bytes,
                app.alloc_failures,
                snap.counters.handler_panics,
                snap.copied_bytes,
                snap.nic.rx_packets,
                snap.nic.tx_packets,
            );
            let failed = thread.is_failed();
            linger(&thread, &device, args.linger_secs);
            drop(thread);
            if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
    };
    drop(device);
    Ok(code)
}

/// The deepest pipeline the client accepts (TCP's per-connection send pieces).
const MAX_PIPELINE: usize = 1024;

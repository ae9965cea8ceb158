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

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use echo_ix::client::{ClientConfig, EchoClient};
use echo_ix::nic::MaybeFaulty;
use echo_ix::tap::{TapOptions, TapPort};
use echo_ix::vhost::{format_mac, parse_mac, PairKind, PairOptions, PairPort};
use echo_ix::{EchoIx, Services};
use ix_dpdk::nic::{DpdkNic, DpdkPool, DpdkRx};
use ix_fault::{FaultPlan, FaultyNic};
use ix_instance::eal_settings::EalSettings;
use ix_nic::{MonotonicClock, Nic};
use ix_runtime::{
    arp_share, control_channel, pin_current_thread, ArpShare, ArpSharingNic, Control,
    ElasticThread, IdlePolicy, Parts, RuntimeConfig, Snapshot,
};
use ix_tcp::TcpConfig;
use libix::ev::{App, Ev, EvConfig};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;

#[path = "ix-run/flow_log.rs"]
mod flow_log;
use flow_log::FlowLog;
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
    /// Core of the elastic thread (of every thread, with --threads and no --cores).
    #[arg(long, default_value_t = 1)]
    core: u32,
    /// Elastic threads, each on its own queue of the tap (default: one per --cores
    /// entry, else 1). Flows are steered to threads by flow group; each client
    /// thread opens --conns connections of its own.
    #[arg(long)]
    threads: Option<u16>,
    /// Cores of the elastic threads, e.g. "1,1" (two threads sharing core 1) or
    /// "2-5"; the first is the EAL's main core.
    #[arg(long)]
    cores: Option<String>,
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
    /// The queue pairs, in queue order (one per elastic thread).
    fn take_nics(&mut self) -> Vec<DpdkNic> {
        match self {
            Device::Tap(t) => t.take_nics(),
            Device::Pair(p) => p.take_nic().into_iter().collect(),
        }
    }
}

type IxNic = ArpSharingNic<MaybeFaulty<DpdkNic, MonotonicClock>>;
type Thread<A> = ElasticThread<IxNic, MonotonicClock, FlowLog<Ev<DpdkPool, A>>>;

/// What every elastic thread is built from (its NIC aside).
#[derive(Clone)]
struct Setup {
    net: ix_net::Config,
    tcp: TcpConfig,
    rt: RuntimeConfig,
    static_arp: Vec<(Ipv4Addr, [u8; 6])>,
    plan: Option<FaultPlan>,
    /// Cores of threads 1.. (thread 0 is the EAL's main thread, already pinned).
    cores: Vec<u32>,
    seconds: u64,
    linger_secs: u64,
    max_conns: usize,
}

/// Builds elastic thread `t` for `app` on the calling (pinned) thread.
fn build<A: App<DpdkPool>>(
    setup: &Setup,
    t: usize,
    dpdk_nic: DpdkNic,
    share: ArpShare<DpdkRx>,
    app: A,
    ev: EvConfig,
) -> Result<Thread<A>> {
    let nic = match &setup.plan {
        Some(p) => MaybeFaulty::Faulty(Box::new(FaultyNic::new(
            dpdk_nic,
            MonotonicClock::new(),
            p,
        )?)),
        None => MaybeFaulty::Plain(dpdk_nic),
    };
    let rt = RuntimeConfig {
        thread: t,
        ..setup.rt.clone()
    };
    let mut thread = ElasticThread::new(
        Parts::new(
            ArpSharingNic::new(nic, share),
            MonotonicClock::new(),
            setup.net,
            setup.tcp.clone(),
            FlowLog::new(Ev::new(app, ev), setup.max_conns),
        ),
        rt,
    )?;
    for &(ip, mac) in &setup.static_arp {
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
    let is_client = finished.is_some();
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
    // A finished client thread does not stop the others (they finish on their own).
    if !is_client {
        stop.store(true, Ordering::Relaxed);
    }
    let _ = watcher.join();
    match result {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ix-run: elastic thread failed: {e}");
            thread.snapshot()
        }
    }
}

/// The thread's statistics and the fault injector's, as output lines.
fn stat_lines<A: App<DpdkPool>>(thread: &Thread<A>, snap: &Snapshot) -> Vec<String> {
    let mut lines: Vec<String> = snap
        .to_string()
        .lines()
        .map(|l| format!("stat {l}"))
        .collect();
    let nic = thread.transport().iface().nic().inner();
    lines.push(format!("stat arp_forwarded {}", nic.share().forwarded()));
    lines.push(format!(
        "stat arp_forward_dropped {}",
        nic.share().dropped()
    ));
    if let Some((rx, tx)) = nic.inner().fault_stats() {
        lines.push(format!("fault rx {rx:?}"));
        lines.push(format!("fault tx {tx:?}"));
    }
    lines
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
        let nic = thread.transport().iface().nic().inner().inner().inner();
        if !PairPort::linger(p.kind(), nic, Duration::from_secs(secs)) {
            eprintln!(
                "ix-run: the vhost end is still up after {secs} s; closing the virtio end anyway"
            );
        }
    }
}

/// What one elastic thread did: its output lines, its `RESULT` fields, whether
/// it succeeded, and numbers to sum over threads.
struct Outcome {
    lines: Vec<String>,
    result: String,
    ok: bool,
    totals: Vec<(&'static str, u64)>,
}

/// The server's numbers, in `RESULT` order.
fn server_totals(app: &echo_ix::AppStats, snap: &Snapshot) -> Vec<(&'static str, u64)> {
    vec![
        ("accepted", app.accepted),
        ("ended", app.ended),
        ("echoed_bytes", app.echoed_bytes),
        ("sunk_bytes", app.sunk_bytes),
        ("sink_errors", app.sink_errors),
        ("sourced_bytes", app.sourced_bytes),
        ("alloc_failures", app.alloc_failures),
        ("handler_panics", snap.counters.handler_panics),
        ("copied_bytes", snap.copied_bytes),
        ("rx_packets", snap.nic.rx_packets),
        ("tx_packets", snap.nic.tx_packets),
    ]
}

/// Elastic thread `t` as the echo server: runs until stopped.
fn serve(
    setup: &Setup,
    t: usize,
    nic: DpdkNic,
    share: ArpShare<DpdkRx>,
    services: Services,
    stop: &Arc<AtomicBool>,
    device: Option<&Device>,
) -> Result<Outcome> {
    let ev = EvConfig {
        max_conns: setup.max_conns,
        ..EvConfig::default()
    };
    let mut thread = build(setup, t, nic, share, EchoIx::new(services), ev)?;
    if t == 0 {
        println!("READY");
    }
    let snap = run(&mut thread, stop, None, setup.seconds);
    let mut lines = stat_lines(&thread, &snap);
    let app = thread.handler().inner().app().stats();
    let totals = server_totals(&app, &snap);
    for (k, v) in totals.iter().take(7) {
        lines.push(format!("app {k} {v}"));
    }
    for r in thread.handler().remotes() {
        lines.push(format!("flow {r}"));
    }
    lines.push(format!("flow_unlogged {}", thread.handler().unlogged()));
    let result = totals
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    let ok = !thread.is_failed();
    if let Some(d) = device {
        linger(&thread, d, setup.linger_secs);
    }
    Ok(Outcome {
        lines,
        result: format!("role=server {result}"),
        ok,
        totals,
    })
}

/// Elastic thread `t` as an echo client: runs until its connections are done.
fn client(
    setup: &Setup,
    t: usize,
    nic: DpdkNic,
    share: ArpShare<DpdkRx>,
    cfg: ClientConfig,
    stop: &Arc<AtomicBool>,
    device: Option<&Device>,
) -> Result<Outcome> {
    let app = EchoClient::new(cfg).map_err(anyhow::Error::msg)?;
    let finished = app.finished_flag();
    let ev = EvConfig {
        max_conns: setup.max_conns,
        max_unsent: cfg.pipeline.max(64),
        max_connecting: (cfg.conns as usize).clamp(1, setup.max_conns),
    };
    let mut thread = build(setup, t, nic, share, app, ev)?;
    if t == 0 {
        println!("READY");
    }
    let snap = run(&mut thread, stop, Some(finished), setup.seconds);
    let lines = stat_lines(&thread, &snap);
    let app = thread.handler().inner().app();
    let report = app.report();
    if let Some(why) = app.fatal() {
        eprintln!("ix-run: client thread {t} gave up: {why}");
    }
    eprintln!(
        "ix-run: thread {t}: {} request/responses in {:.3} s: {:.0}/s; RTT median {:.1} us, \
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
    if let Some(d) = device {
        linger(&thread, d, setup.linger_secs);
    }
    Ok(Outcome {
        lines,
        result: report.to_string(),
        ok,
        totals: vec![
            ("completed", report.completed),
            ("errors", report.errors()),
            ("handler_panics", snap.counters.handler_panics),
        ],
    })
}

/// Runs thread 0 here (the EAL's main thread) and threads 1.. on their own
/// pinned threads, each on its queue; prints what they did (one thread: as
/// before; several: each thread's lines prefixed `tN `, then the sums).
fn run_threads(
    setup: &Setup,
    nics: Vec<DpdkNic>,
    device: &Device,
    stop: &Arc<AtomicBool>,
    role: impl Fn(&Setup, usize, DpdkNic, ArpShare<DpdkRx>, Option<&Device>) -> Result<Outcome> + Sync,
) -> Result<bool> {
    let threads = nics.len();
    let mut shares = arp_share::<DpdkRx>(threads, ARP_INBOX).into_iter();
    let mut nics = nics.into_iter();
    let (nic0, share0) = nics.next().zip(shares.next()).context("no queue")?;
    let outcomes: Vec<Result<Outcome>> = std::thread::scope(|scope| {
        let others: Vec<_> = nics
            .zip(shares)
            .enumerate()
            .map(|(i, (nic, share))| {
                let t = i + 1;
                let core = setup.cores.get(i).copied().unwrap_or(0) as usize;
                let role = &role;
                std::thread::Builder::new()
                    .name(format!("ix-elastic-{t}"))
                    .spawn_scoped(scope, move || -> Result<Outcome> {
                        pin_current_thread(core)?;
                        role(setup, t, nic, share, None)
                    })
            })
            .collect();
        let mut all = vec![role(setup, 0, nic0, share0, Some(device))];
        if all[0].is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        for h in others {
            all.push(match h {
                Ok(h) => h
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("elastic thread panicked"))),
                Err(e) => Err(e.into()),
            });
        }
        all
    });
    let outcomes = outcomes.into_iter().collect::<Result<Vec<_>>>()?;
    if let [one] = &outcomes[..] {
        for l in &one.lines {
            println!("{l}");
        }
        println!("RESULT {}", one.result);
        return Ok(one.ok);
    }
    let mut sums: Vec<(&str, u64)> = Vec::new();
    for (t, o) in outcomes.iter().enumerate() {
        for l in &o.lines {
            println!("t{t} {l}");
        }
        println!("t{t} RESULT {}", o.result);
        if sums.is_empty() {
            sums = o.totals.iter().map(|&(k, _)| (k, 0)).collect();
        }
        for (s, (_, v)) in sums.iter_mut().zip(&o.totals) {
            s.1 += v;
        }
    }
    let ok = outcomes.iter().all(|o| o.ok);
    let fields: Vec<String> = sums.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("RESULT threads={threads} ok={ok} {}", fields.join(" "));
    Ok(ok)
}

/// ARP frames waiting for one thread at most (ARP is rare).
const ARP_INBOX: usize = 64;

/// Parses a core list: "1", "1,1", "0-3".
fn parse_cores(s: &str) -> Result<Vec<u32>> {
    let mut v = Vec::new();
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.trim().parse()?, b.trim().parse()?);
                if a > b {
                    bail!("core range {part}: start after end");
                }
                v.extend(a..=b);
            }
            None => v.push(part.trim().parse().context("bad core number")?),
        }
    }
    Ok(v)
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
    let cores = match &args.cores {
        Some(list) => parse_cores(list)?,
        None => vec![args.core; usize::from(args.threads.unwrap_or(1))],
    };
    let threads = args.threads.map_or(cores.len(), usize::from);
    if threads == 0 || threads != cores.len() {
        bail!(
            "--threads {threads} and --cores {:?}: need one core per thread, at least one",
            cores
        );
    }
    if threads > 1 && args.nic != NicKind::Tap {
        bail!("--threads > 1 needs a multi-queue port: --nic tap");
    }
    let core = cores[0];

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
                host_addr: Some(host_addr),
                core,
                queues: u16::try_from(threads).context("too many threads")?,
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
                core,
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
    let nics = device.take_nics();
    if nics.len() != threads {
        bail!("the port has {} queues for {threads} threads", nics.len());
    }
    let mac = nics[0].mac();
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
        threads,
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
        net,
        tcp,
        rt,
        static_arp,
        plan,
        cores: cores[1..].to_vec(),
        seconds: args.seconds,
        linger_secs: args.linger_secs,
        max_conns: args.max_conns,
    };
    let threads_note = if threads > 1 {
        format!(" ({threads} elastic threads on cores {cores:?}, queue t for thread t)")
    } else {
        String::new()
    };

    let ok = match client_cfg {
        Some(cfg) => {
            println!(
                "ix-run: {where_}, core {core}{threads_note}; echo client at {addr}/{prefix} \
                 (mac {}) -> {}: {} connections x {} requests of {} bytes, pipeline {}",
                format_mac(mac),
                cfg.server,
                cfg.conns,
                cfg.requests,
                cfg.size,
                cfg.pipeline,
            );
            realtime(args.rt_priority)?;
            run_threads(&setup, nics, &device, &stop, |s, t, nic, share, d| {
                client(s, t, nic, share, cfg, &stop, d)
            })?
        }
        None => {
            let services = Services {
                echo: port(args.port),
                sink: port(args.sink_port),
                source: port(args.source_port),
                source_bytes: args.source_bytes,
            };
            println!(
                "ix-run: {where_}, core {core}{threads_note}; echo-ix at {addr}/{prefix} (mac {}) \
                 (echo {}, sink {}, source {})",
                format_mac(mac),
                args.port,
                args.sink_port,
                args.source_port,
            );
            realtime(args.rt_priority)?;
            run_threads(&setup, nics, &device, &stop, |s, t, nic, share, d| {
                serve(s, t, nic, share, services, &stop, d)
            })?
        }
    };
    // The NICs' buffers went with their threads; now the pools, then the EAL.
    drop(device);
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The deepest pipeline the client accepts (TCP's per-connection send pieces).
const MAX_PIPELINE: usize = 1024;

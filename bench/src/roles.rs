//! The role processes: each is one DPDK process pinned to one core, started
//! by `l2bench` as `l2bench --role ROLE ...`. A role prints `READY ...` once
//! usable and `RESULT ...` with its figures (see [`crate::kv`]), then keeps
//! going until it is told to stop: its stdin reaches EOF (the orchestrator
//! closes it, or died) or it gets SIGINT/SIGTERM. Then it stops and closes
//! its port and cleans up its EAL, so nothing is left behind.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use ix_dpdk::mempool::DEFAULT_DATA_ROOM;
use ix_dpdk::{tsc, Burst, Eal, EalArgs, Mempool, Port, PortConfig, BURST_MAX};
use ix_hostlink::Netns;

use crate::cli::{Role, RoleArgs};
use crate::frame::{self, format_mac, kernel_side_mac, Mac, SeqTracker};
use crate::kv;
use crate::stats::{rtt_histogram, RttSummary};

/// Warm-up before any measured window.
pub const WARMUP: Duration = Duration::from_millis(300);
/// How long a role waits for its link or its first frame.
const SETUP_TIMEOUT: Duration = Duration::from_secs(20);
/// A ping whose frames are not all back after this long counts as lost.
const PING_TIMEOUT: Duration = Duration::from_millis(200);
/// Source MAC of frames from virtio_user/vhost ports (their MACs are random).
const PAIR_SRC: Mac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
/// Destination MAC of frames over the pair.
const PAIR_DST: Mac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];

/// Runs one role to completion.
pub fn run(args: &RoleArgs) -> Result<()> {
    let stop = stop_flag()?;
    match args.role {
        Role::TapTx => tap_tx(args, &stop),
        Role::TapRx => tap_rx(args, &stop),
        Role::AfpGen => afp_gen(args, &stop),
        Role::PairRx => pair_rx(args, &stop),
        Role::PairTx => pair_tx(args, &stop),
        Role::PpServer => pp_server(args, &stop),
        Role::PpClient => pp_client(args, &stop),
    }
}

/// A flag raised by SIGINT, SIGTERM or EOF on stdin.
fn stop_flag() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing a signal handler")?;
    }
    let flag = Arc::clone(&stop);
    std::thread::Builder::new()
        .name("stdin-eof".to_owned())
        .spawn(move || {
            let mut stdin = std::io::stdin();
            let mut buf = [0u8; 64];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            flag.store(true, Ordering::Relaxed);
        })
        .context("starting the stdin watcher")?;
    Ok(stop)
}

fn stopped(stop: &AtomicBool) -> bool {
    stop.load(Ordering::Relaxed)
}

/// Prints a protocol line (stdout is line-buffered, so it goes out at once).
fn emit(tag: &str, fields: &[(&str, String)]) {
    println!("{}", kv::line(tag, fields));
}

/// Idles until told to stop (after the role's RESULT).
fn wait_for_stop(stop: &AtomicBool) {
    while !stopped(stop) {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// How much CPU time this thread got over a span of wall time: the share of
/// its core a busy-polling loop actually ran (the rest it waited for other
/// work on the same core). From `/proc/thread-self/schedstat`.
struct CpuMeter {
    cpu_ns: Option<u64>,
    wall: Instant,
}

impl CpuMeter {
    fn start() -> CpuMeter {
        CpuMeter {
            cpu_ns: thread_cpu_ns(),
            wall: Instant::now(),
        }
    }

    /// Percent of the wall time since `start` this thread ran; "-" if unknown.
    fn percent(&self) -> String {
        let wall = self.wall.elapsed().as_nanos() as f64;
        match (self.cpu_ns, thread_cpu_ns()) {
            (Some(a), Some(b)) if wall > 0.0 => {
                format!("{:.1}", (b.saturating_sub(a)) as f64 * 100.0 / wall)
            }
            _ => "-".to_owned(),
        }
    }
}

/// Nanoseconds this thread has run on a CPU (first field of its schedstat).
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Starts the EAL on the role's core with one virtual device.
fn start_eal(args: &RoleArgs, vdev: &str) -> Result<(Eal, Mempool)> {
    let eal_args = EalArgs::new("l2bench")
        .no_huge(args.memory_mb)
        .no_pci()
        .file_prefix(&args.prefix)
        .lcores(&args.core.to_string())
        .vdev(vdev)
        .log_level("notice")
        .build()?;
    let eal = Eal::init(&eal_args).context("starting DPDK's EAL")?;
    let pool = Mempool::new(&eal, "l2bench", 8191, 256, DEFAULT_DATA_ROOM)
        .context("creating the mbuf pool")?;
    Ok((eal, pool))
}

/// Configures and starts the port named `name` with one queue pair.
fn start_port(eal: &Eal, pool: &Mempool, name: &str) -> Result<Port> {
    let config = PortConfig {
        queues: 1,
        rx_desc: 1024,
        tx_desc: 1024,
        rss: false,
        mtu: None,
    };
    let mut port = Port::configure_by_name(eal, name, &config, pool)
        .with_context(|| format!("configuring port {name}"))?;
    port.start()
        .with_context(|| format!("starting port {name}"))?;
    Ok(port)
}

/// Moves this (main) thread into the orchestrator's namespace, before EAL
/// init: the tap and af_packet PMDs create their kernel-side objects in the
/// namespace of the thread that probes them.
fn enter_netns(args: &RoleArgs) -> Result<Netns> {
    let name = args.netns.as_deref().context("no --netns")?;
    if !Netns::exists(name) {
        bail!("network namespace {name} does not exist (l2bench creates it)");
    }
    // It exists, so this joins it without owning it: dropping leaves it.
    let ns = Netns::create_or_join(name)?;
    ns.enter_current_thread()?;
    Ok(ns)
}

fn iface(args: &RoleArgs) -> Result<&str> {
    args.iface.as_deref().context("no --iface")
}

/// Reads counters of the tap's kernel side from
/// `/sys/class/net/IF/statistics/` as seen inside the namespace (sysfs shows
/// the namespace it was mounted in, hence `ip netns exec`, which remounts it).
fn kernel_counters(args: &RoleArgs, names: &[&str]) -> Result<Vec<u64>> {
    let netns = args.netns.as_deref().context("no --netns")?;
    let iface = iface(args)?;
    let paths: Vec<String> = names
        .iter()
        .map(|n| format!("/sys/class/net/{iface}/statistics/{n}"))
        .collect();
    let mut cmd = vec!["netns", "exec", netns, "cat"];
    cmd.extend(paths.iter().map(String::as_str));
    let out = ix_hostlink::run("ip", &cmd)?;
    let values = out
        .lines()
        .map(|l| l.trim().parse::<u64>())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parsing kernel counters {out:?}"))?;
    if values.len() != names.len() {
        bail!("expected {} kernel counters, got {out:?}", names.len());
    }
    Ok(values)
}

/// Brings up the tap's kernel side: its own MAC (the PMD gave it the port's),
/// up; then waits for the port's link. Returns (port MAC, kernel-side MAC).
fn tap_kernel_side(args: &RoleArgs, port: &Port) -> Result<(Mac, Mac)> {
    let iface = iface(args)?;
    let port_mac = port.mac()?;
    let kernel_mac = kernel_side_mac(port_mac);
    ix_hostlink::run(
        "ip",
        &["link", "set", iface, "address", &format_mac(kernel_mac)],
    )?;
    ix_hostlink::run("ip", &["link", "set", iface, "up"])?;
    port.wait_link_up(SETUP_TIMEOUT)
        .context("waiting for the tap link")?;
    Ok((port_mac, kernel_mac))
}

/// Fills bursts with numbered frames and offers them to a port, keeping
/// (and retrying first) whatever the driver refuses.
struct Sender {
    burst: usize,
    frame_size: usize,
    dst: Mac,
    src: Mac,
    next_seq: u64,
    tx: Burst<BURST_MAX>,
    /// Frames the driver accepted.
    accepted: u64,
    /// tx bursts where the driver accepted fewer frames than offered.
    short_bursts: u64,
}

impl Sender {
    fn new(args: &RoleArgs, dst: Mac, src: Mac) -> Sender {
        Sender {
            burst: args.burst,
            frame_size: args.frame_size,
            dst,
            src,
            next_seq: 0,
            tx: Burst::new(),
            accepted: 0,
            short_bursts: 0,
        }
    }

    /// Tops the burst up to `burst` frames and offers it once.
    fn step(&mut self, port: &mut Port, pool: &Mempool) -> Result<()> {
        let want = self.burst.saturating_sub(self.tx.len());
        if want > 0 && pool.alloc_bulk(&mut self.tx, want).is_ok() {
            let first_new = self.tx.len() - want;
            for m in &mut self.tx[first_new..] {
                let data = m.append(self.frame_size)?;
                frame::write_frame(data, self.dst, self.src, self.next_seq);
                self.next_seq += 1;
            }
        }
        let offered = self.tx.len();
        let sent = port.tx_burst_max(0, &mut self.tx, self.burst)?;
        self.accepted += sent as u64;
        if sent < offered {
            self.short_bursts += 1;
        }
        Ok(())
    }

    /// Sends until `until` (a TSC value) or a stop.
    fn run_until(
        &mut self,
        port: &mut Port,
        pool: &Mempool,
        until: u64,
        stop: &AtomicBool,
    ) -> Result<()> {
        while tsc::rdtsc() < until && !stopped(stop) {
            self.step(port, pool)?;
        }
        Ok(())
    }
}

fn cycles(d: Duration, hz: u64) -> u64 {
    (d.as_secs_f64() * hz as f64) as u64
}

/// (a) DPDK -> kernel: the tap port transmits as fast as it can; the kernel
/// side's `rx_packets` says how many arrived.
fn tap_tx(args: &RoleArgs, stop: &AtomicBool) -> Result<()> {
    let _ns = enter_netns(args)?;
    let (eal, pool) = start_eal(args, &format!("net_tap0,iface={}", iface(args)?))?;
    let mut port = start_port(&eal, &pool, "net_tap0")?;
    let (port_mac, kernel_mac) = tap_kernel_side(args, &port)?;
    emit("READY", &[("mac", format_mac(port_mac))]);
    let hz = tsc::hz();
    let mut sender = Sender::new(args, kernel_mac, port_mac);
    sender.run_until(&mut port, &pool, tsc::rdtsc() + cycles(WARMUP, hz), stop)?;

    let names = ["rx_packets", "rx_dropped"];
    let k0 = kernel_counters(args, &names)?;
    let p0 = port.stats()?;
    let (a0, s0) = (sender.accepted, sender.short_bursts);
    let t0 = Instant::now();
    let cpu = CpuMeter::start();
    let window = Duration::from_secs_f64(args.seconds);
    sender.run_until(&mut port, &pool, tsc::rdtsc() + cycles(window, hz), stop)?;
    let secs = t0.elapsed().as_secs_f64();
    let cpu_pct = cpu.percent();
    let p1 = port.stats()?;
    let k1 = kernel_counters(args, &names)?;
    if stopped(stop) {
        bail!("stopped before the end of the measurement");
    }
    emit(
        "RESULT",
        &[
            ("secs", format!("{secs:.6}")),
            ("accepted", (sender.accepted - a0).to_string()),
            ("short_bursts", (sender.short_bursts - s0).to_string()),
            ("pmd_opackets", (p1.opackets - p0.opackets).to_string()),
            ("pmd_oerrors", (p1.oerrors - p0.oerrors).to_string()),
            ("kernel_rx", (k1[0] - k0[0]).to_string()),
            ("kernel_rx_dropped", (k1[1] - k0[1]).to_string()),
            ("cpu_pct", cpu_pct),
        ],
    );
    wait_for_stop(stop);
    drop(sender);
    drop(port);
    drop(pool);
    drop(eal);
    Ok(())
}

/// What a receiver counted in its measured window.
struct Window {
    /// Measured seconds.
    secs: f64,
    /// Benchmark frames received in the window.
    count: u64,
    /// Sequence gaps and reordering since the first frame.
    tracker: SeqTracker,
    /// Other frames received.
    other: u64,
    /// Share of its core the receiving loop got in the window.
    cpu_pct: String,
}

/// Counts benchmark frames received on `port` over a window of
/// `args.seconds` that starts `WARMUP` after the first one arrived.
fn receive_window(args: &RoleArgs, port: &mut Port, stop: &AtomicBool) -> Result<Window> {
    let hz = tsc::hz();
    let mut rx = Burst::<BURST_MAX>::new();
    let mut tracker = SeqTracker::default();
    let (mut count, mut other) = (0u64, 0u64);
    let first_deadline = Instant::now() + SETUP_TIMEOUT;
    // Phase 0: waiting for the first frame; 1: warm-up; 2: measuring.
    let mut phase = 0;
    let (mut phase_end, mut start_count, mut start_tsc) = (0u64, 0u64, 0u64);
    let mut cpu = CpuMeter::start();
    let mut polls = 0u64;
    loop {
        port.rx_burst_max(0, &mut rx, args.burst)?;
        for m in rx.drain(..) {
            match frame::read_seq(m.data()) {
                Some(seq) => {
                    tracker.see(seq);
                    count += 1;
                }
                None => other += 1,
            }
        }
        polls += 1;
        if polls.is_multiple_of(64) {
            let now = tsc::rdtsc();
            if phase == 0 && count > 0 {
                phase = 1;
                phase_end = now + cycles(WARMUP, hz);
            } else if phase == 1 && now >= phase_end {
                phase = 2;
                start_count = count;
                start_tsc = now;
                cpu = CpuMeter::start();
                phase_end = now + cycles(Duration::from_secs_f64(args.seconds), hz);
            } else if phase == 2 && now >= phase_end {
                return Ok(Window {
                    secs: (now - start_tsc) as f64 / hz as f64,
                    count: count - start_count,
                    tracker,
                    other,
                    cpu_pct: cpu.percent(),
                });
            }
            if stopped(stop) {
                bail!("stopped before the end of the measurement");
            }
            if phase == 0 && Instant::now() > first_deadline {
                bail!("no benchmark frame arrived within {SETUP_TIMEOUT:?}");
            }
        }
    }
}

/// Receives and drops everything until told to stop.
fn drain_until_stop(port: &mut Port, stop: &AtomicBool) -> Result<()> {
    let mut rx = Burst::<BURST_MAX>::new();
    while !stopped(stop) {
        if port.rx_burst(0, &mut rx)? == 0 {
            std::thread::sleep(Duration::from_micros(100));
        }
        rx.clear();
    }
    Ok(())
}

/// (b) kernel -> DPDK: the tap port counts what the af_packet generator on
/// the kernel side sends it.
fn tap_rx(args: &RoleArgs, stop: &AtomicBool) -> Result<()> {
    let _ns = enter_netns(args)?;
    let (eal, pool) = start_eal(args, &format!("net_tap0,iface={}", iface(args)?))?;
    let mut port = start_port(&eal, &pool, "net_tap0")?;
    let (port_mac, _) = tap_kernel_side(args, &port)?;
    emit("READY", &[("mac", format_mac(port_mac))]);

    let names = ["tx_packets", "tx_dropped"];
    let k0 = kernel_counters(args, &names)?;
    let p0 = port.stats()?;
    let w = receive_window(args, &mut port, stop)?;
    let p1 = port.stats()?;
    let k1 = kernel_counters(args, &names)?;
    emit(
        "RESULT",
        &[
            ("secs", format!("{:.6}", w.secs)),
            ("received", w.count.to_string()),
            ("other", w.other.to_string()),
            ("missing", w.tracker.missing.to_string()),
            ("cpu_pct", w.cpu_pct),
            (
                "pmd_ipackets_total",
                (p1.ipackets - p0.ipackets).to_string(),
            ),
            ("pmd_imissed_total", (p1.imissed - p0.imissed).to_string()),
            ("kernel_tx_total", (k1[0] - k0[0]).to_string()),
            ("kernel_tx_dropped_total", (k1[1] - k0[1]).to_string()),
        ],
    );
    drain_until_stop(&mut port, stop)?;
    drop(port);
    drop(pool);
    drop(eal);
    Ok(())
}

/// The kernel-side generator for (b): an af_packet port on the tap's kernel
/// interface transmitting frames addressed to the tap port, until stopped.
fn afp_gen(args: &RoleArgs, stop: &AtomicBool) -> Result<()> {
    let _ns = enter_netns(args)?;
    let dst = args.dst_mac.context("no --dst-mac")?;
    let vdev = format!(
        "net_af_packet0,iface={},qpairs=1,qdisc_bypass=1,framecnt=2048",
        iface(args)?
    );
    let (eal, pool) = start_eal(args, &vdev)?;
    let mut port = start_port(&eal, &pool, "net_af_packet0")?;
    port.wait_link_up(SETUP_TIMEOUT)
        .context("waiting for the af_packet link")?;
    let src = port.mac()?;
    emit("READY", &[("mac", format_mac(src))]);
    let mut sender = Sender::new(args, dst, src);
    let mut rx = Burst::<BURST_MAX>::new();
    let cpu = CpuMeter::start();
    let mut n = 0u64;
    while !stopped(stop) {
        sender.step(&mut port, &pool)?;
        n += 1;
        if n.is_multiple_of(64) {
            // The socket also sees what the kernel sends; keep its ring empty.
            port.rx_burst(0, &mut rx)?;
            rx.clear();
        }
    }
    let s = port.stats()?;
    emit(
        "RESULT",
        &[
            ("accepted", sender.accepted.to_string()),
            ("short_bursts", sender.short_bursts.to_string()),
            ("pmd_opackets", s.opackets.to_string()),
            ("pmd_oerrors", s.oerrors.to_string()),
            ("cpu_pct", cpu.percent()),
        ],
    );
    drop(sender);
    drop(port);
    drop(pool);
    drop(eal);
    Ok(())
}

fn socket_vdev(args: &RoleArgs, vhost: bool) -> Result<String> {
    let socket = args.socket.as_deref().context("no --socket")?;
    let socket = socket.to_str().context("socket path is not UTF-8")?;
    Ok(if vhost {
        format!("net_vhost0,iface={socket},queues=1")
    } else {
        format!("virtio_user0,path={socket},queues=1")
    })
}

/// Pair receiver: the vhost-user server counts frames from the virtio_user sender.
fn pair_rx(args: &RoleArgs, stop: &AtomicBool) -> Result<()> {
    let (eal, pool) = start_eal(args, &socket_vdev(args, true)?)?;
    let mut port = start_port(&eal, &pool, "net_vhost0")?;
    emit("READY", &[]);
    port.wait_link_up(SETUP_TIMEOUT)
        .context("waiting for the virtio_user side")?;
    let p0 = port.stats()?;
    let w = receive_window(args, &mut port, stop)?;
    let p1 = port.stats()?;
    emit(
        "RESULT",
        &[
            ("secs", format!("{:.6}", w.secs)),
            ("received", w.count.to_string()),
            ("other", w.other.to_string()),
            ("missing", w.tracker.missing.to_string()),
            ("reordered", w.tracker.reordered.to_string()),
            ("cpu_pct", w.cpu_pct),
            ("pmd_imissed_total", (p1.imissed - p0.imissed).to_string()),
        ],
    );
    // Stop receiving; the sender's ring fills and it just retries.
    wait_for_stop(stop);
    // The vhost side maps the virtio side's memory: it stops and closes first
    // (l2bench stops this process before the sender).
    drop(port);
    drop(pool);
    drop(eal);
    Ok(())
}

/// Pair sender: the virtio_user client transmits as fast as it can until stopped.
fn pair_tx(args: &RoleArgs, stop: &AtomicBool) -> Result<()> {
    let (eal, pool) = start_eal(args, &socket_vdev(args, false)?)?;
    let mut port = start_port(&eal, &pool, "virtio_user0")?;
    port.wait_link_up(SETUP_TIMEOUT)
        .context("waiting for the vhost side")?;
    emit("READY", &[]);
    let mut sender = Sender::new(args, PAIR_DST, PAIR_SRC);
    let cpu = CpuMeter::start();
    while !stopped(stop) {
        sender.step(&mut port, &pool)?;
    }
    emit(
        "RESULT",
        &[
            ("accepted", sender.accepted.to_string()),
            ("short_bursts", sender.short_bursts.to_string()),
            ("cpu_pct", cpu.percent()),
        ],
    );
    drop(sender);
    drop(port);
    drop(pool);
    drop(eal);
    Ok(())
}

/// Ping-pong reflector: the vhost-user server sends every frame straight back.
fn pp_server(args: &RoleArgs, stop: &AtomicBool) -> Result<()> {
    let (eal, pool) = start_eal(args, &socket_vdev(args, true)?)?;
    let mut port = start_port(&eal, &pool, "net_vhost0")?;
    emit("READY", &[]);
    port.wait_link_up(SETUP_TIMEOUT)
        .context("waiting for the virtio_user side")?;
    let mut buf = Burst::<BURST_MAX>::new();
    let cpu = CpuMeter::start();
    let (mut reflected, mut polls) = (0u64, 0u64);
    loop {
        if buf.is_empty() {
            port.rx_burst(0, &mut buf)?;
            for m in buf.iter_mut() {
                frame::swap_macs(m.data_mut()?);
            }
        }
        if !buf.is_empty() {
            reflected += port.tx_burst(0, &mut buf)? as u64;
        }
        polls += 1;
        if polls.is_multiple_of(1024) && stopped(stop) {
            break;
        }
    }
    emit(
        "RESULT",
        &[
            ("reflected", reflected.to_string()),
            ("cpu_pct", cpu.percent()),
        ],
    );
    drop(buf);
    drop(port);
    drop(pool);
    drop(eal);
    Ok(())
}

/// Ping-pong client: for each burst size, sends `b` frames, waits until all
/// `b` are back, and records that round trip; a warm-up first, then
/// `args.seconds` of recorded round trips. One RESULT line per burst size.
fn pp_client(args: &RoleArgs, stop: &AtomicBool) -> Result<()> {
    let (eal, pool) = start_eal(args, &socket_vdev(args, false)?)?;
    let mut port = start_port(&eal, &pool, "virtio_user0")?;
    port.wait_link_up(SETUP_TIMEOUT)
        .context("waiting for the vhost side")?;
    emit("READY", &[]);
    let hz = tsc::hz();
    let mut ping_id = 0u64;
    for &burst in &args.bursts {
        let mut hist = rtt_histogram()?;
        let mut lost = 0u64;
        let warm_end = tsc::rdtsc() + cycles(WARMUP, hz);
        // If the window passes without one complete round trip (a starved
        // core), keep going until one completes, up to this.
        let give_up = warm_end + cycles(Duration::from_secs_f64(args.seconds) + SETUP_TIMEOUT, hz);
        let mut end = u64::MAX;
        let mut measuring = false;
        let mut cpu = CpuMeter::start();
        loop {
            let now = tsc::rdtsc();
            if !measuring && now >= warm_end {
                measuring = true;
                cpu = CpuMeter::start();
                end = now + cycles(Duration::from_secs_f64(args.seconds), hz);
            }
            if (now >= end && (!hist.is_empty() || now >= give_up)) || stopped(stop) {
                break;
            }
            ping_id += 1;
            match ping(&mut port, &pool, burst, args.frame_size, ping_id, hz)? {
                Some(rtt_cycles) if measuring => {
                    let ns = (u128::from(rtt_cycles) * 1_000_000_000 / u128::from(hz)) as u64;
                    hist.record(ns.max(1))?;
                }
                Some(_) => {}
                None if measuring => lost += 1,
                None => {}
            }
        }
        if stopped(stop) {
            bail!("stopped before the end of the measurement");
        }
        let s = RttSummary::of(&hist).context("no round trip completed")?;
        emit(
            "RESULT",
            &[
                ("burst", burst.to_string()),
                ("pings", s.count.to_string()),
                ("lost", lost.to_string()),
                ("min_ns", s.min_ns.to_string()),
                ("p50_ns", s.p50_ns.to_string()),
                ("p99_ns", s.p99_ns.to_string()),
                ("p999_ns", s.p999_ns.to_string()),
                ("max_ns", s.max_ns.to_string()),
                ("cpu_pct", cpu.percent()),
            ],
        );
    }
    // Keep the port open until l2bench has stopped the reflector (vhost first).
    wait_for_stop(stop);
    drop(port);
    drop(pool);
    drop(eal);
    Ok(())
}

/// One round trip of `burst` frames tagged `id`: returns the TSC cycles from
/// just before the first transmit to the arrival of the last frame back, or
/// `None` if not all came back within `PING_TIMEOUT`. Frames of earlier
/// (lost) pings that straggle in are ignored.
fn ping(
    port: &mut Port,
    pool: &Mempool,
    burst: usize,
    frame_size: usize,
    id: u64,
    hz: u64,
) -> Result<Option<u64>> {
    let mut tx = Burst::<BURST_MAX>::new();
    pool.alloc_bulk(&mut tx, burst)?;
    for m in &mut tx {
        frame::write_frame(m.append(frame_size)?, PAIR_DST, PAIR_SRC, id);
    }
    let mut rx = Burst::<BURST_MAX>::new();
    let start = tsc::rdtsc();
    let timeout = start + cycles(PING_TIMEOUT, hz);
    let mut back = 0usize;
    while back < burst {
        if !tx.is_empty() {
            port.tx_burst(0, &mut tx)?;
        }
        port.rx_burst(0, &mut rx)?;
        back += rx
            .drain(..)
            .filter(|m| frame::read_seq(m.data()) == Some(id))
            .count();
        if back < burst && tsc::rdtsc() > timeout {
            return Ok(None);
        }
    }
    Ok(Some(tsc::rdtsc() - start))
}

//! Runs the measurements: spawns the role processes for each run, in the
//! right order, and collects their figures. Everything it creates (the
//! namespace, socket files, processes, EAL runtime directories) is removed
//! by guards, on success, on error and on Ctrl-C.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ix_hostlink::Netns;

use crate::child::{Group, Proc};
use crate::cli::{Mode, Settings};
use crate::kv::Fields;
use crate::roles::WARMUP;
use crate::stats::{rate, RttSummary};

/// How long a role may take to get ready (EAL init, port, link).
const READY_TIMEOUT: Duration = Duration::from_secs(40);

/// One run of (a): DPDK tap -> kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct TapTxRun {
    /// Measured seconds.
    pub secs: f64,
    /// Frames the tap PMD accepted in `tx_burst`.
    pub accepted: u64,
    /// The PMD's `opackets` over the window.
    pub pmd_opackets: u64,
    /// The PMD's `oerrors` over the window.
    pub pmd_oerrors: u64,
    /// The kernel side's `rx_packets` over the window.
    pub kernel_rx: u64,
    /// The kernel side's `rx_dropped` over the window.
    pub kernel_rx_dropped: u64,
    /// Share of its core the transmitting loop got in the window, percent.
    pub cpu_pct: Option<f64>,
}

impl TapTxRun {
    /// Frames per second the kernel received.
    pub fn rate(&self) -> f64 {
        rate(self.kernel_rx, self.secs)
    }
}

/// One run of (b): kernel -> DPDK tap.
#[derive(Debug, Clone, PartialEq)]
pub struct TapRxRun {
    /// Measured seconds.
    pub secs: f64,
    /// Benchmark frames the tap PMD received in the window.
    pub received: u64,
    /// Frames the generator's af_packet PMD accepted, whole run.
    pub gen_accepted: u64,
    /// Sequence numbers the tap PMD never saw (lost frames), from the first
    /// frame to the window's end.
    pub lost: u64,
    /// The kernel side's `tx_packets` from before the first frame to the window's end.
    pub kernel_tx: u64,
    /// The kernel side's `tx_dropped`, same span: transmit attempts refused
    /// because the tap's queue was full (af_packet retries them).
    pub kernel_tx_dropped: u64,
    /// Share of its core the tap's receive loop got in the window, percent.
    pub cpu_pct: Option<f64>,
    /// Share of its core the generator got over its whole run, percent.
    pub peer_cpu_pct: Option<f64>,
}

impl TapRxRun {
    /// Frames per second the tap PMD received.
    pub fn rate(&self) -> f64 {
        rate(self.received, self.secs)
    }
}

/// One run of the pair throughput.
#[derive(Debug, Clone, PartialEq)]
pub struct PairRun {
    /// Measured seconds.
    pub secs: f64,
    /// Frames the receiver got in the window.
    pub received: u64,
    /// Sequence numbers skipped (lost frames), whole run.
    pub missing: u64,
    /// Share of its core the receive loop got in the window, percent.
    pub cpu_pct: Option<f64>,
    /// Share of its core the sender got over its whole run, percent.
    pub peer_cpu_pct: Option<f64>,
}

impl PairRun {
    /// Frames per second received.
    pub fn rate(&self) -> f64 {
        rate(self.received, self.secs)
    }
}

/// One run of the ping-pong at one burst size.
#[derive(Debug, Clone, PartialEq)]
pub struct PingRun {
    /// Frames per ping.
    pub burst: usize,
    /// Pings that timed out.
    pub lost: u64,
    /// Round-trip times.
    pub rtt: RttSummary,
    /// Share of its core the timing client got in the window, percent.
    pub cpu_pct: Option<f64>,
    /// Share of its core the reflector got over the whole run (all burst sizes), percent.
    pub peer_cpu_pct: Option<f64>,
}

/// Everything measured, and what failed.
#[derive(Debug, Default)]
pub struct Results {
    /// (a) runs.
    pub tap_tx: Vec<TapTxRun>,
    /// (b) runs.
    pub tap_rx: Vec<TapRxRun>,
    /// Pair throughput runs.
    pub pair: Vec<PairRun>,
    /// Ping-pong runs, per burst size (in order).
    pub ping: Vec<(usize, Vec<PingRun>)>,
    /// Measurements that failed, with why.
    pub failures: Vec<String>,
}

/// A socket file path, removed on drop.
struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The orchestrator.
pub struct Bench {
    settings: Settings,
    exe: PathBuf,
    interrupted: Arc<AtomicBool>,
    counter: AtomicU32,
}

impl Bench {
    /// Prepares a benchmark with `settings`; `interrupted` is raised on Ctrl-C.
    pub fn new(settings: Settings, interrupted: Arc<AtomicBool>) -> Result<Bench> {
        let exe = std::env::current_exe().context("finding l2bench's own executable")?;
        Ok(Bench {
            settings,
            exe,
            interrupted,
            counter: AtomicU32::new(0),
        })
    }

    /// A unique name for something this process creates.
    fn unique(&self, what: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("ixl2b-{what}-{}-{n}", std::process::id())
    }

    fn check_interrupted(&self) -> Result<()> {
        if self.interrupted.load(Ordering::Relaxed) {
            bail!("interrupted");
        }
        Ok(())
    }

    fn result_timeout(&self) -> Duration {
        WARMUP + Duration::from_secs_f64(self.settings.seconds) + Duration::from_secs(40)
    }

    /// Spawns `l2bench --role ROLE` on `core` with the common settings and `extra` flags.
    fn spawn(&self, role: &str, core: u32, extra: &[(&str, String)]) -> Result<Proc> {
        self.check_interrupted()?;
        let s = &self.settings;
        let prefix = self.unique(role);
        let mut args = vec![
            "--role".to_owned(),
            role.to_owned(),
            "--core".to_owned(),
            core.to_string(),
            "--prefix".to_owned(),
            prefix.clone(),
            "--burst".to_owned(),
            s.burst.to_string(),
            "--frame-size".to_owned(),
            s.frame_size.to_string(),
            "--seconds".to_owned(),
            s.seconds.to_string(),
            "--memory-mb".to_owned(),
            s.memory_mb.to_string(),
        ];
        for (flag, value) in extra {
            args.push(format!("--{flag}"));
            args.push(value.clone());
        }
        let name = format!("{role} (core {core})");
        Proc::spawn(
            &name,
            &self.exe,
            &args,
            &prefix,
            Arc::clone(&self.interrupted),
        )
    }

    /// Runs what `settings.mode` asks for; failures of one measurement are
    /// recorded and the others still run (unless interrupted).
    pub fn run(&self) -> Results {
        let mut results = Results::default();
        let mode = self.settings.mode;
        if matches!(mode, Mode::All | Mode::Tap) {
            if let Err(e) = self.tap(&mut results) {
                results.failures.push(format!("tap: {e:#}"));
            }
        }
        if matches!(mode, Mode::All | Mode::Pair) && !self.interrupted.load(Ordering::Relaxed) {
            if let Err(e) = self.pair(&mut results) {
                results.failures.push(format!("pair: {e:#}"));
            }
        }
        if matches!(mode, Mode::All | Mode::Pingpong) && !self.interrupted.load(Ordering::Relaxed) {
            if let Err(e) = self.pingpong(&mut results) {
                results.failures.push(format!("ping-pong: {e:#}"));
            }
        }
        results
    }

    fn progress(&self, what: &str, run: u32, figure: &str) {
        eprintln!(
            "l2bench: {what} run {}/{}: {figure}",
            run + 1,
            self.settings.runs
        );
    }

    /// (a) and (b), in a namespace created for them.
    fn tap(&self, results: &mut Results) -> Result<()> {
        let ns_name = format!("ixl2b-{}", std::process::id());
        let iface = format!("ixb{}", std::process::id());
        let ns = Netns::create(&ns_name).context("creating the benchmark's network namespace")?;
        // No IPv6 in the namespace (so no router solicitations, MLD, DAD on the tap).
        ix_hostlink::run(
            "ip",
            &[
                "netns",
                "exec",
                ns.name(),
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
            ],
        )?;
        let mut failed = Vec::new();
        for run in 0..self.settings.runs {
            match self.tap_tx_run(&ns, &iface) {
                Ok(r) => {
                    self.progress("tap tx", run, &format!("{:.3} Mpps", r.rate() / 1e6));
                    results.tap_tx.push(r);
                }
                Err(e) => failed.push(format!("tap tx run {}: {e:#}", run + 1)),
            }
            self.check_interrupted()?;
        }
        for run in 0..self.settings.runs {
            match self.tap_rx_run(&ns, &iface) {
                Ok(r) => {
                    self.progress("tap rx", run, &format!("{:.3} Mpps", r.rate() / 1e6));
                    results.tap_rx.push(r);
                }
                Err(e) => failed.push(format!("tap rx run {}: {e:#}", run + 1)),
            }
            self.check_interrupted()?;
        }
        drop(ns);
        if !failed.is_empty() {
            bail!("{}", failed.join("\n"));
        }
        Ok(())
    }

    fn tap_tx_run(&self, ns: &Netns, iface: &str) -> Result<TapTxRun> {
        let s = &self.settings;
        let tap_args = [("netns", ns.name().to_owned()), ("iface", iface.to_owned())];
        let mut tap = self.spawn("tap-tx", s.dataplane_core, &tap_args)?;
        tap.wait_for("READY", READY_TIMEOUT)?;
        let r = tap.wait_for("RESULT", self.result_timeout())?;
        tap.finish()?;
        Ok(TapTxRun {
            secs: r.f64("secs")?,
            accepted: r.u64("accepted")?,
            pmd_opackets: r.u64("pmd_opackets")?,
            pmd_oerrors: r.u64("pmd_oerrors")?,
            kernel_rx: r.u64("kernel_rx")?,
            kernel_rx_dropped: r.u64("kernel_rx_dropped")?,
            cpu_pct: cpu_pct(&r),
        })
    }

    fn tap_rx_run(&self, ns: &Netns, iface: &str) -> Result<TapRxRun> {
        let s = &self.settings;
        let tap_args = [("netns", ns.name().to_owned()), ("iface", iface.to_owned())];
        // Stopped front to back: the generator (inserted at 0) before the tap
        // port, whose closing removes the interface the generator is bound to.
        let mut group: Group = Vec::new();
        group.push(self.spawn("tap-rx", s.dataplane_core, &tap_args)?);
        let ready = group[0].wait_for("READY", READY_TIMEOUT)?;
        let mac = ready.str("mac")?.to_owned();
        let mut gen_args = tap_args.to_vec();
        gen_args.push(("dst-mac", mac));
        group.insert(0, self.spawn("afp-gen", s.peer_core, &gen_args)?);
        group[0].wait_for("READY", READY_TIMEOUT)?;
        let r = group[1].wait_for("RESULT", self.result_timeout())?;
        let gen = group[0]
            .finish()?
            .context("the generator printed no RESULT")?;
        group[1].finish()?;
        Ok(TapRxRun {
            secs: r.f64("secs")?,
            received: r.u64("received")?,
            gen_accepted: gen.u64("accepted")?,
            lost: r.u64("missing")?,
            kernel_tx: r.u64("kernel_tx_total")?,
            kernel_tx_dropped: r.u64("kernel_tx_dropped_total")?,
            cpu_pct: cpu_pct(&r),
            peer_cpu_pct: cpu_pct(&gen),
        })
    }

    /// A fresh vhost-user socket path (removed on drop).
    fn socket(&self) -> SocketFile {
        let path = std::env::temp_dir().join(format!("{}.sock", self.unique("vhost")));
        let _ = std::fs::remove_file(&path);
        SocketFile(path)
    }

    /// Starts the vhost-user server role and waits for its socket.
    fn start_server(&self, role: &str, socket: &Path) -> Result<Proc> {
        let mut server = self.spawn(
            role,
            self.settings.dataplane_core,
            &[("socket", socket.display().to_string())],
        )?;
        server.wait_for("READY", READY_TIMEOUT)?;
        if !socket.exists() {
            bail!(
                "{} is ready but its socket {} does not exist",
                server.name(),
                socket.display()
            );
        }
        Ok(server)
    }

    fn pair(&self, results: &mut Results) -> Result<()> {
        let mut failed = Vec::new();
        for run in 0..self.settings.runs {
            match self.pair_run() {
                Ok(r) => {
                    self.progress("pair", run, &format!("{:.3} Mpps", r.rate() / 1e6));
                    results.pair.push(r);
                }
                Err(e) => failed.push(format!("run {}: {e:#}", run + 1)),
            }
            self.check_interrupted()?;
        }
        if !failed.is_empty() {
            bail!("{}", failed.join("\n"));
        }
        Ok(())
    }

    fn pair_run(&self) -> Result<PairRun> {
        let socket = self.socket();
        // Stopped front to back: the vhost side (which maps the virtio side's
        // memory) first.
        let mut group: Group = Vec::new();
        group.push(self.start_server("pair-rx", &socket.0)?);
        let sock = [("socket", socket.0.display().to_string())];
        group.push(self.spawn("pair-tx", self.settings.peer_core, &sock)?);
        group[1].wait_for("READY", READY_TIMEOUT)?;
        let r = group[0].wait_for("RESULT", self.result_timeout())?;
        group[0].finish()?;
        let sender = group[1].finish()?.context("the sender printed no RESULT")?;
        Ok(PairRun {
            secs: r.f64("secs")?,
            received: r.u64("received")?,
            missing: r.u64("missing")?,
            cpu_pct: cpu_pct(&r),
            peer_cpu_pct: cpu_pct(&sender),
        })
    }

    /// The burst sizes the ping-pong times: 1 and `--burst`.
    pub fn ping_bursts(&self) -> Vec<usize> {
        if self.settings.burst == 1 {
            vec![1]
        } else {
            vec![1, self.settings.burst]
        }
    }

    fn pingpong(&self, results: &mut Results) -> Result<()> {
        let bursts = self.ping_bursts();
        results.ping = bursts.iter().map(|&b| (b, Vec::new())).collect();
        let mut failed = Vec::new();
        for run in 0..self.settings.runs {
            match self.pingpong_run(&bursts) {
                Ok(runs) => {
                    let figures: Vec<String> = runs
                        .iter()
                        .map(|r| {
                            format!("burst {}: p50 {:.2} µs", r.burst, r.rtt.p50_ns as f64 / 1e3)
                        })
                        .collect();
                    self.progress("ping-pong", run, &figures.join(", "));
                    for (slot, r) in results.ping.iter_mut().zip(runs) {
                        slot.1.push(r);
                    }
                }
                Err(e) => failed.push(format!("run {}: {e:#}", run + 1)),
            }
            self.check_interrupted()?;
        }
        if !failed.is_empty() {
            bail!("{}", failed.join("\n"));
        }
        Ok(())
    }

    fn pingpong_run(&self, bursts: &[usize]) -> Result<Vec<PingRun>> {
        let socket = self.socket();
        let mut group: Group = Vec::new();
        group.push(self.start_server("pp-server", &socket.0)?);
        let list: Vec<String> = bursts.iter().map(usize::to_string).collect();
        let client_args = [
            ("socket", socket.0.display().to_string()),
            ("bursts", list.join(",")),
        ];
        group.push(self.spawn("pp-client", self.settings.peer_core, &client_args)?);
        group[1].wait_for("READY", READY_TIMEOUT)?;
        let mut runs = Vec::new();
        for &burst in bursts {
            let r = group[1].wait_for("RESULT", self.result_timeout())?;
            runs.push(ping_run(&r, burst)?);
        }
        let server = group[0]
            .finish()?
            .context("the reflector printed no RESULT")?;
        group[1].finish()?;
        for r in &mut runs {
            r.peer_cpu_pct = cpu_pct(&server);
        }
        Ok(runs)
    }
}

fn ping_run(r: &Fields, burst: usize) -> Result<PingRun> {
    let got = r.u64("burst")?;
    if got != burst as u64 {
        bail!("expected the result for burst {burst}, got burst {got}");
    }
    Ok(PingRun {
        burst,
        lost: r.u64("lost")?,
        rtt: RttSummary {
            count: r.u64("pings")?,
            min_ns: r.u64("min_ns")?,
            p50_ns: r.u64("p50_ns")?,
            p99_ns: r.u64("p99_ns")?,
            p999_ns: r.u64("p999_ns")?,
            max_ns: r.u64("max_ns")?,
        },
        cpu_pct: cpu_pct(r),
        peer_cpu_pct: None,
    })
}

/// The `cpu_pct` field of a RESULT line, if the role could measure it.
fn cpu_pct(r: &Fields) -> Option<f64> {
    r.str("cpu_pct").ok()?.parse().ok()
}

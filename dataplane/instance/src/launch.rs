//! [`run`]: what every instance application's `main` calls once `ixcp` has started
//! it with a spec ([`spec_from_env`]). It brings up the port, runs one elastic
//! thread per core with the application's handler, serves the agent, and on a
//! stop (the agent's, or SIGTERM/SIGINT) closes connections gracefully and
//! releases everything: threads joined, port closed, EAL cleaned up, agent socket
//! removed.

use crate::agent::AgentState;
use crate::agent_socket::Agent;
use crate::capture::{CaptureNic, CaptureRing};
use crate::ports::{Device, QueueNic};
use crate::spec::{InstanceSpec, SPEC_ENV, SUPERVISOR_ENV};
use anyhow::{bail, Context, Result};
use ix_dpdk::nic::{DpdkPool, DpdkRx};
use ix_nic::MonotonicClock;
use ix_runtime::{ArpSharingNic, ElasticHandle, IdlePolicy, Parts, RuntimeConfig};
use ix_tcp::TcpConfig;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which elastic thread a handler is built for, and the buffers it may use.
#[derive(Debug, Clone)]
pub struct ThreadCtx {
    /// The thread's index (0-based; it owns queue pair `thread`).
    pub thread: usize,
    /// The instance's number of elastic threads.
    pub threads: usize,
    /// The application's own pool ([`run_with_app_pool`]), shared by every
    /// thread: memory the application keeps (a cache's values) without starving
    /// the NIC's receive rings. `None` with [`run`].
    pub app_pool: Option<DpdkPool>,
    /// Stops the whole instance when the application is done (a client that has
    /// finished its run); shared by every thread.
    pub stop: StopHandle,
}

/// A stop asked for from inside the instance: the launcher polls it as it polls
/// signals, then drains and releases everything as on SIGTERM. Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    /// A handle nobody has pulled yet.
    pub fn new() -> Self {
        StopHandle::default()
    }

    /// Asks the instance to stop (idempotent; returns at once).
    pub fn request_stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether a stop was asked for.
    pub fn is_requested(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The queue pair type an instance's elastic threads run on: ARP shared between
/// the threads (ARP arrives on one queue only), over the capture mirror (which so
/// sees only what crossed the wire), over the DPDK queue pair.
pub type InstanceNic = ArpSharingNic<CaptureNic<QueueNic>>;

/// ARP frames waiting for each thread from the others.
const ARP_SHARE_DEPTH: usize = 64;

/// Frames one capture can hold (each slot holds up to 2 KiB).
pub const CAPTURE_SLOTS: usize = 1024;

/// How long connections may take to close on SIGTERM/SIGINT.
pub const SIGNAL_GRACE: Duration = Duration::from_secs(2);

/// How often the launcher looks for a stop.
const WATCH: Duration = Duration::from_millis(20);

/// The process that supervises this instance, from [`SUPERVISOR_ENV`] (`None`
/// when started by hand or by a test); a value that is not a process id is an
/// error rather than silently no supervision.
pub fn supervisor_from_env() -> Result<Option<u32>> {
    match std::env::var(SUPERVISOR_ENV) {
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(e) => bail!("{SUPERVISOR_ENV}: {e}"),
        Ok(v) => parse_supervisor(&v).map(Some),
    }
}

/// A supervisor's process id: a number above 1 (init supervises nothing here).
fn parse_supervisor(v: &str) -> Result<u32> {
    match v.trim().parse::<u32>() {
        Ok(pid) if pid > 1 => Ok(pid),
        _ => bail!("{SUPERVISOR_ENV}={v:?} is not a process id"),
    }
}

/// Whether the supervisor `pid` is gone: a child whose parent dies is handed to
/// init (or a subreaper), so its parent process id changes. Reading it is a
/// plain getppid, no unsafe and no race with pid reuse.
fn supervisor_gone(supervisor: Option<u32>) -> bool {
    supervisor.is_some_and(|pid| std::os::unix::process::parent_id() != pid)
}

/// Reads and checks the spec file at `path`.
pub fn load_spec(path: &Path) -> Result<InstanceSpec> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let spec: InstanceSpec = serde_json::from_str(&text)
        .with_context(|| format!("parsing the instance spec {}", path.display()))?;
    validate_spec(&spec)?;
    Ok(spec)
}

/// The spec named by `IX_INSTANCE_SPEC`: `None` when the variable is unset (the
/// binary was not started by the control plane).
pub fn spec_from_env() -> Option<Result<InstanceSpec>> {
    let path = std::env::var_os(SPEC_ENV)?;
    Some(load_spec(Path::new(&path)))
}

/// Checks what the runtime's own validation does not: cores, addresses, names.
pub fn validate_spec(spec: &InstanceSpec) -> Result<()> {
    if spec.name.is_empty() {
        bail!("the instance has no name");
    }
    if spec.cores.is_empty() {
        bail!("instance {}: no cores", spec.name);
    }
    let mut cores = spec.cores.clone();
    cores.sort_unstable();
    cores.dedup();
    if cores.len() != spec.cores.len() {
        bail!("instance {}: a core is listed twice", spec.name);
    }
    if spec.prefix > 32 {
        bail!("instance {}: prefix length {} > 32", spec.name, spec.prefix);
    }
    if spec.max_conns == 0 {
        bail!("instance {}: max_conns must be at least 1", spec.name);
    }
    if spec.agent_socket.as_os_str().is_empty() {
        bail!("instance {}: no agent socket", spec.name);
    }
    for i in 0..spec.cores.len() {
        runtime_config(spec, i)
            .validate()
            .with_context(|| format!("instance {}", spec.name))?;
    }
    Ok(())
}

/// Elastic thread `thread`'s configuration from the spec.
pub fn runtime_config(spec: &InstanceSpec, thread: usize) -> RuntimeConfig {
    RuntimeConfig {
        thread,
        core: spec.cores.get(thread).copied(),
        batch: spec.batch,
        flow_groups: spec.flow_groups,
        threads: spec.cores.len(),
        idle: if spec.idle_backoff {
            IdlePolicy::default()
        } else {
            IdlePolicy::SPIN
        },
        ..RuntimeConfig::default()
    }
}

/// The TCP engine's configuration (per thread) from the spec.
pub fn tcp_config(spec: &InstanceSpec) -> TcpConfig {
    let d = TcpConfig::default();
    TcpConfig {
        max_conns: spec.max_conns,
        time_wait_max: spec.max_conns,
        syn_backlog: d.syn_backlog.min(spec.max_conns),
        accept_backlog: d.accept_backlog.min(spec.max_conns),
        ..d
    }
}

/// The interface's configuration from the spec.
pub fn net_config(spec: &InstanceSpec) -> ix_net::Config {
    let mut net = ix_net::Config::new(spec.addr, spec.prefix);
    net.gateway = spec.gateway;
    net
}

/// Logs to stderr at the spec's level (once per process; later calls keep the
/// first subscriber).
fn init_tracing(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs the instance `spec` describes, with `make_handler` building each elastic
/// thread's application (on that thread). Returns after a stop once everything is
/// released; an error if the instance could not start or a thread failed.
pub fn run<H, F>(spec: InstanceSpec, make_handler: F) -> Result<()>
where
    H: libix::Handler<DpdkPool> + 'static,
    F: Fn(ThreadCtx) -> H + Send + Sync + 'static,
{
    run_with_app_pool(spec, 0, make_handler)
}

/// As [`run`], and first makes the application a pool of `app_mbufs` buffers
/// (2 KiB each, as many indirect ones again) on the instance's EAL, handed to every
/// thread in [`ThreadCtx::app_pool`]; 0 makes none. The spec's `memory_mb` must
/// have room for it.
pub fn run_with_app_pool<H, F>(spec: InstanceSpec, app_mbufs: u32, make_handler: F) -> Result<()>
where
    H: libix::Handler<DpdkPool> + 'static,
    F: Fn(ThreadCtx) -> H + Send + Sync + 'static,
{
    init_tracing(&spec.log_level);
    validate_spec(&spec)?;
    let supervisor = supervisor_from_env()?;
    if supervisor_gone(supervisor) {
        bail!(
            "instance {}: its supervisor (pid {supervisor:?}) is already gone",
            spec.name
        );
    }
    let signalled = Arc::new(AtomicBool::new(false));
    let mut ids = Vec::new();
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        ids.push(
            signal_hook::flag::register(sig, Arc::clone(&signalled))
                .context("installing a signal handler")?,
        );
    }
    let result = run_registered(&spec, app_mbufs, make_handler, &signalled, supervisor);
    for id in ids {
        signal_hook::low_level::unregister(id);
    }
    if let Err(e) = &result {
        tracing::error!(instance = %spec.name, "instance failed: {e:#}");
    }
    result
}

fn run_registered<H, F>(
    spec: &InstanceSpec,
    app_mbufs: u32,
    make_handler: F,
    signalled: &AtomicBool,
    supervisor: Option<u32>,
) -> Result<()>
where
    H: libix::Handler<DpdkPool> + 'static,
    F: Fn(ThreadCtx) -> H + Send + Sync + 'static,
{
    let ring = Arc::new(CaptureRing::new(CAPTURE_SLOTS));
    let state = Arc::new(AgentState::new(spec.cores.clone(), Arc::clone(&ring)));
    // The agent starts first (answering "not ready"), on a thread the EAL does not
    // pin; it goes last, removing its socket. The port drops after the threads.
    let agent = Agent::start(&spec.agent_socket, Arc::clone(&state))?;
    let abort = || {
        signalled.load(Ordering::Relaxed)
            || state.stop_requested().is_some()
            || supervisor_gone(supervisor)
    };
    let mut device = match Device::bring_up(spec, &abort) {
        Ok(d) => d,
        // Told to stop before the port was up: nothing ran, nothing failed.
        Err(e) if abort() => {
            tracing::info!(instance = %spec.name, "stopped during bring-up: {e:#}");
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let app_pool = match app_mbufs {
        0 => None,
        n => Some(
            DpdkPool::new(device.eal(), "ixapp", n, 256).with_context(|| {
                format!("the application's pool of {n} buffers (raise memory_mb?)")
            })?,
        ),
    };
    state.set_link_up(true);
    let threads = spec.cores.len();
    let linger = device.linger();
    let linear_tx = device.needs_linear_tx();
    let nics = device.take_nics(threads)?;
    let make = Arc::new(make_handler);
    let stop = StopHandle::new();
    let shares = ix_runtime::arp_share::<DpdkRx>(threads, ARP_SHARE_DEPTH);
    let mut handles: Vec<ElasticHandle> = Vec::with_capacity(threads);
    for (thread, (nic, share)) in nics.into_iter().zip(shares).enumerate() {
        let (ring, make, app_pool) = (Arc::clone(&ring), Arc::clone(&make), app_pool.clone());
        let stop = stop.clone();
        let (net, tcp) = (net_config(spec), tcp_config(spec));
        let handle = ix_runtime::spawn(runtime_config(spec, thread), move || {
            let nic: InstanceNic = ArpSharingNic::new(
                CaptureNic::new(QueueNic::new(nic, linger, linear_tx), ring, thread),
                share,
            );
            let handler = make(ThreadCtx {
                thread,
                threads,
                app_pool,
                stop,
            });
            Ok(Parts::new(nic, MonotonicClock::new(), net, tcp, handler))
        })
        .with_context(|| format!("starting elastic thread {thread}"))?;
        handles.push(handle);
    }
    state.set_threads(handles);
    tracing::info!(
        instance = %spec.name,
        addr = %spec.addr,
        cores = ?spec.cores,
        socket = %agent.path().display(),
        "instance running"
    );

    let grace = loop {
        if signalled.load(Ordering::Relaxed) {
            break SIGNAL_GRACE;
        }
        if let Some(g) = state.stop_requested() {
            break g;
        }
        if stop.is_requested() {
            break SIGNAL_GRACE;
        }
        if supervisor_gone(supervisor) {
            // Nobody could stop or restart this instance any more, and the next
            // ixcp needs its NIC and addresses: leave as on SIGTERM.
            tracing::warn!(instance = %spec.name, supervisor = ?supervisor, "the supervisor is gone; stopping");
            break SIGNAL_GRACE;
        }
        if state.all_threads_finished() {
            tracing::error!(instance = %spec.name, "every elastic thread has ended");
            break Duration::ZERO;
        }
        std::thread::sleep(WATCH);
    };
    let failures = shut_down(&state, grace);
    // Every queue pair went with its thread; now the pools, the EAL (its runtime
    // directory removed) and the namespace handle; the agent's socket last.
    // The application's state (a cache's values in the app pool) goes before the
    // pools and the EAL it lives on.
    drop(make);
    drop(app_pool);
    drop(device);
    drop(agent);
    if failures.is_empty() {
        tracing::info!(instance = %spec.name, "instance stopped");
        Ok(())
    } else {
        bail!("instance {}: {}", spec.name, failures.join("; "))
    }
}

/// Drains every thread (listeners closed, connections closed) until every
/// connection's FIN is acknowledged, for up to `grace`, then stops and joins them;
/// returns what failed.
fn shut_down(state: &AgentState, grace: Duration) -> Vec<String> {
    let threads = state.take_threads();
    if !grace.is_zero() {
        for h in &threads {
            h.drain();
        }
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if AgentState::unfinished_conns(&threads) == Some(0) {
                break;
            }
            std::thread::sleep(WATCH);
        }
    }
    let mut failures = Vec::new();
    for (i, h) in threads.into_iter().enumerate() {
        match h.join() {
            Ok(last) => tracing::info!(
                thread = i,
                rx_packets = last.nic.rx_packets,
                tx_packets = last.nic.tx_packets,
                conns = last.conns,
                "elastic thread stopped"
            ),
            Err(e) => failures.push(format!("elastic thread {i}: {e}")),
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supervisor_pid_is_checked_and_its_loss_seen() {
        assert_eq!(parse_supervisor(" 1234\n").unwrap(), 1234);
        for bad in ["", "1", "0", "-5", "ixcp", "99999999999"] {
            let e = parse_supervisor(bad).unwrap_err().to_string();
            assert!(e.contains(SUPERVISOR_ENV), "{bad:?}: {e}");
        }
        let parent = std::os::unix::process::parent_id();
        assert!(!supervisor_gone(None), "no supervisor, nothing to lose");
        assert!(!supervisor_gone(Some(parent)));
        assert!(supervisor_gone(Some(parent + 1)));
    }
}

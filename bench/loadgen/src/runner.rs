//! One run: `-T` threads, each with its own transport and `-c` connections per
//! server, started together, warmed up, measured, drained; and the loading phase.

use crate::assign::servers_of_thread;
use crate::clock::Clock;
use crate::conn::{Connection, Window};
use crate::dist::Distribution;
use crate::error::{LoadgenError, Result};
use crate::pacing::Pacing;
use crate::protocol::Protocol;
use crate::schedule::Schedule;
use crate::stats::Stats;
use crate::transport::TransportKind;
use crate::workload::{value_pool, RequestGen, Workload};
use std::net::SocketAddr;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Instant;

/// Outstanding sets per connection while loading.
const LOAD_DEPTH: usize = 64;
/// How long loading may take before it is abandoned.
const LOAD_TIMEOUT_NS: u64 = 600_000_000_000;
/// Delay between the go signal and the first send, so every thread starts together.
const START_DELAY_NS: u64 = 1_000_000;

/// Everything one run needs.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Servers; every thread connects to each (or, with `roundrobin`, to its share).
    pub servers: Vec<SocketAddr>,
    /// `-R`: thread t connects to servers t, t + threads, ... (see `assign`).
    pub roundrobin: bool,
    /// ASCII or binary.
    pub proto: Protocol,
    /// The request mix (records per server).
    pub workload: Workload,
    /// Threads (`-T`), >= 1.
    pub threads: usize,
    /// Connections per (assigned) server per thread (`-c`), >= 1.
    pub connections: usize,
    /// Pipeline depth per connection (`-d`), >= 1.
    pub depth: usize,
    /// Requests per second per connection; 0 sends as fast as the depth allows.
    pub lambda_per_conn: f64,
    /// Inter-arrival distribution (`-i`), refitted to `lambda_per_conn`.
    pub iadist: Distribution,
    /// Warm-up seconds (`-w`), sent but not measured.
    pub warmup_s: f64,
    /// Measured seconds (`-t`).
    pub time_s: f64,
    /// How long after the window requests may still be answered and counted.
    pub drain_s: f64,
    /// Keep every get's (scheduled time, latency) for `--save`.
    pub keep_samples: bool,
    /// Seed of every random choice.
    pub seed: u64,
    /// Linux sockets, libix's kernel transport or the dataplane.
    pub transport: TransportKind,
    /// `TCP_NODELAY` on the sockets (off: `--no_nodelay`).
    pub nodelay: bool,
    /// `-S`: skip arrivals more than a mean gap late (see `pacing`).
    pub skip: bool,
    /// `--moderate`: at least half a mean gap between a connection's sends.
    pub moderate: bool,
    /// `--affinity`: pin load thread t to the t-th CPU this process may use (mod
    /// their number).
    pub affinity: bool,
    /// `-W`: the measurement starts no earlier than this (the warm-up right before).
    pub measure_not_before: Option<Instant>,
}

fn secs_to_ns(s: f64) -> u64 {
    (s.max(0.0) * 1e9).round() as u64
}

fn mix_seed(seed: u64, thread: usize, conn: usize) -> u64 {
    let k = (thread as u64) << 32 | conn as u64;
    (seed ^ k.wrapping_mul(0x9e37_79b9_7f4a_7c15)).wrapping_add(k)
}

/// Runs the mix. After every thread has connected, `sync` is called (agents use it
/// to wait for the master's go); then all threads start together. Returns the merged
/// statistics of every connection.
pub fn run(cfg: &RunConfig, sync: &mut dyn FnMut() -> Result<()>) -> Result<Stats> {
    if cfg.servers.is_empty() {
        return Err(LoadgenError::Config("no server to send to".into()));
    }
    let interarrival = if cfg.lambda_per_conn > 0.0 {
        Some(cfg.iadist.with_rate(cfg.lambda_per_conn)?)
    } else {
        None
    };
    let cores = if cfg.affinity {
        core_affinity::get_core_ids()
            .filter(|ids| !ids.is_empty())
            .ok_or_else(|| {
                LoadgenError::Config("--affinity: cannot read the CPUs this process may use".into())
            })?
    } else {
        Vec::new()
    };
    let clock = Clock::new();
    let values = value_pool(cfg.seed);
    let (ready_tx, ready_rx) = mpsc::channel::<Result<()>>();
    let mut starts = Vec::new();
    let mut handles = Vec::new();
    for t in 0..cfg.threads.max(1) {
        let (start_tx, start_rx) = mpsc::channel::<Option<u64>>();
        starts.push(start_tx);
        let ready_tx = ready_tx.clone();
        let cfg = cfg.clone();
        let interarrival = interarrival.clone();
        let values = values.clone();
        let core = (!cores.is_empty()).then(|| cores[t % cores.len()]);
        let handle = thread::Builder::new()
            .name(format!("loadgen-{t}"))
            .spawn(move || {
                let setup = ThreadSetup {
                    t,
                    interarrival,
                    clock,
                    values,
                    core,
                };
                thread_main(&cfg, setup, &ready_tx, &start_rx)
            })
            .map_err(|e| LoadgenError::io("spawn thread", e))?;
        handles.push(handle);
    }
    drop(ready_tx);
    let mut failure = None;
    for _ in 0..handles.len() {
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                failure.get_or_insert(e);
            }
            Err(_) => {
                failure.get_or_insert(LoadgenError::Config("a load thread ended early".into()));
                break;
            }
        }
    }
    if failure.is_none() {
        if let Some(at) = cfg.measure_not_before {
            // -W: hold the start (agents wait for the go) so that the measurement,
            // after the warm-up, starts no earlier than asked.
            let start_at =
                at.checked_sub(std::time::Duration::from_secs_f64(cfg.warmup_s.max(0.0)));
            if let Some(wait) = start_at.and_then(|s| s.checked_duration_since(Instant::now())) {
                thread::sleep(wait);
            }
        }
        if let Err(e) = sync() {
            failure = Some(e);
        }
    }
    let go = failure.is_none().then(|| clock.now_ns() + START_DELAY_NS);
    for s in &starts {
        let _ = s.send(go);
    }
    let mut total: Option<Stats> = None;
    for h in handles {
        match h.join() {
            Ok(Ok(Some(stats))) => match &mut total {
                Some(t) => t.merge(&stats),
                None => total = Some(stats),
            },
            Ok(Ok(None)) => {}
            Ok(Err(e)) => {
                failure.get_or_insert(e);
            }
            Err(_) => {
                failure.get_or_insert(LoadgenError::Config("a load thread panicked".into()));
            }
        }
    }
    match (failure, total) {
        (Some(e), _) => Err(e),
        (None, Some(t)) => Ok(t),
        (None, None) => Err(LoadgenError::Config("no thread measured anything".into())),
    }
}

/// What one load thread is handed besides the run's config.
struct ThreadSetup {
    t: usize,
    interarrival: Option<Distribution>,
    clock: Clock,
    values: Arc<[u8]>,
    /// `--affinity`: the CPU to pin this thread to.
    core: Option<core_affinity::CoreId>,
}

fn thread_main(
    cfg: &RunConfig,
    setup: ThreadSetup,
    ready: &mpsc::Sender<Result<()>>,
    start: &mpsc::Receiver<Option<u64>>,
) -> Result<Option<Stats>> {
    let ThreadSetup {
        t,
        interarrival,
        clock,
        values,
        core,
    } = setup;
    if let Some(core) = core {
        if !core_affinity::set_for_current(core) {
            let e = LoadgenError::Config(format!(
                "--affinity: cannot pin a thread to CPU {}",
                core.id
            ));
            let _ = ready.send(Err(e));
            return Ok(None);
        }
    }
    let mine = servers_of_thread(cfg.servers.len(), cfg.threads.max(1), t, cfg.roundrobin);
    let mut transport = match connect_all(cfg, &mine) {
        Ok(tr) => tr,
        Err(e) => {
            let _ = ready.send(Err(e));
            return Ok(None);
        }
    };
    // Built before the start so that none of this delays the first sends.
    let idle = Window {
        start_ns: u64::MAX,
        measure_ns: u64::MAX,
        end_ns: u64::MAX,
    };
    let n = mine.len() * cfg.connections.max(1);
    let mut conns: Vec<Connection> = (0..n)
        .map(|k| {
            let seed = mix_seed(cfg.seed, t, k);
            let gen = RequestGen::new(cfg.workload.clone(), seed, values.clone());
            Connection::new(cfg.proto, cfg.depth, idle, None, gen, cfg.keep_samples)
        })
        .collect();
    let _ = ready.send(Ok(()));
    let Ok(Some(start_ns)) = start.recv() else {
        return Ok(None);
    };
    let measure_ns = start_ns + secs_to_ns(cfg.warmup_s);
    let window = Window {
        start_ns,
        measure_ns,
        end_ns: measure_ns + secs_to_ns(cfg.time_s),
    };
    let pacing = Pacing::new(cfg.skip, cfg.moderate, cfg.lambda_per_conn);
    for (k, c) in conns.iter_mut().enumerate() {
        let seed = mix_seed(cfg.seed, t, k) ^ 0x5eed_5eed;
        c.set_pacing(pacing);
        c.begin(
            window,
            interarrival
                .clone()
                .map(|ia| Schedule::new(ia, start_ns, seed)),
        );
    }
    transport.drive(&mut conns, &clock, window.end_ns + secs_to_ns(cfg.drain_s))?;
    let mut stats = Stats::new(window.measure_ns, window.end_ns, cfg.keep_samples);
    for c in conns {
        stats.merge(&c.finish());
    }
    Ok(Some(stats))
}

/// Opens `-c` connections to each of the servers numbered `mine`.
fn connect_all(cfg: &RunConfig, mine: &[usize]) -> Result<Box<dyn crate::transport::Transport>> {
    let mut transport = cfg.transport.open(cfg.nodelay)?;
    for &s in mine {
        for _ in 0..cfg.connections.max(1) {
            transport.connect(cfg.servers[s])?;
        }
    }
    Ok(transport)
}

/// Loads records `0..records` into every server with sets (one connection per
/// server, pipelined). Returns the number of sets stored.
pub fn load(cfg: &RunConfig) -> Result<u64> {
    let clock = Clock::new();
    let values = value_pool(cfg.seed);
    let mut transport = cfg.transport.open(cfg.nodelay)?;
    let mut conns = Vec::new();
    for (k, server) in cfg.servers.iter().enumerate() {
        transport.connect(*server)?;
        let seed = mix_seed(cfg.seed, usize::MAX, k);
        let gen = RequestGen::new(cfg.workload.clone(), seed, values.clone());
        conns.push(Connection::loader(
            cfg.proto,
            LOAD_DEPTH,
            0,
            cfg.workload.records,
            gen,
        ));
    }
    if !transport.drive(&mut conns, &clock, LOAD_TIMEOUT_NS)? {
        return Err(LoadgenError::Config(
            "loading did not finish in 600 s".into(),
        ));
    }
    let errors: u64 = conns.iter().map(|c| c.errors()).sum();
    if errors > 0 {
        return Err(LoadgenError::Protocol(format!(
            "{errors} sets failed while loading"
        )));
    }
    Ok(conns.iter().map(Connection::loaded).sum())
}

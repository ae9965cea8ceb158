//! The master side of a measurement: its own run, plus (with `-a`) the agents it drives,
//! and the modes built from repeated runs (`--search`, `--scan`).

use crate::agent::{AgentConfig, Channel, Message};
use crate::assign::total_connections;
use crate::error::{LoadgenError, Result};
use crate::runner::{self, RunConfig};
use crate::stats::{Counts, Stats};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// How long the master keeps trying to reach an agent (it may still be starting).
const AGENT_CONNECT_PATIENCE: Duration = Duration::from_secs(10);

/// Everything the master needs to measure at any target rate.
#[derive(Debug, Clone)]
pub struct MasterPlan {
    /// The master's own run (its `-c`/`-d`; rate set per measurement).
    pub run: RunConfig,
    /// Agents to drive, `host[:port]`.
    pub agents: Vec<String>,
    /// Port of agents given without one (`-p`).
    pub agent_port: u16,
    /// `-C`: the master's connections per server per thread, instead of `-c`.
    pub measure_connections: Option<usize>,
    /// `-Q`: the master's own rate, taken out of `-q` (with agents).
    pub measure_qps: Option<u64>,
    /// `-D`: the master's depth, instead of `-d` (with agents).
    pub measure_depth: Option<usize>,
    /// `--lambda_mul`: the master's rate weight.
    pub lambda_mul: u64,
    /// What agents are told (servers, workload, `-c`, `-d`, ...).
    pub agent_config: AgentConfig,
}

/// What one measurement found.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The master's own measurements (latencies are only the master's).
    pub stats: Stats,
    /// Counts of everyone: the master plus every agent.
    pub counts: Counts,
    /// Each participant's counts: "master" first, then each agent by address.
    pub sources: Vec<(String, Counts)>,
}

impl Outcome {
    /// Completed requests per second, everyone together, over the master's window.
    pub fn qps(&self) -> f64 {
        self.counts.total() as f64 / self.stats.seconds()
    }
}

fn connect_agent(spec: &str, default_port: u16, timeout: Duration) -> Result<Channel> {
    let with_port = if spec.contains(':') {
        spec.to_string()
    } else {
        format!("{spec}:{default_port}")
    };
    let addr = with_port
        .to_socket_addrs()
        .map_err(|e| LoadgenError::io(format!("resolve agent {spec}"), e))?
        .next()
        .ok_or_else(|| LoadgenError::parse("agent", spec, "no address"))?;
    let since = Instant::now();
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Ok(s) => return Channel::new(s, Some(timeout)),
            Err(e) if since.elapsed() >= AGENT_CONNECT_PATIENCE => {
                return Err(LoadgenError::io(format!("connect to agent {addr}"), e))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Measures once at target `qps` (0: as fast as possible): drives the agents through
/// the protocol in `agent`, runs the master's own connections, adds up the counts.
pub fn measure(plan: &MasterPlan, qps: u64) -> Result<Outcome> {
    let mut run = plan.run.clone();
    run.connections = plan.measure_connections.unwrap_or(run.connections).max(1);
    let own_connections = total_connections(
        run.servers.len(),
        run.threads.max(1),
        run.connections,
        run.roundrobin,
    ) as f64;
    let timeout = Duration::from_secs_f64(run.warmup_s + run.time_s + run.drain_s + 60.0);

    let mut agents = Vec::new();
    for spec in &plan.agents {
        agents.push(connect_agent(spec, plan.agent_port, timeout)?);
    }
    let mut agent_weight = 0.0;
    for a in &mut agents {
        let mut cfg = plan.agent_config.clone();
        cfg.warmup_s = run.warmup_s;
        cfg.time_s = run.time_s;
        a.send(&Message::Config(cfg))?;
    }
    for a in &mut agents {
        if let Message::Weight {
            connections,
            lambda_mul,
        } = a.recv_kind("weight")?
        {
            agent_weight += connections as f64 * lambda_mul as f64;
        }
    }
    let own_weight = own_connections * plan.lambda_mul as f64;
    let qps_f = qps as f64;
    let (agents_qps, denom) = match (plan.measure_qps, agents.is_empty()) {
        (Some(q), false) => {
            run.lambda_per_conn = q as f64 / own_connections;
            ((qps_f - q as f64).max(0.0), agent_weight)
        }
        _ => {
            let denom = agent_weight + own_weight;
            run.lambda_per_conn = qps_f / denom * plan.lambda_mul as f64;
            (qps_f, denom)
        }
    };
    if !agents.is_empty() {
        if let Some(d) = plan.measure_depth {
            run.depth = d.max(1);
        }
    }
    for a in &mut agents {
        a.send(&Message::Lambda {
            qps: agents_qps,
            lambda_denom: denom,
        })?;
    }
    let stats = runner::run(&run, &mut || {
        for a in agents.iter_mut() {
            a.recv_kind("ready")?;
        }
        for a in agents.iter_mut() {
            a.send(&Message::Go)?;
        }
        Ok(())
    })?;
    let mut counts = stats.counts;
    let mut sources = vec![("master".to_string(), stats.counts)];
    for a in &mut agents {
        if let Message::Stats { counts: c, .. } = a.recv_kind("stats")? {
            counts.add(&c);
            sources.push((a.peer().to_string(), c));
        }
    }
    Ok(Outcome {
        stats,
        counts,
        sources,
    })
}

/// `--search N:X`: the highest rate whose Nth percentile get latency stays under X µs,
/// found as mutilate does (a peak run, bisection down to 2 %, then 2 % steps down).
/// Returns the last measurement and the peak rate. Progress goes to stderr.
pub fn search(plan: &MasterPlan, n: f64, x_us: f64) -> Result<(Outcome, f64)> {
    let nth_us = |o: &Outcome| o.stats.get.percentile(n) as f64 / 1e3;
    let mut o = measure(plan, 0)?;
    let peak = o.qps();
    let mut nth = nth_us(&o);
    eprintln!("search: peak qps = {peak:.0}, p{n} = {nth:.1} us");
    if nth > x_us {
        let (mut low, mut high) = (1.0f64, peak);
        let mut cur = peak;
        while high > low * 1.02 && cur > peak * 0.1 {
            cur = ((high + low) / 2.0).floor();
            o = measure(plan, cur as u64)?;
            nth = nth_us(&o);
            eprintln!(
                "search: target {cur:.0}, got {:.0} qps, p{n} = {nth:.1} us",
                o.qps()
            );
            if nth > x_us {
                high = cur;
            } else {
                low = cur;
            }
        }
        while nth > x_us && cur > peak * 0.1 && cur > low * 0.9 {
            cur = (cur * 0.98).floor();
            o = measure(plan, cur as u64)?;
            nth = nth_us(&o);
            eprintln!(
                "search: target {cur:.0}, got {:.0} qps, p{n} = {nth:.1} us",
                o.qps()
            );
        }
    }
    Ok((o, peak))
}

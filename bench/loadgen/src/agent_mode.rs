//! `-A`: serve masters, one session (one run) at a time, until killed.

use crate::agent::{AgentConfig, Channel, Message};
use crate::assign::total_connections;
use crate::dist::Distribution;
use crate::error::{LoadgenError, Result};
use crate::protocol::Protocol;
use crate::runner::{self, RunConfig};
use crate::transport::TransportKind;
use crate::workload::Workload;
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

/// How long an agent waits for the master's next message.
const MASTER_TIMEOUT: Duration = Duration::from_secs(600);
/// Drain time after the window, as the master uses.
pub const DRAIN_S: f64 = 2.0;
/// Why `--no_nodelay` is refused with `--transport libix`.
pub const NO_NODELAY_ON_DATAPLANE: &str =
    "--no_nodelay: the dataplane's TCP (--transport libix) has no Nagle delay to turn on";

/// The agent's own settings (the rest comes from the master).
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// Address to listen on (`-p` gives the port).
    pub listen: SocketAddr,
    /// Its threads (`-T`).
    pub threads: usize,
    /// Its rate weight (`--lambda_mul`).
    pub lambda_mul: u64,
    /// Its transport.
    pub transport: TransportKind,
    /// Its `--affinity`.
    pub affinity: bool,
    /// Its `-W`: no measurement starts before this.
    pub measure_not_before: Option<Instant>,
}

/// Turns the master's config into a run on this agent's threads, transport,
/// affinity and wait (rate still 0: set from the lambda message).
pub fn run_config(cfg: &AgentConfig, opts: &AgentOptions) -> Result<RunConfig> {
    if cfg.no_nodelay && opts.transport == TransportKind::Libix {
        return Err(LoadgenError::Config(NO_NODELAY_ON_DATAPLANE.into()));
    }
    let servers = cfg
        .servers
        .iter()
        .map(|s| {
            s.parse()
                .map_err(|_| LoadgenError::parse("server", s, "not ip:port"))
        })
        .collect::<Result<Vec<SocketAddr>>>()?;
    Ok(RunConfig {
        servers,
        roundrobin: cfg.roundrobin,
        proto: if cfg.binary {
            Protocol::Binary
        } else {
            Protocol::Ascii
        },
        workload: Workload {
            keysize: Distribution::parse("keysize", &cfg.keysize)?,
            valuesize: Distribution::parse("valuesize", &cfg.valuesize)?,
            records: cfg.records.max(1),
            update: cfg.update,
        },
        threads: opts.threads.max(1),
        connections: cfg.connections.max(1),
        depth: cfg.depth.max(1),
        lambda_per_conn: 0.0,
        iadist: Distribution::parse("iadist", &cfg.iadist)?,
        warmup_s: cfg.warmup_s,
        time_s: cfg.time_s,
        drain_s: DRAIN_S,
        keep_samples: false,
        seed: cfg.seed,
        transport: opts.transport,
        nodelay: !cfg.no_nodelay,
        skip: cfg.skip,
        moderate: cfg.moderate,
        affinity: opts.affinity,
        measure_not_before: opts.measure_not_before,
    })
}

/// The master's `seed` mixed with `agent`, the address the master reached this
/// agent at: distinct agents of one master (other hosts on the same default port,
/// or other ports of one host) get distinct request streams and arrival times,
/// where mixing in the listening port alone gave agents on different hosts the
/// same ones.
pub fn agent_seed(seed: u64, agent: SocketAddr) -> u64 {
    // FNV-1a over the address's text (IP and port), then a multiplicative mix.
    let hash = agent
        .to_string()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    seed ^ hash.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// Listens and serves masters forever; a failed session is reported to its master
/// and on stderr, and the agent waits for the next.
pub fn serve(opts: &AgentOptions) -> Result<()> {
    let listener = TcpListener::bind(opts.listen)
        .map_err(|e| LoadgenError::io(format!("agent: listen on {}", opts.listen), e))?;
    eprintln!("ix-mutilate agent listening on {}", opts.listen);
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(x) => x,
            Err(e) => {
                eprintln!("agent: accept: {e}");
                continue;
            }
        };
        let mut chan = match Channel::new(stream, Some(MASTER_TIMEOUT)) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("agent: {peer}: {e}");
                continue;
            }
        };
        if let Err(e) = session(&mut chan, opts) {
            eprintln!("agent: session with {peer} failed: {e}");
            let _ = chan.send(&Message::Error {
                message: e.to_string(),
            });
        }
    }
}

/// One run for one master, steps 1-6 of the protocol (see `agent`).
pub fn session(chan: &mut Channel, opts: &AgentOptions) -> Result<()> {
    let Message::Config(cfg) = chan.recv_kind("config")? else {
        return Err(LoadgenError::Agent("expected config".into()));
    };
    let mut run = run_config(&cfg, opts)?;
    run.seed = agent_seed(run.seed, chan.local_addr().unwrap_or(opts.listen));
    let connections = total_connections(
        run.servers.len(),
        run.threads,
        run.connections,
        run.roundrobin,
    ) as u64;
    chan.send(&Message::Weight {
        connections,
        lambda_mul: opts.lambda_mul,
    })?;
    let Message::Lambda { qps, lambda_denom } = chan.recv_kind("lambda")? else {
        return Err(LoadgenError::Agent("expected lambda".into()));
    };
    if qps > 0.0 && lambda_denom > 0.0 {
        run.lambda_per_conn = qps / lambda_denom * opts.lambda_mul as f64;
    }
    let stats = runner::run(&run, &mut || {
        chan.send(&Message::Ready)?;
        chan.recv_kind("go").map(|_| ())
    })?;
    chan.send(&Message::Stats {
        counts: stats.counts,
        seconds: stats.seconds(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_of_one_master_get_distinct_seeds() {
        let at = |a: &str| agent_seed(42, a.parse().unwrap());
        // Two hosts on the default port, and two ports of one host.
        assert_ne!(at("10.0.0.1:5556"), at("10.0.0.2:5556"));
        assert_ne!(at("10.0.0.1:5556"), at("10.0.0.1:5557"));
        assert_ne!(at("10.0.0.1:5556"), 42, "the master's own seed");
        // The same agent, reached the same way, is reproducible.
        assert_eq!(at("10.0.0.1:5556"), at("10.0.0.1:5556"));
        assert_ne!(
            agent_seed(1, "10.0.0.1:5556".parse().unwrap()),
            at("10.0.0.1:5556")
        );
    }
}

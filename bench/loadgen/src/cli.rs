//! The command line: mutilate's options, names and defaults, plus a few of our own
//! (`--seed`, `--transport`, `--drain`).

use crate::agent::AgentConfig;
use crate::agent_mode::{AgentOptions, DRAIN_S, NO_NODELAY_ON_DATAPLANE};
use crate::dist::Distribution;
use crate::error::{LoadgenError, Result};
use crate::master::MasterPlan;
use crate::protocol::Protocol;
use crate::runner::RunConfig;
use crate::transport::TransportKind;
use crate::workload::Workload;
use clap::{ArgAction, Parser};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// ix-mutilate's options (mutilate's, same names and defaults).
#[derive(Debug, Clone, Parser)]
#[command(
    name = "ix-mutilate",
    version,
    disable_version_flag = true,
    about = "A mutilate-compatible memcached load generator that measures latency from the \
             scheduled send time (no coordinated omission)."
)]
pub struct Args {
    /// Print version and exit.
    #[arg(long = "version", action = ArgAction::Version)]
    pub version: Option<bool>,
    /// Memcached server hostname[:port] (port 11211 by default). Repeat for more.
    #[arg(short = 's', long = "server")]
    pub server: Vec<String>,
    /// Use the binary memcached protocol instead of ASCII.
    #[arg(long = "binary")]
    pub binary: bool,
    /// Target aggregate QPS. 0 = peak QPS.
    #[arg(short = 'q', long = "qps", default_value_t = 0)]
    pub qps: u64,
    /// Maximum time to run (seconds).
    #[arg(short = 't', long = "time", default_value_t = 5)]
    pub time: u64,
    /// Length of memcached keys (distribution).
    #[arg(short = 'K', long = "keysize", default_value = "30")]
    pub keysize: String,
    /// Length of memcached values (distribution).
    #[arg(short = 'V', long = "valuesize", default_value = "200")]
    pub valuesize: String,
    /// Number of memcached records to use, divided among the servers.
    #[arg(short = 'r', long = "records", default_value_t = 10000)]
    pub records: u64,
    /// Ratio of set:get commands.
    #[arg(short = 'u', long = "update", default_value_t = 0.0)]
    pub update: f64,
    /// Number of threads to spawn.
    #[arg(short = 'T', long = "threads", default_value_t = 1)]
    pub threads: usize,
    /// Set CPU affinity for threads, round-robin (thread t on the t-th CPU this
    /// process may use).
    #[arg(long = "affinity")]
    pub affinity: bool,
    /// Connections to establish per server (per thread).
    #[arg(short = 'c', long = "connections", default_value_t = 1)]
    pub connections: usize,
    /// Maximum depth to pipeline requests.
    #[arg(short = 'd', long = "depth", default_value_t = 1)]
    pub depth: usize,
    /// Assign threads to servers in round-robin fashion. By default, each thread
    /// connects to every server.
    #[arg(short = 'R', long = "roundrobin")]
    pub roundrobin: bool,
    /// Inter-arrival distribution, adjusted to the QPS given by --qps.
    #[arg(short = 'i', long = "iadist", default_value = "exponential")]
    pub iadist: String,
    /// Skip transmissions if previous requests are late: a request not sent within
    /// one mean inter-arrival gap (1/lambda) of its scheduled time is dropped and
    /// counted in Skipped TXs.
    #[arg(short = 'S', long = "skip")]
    pub skip: bool,
    /// Enforce a minimum delay between requests: a connection's sends are at least
    /// 0.5/lambda apart.
    #[arg(long = "moderate")]
    pub moderate: bool,
    /// Skip database loading.
    #[arg(long = "noload")]
    pub noload: bool,
    /// Load database and then exit.
    #[arg(long = "loadonly")]
    pub loadonly: bool,
    /// Use blocking epoll(): sleep until the next send instead of spinning near it.
    #[arg(short = 'B', long = "blocking")]
    pub blocking: bool,
    /// Don't use TCP_NODELAY.
    #[arg(long = "no_nodelay")]
    pub no_nodelay: bool,
    /// Warmup time (seconds) before starting measurement.
    #[arg(short = 'w', long = "warmup", default_value_t = 0)]
    pub warmup: u64,
    /// Time to wait after startup to start measurement (seconds).
    #[arg(short = 'W', long = "wait", default_value_t = 0)]
    pub wait: u64,
    /// Record get latency samples ("seconds-into-run latency-µs" per line) to this file.
    #[arg(long = "save")]
    pub save: Option<String>,
    /// Search for the QPS where the N-order statistic < X µs (e.g. 95:1000).
    #[arg(long = "search", value_name = "N:X")]
    pub search: Option<String>,
    /// Scan latency across QPS rates from min to max.
    #[arg(long = "scan", value_name = "min:max:step")]
    pub scan: Option<String>,
    /// Run client in agent mode.
    #[arg(short = 'A', long = "agentmode")]
    pub agentmode: bool,
    /// Enlist remote agent (host[:port]). Repeat for more.
    #[arg(short = 'a', long = "agent")]
    pub agent: Vec<String>,
    /// Agent port.
    #[arg(short = 'p', long = "agent_port", default_value_t = 5556)]
    pub agent_port: u16,
    /// Lambda multiplier: increases this client's share of QPS.
    #[arg(short = 'l', long = "lambda_mul", default_value_t = 1)]
    pub lambda_mul: u64,
    /// Master client connections per server, overrides --connections.
    #[arg(short = 'C', long = "measure_connections")]
    pub measure_connections: Option<usize>,
    /// Explicitly set master client QPS, spread across threads and connections.
    #[arg(short = 'Q', long = "measure_qps")]
    pub measure_qps: Option<u64>,
    /// Set master client connection depth.
    #[arg(short = 'D', long = "measure_depth")]
    pub measure_depth: Option<usize>,
    /// (ix) Address an agent listens on, with -A (port from --agent_port).
    #[arg(long = "agent_listen", default_value = "0.0.0.0")]
    pub agent_listen: IpAddr,
    /// (ix) Transport: linux (sockets, mio), libix-kernel (a libix application on
    /// libix's kernel transport) or libix (the same on a dataplane instance: DPDK,
    /// one elastic thread per -T; needs --ix-spec). An agent's is its own, not the
    /// master's.
    #[arg(long = "transport", default_value = "linux")]
    pub transport: String,
    /// (ix) With --transport libix: the dataplane instance's spec (JSON, as ixcp
    /// writes it); default: the file named by IX_INSTANCE_SPEC.
    #[arg(long = "ix-spec")]
    pub ix_spec: Option<std::path::PathBuf>,
    /// (ix) Seconds after the run during which late replies are still counted.
    #[arg(long = "drain", default_value_t = DRAIN_S)]
    pub drain: f64,
    /// (ix) Seed for every random choice (default: from the clock).
    #[arg(long = "seed")]
    pub seed: Option<u64>,
}

/// Resolves `host[:port]` (port 11211 by default), preferring IPv4.
pub fn resolve_server(spec: &str) -> Result<SocketAddr> {
    let with_port = match spec.rsplit_once(':') {
        Some((_, p)) if p.parse::<u16>().is_ok() && !spec.starts_with('[') => spec.to_string(),
        _ if spec.starts_with('[') && spec.contains("]:") => spec.to_string(),
        _ => format!("{spec}:11211"),
    };
    let addrs: Vec<SocketAddr> = with_port
        .to_socket_addrs()
        .map_err(|e| LoadgenError::parse("--server", spec, e.to_string()))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| LoadgenError::parse("--server", spec, "no address"))
}

/// Parses `--scan min:max:step` (step >= 1, min <= max).
pub fn parse_scan(text: &str) -> Result<(u64, u64, u64)> {
    let parts: Vec<u64> = text
        .split(':')
        .map(|p| p.parse::<u64>().ok())
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| LoadgenError::parse("--scan", text, "expected min:max:step"))?;
    match parts[..] {
        [min, max, step] if step >= 1 && min <= max => Ok((min, max, step)),
        _ => Err(LoadgenError::parse(
            "--scan",
            text,
            "expected min:max:step with step >= 1, min <= max",
        )),
    }
}

/// Parses `--search N:X` (0 < N < 100, X > 0 µs).
pub fn parse_search(text: &str) -> Result<(f64, f64)> {
    let bad = || {
        LoadgenError::parse(
            "--search",
            text,
            "expected N:X, percentile 0<N<100 and X>0 µs",
        )
    };
    let (n, x) = text.split_once(':').ok_or_else(bad)?;
    let (n, x): (f64, f64) = (n.parse().map_err(|_| bad())?, x.parse().map_err(|_| bad())?);
    if n > 0.0 && n < 100.0 && x > 0.0 {
        Ok((n, x))
    } else {
        Err(bad())
    }
}

impl Args {
    fn check(&self) -> Result<()> {
        let bad = |m: &str| Err(LoadgenError::Config(m.to_string()));
        if self.depth < 1 {
            return bad("--depth must be >= 1");
        }
        if !(0.0..=1.0).contains(&self.update) {
            return bad("--update must be >= 0.0 and <= 1.0");
        }
        if self.time < 1 {
            return bad("--time must be >= 1");
        }
        if self.threads < 1 || self.connections < 1 {
            return bad("--threads and --connections must be >= 1");
        }
        if self.measure_connections == Some(0) || self.measure_depth == Some(0) {
            return bad("--measure_connections and --measure_depth must be >= 1");
        }
        if self.lambda_mul < 1 {
            return bad("--lambda_mul must be >= 1");
        }
        if !(self.drain >= 0.0 && self.drain.is_finite()) {
            return bad("--drain must be >= 0");
        }
        if self.server.is_empty() && !self.agentmode {
            return bad("--server or --agentmode must be specified.");
        }
        if self.transport_kind()? == TransportKind::Libix {
            if self.no_nodelay {
                return bad(NO_NODELAY_ON_DATAPLANE);
            }
            if self.affinity {
                return bad(
                    "--affinity: with --transport libix the load runs on the instance's \
                     elastic threads, pinned to the spec's cores: choose the cores there",
                );
            }
        }
        Ok(())
    }

    /// `-W`: when the measurement may start, counted from now (the startup).
    fn measure_not_before(&self) -> Option<std::time::Instant> {
        (self.wait > 0)
            .then(|| std::time::Instant::now() + std::time::Duration::from_secs(self.wait))
    }

    /// The transport asked for.
    pub fn transport_kind(&self) -> Result<TransportKind> {
        match self.transport.as_str() {
            "linux" => Ok(TransportKind::Linux {
                blocking: self.blocking,
            }),
            "libix-kernel" => Ok(TransportKind::LibixKernel),
            "libix" if self.ix_spec_path().is_some() => Ok(TransportKind::Libix),
            "libix" => Err(LoadgenError::Config(format!(
                "--transport libix runs on a dataplane instance: give its spec with --ix-spec \
                 PATH or {}",
                ix_instance::spec::SPEC_ENV
            ))),
            other => Err(LoadgenError::parse(
                "--transport",
                other,
                "expected linux, libix-kernel or libix",
            )),
        }
    }

    /// The instance spec for `--transport libix`: `--ix-spec`, else `IX_INSTANCE_SPEC`.
    pub fn ix_spec_path(&self) -> Option<std::path::PathBuf> {
        self.ix_spec
            .clone()
            .or_else(|| std::env::var_os(ix_instance::spec::SPEC_ENV).map(Into::into))
    }

    /// The agent-mode settings (`-A`).
    pub fn agent_options(&self) -> Result<AgentOptions> {
        self.check()?;
        Ok(AgentOptions {
            listen: SocketAddr::new(self.agent_listen, self.agent_port),
            threads: self.threads,
            lambda_mul: self.lambda_mul,
            transport: self.transport_kind()?,
            affinity: self.affinity,
            measure_not_before: self.measure_not_before(),
        })
    }

    /// The master's plan: servers resolved, distributions parsed, options checked.
    pub fn master_plan(&self) -> Result<MasterPlan> {
        self.check()?;
        let servers = self
            .server
            .iter()
            .map(|s| resolve_server(s))
            .collect::<Result<Vec<_>>>()?;
        let records = (self.records / servers.len() as u64).max(1);
        let iadist = Distribution::parse("--iadist", &self.iadist)?;
        // Refuse an -i that cannot be fitted to a rate now rather than mid-run.
        iadist.with_rate(1.0)?;
        let seed = self.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
        let run = RunConfig {
            servers: servers.clone(),
            roundrobin: self.roundrobin,
            proto: if self.binary {
                Protocol::Binary
            } else {
                Protocol::Ascii
            },
            workload: Workload {
                keysize: Distribution::parse("--keysize", &self.keysize)?,
                valuesize: Distribution::parse("--valuesize", &self.valuesize)?,
                records,
                update: self.update,
            },
            threads: self.threads,
            connections: self.connections,
            depth: self.depth,
            lambda_per_conn: 0.0,
            iadist,
            warmup_s: self.warmup as f64,
            time_s: self.time as f64,
            drain_s: self.drain,
            keep_samples: self.save.is_some(),
            seed,
            transport: self.transport_kind()?,
            nodelay: !self.no_nodelay,
            skip: self.skip,
            moderate: self.moderate,
            affinity: self.affinity,
            measure_not_before: self.measure_not_before(),
        };
        let agent_config = AgentConfig {
            servers: servers.iter().map(|s| s.to_string()).collect(),
            binary: self.binary,
            keysize: self.keysize.clone(),
            valuesize: self.valuesize.clone(),
            records,
            update: self.update,
            connections: self.connections,
            depth: self.depth,
            iadist: self.iadist.clone(),
            time_s: self.time as f64,
            warmup_s: self.warmup as f64,
            seed,
            roundrobin: self.roundrobin,
            skip: self.skip,
            moderate: self.moderate,
            no_nodelay: self.no_nodelay,
        };
        Ok(MasterPlan {
            run,
            agents: self.agent.clone(),
            agent_port: self.agent_port,
            measure_connections: self.measure_connections,
            measure_qps: self.measure_qps,
            measure_depth: self.measure_depth,
            lambda_mul: self.lambda_mul,
            agent_config,
        })
    }
}

#[cfg(test)]
mod tests;

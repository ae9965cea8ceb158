//! The command line: mutilate's options, names and defaults, plus a few of our own
//! (`--seed`, `--transport`, `--drain`).

use crate::agent::AgentConfig;
use crate::agent_mode::{AgentOptions, DRAIN_S};
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
    /// Connections to establish per server (per thread).
    #[arg(short = 'c', long = "connections", default_value_t = 1)]
    pub connections: usize,
    /// Maximum depth to pipeline requests.
    #[arg(short = 'd', long = "depth", default_value_t = 1)]
    pub depth: usize,
    /// Inter-arrival distribution, adjusted to the QPS given by --qps.
    #[arg(short = 'i', long = "iadist", default_value = "exponential")]
    pub iadist: String,
    /// Skip database loading.
    #[arg(long = "noload")]
    pub noload: bool,
    /// Load database and then exit.
    #[arg(long = "loadonly")]
    pub loadonly: bool,
    /// Use blocking epoll(): sleep until the next send instead of spinning near it.
    #[arg(short = 'B', long = "blocking")]
    pub blocking: bool,
    /// Warmup time (seconds) before starting measurement.
    #[arg(short = 'w', long = "warmup", default_value_t = 0)]
    pub warmup: u64,
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
    /// one elastic thread per -T; needs --ix-spec).
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
        self.transport_kind().map(|_| ())
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
mod tests {
    use super::*;

    fn args(line: &str) -> Args {
        Args::try_parse_from(std::iter::once("ix-mutilate").chain(line.split_whitespace())).unwrap()
    }

    #[test]
    fn mutilate_names_and_defaults() {
        let a = args("-s 127.0.0.1");
        assert_eq!(
            (a.qps, a.time, a.records, a.threads, a.connections, a.depth),
            (0, 5, 10000, 1, 1, 1)
        );
        assert_eq!(
            (a.keysize.as_str(), a.valuesize.as_str(), a.iadist.as_str()),
            ("30", "200", "exponential")
        );
        assert_eq!((a.agent_port, a.lambda_mul, a.update), (5556, 1, 0.0));
        let long = args(
            "--server a:1 --server b --qps 10 --time 2 --keysize fb_key --valuesize fb_value \
             --iadist fb_ia --records 5 --update 0.5 --threads 2 --connections 3 --depth 4 \
             --agent x --agent y:7 --measure_connections 2 --measure_qps 100 --measure_depth 1 \
             --lambda_mul 2 --noload --binary --scan 1:10:1",
        );
        assert_eq!(long.server, ["a:1", "b"]);
        assert_eq!(long.agent, ["x", "y:7"]);
        assert_eq!(
            (
                long.measure_connections,
                long.measure_qps,
                long.measure_depth
            ),
            (Some(2), Some(100), Some(1))
        );
        let short = args("-s h -q 1 -t 1 -K 10 -V 20 -i fixed -r 9 -u 0.1 -T 2 -c 2 -d 2 -w 1 -A -a z -C 1 -Q 5 -D 2 -l 3 -B");
        assert!(short.agentmode && short.blocking);
        assert_eq!(
            (
                short.keysize.as_str(),
                short.valuesize.as_str(),
                short.warmup
            ),
            ("10", "20", 1)
        );
    }

    #[test]
    fn bad_values_are_refused_with_the_option_named() {
        for (line, word) in [
            ("-s 127.0.0.1 -d 0", "--depth"),
            ("-s 127.0.0.1 -u 2", "--update"),
            ("-s 127.0.0.1 -t 0", "--time"),
            ("-q 5", "--server"),
            ("-s 127.0.0.1 -K bogus", "--keysize"),
            ("-s 127.0.0.1 -i gev:1,2,0.1", "--iadist"),
            ("-s 127.0.0.1 --transport libix", "libix"),
            ("-s 127.0.0.1 --transport bogus", "--transport"),
        ] {
            let err = args(line).master_plan().unwrap_err().to_string();
            assert!(err.contains(word), "{line}: {err}");
        }
        assert!(
            parse_scan("1:10").is_err()
                && parse_scan("10:1:1").is_err()
                && parse_scan("1:10:0").is_err()
        );
        assert_eq!(parse_scan("1000:5000:1000").unwrap(), (1000, 5000, 1000));
        assert_eq!(parse_search("99:500").unwrap(), (99.0, 500.0));
        assert!(parse_search("100:5").is_err() && parse_search("x").is_err());
    }

    #[test]
    fn servers_resolve_with_the_default_port_and_records_split() {
        assert_eq!(
            resolve_server("127.0.0.1").unwrap(),
            "127.0.0.1:11211".parse().unwrap()
        );
        assert_eq!(
            resolve_server("127.0.0.1:99").unwrap(),
            "127.0.0.1:99".parse().unwrap()
        );
        assert_eq!(resolve_server("localhost:99").unwrap().port(), 99);
        let plan = args("-s 127.0.0.1:1 -s 127.0.0.1:2 -r 1000")
            .master_plan()
            .unwrap();
        assert_eq!(plan.run.workload.records, 500);
        assert_eq!(plan.agent_config.servers, ["127.0.0.1:1", "127.0.0.1:2"]);
    }
}

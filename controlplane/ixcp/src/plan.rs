//! From a validated configuration to what ixcp does: the host-side resources to
//! create ([`HostItem`]) and, per instance, its [`InstancePlan`] (the
//! [`InstanceSpec`] it is started with, its binary, restart policy, summary).

use crate::proto::InstanceSummary;
use crate::rundir::RunDir;
use crate::Error;
use ix_config::{
    parse_cidr, Cidr, Config, InstanceConfig, Loaded, MemoryMode, NicConfig, RestartPolicy,
    VirtioRole,
};
use ix_instance::spec::{InstanceSpec, NicSpec};
use std::path::PathBuf;
use std::time::Duration;

/// A host-side resource ixcp creates before launching instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostItem {
    /// A network namespace (created if missing).
    Netns(String),
    /// A Linux bridge in a namespace, with an optional address.
    Bridge {
        /// Namespace ("" = current).
        netns: String,
        /// Bridge name.
        name: String,
        /// Its address.
        addr: Option<Cidr>,
    },
    /// A veth pair in a namespace; `peer` gets `addr`.
    Veth {
        /// Namespace ("" = current).
        netns: String,
        /// The instance's end.
        iface: String,
        /// The host's end.
        peer: String,
        /// The host end's address.
        addr: Option<Cidr>,
    },
}

/// When and how often an instance is restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartRules {
    /// The policy.
    pub policy: RestartPolicy,
    /// Restarts allowed.
    pub max_restarts: u32,
    /// First delay.
    pub backoff: Duration,
    /// Delay cap.
    pub backoff_max: Duration,
    /// Heartbeat not moving this long = hung.
    pub heartbeat_timeout: Duration,
    /// Not ready this long after launch = failed.
    pub ready_timeout: Duration,
}

impl RestartRules {
    /// The delay before restart number `n` (1-based): doubling from `backoff`,
    /// capped at `backoff_max`.
    pub fn delay(&self, n: u32) -> Duration {
        let factor = 1u32
            .checked_shl(n.saturating_sub(1).min(20))
            .unwrap_or(u32::MAX);
        self.backoff.saturating_mul(factor).min(self.backoff_max)
    }
}

/// Everything ixcp needs to run one instance.
#[derive(Debug, Clone, PartialEq)]
pub struct InstancePlan {
    /// What the instance is told to be.
    pub spec: InstanceSpec,
    /// Its binary.
    pub app: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Restart rules.
    pub rules: RestartRules,
    /// What `ixctl start` prints.
    pub summary: InstanceSummary,
    /// For a vhost end: the socket it creates (started before the others).
    pub creates_socket: Option<PathBuf>,
    /// Ports the application listens on.
    pub ports: Vec<u16>,
}

/// The plan for one config: host items in creation order, instances in launch order.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Host-side resources.
    pub host: Vec<HostItem>,
    /// Instances, vhost ends first.
    pub instances: Vec<InstancePlan>,
}

fn cidr(text: &Option<String>) -> Option<Cidr> {
    text.as_deref().and_then(|t| parse_cidr(t).ok())
}

fn nic_spec(nic: &NicConfig, run: &RunDir) -> Result<(NicSpec, String), Error> {
    Ok(match nic {
        NicConfig::Tap(t) => {
            let h = cidr(&t.host_addr);
            (
                NicSpec::Tap {
                    iface: t.iface.clone().unwrap_or_else(|| t.name.clone()),
                    netns: t.netns.clone(),
                    host_addr: h.map(|c| c.addr),
                    host_prefix: h.map_or(0, |c| c.prefix),
                    bridge: t.bridge.clone(),
                },
                t.netns.clone(),
            )
        }
        NicConfig::VirtioUser(v) => {
            let socket = run.root().join(&v.socket);
            let spec = match v.role {
                VirtioRole::Vhost => NicSpec::Vhost {
                    socket,
                    mac: v.mac.clone(),
                },
                VirtioRole::Virtio => NicSpec::Virtio {
                    socket,
                    mac: v.mac.clone(),
                },
            };
            (spec, String::new())
        }
        NicConfig::AfXdp(a) => (
            NicSpec::AfXdp {
                iface: a.iface.clone(),
                netns: a.netns.clone(),
            },
            a.netns.clone(),
        ),
        NicConfig::AfPacket(a) => (
            NicSpec::AfPacket {
                iface: a.iface.clone(),
                netns: a.netns.clone(),
            },
            a.netns.clone(),
        ),
        NicConfig::Pci(p) => (
            NicSpec::Pci {
                addr: p.addr.clone(),
            },
            String::new(),
        ),
        NicConfig::Memif(m) => {
            return Err(Error::Instance(format!(
                "nic {}: memif is not supported yet",
                m.name
            )))
        }
    })
}

fn host_addr_of(nic: &NicConfig, config: &Config) -> Option<String> {
    match nic {
        NicConfig::Tap(t) => t.host_addr.clone().or_else(|| {
            let b = t.bridge.as_ref()?;
            config.bridges.iter().find(|x| &x.name == b)?.addr.clone()
        }),
        NicConfig::AfXdp(a) | NicConfig::AfPacket(a) => a.host_addr.clone(),
        _ => None,
    }
}

fn reach(netns: &str, addr: &str, ports: &[u16]) -> String {
    let ip = addr.split('/').next().unwrap_or(addr);
    let cmd = match ports.first() {
        Some(p) => format!("nc {ip} {p}"),
        None => format!("ping {ip}"),
    };
    if netns.is_empty() {
        cmd
    } else {
        format!("ip netns exec {netns} {cmd}")
    }
}

fn instance_plan(
    inst: &InstanceConfig,
    app: PathBuf,
    loaded: &Loaded,
    run: &RunDir,
) -> Result<InstancePlan, Error> {
    let config = &loaded.config;
    let g = &config.global;
    let nic = config
        .nics
        .iter()
        .find(|n| n.name() == inst.nic)
        .ok_or_else(|| Error::Instance(format!("instance {}: no nic {}", inst.name, inst.nic)))?;
    let (nic_spec, netns) = nic_spec(nic, run)?;
    let addr = parse_cidr(&inst.addr).map_err(Error::Instance)?;
    let dir = run.instance_dir(&inst.name);
    let creates_socket = match &nic_spec {
        NicSpec::Vhost { socket, .. } => Some(socket.clone()),
        _ => None,
    };
    let spec = InstanceSpec {
        name: inst.name.clone(),
        cores: inst.cores.clone(),
        nic: nic_spec,
        addr: addr.addr,
        prefix: addr.prefix,
        gateway: inst.gateway.as_deref().and_then(|g| g.parse().ok()),
        batch: inst.batch,
        flow_groups: inst.flow_groups,
        max_conns: inst.max_conns,
        idle_backoff: g.oversubscribe,
        memory_mb: g.memory_mb,
        hugepages: g.memory == MemoryMode::Hugepages,
        eal_args: g.eal_args.clone(),
        file_prefix: run.file_prefix(&inst.name),
        agent_socket: dir.join("agent.sock"),
        log_level: g.log_level.clone(),
    };
    let summary = InstanceSummary {
        name: inst.name.clone(),
        cores: inst.cores.clone(),
        nic: format!("{} {}", nic.kind(), nic.name()),
        netns: netns.clone(),
        host_addr: host_addr_of(nic, config),
        addr: inst.addr.clone(),
        ports: inst.ports.clone(),
        reach: reach(&netns, &inst.addr, &inst.ports),
    };
    let ms = Duration::from_millis;
    Ok(InstancePlan {
        spec,
        app,
        args: inst.args.clone(),
        rules: RestartRules {
            policy: inst.restart,
            max_restarts: inst.max_restarts,
            backoff: ms(inst.restart_backoff_ms),
            backoff_max: ms(inst.restart_backoff_max_ms),
            heartbeat_timeout: ms(inst.heartbeat_timeout_ms),
            ready_timeout: ms(inst.ready_timeout_ms),
        },
        summary,
        creates_socket,
        ports: inst.ports.clone(),
    })
}

/// Plans a validated config under run directory `run`.
pub fn plan(loaded: &Loaded, run: &RunDir) -> Result<Plan, Error> {
    let config = &loaded.config;
    let mut host = Vec::new();
    let add_ns = |host: &mut Vec<HostItem>, ns: &str| {
        let item = HostItem::Netns(ns.to_owned());
        if !ns.is_empty() && !host.contains(&item) {
            host.push(item);
        }
    };
    for b in &config.bridges {
        add_ns(&mut host, &b.netns);
    }
    for nic in &config.nics {
        if let Some(ns) = nic.netns() {
            add_ns(&mut host, ns);
        }
    }
    for b in &config.bridges {
        host.push(HostItem::Bridge {
            netns: b.netns.clone(),
            name: b.name.clone(),
            addr: cidr(&b.addr),
        });
    }
    for nic in &config.nics {
        if let NicConfig::AfXdp(a) | NicConfig::AfPacket(a) = nic {
            host.push(HostItem::Veth {
                netns: a.netns.clone(),
                iface: a.iface.clone(),
                peer: a.peer.clone(),
                addr: cidr(&a.host_addr),
            });
        }
    }
    let mut instances = config
        .instances
        .iter()
        .zip(&loaded.apps)
        .map(|(i, app)| instance_plan(i, app.clone(), loaded, run))
        .collect::<Result<Vec<_>, _>>()?;
    // Vhost ends create the sockets the virtio ends connect to.
    instances.sort_by_key(|p| p.creates_socket.is_none());
    Ok(Plan { host, instances })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let r = RestartRules {
            policy: RestartPolicy::Always,
            max_restarts: 5,
            backoff: Duration::from_millis(100),
            backoff_max: Duration::from_millis(1000),
            heartbeat_timeout: Duration::from_millis(1000),
            ready_timeout: Duration::from_millis(1000),
        };
        let d: Vec<u128> = (1..=6).map(|n| r.delay(n).as_millis()).collect();
        assert_eq!(d, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(r.delay(100).as_millis(), 1000);
    }

    #[test]
    fn reach_line() {
        assert_eq!(
            reach("ix-default", "10.77.0.2/24", &[11211]),
            "ip netns exec ix-default nc 10.77.0.2 11211"
        );
        assert_eq!(reach("", "10.0.0.2/24", &[]), "ping 10.0.0.2");
    }
}

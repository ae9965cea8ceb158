//! Every rule a configuration must pass before anything starts. Each broken rule
//! becomes a [`Problem`] naming the key (`instance.NAME.cores`, `nic.NAME.iface`,
//! ...) and the reason; all problems are reported at once.

use crate::app_path::{resolve_app, SearchPath};
use crate::cidr::{parse_cidr, Cidr};
use crate::model::{Config, InstanceConfig, NicConfig, Protection, VirtioRole};
use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key, e.g. `instance.echo.cores`.
    pub key: String,
    /// Why it is refused.
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "key `{}`: {}", self.key, self.reason)
    }
}

/// What validation checks a config against besides itself.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// Cores on this host (instances may use 1..host_cores).
    pub host_cores: usize,
    /// Where bare application names are looked up.
    pub search: SearchPath,
    /// Instance names already running under ixcp.
    pub running_names: Vec<String>,
    /// Cores held by running instances.
    pub running_cores: Vec<usize>,
    /// Addresses (with their ports) held by running instances.
    pub running_addrs: Vec<(Ipv4Addr, Vec<u16>)>,
}

impl Environment {
    /// This host's cores and this process's search path, nothing running.
    pub fn of_host() -> Environment {
        Environment {
            host_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            search: SearchPath::from_process(),
            ..Environment::default()
        }
    }
}

/// Whether `s` is a usable kernel interface name.
fn valid_iface(s: &str) -> bool {
    (1..=15).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// Whether `s` is a usable instance name (it names files and EAL prefixes).
fn valid_instance_name(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b))
}

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn fail(&mut self, key: impl Into<String>, reason: impl Into<String>) {
        self.problems.push(Problem {
            key: key.into(),
            reason: reason.into(),
        });
    }

    fn cidr(&mut self, key: &str, text: &str) -> Option<Cidr> {
        match parse_cidr(text) {
            Ok(c) => Some(c),
            Err(e) => {
                self.fail(key, format!("bad CIDR: {e}"));
                None
            }
        }
    }

    fn netns(&mut self, key: &str, name: &str) {
        if !name.is_empty() && !ix_hostlink::valid_netns_name(name) {
            self.fail(
                key,
                format!("namespace name {name:?} is invalid: use 1-64 characters from [A-Za-z0-9_.-], not starting with '.'"),
            );
        }
    }

    fn iface(&mut self, key: &str, name: &str) {
        if !valid_iface(name) {
            self.fail(
                key,
                format!("interface name {name:?} is invalid: 1-15 characters from [A-Za-z0-9_.-]"),
            );
        }
    }
}

/// Checks `config` (read from a file in `config_dir`) against itself and `env`.
/// Returns each instance's resolved application binary, or every problem found.
pub fn validate(
    config: &Config,
    config_dir: &Path,
    env: &Environment,
) -> Result<Vec<PathBuf>, Vec<Problem>> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    if config.global.memory_mb < 64 {
        c.fail("global.memory_mb", "at least 64 MiB");
    }
    if config.instances.is_empty() {
        c.fail("instance", "no [[instance]] in the file");
    }
    // Every address in the config and what it belongs to, to catch duplicates.
    let mut addrs: HashMap<Ipv4Addr, String> = HashMap::new();
    for (a, _) in &env.running_addrs {
        addrs.insert(*a, "a running instance".into());
    }
    let mut claim_addr = |c: &mut Checker, key: &str, cidr: Cidr| {
        if let Some(owner) = addrs.get(&cidr.addr) {
            c.fail(
                key,
                format!("duplicate address {}: already used by {owner}", cidr.addr),
            );
        } else {
            addrs.insert(cidr.addr, key.to_owned());
        }
    };

    let mut bridges = HashSet::new();
    for b in &config.bridges {
        let key = format!("bridge.{}", b.name);
        c.iface(&format!("{key}.name"), &b.name);
        if !bridges.insert(b.name.clone()) {
            c.fail(&key, "duplicate bridge name");
        }
        c.netns(&format!("{key}.netns"), &b.netns);
        if let Some(a) = &b.addr {
            if let Some(cidr) = c.cidr(&format!("{key}.addr"), a) {
                claim_addr(&mut c, &format!("{key}.addr"), cidr);
            }
        }
    }

    let mut nics: HashMap<&str, &NicConfig> = HashMap::new();
    let mut ifaces: HashMap<(String, String), String> = HashMap::new();
    let mut vhost_sockets = HashSet::new();
    let mut virtio_sockets = Vec::new();
    for nic in &config.nics {
        let key = format!("nic.{}", nic.name());
        if !valid_iface(nic.name()) {
            c.fail(
                format!("{key}.name"),
                "NIC names are 1-15 characters from [A-Za-z0-9_.-]",
            );
        }
        if nics.insert(nic.name(), nic).is_some() {
            c.fail(&key, "duplicate NIC name");
        }
        if nic.queues() == 0 {
            c.fail(format!("{key}.queues"), "at least 1 queue pair");
        }
        let mut iface = |c: &mut Checker, field: &str, netns: &str, name: &str| {
            c.iface(&format!("{key}.{field}"), name);
            let k = (netns.to_owned(), name.to_owned());
            if let Some(other) = ifaces.insert(k, format!("{key}.{field}")) {
                c.fail(
                    format!("{key}.{field}"),
                    format!("interface {name:?} in use by {other}"),
                );
            }
        };
        match nic {
            NicConfig::Tap(t) => {
                c.netns(&format!("{key}.netns"), &t.netns);
                iface(&mut c, "iface", &t.netns, t.iface.as_deref().unwrap_or(&t.name));
                match (&t.host_addr, &t.bridge) {
                    (Some(_), Some(_)) => c.fail(
                        format!("{key}.host_addr"),
                        "give host_addr or bridge, not both (the bridge holds the address)",
                    ),
                    (Some(a), None) => {
                        if let Some(cidr) = c.cidr(&format!("{key}.host_addr"), a) {
                            claim_addr(&mut c, &format!("{key}.host_addr"), cidr);
                        }
                    }
                    (None, Some(b)) => match config.bridges.iter().find(|x| &x.name == b) {
                        None => c.fail(format!("{key}.bridge"), format!("no [[bridge]] named {b:?}")),
                        Some(br) if br.netns != t.netns => c.fail(
                            format!("{key}.bridge"),
                            format!("bridge {b:?} is in namespace {:?}, the tap in {:?}", br.netns, t.netns),
                        ),
                        Some(_) => {}
                    },
                    (None, None) => {}
                }
            }
            NicConfig::Memif(_) => c.fail(
                format!("{key}.kind"),
                "memif is not supported yet (DPDK's memif needs the multi-process channel); use virtio_user for an IX-to-IX pair",
            ),
            NicConfig::VirtioUser(v) => {
                if v.socket.is_empty() {
                    c.fail(format!("{key}.socket"), "empty socket path");
                }
                match v.role {
                    VirtioRole::Vhost => {
                        if !vhost_sockets.insert(v.socket.clone()) {
                            c.fail(format!("{key}.socket"), format!("socket {:?} in use by another vhost NIC", v.socket));
                        }
                    }
                    VirtioRole::Virtio => virtio_sockets.push((key.clone(), v.socket.clone())),
                }
            }
            NicConfig::AfXdp(a) | NicConfig::AfPacket(a) => {
                c.netns(&format!("{key}.netns"), &a.netns);
                iface(&mut c, "iface", &a.netns, &a.iface);
                iface(&mut c, "peer", &a.netns, &a.peer);
                if let Some(h) = &a.host_addr {
                    if let Some(cidr) = c.cidr(&format!("{key}.host_addr"), h) {
                        claim_addr(&mut c, &format!("{key}.host_addr"), cidr);
                    }
                }
            }
            NicConfig::Pci(p) => {
                let ok = p.addr.len() == 12
                    && p.addr.bytes().enumerate().all(|(i, b)| match i {
                        4 | 7 => b == b':',
                        10 => b == b'.',
                        _ => b.is_ascii_hexdigit(),
                    });
                if !ok {
                    c.fail(format!("{key}.addr"), format!("{:?} is not a PCI address like 0000:3b:02.0", p.addr));
                }
            }
        }
    }
    for (key, sock) in virtio_sockets {
        if !vhost_sockets.contains(&sock) {
            c.fail(
                format!("{key}.socket"),
                format!("no virtio_user NIC with role = \"vhost\" creates socket {sock:?}"),
            );
        }
    }

    let mut names = HashSet::new();
    let mut nic_users: HashMap<&str, &str> = HashMap::new();
    let mut core_users: HashMap<usize, String> = HashMap::new();
    for core in &env.running_cores {
        core_users.insert(*core, "a running instance".into());
    }
    let mut apps = Vec::new();
    for inst in &config.instances {
        let key = format!("instance.{}", inst.name);
        check_instance(&mut c, inst, &key, env, &nics, &mut names, &mut nic_users);
        for &core in &inst.cores {
            if core == 0 {
                c.fail(
                    format!("{key}.cores"),
                    "core 0 is reserved for ixcp, the kernel and clients",
                );
            } else if core >= env.host_cores {
                c.fail(
                    format!("{key}.cores"),
                    format!(
                        "core {core} out of range: this host has cores 0..={}",
                        env.host_cores.saturating_sub(1)
                    ),
                );
            } else if let Some(other) = core_users.get(&core) {
                if !config.global.oversubscribe {
                    c.fail(
                        format!("{key}.cores"),
                        format!("core {core} is shared with {other}; set global.oversubscribe = true to allow it"),
                    );
                }
            } else {
                core_users.insert(core, key.clone());
            }
        }
        // Address and ports.
        if let Some(cidr) = c.cidr(&format!("{key}.addr"), &inst.addr) {
            if let Some((_, ports)) = env.running_addrs.iter().find(|(a, _)| *a == cidr.addr) {
                if let Some(p) = inst.ports.iter().find(|p| ports.contains(p)) {
                    c.fail(
                        format!("{key}.ports"),
                        format!("port {p} in use on {} by a running instance", cidr.addr),
                    );
                }
            }
            claim_addr(&mut c, &format!("{key}.addr"), cidr);
            if let Some(g) = &inst.gateway {
                match g.parse::<Ipv4Addr>() {
                    Err(_) => c.fail(
                        format!("{key}.gateway"),
                        format!("{g:?} is not an IPv4 address"),
                    ),
                    Ok(g) if !cidr.contains(g) => {
                        c.fail(format!("{key}.gateway"), format!("{g} is outside {cidr}"))
                    }
                    Ok(_) => {}
                }
            }
        }
        let mut seen = HashSet::new();
        for &p in &inst.ports {
            if p == 0 {
                c.fail(format!("{key}.ports"), "port 0 is not a port");
            } else if !seen.insert(p) {
                c.fail(
                    format!("{key}.ports"),
                    format!("port {p} in use twice by this instance"),
                );
            }
        }
        match resolve_app(&inst.app, config_dir, &env.search) {
            Some(p) => apps.push(p),
            None => c.fail(
                format!("{key}.app"),
                format!(
                    "missing application binary {:?} (a path is relative to the config file's directory; a bare name is searched in $IX_APP_PATH, ixctl's directory, ./target/release, $PATH; build it with `cargo build --release`)",
                    inst.app
                ),
            ),
        }
    }
    if c.problems.is_empty() {
        Ok(apps)
    } else {
        Err(c.problems)
    }
}

/// Rules that concern one instance alone (and its NIC).
fn check_instance<'a>(
    c: &mut Checker,
    inst: &'a InstanceConfig,
    key: &str,
    env: &Environment,
    nics: &HashMap<&str, &NicConfig>,
    names: &mut HashSet<&'a str>,
    nic_users: &mut HashMap<&'a str, &'a str>,
) {
    if !valid_instance_name(&inst.name) {
        c.fail(
            format!("{key}.name"),
            "instance names are 1-32 characters from [A-Za-z0-9_-]",
        );
    }
    if !names.insert(&inst.name) {
        c.fail(format!("{key}.name"), "duplicate instance name");
    }
    if env.running_names.contains(&inst.name) {
        c.fail(
            format!("{key}.name"),
            format!("instance {:?} is already running", inst.name),
        );
    }
    if inst.cores.is_empty() {
        c.fail(format!("{key}.cores"), "at least one core");
    }
    let mut seen = HashSet::new();
    for core in &inst.cores {
        if !seen.insert(core) {
            c.fail(format!("{key}.cores"), format!("core {core} listed twice"));
        }
    }
    match nics.get(inst.nic.as_str()) {
        None => c.fail(
            format!("{key}.nic"),
            format!("no [[nic]] named {:?}", inst.nic),
        ),
        Some(nic) => {
            if inst.cores.len() > nic.queues() {
                c.fail(
                    format!("{key}.cores"),
                    format!(
                        "{} elastic threads but NIC {:?} has {} queue pair(s)",
                        inst.cores.len(),
                        inst.nic,
                        nic.queues()
                    ),
                );
            }
            if let Some(other) = nic_users.insert(&inst.nic, &inst.name) {
                c.fail(
                    format!("{key}.nic"),
                    format!("NIC {:?} is already used by instance {other:?}", inst.nic),
                );
            }
        }
    }
    if !(1..=64).contains(&inst.batch) {
        c.fail(format!("{key}.batch"), "batch bound is 1..=64");
    }
    if !inst.flow_groups.is_power_of_two() || inst.flow_groups > 4096 {
        c.fail(format!("{key}.flow_groups"), "a power of two, at most 4096");
    }
    if inst.max_conns == 0 {
        c.fail(format!("{key}.max_conns"), "at least 1");
    }
    if inst.heartbeat_timeout_ms == 0 {
        c.fail(format!("{key}.heartbeat_timeout_ms"), "at least 1 ms");
    }
    if inst.restart_backoff_max_ms < inst.restart_backoff_ms {
        c.fail(
            format!("{key}.restart_backoff_max_ms"),
            "below restart_backoff_ms",
        );
    }
    if inst.protection == Protection::Process {
        c.fail(
            format!("{key}.protection"),
            "\"process\" is not supported yet; use \"linked\"",
        );
    }
}

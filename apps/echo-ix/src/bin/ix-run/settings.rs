//! The command line checked and parsed into what the run needs, before any port
//! is touched (bad input is refused here, with nothing to clean up).

use crate::args::{Args, NicKind};
use crate::parse::{parse_addr, parse_arp, parse_cores};
use anyhow::{bail, Context, Result};
use echo_ix::client::ClientConfig;
use ix_fault::FaultPlan;
use std::net::Ipv4Addr;
use std::path::Path;

/// The instance file's shape: only the `[fault]` table is read here.
#[derive(Debug, serde::Deserialize)]
struct Instance {
    fault: Option<FaultPlan>,
}

/// The parsed, checked arguments that are not used as given.
pub struct Settings {
    /// Address ix answers on.
    pub addr: Ipv4Addr,
    /// Its prefix length, if `--addr` gave one.
    pub addr_prefix: Option<u8>,
    /// The fault injector's plan, if `--fault-plan` named one.
    pub plan: Option<FaultPlan>,
    /// Permanent ARP entries.
    pub static_arp: Vec<(Ipv4Addr, [u8; 6])>,
    /// The echo client's configuration, with `--client`; else ix-run serves.
    pub client: Option<ClientConfig>,
    /// One core per elastic thread, thread 0's first.
    pub cores: Vec<u32>,
}

impl Settings {
    /// Parses and checks `args` (in the order the errors were always reported).
    pub fn from_args(args: &Args) -> Result<Settings> {
        let (addr, addr_prefix) = parse_addr(&args.addr)?;
        let plan = args
            .fault_plan
            .as_deref()
            .map(load_fault_plan)
            .transpose()?;
        let static_arp = args
            .static_arp
            .iter()
            .map(|s| parse_arp(s))
            .collect::<Result<Vec<_>>>()?;
        let client = args.client.config().map_err(anyhow::Error::msg)?;
        let cores = match &args.cores {
            Some(list) => parse_cores(list)?,
            None => vec![args.core; usize::from(args.threads.unwrap_or(1))],
        };
        let threads = args.threads.map_or(cores.len(), usize::from);
        if threads == 0 || threads != cores.len() {
            bail!(
                "--threads {threads} and --cores {:?}: need one core per thread, at least one",
                cores
            );
        }
        if threads > 1 && args.nic != NicKind::Tap {
            bail!("--threads > 1 needs a multi-queue port: --nic tap");
        }
        Ok(Settings {
            addr,
            addr_prefix,
            plan,
            static_arp,
            client,
            cores,
        })
    }

    /// How many elastic threads (one per core entry, at least one).
    pub fn threads(&self) -> usize {
        self.cores.len()
    }
}

/// Reads the `[fault]` table of the TOML file at `path` and checks it.
fn load_fault_plan(path: &Path) -> Result<FaultPlan> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let inst: Instance = toml::from_str(&text).context("parsing the fault plan")?;
    let plan = inst
        .fault
        .context("the fault plan file has no [fault] table")?;
    plan.validate()?;
    Ok(plan)
}

//! `ix-pingd`: brings up a DPDK tap port on one core, runs ix-net on it, and answers
//! ARP and ICMP echo until SIGINT/SIGTERM.
//!
//! The tap's kernel side lives in a network namespace (created if missing, removed
//! on exit if we created it), so trying it never touches the host's own routing:
//! `ip netns exec ix-default ping 10.77.0.2`.

#![forbid(unsafe_code)]

use anyhow::{bail, Context, Result};
use clap::Parser;
use ix_dpdk::nic::{DpdkNic, DpdkPool};
use ix_dpdk::{Eal, EalArgs, Port, PortConfig};
use ix_hostlink::Netns;
use ix_net::{Config, Interface};
use ix_nic::{MonotonicClock, Nic};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "A DPDK tap port answering ARP and ping through ix-net")]
struct Args {
    /// Kernel name of the tap interface.
    #[arg(long, default_value = "ix0")]
    iface: String,
    /// Network namespace for the tap's kernel side ("" = the current one).
    #[arg(long, default_value = "ix-default")]
    netns: String,
    /// Address of the kernel side, with prefix length.
    #[arg(long, default_value = "10.77.0.1/24")]
    host_addr: String,
    /// Address ix-net answers on (same subnet as the host side).
    #[arg(long, default_value = "10.77.0.2")]
    addr: Ipv4Addr,
    /// Core the dataplane busy-polls on (core 0 is left to the kernel and clients).
    #[arg(long, default_value_t = 1)]
    core: u32,
    /// EAL memory in MiB (no hugepages).
    #[arg(long, default_value_t = 256)]
    memory_mb: u32,
    /// Stop after this many seconds (0 = run until signalled).
    #[arg(long, default_value_t = 0)]
    seconds: u64,
}

/// Parses "A.B.C.D/N" into the address and prefix length.
fn parse_cidr(s: &str) -> Result<(Ipv4Addr, u8)> {
    let (a, p) = s
        .split_once('/')
        .with_context(|| format!("{s:?}: expected ADDRESS/PREFIX"))?;
    let addr: Ipv4Addr = a
        .parse()
        .with_context(|| format!("{s:?}: bad IPv4 address"))?;
    let prefix: u8 = p
        .parse()
        .with_context(|| format!("{s:?}: bad prefix length"))?;
    if prefix > 32 {
        bail!("{s:?}: prefix length must be 0..=32");
    }
    Ok((addr, prefix))
}

/// A locally administered unicast MAC for the tap's kernel side, distinct from `port`.
fn kernel_side_mac(port: [u8; 6]) -> String {
    let m = [0x02, 0x00, port[2], port[3], port[4], port[5] ^ 0x01];
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn main() -> Result<()> {
    let args = Args::parse();
    let (host_addr, prefix) = parse_cidr(&args.host_addr)?;
    if host_addr == args.addr {
        bail!("--addr and --host-addr must differ");
    }
    if args.iface.is_empty() || args.iface.len() > 15 {
        bail!(
            "--iface {:?}: a Linux interface name has 1-15 characters",
            args.iface
        );
    }

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("installing signal handler")?;
    }

    // Enter the namespace before EAL init: the tap PMD creates its kernel interface
    // in the namespace of the thread that probes it, and EAL's threads inherit ours.
    let netns = if args.netns.is_empty() {
        None
    } else {
        let ns = Netns::create_or_join(&args.netns)?;
        ns.enter_current_thread()?;
        Some(ns)
    };

    let eal_args = EalArgs::new("ix-pingd")
        .no_huge(args.memory_mb)
        .no_pci()
        .unique_file_prefix("ix-pingd")
        .lcores(&args.core.to_string())
        .vdev(&format!("net_tap0,iface={}", args.iface))
        .build()?;
    let eal = Eal::init(&eal_args).context("starting DPDK's EAL")?;
    let pool = DpdkPool::new(&eal, "pingd", 4095, 256).context("creating the mbuf pools")?;
    let port_cfg = PortConfig {
        queues: 1,
        rss: false,
        ..PortConfig::default()
    };
    let port = Port::configure_by_name(&eal, "net_tap0", &port_cfg, pool.direct())
        .context("configuring the tap port")?;
    let nic = DpdkNic::new(port, &pool).context("starting the tap port")?;

    // The kernel side: own MAC, address and up, inside the namespace (we are in it
    // now). The tap PMD gives the kernel interface the port's own MAC; two ends of a
    // link sharing one address would have ix-net drop the kernel's ARP as its own
    // reflection, so the kernel side gets a different one.
    let host_mac = kernel_side_mac(nic.mac());
    ix_hostlink::run("ip", &["link", "set", &args.iface, "address", &host_mac])?;
    let prefix_str = format!("{host_addr}/{prefix}");
    ix_hostlink::run("ip", &["addr", "replace", &prefix_str, "dev", &args.iface])?;
    ix_hostlink::run("ip", &["link", "set", &args.iface, "up"])?;
    nic.port()
        .wait_link_up(Duration::from_secs(10))
        .context("waiting for the tap link")?;

    let mut iface = Interface::new(nic, MonotonicClock::new(), Config::new(args.addr, prefix))
        .context("configuring ix-net")?;

    let ns_name = netns.as_ref().map_or("", |n| n.name());
    let exec = if ns_name.is_empty() {
        String::new()
    } else {
        format!("ip netns exec {ns_name} ")
    };
    println!(
        "ix-pingd: tap {} on core {}; ix-net at {} , kernel side {}{}",
        args.iface,
        args.core,
        args.addr,
        prefix_str,
        if ns_name.is_empty() {
            String::new()
        } else {
            format!(" in netns {ns_name}")
        }
    );
    println!("reach it: {exec}ping {}", args.addr);
    println!("READY");

    let deadline = (args.seconds > 0).then(|| Instant::now() + Duration::from_secs(args.seconds));
    let mut polls: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        iface.poll(&mut ());
        polls += 1;
        // Checking the deadline costs a clock read; every 4096 polls is plenty.
        if polls.is_multiple_of(4096) && deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
    }

    let port_stats = iface.nic().port().stats().ok();
    println!("ix-pingd: stopping after {polls} polls");
    if let Some(s) = port_stats {
        println!("port: rx {} frames, tx {} frames", s.ipackets, s.opackets);
    }
    for (name, value) in iface.stats().iter().filter(|(_, v)| *v > 0) {
        println!("ix-net {name}: {value}");
    }
    // Buffers before their pools, pools before the EAL.
    drop(iface);
    drop(pool);
    drop(eal);
    drop(netns);
    Ok(())
}

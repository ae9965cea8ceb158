//! The command line: the benchmark's settings, and the hidden `--role` flags
//! `l2bench` passes to the copies of itself it spawns.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};

use crate::frame::{self, Mac, MAX_FRAME, MIN_FRAME};

/// Largest burst accepted (`ix_dpdk::BURST_MAX`).
pub const MAX_BURST: usize = ix_dpdk::BURST_MAX;

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Everything below, in order.
    All,
    /// Frames/s through a DPDK tap port, both directions.
    Tap,
    /// Frames/s one way over a virtio_user/vhost-user pair.
    Pair,
    /// Round-trip times over a virtio_user/vhost-user pair.
    Pingpong,
}

/// One process of a measurement (internal: `l2bench` spawns these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Tap port transmitting into the kernel as fast as it can.
    TapTx,
    /// Tap port counting what the kernel sends it.
    TapRx,
    /// af_packet port on the tap's kernel side, generating frames.
    AfpGen,
    /// vhost-user server counting received frames.
    PairRx,
    /// virtio_user client transmitting as fast as it can.
    PairTx,
    /// vhost-user server reflecting every frame back.
    PpServer,
    /// virtio_user client timing round trips.
    PpClient,
}

/// `l2bench`: the raw layer-2 limits of this machine's virtual NICs.
#[derive(Debug, Parser)]
#[command(
    name = "l2bench",
    about = "Raw L2 benchmark: frames/s through a DPDK tap port (both directions), \
             frames/s over a virtio_user/vhost-user pair, and ping-pong round trips",
    after_help = "Each run starts fresh DPDK processes; the figure reported is the median \
                  over --runs runs, with their range. Needs root (namespaces, tap devices)."
)]
pub struct Cli {
    /// What to measure.
    #[arg(value_enum, default_value_t = Mode::All)]
    pub mode: Mode,
    /// Frames per rx/tx burst, and frames per ping in the ping-pong (1..=64).
    #[arg(long, default_value_t = 32)]
    pub burst: usize,
    /// Frame size in bytes as handed to the NIC, without FCS (60..=1514).
    #[arg(long, default_value_t = 64)]
    pub frame_size: usize,
    /// Measured seconds per run (after a short warm-up).
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f64,
    /// Runs per figure (fresh processes each time).
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
    /// Core of the data-plane side (the receiver, the tap port, the reflector).
    #[arg(long, default_value_t = 1)]
    pub dataplane_core: u32,
    /// Core of the other side (generator, sender, ping client).
    #[arg(long, default_value_t = 0)]
    pub peer_core: u32,
    /// EAL memory per DPDK process, MiB (no hugepages).
    #[arg(long, default_value_t = 256)]
    pub memory_mb: u32,

    /// Internal: run one role of a measurement.
    #[arg(long, value_enum, hide = true)]
    pub role: Option<Role>,
    /// Internal: the role's core.
    #[arg(long, hide = true)]
    pub core: Option<u32>,
    /// Internal: the role's EAL file prefix.
    #[arg(long, hide = true)]
    pub prefix: Option<String>,
    /// Internal: network namespace of the tap's kernel side.
    #[arg(long, hide = true)]
    pub netns: Option<String>,
    /// Internal: kernel name of the tap interface.
    #[arg(long, hide = true)]
    pub iface: Option<String>,
    /// Internal: vhost-user socket path.
    #[arg(long, hide = true)]
    pub socket: Option<PathBuf>,
    /// Internal: destination MAC of generated frames.
    #[arg(long, hide = true)]
    pub dst_mac: Option<String>,
    /// Internal: the ping client's bursts, comma-separated.
    #[arg(long, hide = true, value_delimiter = ',')]
    pub bursts: Vec<usize>,
}

/// Validated benchmark settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// What to measure.
    pub mode: Mode,
    /// Frames per burst.
    pub burst: usize,
    /// Frame size in bytes.
    pub frame_size: usize,
    /// Measured seconds per run.
    pub seconds: f64,
    /// Runs per figure.
    pub runs: u32,
    /// Core of the data-plane side.
    pub dataplane_core: u32,
    /// Core of the other side.
    pub peer_core: u32,
    /// EAL memory per process, MiB.
    pub memory_mb: u32,
}

/// Validated settings of one role process.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleArgs {
    /// Which role.
    pub role: Role,
    /// The core it busy-polls on.
    pub core: u32,
    /// Its EAL file prefix.
    pub prefix: String,
    /// Frames per burst.
    pub burst: usize,
    /// Frame size in bytes.
    pub frame_size: usize,
    /// Measured seconds.
    pub seconds: f64,
    /// EAL memory, MiB.
    pub memory_mb: u32,
    /// Namespace of the tap's kernel side (tap roles, generator).
    pub netns: Option<String>,
    /// Tap interface (tap roles, generator).
    pub iface: Option<String>,
    /// vhost-user socket (pair and ping-pong roles).
    pub socket: Option<PathBuf>,
    /// Destination MAC (generator).
    pub dst_mac: Option<Mac>,
    /// Bursts to time (ping client).
    pub bursts: Vec<usize>,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Run the benchmark.
    Bench(Settings),
    /// Be one process of it.
    Role(RoleArgs),
}

fn check_burst(burst: usize) -> Result<()> {
    if !(1..=MAX_BURST).contains(&burst) {
        bail!("--burst {burst}: must be in 1..={MAX_BURST}");
    }
    Ok(())
}

/// Checks the command line; every error says which flag and what is allowed.
pub fn validate(cli: Cli) -> Result<Command> {
    check_burst(cli.burst)?;
    if !(MIN_FRAME..=MAX_FRAME).contains(&cli.frame_size) {
        bail!(
            "--frame-size {}: must be in {MIN_FRAME}..={MAX_FRAME} bytes (no FCS)",
            cli.frame_size
        );
    }
    if !cli.seconds.is_finite() || !(0.1..=600.0).contains(&cli.seconds) {
        bail!("--seconds {}: must be in 0.1..=600", cli.seconds);
    }
    if !(1..=100).contains(&cli.runs) {
        bail!("--runs {}: must be in 1..=100", cli.runs);
    }
    if !(64..=16384).contains(&cli.memory_mb) {
        bail!("--memory-mb {}: must be in 64..=16384", cli.memory_mb);
    }
    let Some(role) = cli.role else {
        if cli.dataplane_core == cli.peer_core {
            bail!(
                "--dataplane-core and --peer-core are both {}: the two DPDK processes \
                 busy-poll, so they need different cores",
                cli.dataplane_core
            );
        }
        return Ok(Command::Bench(Settings {
            mode: cli.mode,
            burst: cli.burst,
            frame_size: cli.frame_size,
            seconds: cli.seconds,
            runs: cli.runs,
            dataplane_core: cli.dataplane_core,
            peer_core: cli.peer_core,
            memory_mb: cli.memory_mb,
        }));
    };
    let needs_tap = matches!(role, Role::TapTx | Role::TapRx | Role::AfpGen);
    let needs_socket = matches!(
        role,
        Role::PairRx | Role::PairTx | Role::PpServer | Role::PpClient
    );
    if needs_tap {
        let netns = cli.netns.as_deref().context("--role needs --netns")?;
        if !ix_hostlink::valid_netns_name(netns) {
            bail!("--netns {netns:?}: not a valid namespace name");
        }
        let iface = cli.iface.as_deref().context("--role needs --iface")?;
        if iface.is_empty()
            || iface.len() > 15
            || !iface
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            bail!("--iface {iface:?}: 1-15 characters from [A-Za-z0-9_-]");
        }
    }
    if needs_socket && cli.socket.is_none() {
        bail!("--role {role:?} needs --socket");
    }
    let dst_mac = cli.dst_mac.as_deref().map(frame::parse_mac).transpose()?;
    if role == Role::AfpGen && dst_mac.is_none() {
        bail!("--role afp-gen needs --dst-mac");
    }
    let bursts = if cli.bursts.is_empty() {
        vec![cli.burst]
    } else {
        cli.bursts
    };
    for &b in &bursts {
        check_burst(b)?;
    }
    Ok(Command::Role(RoleArgs {
        role,
        core: cli.core.context("--role needs --core")?,
        prefix: cli.prefix.context("--role needs --prefix")?,
        burst: cli.burst,
        frame_size: cli.frame_size,
        seconds: cli.seconds,
        memory_mb: cli.memory_mb,
        netns: cli.netns,
        iface: cli.iface,
        socket: cli.socket,
        dst_mac,
        bursts,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command> {
        let cli = Cli::try_parse_from(std::iter::once("l2bench").chain(args.iter().copied()))?;
        validate(cli)
    }

    fn err(args: &[&str]) -> String {
        format!("{:#}", parse(args).unwrap_err())
    }

    #[test]
    fn defaults() {
        let Command::Bench(s) = parse(&[]).unwrap() else {
            panic!("not a bench command");
        };
        assert_eq!(s.mode, Mode::All);
        assert_eq!((s.burst, s.frame_size, s.runs), (32, 64, 3));
        assert_eq!((s.dataplane_core, s.peer_core), (1, 0));
        let Command::Bench(s) = parse(&["pingpong", "--burst", "1", "--runs", "5"]).unwrap() else {
            panic!("not a bench command");
        };
        assert_eq!((s.mode, s.burst, s.runs), (Mode::Pingpong, 1, 5));
    }

    #[test]
    fn bad_settings_are_refused_with_the_flag_named() {
        assert!(err(&["--burst", "0"]).contains("--burst 0: must be in 1..=64"));
        assert!(err(&["--burst", "65"]).contains("--burst 65"));
        assert!(err(&["--frame-size", "59"]).contains("--frame-size 59"));
        assert!(err(&["--frame-size", "1515"]).contains("--frame-size 1515"));
        assert!(err(&["--seconds", "0"]).contains("--seconds"));
        assert!(err(&["--seconds", "NaN"]).contains("--seconds"));
        assert!(err(&["--runs", "0"]).contains("--runs 0"));
        assert!(err(&["--peer-core", "1"]).contains("different cores"));
        assert!(err(&["--memory-mb", "8"]).contains("--memory-mb"));
        assert!(parse(&["--burst", "-1"]).is_err());
        assert!(parse(&["sideways"]).is_err());
        assert!(parse(&["--burst", "64", "--frame-size", "1514"]).is_ok());
    }

    #[test]
    fn roles_need_their_arguments() {
        let base = ["--role", "tap-tx", "--core", "1", "--prefix", "p"];
        assert!(err(&base).contains("--netns"));
        let mut args = base.to_vec();
        args.extend(["--netns", "ns", "--iface", "ix0"]);
        let Command::Role(r) = parse(&args).unwrap() else {
            panic!("not a role");
        };
        assert_eq!(
            (r.role, r.core, r.bursts.clone()),
            (Role::TapTx, 1, vec![32])
        );
        args.extend(["--iface", "much-too-long-name"]);
        assert!(err(&args).contains("--iface"));
        assert!(err(&["--role", "pair-rx", "--core", "1", "--prefix", "p"]).contains("--socket"));
        let gen = [
            "--role", "afp-gen", "--core", "0", "--prefix", "p", "--netns", "n", "--iface", "i",
        ];
        assert!(err(&gen).contains("--dst-mac"));
        let mut gen_bad_mac = gen.to_vec();
        gen_bad_mac.extend(["--dst-mac", "nope"]);
        assert!(err(&gen_bad_mac).contains("MAC"));
        let pp = [
            "--role",
            "pp-client",
            "--core",
            "0",
            "--prefix",
            "p",
            "--socket",
            "/tmp/s",
        ];
        let mut pp_bursts = pp.to_vec();
        pp_bursts.extend(["--bursts", "1,32"]);
        let Command::Role(r) = parse(&pp_bursts).unwrap() else {
            panic!("not a role");
        };
        assert_eq!(r.bursts, vec![1, 32]);
        let mut pp_bad = pp.to_vec();
        pp_bad.extend(["--bursts", "1,99"]);
        assert!(err(&pp_bad).contains("--burst 99"));
    }
}

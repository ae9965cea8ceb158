//! `l2bench`: the raw layer-2 limits of this machine's virtual NICs, the
//! physical limit later ix benchmarks are measured against. See `bench/README.md`.
//!
//! ```text
//! l2bench [all|tap|pair|pingpong] [--burst 32] [--frame-size 64] [--seconds 2] [--runs 3]
//!         [--dataplane-core 1] [--peer-core 0] [--memory-mb 256]
//! ```
//!
//! Without `--role` it orchestrates: it spawns copies of itself with
//! `--role ...` (one DPDK process each), collects their figures, and prints
//! the report. Needs root.

#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use ix_bench::cli::{self, Cli, Command, Settings};
use ix_bench::orchestrate::Bench;
use ix_bench::{roles, table};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let role = cli.role;
    let command = match cli::validate(cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("l2bench: error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let outcome = match command {
        Command::Role(args) => roles::run(&args),
        Command::Bench(settings) => bench(settings),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match role {
                Some(role) => {
                    let name = role
                        .to_possible_value()
                        .map_or_else(|| format!("{role:?}"), |v| v.get_name().to_owned());
                    eprintln!("l2bench --role {name}: error: {e:#}");
                }
                None => eprintln!("l2bench: error: {e:#}"),
            }
            ExitCode::FAILURE
        }
    }
}

/// A one-line description of the machine: cores, CPU, kernel.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    format!(
        "{cores} cores ({cpu}), Linux {kernel}, DPDK 22.11 (Debian); load average before: {}",
        load_average()
    )
}

/// The 1, 5 and 15 minute load averages: other work on the machine skews every figure.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn bench(settings: Settings) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (flag, core) in [
        ("--dataplane-core", settings.dataplane_core),
        ("--peer-core", settings.peer_core),
    ] {
        if core as usize >= cores {
            anyhow::bail!("{flag} {core}: this machine has cores 0..={}", cores - 1);
        }
    }
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&interrupted))
            .context("installing a signal handler")?;
    }
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let machine = machine();
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let clock = std::time::Instant::now();
    let bench = Bench::new(settings.clone(), interrupted)?;
    let results = bench.run();
    print!("{}", table::report(&settings, &results, &command, &machine));
    println!(
        "date:     {} ({:.0} s in all); load average after: {}",
        table::utc(started),
        clock.elapsed().as_secs_f64(),
        load_average()
    );
    if !results.failures.is_empty() {
        anyhow::bail!(
            "{} measurement(s) failed (see above)",
            results.failures.len()
        );
    }
    Ok(())
}

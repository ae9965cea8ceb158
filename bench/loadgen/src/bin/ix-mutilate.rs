//! ix-mutilate: mutilate's command line over ix-loadgen (see bench/loadgen/README.md).

#![forbid(unsafe_code)]

use anyhow::{Context, Result};
use clap::Parser;
use ix_loadgen::cli::{parse_scan, parse_search, Args};
use ix_loadgen::master::{self, Outcome};
use ix_loadgen::transport::{dataplane, TransportKind};
use ix_loadgen::{agent_mode, report, runner};
use std::io::Write;

fn main() {
    let args = Args::parse();
    if let Err(e) = run_on_transport(&args) {
        eprintln!("ix-mutilate: {e:#}");
        std::process::exit(2);
    }
}

/// Runs `args`; with `--transport libix`, inside a dataplane instance started first
/// and stopped at the end.
fn run_on_transport(args: &Args) -> Result<()> {
    if args.transport_kind()? != TransportKind::Libix {
        return run(args);
    }
    let path = args
        .ix_spec_path()
        .context("--transport libix needs --ix-spec")?;
    let spec = ix_instance::launch::load_spec(&path)?;
    if args.threads > spec.cores.len() {
        anyhow::bail!(
            "-T {} is more than the instance's {} cores ({}): one elastic thread per load thread",
            args.threads,
            spec.cores.len(),
            path.display()
        );
    }
    let instance = dataplane::start(spec).context("starting the dataplane instance")?;
    if args.agentmode {
        // An agent serves until killed: the instance takes SIGINT/SIGTERM, so its
        // end is the agent's.
        std::thread::spawn(move || {
            while !instance.has_ended() {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            let code = match instance.stop() {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("ix-mutilate: {e}");
                    2
                }
            };
            std::process::exit(code);
        });
        return run(args);
    }
    let result = run(args);
    if instance.has_ended() {
        // A signal (the instance takes SIGINT/SIGTERM) or a failure ended it mid-run.
        let stopped = instance.stop();
        return result
            .and(stopped.map_err(Into::into))
            .and(Err(anyhow::anyhow!(
                "the dataplane instance ended before the run did"
            )));
    }
    let stopped = instance.stop();
    result?;
    Ok(stopped?)
}

fn run(args: &Args) -> Result<()> {
    if args.agentmode {
        return Ok(agent_mode::serve(&args.agent_options()?)?);
    }
    let plan = args.master_plan()?;
    if !args.noload {
        let n = runner::load(&plan.run).context("loading")?;
        eprintln!("loaded {n} records");
    }
    if args.loadonly {
        return Ok(());
    }
    if let Some(scan) = &args.scan {
        let (min, max, step) = parse_scan(scan)?;
        println!("{}", report::scan_header());
        let mut q = min;
        while q <= max {
            let o = master::measure(&plan, q)?;
            println!("{}", report::scan_row(&o.stats, o.qps(), q));
            q = match q.checked_add(step) {
                Some(next) => next,
                None => break,
            };
        }
        return Ok(());
    }
    let (outcome, peak) = match &args.search {
        Some(s) => {
            let (n, x) = parse_search(s)?;
            let (o, peak) = master::search(&plan, n, x)?;
            (o, Some(peak))
        }
        None => (master::measure(&plan, args.qps)?, None),
    };
    print!("{}", report::report(&outcome.stats, &outcome.counts, peak));
    print_sources(&outcome);
    if let Some(path) = &args.save {
        save(&outcome, path)?;
    }
    Ok(())
}

fn print_sources(o: &Outcome) {
    println!("\nPer client (gets sets misses skipped):");
    for (name, c) in &o.sources {
        println!(
            "  {name:<22} {} {} {} {}",
            c.gets, c.sets, c.misses, c.skipped
        );
    }
}

fn save(o: &Outcome, path: &str) -> Result<()> {
    println!("Saving latency samples to {path}.");
    let file =
        std::fs::File::create(path).with_context(|| format!("--save: cannot create {path}"))?;
    let mut w = std::io::BufWriter::new(file);
    for (scheduled, latency) in o.stats.samples.iter().flatten() {
        let t = scheduled.saturating_sub(o.stats.start_ns) as f64 / 1e9;
        writeln!(w, "{t:.9} {:.3}", *latency as f64 / 1e3)?;
    }
    w.flush()
        .with_context(|| format!("--save: cannot write {path}"))?;
    Ok(())
}

//! ix-mutilate: mutilate's command line over ix-loadgen (see bench/loadgen/README.md).

#![forbid(unsafe_code)]

use anyhow::{Context, Result};
use clap::Parser;
use ix_loadgen::cli::{parse_scan, parse_search, Args};
use ix_loadgen::master::{self, Outcome};
use ix_loadgen::{agent_mode, report, runner};
use std::io::Write;

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("ix-mutilate: {e:#}");
        std::process::exit(2);
    }
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

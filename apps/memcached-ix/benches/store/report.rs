//! What the benchmark prints: per (structure, thread count) cell, the medians of
//! the runs that other processes did not disturb, as Markdown tables.

use super::run::{median_min_max, RunResult};

/// One run's figures.
#[derive(Debug, Clone, Copy)]
struct Sample {
    mops: f64,
    waits_per_kop: f64,
    cpu_share: f64,
    mops_per_cpu: f64,
    other_share: f64,
}

/// The runs of one (structure, thread count) cell.
#[derive(Debug, Default)]
pub struct Cell {
    samples: Vec<Sample>,
    clean: Vec<bool>,
    hit_ratio: Option<f64>,
}

impl Cell {
    /// Adds run `r` that saw `waits` lock waits; `threads` on `cores`; it is clean
    /// if other processes took at most `max_other` of the cores.
    pub fn add(&mut self, r: &RunResult, waits: u64, threads: usize, cores: usize, max_other: f64) {
        self.samples.push(Sample {
            mops: r.ops_per_sec() / 1e6,
            waits_per_kop: waits as f64 * 1000.0 / r.ops.max(1) as f64,
            cpu_share: r.cpu_secs / (r.secs * threads.min(cores) as f64),
            mops_per_cpu: r.ops as f64 / r.cpu_secs.max(1e-9) / 1e6,
            other_share: r.other_share,
        });
        self.clean.push(r.other_share <= max_other);
        if r.gets > 0 {
            let h = r.hits as f64 / r.gets as f64;
            self.hit_ratio = Some(self.hit_ratio.map_or(h, |m: f64| m.min(h)));
        }
    }

    /// The samples medians are taken over: the clean ones, or all if none is
    /// (then the figure is marked).
    fn chosen(&self) -> (Vec<Sample>, bool) {
        let clean: Vec<Sample> = self
            .samples
            .iter()
            .zip(&self.clean)
            .filter(|(_, &c)| c)
            .map(|(s, _)| *s)
            .collect();
        match clean.is_empty() {
            true => (self.samples.clone(), false),
            false => (clean, true),
        }
    }

    fn median(&self, f: impl Fn(&Sample) -> f64) -> (f64, f64, f64) {
        let (s, _) = self.chosen();
        let v: Vec<f64> = s.iter().map(f).collect();
        if v.is_empty() {
            return (f64::NAN, f64::NAN, f64::NAN);
        }
        median_min_max(&v)
    }

    fn mark(&self) -> &'static str {
        if self.chosen().1 {
            ""
        } else {
            "*"
        }
    }
}

/// Prints the two tables for `rows` (structure name, one cell per thread count);
/// `room` below 1 means misses and evictions are expected.
pub fn print_tables(threads: &[usize], max_other: f64, room: f64, rows: &[(String, Vec<Cell>)]) {
    let head: Vec<String> = threads.iter().map(|t| format!("{t} thr")).collect();
    let rule = "|---".repeat(head.len() + 1) + "|";
    println!(
        "\nMops/s, median [min–max] of the runs during which other processes used at most \
         {:.0}% of the cores (* = none was: all runs):\n",
        max_other * 100.0
    );
    println!("| structure | {} |\n{rule}", head.join(" | "));
    for (name, cells) in rows {
        let v: Vec<String> = cells
            .iter()
            .map(|c| {
                let (m, lo, hi) = c.median(|s| s.mops);
                format!("{m:.2} [{lo:.2}–{hi:.2}]{}", c.mark())
            })
            .collect();
        println!("| {name} | {} |", v.join(" | "));
    }
    println!(
        "\nSame runs, medians: lock waits per 1000 ops / CPU the threads got (of \
         min(threads, cores)) / Mops per CPU-second / others' CPU / runs kept of all:\n"
    );
    println!("| structure | {} |\n{rule}", head.join(" | "));
    for (name, cells) in rows {
        let v: Vec<String> = cells
            .iter()
            .map(|c| {
                let kept = c.chosen().0.len();
                format!(
                    "{:.1} / {:.0}% / {:.2} / {:.0}% / {kept}/{}",
                    c.median(|s| s.waits_per_kop).0,
                    c.median(|s| s.cpu_share).0 * 100.0,
                    c.median(|s| s.mops_per_cpu).0,
                    c.median(|s| s.other_share).0 * 100.0,
                    c.samples.len()
                )
            })
            .collect();
        println!("| {name} | {} |", v.join(" | "));
    }
    for (name, cells) in rows {
        for (t, c) in threads.iter().zip(cells) {
            if let Some(h) = c.hit_ratio.filter(|&h| h < 1.0) {
                let what = if room < 1.0 { "note" } else { "WARNING" };
                println!("{what} ({name}, {t} threads): lowest get hit ratio {h:.4}");
            }
        }
    }
}

//! Timed runs: N threads each doing the get/set mix against a [`Worker`] for a
//! fixed wall time; ops counted per thread, CPU time each thread actually got read
//! from `/proc/thread-self/schedstat`, and the CPU that *other* processes took
//! meanwhile (from `/proc/stat` less this process's share): on a shared 2-core
//! machine that is often large, and a run it disturbed measures the machine.

use super::workload::{KeyChooser, Rng};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// One thread's handle on the structure under test.
pub trait Worker: Send {
    /// Reads key `k`; whether it was found.
    fn get(&mut self, k: usize) -> bool;
    /// Stores key `k` (its size class's value); whether it was stored.
    fn set(&mut self, k: usize) -> bool;
    /// Called once the thread's own ops are over (partitions keep answering
    /// their peers until every thread is done).
    fn finish(&mut self) {}
}

/// What one run measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunResult {
    /// Operations completed by all threads.
    pub ops: u64,
    /// Gets that found their key.
    pub hits: u64,
    /// Gets done.
    pub gets: u64,
    /// Wall seconds of the measured window.
    pub secs: f64,
    /// CPU seconds the worker threads ran, summed.
    pub cpu_secs: f64,
    /// Share of all cores that other processes used during the window.
    pub other_share: f64,
}

impl RunResult {
    /// Operations per wall second.
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.secs
    }
}

/// The mix: `get_ratio` of ops are gets, keys from `chooser`.
#[derive(Debug, Clone)]
pub struct Mix {
    /// Share of gets (the rest are sets).
    pub get_ratio: f64,
    /// The key distribution.
    pub chooser: KeyChooser,
}

/// Runs `workers` (one thread each) for `window` after they all start together.
pub fn timed_run<W: Worker>(workers: Vec<W>, mix: &Mix, window: Duration, seed: u64) -> RunResult {
    let n = workers.len();
    let stop = AtomicBool::new(false);
    let start = Barrier::new(n + 1);
    let get_cut = (mix.get_ratio * u64::MAX as f64) as u64;
    let (per_thread, secs, other_share) = std::thread::scope(|s| {
        let handles: Vec<_> = workers
            .into_iter()
            .enumerate()
            .map(|(t, mut w)| {
                let (stop, start) = (&stop, &start);
                s.spawn(move || {
                    let mut rng = Rng::new(seed ^ ((t as u64 + 1) * 0x1234_5678_9abc));
                    let mut r = RunResult::default();
                    start.wait();
                    let cpu0 = thread_cpu_ns();
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..64 {
                            let k = mix.chooser.next(&mut rng);
                            if rng.next_u64() < get_cut {
                                r.gets += 1;
                                r.hits += u64::from(w.get(k));
                            } else {
                                w.set(k);
                            }
                        }
                        r.ops += 64;
                    }
                    r.cpu_secs = thread_cpu_ns().saturating_sub(cpu0) as f64 / 1e9;
                    w.finish();
                    r
                })
            })
            .collect();
        start.wait();
        let t0 = Instant::now();
        let (sys0, own0) = (system_busy_ticks(), own_ticks());
        std::thread::sleep(window);
        stop.store(true, Ordering::Relaxed);
        let secs = t0.elapsed().as_secs_f64();
        let (sys1, own1) = (system_busy_ticks(), own_ticks());
        let other = (sys1 - sys0).saturating_sub(own1 - own0) as f64;
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        let other_share = other / (TICKS_PER_SEC * secs * cores as f64);
        let per: Vec<RunResult> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect();
        (per, secs, other_share)
    });
    let mut total = RunResult {
        secs,
        other_share,
        ..RunResult::default()
    };
    for r in per_thread {
        total.ops += r.ops;
        total.hits += r.hits;
        total.gets += r.gets;
        total.cpu_secs += r.cpu_secs;
    }
    total
}

/// Nanoseconds this thread has run on a CPU (0 if schedstat is unreadable).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Waits until other processes use at most `max_other` of the cores over a
/// 100 ms sample, or `limit` has passed; returns whether it got quiet.
pub fn wait_quiet(max_other: f64, limit: Duration) -> bool {
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get()) as f64;
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        let (sys0, own0, s0) = (system_busy_ticks(), own_ticks(), Instant::now());
        std::thread::sleep(Duration::from_millis(100));
        let other = (system_busy_ticks() - sys0).saturating_sub(own_ticks() - own0) as f64;
        if other / (TICKS_PER_SEC * s0.elapsed().as_secs_f64() * cores) <= max_other {
            return true;
        }
    }
    false
}

/// `/proc/stat` and `/proc/self/stat` count in USER_HZ ticks, 100 on Linux.
const TICKS_PER_SEC: f64 = 100.0;

/// Ticks all CPUs spent busy (user, nice, system, irq, softirq, steal).
fn system_busy_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal
    [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| f.get(i)).sum()
}

/// Ticks this process ran (user + system).
fn own_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces): state is field 3,
    // utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    f.iter().sum()
}

/// Median, minimum and maximum of `xs` (assumes it is not empty).
pub fn median_min_max(xs: &[f64]) -> (f64, f64, f64) {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    (mid, v[0], v[v.len() - 1])
}

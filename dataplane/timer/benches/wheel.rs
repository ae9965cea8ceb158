//! Cost of the timer wheel's operations with 1k and 100k timers live.
//!
//! `cargo bench -p ix-timer --bench wheel`
//!
//! Tick 1 ms. "Live" timers are armed first with deadlines spread uniformly over 65 s
//! (levels 0-2), standing in for a core's connections; each measured operation then
//! runs against that population. Each figure is the median of 7 runs, each timing a
//! batch of operations with `std::time::Instant` and dividing by the batch size.
//!
//! - arm / cancel: arm a batch of 10k timers (random deadlines in the same 65 s), then
//!   cancel them in random order.
//! - reset: move 10k random live timers to new random deadlines (the TCP engine does this
//!   on most ACKs, re-arming the retransmission timer).
//! - fire, 1 s: N timers due within 1 s, `advance` called every 1 ms until all fired;
//!   total time over N (includes the per-call cost of ticks with nothing due).
//! - fire, 65 s: the same over 65 s, so most timers cascade down one or two levels first.
//! - empty tick: one `advance` by one tick when nothing is due (the N live timers are
//!   all an hour or more away): the price of calling `advance` every loop iteration.
//!   The "fire" columns include one such call per tick, so at 1k timers over 65 s they
//!   are mostly this (65 calls per timer).
//! - idle advance: one call moving an otherwise idle wheel (one timer a year out) a day.
//!
//! The machine's other load matters: at 100k timers the slab (about 5 MB) is out of L2,
//! so reset and fire are dominated by cache misses on randomly placed list neighbours.

use ix_nic::Instant;
use ix_timer::{TimerId, TimerWheel};
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::time::Duration;

const TICK: Duration = Duration::from_millis(1);
const BATCH: usize = 10_000;
const RUNS: usize = 7;
const SPREAD_MS: u64 = 65_536;

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// A wheel with `live` timers due uniformly over `spread_ms`, plus room for a batch.
fn populated(live: usize, spread_ms: u64, rng: &mut SmallRng) -> (TimerWheel<u32>, Vec<TimerId>) {
    let mut w = TimerWheel::new(live + BATCH, TICK, ms(0));
    let ids = (0..live)
        .map(|i| {
            w.arm(ms(rng.gen_range(1..=spread_ms)), i as u32)
                .expect("capacity covers live timers")
        })
        .collect();
    (w, ids)
}

fn deadlines(rng: &mut SmallRng, n: usize) -> Vec<Instant> {
    (0..n).map(|_| ms(rng.gen_range(1..=SPREAD_MS))).collect()
}

/// ns per arm and per cancel of a batch on top of `live` timers.
fn arm_cancel(live: usize, rng: &mut SmallRng) -> (f64, f64) {
    let (mut w, _) = populated(live, SPREAD_MS, rng);
    let (mut arms, mut cancels) = (Vec::new(), Vec::new());
    let mut ids = Vec::with_capacity(BATCH);
    for _ in 0..RUNS {
        let ds = deadlines(rng, BATCH);
        ids.clear();
        let t = std::time::Instant::now();
        for (i, &d) in ds.iter().enumerate() {
            ids.push(w.arm(d, i as u32).expect("batch fits"));
        }
        arms.push(t.elapsed().as_nanos() as f64 / BATCH as f64);
        ids.shuffle(rng);
        let t = std::time::Instant::now();
        for &id in &ids {
            black_box(w.cancel(id));
        }
        cancels.push(t.elapsed().as_nanos() as f64 / BATCH as f64);
    }
    (median(arms), median(cancels))
}

/// ns per reset of a random live timer.
fn reset(live: usize, rng: &mut SmallRng) -> f64 {
    let (mut w, mut ids) = populated(live, SPREAD_MS, rng);
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let picks: Vec<usize> = (0..BATCH).map(|_| rng.gen_range(0..live)).collect();
        let ds = deadlines(rng, BATCH);
        let t = std::time::Instant::now();
        for (&k, &d) in picks.iter().zip(&ds) {
            ids[k] = w.reset(ids[k], d).expect("live");
        }
        runs.push(t.elapsed().as_nanos() as f64 / BATCH as f64);
    }
    median(runs)
}

/// ns per fired timer, advancing every tick until `live` timers spread over
/// `spread_ms` have all fired.
fn fire(live: usize, spread_ms: u64, rng: &mut SmallRng) -> f64 {
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let (mut w, _) = populated(live, spread_ms, rng);
        let mut fired = 0usize;
        let t = std::time::Instant::now();
        for now in 1..=spread_ms {
            w.advance(ms(now), |id, p| {
                black_box((id, p));
                fired += 1;
            });
        }
        runs.push(t.elapsed().as_nanos() as f64 / live as f64);
        assert_eq!(fired, live);
    }
    median(runs)
}

/// ns per `advance` by one tick with `live` timers armed but none due.
fn empty_tick(live: usize, rng: &mut SmallRng) -> f64 {
    const CALLS: u64 = 100_000;
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let mut w = TimerWheel::new(live, TICK, ms(0));
        for i in 0..live {
            w.arm(ms(3_600_000 + rng.gen_range(0..SPREAD_MS)), i as u32)
                .expect("room");
        }
        let t = std::time::Instant::now();
        for now in 1..=CALLS {
            w.advance(black_box(ms(now)), |_, _| panic!("nothing is due"));
        }
        runs.push(t.elapsed().as_nanos() as f64 / CALLS as f64);
    }
    median(runs)
}

/// ns for one `advance` across a day with nothing due.
fn idle_day(rng: &mut SmallRng) -> f64 {
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let mut w = TimerWheel::new(1, TICK, ms(0));
        w.arm(ms(365 * 86_400_000 + rng.gen_range(0..1000)), ())
            .expect("room");
        let t = std::time::Instant::now();
        w.advance(ms(86_400_000), |_, ()| panic!("nothing is due"));
        runs.push(t.elapsed().as_nanos() as f64);
    }
    median(runs)
}

fn main() {
    let mut rng = SmallRng::seed_from_u64(1);
    println!("ix-timer: ns per operation, tick 1 ms, median of {RUNS} runs");
    println!();
    println!(
        "| live timers | arm  | cancel | reset | fire (due within 1 s) | fire (due within 65 s) | empty tick |"
    );
    println!(
        "|------------:|-----:|-------:|------:|----------------------:|-----------------------:|-----------:|"
    );
    for live in [1_000, 100_000] {
        let (arm, cancel) = arm_cancel(live, &mut rng);
        let reset = reset(live, &mut rng);
        let near = fire(live, 1_000, &mut rng);
        let far = fire(live, SPREAD_MS, &mut rng);
        let empty = empty_tick(live, &mut rng);
        println!(
            "| {live:>11} | {arm:>4.1} | {cancel:>6.1} | {reset:>5.1} | {near:>21.1} | {far:>22.1} | {empty:>10.1} |"
        );
    }
    println!();
    println!(
        "idle advance over one day (86.4M ticks, nothing due): {:.0} ns per call",
        idle_day(&mut rng)
    );
}

//! The injector's faults occur at the configured rates, and its counters agree with
//! what an outside observer sees.

mod support;

use ix_fault::{FaultConfig, FaultStats};
use std::time::Duration;
use support::{faulty, observe, plan, run, Observed, Way};

const SEEDS: u64 = 50;
const FRAMES: u32 = 10_000;
const STEP: Duration = Duration::from_micros(50);
const DELAY: Duration = Duration::from_micros(200);

fn config() -> FaultConfig {
    FaultConfig {
        drop: 0.1,
        duplicate: 0.05,
        reorder: 0.08,
        corrupt: 0.05,
        delay: 0.04,
        delay_us: DELAY.as_micros() as u64,
        ..FaultConfig::default()
    }
}

/// Asserts `hits` successes in `trials` Bernoulli(`p`) trials is within five
/// standard deviations of the mean (plus one, for tiny variances). Per test the
/// false-alarm rate is below 1e-6.
fn within_5_sigma(what: &str, hits: u64, trials: u64, p: f64) {
    let mean = trials as f64 * p;
    let sd = (trials as f64 * p * (1.0 - p)).sqrt();
    let off = (hits as f64 - mean).abs();
    assert!(
        off <= 5.0 * sd + 1.0,
        "{what}: {hits} of {trials}, expected {mean:.0} +- {:.0} (5 sigma)",
        5.0 * sd
    );
}

/// Checks the rates of `s` against `c`, each against the frames it could apply to
/// (see `FaultConfig`: drop first, reorder only when delay was not drawn).
fn check_rates(what: &str, s: &FaultStats, c: &FaultConfig) {
    let kept = s.seen - s.dropped;
    within_5_sigma(&format!("{what} drop"), s.dropped, s.seen, c.drop);
    within_5_sigma(&format!("{what} corrupt"), s.corrupted, kept, c.corrupt);
    within_5_sigma(
        &format!("{what} duplicate"),
        s.duplicated,
        kept,
        c.duplicate,
    );
    within_5_sigma(&format!("{what} delay"), s.delayed, kept, c.delay);
    within_5_sigma(
        &format!("{what} reorder"),
        s.reordered,
        kept - s.delayed,
        c.reorder,
    );
}

/// Checks the counters against what came out of the injector.
fn check_observed(what: &str, s: &FaultStats, o: &Observed) {
    let what = format!("{what}: observed {o:?}, counted {s:?}");
    assert_eq!(s.seen, u64::from(FRAMES), "{what}");
    assert_eq!(
        (s.skipped_queue_full, s.skipped_no_buffers),
        (0, 0),
        "{what}"
    );
    assert_eq!(o.missing, s.dropped, "{what}: dropped frames never arrive");
    assert_eq!(
        o.extra, s.duplicated,
        "{what}: each duplicate arrives once more"
    );
    assert_eq!(
        o.corrupted, s.corrupted,
        "{what}: corrupted frames arrive damaged"
    );
    // Reordered frames left at the very end are released by their time bound after
    // the last frame, so they look late rather than overtaken.
    assert_eq!(o.late + o.overtaken, s.delayed + s.reordered, "{what}");
    assert!(o.late >= s.delayed && o.overtaken <= s.reordered, "{what}");
}

fn sum(a: FaultStats, b: &FaultStats) -> FaultStats {
    FaultStats {
        seen: a.seen + b.seen,
        dropped: a.dropped + b.dropped,
        duplicated: a.duplicated + b.duplicated,
        reordered: a.reordered + b.reordered,
        corrupted: a.corrupted + b.corrupted,
        delayed: a.delayed + b.delayed,
        skipped_queue_full: a.skipped_queue_full + b.skipped_queue_full,
        skipped_no_buffers: a.skipped_no_buffers + b.skipped_no_buffers,
    }
}

fn rates_match_configuration(way: Way) {
    let c = config();
    let mut total = FaultStats::default();
    for seed in 0..SEEDS {
        let (rx, tx) = match way {
            Way::Rx => (c, FaultConfig::default()),
            Way::Tx => (FaultConfig::default(), c),
        };
        let (mut f, clock, pool) = faulty(&plan(seed, rx, tx), 1024);
        let got = run(&mut f, &clock, way, FRAMES, STEP);
        let s = match way {
            Way::Rx => f.rx_stats(),
            Way::Tx => f.tx_stats(),
        };
        let what = format!("{way:?} seed {seed}");
        check_observed(&what, &s, &observe(&got, FRAMES, STEP, DELAY));
        check_rates(&what, &s, &c);
        total = sum(total, &s);
        drop(f);
        assert_eq!(pool.stats().in_use(), 0, "{what}: no buffer leaked");
    }
    check_rates(&format!("{way:?} all seeds"), &total, &c);
}

#[test]
fn rx_rates_match_configuration() {
    rates_match_configuration(Way::Rx);
}

#[test]
fn tx_rates_match_configuration() {
    rates_match_configuration(Way::Tx);
}

//! Random operation sequences checked against a simple model (a `BTreeMap` ordered by
//! deadline): every timer fires exactly once, never early, at most one tick late, in
//! tick order; cancel and reset behave; ids never alias.
//!
//! The exact rule the model encodes: `advance(now)` fires a timer iff it was overdue
//! when armed or reset (deadline <= the latest earlier `now`), or its deadline rounded
//! up to a tick is <= `now` rounded down to a tick. Overdue ones come first.

use ix_nic::Instant;
use ix_timer::{TimerError, TimerId, TimerWheel};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
struct Armed {
    deadline: u64,
    payload: u64,
    overdue: bool,
}

/// How often each interesting path ran, so a quiet generator cannot pass vacuously.
#[derive(Debug, Default)]
struct Coverage {
    fired: u64,
    fired_overdue: u64,
    fired_multi_level: u64,
    cancelled: u64,
    reset: u64,
    full: u64,
    stale_checked: u64,
}

struct Model {
    tick: u64,
    cov: Coverage,
    last_now: u64,
    /// (deadline, payload) -> id: the order the model expects firing in.
    by_deadline: BTreeMap<(u64, u64), TimerId>,
    by_id: HashMap<TimerId, Armed>,
    /// Ids that fired or were cancelled: must stay stale forever.
    dead: Vec<TimerId>,
}

impl Model {
    fn expiry(&self, d: u64) -> u64 {
        (d / self.tick + u64::from(!d.is_multiple_of(self.tick))).min(u64::MAX / self.tick)
    }

    fn insert(&mut self, id: TimerId, deadline: u64, payload: u64) {
        let overdue = deadline <= self.last_now;
        self.by_deadline.insert((deadline, payload), id);
        let old = self.by_id.insert(
            id,
            Armed {
                deadline,
                payload,
                overdue,
            },
        );
        assert!(old.is_none(), "id {id:?} handed out while armed");
    }

    fn remove(&mut self, id: TimerId) -> Armed {
        let a = self.by_id.remove(&id).expect("model knows the id");
        self.by_deadline.remove(&(a.deadline, a.payload));
        a
    }

    fn due(&self, a: &Armed, now: u64) -> bool {
        a.overdue || self.expiry(a.deadline) <= now / self.tick
    }
}

/// A deadline relative to `now`, drawn to hit every level, overflow, the past and the
/// far end of time.
fn pick_deadline(rng: &mut SmallRng, now: u64, tick: u64) -> u64 {
    let ticks = match rng.gen_range(0..100) {
        0..=9 => return now.saturating_sub(rng.gen_range(0..=3 * tick)),
        10..=11 => return u64::MAX - rng.gen_range(0..2 * tick),
        12..=49 => rng.gen_range(0..130u64),
        50..=74 => rng.gen_range(0..(1u64 << 14)),
        75..=89 => rng.gen_range(0..(1u64 << 26)),
        _ => rng.gen_range(0..(1u64 << 40)),
    };
    now.saturating_add(ticks.saturating_mul(tick))
        .saturating_add(rng.gen_range(0..tick))
}

/// How far to move time: mostly small steps, sometimes huge idle gaps, sometimes back.
fn pick_now(rng: &mut SmallRng, now: u64, tick: u64) -> u64 {
    let ticks = match rng.gen_range(0..100) {
        0..=4 => return now.saturating_sub(rng.gen_range(0..=2 * tick)),
        5..=49 => rng.gen_range(0..4u64),
        50..=79 => rng.gen_range(0..300u64),
        80..=94 => rng.gen_range(0..(1u64 << 20)),
        _ => rng.gen_range(0..(1u64 << 38)),
    };
    now.saturating_add(ticks.saturating_mul(tick))
        .saturating_add(rng.gen_range(0..tick))
}

fn check_advance(w: &mut TimerWheel<u64>, m: &mut Model, now: u64) {
    let mut fired = Vec::new();
    w.advance(Instant::from_nanos(now), |id, p| fired.push((id, p)));
    let mut seen_on_time = false;
    let mut last_expiry = 0;
    for &(id, p) in &fired {
        let a = m.remove(id);
        assert_eq!(a.payload, p, "payload of {id:?}");
        assert!(m.due(&a, now), "fired early: {a:?} at {now}");
        if a.deadline <= m.tick.saturating_mul(u64::MAX / m.tick) {
            assert!(
                a.deadline <= now.max(m.last_now),
                "before its deadline: {a:?} at {now}"
            );
        }
        if a.overdue {
            assert!(!seen_on_time, "overdue timer after an on-time one");
        } else {
            seen_on_time = true;
            let e = m.expiry(a.deadline);
            assert!(e >= last_expiry, "out of tick order");
            last_expiry = e;
        }
        m.dead.push(id);
        m.cov.fired += 1;
        m.cov.fired_overdue += u64::from(a.overdue);
        m.cov.fired_multi_level += u64::from(m.expiry(a.deadline) >= m.last_now / m.tick + 64);
    }
    m.last_now = m.last_now.max(now);
    for a in m.by_id.values() {
        assert!(!m.due(a, now), "not fired though due: {a:?} at {now}");
    }
    assert_eq!(w.len(), m.by_id.len());
    // next_deadline: a lower bound on the earliest moment a remaining timer can fire.
    match m
        .by_id
        .values()
        .map(|a| m.expiry(a.deadline) * m.tick)
        .min()
    {
        None => assert_eq!(w.next_deadline(), None),
        Some(earliest) => {
            let nd = w.next_deadline().expect("timers armed").as_nanos();
            assert!(nd <= earliest, "next_deadline {nd} after {earliest}");
        }
    }
}

fn run(seed: u64, ops: usize) -> Coverage {
    let mut rng = SmallRng::seed_from_u64(seed);
    let tick = [1, 7, 1_000, 1_000_000][rng.gen_range(0..4)];
    let capacity = [1, 8, 64, 300][rng.gen_range(0..4)];
    // Start anywhere, including just before a 2^36-tick rotation boundary.
    let mut now = match rng.gen_range(0..3) {
        0 => 0,
        1 => ((1u64 << 36) - rng.gen_range(0..200)) * tick,
        _ => rng.gen_range(0..(1u64 << 50)),
    };
    let mut w = TimerWheel::new(
        capacity,
        Duration::from_nanos(tick),
        Instant::from_nanos(now),
    );
    let mut m = Model {
        tick,
        cov: Coverage::default(),
        last_now: now,
        by_deadline: BTreeMap::new(),
        by_id: HashMap::new(),
        dead: Vec::new(),
    };
    let mut next_payload = 0u64;
    for _ in 0..ops {
        match rng.gen_range(0..100) {
            0..=39 => {
                let d = pick_deadline(&mut rng, now, tick);
                next_payload += 1;
                match w.arm(Instant::from_nanos(d), next_payload) {
                    Ok(id) => m.insert(id, d, next_payload),
                    Err(TimerError::Full) => {
                        assert_eq!(m.by_id.len(), capacity);
                        m.cov.full += 1;
                    }
                    Err(e) => panic!("arm: {e}"),
                }
            }
            40..=54 if !m.by_id.is_empty() => {
                let k = rng.gen_range(0..m.by_id.len());
                let id = *m.by_deadline.values().nth(k).expect("in range");
                let a = m.remove(id);
                assert_eq!(w.cancel(id), Some(a.payload));
                m.dead.push(id);
                m.cov.cancelled += 1;
            }
            55..=69 if !m.by_id.is_empty() => {
                let k = rng.gen_range(0..m.by_id.len());
                let id = *m.by_deadline.values().nth(k).expect("in range");
                let a = m.remove(id);
                let d = pick_deadline(&mut rng, now, tick);
                let new = w.reset(id, Instant::from_nanos(d)).expect("armed");
                assert_eq!(w.deadline(new), Some(Instant::from_nanos(d)));
                m.insert(new, d, a.payload);
                m.cov.reset += 1;
            }
            70..=74 if !m.dead.is_empty() => {
                let id = m.dead[rng.gen_range(0..m.dead.len())];
                assert_eq!(w.cancel(id), None, "stale id cancelled something");
                assert_eq!(
                    w.reset(id, Instant::from_nanos(now)),
                    Err(TimerError::Stale)
                );
                assert_eq!(w.deadline(id), None);
                m.cov.stale_checked += 1;
            }
            _ => {
                now = pick_now(&mut rng, now, tick);
                check_advance(&mut w, &mut m, now);
            }
        }
    }
    // The end of time: everything left must fire.
    check_advance(&mut w, &mut m, u64::MAX);
    assert!(m.by_id.is_empty() && w.is_empty());
    m.cov
}

fn add(total: &mut Coverage, c: Coverage) {
    total.fired += c.fired;
    total.fired_overdue += c.fired_overdue;
    total.fired_multi_level += c.fired_multi_level;
    total.cancelled += c.cancelled;
    total.reset += c.reset;
    total.full += c.full;
    total.stale_checked += c.stale_checked;
}

fn assert_covered(c: &Coverage) {
    println!("{c:?}");
    for (what, n) in [
        ("fired", c.fired),
        ("fired overdue", c.fired_overdue),
        ("fired from a higher level", c.fired_multi_level),
        ("cancelled", c.cancelled),
        ("reset", c.reset),
        ("full", c.full),
        ("stale ids checked", c.stale_checked),
    ] {
        assert!(n >= 100, "only {n} x {what}");
    }
}

#[test]
fn matches_model_over_random_sequences() {
    let seeds: u64 = std::env::var("IX_TIMER_MODEL_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400);
    let mut total = Coverage::default();
    for seed in 0..seeds {
        add(&mut total, run(seed, 400));
    }
    assert_covered(&total);
}

#[test]
fn matches_model_on_long_sequences() {
    let mut total = Coverage::default();
    for seed in 1_000..1_008 {
        add(&mut total, run(seed, 20_000));
    }
    assert_covered(&total);
}

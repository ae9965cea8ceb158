//! The wheel's behaviour through its public API: arming, cancelling, resetting, stale
//! ids, capacity, ordering, far and past deadlines, long idle gaps.

use ix_nic::Instant;
use ix_timer::{TimerError, TimerId, TimerWheel};
use std::time::Duration;

const MS: Duration = Duration::from_millis(1);

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

/// Advances to `now` and returns what fired, in order.
fn fire<T>(w: &mut TimerWheel<T>, now: Instant) -> Vec<T> {
    let mut out = Vec::new();
    w.advance(now, |_, p| out.push(p));
    out
}

#[test]
fn arm_then_fire_returns_payload_and_frees_slot() {
    let mut w = TimerWheel::new(4, MS, ms(0));
    let id = w.arm(ms(10), "rto").expect("room");
    assert_eq!(w.len(), 1);
    assert_eq!(w.deadline(id), Some(ms(10)));
    assert_eq!(w.get(id), Some(&"rto"));
    assert!(fire(&mut w, ms(9)).is_empty());
    let mut got = Vec::new();
    w.advance(ms(10), |fid, p| got.push((fid, p)));
    assert_eq!(got, vec![(id, "rto")]);
    assert!(w.is_empty());
    assert_eq!(w.deadline(id), None, "fired id is stale");
}

#[test]
fn cancel_returns_payload_once() {
    let mut w = TimerWheel::new(4, MS, ms(0));
    let id = w.arm(ms(10), 7u32).expect("room");
    assert_eq!(w.cancel(id), Some(7));
    assert_eq!(w.cancel(id), None);
    assert!(fire(&mut w, ms(100)).is_empty());
    assert!(w.is_empty());
}

#[test]
fn stale_id_never_touches_the_slots_next_timer() {
    let mut w = TimerWheel::new(1, MS, ms(0));
    let old = w.arm(ms(5), 1).expect("room");
    assert_eq!(w.cancel(old), Some(1));
    let new = w.arm(ms(5), 2).expect("room");
    assert_ne!(old, new, "same slot, new generation");
    assert_eq!(w.cancel(old), None);
    assert_eq!(w.reset(old, ms(50)), Err(TimerError::Stale));
    assert_eq!(w.deadline(old), None);
    assert_eq!(w.get(old), None);
    assert_eq!(w.deadline(new), Some(ms(5)));
    assert_eq!(fire(&mut w, ms(5)), vec![2]);
    // A fired id is just as stale.
    assert_eq!(w.cancel(new), None);
    assert_eq!(w.reset(new, ms(9)), Err(TimerError::Stale));
}

#[test]
fn ids_from_another_wheel_are_stale_not_panics() {
    let mut big = TimerWheel::new(100, MS, ms(0));
    let mut small = TimerWheel::<u8>::new(1, MS, ms(0));
    let mut last = None;
    for i in 0..100 {
        last = Some(big.arm(ms(5), i).expect("room"));
    }
    let far = last.expect("armed");
    assert_eq!(small.cancel(far), None);
    assert_eq!(small.reset(far, ms(1)), Err(TimerError::Stale));
    assert_eq!(small.deadline(far), None);
    // Same slot, same generation, different wheel: still refused.
    let mut a = TimerWheel::new(1, MS, ms(0));
    let mut b = TimerWheel::new(1, MS, ms(0));
    let ia = a.arm(ms(5), "a").expect("room");
    let ib = b.arm(ms(5), "b").expect("room");
    assert_ne!(ia, ib);
    assert_eq!(b.cancel(ia), None);
    assert_eq!(b.get(ia), None);
    assert_eq!(b.get(ib), Some(&"b"));
    assert_eq!(a.cancel(ia), Some("a"));
}

#[test]
fn full_capacity_is_an_error_and_frees_on_cancel() {
    let mut w = TimerWheel::new(2, MS, ms(0));
    let a = w.arm(ms(1), 'a').expect("room");
    w.arm(ms(2), 'b').expect("room");
    assert!(matches!(w.arm(ms(3), 'c'), Err(TimerError::Full)));
    assert_eq!(w.len(), 2);
    assert_eq!(w.capacity(), 2);
    w.cancel(a);
    w.arm(ms(3), 'c').expect("a slot was freed");
    assert_eq!(fire(&mut w, ms(3)), vec!['b', 'c']);
}

#[test]
fn zero_capacity_and_zero_tick_do_not_panic() {
    let mut w = TimerWheel::new(0, Duration::ZERO, ms(0));
    assert!(matches!(w.arm(ms(1), ()), Err(TimerError::Full)));
    assert_eq!(w.next_deadline(), None);
    assert_eq!(w.tick(), Duration::from_nanos(1));
    assert!(fire(&mut w, Instant::from_nanos(u64::MAX)).is_empty());
}

#[test]
fn try_new_reports_impossible_allocation() {
    // MAX_CAPACITY (~2^32) slots of 4 GiB payloads overflow the address space: refused
    // deterministically, without touching memory.
    let r = TimerWheel::<[u8; 1 << 32]>::try_new(usize::MAX, MS, ms(0));
    assert!(matches!(r, Err(TimerError::Alloc)));
    let ok = TimerWheel::<u8>::try_new(16, MS, ms(0)).expect("small");
    assert_eq!(ok.capacity(), 16);
}

#[test]
fn reset_moves_deadline_and_keeps_payload() {
    let mut w = TimerWheel::new(4, MS, ms(0));
    let id = w.arm(ms(100), "ka").expect("room");
    let id = w.reset(id, ms(20)).expect("armed");
    assert_eq!(w.deadline(id), Some(ms(20)));
    assert!(fire(&mut w, ms(19)).is_empty());
    let id2 = w.arm(ms(21), "other").expect("room");
    let id = w.reset(id, ms(30)).expect("armed");
    assert_eq!(fire(&mut w, ms(25)), vec!["other"]);
    assert_eq!(w.deadline(id2), None);
    assert_eq!(w.deadline(id), Some(ms(30)));
    assert_eq!(fire(&mut w, ms(30)), vec!["ka"]);
}

#[test]
fn fires_in_deadline_order_across_levels() {
    let mut w = TimerWheel::new(64, MS, ms(0));
    let deadlines = [5_000_000u64, 3, 64, 63, 4096, 65, 1, 262_144, 70_000, 2];
    for &d in &deadlines {
        w.arm(ms(d), d).expect("room");
    }
    let got = fire(&mut w, ms(10_000_000));
    let mut want = deadlines.to_vec();
    want.sort_unstable();
    assert_eq!(got, want);
}

#[test]
fn never_early_at_most_one_tick_late_sub_tick_deadlines() {
    let mut w = TimerWheel::new(8, MS, ms(0));
    // 2.5 ms rounds up to tick 3: not at 2.9 ms, yes at 3.0 ms.
    w.arm(Instant::from_micros_for_test(2_500), ())
        .expect("room");
    assert!(fire(&mut w, Instant::from_micros_for_test(2_999)).is_empty());
    assert_eq!(fire(&mut w, ms(3)).len(), 1);
}

#[test]
fn past_deadlines_fire_at_next_advance() {
    let mut w = TimerWheel::new(8, MS, ms(1_000));
    w.arm(ms(5), "long ago").expect("room");
    w.arm(ms(1_000), "exactly now").expect("room");
    // In the past relative to the last `now`, though still within the current tick.
    w.advance(Instant::from_nanos(1_000_700_000), |_, _: &str| {});
    w.arm(Instant::from_nanos(1_000_500_000), "sub-tick past")
        .expect("room");
    w.arm(ms(1_001), "future").expect("room");
    let got = fire(&mut w, Instant::from_nanos(1_000_800_000));
    assert_eq!(got, vec!["sub-tick past"]);
    assert_eq!(fire(&mut w, ms(1_001)), vec!["future"]);
    // The first two fired at the advance right after they were armed.
    let mut w = TimerWheel::new(8, MS, ms(1_000));
    w.arm(ms(5), "long ago").expect("room");
    w.arm(ms(1_000), "exactly now").expect("room");
    assert_eq!(w.next_deadline(), Some(ms(1_000)));
    assert_eq!(fire(&mut w, ms(1_000)), vec!["long ago", "exactly now"]);
}

#[test]
fn overdue_timers_fire_before_later_ones() {
    let mut w = TimerWheel::new(8, MS, ms(0));
    w.arm(ms(7), "later").expect("room");
    w.advance(ms(5), |_, _| {});
    w.arm(ms(4), "overdue").expect("room");
    assert_eq!(fire(&mut w, ms(100)), vec!["overdue", "later"]);
}

#[test]
fn days_ahead_fire_on_time() {
    let day = 86_400_000u64;
    let mut w = TimerWheel::new(8, MS, ms(0));
    w.arm(ms(3 * day + 17), "3d").expect("room");
    w.arm(ms(day), "1d").expect("room");
    assert!(fire(&mut w, ms(day - 1)).is_empty());
    assert_eq!(fire(&mut w, ms(day)), vec!["1d"]);
    assert!(fire(&mut w, ms(3 * day + 16)).is_empty());
    assert_eq!(fire(&mut w, ms(3 * day + 17)), vec!["3d"]);
}

#[test]
fn far_deadlines_up_to_the_end_of_time_fire_exactly() {
    // The levels cover every u64 tick, so days, years and u64::MAX ns are all placed
    // directly; a 1 µs tick makes each of them many levels deep.
    let us = Duration::from_micros(1);
    let mut w = TimerWheel::new(16, us, ms(0));
    let day_us = 86_400_000_000u64;
    let d3 = Instant::from_nanos(3 * day_us * 1_000 + 123_000);
    let y10 = Instant::from_nanos(10 * 365 * day_us * 1_000);
    let end = Instant::from_nanos(u64::MAX);
    w.arm(end, "end of time").expect("room");
    w.arm(y10, "10y").expect("room");
    w.arm(d3, "3d").expect("room");
    w.arm(ms(1), "1ms").expect("room");
    assert_eq!(fire(&mut w, ms(1)), vec!["1ms"]);
    assert!(w.next_deadline().expect("armed") <= d3);
    assert!(fire(&mut w, Instant::from_nanos(d3.as_nanos() - 1_000)).is_empty());
    assert_eq!(fire(&mut w, d3), vec!["3d"]);
    assert!(fire(&mut w, Instant::from_nanos(y10.as_nanos() - 1)).is_empty());
    assert_eq!(fire(&mut w, y10), vec!["10y"]);
    assert!(fire(&mut w, Instant::from_nanos(u64::MAX - 1_000)).is_empty());
    assert_eq!(fire(&mut w, end), vec!["end of time"]);
    assert!(w.is_empty());
}

#[test]
fn end_of_time_at_a_nanosecond_tick_is_cheap() {
    // The case that makes clamp-and-re-cascade designs walk 2^28 rotations.
    let mut w = TimerWheel::new(4, Duration::from_nanos(1), ms(0));
    w.arm(Instant::from_nanos(u64::MAX), "end").expect("room");
    w.arm(Instant::from_nanos(u64::MAX / 2), "middle")
        .expect("room");
    let t = std::time::Instant::now();
    assert_eq!(
        fire(&mut w, Instant::from_nanos(u64::MAX - 1)),
        vec!["middle"]
    );
    assert_eq!(fire(&mut w, Instant::from_nanos(u64::MAX)), vec!["end"]);
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "took {:?}",
        t.elapsed()
    );
}

#[test]
fn long_idle_gap_is_cheap_and_correct() {
    let mut w = TimerWheel::new(4, MS, ms(0));
    // Nothing armed: a year of 1 ms ticks in one call.
    let year = ms(365 * 86_400_000);
    let t = std::time::Instant::now();
    assert!(fire(&mut w, year).is_empty());
    w.arm(year + Duration::from_secs(3_600), "hour later")
        .expect("room");
    w.arm(year + MS, "next tick").expect("room");
    let later = ms(3 * 365 * 86_400_000);
    assert_eq!(fire(&mut w, later), vec!["next tick", "hour later"]);
    // Billions of ticks walked one by one would take seconds even in release mode.
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "took {:?}",
        t.elapsed()
    );
}

#[test]
fn next_deadline_is_a_lower_bound_that_tightens() {
    let mut w = TimerWheel::new(4, MS, ms(0));
    assert_eq!(w.next_deadline(), None);
    w.arm(ms(5_000), ()).expect("room");
    let mut bound = w.next_deadline().expect("armed");
    assert!(bound <= ms(5_000));
    // Following the bound reaches the timer in a few steps, never firing it early.
    let mut steps = 0;
    loop {
        let mut fired = 0;
        w.advance(bound, |_, ()| fired += 1);
        steps += 1;
        if fired == 1 {
            assert_eq!(bound, ms(5_000));
            break;
        }
        let next = w.next_deadline().expect("still armed");
        assert!(next > bound && next <= ms(5_000));
        bound = next;
    }
    assert!(steps <= 4, "{steps} steps");
    assert_eq!(w.next_deadline(), None);
}

#[test]
fn poll_lets_the_caller_rearm_while_delivering() {
    let mut w = TimerWheel::new(4, MS, ms(0));
    let a = w.arm(ms(1), "rto").expect("room");
    w.arm(ms(3), "dack").expect("room");
    let mut seen = Vec::new();
    let mut rearmed: Option<TimerId> = None;
    while let Some((id, p)) = w.poll(ms(10)) {
        seen.push(p);
        if id == a {
            // Retransmit: back off to 2 ms later, still within this round, and to 20 ms.
            w.arm(ms(2), "backoff").expect("room");
            rearmed = Some(w.arm(ms(20), "rto2").expect("room"));
        }
    }
    assert_eq!(seen, vec!["rto", "backoff", "dack"]);
    assert_eq!(w.deadline(rearmed.expect("rearmed")), Some(ms(20)));
}

#[test]
fn option_of_id_is_two_words() {
    assert_eq!(std::mem::size_of::<Option<TimerId>>(), 16);
}

/// Test helper: microseconds since the origin.
trait FromMicros {
    fn from_micros_for_test(us: u64) -> Instant;
}

impl FromMicros for Instant {
    fn from_micros_for_test(us: u64) -> Instant {
        Instant::from_nanos(us * 1_000)
    }
}

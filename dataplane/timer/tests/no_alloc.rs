//! After `new`, nothing the wheel does allocates: arm, cancel, reset, advance and poll,
//! across every level, long idle gaps, past deadlines and a full wheel. Counted by the
//! allocation-counter crate's global allocator, per thread, so the test harness's own threads do not interfere.

use ix_nic::Instant;
use ix_timer::{TimerError, TimerId, TimerWheel};
use std::time::Duration;

/// A tiny deterministic generator, so the workload itself allocates nothing.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

#[test]
fn steady_state_does_not_allocate() {
    const CAP: usize = 4_096;
    let mut w = TimerWheel::new(CAP, Duration::from_millis(1), Instant::ZERO);
    let mut ids = [None::<TimerId>; CAP];
    let mut rng = Lcg(7);
    let mut now = 0u64;
    let mut fired = 0u64;

    // The counter itself works.
    let probe = allocation_counter::measure(|| drop(std::hint::black_box(vec![0u8; 16])));
    assert_eq!(probe.count_total, 1);

    let steady = allocation_counter::measure(|| {
        for round in 0..200u64 {
            for _ in 0..200 {
                let slot = (rng.next() as usize) % CAP;
                // Deadlines from the past to far beyond any level's span.
                let ahead = match rng.next() % 8 {
                    0 => 0,
                    1 => rng.next() % 5,
                    2..=4 => rng.next() % 300,
                    5 => rng.next() % 100_000,
                    6 => rng.next() << 20,
                    _ => u64::MAX / 1_000_000 - now,
                };
                let deadline =
                    Instant::from_millis(now.saturating_add(ahead).min(u64::MAX / 1_000_000));
                match ids[slot].take() {
                    Some(id) if rng.next().is_multiple_of(3) => {
                        let _ = w.cancel(id);
                    }
                    Some(id) => ids[slot] = w.reset(id, deadline).ok(),
                    None => match w.arm(deadline, slot) {
                        Ok(id) => ids[slot] = Some(id),
                        Err(TimerError::Full) => {}
                        Err(e) => panic!("arm: {e}"),
                    },
                }
            }
            now += if round % 50 == 49 {
                86_400_000
            } else {
                rng.next() % 400
            };
            let t = Instant::from_millis(now);
            w.advance(t, |_, slot| {
                ids[slot] = None;
                fired += 1;
            });
            while let Some((_, slot)) = w.poll(t) {
                ids[slot] = None;
            }
            let _ = w.next_deadline();
        }
        // Fill to capacity and overflow it.
        while w.arm(Instant::from_millis(now + 10), 0).is_ok() {}
        assert!(matches!(
            w.arm(Instant::from_millis(now + 10), 0),
            Err(TimerError::Full)
        ));
        w.advance(Instant::from_nanos(u64::MAX), |_, _| fired += 1);
    });

    assert!(w.is_empty());
    assert!(fired > 10_000, "workload too small: {fired} fired");
    assert_eq!(steady.count_total, 0, "the wheel allocated after new");
}

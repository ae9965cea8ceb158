//! Application timers on the kernel transport.

use super::support::{drive, log, record, script, small, Seen};
use crate::kernel::KernelThread;
use crate::Completion;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// A timer fires once after its delay; one cancelled before it is due never does.
#[test]
fn timers_fire_once_and_cancelled_ones_do_not() {
    let lg = log();
    let l2 = Rc::clone(&lg);
    let h = script(
        |c| {
            c.set_timer(1, Duration::from_millis(20)).unwrap();
            c.set_timer(2, Duration::from_millis(30)).unwrap();
        },
        move |batch, calls| {
            record(&l2, batch);
            for c in batch.completions() {
                if let Completion::SetTimer {
                    token: 2,
                    result: Ok(id),
                } = *c
                {
                    calls.cancel_timer(id).unwrap();
                }
            }
        },
    );
    let t0 = Instant::now();
    let mut th = KernelThread::new(&small(), 0, h).unwrap();
    drive(&mut th, |_| lg.borrow().0.contains(&Seen::Timer(1)));
    assert!(t0.elapsed() >= Duration::from_millis(20));
    let until = Instant::now() + Duration::from_millis(60);
    while Instant::now() < until {
        th.turn(Duration::from_millis(5));
    }
    let (events, done) = lg.borrow().clone();
    assert_eq!(events, vec![Seen::Timer(1)]);
    assert!(done
        .iter()
        .any(|c| matches!(c, Completion::CancelTimer { result: Ok(()), .. })));
    assert_eq!(th.stats().timers, 0);
}

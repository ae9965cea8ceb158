//! `-S` and `--moderate` on a connection, under a simulated clock and server.

use super::tests::{every_ms, gen, serve_all, MS};
use super::*;

/// One arrival every ms in a 100 ms window measured from `measure_ns`, depth 1, a
/// server that answers at once except that the request in flight at 10 ms is
/// answered at 30 ms. Steps of 0.1 ms.
fn stalled_run(pacing: Pacing, measure_ns: u64) -> Stats {
    let w = Window {
        start_ns: 0,
        measure_ns,
        end_ns: 100 * MS,
    };
    let mut c = Connection::new(Protocol::Ascii, 1, w, every_ms(0), gen(), false);
    c.set_pacing(pacing);
    let mut now = 0;
    while !c.is_done(now) {
        c.tick(now);
        if c.outstanding() > 0 && !(10 * MS..30 * MS).contains(&now) {
            serve_all(&mut c, now);
            continue; // the freed slot is refilled at the same instant
        }
        now += MS / 10;
        assert!(now <= 200 * MS, "the run ends");
    }
    c.finish()
}

#[test]
fn skip_keeps_a_stalled_connection_within_five_ms_of_its_schedule() {
    // The pipeline (depth 1) is full from 10 ms to 30 ms. mutilate's rule: more than
    // 5 ms behind, drop until at most 4 ms behind. At 16.1 ms arrivals 11 and 12 go
    // (5.1 and 4.1 ms late), at 18.1 ms 13 and 14, ... at 28.1 ms 23 and 24; at 30 ms
    // the reply comes and 25..=30 (at most 5 ms late) are sent.
    let s = stalled_run(Pacing::new(true, false, 1000.0), 0);
    assert_eq!(s.counts.skipped, 14);
    assert_eq!(
        s.counts.gets,
        99 - 14,
        "every other arrival was sent and answered"
    );
    assert!(
        s.get.max() >= 20 * MS,
        "the stalled request is still charged"
    );
    // Nothing sent left more than 5 ms after its schedule: from the schedule, the
    // latencies other than the stalled one are at most 5 ms plus a step.
    assert!(
        s.get.percentile(98.0) <= 5 * MS + MS / 10,
        "{}",
        s.get.percentile(98.0)
    );

    // Without -S the same run sends everything, late.
    let s = stalled_run(Pacing::new(false, false, 1000.0), 0);
    assert_eq!((s.counts.gets, s.counts.skipped), (99, 0));
    assert!(s.get.percentile(90.0) >= 5 * MS);
}

#[test]
fn skips_in_the_warm_up_are_not_counted() {
    // Measured from 20 ms: of the 14 dropped (11..=24 ms), 20..=24 count.
    let s = stalled_run(Pacing::new(true, false, 1000.0), 20 * MS);
    assert_eq!(s.counts.skipped, 5);
    assert_eq!(
        s.counts.gets,
        80 - 5,
        "arrivals 20..=99 ms, less the skipped"
    );
}

#[test]
fn skip_needs_a_rate() {
    // Closed loop: no schedule and no gap, so -S drops nothing.
    let w = Window {
        start_ns: 0,
        measure_ns: 0,
        end_ns: 10 * MS,
    };
    let mut c = Connection::new(Protocol::Ascii, 2, w, None, gen(), false);
    c.set_pacing(Pacing::new(true, true, 0.0));
    c.tick(0);
    assert_eq!(c.outstanding(), 2);
    serve_all(&mut c, 5 * MS);
    c.tick(5 * MS);
    assert_eq!(c.outstanding(), 2);
}

/// Sends of a connection whose client first looks at 10 ms (arrivals 1..=10 ms are
/// due at once), woken at its `next_wakeup`, against a server answering at once.
fn late_start_sends(pacing: Pacing) -> (Vec<u64>, Stats) {
    let w = Window {
        start_ns: 0,
        measure_ns: 0,
        end_ns: 100 * MS,
    };
    let mut c = Connection::new(Protocol::Ascii, 4, w, every_ms(0), gen(), false);
    c.set_pacing(pacing);
    let mut now = 10 * MS;
    let mut sends = Vec::new();
    for _ in 0..10_000 {
        let before = c.outstanding();
        c.tick(now);
        sends.extend(std::iter::repeat_n(now, c.outstanding() - before));
        serve_all(&mut c, now);
        if c.is_done(now) {
            break;
        }
        // At `now` again when more is due at once (the pipeline refills).
        let next = c.next_wakeup(now).expect("something to wait for");
        assert!(next >= now, "not in the past: {next} at {now}");
        now = next;
    }
    assert!(c.is_done(now), "the run ends");
    (sends, c.finish())
}

#[test]
fn moderate_spaces_a_backlog_half_a_gap_apart() {
    let (sends, s) = late_start_sends(Pacing::new(false, true, 1000.0));
    assert_eq!(
        (s.counts.gets, s.counts.skipped),
        (99, 0),
        "all sent, later"
    );
    assert_eq!(&sends[..3], &[10 * MS, 10 * MS + MS / 2, 11 * MS]);
    assert!(
        sends.windows(2).all(|w| w[1] - w[0] >= MS / 2),
        "at least half a gap between sends"
    );
    // The backlog of 10 drains at 2/ms against 1/ms arriving: caught up by ~20 ms,
    // then one send per arrival, on time.
    assert!(sends.contains(&(50 * MS)) && sends.contains(&(99 * MS)));

    // Without --moderate the backlog leaves at once, up to the depth.
    let (sends, s) = late_start_sends(Pacing::default());
    assert_eq!(s.counts.gets, 99);
    assert_eq!(sends.iter().filter(|&&t| t == 10 * MS).count(), 10);
}

#[test]
fn skip_leaves_a_connection_that_can_send_alone() {
    // Backlog 1..=10 ms at 10 ms, up to 9 ms late, but the pipeline (depth 4) is
    // never full: as in mutilate, -S drops only behind a full pipeline, so
    // --moderate's spacing decides alone.
    let (sends, s) = late_start_sends(Pacing::new(true, true, 1000.0));
    assert_eq!((s.counts.gets, s.counts.skipped), (99, 0));
    assert_eq!(&sends[..2], &[10 * MS, 10 * MS + MS / 2]);
}

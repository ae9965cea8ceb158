//! The connection state machine under a simulated clock and server.

use super::*;
use crate::dist::Distribution;
use crate::workload::Workload;

pub(super) const MS: u64 = 1_000_000;

pub(super) fn gen() -> RequestGen {
    RequestGen::new(
        Workload {
            keysize: Distribution::Fixed(10.0),
            valuesize: Distribution::Fixed(5.0),
            records: 100,
            update: 0.0,
        },
        1,
        crate::workload::value_pool(1),
    )
}

pub(super) fn every_ms(start: u64) -> Option<Schedule> {
    Some(Schedule::new(Distribution::Fixed(0.001), start, 1))
}

/// Answers every complete request in the connection's tx buffer with a miss.
pub(super) fn serve_all(c: &mut Connection, now: u64) -> usize {
    let n = c.tx_pending().windows(2).filter(|w| w == b"\r\n").count();
    let len = c.tx_pending().len();
    c.tx_advance(len);
    c.on_rx(&b"END\r\n".repeat(n), now).unwrap();
    n
}

#[test]
fn pipeline_depth_bounds_outstanding_and_the_rest_waits() {
    let w = Window {
        start_ns: 0,
        measure_ns: 0,
        end_ns: 100 * MS,
    };
    let mut c = Connection::new(Protocol::Ascii, 2, w, every_ms(0), gen(), false);
    c.tick(10 * MS); // 10 arrivals due
    assert_eq!(c.outstanding(), 2);
    assert_eq!(
        c.tx_pending().windows(2).filter(|w| w == b"\r\n").count(),
        2
    );
    assert_eq!(serve_all(&mut c, 10 * MS), 2);
    c.tick(10 * MS);
    assert_eq!(c.outstanding(), 2, "the backlog refills the pipeline");
}

#[test]
fn latency_counts_from_the_schedule_not_the_send() {
    // One request every ms, depth 1, a server that answers at once except that it
    // stalls 50 ms on the request scheduled at 10 ms.
    let w = Window {
        start_ns: 0,
        measure_ns: 0,
        end_ns: 100 * MS,
    };
    let mut c = Connection::new(Protocol::Ascii, 1, w, every_ms(0), gen(), false);
    let mut now = 0;
    while !c.is_done(now) {
        c.tick(now);
        if c.outstanding() > 0 && !(10 * MS..60 * MS).contains(&now) {
            serve_all(&mut c, now);
            continue; // the freed slot is refilled at the same instant
        }
        now += MS / 10;
        if now > 200 * MS {
            break;
        }
    }
    let s = c.finish();
    assert_eq!(
        s.counts.gets + s.counts.skipped,
        99,
        "arrivals at 1..=99 ms"
    );
    assert_eq!(s.counts.skipped, 0);
    assert_eq!(s.counts.misses, s.counts.gets);
    // From the schedule: the 50 requests scheduled during the stall waited 0-50 ms.
    assert!(
        s.get.percentile(90.0) >= 5 * MS,
        "p90 {}",
        s.get.percentile(90.0)
    );
    assert!(s.get.max() >= 49 * MS);
    // From the send: only the one request in flight saw the stall.
    assert!(s.get_from_send.percentile(98.0) < MS / 10);
    assert!(s.get_from_send.max() >= 49 * MS);
}

#[test]
fn closed_loop_keeps_the_pipeline_full_within_the_window() {
    let w = Window {
        start_ns: 5 * MS,
        measure_ns: 5 * MS,
        end_ns: 10 * MS,
    };
    let mut c = Connection::new(Protocol::Ascii, 4, w, None, gen(), false);
    c.tick(MS);
    assert_eq!(c.outstanding(), 0, "nothing before the window");
    c.tick(5 * MS);
    assert_eq!(c.outstanding(), 4);
    serve_all(&mut c, 6 * MS);
    c.tick(6 * MS);
    assert_eq!(c.outstanding(), 4);
    serve_all(&mut c, 10 * MS);
    c.tick(10 * MS);
    assert!(c.is_done(10 * MS), "nothing sent at the end");
    let s = c.finish();
    assert_eq!(s.counts.gets, 8);
    assert_eq!(s.op_q.max(), 4);
}

#[test]
fn warm_up_is_not_measured_and_unanswered_requests_are_skipped() {
    let w = Window {
        start_ns: 0,
        measure_ns: 50 * MS,
        end_ns: 100 * MS,
    };
    let mut c = Connection::new(Protocol::Ascii, 1000, w, every_ms(0), gen(), true);
    c.tick(60 * MS);
    serve_all(&mut c, 60 * MS); // 60 answered, 11 (50..=60 ms) measured
    c.tick(100 * MS); // 39 more (61..=99), none answered
    let s = c.finish();
    assert_eq!(s.counts.gets, 11);
    assert_eq!(s.counts.skipped, 39);
    assert_eq!(s.samples.as_ref().map(Vec::len), Some(11));
}

#[test]
fn loader_sets_every_record_once() {
    let mut c = Connection::loader(Protocol::Ascii, 8, 10, 30, gen());
    let mut now = 0;
    while !c.is_done(now) {
        c.tick(now);
        let n = c.tx_pending().windows(2).filter(|w| w == b"\r\n").count() / 2;
        let len = c.tx_pending().len();
        c.tx_advance(len);
        c.on_rx(&b"STORED\r\n".repeat(n), now).unwrap();
        now += 1;
    }
    assert_eq!(c.loaded(), 20);
}

#[test]
fn a_reply_nobody_asked_for_is_an_error() {
    let w = Window {
        start_ns: 0,
        measure_ns: 0,
        end_ns: MS,
    };
    let mut c = Connection::new(Protocol::Ascii, 1, w, None, gen(), false);
    assert!(c.on_rx(b"END\r\n", 0).is_err());
}

#[test]
fn wakes_for_the_start_each_arrival_and_the_end() {
    let w = Window {
        start_ns: 5 * MS,
        measure_ns: 5 * MS,
        end_ns: 10 * MS,
    };
    let closed = Connection::new(Protocol::Ascii, 1, w, None, gen(), false);
    assert_eq!(closed.next_wakeup(0), Some(5 * MS));
    assert_eq!(closed.next_wakeup(6 * MS), Some(10 * MS));
    assert_eq!(closed.next_wakeup(10 * MS), None);
    let mut open = Connection::new(Protocol::Ascii, 1, w, every_ms(5 * MS), gen(), false);
    assert_eq!(open.next_wakeup(5 * MS), Some(6 * MS));
    open.tick(9 * MS + 1);
    assert_eq!(
        open.next_wakeup(9 * MS + 1),
        Some(10 * MS),
        "the end, not an arrival past it"
    );
}

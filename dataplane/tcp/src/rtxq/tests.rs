//! Unit tests of the retransmission queue: counts, SACK splitting, loss marks, RACK.

use super::*;
use std::time::Duration;

fn t(us: u64) -> Instant {
    Instant::from_nanos(us * 1000)
}

/// Ten 100-byte segments from `base`, sent 1 µs apart.
fn ten(base: Seq) -> RtxQueue {
    let mut q = RtxQueue::with_capacity(4);
    for k in 0..10u32 {
        q.push(
            base.add(k * 100),
            base.add(k * 100 + 100),
            t(u64::from(k)),
            false,
        );
    }
    q
}

#[test]
fn sack_ack_and_pipe() {
    let base = Seq(u32::MAX - 250);
    let mut q = ten(base);
    assert_eq!((q.total_bytes(), q.pipe()), (1000, 1000));
    let mut seen = Vec::new();
    // SACK of segments 3..5 plus half of 6 (ignored: not whole).
    let n = q.sack(base.add(300), base.add(650), 10, |r| seen.push(r.start));
    assert_eq!(n, 300);
    assert_eq!(seen, vec![base.add(300), base.add(400), base.add(500)]);
    assert_eq!((q.sacked_bytes(), q.sacked_segs(), q.pipe()), (300, 3, 700));
    assert_eq!(
        q.sack(base.add(300), base.add(600), 10, |_| {}),
        0,
        "nothing new"
    );
    // Cumulative ACK to 150: segment 0 delivered, segment 1 trimmed.
    seen.clear();
    q.ack(base.add(150), |r| seen.push(r.start));
    assert_eq!(seen, vec![base]);
    assert_eq!(q.front().unwrap().start, base.add(150));
    assert_eq!(q.total_bytes(), 850);
    // ACK past the SACKed ones: they are not reported again.
    seen.clear();
    q.ack(base.add(600), |r| seen.push(r.start));
    assert_eq!(seen, vec![base.add(150), base.add(200)]);
    assert_eq!((q.sacked_bytes(), q.total_bytes(), q.len()), (0, 400, 4));
    assert_eq!(q.find(base.add(650)), Some(0));
    assert_eq!(q.find(base.add(999)), Some(3));
    assert_eq!(q.find(base.add(1000)), None);
}

#[test]
fn a_block_across_segment_edges_splits_them() {
    let base = Seq(0);
    let mut q = ten(base);
    // [650, 750) covers the second half of 6 and the first of 7.
    let mut seen = Vec::new();
    assert_eq!(
        q.sack(base.add(650), base.add(750), 16, |r| seen
            .push((r.start, r.end))),
        100
    );
    assert_eq!(seen, vec![(Seq(650), Seq(700)), (Seq(700), Seq(750))]);
    assert_eq!(q.len(), 12);
    assert_eq!(
        (q.sacked_bytes(), q.sacked_segs(), q.total_bytes()),
        (100, 2, 1000)
    );
    let r6 = *q.get(q.find(base.add(600)).unwrap()).unwrap();
    assert_eq!(
        (r6.start, r6.end, r6.is_sacked()),
        (Seq(600), Seq(650), false)
    );
    // No room for more records: a partial block marks nothing more.
    assert_eq!(q.sack(base.add(50), base.add(150), 12, |_| {}), 0);
    assert_eq!(q.sack(base.add(0), base.add(100), 12, |_| {}), 100, "whole");
}

#[test]
fn lost_retransmitted_and_pipe() {
    let base = Seq(1000);
    let mut q = ten(base);
    q.sack(base.add(500), base.add(1000), 10, |_| {});
    assert!(q.mark_lost(1));
    assert!(!q.mark_lost(1), "once");
    assert!(!q.mark_lost(6), "SACKed segments are not lost");
    assert!(q.mark_lost(3));
    assert_eq!((q.lost_bytes(), q.pipe()), (200, 300));
    assert_eq!(q.next_lost(), Some(1));
    q.retransmitted(1, t(50));
    assert_eq!(q.pipe(), 400, "the retransmission is in flight");
    assert_eq!(q.next_lost(), Some(3));
    q.retransmitted(3, t(51));
    assert_eq!(q.next_lost(), None);
    // The retransmission of 1 is lost in turn.
    assert!(q.mark_lost(1));
    assert_eq!(q.next_lost(), Some(1));
    assert_eq!(q.pipe(), 400);
    // An RTO: everything not SACKed is lost, nothing is in flight.
    q.mark_all_lost();
    assert_eq!((q.lost_bytes(), q.rtx_bytes(), q.pipe()), (500, 0, 0));
    assert_eq!(q.next_lost(), Some(0));
    q.clear_sacks();
    assert_eq!((q.sacked_bytes(), q.pipe()), (0, 500));
}

#[test]
fn rack_marks_by_time_and_reports_the_wait() {
    let base = Seq(0);
    let mut q = ten(base);
    // Segment 5 (sent at 5 µs) delivered; wait 10 µs; now 12 µs: segments
    // 0..=2 (sent at 0..=2) are lost, 3 and 4 have 1 and 2 µs left.
    q.sack(base.add(500), base.add(600), 10, |_| {});
    let d = q.detect_lost(t(5), base.add(600), Duration::from_micros(10), t(12));
    assert_eq!(d.lost, 3);
    assert_eq!(d.wait, Some(Duration::from_micros(2)));
    assert_eq!(q.lost_bytes(), 300);
    // Later, the retransmission of 0 (sent at 20 µs) is outrun by a delivery of
    // a segment sent after it: it is lost again.
    q.retransmitted(0, t(20));
    q.retransmitted(1, t(20));
    q.retransmitted(2, t(20));
    q.push(base.add(1000), base.add(1100), t(21), false);
    q.sack(base.add(1000), base.add(1100), 11, |_| {});
    let d = q.detect_lost(t(21), base.add(1100), Duration::ZERO, t(40));
    assert_eq!((d.lost, d.rtx_lost), (9, 3), "0-2 again, 3-4 and 6-9");
    assert_eq!(d.wait, None);
}

#[test]
fn split_keeps_the_counts() {
    let mut q = RtxQueue::with_capacity(2);
    q.push(Seq(0), Seq(1001), t(0), true);
    q.mark_all_lost();
    q.retransmitted(0, t(1));
    q.split(0, 400, 8);
    assert_eq!(q.len(), 2);
    let (a, b) = (*q.get(0).unwrap(), *q.get(1).unwrap());
    assert_eq!((a.start, a.end, a.has_fin()), (Seq(0), Seq(400), false));
    assert_eq!((b.start, b.end, b.has_fin()), (Seq(400), Seq(1001), true));
    assert_eq!(b.data_len(), 600);
    // The tail was not sent: it is lost, not in flight.
    assert_eq!(
        (q.lost_bytes(), q.rtx_bytes(), q.total_bytes()),
        (1001, 400, 1001)
    );
    assert_eq!(q.next_lost(), Some(1));
    assert_eq!(q.pipe(), 400);
}

//! The retransmission queue: one record per segment sent and not yet cumulatively
//! acknowledged, in sequence order, with when it was last sent and what is known of
//! it: SACKed (RFC 2018), deemed lost (RACK, RFC 8985; an RTO; NewReno's partial
//! ACKs), retransmitted.
//!
//! The payload itself stays in the send queue; a record is only a sequence range and
//! a time, so loss detection can reason per segment and in time (RACK: "a segment
//! sent before one that was delivered, and not delivered within a reordering window,
//! is lost") and recovery can resend exactly the segments that need it. It keeps the
//! byte counts RFC 6675's pipe needs, updated as records change:
//!
//! `pipe = sent - sacked - lost + retransmitted-in-flight`
//!
//! (a lost segment is not in the network; its retransmission is, until it is
//! delivered or deemed lost in turn), so the pipe costs nothing to ask for.
//!
//! Bounded: the queue holds at most the number of records its owner allows (the
//! sender stops sending new data when it is full); its deque keeps its capacity when
//! a connection slot is reused, so a warm engine does not allocate here.

use crate::seq::Seq;
use ix_nic::Instant;
use std::collections::VecDeque;
use std::time::Duration;

/// The peer reported holding the whole segment (SACK).
const SACKED: u8 = 1;
/// Deemed lost: to be retransmitted (if `RTX` is not set) or retransmitted already.
const LOST: u8 = 2;
/// A retransmission of the segment is in flight (counted in the pipe).
const RTX: u8 = 4;
/// Retransmitted at least once (RACK ignores ambiguous samples of such segments).
const EVER_RTX: u8 = 8;
/// The segment carries our FIN (the last sequence number of the range).
const FIN: u8 = 16;

/// One segment sent and not yet cumulatively acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegRec {
    /// First sequence number.
    pub start: Seq,
    /// One past the last sequence number (a FIN counts as one).
    pub end: Seq,
    /// When it was last (re)transmitted.
    pub xmit: Instant,
    flags: u8,
}

impl SegRec {
    /// Sequence numbers covered (payload, plus one for a FIN).
    pub fn len(&self) -> u32 {
        self.end.since(self.start)
    }

    /// Whether the record covers no sequence number (never kept).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Payload bytes.
    pub fn data_len(&self) -> u32 {
        self.len().saturating_sub(u32::from(self.has_fin()))
    }

    /// Whether the peer SACKed it.
    pub fn is_sacked(&self) -> bool {
        self.flags & SACKED != 0
    }

    /// Whether it is deemed lost.
    pub fn is_lost(&self) -> bool {
        self.flags & LOST != 0
    }

    /// Whether a retransmission of it is in flight.
    pub fn rtx_in_flight(&self) -> bool {
        self.flags & RTX != 0
    }

    /// Whether it was ever retransmitted.
    pub fn retransmitted(&self) -> bool {
        self.flags & EVER_RTX != 0
    }

    /// Whether it carries our FIN.
    pub fn has_fin(&self) -> bool {
        self.flags & FIN != 0
    }

    /// Whether recovery must (re)send it: lost, not SACKed, no retransmission out.
    pub fn needs_rtx(&self) -> bool {
        self.flags & (SACKED | LOST | RTX) == LOST
    }

    /// What it adds to the queue's (sacked, lost, retransmitted) byte counts.
    fn weight(&self) -> (u32, u32, u32) {
        let n = self.len();
        if self.is_sacked() {
            (n, 0, 0)
        } else {
            (
                0,
                if self.is_lost() { n } else { 0 },
                if self.rtx_in_flight() { n } else { 0 },
            )
        }
    }
}

/// Whether a transmission at (`t1`, ending at `s1`) happened after one at
/// (`t2`, `s2`): later in time, or at the same instant and later in sequence
/// (RFC 8985's RACK_sent_after).
pub fn sent_after(t1: Instant, s1: Seq, t2: Instant, s2: Seq) -> bool {
    t1 > t2 || (t1 == t2 && s1.gt(s2))
}

/// What [`RtxQueue::detect_lost`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Detection {
    /// Segments newly deemed lost.
    pub lost: u32,
    /// Of those, segments whose retransmission was deemed lost.
    pub rtx_lost: u32,
    /// The longest time some segment still has before it can be deemed lost (arm
    /// the reordering timer for it), if any has.
    pub wait: Option<Duration>,
}

/// Segments sent and not cumulatively acknowledged, lowest sequence first.
#[derive(Debug, Default)]
pub struct RtxQueue {
    recs: VecDeque<SegRec>,
    /// Sequence numbers covered by all records.
    total: u32,
    sacked: u32,
    sacked_segs: u32,
    /// Lost and not SACKed.
    lost: u32,
    /// Retransmitted, in flight, not SACKed.
    rtx: u32,
    /// End of the highest record with a retransmission in flight (while `rtx > 0`).
    rtx_high: Seq,
    /// No record below this index needs a retransmission.
    lost_hint: usize,
}

impl RtxQueue {
    /// An empty queue with room reserved for `n` records.
    pub fn with_capacity(n: usize) -> Self {
        RtxQueue {
            recs: VecDeque::with_capacity(n),
            ..RtxQueue::default()
        }
    }

    /// Forgets every record; keeps the capacity.
    pub fn clear(&mut self) {
        self.recs.clear();
        self.total = 0;
        self.sacked = 0;
        self.sacked_segs = 0;
        self.lost = 0;
        self.rtx = 0;
        self.lost_hint = 0;
    }

    /// Records held.
    pub fn len(&self) -> usize {
        self.recs.len()
    }

    /// Whether nothing is outstanding.
    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    /// The record at `idx` (0: lowest sequence).
    pub fn get(&self, idx: usize) -> Option<&SegRec> {
        self.recs.get(idx)
    }

    /// The lowest record.
    pub fn front(&self) -> Option<&SegRec> {
        self.recs.front()
    }

    /// The highest record.
    pub fn back(&self) -> Option<&SegRec> {
        self.recs.back()
    }

    /// Every record, lowest first.
    pub fn iter(&self) -> impl Iterator<Item = &SegRec> + '_ {
        self.recs.iter()
    }

    /// Sequence numbers outstanding (every record).
    pub fn total_bytes(&self) -> u32 {
        self.total
    }

    /// Sequence numbers SACKed.
    pub fn sacked_bytes(&self) -> u32 {
        self.sacked
    }

    /// Segments SACKed.
    pub fn sacked_segs(&self) -> u32 {
        self.sacked_segs
    }

    /// Sequence numbers deemed lost and not SACKed (retransmitted or not).
    pub fn lost_bytes(&self) -> u32 {
        self.lost
    }

    /// Sequence numbers of retransmissions in flight.
    pub fn rtx_bytes(&self) -> u32 {
        self.rtx
    }

    /// RFC 6675's pipe: what is in the network (see the module documentation).
    pub fn pipe(&self) -> u32 {
        self.total
            .saturating_sub(self.sacked)
            .saturating_sub(self.lost)
            .saturating_add(self.rtx)
    }

    /// Whether anything beyond in-order, never-retransmitted segments is known: only
    /// then can a delivery imply a loss, and loss detection has work to do.
    pub fn needs_detection(&self) -> bool {
        self.sacked > 0 || self.lost > 0 || self.rtx > 0
    }

    fn add_weight(&mut self, r: &SegRec) {
        let (s, l, x) = r.weight();
        self.sacked += s;
        self.sacked_segs += u32::from(r.is_sacked());
        self.lost += l;
        self.rtx += x;
        if x > 0 && (self.rtx == x || r.end.gt(self.rtx_high)) {
            self.rtx_high = r.end;
        }
    }

    fn sub_weight(&mut self, r: &SegRec) {
        let (s, l, x) = r.weight();
        self.sacked = self.sacked.saturating_sub(s);
        self.sacked_segs = self.sacked_segs.saturating_sub(u32::from(r.is_sacked()));
        self.lost = self.lost.saturating_sub(l);
        self.rtx = self.rtx.saturating_sub(x);
    }

    /// Changes the flags of the record at `idx`, keeping the counts.
    fn set_flags(&mut self, idx: usize, set: u8, clear: u8) {
        let Some(old) = self.recs.get(idx).copied() else {
            return;
        };
        self.sub_weight(&old);
        let mut new = old;
        new.flags = (old.flags | set) & !clear;
        self.add_weight(&new);
        self.recs[idx] = new;
        if new.needs_rtx() {
            self.lost_hint = self.lost_hint.min(idx);
        }
    }

    /// Records a new segment `[start, end)` sent at `now` (`fin`: it carries the FIN).
    pub fn push(&mut self, start: Seq, end: Seq, now: Instant, fin: bool) {
        if !start.lt(end) {
            return;
        }
        let r = SegRec {
            start,
            end,
            xmit: now,
            flags: if fin { FIN } else { 0 },
        };
        self.total += r.len();
        self.recs.push_back(r);
    }

    /// The record holding sequence number `s`.
    pub fn find(&self, s: Seq) -> Option<usize> {
        let i = self.recs.partition_point(|r| r.end.le(s));
        self.recs
            .get(i)
            .is_some_and(|r| r.start.le(s) && s.lt(r.end))
            .then_some(i)
    }

    /// The cumulative acknowledgment moved to `una`: records wholly below it are
    /// dropped, a record it splits is trimmed. `delivered` is called for every record
    /// newly found delivered (not SACKed before), with the record as it was sent.
    pub fn ack(&mut self, una: Seq, mut delivered: impl FnMut(&SegRec)) {
        let mut popped = 0;
        while let Some(r) = self.recs.front().copied() {
            if r.end.le(una) {
                if r.flags & (SACKED | LOST | RTX) != 0 {
                    self.sub_weight(&r);
                }
                self.total = self.total.saturating_sub(r.len());
                self.recs.pop_front();
                popped += 1;
                if !r.is_sacked() {
                    delivered(&r);
                }
                continue;
            }
            if r.start.lt(una) {
                // Part of it is acknowledged (the peer trimmed it, or a window
                // probe's byte): what is left keeps its state.
                self.sub_weight(&r);
                let mut t = r;
                t.start = una;
                self.total = self.total.saturating_sub(r.len() - t.len());
                self.add_weight(&t);
                self.recs[0] = t;
            }
            break;
        }
        self.lost_hint = self.lost_hint.saturating_sub(popped);
        if self.rtx == 0 {
            self.rtx_high = una;
        }
    }

    /// The peer SACKed `[l, r)`: every record inside is marked; a record the block
    /// covers only in part is split at the block's edge first (when the queue has
    /// room for another of its `max` records; else that part stays unmarked).
    /// `delivered` is called for each newly SACKed record (as it was sent). Returns
    /// the bytes newly SACKed.
    pub fn sack(&mut self, l: Seq, r: Seq, max: usize, mut delivered: impl FnMut(&SegRec)) -> u32 {
        if !l.lt(r) {
            return 0;
        }
        let mut i = self.recs.partition_point(|x| x.end.le(l));
        let mut n = 0;
        while let Some(rec) = self.recs.get(i).copied() {
            if !rec.start.lt(r) {
                break;
            }
            if rec.is_sacked() {
                i += 1;
                continue;
            }
            if rec.start.lt(l) {
                // The part below the block is not SACKed: split it off (the part
                // above it comes next), or leave the record unmarked.
                self.split_at(i, l.since(rec.start), max);
                i += 1;
                continue;
            }
            if r.lt(rec.end) && !self.split_at(i, r.since(rec.start), max) {
                break;
            }
            let rec = self.recs[i];
            // A SACKed segment needs nothing more: not lost, nothing in flight.
            self.set_flags(i, SACKED, LOST | RTX);
            n += rec.len();
            delivered(&rec);
            i += 1;
        }
        n
    }

    /// Forgets every SACK mark (the receiver reneged: RFC 2018 section 8).
    pub fn clear_sacks(&mut self) {
        for i in 0..self.recs.len() {
            if self.recs[i].is_sacked() {
                self.set_flags(i, 0, SACKED);
            }
        }
    }

    /// Marks the record at `idx` lost (its retransmission, if one is out, too).
    /// Returns whether it changed.
    pub fn mark_lost(&mut self, idx: usize) -> bool {
        match self.recs.get(idx) {
            Some(r) if !r.is_sacked() && !r.needs_rtx() => {
                self.set_flags(idx, LOST, RTX);
                true
            }
            _ => false,
        }
    }

    /// Marks every record not SACKed lost, retransmissions included (an RTO).
    pub fn mark_all_lost(&mut self) {
        for i in 0..self.recs.len() {
            self.mark_lost(i);
        }
        self.lost_hint = 0;
    }

    /// The first record recovery must (re)send, if any.
    pub fn next_lost(&mut self) -> Option<usize> {
        if self.lost == 0 {
            return None;
        }
        let mut i = self.lost_hint;
        while let Some(r) = self.recs.get(i) {
            if r.needs_rtx() {
                self.lost_hint = i;
                return Some(i);
            }
            i += 1;
        }
        self.lost_hint = i;
        None
    }

    /// The record at `idx` was retransmitted at `now`.
    pub fn retransmitted(&mut self, idx: usize, now: Instant) {
        if idx >= self.recs.len() {
            return;
        }
        self.set_flags(idx, RTX | EVER_RTX, 0);
        self.recs[idx].xmit = now;
    }

    /// Splits the record at `idx` in two, the first covering `len` sequence numbers,
    /// both with its state (the FIN, if any, goes with the second). False if `len`
    /// does not split it or the queue already holds `max` records.
    fn split_at(&mut self, idx: usize, len: u32, max: usize) -> bool {
        let Some(r) = self.recs.get(idx).copied() else {
            return false;
        };
        if len == 0 || len >= r.len() || self.recs.len() >= max {
            return false;
        }
        let mut a = r;
        let mut b = r;
        a.end = r.start.add(len);
        a.flags &= !FIN;
        b.start = a.end;
        // The halves weigh what the whole did.
        self.sub_weight(&r);
        self.add_weight(&a);
        self.add_weight(&b);
        self.recs[idx] = a;
        self.recs.insert(idx + 1, b);
        if idx < self.lost_hint {
            self.lost_hint += 1;
        }
        true
    }

    /// The retransmission of record `idx` carried only its first `len` sequence
    /// numbers: the rest becomes a record of its own, lost and not in flight, to be
    /// resent. If the queue has no room for it (`max` records) the whole record
    /// stays in flight, and loss detection or the timer finds the missing part.
    pub fn split(&mut self, idx: usize, len: u32, max: usize) {
        if self.split_at(idx, len, max) {
            self.set_flags(idx + 1, LOST, RTX);
        }
    }

    /// RACK's loss detection (RFC 8985 6.2 step 5): every segment not delivered and
    /// sent before the most recently delivered one (`rack_xmit`, `rack_end`) is lost
    /// if `wait` (RACK.rtt + reordering window) has passed since it was sent; the
    /// others report how long they have left.
    pub fn detect_lost(
        &mut self,
        rack_xmit: Instant,
        rack_end: Seq,
        wait: Duration,
        now: Instant,
    ) -> Detection {
        let mut d = Detection::default();
        let rtx_high = if self.rtx > 0 {
            Some(self.rtx_high)
        } else {
            None
        };
        for i in 0..self.recs.len() {
            let r = self.recs[i];
            if r.is_sacked() || r.needs_rtx() {
                continue;
            }
            if !sent_after(rack_xmit, rack_end, r.xmit, r.end) {
                // Sent after the newest delivery: nothing to conclude. Records above
                // every retransmission were sent in sequence order, so the rest were
                // sent later still.
                if rtx_high.is_none_or(|h| r.start.ge(h)) {
                    break;
                }
                continue;
            }
            let due = r.xmit.saturating_add(wait);
            if due <= now {
                if r.rtx_in_flight() {
                    d.rtx_lost += 1;
                }
                self.set_flags(i, LOST, RTX);
                d.lost += 1;
            } else {
                let left = due.saturating_since(now);
                d.wait = Some(d.wait.map_or(left, |w| w.max(left)));
            }
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

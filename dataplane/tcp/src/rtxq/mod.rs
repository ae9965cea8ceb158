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
//!
//! Layout: this file holds the queue itself (records in order, the byte counts,
//! sending, the cumulative ACK, splitting a record); [`SegRec`] and its state bits
//! are in `record`, SACK marking in `sack`, loss marking and RACK's scan in `loss`.

mod loss;
mod record;
mod sack;
#[cfg(test)]
mod tests;

pub use loss::{sent_after, Detection};
pub use record::SegRec;

use crate::seq::Seq;
use ix_nic::Instant;
use record::{FIN, LOST, RTX, SACKED};
use std::collections::VecDeque;

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

    /// Adds `r`'s state to the byte counts (`r` is, or is about to be, in the queue).
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

    /// Takes `r`'s state out of the byte counts (`r` was counted by `add_weight`).
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
}

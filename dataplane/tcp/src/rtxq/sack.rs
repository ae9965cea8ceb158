//! SACK marks on the retransmission queue (RFC 2018): marking what a block covers,
//! splitting records at a block's edges, forgetting the marks when the receiver
//! reneges.

use super::record::{LOST, RTX, SACKED};
use super::{RtxQueue, SegRec};
use crate::seq::Seq;

impl RtxQueue {
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
}

//! One record of the retransmission queue: a segment's sequence range, when it was
//! last sent, and its state bits (SACKed, lost, retransmission in flight, ever
//! retransmitted, carries the FIN).

use crate::seq::Seq;
use ix_nic::Instant;

/// The peer reported holding the whole segment (SACK).
pub(super) const SACKED: u8 = 1;
/// Deemed lost: to be retransmitted (if `RTX` is not set) or retransmitted already.
pub(super) const LOST: u8 = 2;
/// A retransmission of the segment is in flight (counted in the pipe).
pub(super) const RTX: u8 = 4;
/// Retransmitted at least once (RACK ignores ambiguous samples of such segments).
pub(super) const EVER_RTX: u8 = 8;
/// The segment carries our FIN (the last sequence number of the range).
pub(super) const FIN: u8 = 16;

/// One segment sent and not yet cumulatively acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegRec {
    /// First sequence number.
    pub start: Seq,
    /// One past the last sequence number (a FIN counts as one).
    pub end: Seq,
    /// When it was last (re)transmitted.
    pub xmit: Instant,
    /// State bits (`SACKED`, `LOST`, ...); changed only through the queue, which
    /// keeps its byte counts in step.
    pub(super) flags: u8,
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
    pub(super) fn weight(&self) -> (u32, u32, u32) {
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

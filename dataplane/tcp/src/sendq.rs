//! The send queue: application payload held by reference until acknowledged.
//!
//! Each piece is a [`SharedBuf`] plus a byte range of it, exactly as the application
//! passed it to `send`; nothing is copied. Transmissions attach sub-ranges of pieces
//! to fresh frames, so a retransmission re-attaches the same bytes and no ring is
//! ever rewritten. Bounded in bytes and in pieces; the deque keeps its capacity when
//! a connection slot is reused, so a warm engine does not allocate here.

use crate::seq::Seq;
use core::ops::Range;
use ix_nic::SharedBuf;
use std::collections::VecDeque;

#[derive(Debug, Clone)]
struct Piece<S> {
    buf: S,
    start: u32,
    end: u32,
}

impl<S> Piece<S> {
    /// Bytes of the buffer this piece covers.
    fn len(&self) -> u32 {
        self.end - self.start
    }
}

/// Unacknowledged payload, in sequence order from `head_seq`.
#[derive(Debug)]
pub struct SendQueue<S> {
    pieces: VecDeque<Piece<S>>,
    head_seq: Seq,
    len: u32,
    /// Where the last lookup ended: (index of a piece, the sequence of its first
    /// byte). Sending walks forward from here instead of from the head.
    hint: (usize, Seq),
}

impl<S: SharedBuf> SendQueue<S> {
    /// An empty queue with room reserved for `pieces` pieces.
    pub fn with_capacity(pieces: usize) -> Self {
        SendQueue {
            pieces: VecDeque::with_capacity(pieces),
            head_seq: Seq(0),
            len: 0,
            hint: (0, Seq(0)),
        }
    }

    /// Empties the queue (releasing every buffer) and starts it at `seq`; keeps the
    /// capacity.
    pub fn reset(&mut self, seq: Seq) {
        self.pieces.clear();
        self.head_seq = seq;
        self.len = 0;
        self.hint = (0, seq);
    }

    /// Bytes queued (unsent and unacknowledged).
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Pieces queued.
    pub fn pieces(&self) -> usize {
        self.pieces.len()
    }

    /// The sequence number of the first queued byte.
    pub fn head_seq(&self) -> Seq {
        self.head_seq
    }

    /// The sequence number after the last queued byte.
    pub fn end_seq(&self) -> Seq {
        self.head_seq.add(self.len)
    }

    /// Queues `buf[range]` by reference, as far as `max_bytes` total and `max_pieces`
    /// allow; returns the bytes accepted (a prefix of the range). Assumes the range
    /// is within `buf` (checked by the caller).
    pub fn push(
        &mut self,
        buf: &S,
        range: Range<usize>,
        max_bytes: u32,
        max_pieces: usize,
    ) -> usize {
        let room = max_bytes.saturating_sub(self.len) as usize;
        let n = range.len().min(room);
        if n == 0 || self.pieces.len() >= max_pieces {
            return 0;
        }
        let (Ok(start), Ok(end)) = (u32::try_from(range.start), u32::try_from(range.start + n))
        else {
            return 0;
        };
        // Coalesce with the previous piece when it is the same buffer, contiguous.
        if let Some(last) = self.pieces.back_mut() {
            if last.end == start && core::ptr::eq(last.buf.data().as_ptr(), buf.data().as_ptr()) {
                last.end = end;
                self.len += n as u32;
                return n;
            }
        }
        self.pieces.push_back(Piece {
            buf: buf.clone(),
            start,
            end,
        });
        self.len += n as u32;
        n
    }

    /// Drops everything before `seq` (acknowledged); returns the bytes released.
    pub fn ack_to(&mut self, seq: Seq) -> u32 {
        let n = if seq.le(self.head_seq) {
            0
        } else {
            seq.since(self.head_seq).min(self.len)
        };
        let mut left = n;
        let mut popped = 0;
        while left > 0 {
            let Some(front) = self.pieces.front_mut() else {
                break;
            };
            let l = front.len();
            if l <= left {
                left -= l;
                self.pieces.pop_front();
                popped += 1;
            } else {
                front.start += left;
                left = 0;
            }
        }
        self.head_seq = self.head_seq.add(n);
        self.len -= n;
        // Pieces after the popped ones keep their sequence numbers; the front one may
        // have been trimmed, so a hint naming it must start at the new head.
        self.hint = if popped < self.hint.0 {
            (self.hint.0 - popped, self.hint.1)
        } else {
            (0, self.head_seq)
        };
        n
    }

    /// Calls `f(buf, range)` for each piece of `[from, from + len)`, in order, until
    /// `f` returns false; returns the bytes covered by the calls that returned true.
    /// Assumes `from` is within the queue (bytes past the end are not covered).
    pub fn for_range(
        &mut self,
        from: Seq,
        len: u32,
        mut f: impl FnMut(&S, Range<usize>) -> bool,
    ) -> u32 {
        if from.lt(self.head_seq) || from.ge(self.end_seq()) {
            return 0;
        }
        let (mut idx, mut seq) = if self.hint.1.le(from) && self.hint.0 < self.pieces.len() {
            self.hint
        } else {
            (0, self.head_seq)
        };
        // Walk to the piece holding `from`.
        while let Some(p) = self.pieces.get(idx) {
            if from.lt(seq.add(p.len())) {
                break;
            }
            seq = seq.add(p.len());
            idx += 1;
        }
        self.hint = (idx, seq);
        let mut done = 0;
        let mut at = from;
        while done < len {
            let Some(p) = self.pieces.get(idx) else {
                break;
            };
            let off = at.since(seq);
            // off < p.len() by the walk above; saturate rather than trust it.
            let take = p.len().saturating_sub(off).min(len - done);
            if take == 0 {
                break;
            }
            let s = (p.start + off) as usize;
            if !f(&p.buf, s..s + take as usize) {
                break;
            }
            done += take;
            at = at.add(take);
            seq = seq.add(p.len());
            idx += 1;
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ix_nic::heap::HeapPool;

    fn collect(q: &mut SendQueue<ix_nic::heap::HeapShared>, from: Seq, len: u32) -> Vec<u8> {
        let mut v = Vec::new();
        q.for_range(from, len, |b, r| {
            v.extend_from_slice(&b.data()[r]);
            true
        });
        v
    }

    #[test]
    fn bytes_come_back_by_sequence_across_pieces_and_acks() {
        let pool = HeapPool::new(8, 64);
        let a = pool.shared_from(b"hello ").unwrap();
        let b = pool.shared_from(b"xxworld!").unwrap();
        let mut q = SendQueue::with_capacity(4);
        let base = Seq(u32::MAX - 2);
        q.reset(base);
        assert_eq!(q.push(&a, 0..6, 100, 4), 6);
        assert_eq!(q.push(&b, 2..8, 100, 4), 6);
        assert_eq!(q.len(), 12);
        assert_eq!(collect(&mut q, base, 100), b"hello world!");
        assert_eq!(collect(&mut q, base.add(4), 4), b"o wo");
        assert_eq!(collect(&mut q, base.add(8), 4), b"rld!");
        assert_eq!(q.ack_to(base.add(7)), 7);
        assert_eq!(collect(&mut q, base.add(7), 100), b"orld!");
        assert_eq!(a.ref_count(), 1, "first piece released when acknowledged");
        assert_eq!(q.ack_to(base.add(100)), 5, "acks past the end clamp");
        assert!(q.is_empty());
        assert_eq!(b.ref_count(), 1);
    }

    #[test]
    fn bounded_by_bytes_and_pieces_and_coalesces() {
        let pool = HeapPool::new(8, 64);
        let a = pool.shared_from(&[1; 40]).unwrap();
        let mut q = SendQueue::with_capacity(2);
        q.reset(Seq(0));
        assert_eq!(q.push(&a, 0..10, 25, 2), 10);
        assert_eq!(q.push(&a, 10..20, 25, 2), 10);
        assert_eq!(q.pieces(), 1, "contiguous pushes of one buffer coalesce");
        assert_eq!(
            q.push(&a, 30..40, 25, 2),
            5,
            "partial accept at the byte bound"
        );
        assert_eq!(q.push(&a, 0..1, 100, 2), 0, "piece bound");
        assert_eq!(q.len(), 25);
        // A stopping callback covers only what it accepted.
        let mut calls = 0;
        let n = q.for_range(Seq(0), 25, |_, _| {
            calls += 1;
            calls == 1
        });
        assert_eq!(n, 20);
    }
}

//! A connection's send queue: the `SharedBuf` ranges `send` calls gave, held by
//! reference until the kernel has accepted their bytes.

use arrayvec::ArrayVec;
use core::ops::Range;
use ix_nic::SharedBuf;
use std::collections::VecDeque;
use std::io::IoSlice;

/// A connection's queue of payload references not yet accepted by the kernel.
///
/// Each entry keeps one reference to its buffer; when the kernel accepts bytes the
/// entries they cover are released (the buffer lives exactly until then).
#[derive(Debug)]
pub(crate) struct SendQueue<S: SharedBuf> {
    pieces: VecDeque<(S, Range<usize>)>,
    bytes: usize,
}

impl<S: SharedBuf> SendQueue<S> {
    /// An empty queue with room for `pieces` entries reserved.
    pub(crate) fn new(pieces: usize) -> Self {
        SendQueue {
            pieces: VecDeque::with_capacity(pieces),
            bytes: 0,
        }
    }

    /// Bytes queued.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether nothing is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// Queues as much of `buf[range]` as the bounds allow (keeping the reference
    /// given, no copy; dropping it if nothing fits); returns the bytes taken from the
    /// front of the range.
    pub(crate) fn push(
        &mut self,
        buf: S,
        range: Range<usize>,
        max_bytes: usize,
        max_pieces: usize,
    ) -> usize {
        if self.pieces.len() >= max_pieces {
            return 0;
        }
        let n = range.len().min(max_bytes.saturating_sub(self.bytes));
        if n > 0 {
            self.pieces.push_back((buf, range.start..range.start + n));
            self.bytes += n;
        }
        n
    }

    /// The queued bytes, oldest first, as at most `N` slices for one `sendmsg`.
    pub(crate) fn slices<const N: usize>(&self) -> ArrayVec<IoSlice<'_>, N> {
        self.pieces
            .iter()
            .take(N)
            .filter_map(|(b, r)| b.data().get(r.clone()))
            .map(IoSlice::new)
            .collect()
    }

    /// The kernel accepted `n` bytes from the front: releases the references they
    /// covered.
    pub(crate) fn consume(&mut self, n: usize) {
        let mut left = n.min(self.bytes);
        self.bytes -= left;
        while left > 0 {
            let Some((_, r)) = self.pieces.front_mut() else {
                break;
            };
            let k = left.min(r.len());
            r.start += k;
            left -= k;
            if r.start >= r.end {
                self.pieces.pop_front();
            }
        }
    }

    /// Drops every reference (the connection died).
    pub(crate) fn clear(&mut self) {
        self.pieces.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ix_nic::heap::HeapPool;

    /// The queue takes what fits the byte bound, gathers in order, and drops a
    /// buffer's reference once the kernel consumed its whole range.
    #[test]
    fn queue_takes_what_fits_and_releases_references_as_the_kernel_accepts() {
        let pool = HeapPool::new(4, 64);
        let a = pool.shared_from(b"0123456789").unwrap();
        let b = pool.shared_from(b"abcdef").unwrap();
        let mut q = SendQueue::new(4);
        assert_eq!(q.push(a.clone(), 2..10, 12, 3), 8);
        assert_eq!(q.push(b.clone(), 0..6, 12, 3), 4, "byte bound");
        assert_eq!(q.push(b.clone(), 4..6, 12, 3), 0, "full");
        assert_eq!(q.bytes(), 12);
        assert_eq!((a.ref_count(), b.ref_count()), (2, 2));
        let s = q.slices::<8>();
        let flat: Vec<u8> = s.iter().flat_map(|s| s.iter().copied()).collect();
        assert_eq!(flat, b"23456789abcd");
        drop(s);
        q.consume(5);
        assert_eq!(a.ref_count(), 2, "3 bytes of a still queued");
        q.consume(3);
        assert_eq!(a.ref_count(), 1, "a released once the kernel took it all");
        let flat: Vec<u8> = q
            .slices::<8>()
            .iter()
            .flat_map(|s| s.iter().copied())
            .collect();
        assert_eq!(flat, b"abcd");
        assert_eq!(q.push(b.clone(), 4..6, 12, 3), 2);
        q.clear();
        assert_eq!((q.bytes(), b.ref_count()), (0, 1));
    }

    /// The piece bound refuses further ranges; one `sendmsg` gathers at most `N` slices.
    #[test]
    fn piece_bound_and_slice_bound() {
        let pool = HeapPool::new(2, 64);
        let a = pool.shared_from(b"xy").unwrap();
        let mut q = SendQueue::new(4);
        for _ in 0..3 {
            assert_eq!(q.push(a.clone(), 0..2, 100, 3), 2);
        }
        assert_eq!(q.push(a.clone(), 0..2, 100, 3), 0, "piece bound");
        assert_eq!(q.slices::<2>().len(), 2);
        q.consume(100);
        assert!(q.is_empty());
        assert_eq!(a.ref_count(), 1);
    }
}

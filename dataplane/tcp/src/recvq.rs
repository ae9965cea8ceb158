//! In-order received data waiting for the application: the segments themselves
//! (zero copy), each already carrying the credit that reopens the window when the
//! application drops it. Bounded in count; the window bounds the bytes.

use ix_nic::{RxBuf, RxSeg};
use std::collections::VecDeque;

/// In-order segments not yet handed to the application, oldest first.
#[derive(Debug)]
pub struct RecvQueue<R: RxBuf> {
    segs: VecDeque<RxSeg<R>>,
}

impl<R: RxBuf> RecvQueue<R> {
    /// An empty queue with room reserved for `n` segments.
    pub fn with_capacity(n: usize) -> Self {
        RecvQueue {
            segs: VecDeque::with_capacity(n),
        }
    }

    /// Segments waiting.
    pub fn len(&self) -> usize {
        self.segs.len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.segs.is_empty()
    }

    /// Appends a segment; gives it back if `max` are already waiting.
    pub fn push(&mut self, seg: RxSeg<R>, max: usize) -> Result<(), RxSeg<R>> {
        if self.segs.len() >= max {
            return Err(seg);
        }
        self.segs.push_back(seg);
        Ok(())
    }

    /// The oldest segment.
    pub fn pop(&mut self) -> Option<RxSeg<R>> {
        self.segs.pop_front()
    }

    /// Releases every segment (their credits return to a ledger slot the caller
    /// is about to void); keeps the capacity.
    pub fn clear(&mut self) {
        self.segs.clear();
    }
}

//! Frames produced and not yet taken by the NIC: a burst plus a bounded backlog.
//!
//! Frames go out in order. The burst handed to [`Nic::tx_burst`] is an inline
//! [`Batch`] reused every time; frames the NIC refuses stay at its front for the next
//! try, and frames beyond a burst wait in a backlog whose capacity is reserved up
//! front. Past the bound, frames are refused (the caller counts the drop).

use ix_nic::{Batch, BufPool, Nic, BURST};
use std::collections::VecDeque;

/// Ordered, bounded frames awaiting transmission.
#[derive(Debug)]
pub struct TxQueue<F> {
    burst: Batch<F>,
    backlog: VecDeque<F>,
    bound: usize,
}

impl<F> TxQueue<F> {
    /// A queue holding one burst plus `backlog` frames more.
    pub fn new(backlog: usize) -> Self {
        TxQueue {
            burst: Batch::new(),
            backlog: VecDeque::with_capacity(backlog),
            bound: backlog,
        }
    }

    /// Queues `frame` last; hands it back if the queue is full.
    #[inline]
    pub fn push(&mut self, frame: F) -> Result<(), F> {
        if self.backlog.is_empty() {
            // Nothing waits behind the burst, so appending to it keeps the order.
            if let Err(e) = self.burst.try_push(frame) {
                return self.push_backlog(e.element());
            }
            return Ok(());
        }
        self.push_backlog(frame)
    }

    #[inline]
    fn push_backlog(&mut self, frame: F) -> Result<(), F> {
        if self.backlog.len() >= self.bound {
            return Err(frame);
        }
        // Below the capacity reserved in new(): no allocation.
        self.backlog.push_back(frame);
        Ok(())
    }

    /// Frames queued.
    pub fn len(&self) -> usize {
        self.burst.len() + self.backlog.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Frames that can still be queued.
    pub fn room(&self) -> usize {
        (BURST + self.bound).saturating_sub(self.len())
    }

    /// Hands frames to `nic` a burst at a time until the queue is empty or the NIC
    /// takes no more; returns how many it took.
    pub fn flush<N>(&mut self, nic: &mut N) -> usize
    where
        N: Nic,
        N::Pool: BufPool<Frame = F>,
    {
        let mut sent = 0;
        loop {
            while !self.burst.is_full() {
                match self.backlog.pop_front() {
                    Some(f) => self.burst.push(f),
                    None => break,
                }
            }
            if self.burst.is_empty() {
                return sent;
            }
            let before = self.burst.len();
            let took = nic.tx_burst(&mut self.burst).min(before);
            sent += took;
            if !self.burst.is_empty() || took == 0 {
                // The NIC's ring is full; the rest waits for the next poll.
                return sent;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TestNic;
    use ix_nic::heap::HeapPool;
    use ix_nic::TxFrame;

    fn frame(pool: &HeapPool, tag: u8) -> ix_nic::heap::HeapFrame {
        let mut f = pool.alloc_frame().unwrap();
        f.append(1).unwrap()[0] = tag;
        f
    }

    #[test]
    fn keeps_order_across_refusals_and_bounds_the_backlog() {
        let pool = HeapPool::new(256, 64);
        let mut nic = TestNic::new(pool.clone());
        let mut q = TxQueue::new(10);
        for i in 0..(BURST + 10) {
            assert!(q.push(frame(&pool, i as u8)).is_ok());
        }
        assert_eq!(q.room(), 0);
        assert!(q.push(frame(&pool, 0xff)).is_err());
        nic.tx_limit = 30;
        assert_eq!(q.flush(&mut nic), 30);
        assert_eq!(q.len(), BURST + 10 - 30);
        nic.tx_limit = usize::MAX;
        assert_eq!(q.flush(&mut nic), BURST + 10 - 30);
        assert!(q.is_empty());
        let tags: Vec<u8> = nic.sent.iter().map(|f| f[0]).collect();
        assert_eq!(tags, (0..(BURST + 10) as u8).collect::<Vec<_>>());
        assert_eq!(pool.stats().in_use(), 0);
    }
}

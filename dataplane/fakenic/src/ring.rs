//! A bounded FIFO with its whole capacity reserved up front, like a NIC's ring.

use std::collections::VecDeque;

/// Descriptors per ring unless the constructor is told otherwise (a common NIC default).
pub const DEFAULT_RING_DEPTH: usize = 1024;

/// A FIFO holding at most `depth` items; pushing never allocates.
#[derive(Debug)]
pub(crate) struct Ring<T> {
    items: VecDeque<T>,
    depth: usize,
}

impl<T> Ring<T> {
    /// An empty ring of `depth` slots, all reserved now; a depth of 0 refuses everything.
    pub(crate) fn new(depth: usize) -> Self {
        Ring {
            items: VecDeque::with_capacity(depth),
            depth,
        }
    }

    /// Appends `item`, or gives it back when the ring is full.
    pub(crate) fn push(&mut self, item: T) -> Result<(), T> {
        if self.is_full() {
            return Err(item);
        }
        self.items.push_back(item);
        Ok(())
    }

    /// Takes the oldest item.
    pub(crate) fn pop(&mut self) -> Option<T> {
        self.items.pop_front()
    }

    /// Items waiting.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Slots still free.
    pub(crate) fn space(&self) -> usize {
        self.depth - self.items.len()
    }

    /// Whether no slot is free.
    pub(crate) fn is_full(&self) -> bool {
        self.items.len() >= self.depth
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_and_bounded() {
        let mut r = Ring::new(2);
        assert_eq!(r.push(1), Ok(()));
        assert_eq!(r.push(2), Ok(()));
        assert_eq!(r.push(3), Err(3));
        assert_eq!((r.len(), r.space()), (2, 0));
        assert_eq!(r.pop(), Some(1));
        assert_eq!(r.pop(), Some(2));
        assert_eq!(r.pop(), None);
    }

    #[test]
    fn zero_depth_refuses_everything() {
        let mut r = Ring::new(0);
        assert_eq!(r.push(1), Err(1));
        assert_eq!(r.space(), 0);
    }

    #[test]
    fn never_reallocates_within_depth() {
        let mut r = Ring::new(100);
        let cap = r.items.capacity();
        for round in 0..3 {
            for i in 0..100 {
                assert!(r.push(round * 100 + i).is_ok());
            }
            while r.pop().is_some() {}
        }
        assert_eq!(r.items.capacity(), cap);
    }
}

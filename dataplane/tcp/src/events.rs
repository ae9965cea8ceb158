//! Work lists keyed by connection slot: which connections have events for the
//! application, and which have something to transmit.
//!
//! A slot is in a list at most once (a flag per slot), so a list never holds more
//! than `max_conns` entries and its capacity, reserved up front, is never exceeded.
//! Entries name slots, not connections: whoever pops one looks at the slot's current
//! occupant, so an entry left behind by a connection that died serves its successor.

use std::collections::VecDeque;

/// A FIFO of connection slots, each present at most once.
#[derive(Debug)]
pub struct SlotQueue {
    q: VecDeque<u32>,
    queued: Box<[bool]>,
}

impl SlotQueue {
    /// A queue for slots `0..slots`, with all memory reserved now.
    pub fn new(slots: usize) -> Self {
        SlotQueue {
            q: VecDeque::with_capacity(slots),
            queued: vec![false; slots].into_boxed_slice(),
        }
    }

    /// Appends `slot` unless it is queued already (or out of range).
    #[inline]
    pub fn push(&mut self, slot: u32) {
        if let Some(f) = self.queued.get_mut(slot as usize) {
            if !*f {
                *f = true;
                self.q.push_back(slot);
            }
        }
    }

    /// Takes the oldest slot.
    #[inline]
    pub fn pop(&mut self) -> Option<u32> {
        let s = self.q.pop_front()?;
        if let Some(f) = self.queued.get_mut(s as usize) {
            *f = false;
        }
        Some(s)
    }

    /// Slots queued.
    pub fn len(&self) -> usize {
        self.q.len()
    }

    /// Whether none is queued.
    pub fn is_empty(&self) -> bool {
        self.q.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_slot_once_in_order() {
        let mut q = SlotQueue::new(4);
        for s in [2, 1, 2, 3, 1, 9] {
            q.push(s);
        }
        assert_eq!(q.len(), 3);
        assert_eq!(q.pop(), Some(2));
        q.push(2);
        assert_eq!(
            (q.pop(), q.pop(), q.pop(), q.pop()),
            (Some(1), Some(3), Some(2), None)
        );
        assert!(q.is_empty());
    }
}

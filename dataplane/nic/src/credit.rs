//! Receive-window credit: IX's flow control, where a connection's receive window is
//! the buffer space its application has not yet released.
//!
//! Each connection owns a slot in its core's [`CreditLedger`]. Every received
//! segment handed to the application carries a [`Credit`] for its bytes; dropping the
//! segment returns them to the slot, and the TCP engine drains the returned bytes to
//! reopen the window. A slot's generation changes when the connection is reused, so a
//! late drop for a dead connection is ignored rather than crediting a stranger.
//!
//! Per core and single-threaded by design (`Rc`, `Cell`): no atomics, no locks.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    gen: u32,
    released: u32,
    queued: bool,
}

/// The per-core table of bytes released by applications, one slot per connection.
#[derive(Debug)]
pub struct CreditLedger {
    slots: Box<[Cell<Slot>]>,
    /// Slots with released bytes not yet drained; each slot at most once, so the
    /// capacity reserved up front is never exceeded (no allocation on release).
    pending: RefCell<Vec<u32>>,
}

impl CreditLedger {
    /// A ledger for `slots` connections, all closed.
    pub fn new(slots: usize) -> Rc<Self> {
        Rc::new(CreditLedger {
            slots: (0..slots).map(|_| Cell::new(Slot::default())).collect(),
            pending: RefCell::new(Vec::with_capacity(slots)),
        })
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Starts a new connection in `slot` and returns its generation; credits of any
    /// earlier generation are void from now on. Assumes `slot < capacity()`.
    pub fn open(&self, slot: u32) -> u32 {
        let Some(cell) = self.slots.get(slot as usize) else {
            return 0;
        };
        let gen = cell.get().gen.wrapping_add(1);
        // A pending entry of the old generation stays queued; draining skips it.
        cell.set(Slot {
            gen,
            released: 0,
            queued: cell.get().queued,
        });
        gen
    }

    /// Issues a credit for `bytes` received on `slot` in generation `gen`.
    pub fn credit(self: &Rc<Self>, slot: u32, gen: u32, bytes: u32) -> Credit {
        Credit {
            ledger: Rc::clone(self),
            slot,
            gen,
            bytes,
        }
    }

    /// Returns `bytes` to `slot` if it is still in generation `gen`.
    fn release(&self, slot: u32, gen: u32, bytes: u32) {
        let Some(cell) = self.slots.get(slot as usize) else {
            return;
        };
        let mut s = cell.get();
        if s.gen != gen {
            return;
        }
        s.released = s.released.saturating_add(bytes);
        if !s.queued {
            s.queued = true;
            self.pending.borrow_mut().push(slot);
        }
        cell.set(s);
    }

    /// Calls `f(slot, generation, bytes)` for every slot with released bytes and clears
    /// them; slots whose bytes were voided by a reopen are skipped.
    pub fn drain(&self, mut f: impl FnMut(u32, u32, u32)) {
        // Take the list out so `f` may drop segments (which push) without a borrow clash.
        let mut pending = std::mem::take(&mut *self.pending.borrow_mut());
        for &slot in pending.iter() {
            let Some(cell) = self.slots.get(slot as usize) else {
                continue;
            };
            let s = cell.get();
            cell.set(Slot {
                released: 0,
                queued: false,
                ..s
            });
            if s.released > 0 {
                f(slot, s.gen, s.released);
            }
        }
        pending.clear();
        let mut cur = self.pending.borrow_mut();
        // Keep whichever vector has the reserved capacity; push what `f` released.
        pending.extend(cur.drain(..));
        *cur = pending;
    }
}

/// Bytes of receive window owed back to a connection when a segment is released.
#[derive(Debug)]
pub struct Credit {
    ledger: Rc<CreditLedger>,
    slot: u32,
    gen: u32,
    bytes: u32,
}

impl Credit {
    /// The bytes this credit returns.
    pub fn bytes(&self) -> u32 {
        self.bytes
    }
}

impl Drop for Credit {
    fn drop(&mut self) {
        self.ledger.release(self.slot, self.gen, self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drained(l: &CreditLedger) -> Vec<(u32, u32, u32)> {
        let mut v = Vec::new();
        l.drain(|s, g, b| v.push((s, g, b)));
        v
    }

    #[test]
    fn dropped_credits_return_to_their_slot_once() {
        let l = CreditLedger::new(4);
        let g = l.open(2);
        let a = l.credit(2, g, 100);
        let b = l.credit(2, g, 50);
        assert!(drained(&l).is_empty());
        drop(a);
        drop(b);
        assert_eq!(drained(&l), vec![(2, g, 150)]);
        assert!(drained(&l).is_empty());
    }

    #[test]
    fn credits_of_a_closed_connection_are_void() {
        let l = CreditLedger::new(2);
        let g1 = l.open(0);
        let old = l.credit(0, g1, 10);
        let g2 = l.open(0);
        assert_ne!(g1, g2);
        drop(old);
        assert!(drained(&l).is_empty());
        drop(l.credit(0, g2, 7));
        assert_eq!(drained(&l), vec![(0, g2, 7)]);
    }

    #[test]
    fn pending_list_never_grows_past_capacity() {
        let l = CreditLedger::new(3);
        let gens: Vec<u32> = (0..3).map(|s| l.open(s)).collect();
        for _ in 0..10 {
            for s in 0..3u32 {
                drop(l.credit(s, gens[s as usize], 1));
            }
        }
        assert!(l.pending.borrow().capacity() >= 3);
        assert_eq!(l.pending.borrow().len(), 3);
        let total: u32 = drained(&l).iter().map(|x| x.2).sum();
        assert_eq!(total, 30);
    }

    #[test]
    fn out_of_range_slot_is_ignored() {
        let l = CreditLedger::new(1);
        assert_eq!(l.open(5), 0);
        drop(l.credit(5, 0, 3));
        assert!(drained(&l).is_empty());
    }
}

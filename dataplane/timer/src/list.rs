//! Intrusive doubly linked lists of slab indices, one per wheel slot plus the ready
//! list, and the per-level occupancy bitmaps that let `advance` skip empty
//! slots with one `trailing_zeros`.

use crate::geometry::{LEVELS, SLOTS};
use crate::slab::Entry;

/// "No entry": the end of a list.
pub(crate) const NIL: u32 = u32::MAX;

const SLOT_LISTS: usize = LEVELS * SLOTS;
const LISTS: usize = SLOT_LISTS + 1;

/// Which list an entry is in: a wheel slot or the ready list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ListId(u16);

impl ListId {
    /// Timers already due, delivered first by the next poll.
    pub(crate) const READY: ListId = ListId(SLOT_LISTS as u16);
    /// Not in any list (a free slot).
    pub(crate) const NONE: ListId = ListId(u16::MAX);

    /// The list of `slot` at `level`; both must be in range.
    pub(crate) const fn slot(level: usize, slot: usize) -> ListId {
        ListId((level * SLOTS + slot) as u16)
    }

    /// `(level, slot)` if this is a wheel slot's list.
    pub(crate) fn as_slot(self) -> Option<(usize, usize)> {
        let i = usize::from(self.0);
        (i < SLOT_LISTS).then_some((i / SLOTS, i % SLOTS))
    }
}

#[derive(Debug, Clone, Copy)]
struct Head {
    first: u32,
    last: u32,
}

const EMPTY: Head = Head {
    first: NIL,
    last: NIL,
};

/// Every list head plus one occupancy bitmap per level (bit `s` set iff slot `s` of that
/// level is non-empty).
#[derive(Debug)]
pub(crate) struct Lists {
    heads: [Head; LISTS],
    occupied: [u64; LEVELS],
}

impl Lists {
    /// All lists empty.
    pub(crate) fn new() -> Self {
        Lists {
            heads: [EMPTY; LISTS],
            occupied: [0; LEVELS],
        }
    }

    /// The occupancy bitmap of `level`.
    pub(crate) fn occupied(&self, level: usize) -> u64 {
        self.occupied[level]
    }

    /// Whether `list` is empty.
    pub(crate) fn is_empty(&self, list: ListId) -> bool {
        self.heads[usize::from(list.0)].first == NIL
    }

    /// Appends unlinked entry `i` to `list` (appending keeps arm order within a slot).
    pub(crate) fn push_back<T>(&mut self, entries: &mut [Entry<T>], list: ListId, i: u32) {
        let head = &mut self.heads[usize::from(list.0)];
        let last = head.last;
        if last == NIL {
            head.first = i;
        } else {
            entries[last as usize].next = i;
        }
        head.last = i;
        let e = &mut entries[i as usize];
        e.prev = last;
        e.next = NIL;
        e.list = list;
        if let Some((level, slot)) = list.as_slot() {
            self.occupied[level] |= 1 << slot;
        }
    }

    /// Removes entry `i` from whatever list it is in (no-op if none).
    pub(crate) fn unlink<T>(&mut self, entries: &mut [Entry<T>], i: u32) {
        let (prev, next, list) = {
            let e = &mut entries[i as usize];
            let links = (e.prev, e.next, e.list);
            e.prev = NIL;
            e.next = NIL;
            e.list = ListId::NONE;
            links
        };
        if list == ListId::NONE {
            return;
        }
        let head = &mut self.heads[usize::from(list.0)];
        if prev == NIL {
            head.first = next;
        } else {
            entries[prev as usize].next = next;
        }
        if next == NIL {
            head.last = prev;
        } else {
            entries[next as usize].prev = prev;
        }
        if head.first == NIL {
            if let Some((level, slot)) = list.as_slot() {
                self.occupied[level] &= !(1 << slot);
            }
        }
    }

    /// Removes and returns the first entry of `list`.
    pub(crate) fn pop_front<T>(&mut self, entries: &mut [Entry<T>], list: ListId) -> Option<u32> {
        let first = self.heads[usize::from(list.0)].first;
        if first == NIL {
            return None;
        }
        self.unlink(entries, first);
        Some(first)
    }

    /// Empties `list` in O(1) and returns its first entry. The entries stay chained
    /// through `next`; the caller must read each one's `next` before linking it anywhere.
    pub(crate) fn take(&mut self, list: ListId) -> u32 {
        let head = std::mem::replace(&mut self.heads[usize::from(list.0)], EMPTY);
        if let Some((level, slot)) = list.as_slot() {
            self.occupied[level] &= !(1 << slot);
        }
        head.first
    }
}

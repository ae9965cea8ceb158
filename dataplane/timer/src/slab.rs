//! The preallocated timer slots: payload, deadline, list links and generation, plus a
//! free list threaded through the unused ones.

use crate::id::TimerId;
use crate::list::{ListId, NIL};
use ix_nic::Instant;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU32, Ordering};

/// Most slots a wheel can have: indices are `u32`, with `u32::MAX` reserved as "none".
pub const MAX_CAPACITY: usize = (u32::MAX - 1) as usize;

/// Tags each wheel's ids; taken once per wheel, in `new`, never on the packet path.
/// Wraps after 2^32 wheels, after which a tag may repeat (the generation check remains).
static NEXT_WHEEL: AtomicU32 = AtomicU32::new(0);

/// One timer slot; armed exactly when `payload` is `Some`.
#[derive(Debug)]
pub(crate) struct Entry<T> {
    /// Previous entry in this entry's list, or `NIL`.
    pub(crate) prev: u32,
    /// Next entry in this entry's list (or in the free list), or `NIL`.
    pub(crate) next: u32,
    /// The list this entry is linked into; `ListId::NONE` when free.
    pub(crate) list: ListId,
    /// Bumped every time the slot is freed, so old ids stop matching.
    pub(crate) generation: NonZeroU64,
    /// The tick at which the timer becomes due (deadline rounded up to a tick).
    pub(crate) expiry: u64,
    /// The deadline as given, for `TimerWheel::deadline`.
    pub(crate) deadline: Instant,
    pub(crate) payload: Option<T>,
}

/// The slot array and its free list; never grows after construction.
#[derive(Debug)]
pub(crate) struct Slab<T> {
    pub(crate) entries: Vec<Entry<T>>,
    /// Head of the singly linked (through `next`) free list; LIFO so the slot reused
    /// next is the one most recently touched, likely still in cache.
    free: u32,
    live: usize,
    /// This slab's tag in the ids it hands out.
    wheel: u32,
}

impl<T> Slab<T> {
    /// Fills an already reserved vector with `capacity` free slots; pushes stay within
    /// the reservation, so this allocates nothing itself.
    pub(crate) fn from_reserved(mut entries: Vec<Entry<T>>, capacity: usize) -> Self {
        let capacity = capacity.min(MAX_CAPACITY);
        for i in 0..capacity {
            // i + 1 <= MAX_CAPACITY < u32::MAX, so the conversion cannot fail; the last
            // slot's `next` is NIL.
            let next = if i + 1 < capacity {
                u32::try_from(i + 1).unwrap_or(NIL)
            } else {
                NIL
            };
            entries.push(Entry {
                prev: NIL,
                next,
                list: ListId::NONE,
                generation: NonZeroU64::MIN,
                expiry: 0,
                deadline: Instant::ZERO,
                payload: None,
            });
        }
        Slab {
            free: if capacity == 0 { NIL } else { 0 },
            entries,
            live: 0,
            wheel: NEXT_WHEEL.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Slots in total.
    pub(crate) fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// Armed slots.
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// Takes a free slot for `payload`; gives the payload back if there is none. The
    /// caller must link the slot into a list.
    pub(crate) fn alloc(
        &mut self,
        deadline: Instant,
        expiry: u64,
        payload: T,
    ) -> Result<(u32, TimerId), T> {
        let i = self.free;
        let Some(e) = self.entries.get_mut(i as usize) else {
            return Err(payload);
        };
        self.free = e.next;
        e.next = NIL;
        e.deadline = deadline;
        e.expiry = expiry;
        e.payload = Some(payload);
        self.live += 1;
        Ok((
            i,
            TimerId {
                index: i,
                wheel: self.wheel,
                generation: e.generation,
            },
        ))
    }

    /// The slot `id` names, if `id` is from this slab and still armed with that generation.
    pub(crate) fn index_of(&self, id: TimerId) -> Option<u32> {
        if id.wheel != self.wheel {
            return None;
        }
        let e = self.entries.get(id.index as usize)?;
        (e.generation == id.generation && e.payload.is_some()).then_some(id.index)
    }

    /// Frees an armed slot that the caller has already unlinked; returns its id (as it
    /// was while armed) and payload.
    pub(crate) fn release(&mut self, i: u32) -> Option<(TimerId, T)> {
        let e = self.entries.get_mut(i as usize)?;
        let payload = e.payload.take()?;
        let id = TimerId {
            index: i,
            wheel: self.wheel,
            generation: e.generation,
        };
        // 2^64 reuses of one slot cannot happen; restarting at 1 keeps this panic-free.
        e.generation = e.generation.checked_add(1).unwrap_or(NonZeroU64::MIN);
        e.next = self.free;
        self.free = i;
        self.live -= 1;
        Some((id, payload))
    }
}

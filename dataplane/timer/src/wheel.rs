//! The timer wheel and its O(1) operations on single timers.

use crate::error::TimerError;
use crate::geometry::{self, Place};
use crate::id::TimerId;
use crate::list::{ListId, Lists};
use crate::slab::{Entry, Slab, MAX_CAPACITY};
use crate::ticks::Resolution;
use ix_nic::Instant;
use std::time::Duration;

/// A hierarchical timing wheel of at most `capacity` timers carrying payloads `T`;
/// allocates only in `new`/`try_new`. Assumes every instant given to it comes from one
/// monotonic clock, and that one thread drives it (it is `Send`; share it by moving it).
#[derive(Debug)]
pub struct TimerWheel<T> {
    pub(crate) slab: Slab<T>,
    pub(crate) lists: Lists,
    pub(crate) res: Resolution,
    /// The last tick processed: every timer expiring at or before it is in the ready
    /// list (or already delivered); every other one is in a slot after it.
    pub(crate) elapsed: u64,
    /// The latest `now` the wheel has been given; a deadline at or before it is due.
    pub(crate) last_now: Instant,
}

impl<T> TimerWheel<T> {
    /// A wheel with `capacity` preallocated timer slots (clamped to [`MAX_CAPACITY`]),
    /// resolution `tick` (zero is taken as 1 ns), whose time starts at `now`; aborts if
    /// memory runs out, like any allocation (see [`TimerWheel::try_new`]).
    pub fn new(capacity: usize, tick: Duration, now: Instant) -> Self {
        let capacity = capacity.min(MAX_CAPACITY);
        Self::with_entries(Vec::with_capacity(capacity), capacity, tick, now)
    }

    /// Like [`TimerWheel::new`], but reports an allocation failure as
    /// [`TimerError::Alloc`] instead of aborting.
    pub fn try_new(capacity: usize, tick: Duration, now: Instant) -> Result<Self, TimerError> {
        let capacity = capacity.min(MAX_CAPACITY);
        let mut entries = Vec::new();
        entries
            .try_reserve_exact(capacity)
            .map_err(|_| TimerError::Alloc)?;
        Ok(Self::with_entries(entries, capacity, tick, now))
    }

    fn with_entries(entries: Vec<Entry<T>>, capacity: usize, tick: Duration, now: Instant) -> Self {
        let res = Resolution::new(tick);
        TimerWheel {
            slab: Slab::from_reserved(entries, capacity),
            lists: Lists::new(),
            elapsed: res.floor(now),
            res,
            last_now: now,
        }
    }

    /// Arms a timer for `deadline` carrying `payload`, in O(1). A deadline at or before
    /// the latest `now` given to the wheel fires at the next `advance`/`poll`; the payload
    /// is dropped if the wheel is [`TimerError::Full`].
    pub fn arm(&mut self, deadline: Instant, payload: T) -> Result<TimerId, TimerError> {
        let expiry = self.res.ceil(deadline);
        let (i, id) = self
            .slab
            .alloc(deadline, expiry, payload)
            .map_err(|_| TimerError::Full)?;
        self.schedule(i, deadline, expiry);
        Ok(id)
    }

    /// Disarms the timer `id` and returns its payload, in O(1); `None` (and no effect)
    /// if `id` already fired, was cancelled, or names no timer of this wheel.
    pub fn cancel(&mut self, id: TimerId) -> Option<T> {
        let i = self.slab.index_of(id)?;
        self.lists.unlink(&mut self.slab.entries, i);
        self.slab.release(i).map(|(_, payload)| payload)
    }

    /// Moves the armed timer `id` to `deadline`, keeping its payload, in O(1). Returns
    /// the id to use from now on (currently always `id` itself, but callers should store
    /// the returned one), or [`TimerError::Stale`] if `id` names no armed timer.
    pub fn reset(&mut self, id: TimerId, deadline: Instant) -> Result<TimerId, TimerError> {
        let i = self.slab.index_of(id).ok_or(TimerError::Stale)?;
        self.lists.unlink(&mut self.slab.entries, i);
        let expiry = self.res.ceil(deadline);
        if let Some(e) = self.slab.entries.get_mut(i as usize) {
            e.deadline = deadline;
            e.expiry = expiry;
        }
        self.schedule(i, deadline, expiry);
        Ok(id)
    }

    /// The deadline timer `id` was armed (or last reset) with; `None` if it is not armed.
    pub fn deadline(&self, id: TimerId) -> Option<Instant> {
        let i = self.slab.index_of(id)?;
        self.slab.entries.get(i as usize).map(|e| e.deadline)
    }

    /// The payload of armed timer `id`; `None` if it is not armed.
    pub fn get(&self, id: TimerId) -> Option<&T> {
        let i = self.slab.index_of(id)?;
        self.slab.entries.get(i as usize)?.payload.as_ref()
    }

    /// The payload of armed timer `id`, mutably; `None` if it is not armed.
    pub fn get_mut(&mut self, id: TimerId) -> Option<&mut T> {
        let i = self.slab.index_of(id)?;
        self.slab.entries.get_mut(i as usize)?.payload.as_mut()
    }

    /// Timers armed and not yet delivered or cancelled.
    pub fn len(&self) -> usize {
        self.slab.live()
    }

    /// Whether no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Timer slots preallocated: how many timers can be armed at once.
    pub fn capacity(&self) -> usize {
        self.slab.capacity()
    }

    /// The resolution in use (the `tick` given to `new`, with zero taken as 1 ns).
    pub fn tick(&self) -> Duration {
        self.res.tick()
    }

    /// Links armed, unlinked entry `i` where its deadline puts it. Anything at or before
    /// the latest `now` is due: the spec is "a deadline in the past fires at the next
    /// advance", even when it falls in the same tick as `now`.
    fn schedule(&mut self, i: u32, deadline: Instant, expiry: u64) {
        let place = if deadline <= self.last_now {
            Place::Due
        } else {
            geometry::place(self.elapsed, expiry)
        };
        self.link(i, place);
    }

    /// Links unlinked entry `i` into the list `place` names.
    pub(crate) fn link(&mut self, i: u32, place: Place) {
        let list = match place {
            Place::Due => ListId::READY,
            Place::Slot(list) => list,
        };
        self.lists.push_back(&mut self.slab.entries, list, i);
    }
}

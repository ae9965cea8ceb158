//! Moving the wheel's time forward: delivering due timers and cascading the rest down
//! the levels.
//!
//! Each step jumps straight to the earliest occupied slot (the lowest non-empty level's
//! bitmap), so empty spans cost nothing however long they are. A step either delivers a
//! level-0 slot or re-places a higher slot's timers at least one level lower, so each
//! timer is touched at most once per level (11): amortized O(1) per timer.

use crate::geometry::{self, LEVELS};
use crate::id::TimerId;
use crate::list::{ListId, NIL};
use crate::wheel::TimerWheel;
use ix_nic::Instant;

impl<T> TimerWheel<T> {
    /// Fires, through `fire`, every timer due at `now`: each one whose deadline rounded
    /// up to a tick is at or before `now`, plus any armed with a deadline at or before an
    /// earlier `now`. Never before its deadline; less than one tick after it if `advance`
    /// is called at least once a tick. In deadline order at tick granularity, with timers
    /// armed already overdue first (order within one tick is unspecified). Assumes
    /// nothing of `now`: an earlier `now` than before moves nothing back.
    pub fn advance(&mut self, now: Instant, mut fire: impl FnMut(TimerId, T)) {
        while let Some((id, payload)) = self.poll(now) {
            fire(id, payload);
        }
    }

    /// Delivers the next timer due at `now` (as [`TimerWheel::advance`] would), or `None`
    /// once none is left; lets the caller arm, reset or cancel between deliveries. A timer
    /// armed meanwhile with a deadline at or before `now` is delivered in the same round.
    pub fn poll(&mut self, now: Instant) -> Option<(TimerId, T)> {
        if now > self.last_now {
            self.last_now = now;
        }
        let target = self.res.floor(now);
        loop {
            if let Some(i) = self.lists.pop_front(&mut self.slab.entries, ListId::READY) {
                return self.slab.release(i);
            }
            if !self.step(target) {
                // Nothing is due up to `target`, so the wheel can stand there: every
                // occupied slot starts after it, so each timer still shares its level's
                // upper bits with the new `elapsed` (see `geometry`).
                self.elapsed = self.elapsed.max(target);
                return None;
            }
        }
    }

    /// A lower bound, at tick granularity, on when `advance` next fires something, assuming
    /// no arm or reset before then: the start of the earliest occupied slot. For a coarse
    /// higher-level slot that can be well before the earliest deadline; advancing to it
    /// cascades that slot and the bound tightens. If a timer is already due, the latest
    /// `now` given (call `advance` now); `None` if no timer is armed.
    pub fn next_deadline(&self) -> Option<Instant> {
        if !self.lists.is_empty(ListId::READY) {
            return Some(self.last_now);
        }
        self.next_event().map(|(_, at)| self.res.start(at))
    }

    /// Processes the earliest occupied slot if it starts at or before tick `target`:
    /// moves the wheel there, sends due timers to the ready list and re-places the rest.
    /// Returns whether it did.
    fn step(&mut self, target: u64) -> bool {
        let Some((list, at)) = self.next_event() else {
            return false;
        };
        if at > target {
            return false;
        }
        // `at` is after `elapsed` (slots lie strictly after the current tick), so the
        // wheel only moves forward and this loop in `poll` terminates.
        self.elapsed = at;
        let mut i = self.lists.take(list);
        while i != NIL {
            let Some(e) = self.slab.entries.get(i as usize) else {
                break;
            };
            let (next, expiry) = (e.next, e.expiry);
            self.link(i, geometry::place(at, expiry));
            i = next;
        }
        true
    }

    /// The earliest occupied slot and the tick it starts: the lowest non-empty level's,
    /// since every lower-level slot lies inside the current slot of each higher level.
    fn next_event(&self) -> Option<(ListId, u64)> {
        (0..LEVELS).find_map(|level| {
            let occupied = self.lists.occupied(level);
            geometry::next_slot(self.elapsed, level, occupied)
                .map(|(slot, at)| (ListId::slot(level, slot), at))
        })
    }
}

//! One direction of the injector: its fault decisions and the queues of held frames.

use ix_nic::{Instant, NoBuffers, BURST};
use std::collections::VecDeque;

use crate::config::FaultConfig;
use crate::corrupt::flip_one_bit;
use crate::dice::{Dice, Direction};
use crate::ops::FrameOps;
use crate::stats::FaultStats;

/// Frames of one direction between arriving at the injector and leaving it.
///
/// `ready` holds frames due to leave, in order; `delayed` and `reordered` hold frames
/// with the instant they may leave, in arrival order. Capacities are reserved at
/// construction and [`Lane::room`] keeps admissions within them, so the steady state
/// allocates nothing. Invariant: `ready + delayed + reordered <= capacity`, where
/// `capacity = 2 * BURST + 2 * hold_capacity`: each admitted frame adds at most two
/// (itself and a duplicate) and releases only move frames between queues.
pub(crate) struct Lane<T> {
    config: FaultConfig,
    dice: Dice,
    stats: FaultStats,
    ready: VecDeque<T>,
    delayed: VecDeque<(Instant, T)>,
    reordered: VecDeque<(Instant, T)>,
    capacity: usize,
}

impl<T> Lane<T> {
    /// A lane applying `config` (assumed validated) with the `direction` stream of
    /// `seed`.
    pub(crate) fn new(config: FaultConfig, seed: u64, direction: Direction) -> Self {
        let hold = config.hold_capacity;
        let capacity = 2 * BURST + 2 * hold;
        Lane {
            config,
            dice: Dice::new(seed, direction),
            stats: FaultStats::default(),
            ready: VecDeque::with_capacity(capacity),
            delayed: VecDeque::with_capacity(hold),
            reordered: VecDeque::with_capacity(hold),
            capacity,
        }
    }

    /// How many more frames may be admitted now without outgrowing the reserved
    /// queues; at least `BURST` whenever `ready` is empty.
    pub(crate) fn room(&self) -> usize {
        let used = self.ready.len() + self.delayed.len() + self.reordered.len();
        self.capacity.saturating_sub(used) / 2
    }

    /// Moves frames whose delay has run out, and reordered frames that have waited
    /// long enough, to `ready`.
    pub(crate) fn release_due(&mut self, now: Instant) {
        while let Some((_, frame)) = pop_due(&mut self.delayed, now) {
            // Not a pass: a reordered frame waits to be overtaken by a frame that
            // arrived after it, and this one arrived before.
            self.ready.push_back(frame);
        }
        while let Some((_, frame)) = pop_due(&mut self.reordered, now) {
            self.ready.push_back(frame);
        }
    }

    /// Applies this direction's faults to one arriving frame at time `now`; the frame
    /// ends up released (dropped), held, or in `ready`. Assumes `room() >= 1`.
    pub(crate) fn admit(&mut self, mut frame: T, now: Instant, ops: &impl FrameOps<T>) {
        let c = self.config;
        self.stats.seen += 1;
        if self.dice.chance(c.drop) {
            self.stats.dropped += 1;
            return;
        }
        if self.dice.chance(c.corrupt) && flip_one_bit(ops.writable(&mut frame), &mut self.dice) {
            self.stats.corrupted += 1;
        }
        let copy = if self.dice.chance(c.duplicate) {
            match ops.dup(&frame) {
                Ok(copy) => {
                    self.stats.duplicated += 1;
                    Some(copy)
                }
                Err(NoBuffers) => {
                    self.stats.skipped_no_buffers += 1;
                    None
                }
            }
        } else {
            None
        };
        let slots = 1 + usize::from(copy.is_some());
        if self.dice.chance(c.delay) {
            if self.delayed.len() + slots <= c.hold_capacity {
                let until = now + c.delay_duration();
                hold(&mut self.delayed, until, frame, copy);
                self.stats.delayed += 1;
                return;
            }
            self.stats.skipped_queue_full += 1;
        } else if self.dice.chance(c.reorder) {
            if self.reordered.len() + slots <= c.hold_capacity {
                let until = now + c.reorder_wait();
                hold(&mut self.reordered, until, frame, copy);
                self.stats.reordered += 1;
                return;
            }
            self.stats.skipped_queue_full += 1;
        }
        self.pass(frame, copy);
    }

    /// The next frame due to leave.
    pub(crate) fn pop_ready(&mut self) -> Option<T> {
        self.ready.pop_front()
    }

    /// Puts back a frame taken by [`Lane::pop_ready`] that could not leave, so it
    /// leaves first next time (push back in reverse order to keep the order).
    pub(crate) fn unpop_ready(&mut self, frame: T) {
        self.ready.push_front(frame);
    }

    /// Whether frames are due to leave.
    pub(crate) fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Frames in this lane now: due, delayed or held for reordering.
    pub(crate) fn held(&self) -> usize {
        self.ready.len() + self.delayed.len() + self.reordered.len()
    }

    /// What this lane has done so far.
    pub(crate) fn stats(&self) -> FaultStats {
        self.stats
    }

    /// Sends a newly arrived `frame` (and its duplicate) on, then every frame held for
    /// reordering: they arrived earlier and have now been overtaken.
    fn pass(&mut self, frame: T, copy: Option<T>) {
        self.ready.push_back(frame);
        if let Some(copy) = copy {
            self.ready.push_back(copy);
        }
        while let Some((_, held)) = self.reordered.pop_front() {
            self.ready.push_back(held);
        }
    }
}

/// Takes the oldest held frame if its time has come. Held frames are queued in
/// arrival order and each queue adds one fixed duration, so the oldest is due first.
fn pop_due<T>(queue: &mut VecDeque<(Instant, T)>, now: Instant) -> Option<(Instant, T)> {
    match queue.front() {
        Some((until, _)) if *until <= now => queue.pop_front(),
        _ => None,
    }
}

/// Holds `frame`, and its duplicate right behind it, until `until`.
fn hold<T>(queue: &mut VecDeque<(Instant, T)>, until: Instant, frame: T, copy: Option<T>) {
    queue.push_back((until, frame));
    if let Some(copy) = copy {
        queue.push_back((until, copy));
    }
}

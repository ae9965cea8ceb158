//! The wheel's shape: which level and slot a tick belongs in, and where the next
//! occupied slot is.
//!
//! Placement is by the highest bit group in which a timer's expiry tick differs from
//! the wheel's current tick (`elapsed`), so a timer at level `k` shares every bit above
//! level `k` with `elapsed` and sits in a slot strictly after `elapsed`'s slot at that
//! level. Two consequences the rest of the crate relies on: the lowest non-empty level
//! always holds the earliest slot, and a slot is reached before any timer in it is due.

use crate::list::ListId;

/// log2 of the slots per level: 64 slots, so one `u64` is a level's occupancy bitmap.
pub(crate) const SLOT_BITS: u32 = 6;
/// Slots per level.
pub(crate) const SLOTS: usize = 1 << SLOT_BITS;
/// Levels: enough 6-bit groups (11 x 6 = 66 bits) to cover every `u64` tick, so no
/// deadline is ever beyond the top level. A shorter wheel must park far timers and
/// re-cascade them once per top-level rotation, which costs O(distance / span) per timer:
/// at a 1 ns tick a deadline at the end of time would be revisited 2^28 times. Levels
/// that are empty cost one bitmap test each in `next_event`; placement is by distance,
/// so near timers never touch the high levels.
pub(crate) const LEVELS: usize = (u64::BITS as usize).div_ceil(SLOT_BITS as usize);

const SLOT_MASK: u64 = (SLOTS as u64) - 1;

/// Where a timer with a given expiry belongs, relative to `elapsed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// Already due: deliver at the next poll.
    Due,
    /// In this level's slot list.
    Slot(ListId),
}

/// Where a timer expiring at tick `expiry` goes when the wheel is at tick `elapsed`.
pub(crate) fn place(elapsed: u64, expiry: u64) -> Place {
    if expiry <= elapsed {
        return Place::Due;
    }
    // Non-zero because expiry > elapsed; its top bit is at most 63, so level <= 10.
    let differ = elapsed ^ expiry;
    let level = (u64::BITS - 1 - differ.leading_zeros()) / SLOT_BITS;
    let slot = (expiry >> (level * SLOT_BITS)) & SLOT_MASK;
    Place::Slot(ListId::slot(level as usize, slot as usize))
}

/// The earliest occupied slot at `level` and the tick it starts, given that level's
/// occupancy bitmap; `None` if the level is empty.
pub(crate) fn next_slot(elapsed: u64, level: usize, occupied: u64) -> Option<(usize, u64)> {
    if occupied == 0 {
        return None;
    }
    let shift = level as u32 * SLOT_BITS;
    let current = ((elapsed >> shift) & SLOT_MASK) as u32;
    // Only slots after the current one can be occupied (see the module comment).
    let after = occupied & u64::MAX.checked_shl(current + 1).unwrap_or(0);
    debug_assert_eq!(
        after, occupied,
        "occupied slot at or before the current one"
    );
    if after == 0 {
        // Unreachable while placement is correct. Processing a slot early is always safe
        // (its timers are re-placed by their own expiry), so do that rather than lose it.
        let slot = occupied.trailing_zeros() as usize;
        return Some((slot, elapsed.saturating_add(1)));
    }
    let slot = after.trailing_zeros();
    // The bits above this level, shared by `elapsed` and everything in it. For the top
    // level `above` is 66: nothing is above, hence the checked shifts.
    let above = shift + SLOT_BITS;
    let rotation_start = elapsed
        .checked_shr(above)
        .and_then(|high| high.checked_shl(above))
        .unwrap_or(0);
    Some((slot as usize, rotation_start | (u64::from(slot) << shift)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot_of(p: Place) -> (usize, usize) {
        match p {
            Place::Slot(l) => l.as_slot().expect("a slot list"),
            other => panic!("expected a slot, got {other:?}"),
        }
    }

    #[test]
    fn places_by_highest_differing_group() {
        assert_eq!(place(10, 10), Place::Due);
        assert_eq!(place(10, 3), Place::Due);
        assert_eq!(slot_of(place(0, 1)), (0, 1));
        assert_eq!(slot_of(place(0, 63)), (0, 63));
        assert_eq!(slot_of(place(0, 64)), (1, 1));
        // 63 -> 64 crosses a level-1 boundary although it is one tick away.
        assert_eq!(slot_of(place(63, 64)), (1, 1));
        assert_eq!(slot_of(place(0, (1 << 36) - 1)), (5, 63));
        assert_eq!(slot_of(place(0, 1 << 36)), (6, 1));
        assert_eq!(slot_of(place(0, u64::MAX)), (10, 15));
        assert_eq!(slot_of(place(1 << 63, u64::MAX)), (10, 15));
        assert_eq!(slot_of(place(u64::MAX - 1, u64::MAX)), (0, 63));
    }

    #[test]
    fn next_slot_finds_start_tick() {
        // elapsed 130 = level-1 slot 2; occupied level-1 slot 5 starts at tick 320.
        assert_eq!(next_slot(130, 1, 1 << 5), Some((5, 320)));
        assert_eq!(next_slot(130, 0, 1 << 7), Some((7, 135)));
        assert_eq!(next_slot(130, 0, 0), None);
        assert_eq!(next_slot(5, 10, 1 << 15), Some((15, 15 << 60)));
    }
}

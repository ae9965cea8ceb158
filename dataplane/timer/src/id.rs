//! The handle naming one arming of a timer.

use std::num::NonZeroU64;

/// Names one armed timer: a slot index, the slot's generation when it was armed, and the
/// wheel it belongs to; assumes nothing of the caller (any id is safe to pass anywhere).
///
/// The generation is 64 bits so a stale id can never alias a later timer in the same
/// slot (a 32-bit one wraps in minutes when one slot is re-armed at tens of millions of
/// operations a second). The wheel tag makes another wheel refuse it rather than act on
/// its own timer in the same slot. The generation is non-zero so `Option<TimerId>` is
/// the same 16 bytes as `TimerId`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerId {
    pub(crate) index: u32,
    pub(crate) wheel: u32,
    pub(crate) generation: NonZeroU64,
}

//! Why a timer operation failed.

/// Why [`crate::TimerWheel::arm`], [`crate::TimerWheel::reset`] or
/// [`crate::TimerWheel::try_new`] failed; no variant leaves the wheel changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimerError {
    /// Every preallocated slot holds an armed timer; the payload passed to `arm` was dropped.
    #[error("timer wheel is full: every preallocated timer slot is armed")]
    Full,
    /// The id names no armed timer: it already fired, was cancelled, or is from another wheel.
    #[error("timer id is stale: the timer already fired or was cancelled")]
    Stale,
    /// `try_new` could not allocate the slots it was asked to preallocate.
    #[error("could not allocate the timer wheel's slots")]
    Alloc,
}

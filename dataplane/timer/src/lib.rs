//! A hierarchical timing wheel for ix's per-core TCP engine: tens of thousands of
//! connections, each with retransmission, delayed-ACK, persist, keepalive and
//! TIME_WAIT/FIN_WAIT_2 timers, armed and cancelled far more often than they fire.
//!
//! - [`TimerWheel::arm`], [`TimerWheel::cancel`] and [`TimerWheel::reset`] are O(1);
//!   [`TimerWheel::advance`] is amortized O(1) per timer and skips empty time through
//!   per-level occupancy bitmaps, so an idle hour costs a handful of steps.
//! - Every timer lives in a slot preallocated by [`TimerWheel::new`], linked into
//!   intrusive doubly linked lists by index: nothing allocates, locks or makes a system
//!   call afterwards.
//! - Deadlines are [`ix_nic::Instant`]s rounded up to the wheel's tick: a timer never
//!   fires early and, if `advance` is called at least once a tick, at most one tick late.
//! - Eleven levels of 64 slots cover every `u64` tick, so a deadline of any distance is
//!   placed directly (no clamping, no per-rotation revisits) and cascades at most ten
//!   times; near timers (an RTO of 200 ticks is level 1) never touch the high levels.
//! - Ids carry a 64-bit generation and a per-wheel tag, so a stale id (fired or
//!   cancelled) or another wheel's id is refused and never cancels another timer.
//! - [`TimerWheel::poll`] delivers one due timer at a time, for callers that re-arm from
//!   the timer's handler (the closure given to `advance` cannot borrow the wheel).
//!
//! Limits: at most [`MAX_CAPACITY`] timers; a deadline within the last partial tick
//! before `u64::MAX` ns (about 584 years after the clock's origin) is rounded down to
//! the last whole tick, so only there can a timer fire up to one tick early.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod advance;
mod error;
mod geometry;
mod id;
mod list;
mod slab;
mod ticks;
mod wheel;

pub use error::TimerError;
pub use id::TimerId;
pub use slab::MAX_CAPACITY;
pub use wheel::TimerWheel;

//! One connection: its control block ([`tcb`]) and the slot's life ([`slot`]), its
//! windows and sequence space ([`window`]), receive path ([`input`]), transmit path
//! ([`output`]), timer expiries ([`timeouts`]), events for the application
//! ([`app_events`]) and state predicates ([`state`]).

pub(crate) mod app_events;
pub(crate) mod input;
pub(crate) mod output;
pub(crate) mod slot;
pub(crate) mod state;
pub(crate) mod tcb;
pub(crate) mod timeouts;
pub(crate) mod window;

use crate::api::CloseReason;

/// What the engine must do after a connection processed a segment or a timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Nothing beyond what the connection did itself.
    None,
    /// The handshake completed (passive: the listener's queues change; active:
    /// `Connected` is owed).
    Established,
    /// Both FINs are done: move to TIME_WAIT and report the connection closed.
    TimeWait,
    /// The connection is over; `true` if a RST must tell the peer.
    Dead(CloseReason, bool),
}

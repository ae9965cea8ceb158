//! What each RFC 9293 state allows the application to do.

use crate::api::State;

/// Whether the application may queue data to send (before its own close).
pub(crate) fn can_send(s: State) -> bool {
    matches!(
        s,
        State::SynSent | State::SynReceived | State::Established | State::CloseWait
    )
}

/// Whether a `close` moves the state (and to which), or is refused.
pub(crate) fn after_close(s: State) -> Option<State> {
    match s {
        State::SynReceived => Some(State::SynReceived),
        State::Established => Some(State::FinWait1),
        State::CloseWait => Some(State::LastAck),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_transitions() {
        assert_eq!(after_close(State::Established), Some(State::FinWait1));
        assert_eq!(after_close(State::CloseWait), Some(State::LastAck));
        assert_eq!(after_close(State::FinWait2), None);
        assert!(can_send(State::CloseWait) && !can_send(State::FinWait1));
    }
}

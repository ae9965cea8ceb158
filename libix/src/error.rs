//! Why a call was refused, and why a connection ended: transport-neutral, so the
//! same application code runs over every transport.

/// Why a connection ended (reported by `Dead` and `ConnectFailed` events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// Both sides closed in order.
    Closed,
    /// The peer reset it.
    Reset,
    /// The peer refused the connection.
    Refused,
    /// Retransmissions (or keepalives, or a user timeout) went unanswered.
    Timeout,
    /// This side aborted it (an `abort` call, a close before the handshake finished,
    /// or the runtime resetting the connections of a panicking handler).
    Aborted,
}

/// Why a call failed. Nothing here is fatal to the transport or the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum CallError {
    /// The batch of calls is full; call again in the next batch.
    #[error("call batch full")]
    BatchFull,
    /// The connection id is stale or was never issued.
    #[error("no such connection")]
    NoSuchConnection,
    /// The call does not fit the connection's state (send after close, accept twice).
    #[error("invalid in the connection's state")]
    InvalidState,
    /// Already listening on that port.
    #[error("port already in use")]
    PortInUse,
    /// Not listening on that port.
    #[error("not listening on that port")]
    NotListening,
    /// The listener table is full.
    #[error("too many listeners")]
    TooManyListeners,
    /// The connection table is full.
    #[error("too many connections")]
    TooManyConnections,
    /// No usable local port for that remote address.
    #[error("no local port available")]
    AddrInUse,
    /// The remote address cannot be connected to.
    #[error("invalid address")]
    InvalidAddress,
    /// The byte range is outside the buffer.
    #[error("range outside the buffer")]
    InvalidRange,
    /// An earlier send on the same connection in the same batch was short, so this
    /// one was not tried (keeps the byte stream in order; retry after `Sent`).
    #[error("an earlier send in this batch was short")]
    EarlierSendShort,
    /// The timer table is full.
    #[error("too many timers")]
    TooManyTimers,
    /// The timer id is stale (fired or cancelled) or was never issued.
    #[error("no such timer")]
    NoSuchTimer,
    /// The transport does not implement this call.
    #[error("not supported by this transport")]
    Unsupported,
}

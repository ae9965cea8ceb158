//! What a [`FakeNic`](crate::FakeNic) has counted.

/// Frame and byte counts of one [`FakeNic`](crate::FakeNic), since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FakeNicStats {
    /// Frames handed to the stack by `rx_burst`.
    pub rx_frames: u64,
    /// Bytes of those frames.
    pub rx_bytes: u64,
    /// Frames dropped because the receive ring was full (only `inject` can hit this:
    /// on a link a full ring refuses the sender instead).
    pub rx_dropped_ring_full: u64,
    /// Frames dropped because no pool block could hold them (pool empty, or the frame
    /// larger than a block).
    pub rx_dropped_no_buffers: u64,
    /// Frames taken by `tx_burst`.
    pub tx_frames: u64,
    /// Bytes of those frames (linear part plus attached payload).
    pub tx_bytes: u64,
    /// Refusals by `tx_burst` because the transmit ring was full; a frame the caller
    /// offers again and is refused again counts again.
    pub tx_refused: u64,
}

//! What the injector did, per direction.

/// Counts of one direction of a [`FaultyNic`](crate::FaultyNic) since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Frames that reached the injector (copies it made not included).
    pub seen: u64,
    /// Frames discarded.
    pub dropped: u64,
    /// Copies delivered as duplicates.
    pub duplicated: u64,
    /// Frames held back to be overtaken.
    pub reordered: u64,
    /// Frames with one bit flipped.
    pub corrupted: u64,
    /// Frames held for the configured delay.
    pub delayed: u64,
    /// Delay or reorder faults not applied because the hold queue was full (the frame
    /// passed on normally).
    pub skipped_queue_full: u64,
    /// Duplicates not made because the pool had no buffer.
    pub skipped_no_buffers: u64,
}

//! Fixed-capacity bursts: the unit of work between the NIC and the stack.

/// The largest burst the dataplane moves at once (IX's bound; never waited for).
pub const BURST: usize = 64;

/// A burst of up to [`BURST`] items, stored inline: no allocation per packet.
pub type Batch<T> = arrayvec::ArrayVec<T, BURST>;

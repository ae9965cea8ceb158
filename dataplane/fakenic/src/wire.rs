//! What sits in a receive ring before the stack takes it.

use ix_nic::heap::{HeapFrame, HeapRx};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::ring::Ring;

/// A frame waiting in a receive ring.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "boxing would allocate per frame; ring slots are reserved once at the larger size"
)]
pub(crate) enum Pending {
    /// Already in a block of the receiver's pool (injected by a test).
    Landed(HeapRx),
    /// Still the peer's transmitted frame, in the peer's pool: copied into the
    /// receiver's pool only when received, so the link path keeps frames as they are
    /// and allocates nothing.
    OnWire(HeapFrame),
}

/// A receive ring that a linked peer transmits into.
///
/// Behind a mutex so a `FakeNic` is `Send` and the two ends of a link may be driven
/// from different threads; it is taken once per burst and never held while waiting.
pub(crate) type SharedRing = Arc<Mutex<Ring<Pending>>>;

/// A new, empty shared ring of `depth` descriptors.
pub(crate) fn shared_ring(depth: usize) -> SharedRing {
    Arc::new(Mutex::new(Ring::new(depth)))
}

/// Locks `ring`; a panic elsewhere while it was held cannot leave a ring half-updated
/// (every operation is one push or pop), so poisoning is ignored.
pub(crate) fn lock(ring: &SharedRing) -> MutexGuard<'_, Ring<Pending>> {
    ring.lock().unwrap_or_else(PoisonError::into_inner)
}

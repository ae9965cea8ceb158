//! [`FakeLink`]: two [`FakeNic`]s cabled back to back.

use ix_nic::heap::HeapPool;

use crate::nic::FakeNic;
use crate::ring::DEFAULT_RING_DEPTH;
use crate::wire::shared_ring;

/// Connects two [`FakeNic`]s so that what one transmits the other receives.
///
/// Each direction is one ring of the given depth, standing for the sender's transmit
/// ring, the cable and the receiver's receive ring together: the sender's `tx_burst`
/// puts its frames there as they are (no copy), a full ring refuses the sender, and
/// the receiver's `rx_burst` copies each frame into a block of its own pool and
/// releases the original. The wire is instantaneous and lossless; put an `ix-fault`
/// injector on either end for loss, delay and the rest. The two ends share each ring
/// through a mutex, so they may be driven from one thread or two.
#[derive(Debug, Clone, Copy)]
pub struct FakeLink;

impl FakeLink {
    /// Two linked NICs, each with its own pool of `blocks` blocks of `block_size`
    /// bytes and [`DEFAULT_RING_DEPTH`]-deep rings.
    pub fn pair(
        mac_a: [u8; 6],
        mac_b: [u8; 6],
        blocks: usize,
        block_size: usize,
    ) -> (FakeNic, FakeNic) {
        Self::pair_with_pools(
            mac_a,
            HeapPool::new(blocks, block_size),
            mac_b,
            HeapPool::new(blocks, block_size),
            DEFAULT_RING_DEPTH,
        )
    }

    /// Two linked NICs over the given pools (they may be one pool), each direction a
    /// ring of `depth` frames (reserved now; 0 refuses everything).
    pub fn pair_with_pools(
        mac_a: [u8; 6],
        pool_a: HeapPool,
        mac_b: [u8; 6],
        pool_b: HeapPool,
        depth: usize,
    ) -> (FakeNic, FakeNic) {
        let to_a = shared_ring(depth);
        let to_b = shared_ring(depth);
        let a = FakeNic::linked(mac_a, pool_a, to_a.clone(), to_b.clone());
        let b = FakeNic::linked(mac_b, pool_b, to_b, to_a);
        (a, b)
    }
}

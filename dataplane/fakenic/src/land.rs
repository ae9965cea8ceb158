//! Receiving a frame: the "DMA" of its bytes into a block of the receiver's pool.

use ix_nic::heap::{HeapPool, HeapRx};
use ix_nic::{BufPool, NoBuffers, TxFrame};

use crate::wire::Pending;

/// Turns a waiting frame into a received one in `pool`.
///
/// A peer's frame is copied into a fresh block (a NIC's DMA, not a stack copy, so not
/// counted) and then dropped, which returns its block and payload references to the
/// peer's pool. Frames with attached payload are gathered through `scratch` first,
/// because the pool fills a block only from one slice; `scratch` is assumed to have
/// `pool.buf_capacity()` bytes reserved, so this never allocates. Fails when no block
/// is free or the frame is larger than a block; the frame is released either way.
pub(crate) fn land(
    pending: Pending,
    pool: &HeapPool,
    scratch: &mut Vec<u8>,
) -> Result<HeapRx, NoBuffers> {
    let frame = match pending {
        Pending::Landed(rx) => return Ok(rx),
        Pending::OnWire(frame) => frame,
    };
    if frame.len() > pool.buf_capacity() {
        return Err(NoBuffers);
    }
    if frame.len() == frame.linear().len() {
        // Headers only (or empty attachments): one copy straight from the frame.
        return pool.rx_from(frame.linear());
    }
    scratch.clear();
    frame.write_to(scratch);
    pool.rx_from(scratch)
}

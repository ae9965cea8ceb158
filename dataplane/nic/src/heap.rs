//! Buffers in ordinary memory: for tests, the fake NIC and the kernel transport.
//!
//! A [`HeapPool`] preallocates a fixed number of equal blocks, as a DPDK mempool
//! does, and counts every allocation and release so tests can prove there is no leak
//! and no double free. The free list is a lock-free bounded queue, so buffers may be
//! released on any thread (frozen payload lives in a store shared by all cores).
//! Freezing (a [`MutBuf`], or a received frame with [`BufPool::rx_into_shared`])
//! allocates the reference count's control block on the heap; this pool is not on the
//! DPDK per-packet path.

use crate::buf::{BufPool, MutBuf, NoBuffers, RxBuf, SharedBuf, TxFrame};
use arrayvec::ArrayVec;
use core::ops::Range;
use crossbeam_queue::ArrayQueue;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// How many payload references one frame can carry after its linear part.
pub const MAX_ATTACHMENTS: usize = 8;

#[derive(Debug)]
struct Inner {
    free: ArrayQueue<Box<[u8]>>,
    block_size: usize,
    blocks: usize,
    allocs: AtomicU64,
    releases: AtomicU64,
}

/// A fixed-size pool of equal blocks in ordinary memory. Clones share the pool.
#[derive(Debug, Clone)]
pub struct HeapPool(Arc<Inner>);

/// Allocation counts of a [`HeapPool`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Blocks in the pool.
    pub blocks: usize,
    /// Blocks handed out so far.
    pub allocs: u64,
    /// Blocks returned so far.
    pub releases: u64,
    /// Blocks on the free list now.
    pub free: usize,
}

impl PoolStats {
    /// Blocks currently handed out.
    pub fn in_use(&self) -> u64 {
        self.allocs - self.releases
    }
}

impl HeapPool {
    /// A pool of `blocks` blocks of `block_size` bytes each; assumes both are non-zero.
    pub fn new(blocks: usize, block_size: usize) -> Self {
        let free = ArrayQueue::new(blocks.max(1));
        for _ in 0..blocks {
            // Cannot fail: the queue was made with room for every block.
            let _ = free.push(vec![0u8; block_size].into_boxed_slice());
        }
        HeapPool(Arc::new(Inner {
            free,
            block_size,
            blocks,
            allocs: AtomicU64::new(0),
            releases: AtomicU64::new(0),
        }))
    }

    /// Current allocation counts.
    pub fn stats(&self) -> PoolStats {
        PoolStats {
            blocks: self.0.blocks,
            allocs: self.0.allocs.load(Ordering::Relaxed),
            releases: self.0.releases.load(Ordering::Relaxed),
            free: self.0.free.len(),
        }
    }

    /// Takes one block off the free list.
    fn block(&self) -> Result<Block, NoBuffers> {
        let bytes = self.0.free.pop().ok_or(NoBuffers)?;
        self.0.allocs.fetch_add(1, Ordering::Relaxed);
        Ok(Block {
            bytes,
            pool: Arc::clone(&self.0),
        })
    }

    /// A received frame holding a copy of `bytes`, as a NIC's DMA would write it
    /// (not a stack copy, so not counted); error if the pool is empty or `bytes`
    /// does not fit one block.
    pub fn rx_from(&self, bytes: &[u8]) -> Result<HeapRx, NoBuffers> {
        if bytes.len() > self.0.block_size {
            return Err(NoBuffers);
        }
        let mut block = self.block()?;
        block.bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(HeapRx {
            block,
            len: bytes.len(),
        })
    }

    /// A frozen buffer holding a copy of `bytes` (test and set-up convenience).
    pub fn shared_from(&self, bytes: &[u8]) -> Result<HeapShared, NoBuffers> {
        let mut m = self.alloc_mut()?;
        if m.extend_from_slice(bytes) != bytes.len() {
            return Err(NoBuffers);
        }
        Ok(m.freeze())
    }
}

/// One block on loan from the pool; dropping it returns it exactly once.
#[derive(Debug)]
struct Block {
    bytes: Box<[u8]>,
    pool: Arc<Inner>,
}

impl Drop for Block {
    fn drop(&mut self) {
        let bytes = std::mem::take(&mut self.bytes);
        self.pool.releases.fetch_add(1, Ordering::Relaxed);
        // Cannot fail: only blocks taken from this queue come back to it.
        let _ = self.pool.free.push(bytes);
    }
}

/// A received frame in a heap block.
#[derive(Debug)]
pub struct HeapRx {
    block: Block,
    len: usize,
}

impl RxBuf for HeapRx {
    fn data(&self) -> &[u8] {
        &self.block.bytes[..self.len]
    }

    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.block.bytes[..self.len]
    }
}

/// A heap block being filled.
#[derive(Debug)]
pub struct HeapMut {
    block: Block,
    len: usize,
}

impl MutBuf for HeapMut {
    type Shared = HeapShared;

    fn data(&self) -> &[u8] {
        &self.block.bytes[..self.len]
    }

    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.block.bytes[..self.len]
    }

    fn extend_from_slice(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(self.spare());
        self.block.bytes[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
        n
    }

    fn spare(&self) -> usize {
        self.block.bytes.len() - self.len
    }

    fn freeze(self) -> HeapShared {
        HeapShared(Arc::new(Frozen {
            block: self.block,
            len: self.len,
        }))
    }
}

#[derive(Debug)]
struct Frozen {
    block: Block,
    len: usize,
}

/// A frozen heap block shared by reference count.
#[derive(Debug, Clone)]
pub struct HeapShared(Arc<Frozen>);

impl HeapShared {
    /// How many references exist now (frames in flight included).
    pub fn ref_count(&self) -> usize {
        Arc::strong_count(&self.0)
    }
}

impl SharedBuf for HeapShared {
    fn data(&self) -> &[u8] {
        &self.0.block.bytes[..self.0.len]
    }
}

/// A frame in a heap block: linear headers, then attached payload references.
#[derive(Debug)]
pub struct HeapFrame {
    block: Block,
    len: usize,
    // u32 ranges keep a frame small: frames move by value through bursts.
    attached: ArrayVec<(HeapShared, Range<u32>), MAX_ATTACHMENTS>,
}

impl HeapFrame {
    /// Appends the whole frame, flattened, to `out` (what the wire carries).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        self.for_each_segment(|s| out.extend_from_slice(s));
    }
}

impl TxFrame for HeapFrame {
    type Shared = HeapShared;

    fn append(&mut self, len: usize) -> Option<&mut [u8]> {
        if !self.attached.is_empty() || len > self.block.bytes.len() - self.len {
            return None;
        }
        let start = self.len;
        self.len += len;
        Some(&mut self.block.bytes[start..self.len])
    }

    fn linear(&self) -> &[u8] {
        &self.block.bytes[..self.len]
    }

    fn linear_mut(&mut self) -> &mut [u8] {
        &mut self.block.bytes[..self.len]
    }

    fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    fn attach(&mut self, shared: &HeapShared, range: Range<usize>) -> Result<(), NoBuffers> {
        if range.start > range.end || range.end > shared.len() {
            return Err(NoBuffers);
        }
        let (Ok(start), Ok(end)) = (u32::try_from(range.start), u32::try_from(range.end)) else {
            return Err(NoBuffers);
        };
        self.attached
            .try_push((shared.clone(), start..end))
            .map_err(|_| NoBuffers)
    }

    fn len(&self) -> usize {
        self.len
            + self
                .attached
                .iter()
                .map(|(_, r)| (r.end - r.start) as usize)
                .sum::<usize>()
    }

    fn for_each_segment(&self, mut f: impl FnMut(&[u8])) {
        f(self.linear());
        for (s, r) in &self.attached {
            f(&s.data()[r.start as usize..r.end as usize]);
        }
    }
}

impl BufPool for HeapPool {
    type Rx = HeapRx;
    type Mut = HeapMut;
    type Shared = HeapShared;
    type Frame = HeapFrame;

    fn alloc_mut(&self) -> Result<HeapMut, NoBuffers> {
        Ok(HeapMut {
            block: self.block()?,
            len: 0,
        })
    }

    fn alloc_frame(&self) -> Result<HeapFrame, NoBuffers> {
        Ok(HeapFrame {
            block: self.block()?,
            len: 0,
            attached: ArrayVec::new(),
        })
    }

    fn rx_into_frame(&self, rx: HeapRx) -> HeapFrame {
        HeapFrame {
            block: rx.block,
            len: rx.len,
            attached: ArrayVec::new(),
        }
    }

    fn rx_into_shared(&self, rx: HeapRx) -> HeapShared {
        // The block moves, its bytes stay where the "NIC" wrote them.
        HeapShared(Arc::new(Frozen {
            block: rx.block,
            len: rx.len,
        }))
    }

    fn dup_rx(&self, rx: &HeapRx) -> Result<HeapRx, NoBuffers> {
        self.rx_from(rx.data())
    }

    fn dup_frame(&self, frame: &HeapFrame) -> Result<HeapFrame, NoBuffers> {
        let mut block = self.block()?;
        block.bytes[..frame.len].copy_from_slice(frame.linear());
        Ok(HeapFrame {
            block,
            len: frame.len,
            attached: frame.attached.clone(),
        })
    }

    fn buf_capacity(&self) -> usize {
        self.0.block_size
    }
}

#[cfg(test)]
mod tests;

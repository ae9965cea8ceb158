//! The buffer kinds the dataplane carries, as traits a NIC's memory implements.

use core::ops::Range;

/// The pool ran dry (or an attachment could not be made): the caller drops or retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no buffers left in the pool")]
pub struct NoBuffers;

/// Memory the NIC can reach, handing out every kind of buffer the stack uses.
///
/// `&self` methods: a pool is shared by a queue's stack and its application, and
/// DPDK's mempools are safe to use from several threads.
pub trait BufPool {
    /// A received frame.
    type Rx: RxBuf;
    /// A writable payload buffer, owned by one writer until frozen.
    type Mut: MutBuf<Shared = Self::Shared>;
    /// A frozen, reference-counted, immutable payload buffer.
    type Shared: SharedBuf;
    /// A frame being built for transmission.
    type Frame: TxFrame<Shared = Self::Shared>;

    /// Allocates an empty writable buffer of [`BufPool::buf_capacity`] bytes.
    fn alloc_mut(&self) -> Result<Self::Mut, NoBuffers>;

    /// Allocates an empty frame whose linear part can hold at least
    /// [`BufPool::buf_capacity`] bytes of headers (and copied data).
    fn alloc_frame(&self) -> Result<Self::Frame, NoBuffers>;

    /// Turns a received frame into a frame to transmit, in place and without a copy
    /// (an ICMP echo reply rewrites the request). Assumes the received data is linear.
    fn rx_into_frame(&self, rx: Self::Rx) -> Self::Frame;

    /// Freezes a received frame whole (headers included) into a shared buffer, in
    /// place and without a copy, so its payload can be sent by reference as a range
    /// of it (a zero-copy echo or forward). Assumes the received data is linear.
    /// Releases nothing else: a segment's receive-window credit is handled by
    /// [`RxSeg::into_shared`](crate::RxSeg::into_shared).
    fn rx_into_shared(&self, rx: Self::Rx) -> Self::Shared;

    /// Copies a received frame into a new one (a duplicating fault, a capture).
    fn dup_rx(&self, rx: &Self::Rx) -> Result<Self::Rx, NoBuffers>;

    /// A second frame with the same bytes: the linear part copied, attached payload
    /// referenced again (no payload copy).
    fn dup_frame(&self, frame: &Self::Frame) -> Result<Self::Frame, NoBuffers>;

    /// How many bytes one buffer holds.
    fn buf_capacity(&self) -> usize;
}

/// A received frame, owned; dropping it returns the buffer to its pool.
pub trait RxBuf: Send + 'static {
    /// The frame's bytes, from the Ethernet header on.
    fn data(&self) -> &[u8];

    /// The frame's bytes, writable: the owner may rewrite them in place.
    fn data_mut(&mut self) -> &mut [u8];
}

/// A writable buffer being filled; [`MutBuf::freeze`] makes it shareable.
pub trait MutBuf: Send + 'static {
    /// What this buffer becomes when frozen.
    type Shared: SharedBuf;

    /// Bytes written so far.
    fn data(&self) -> &[u8];

    /// Bytes written so far, for rewriting in place.
    fn data_mut(&mut self) -> &mut [u8];

    /// Appends `bytes` (a copy, which is the writer's to account for); returns how many
    /// fitted, fewer than `bytes.len()` when the buffer is full.
    fn extend_from_slice(&mut self, bytes: &[u8]) -> usize;

    /// Bytes that can still be appended.
    fn spare(&self) -> usize;

    /// Freezes the buffer into an immutable, reference-counted handle.
    fn freeze(self) -> Self::Shared;
}

/// A frozen buffer: immutable, reference-counted, and safe to keep, share across
/// threads and send any number of times. `clone` takes another reference (no copy);
/// the memory returns to its pool when the last reference (including any frame still
/// in a NIC ring) is gone.
pub trait SharedBuf: Clone + Send + Sync + 'static {
    /// The buffer's bytes.
    fn data(&self) -> &[u8];

    /// The number of bytes.
    fn len(&self) -> usize {
        self.data().len()
    }

    /// Whether the buffer holds no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A frame being built: a linear part holding headers, then payload attached by
/// reference to [`SharedBuf`]s.
pub trait TxFrame: Send + 'static {
    /// The payload kind that can be attached.
    type Shared: SharedBuf;

    /// Grows the linear part by `len` bytes and returns them (contents unspecified);
    /// `None` if the linear part cannot grow that far or payload is already attached.
    fn append(&mut self, len: usize) -> Option<&mut [u8]>;

    /// The linear part written so far.
    fn linear(&self) -> &[u8];

    /// The linear part written so far, for rewriting in place.
    fn linear_mut(&mut self) -> &mut [u8];

    /// Shortens the linear part to `len` bytes; assumes no payload is attached yet.
    fn truncate(&mut self, len: usize);

    /// Attaches `shared[range]` after everything so far, by reference (no copy).
    /// Fails when no attachment slot is left; the frame is unchanged then.
    fn attach(&mut self, shared: &Self::Shared, range: Range<usize>) -> Result<(), NoBuffers>;

    /// The whole frame length: linear part plus attached payload.
    fn len(&self) -> usize;

    /// Calls `f` on each piece of the frame in order: the linear part, then each
    /// attachment.
    fn for_each_segment(&self, f: impl FnMut(&[u8]));

    /// Whether the frame is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The received-frame type of a pool.
pub type RxOf<P> = <P as BufPool>::Rx;
/// The writable-buffer type of a pool.
pub type MutOf<P> = <P as BufPool>::Mut;
/// The shared-buffer type of a pool.
pub type SharedOf<P> = <P as BufPool>::Shared;
/// The transmit-frame type of a pool.
pub type FrameOf<P> = <P as BufPool>::Frame;

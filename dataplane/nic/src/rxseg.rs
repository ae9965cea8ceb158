//! [`RxSeg`]: received data handed to an application, owned and read-only; and
//! [`SharedSeg`], what it becomes when the application sends it on by reference.

use crate::buf::{BufPool, RxBuf, SharedBuf};
use crate::credit::Credit;
use core::ops::{Deref, Range};

/// An owned, read-only view of part of a received buffer.
///
/// Not `Clone`: exactly one owner releases the buffer. Dropping it returns the buffer
/// to its pool and, if it carries a [`Credit`], reopens the connection's receive
/// window by the segment's original length. An application may keep it across any
/// number of events (a partial request waiting for its tail).
#[derive(Debug)]
pub struct RxSeg<R: RxBuf> {
    // Field order matters: the credit is returned after the buffer is freed.
    buf: R,
    start: u32,
    end: u32,
    credit: Option<Credit>,
}

impl<R: RxBuf> RxSeg<R> {
    /// A segment over `range` of `buf`'s data; `None` if the range is out of bounds.
    pub fn new(buf: R, range: Range<usize>) -> Option<Self> {
        if range.start > range.end || range.end > buf.data().len() {
            return None;
        }
        let start = u32::try_from(range.start).ok()?;
        let end = u32::try_from(range.end).ok()?;
        Some(RxSeg {
            buf,
            start,
            end,
            credit: None,
        })
    }

    /// Attaches the credit to return when this segment is dropped.
    pub fn with_credit(mut self, credit: Credit) -> Self {
        self.credit = Some(credit);
        self
    }

    /// The segment's bytes.
    pub fn data(&self) -> &[u8] {
        // In bounds by construction: new() checked, advance/truncate only shrink.
        &self.buf.data()[self.start as usize..self.end as usize]
    }

    /// Number of bytes still in view.
    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    /// Whether no bytes remain in view.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Drops the first `n` bytes from view (all of them if `n` exceeds the length).
    /// The buffer and credit are released only when the segment is dropped.
    pub fn advance(&mut self, n: usize) {
        let n = u32::try_from(n)
            .unwrap_or(u32::MAX)
            .min(self.end - self.start);
        self.start += n;
    }

    /// Keeps only the first `n` bytes in view.
    pub fn truncate(&mut self, n: usize) {
        let n = u32::try_from(n)
            .unwrap_or(u32::MAX)
            .min(self.end - self.start);
        self.end = self.start + n;
    }

    /// The bytes of window this segment will return when dropped.
    pub fn credit_bytes(&self) -> u32 {
        self.credit.as_ref().map_or(0, Credit::bytes)
    }

    /// Turns the segment into shareable payload without copying a byte: the received
    /// frame is frozen whole ([`BufPool::rx_into_shared`]) and the bytes still in view
    /// are a range of it. `pool` must be the pool the frame's kind belongs to.
    ///
    /// The receive-window credit is handed over, not released (see [`SharedSeg`]):
    /// the window stays closed by these bytes until the caller drops it.
    pub fn into_shared<P: BufPool<Rx = R>>(self, pool: &P) -> SharedSeg<P::Shared> {
        let RxSeg {
            buf,
            start,
            end,
            credit,
        } = self;
        SharedSeg {
            buf: pool.rx_into_shared(buf),
            range: start as usize..end as usize,
            credit,
        }
    }
}

/// A received segment made shareable payload by [`RxSeg::into_shared`]: the whole
/// received frame, frozen, the segment's bytes as a range of it, and the segment's
/// receive-window credit.
///
/// Why the credit travels beside the buffer rather than inside it: IX's receive
/// window is the buffer space the application has not released, so the credit should
/// come back when the memory does. But a [`SharedBuf`] is `Send + Sync` and its last
/// reference may go on any thread (or in a NIC's transmit ring), while a [`Credit`]
/// belongs to its core's ledger (`Rc`, no atomics on the per-packet path). So the
/// owner of this value keeps the credit on its core for as long as it wants the bytes
/// to count against the window, and drops it when the memory is accounted elsewhere.
/// The usual choice when sending the bytes on (an echo): drop it when the transport
/// reports them acknowledged (`Sent`): the stack has then released its references, and
/// what may remain (a frame still in a NIC ring) is bounded by the ring, not by the
/// connection. Dropping it at once is right only if the caller bounds the memory
/// itself (e.g. a store with its own memory limit).
#[derive(Debug)]
pub struct SharedSeg<S: SharedBuf> {
    /// The received frame, frozen whole (headers included).
    pub buf: S,
    /// Where the segment's bytes are in `buf`.
    pub range: Range<usize>,
    /// The receive-window credit the segment carried; dropping it reopens the window.
    pub credit: Option<Credit>,
}

impl<S: SharedBuf> SharedSeg<S> {
    /// The segment's bytes; assumes `range` was left as made (in bounds).
    pub fn data(&self) -> &[u8] {
        self.buf.data().get(self.range.clone()).unwrap_or_default()
    }
}

impl<R: RxBuf> Deref for RxSeg<R> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.data()
    }
}

impl<R: RxBuf> AsRef<[u8]> for RxSeg<R> {
    fn as_ref(&self) -> &[u8] {
        self.data()
    }
}

//! [`RxSeg`]: received data handed to an application, owned and read-only.

use crate::buf::RxBuf;
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

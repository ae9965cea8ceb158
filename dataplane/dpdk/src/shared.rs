//! Refcounted immutable mbufs, and zero-copy indirect mbufs attached to them.
//!
//! A [`SharedMbuf`] is to an [`Mbuf`] what `Arc<[u8]>` is to `Vec<u8>`:
//! cloning bumps DPDK's (atomic) per-segment reference counts instead of
//! copying, and the data can no longer be written. To transmit shared data
//! without copying, [`SharedMbuf::attach`] makes an indirect mbuf whose
//! segments point into the shared buffers; the buffers stay alive until the
//! last handle and the last indirect mbuf referring to them are gone.

use std::fmt;
use std::ptr::NonNull;

use dpdk_sys::rte_mbuf;

use crate::error::{Error, Result};
use crate::mbuf::{Mbuf, Segments};
use crate::mempool::Mempool;

/// A refcounted, immutable handle over an mbuf chain (`Send + Sync`).
///
/// `Clone` adds 1 to every segment's refcount; `Drop` releases one
/// reference per segment (`rte_pktmbuf_free`), freeing a segment when its
/// count reaches 0. The data is never written while shared.
pub struct SharedMbuf(NonNull<rte_mbuf>);

// SAFETY: the chain is never written while shared; refcounts are updated
// atomically by DPDK (RTE_MBUF_REFCNT_ATOMIC), and frees go to thread-safe
// mempools.
unsafe impl Send for SharedMbuf {}
// SAFETY: `&SharedMbuf` only reads immutable data and atomic refcounts.
unsafe impl Sync for SharedMbuf {}

impl SharedMbuf {
    /// Wraps a raw mbuf chain holding one reference to each segment.
    ///
    /// # Safety
    /// `raw` must be a live chain whose reference (one per segment) is
    /// transferred to the new handle, and nobody may write its data any more.
    pub(crate) unsafe fn from_raw(raw: NonNull<rte_mbuf>) -> SharedMbuf {
        SharedMbuf(raw)
    }

    fn raw(&self) -> &rte_mbuf {
        // SAFETY: the chain is live while we hold a reference; its fields are
        // not written while shared (only the atomic refcount).
        unsafe { self.0.as_ref() }
    }

    /// Returns the raw pointer for read-only FFI use; ownership stays here.
    pub fn as_ptr(&self) -> *const rte_mbuf {
        self.0.as_ptr()
    }

    /// Returns the first segment's data.
    pub fn data(&self) -> &[u8] {
        self.segments().next().unwrap_or_default()
    }

    /// Returns the first segment's data length.
    pub fn len(&self) -> usize {
        usize::from(self.raw().data_len)
    }

    /// Returns true if the first segment holds no data.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the packet's total length over all segments.
    pub fn pkt_len(&self) -> usize {
        self.raw().pkt_len as usize
    }

    /// Returns the number of segments.
    pub fn segment_count(&self) -> usize {
        usize::from(self.raw().nb_segs)
    }

    /// Iterates over the data of every segment.
    pub fn segments(&self) -> Segments<'_> {
        // SAFETY: a SharedMbuf's chain is never written, so the borrowed
        // bytes stay as they are; the reference keeps it alive.
        unsafe { Segments::new(self.0.as_ptr()) }
    }

    /// Copies the whole packet into a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        self.segments().flatten().copied().collect()
    }

    /// Returns the first segment's reference count (handles + attached indirect mbufs).
    pub fn refcnt(&self) -> u16 {
        // SAFETY: live mbuf; atomic read.
        unsafe { dpdk_sys::rte_mbuf_refcnt_read(self.0.as_ptr()) }
    }

    /// Makes an indirect mbuf chain (from `pool`, e.g. one with data room 0)
    /// whose segments point at this packet's data without copying it; each
    /// attached buffer's refcount grows by one until the indirect mbuf is
    /// freed. The result is read-only ([`Mbuf::data_mut`] refuses it) but may
    /// be shortened (`adj`/`trim`) and chained behind a header.
    pub fn attach(&self, pool: &Mempool) -> Result<Mbuf> {
        // SAFETY: our chain is live; rte_pktmbuf_clone allocates one mbuf per
        // segment from `pool`, attaches each to the corresponding buffer
        // (incrementing its refcount atomically) and returns an owned chain,
        // or NULL (having freed what it allocated) when the pool is empty.
        let raw = unsafe { dpdk_sys::rte_pktmbuf_clone(self.0.as_ptr(), pool.as_ptr()) };
        match NonNull::new(raw) {
            // SAFETY: the new chain is exclusively ours; its buffers are
            // shared, which Mbuf handles by refusing writes to them.
            Some(raw) => Ok(unsafe { Mbuf::from_raw(raw) }),
            None => Err(Error::MbufAlloc {
                pool: pool.name().to_owned(),
                count: self.segment_count(),
            }),
        }
    }

    /// Makes an indirect mbuf covering `len` bytes at `offset` of this
    /// (single-segment) packet, without copying; fails if the range is out
    /// of bounds, the packet has several segments, or `pool` is exhausted.
    pub fn attach_range(&self, pool: &Mempool, offset: usize, len: usize) -> Result<Mbuf> {
        if self.segment_count() != 1 {
            return Err(Error::MbufNoRoom {
                op: "attach_range (multi-segment)",
                asked: offset + len,
                room: self.len(),
            });
        }
        let end = offset.checked_add(len).filter(|&end| end <= self.len());
        if end.is_none() {
            return Err(Error::MbufNoRoom {
                op: "attach_range",
                asked: offset.saturating_add(len),
                room: self.len(),
            });
        }
        let mut indirect = self.attach(pool)?;
        indirect.adj(offset)?;
        indirect.trim(self.len() - offset - len)?;
        Ok(indirect)
    }

    /// Returns the exclusively owned [`Mbuf`] back if this is the only
    /// reference to every segment, or `self` unchanged otherwise.
    pub fn try_unwrap(self) -> std::result::Result<Mbuf, SharedMbuf> {
        let mut seg: *const rte_mbuf = self.0.as_ptr();
        while !seg.is_null() {
            // SAFETY: `seg` is a live segment of our chain.
            unsafe {
                if dpdk_sys::rte_mbuf_refcnt_read(seg) != 1 {
                    return Err(self);
                }
                seg = (*seg).next;
            }
        }
        let raw = self.0;
        std::mem::forget(self);
        // SAFETY: every segment's only reference was ours, so nobody else
        // can read or write the chain: it may become mutable again.
        Ok(unsafe { Mbuf::from_raw(raw) })
    }
}

/// Makes a one-segment indirect mbuf from `pool` over the same bytes as
/// segment `seg` (its buffer's refcount grows by one until the result is
/// freed); fails if `pool` is exhausted.
///
/// # Safety
/// `seg` must be a live segment whose data is never written again while the
/// returned mbuf exists (a shared or already indirect segment).
pub(crate) unsafe fn attach_segment(pool: &Mempool, seg: NonNull<rte_mbuf>) -> Result<Mbuf> {
    let indirect = pool.alloc()?;
    let raw = indirect.into_raw();
    // SAFETY: `raw` is a fresh, direct, single-segment mbuf with refcount 1
    // (as rte_pktmbuf_attach requires); `seg` is live (caller's contract);
    // attach takes a reference on seg's underlying buffer and copies its
    // data window.
    unsafe { dpdk_sys::rte_pktmbuf_attach(raw.as_ptr(), seg.as_ptr()) };
    // SAFETY: `raw` is ours; its data is shared, which Mbuf treats as read-only.
    Ok(unsafe { Mbuf::from_raw(raw) })
}

impl Clone for SharedMbuf {
    fn clone(&self) -> Self {
        let mut seg = self.0.as_ptr();
        while !seg.is_null() {
            // SAFETY: `seg` is a live segment (we hold a reference to it);
            // the increment is atomic, and the new reference is the clone's.
            unsafe {
                dpdk_sys::rte_mbuf_refcnt_update(seg, 1);
                seg = (*seg).next;
            }
        }
        SharedMbuf(self.0)
    }
}

impl Drop for SharedMbuf {
    fn drop(&mut self) {
        // SAFETY: we hold one reference per segment; rte_pktmbuf_free drops
        // each (rte_pktmbuf_free_seg semantics: decrement, free at zero).
        // `next` pointers are read before each decrement, and are only
        // cleared by whoever drops the last reference.
        unsafe { dpdk_sys::rte_pktmbuf_free(self.0.as_ptr()) }
    }
}

impl fmt::Debug for SharedMbuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedMbuf")
            .field("pkt_len", &self.pkt_len())
            .field("segments", &self.segment_count())
            .field("refcnt", &self.refcnt())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mempool::DEFAULT_DATA_ROOM;
    use crate::test_eal::{eal, unique_name};

    fn pools() -> (Mempool, Mempool) {
        let direct = Mempool::new(eal(), &unique_name("dir"), 15, 0, DEFAULT_DATA_ROOM).unwrap();
        let indirect = Mempool::new(eal(), &unique_name("ind"), 15, 0, 0).unwrap();
        (direct, indirect)
    }

    #[test]
    fn clone_and_drop_track_the_refcount() {
        let (direct, _) = pools();
        let mut m = direct.alloc().unwrap();
        m.extend_from_slice(b"shared").unwrap();
        let a = m.into_shared();
        assert_eq!(a.refcnt(), 1);
        let b = a.clone();
        let c = b.clone();
        assert_eq!(a.refcnt(), 3);
        assert_eq!(c.data(), b"shared");
        drop(b);
        assert_eq!(a.refcnt(), 2);
        assert_eq!(direct.in_use(), 1);
        drop(a);
        drop(c);
        assert_eq!(direct.in_use(), 0);
    }

    #[test]
    fn clones_cross_threads() {
        let (direct, _) = pools();
        let mut m = direct.alloc().unwrap();
        m.extend_from_slice(b"abc").unwrap();
        let shared = m.into_shared();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let s = shared.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        let t = s.clone();
                        assert_eq!(t.data(), b"abc");
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(shared.refcnt(), 1);
        drop(shared);
        assert_eq!(direct.in_use(), 0);
    }

    #[test]
    fn attach_keeps_the_direct_buffer_alive_until_both_are_dropped() {
        let (direct, indirect) = pools();
        let mut m = direct.alloc().unwrap();
        m.extend_from_slice(b"payload bytes").unwrap();
        let shared = m.into_shared();
        let mut att = shared.attach(&indirect).unwrap();
        assert_eq!(shared.refcnt(), 2);
        assert!(!att.is_direct());
        assert!(att.data_mut().is_err());
        assert!(att.append(1).is_err());
        assert!(att.prepend(1).is_err());
        assert_eq!(att.data(), b"payload bytes");
        // Same bytes, not a copy.
        assert_eq!(att.data().as_ptr(), shared.data().as_ptr());

        drop(shared);
        // The direct mbuf is still in use: the indirect one refers to it.
        assert_eq!(direct.in_use(), 1);
        assert_eq!(indirect.in_use(), 1);
        att.adj(8).unwrap();
        assert_eq!(att.data(), b"bytes");
        drop(att);
        assert_eq!(direct.in_use(), 0);
        assert_eq!(indirect.in_use(), 0);
    }

    #[test]
    fn attach_range_and_chain_behind_a_header() {
        let (direct, indirect) = pools();
        let mut m = direct.alloc().unwrap();
        m.extend_from_slice(b"0123456789").unwrap();
        let payload = m.into_shared();

        let mut frame = direct.alloc().unwrap();
        frame.extend_from_slice(b"HDR:").unwrap();
        frame
            .chain(payload.attach_range(&indirect, 2, 5).unwrap())
            .unwrap();
        frame
            .chain(payload.attach_range(&indirect, 0, 1).unwrap())
            .unwrap();
        assert_eq!(frame.to_vec(), b"HDR:234560");
        assert_eq!(frame.segment_count(), 3);
        assert_eq!(payload.refcnt(), 3);
        assert!(payload.attach_range(&indirect, 8, 3).is_err());

        drop(payload);
        assert_eq!(direct.in_use(), 2);
        drop(frame);
        assert_eq!(direct.in_use(), 0);
        assert_eq!(indirect.in_use(), 0);
    }

    #[test]
    fn attach_a_chain() {
        let (direct, indirect) = pools();
        let mut head = direct.alloc().unwrap();
        head.extend_from_slice(b"ab").unwrap();
        let mut tail = direct.alloc().unwrap();
        tail.extend_from_slice(b"cd").unwrap();
        head.chain(tail).unwrap();
        let shared = head.into_shared();
        let att = shared.attach(&indirect).unwrap();
        assert_eq!(att.segment_count(), 2);
        assert_eq!(att.to_vec(), b"abcd");
        let twice = shared.clone();
        drop(shared);
        drop(twice);
        assert_eq!(direct.in_use(), 2);
        drop(att);
        assert_eq!(direct.in_use(), 0);
        assert_eq!(indirect.in_use(), 0);
    }

    #[test]
    fn try_unwrap_only_when_unique() {
        let (direct, indirect) = pools();
        let shared = direct.alloc().unwrap().into_shared();
        let other = shared.clone();
        let shared = shared.try_unwrap().unwrap_err();
        drop(other);
        let att = shared.attach(&indirect).unwrap();
        let shared = shared.try_unwrap().unwrap_err();
        drop(att);
        let mut m = shared.try_unwrap().unwrap();
        m.extend_from_slice(b"mine again").unwrap();
        assert_eq!(m.data(), b"mine again");
    }
}

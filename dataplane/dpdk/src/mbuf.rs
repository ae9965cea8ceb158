//! Owned packet buffers (`rte_mbuf`), possibly chained into segments.

use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;

use dpdk_sys::rte_mbuf;

use crate::error::{Error, Result};
use crate::shared::SharedMbuf;

/// An exclusively owned mbuf (the first segment of a packet, with any
/// chained segments); frees the whole chain on drop.
///
/// `#[repr(transparent)]` over `NonNull<rte_mbuf>`, so an array of `Mbuf`
/// is an array of `struct rte_mbuf *` as burst functions expect.
///
/// Ownership makes a double free impossible: the only ways out are `Drop`
/// (which calls `rte_pktmbuf_free`), [`into_raw`](Mbuf::into_raw) and
/// [`into_shared`](Mbuf::into_shared). An `Mbuf` may still refer to a data
/// buffer it does not own alone (an indirect mbuf from
/// [`SharedMbuf::attach`]); such segments are read-only, and the methods
/// that write data refuse them with [`Error::MbufShared`].
#[repr(transparent)]
pub struct Mbuf(NonNull<rte_mbuf>);

// SAFETY: an Mbuf is exclusively owned; freeing it from another thread is
// allowed (mempool puts are thread-safe), and a shared data buffer it may
// reference is only read, with its refcount maintained atomically.
unsafe impl Send for Mbuf {}
// SAFETY: `&Mbuf` only reads the mbuf and its data.
unsafe impl Sync for Mbuf {}

/// Whether a segment may be written: it owns its buffer (direct, not
/// external) and nothing else refers to it (refcount 1).
///
/// # Safety
/// `m` must point to a live mbuf.
unsafe fn segment_writable(m: *const rte_mbuf) -> bool {
    let flags = dpdk_sys::RTE_MBUF_F_INDIRECT | dpdk_sys::RTE_MBUF_F_EXTERNAL;
    // SAFETY: per the contract, m is live; the refcount read is atomic.
    unsafe { (*m).ol_flags & flags == 0 && dpdk_sys::rte_mbuf_refcnt_read(m) == 1 }
}

/// The data of one segment.
///
/// # Safety
/// `m` must point to a live mbuf whose buffer holds `data_len` bytes at
/// `data_off`, and nobody may write them during `'a`.
unsafe fn segment_data<'a>(m: *const rte_mbuf) -> &'a [u8] {
    // SAFETY: per the contract.
    unsafe {
        let start = (*m).buf_addr.cast::<u8>().add(usize::from((*m).data_off));
        std::slice::from_raw_parts(start, usize::from((*m).data_len))
    }
}

impl Mbuf {
    /// Takes ownership of a raw mbuf (e.g. from a burst array).
    ///
    /// # Safety
    /// `raw` must be a valid mbuf (chain) that nothing else owns or will
    /// free; if its data buffer is shared, only through indirect mbufs.
    pub unsafe fn from_raw(raw: NonNull<rte_mbuf>) -> Mbuf {
        Mbuf(raw)
    }

    /// Gives up ownership without freeing; the caller must free the mbuf
    /// (e.g. by handing it to a driver) or rebuild it with `from_raw`.
    pub fn into_raw(self) -> NonNull<rte_mbuf> {
        let raw = self.0;
        std::mem::forget(self);
        raw
    }

    /// Returns the raw pointer for read-only FFI use; ownership stays here.
    pub fn as_ptr(&self) -> *const rte_mbuf {
        self.0.as_ptr()
    }

    fn raw(&self) -> &rte_mbuf {
        // SAFETY: we own a live mbuf; the fields read through this reference
        // are not written concurrently (only the atomic refcount may be).
        unsafe { self.0.as_ref() }
    }

    fn last_segment(&self) -> *mut rte_mbuf {
        // SAFETY: we own the live chain.
        unsafe { dpdk_sys::rte_pktmbuf_lastseg(self.0.as_ptr()) }
    }

    /// Returns the first segment's data.
    pub fn data(&self) -> &[u8] {
        // SAFETY: we own the mbuf; its bytes are only written through
        // `&mut self` (and never when shared), so they are stable for `&self`.
        unsafe { segment_data(self.0.as_ptr()) }
    }

    /// Returns the first segment's data for writing; fails if its buffer is
    /// shared (an indirect mbuf, or a refcount above 1).
    pub fn data_mut(&mut self) -> Result<&mut [u8]> {
        if !self.is_writable() {
            return Err(Error::MbufShared { op: "data_mut" });
        }
        // SAFETY: the buffer is ours alone (checked above) and `&mut self`
        // excludes other access for the returned lifetime.
        unsafe {
            let m = self.0.as_ptr();
            let start = (*m).buf_addr.cast::<u8>().add(usize::from((*m).data_off));
            Ok(std::slice::from_raw_parts_mut(
                start,
                usize::from((*m).data_len),
            ))
        }
    }

    /// Returns the first segment's data length in bytes.
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

    /// Returns the number of segments in the chain.
    pub fn segment_count(&self) -> usize {
        usize::from(self.raw().nb_segs)
    }

    /// Returns the free bytes in front of the first segment's data.
    pub fn headroom(&self) -> usize {
        usize::from(self.raw().data_off)
    }

    /// Returns the free bytes after the last segment's data.
    pub fn tailroom(&self) -> usize {
        // SAFETY: the last segment is part of our live chain.
        usize::from(unsafe { dpdk_sys::rte_pktmbuf_tailroom(self.last_segment()) })
    }

    /// Returns the first segment's reference count (1 unless shared).
    pub fn refcnt(&self) -> u16 {
        // SAFETY: live mbuf; atomic read.
        unsafe { dpdk_sys::rte_mbuf_refcnt_read(self.0.as_ptr()) }
    }

    /// Returns true if the first segment owns its data buffer (not indirect or external).
    pub fn is_direct(&self) -> bool {
        self.raw().ol_flags & (dpdk_sys::RTE_MBUF_F_INDIRECT | dpdk_sys::RTE_MBUF_F_EXTERNAL) == 0
    }

    /// Returns true if the first segment's data may be written (direct, refcount 1).
    pub fn is_writable(&self) -> bool {
        // SAFETY: live mbuf.
        unsafe { segment_writable(self.0.as_ptr()) }
    }

    /// Returns the port the packet was received on (as set by the driver).
    pub fn port(&self) -> u16 {
        self.raw().port
    }

    /// Returns the RSS hash the NIC computed, if it reported one.
    pub fn rss_hash(&self) -> Option<u32> {
        let m = self.raw();
        if m.ol_flags & u64::from(dpdk_sys::RTE_MBUF_F_RX_RSS_HASH) == 0 {
            return None;
        }
        // SAFETY: with RTE_MBUF_F_RX_RSS_HASH set, the hash union holds `rss`.
        Some(unsafe { m.__bindgen_anon_2.hash.rss })
    }

    /// Grows the last segment by `len` bytes at its end and returns them
    /// (their contents are whatever the buffer held); fails without
    /// change if there is not enough tailroom or the segment is shared.
    pub fn append(&mut self, len: usize) -> Result<&mut [u8]> {
        let last = self.last_segment();
        // SAFETY: `last` is a live segment of our chain.
        if !unsafe { segment_writable(last) } {
            return Err(Error::MbufShared { op: "append" });
        }
        let room = self.tailroom();
        let Ok(len16) = u16::try_from(len) else {
            return Err(Error::MbufNoRoom {
                op: "append",
                asked: len,
                room,
            });
        };
        // SAFETY: we own the chain; DPDK checks the tailroom.
        let ptr = unsafe { dpdk_sys::rte_pktmbuf_append(self.0.as_ptr(), len16) };
        if ptr.is_null() {
            return Err(Error::MbufNoRoom {
                op: "append",
                asked: len,
                room,
            });
        }
        // SAFETY: DPDK returned the start of `len` bytes inside the last
        // segment's buffer, which is ours alone (checked writable above).
        Ok(unsafe { std::slice::from_raw_parts_mut(ptr.cast::<u8>(), len) })
    }

    /// Appends a copy of `bytes` to the end of the packet; fails like [`append`](Self::append).
    pub fn extend_from_slice(&mut self, bytes: &[u8]) -> Result<()> {
        self.append(bytes.len())?.copy_from_slice(bytes);
        Ok(())
    }

    /// Grows the first segment by `len` bytes at its front and returns them;
    /// fails without change if there is not enough headroom or it is shared.
    pub fn prepend(&mut self, len: usize) -> Result<&mut [u8]> {
        if !self.is_writable() {
            return Err(Error::MbufShared { op: "prepend" });
        }
        let room = self.headroom();
        let Ok(len16) = u16::try_from(len) else {
            return Err(Error::MbufNoRoom {
                op: "prepend",
                asked: len,
                room,
            });
        };
        // SAFETY: we own the mbuf; DPDK checks the headroom.
        let ptr = unsafe { dpdk_sys::rte_pktmbuf_prepend(self.0.as_ptr(), len16) };
        if ptr.is_null() {
            return Err(Error::MbufNoRoom {
                op: "prepend",
                asked: len,
                room,
            });
        }
        // SAFETY: `len` bytes at `ptr` lie in our exclusively owned buffer.
        Ok(unsafe { std::slice::from_raw_parts_mut(ptr.cast::<u8>(), len) })
    }

    /// Removes `len` bytes from the front of the first segment; fails
    /// without change if that segment holds fewer. Allowed on shared buffers.
    pub fn adj(&mut self, len: usize) -> Result<()> {
        let room = self.len();
        let too_long = || Error::MbufNoRoom {
            op: "adj",
            asked: len,
            room,
        };
        let len16 = u16::try_from(len).map_err(|_| too_long())?;
        // SAFETY: we own the mbuf; shrinking only moves our own offsets.
        let ptr = unsafe { dpdk_sys::rte_pktmbuf_adj(self.0.as_ptr(), len16) };
        if ptr.is_null() {
            return Err(too_long());
        }
        Ok(())
    }

    /// Removes `len` bytes from the end of the last segment; fails without
    /// change if that segment holds fewer. Allowed on shared buffers.
    pub fn trim(&mut self, len: usize) -> Result<()> {
        // SAFETY: `last_segment` is a live segment of our chain.
        let room = usize::from(unsafe { (*self.last_segment()).data_len });
        let too_long = || Error::MbufNoRoom {
            op: "trim",
            asked: len,
            room,
        };
        let len16 = u16::try_from(len).map_err(|_| too_long())?;
        // SAFETY: we own the chain; shrinking only changes our lengths.
        let ret = unsafe { dpdk_sys::rte_pktmbuf_trim(self.0.as_ptr(), len16) };
        if ret != 0 {
            return Err(too_long());
        }
        Ok(())
    }

    /// Appends `tail`'s segments after this packet's last one (this packet's
    /// length grows by `tail.pkt_len()`); gives `tail` back if the chain
    /// would exceed DPDK's segment limit.
    pub fn chain(&mut self, tail: Mbuf) -> std::result::Result<(), ChainError> {
        // SAFETY: both chains are live and ours; on success `tail` becomes
        // part of our chain, so its ownership moves into `self`.
        let ret = unsafe { dpdk_sys::rte_pktmbuf_chain(self.0.as_ptr(), tail.0.as_ptr()) };
        if ret != 0 {
            return Err(ChainError { tail });
        }
        let _ = tail.into_raw();
        Ok(())
    }

    /// Iterates over the data of every segment, first to last.
    pub fn segments(&self) -> Segments<'_> {
        // SAFETY: we own the chain; `&self` keeps its bytes unwritten.
        unsafe { Segments::new(self.0.as_ptr()) }
    }

    /// Iterates over the raw segments of the chain, first to last; the
    /// pointers are valid while `self` is borrowed.
    pub(crate) fn raw_segments(&self) -> impl Iterator<Item = NonNull<rte_mbuf>> + '_ {
        std::iter::successors(Some(self.0), |seg| {
            // SAFETY: `seg` is a live segment of our chain, borrowed via `self`.
            NonNull::new(unsafe { seg.as_ref().next })
        })
    }

    /// Copies the whole packet (all segments) into a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.pkt_len());
        for segment in self.segments() {
            out.extend_from_slice(segment);
        }
        out
    }

    /// Turns this mbuf into a refcounted, immutable [`SharedMbuf`].
    pub fn into_shared(self) -> SharedMbuf {
        // SAFETY: we give up our exclusive ownership to the shared handle,
        // which from now on only reads the chain.
        unsafe { SharedMbuf::from_raw(self.into_raw()) }
    }
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: we own the chain; rte_pktmbuf_free frees every segment
        // (or drops our reference to each shared one) exactly once.
        unsafe { dpdk_sys::rte_pktmbuf_free(self.0.as_ptr()) }
    }
}

impl fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mbuf")
            .field("len", &self.len())
            .field("pkt_len", &self.pkt_len())
            .field("segments", &self.segment_count())
            .field("direct", &self.is_direct())
            .field("refcnt", &self.refcnt())
            .finish()
    }
}

/// The tail given back by a [`Mbuf::chain`] that would exceed the segment limit.
#[derive(Debug, thiserror::Error)]
#[error(
    "mbuf chain: too many segments (limit {})",
    dpdk_sys::RTE_MBUF_MAX_NB_SEGS
)]
pub struct ChainError {
    /// The mbuf that was not chained, returned to the caller.
    pub tail: Mbuf,
}

/// Iterator over the data of an mbuf chain's segments.
pub struct Segments<'a> {
    next: *const rte_mbuf,
    _owner: PhantomData<&'a rte_mbuf>,
}

impl Segments<'_> {
    /// Starts iterating at `first`.
    ///
    /// # Safety
    /// `first` must be a live chain whose bytes are not written while the
    /// iterator (and the slices it yields) are borrowed.
    pub(crate) unsafe fn new(first: *const rte_mbuf) -> Self {
        Segments {
            next: first,
            _owner: PhantomData,
        }
    }
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.next.is_null() {
            return None;
        }
        let m = self.next;
        // SAFETY: `m` is a live segment of a chain borrowed for 'a, whose
        // bytes are not written while borrowed.
        unsafe {
            self.next = (*m).next;
            Some(segment_data(m))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mempool::{Mempool, DEFAULT_DATA_ROOM, HEADROOM};
    use crate::test_eal::{eal, unique_name};

    fn pool(n: u32) -> Mempool {
        Mempool::new(eal(), &unique_name("mbuf"), n, 0, DEFAULT_DATA_ROOM).unwrap()
    }

    #[test]
    fn append_prepend_adj_trim() {
        let pool = pool(7);
        let mut m = pool.alloc().unwrap();
        assert!(m.is_empty());
        assert_eq!(m.headroom(), usize::from(HEADROOM));
        m.extend_from_slice(b"world").unwrap();
        m.prepend(6).unwrap().copy_from_slice(b"hello ");
        assert_eq!(m.data(), b"hello world");
        assert_eq!(m.pkt_len(), 11);
        m.adj(6).unwrap();
        m.trim(2).unwrap();
        assert_eq!(m.data(), b"wor");
        m.data_mut().unwrap()[0] = b'W';
        assert_eq!(m.to_vec(), b"Wor");
    }

    #[test]
    fn growth_beyond_room_is_an_error_without_change() {
        let pool = pool(7);
        let mut m = pool.alloc().unwrap();
        let tail = m.tailroom();
        assert!(matches!(
            m.append(tail + 1),
            Err(Error::MbufNoRoom { op: "append", .. })
        ));
        assert!(matches!(
            m.prepend(m.headroom() + 1),
            Err(Error::MbufNoRoom { op: "prepend", .. })
        ));
        assert!(matches!(m.append(70_000), Err(Error::MbufNoRoom { .. })));
        m.extend_from_slice(b"abc").unwrap();
        assert!(matches!(m.adj(4), Err(Error::MbufNoRoom { op: "adj", .. })));
        assert!(matches!(
            m.trim(4),
            Err(Error::MbufNoRoom { op: "trim", .. })
        ));
        assert_eq!(m.data(), b"abc");
        m.append(tail - 3).unwrap();
        assert_eq!(m.tailroom(), 0);
    }

    #[test]
    fn drop_frees_and_counts_return_to_zero() {
        let pool = pool(31);
        let ms: Vec<Mbuf> = (0..10).map(|_| pool.alloc().unwrap()).collect();
        assert_eq!(pool.in_use(), 10);
        drop(ms);
        assert_eq!(pool.in_use(), 0);
    }

    #[test]
    fn chain_frees_all_segments_and_iterates_them() {
        let pool = pool(15);
        let mut head = pool.alloc().unwrap();
        head.extend_from_slice(b"head-").unwrap();
        for part in [&b"one-"[..], b"two-", b"three"] {
            let mut seg = pool.alloc().unwrap();
            seg.extend_from_slice(part).unwrap();
            head.chain(seg).unwrap();
        }
        assert_eq!(pool.in_use(), 4);
        assert_eq!(head.segment_count(), 4);
        assert_eq!(head.pkt_len(), 18);
        assert_eq!(head.len(), 5);
        let segs: Vec<&[u8]> = head.segments().collect();
        assert_eq!(segs, [&b"head-"[..], b"one-", b"two-", b"three"]);
        assert_eq!(head.to_vec(), b"head-one-two-three");
        // Appending goes to the last segment, trimming comes off it.
        head.extend_from_slice(b"!").unwrap();
        head.trim(2).unwrap();
        assert_eq!(head.to_vec(), b"head-one-two-thre");
        drop(head);
        assert_eq!(pool.in_use(), 0);
    }

    #[test]
    fn raw_round_trip_keeps_ownership() {
        let pool = pool(7);
        let m = pool.alloc().unwrap();
        let raw = m.into_raw();
        assert_eq!(pool.in_use(), 1);
        // SAFETY: `raw` came from into_raw and is owned by nobody else.
        let m = unsafe { Mbuf::from_raw(raw) };
        drop(m);
        assert_eq!(pool.in_use(), 0);
    }

    #[test]
    fn mbufs_move_between_threads() {
        let pool = pool(7);
        let mut m = pool.alloc().unwrap();
        m.extend_from_slice(b"x").unwrap();
        let handle = std::thread::spawn(move || m.to_vec());
        assert_eq!(handle.join().unwrap(), b"x");
        assert_eq!(pool.in_use(), 0);
    }
}

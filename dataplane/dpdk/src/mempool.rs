//! Pools of packet buffers (`rte_pktmbuf_pool_create`).

use std::ffi::CString;
use std::fmt;
use std::ptr::NonNull;
use std::sync::Arc;

use arrayvec::ArrayVec;

use crate::eal::{Eal, EalToken};
use crate::error::{Errno, Error, Result};
use crate::mbuf::Mbuf;

/// Longest mempool name DPDK accepts (`RTE_MEMPOOL_NAMESIZE` minus the NUL).
pub const MAX_NAME_LEN: usize = dpdk_sys::RTE_MEMPOOL_NAMESIZE as usize - 1;

/// Default data room per mbuf: 2048 bytes of data plus DPDK's headroom.
pub const DEFAULT_DATA_ROOM: u16 = dpdk_sys::RTE_MBUF_DEFAULT_BUF_SIZE as u16;

/// Headroom DPDK reserves in front of received data (`RTE_PKTMBUF_HEADROOM`).
pub const HEADROOM: u16 = dpdk_sys::RTE_PKTMBUF_HEADROOM as u16;

/// A pool of mbufs: a cheap-to-clone, thread-safe handle (`Send + Sync`).
///
/// The pool is freed when the last handle goes, provided no mbuf from it is
/// still in use (held by the application or a driver ring); otherwise it is
/// leaked on purpose, since freeing it would leave those mbufs dangling.
#[derive(Clone)]
pub struct Mempool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    raw: NonNull<dpdk_sys::rte_mempool>,
    name: String,
    token: Arc<EalToken>,
}

// SAFETY: DPDK mempools are multi-producer/multi-consumer safe; the pointer
// is only used through DPDK's thread-safe get/put/count functions.
unsafe impl Send for PoolInner {}
// SAFETY: as above; `&PoolInner` gives no unsynchronized mutation.
unsafe impl Sync for PoolInner {}

impl Mempool {
    /// Creates a pool of `n` mbufs with `data_room` bytes each (headroom
    /// included; 0 for a pool of indirect mbufs only) and a per-lcore cache
    /// of `cache` mbufs; fails with a clear error if it does not fit in the
    /// EAL's memory (`-m`), if the name is taken, or on bad sizes.
    pub fn new(eal: &Eal, name: &str, n: u32, cache: u32, data_room: u16) -> Result<Mempool> {
        let c_name = validate_name(name)?;
        // SAFETY: c_name is a valid C string; the EAL is initialized (we hold
        // `eal`); the sizes are checked by DPDK, which reports errors via rte_errno.
        let raw = unsafe {
            dpdk_sys::rte_pktmbuf_pool_create(
                c_name.as_ptr(),
                n,
                cache,
                0,
                data_room,
                dpdk_sys::SOCKET_ID_ANY,
            )
        };
        Self::created(eal, name, raw, n, cache, data_room)
    }

    /// As [`new`](Self::new), but with the mbufs packed back to back in one
    /// virtually contiguous chunk (`RTE_MEMPOOL_F_NO_IOVA_CONTIG`: an mbuf may
    /// straddle a page), so the pool's memory is exactly `n` times the object
    /// size. For drivers that register the pool's memory whole, as DPDK 22.11's
    /// `net_af_xdp` does for its AF_XDP umem (it assumes that size); a pool
    /// padded to keep each mbuf in one 4 KiB page (`--no-huge`) would leave
    /// its last mbufs outside the umem. Never for DMA by a PCI device.
    pub fn new_packed(
        eal: &Eal,
        name: &str,
        n: u32,
        cache: u32,
        data_room: u16,
    ) -> Result<Mempool> {
        let c_name = validate_name(name)?;
        let mut private = dpdk_sys::rte_pktmbuf_pool_private {
            mbuf_data_room_size: data_room,
            mbuf_priv_size: 0,
            flags: 0,
        };
        let elt_size = std::mem::size_of::<dpdk_sys::rte_mbuf>() as u32 + u32::from(data_room);
        // SAFETY: as in `new`; this is what rte_pktmbuf_pool_create does, with
        // one more flag: the pool-init callback reads `private` (which outlives
        // the call) and copies it into the pool, the object callback
        // initializes each mbuf.
        let raw = unsafe {
            dpdk_sys::rte_mempool_create(
                c_name.as_ptr(),
                n,
                elt_size,
                cache,
                std::mem::size_of::<dpdk_sys::rte_pktmbuf_pool_private>() as u32,
                Some(dpdk_sys::rte_pktmbuf_pool_init),
                (&mut private as *mut dpdk_sys::rte_pktmbuf_pool_private).cast(),
                Some(dpdk_sys::rte_pktmbuf_init),
                std::ptr::null_mut(),
                dpdk_sys::SOCKET_ID_ANY,
                dpdk_sys::RTE_MEMPOOL_F_NO_IOVA_CONTIG,
            )
        };
        // SAFETY: a non-null result is a live, fully populated pool.
        let chunks = NonNull::new(raw).map(|p| unsafe { p.as_ref().nb_mem_chunks });
        if chunks.is_some_and(|c| c != 1) {
            // SAFETY: the pool was just created; no mbuf of it is out.
            unsafe { dpdk_sys::rte_mempool_free(raw) };
            return Err(Error::MempoolCreate {
                name: name.to_owned(),
                n,
                cache,
                data_room,
                errno: Errno::from_code(libc::ENOMEM),
                hint: "; no virtually contiguous memory for the whole packed pool: give the EAL more memory (-m)",
            });
        }
        Self::created(eal, name, raw, n, cache, data_room)
    }

    /// Wraps what a pool constructor returned, or explains its failure.
    fn created(
        eal: &Eal,
        name: &str,
        raw: *mut dpdk_sys::rte_mempool,
        n: u32,
        cache: u32,
        data_room: u16,
    ) -> Result<Mempool> {
        let Some(raw) = NonNull::new(raw) else {
            let errno = Errno::last();
            let hint = match errno.code {
                // Which of these DPDK reports depends on the step that ran out
                // (memzone, ring or object memory).
                libc::ENOMEM | libc::ENOSPC | libc::ENOBUFS => {
                    "; the pool does not fit in the EAL's memory: use fewer or smaller mbufs, or give more memory (-m)"
                }
                libc::EEXIST => "; a mempool with this name already exists in this process",
                libc::EINVAL => "; the cache must be at most 512 and at most n / 1.5",
                _ => "",
            };
            return Err(Error::MempoolCreate {
                name: name.to_owned(),
                n,
                cache,
                data_room,
                errno,
                hint,
            });
        };
        Ok(Mempool {
            inner: Arc::new(PoolInner {
                raw,
                name: name.to_owned(),
                token: eal.token(),
            }),
        })
    }

    /// Returns the pool's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Returns the raw pool pointer, for FFI; it stays valid while `self` lives.
    pub fn as_ptr(&self) -> *mut dpdk_sys::rte_mempool {
        self.inner.raw.as_ptr()
    }

    /// Returns how many mbufs the pool holds in total.
    pub fn capacity(&self) -> u32 {
        // SAFETY: the pool is alive; `size` is immutable after creation.
        unsafe { (*self.inner.raw.as_ptr()).size }
    }

    /// Returns how many mbufs are free (in the pool's ring or lcore caches).
    pub fn available(&self) -> u32 {
        // SAFETY: the pool is alive; the count is computed from atomics.
        unsafe { dpdk_sys::rte_mempool_avail_count(self.inner.raw.as_ptr()) }
    }

    /// Returns how many mbufs are in use (held by the application or drivers).
    pub fn in_use(&self) -> u32 {
        // SAFETY: as in `available`.
        unsafe { dpdk_sys::rte_mempool_in_use_count(self.inner.raw.as_ptr()) }
    }

    /// Returns the data room of each mbuf in bytes (headroom included).
    pub fn data_room(&self) -> u16 {
        // SAFETY: the pool is a pktmbuf pool (created by rte_pktmbuf_pool_create).
        unsafe { dpdk_sys::rte_pktmbuf_data_room_size(self.inner.raw.as_ptr()) }
    }

    /// Allocates one empty mbuf (length 0, default headroom); fails if the pool is exhausted.
    pub fn alloc(&self) -> Result<Mbuf> {
        // SAFETY: the pool is alive and a pktmbuf pool.
        let raw = unsafe { dpdk_sys::rte_pktmbuf_alloc(self.inner.raw.as_ptr()) };
        match NonNull::new(raw) {
            // SAFETY: a freshly allocated mbuf is exclusively ours.
            Some(raw) => Ok(unsafe { Mbuf::from_raw(raw) }),
            None => Err(Error::MbufAlloc {
                pool: self.inner.name.clone(),
                count: 1,
            }),
        }
    }

    /// Appends `count` empty mbufs to `buf` in one bulk allocation (all or
    /// nothing); fails if `buf` lacks room for them or the pool is exhausted.
    pub fn alloc_bulk<const N: usize>(
        &self,
        buf: &mut ArrayVec<Mbuf, N>,
        count: usize,
    ) -> Result<()> {
        if count > buf.remaining_capacity() {
            return Err(Error::MbufAlloc {
                pool: self.inner.name.clone(),
                count,
            });
        }
        let len = buf.len();
        // `count <= N`, so it fits in a c_uint.
        let n = count as u32;
        // SAFETY: the ArrayVec's storage has room for `count` more elements
        // after `len`; Mbuf is #[repr(transparent)] over NonNull<rte_mbuf>,
        // which has the layout of `*mut rte_mbuf`.
        let ret = unsafe {
            let spare = buf.as_mut_ptr().add(len).cast::<*mut dpdk_sys::rte_mbuf>();
            dpdk_sys::rte_pktmbuf_alloc_bulk(self.inner.raw.as_ptr(), spare, n)
        };
        if ret != 0 {
            return Err(Error::MbufAlloc {
                pool: self.inner.name.clone(),
                count,
            });
        }
        // SAFETY: on success DPDK wrote `count` valid, non-null, freshly
        // allocated mbuf pointers into the spare slots, which we now own.
        unsafe { buf.set_len(len + count) };
        Ok(())
    }
}

impl fmt::Debug for Mempool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mempool")
            .field("name", &self.inner.name)
            .field("capacity", &self.capacity())
            .field("in_use", &self.in_use())
            .finish()
    }
}

impl Drop for PoolInner {
    fn drop(&mut self) {
        // SAFETY: the pool is alive until freed below.
        let in_use = unsafe { dpdk_sys::rte_mempool_in_use_count(self.raw.as_ptr()) };
        if in_use == 0 {
            // SAFETY: no handle remains and no mbuf from the pool is in use,
            // so nothing can reach the pool after this.
            unsafe { dpdk_sys::rte_mempool_free(self.raw.as_ptr()) };
        } else {
            tracing::warn!(
                pool = %self.name,
                in_use,
                "mempool dropped with mbufs still in use: leaking it (and keeping the EAL alive)"
            );
            // Those mbufs still point into the pool and into EAL memory.
            std::mem::forget(Arc::clone(&self.token));
        }
    }
}

/// Checks a mempool name against DPDK's limits and converts it.
fn validate_name(name: &str) -> Result<CString> {
    let invalid = |reason: String| Error::InvalidName {
        what: "mempool",
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("empty".to_owned()));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(invalid(format!("longer than {MAX_NAME_LEN} bytes")));
    }
    CString::new(name).map_err(|_| invalid("contains a NUL byte".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_eal::{eal, unique_name};

    #[test]
    fn packed_pool_lays_mbufs_back_to_back() {
        let n = 255;
        let pool =
            Mempool::new_packed(eal(), &unique_name("pack"), n, 0, DEFAULT_DATA_ROOM).unwrap();
        assert_eq!(pool.capacity(), n);
        assert_eq!(pool.data_room(), DEFAULT_DATA_ROOM);
        let held: Vec<Mbuf> = (0..n).map(|_| pool.alloc().unwrap()).collect();
        let mut at: Vec<usize> = held.iter().map(|m| m.as_ptr() as usize).collect();
        at.sort_unstable();
        // Object header (one cache line), mbuf, data room; no padding to keep
        // each mbuf in one 4 KiB page (a --no-huge pool of `new` has 4096).
        let stride = at[1] - at[0];
        let object =
            64 + std::mem::size_of::<dpdk_sys::rte_mbuf>() + usize::from(DEFAULT_DATA_ROOM);
        assert_eq!(stride, object);
        // Evenly spaced: the pool spans exactly n objects.
        assert!(at.windows(2).all(|w| w[1] - w[0] == stride), "{at:x?}");
        drop(held);
        assert_eq!(pool.in_use(), 0);
    }

    #[test]
    fn counts_track_alloc_and_free() {
        let pool = Mempool::new(eal(), &unique_name("cnt"), 255, 0, DEFAULT_DATA_ROOM).unwrap();
        assert_eq!(pool.capacity(), 255);
        assert_eq!(pool.in_use(), 0);
        assert_eq!(pool.data_room(), DEFAULT_DATA_ROOM);
        let a = pool.alloc().unwrap();
        let b = pool.alloc().unwrap();
        assert_eq!(pool.in_use(), 2);
        assert_eq!(pool.available(), 253);
        drop(a);
        drop(b);
        assert_eq!(pool.in_use(), 0);
    }

    #[test]
    fn bulk_alloc_fills_the_array_and_fails_cleanly_when_exhausted() {
        let pool = Mempool::new(eal(), &unique_name("bulk"), 63, 0, DEFAULT_DATA_ROOM).unwrap();
        let mut buf: ArrayVec<Mbuf, 64> = ArrayVec::new();
        pool.alloc_bulk(&mut buf, 40).unwrap();
        assert_eq!(buf.len(), 40);
        assert_eq!(pool.in_use(), 40);
        // 23 left: asking for 24 allocates nothing.
        let err = pool.alloc_bulk(&mut buf, 24).unwrap_err();
        assert!(matches!(err, Error::MbufAlloc { count: 24, .. }), "{err}");
        assert_eq!(buf.len(), 40);
        assert_eq!(pool.in_use(), 40);
        buf.clear();
        assert_eq!(pool.in_use(), 0);
    }

    #[test]
    fn exhausted_pool_reports_error() {
        let pool = Mempool::new(eal(), &unique_name("exh"), 3, 0, DEFAULT_DATA_ROOM).unwrap();
        let held: Vec<_> = (0..3).map(|_| pool.alloc().unwrap()).collect();
        let err = pool.alloc().unwrap_err();
        assert!(err.to_string().contains("exhausted"), "{err}");
        drop(held);
        assert!(pool.alloc().is_ok());
    }

    #[test]
    fn duplicate_and_bad_names_are_errors() {
        let name = unique_name("dup");
        let _pool = Mempool::new(eal(), &name, 15, 0, DEFAULT_DATA_ROOM).unwrap();
        let err = Mempool::new(eal(), &name, 15, 0, DEFAULT_DATA_ROOM).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        let err = Mempool::new(eal(), &"x".repeat(MAX_NAME_LEN + 1), 15, 0, 0).unwrap_err();
        assert!(matches!(err, Error::InvalidName { .. }), "{err}");
    }

    #[test]
    fn bad_cache_size_is_an_error() {
        let err =
            Mempool::new(eal(), &unique_name("cache"), 15, 600, DEFAULT_DATA_ROOM).unwrap_err();
        assert!(matches!(err, Error::MempoolCreate { .. }), "{err}");
    }
}

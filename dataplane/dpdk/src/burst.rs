//! Burst receive and transmit into fixed-capacity arrays.
//!
//! A [`Burst`] is an `ArrayVec<Mbuf, N>`: receiving writes the driver's mbuf
//! pointers straight into its spare capacity, and transmitting hands the
//! first mbufs to the driver and shifts the unsent ones to the front. No
//! allocation happens per packet or per burst. The capacity `N` (64 by
//! default) and the `max` arguments let benchmarks choose burst sizes.

use std::marker::PhantomData;

use arrayvec::ArrayVec;

use crate::error::{Error, Result};
use crate::mbuf::Mbuf;
use crate::port::Port;

/// Default (and usual maximum) number of packets per burst.
pub const BURST_MAX: usize = 64;

/// A fixed-capacity array of mbufs for one burst.
pub type Burst<const N: usize = BURST_MAX> = ArrayVec<Mbuf, N>;

/// Owned-mbuf types laid out exactly as `struct rte_mbuf *`, so arrays of
/// them can be handed to DPDK's burst functions.
///
/// # Safety
/// Implementors must be `#[repr(transparent)]` over [`Mbuf`] (directly or
/// through another implementor), and valid for any owned mbuf that a driver
/// returns (or the burst code must check their extra invariants itself).
pub(crate) unsafe trait MbufRepr: Sized {}

// SAFETY: Mbuf is #[repr(transparent)] over NonNull<rte_mbuf>.
unsafe impl MbufRepr for Mbuf {}

/// Receives up to `max` packets (at most the spare capacity) from `port`'s
/// queue `queue` into `buf`.
///
/// # Safety
/// `port` must be a configured port with more than `queue` rx queues, and no
/// other thread may use that rx queue during the call.
pub(crate) unsafe fn rx_into<T: MbufRepr, const N: usize>(
    port: u16,
    queue: u16,
    buf: &mut ArrayVec<T, N>,
    max: usize,
) -> usize {
    let len = buf.len();
    let want = max.min(N - len).min(usize::from(u16::MAX)) as u16;
    if want == 0 {
        return 0;
    }
    // SAFETY: the spare capacity holds `want` slots after `len`; T is laid
    // out as `*mut rte_mbuf` (MbufRepr); queue validity and exclusivity are
    // the caller's contract.
    let got = unsafe {
        let spare = buf.as_mut_ptr().add(len).cast::<*mut dpdk_sys::rte_mbuf>();
        dpdk_sys::rte_eth_rx_burst(port, queue, spare, want)
    };
    let got = usize::from(got);
    // SAFETY: the driver wrote `got <= want` valid, non-null mbuf pointers
    // into those slots and passed their ownership to us.
    unsafe { buf.set_len(len + got) };
    got
}

/// Hands the first `max` mbufs of `buf` to `port`'s queue `queue`; removes
/// the ones sent (now owned by the driver) and keeps the rest, in order.
///
/// # Safety
/// As for [`rx_into`], for the tx queue.
pub(crate) unsafe fn tx_from<T: MbufRepr, const N: usize>(
    port: u16,
    queue: u16,
    buf: &mut ArrayVec<T, N>,
    max: usize,
) -> usize {
    let want = max.min(buf.len()).min(usize::from(u16::MAX)) as u16;
    if want == 0 {
        return 0;
    }
    // SAFETY: the first `want` slots hold owned, valid mbufs, laid out as
    // `*mut rte_mbuf`; queue validity and exclusivity are the caller's contract.
    let sent = unsafe {
        dpdk_sys::rte_eth_tx_burst(
            port,
            queue,
            buf.as_mut_ptr().cast::<*mut dpdk_sys::rte_mbuf>(),
            want,
        )
    };
    // The driver now owns the first `sent` mbufs: take them out without
    // freeing them; `drain` shifts the unsent ones to the front.
    for sent_mbuf in buf.drain(..usize::from(sent)) {
        std::mem::forget(sent_mbuf);
    }
    usize::from(sent)
}

impl Port {
    fn check_queue(&self, queue: u16) -> Result<()> {
        if queue >= self.queues() {
            return Err(Error::NoSuchQueue {
                port: self.id(),
                queue,
                configured: self.queues(),
            });
        }
        Ok(())
    }

    /// Receives as many packets as `buf` has room for from rx queue `queue`
    /// and appends them; returns how many arrived (0 if the port is stopped).
    /// Some vector drivers return nothing for fewer than 4 slots.
    pub fn rx_burst<const N: usize>(
        &mut self,
        queue: u16,
        buf: &mut ArrayVec<Mbuf, N>,
    ) -> Result<usize> {
        self.rx_burst_max(queue, buf, N)
    }

    /// Like [`rx_burst`](Self::rx_burst) but receives at most `max` packets.
    pub fn rx_burst_max<const N: usize>(
        &mut self,
        queue: u16,
        buf: &mut ArrayVec<Mbuf, N>,
        max: usize,
    ) -> Result<usize> {
        self.check_queue(queue)?;
        // SAFETY: the queue exists (checked) and `&mut self` makes this the
        // only user of the port's queues.
        Ok(unsafe { rx_into(self.id(), queue, buf, max) })
    }

    /// Transmits the mbufs in `buf` on tx queue `queue`: the ones the driver
    /// accepted are removed from the front (it frees them once sent), the
    /// rest stay in `buf` to retry; returns how many were accepted.
    pub fn tx_burst<const N: usize>(
        &mut self,
        queue: u16,
        buf: &mut ArrayVec<Mbuf, N>,
    ) -> Result<usize> {
        self.tx_burst_max(queue, buf, N)
    }

    /// Like [`tx_burst`](Self::tx_burst) but offers at most the first `max` mbufs.
    pub fn tx_burst_max<const N: usize>(
        &mut self,
        queue: u16,
        buf: &mut ArrayVec<Mbuf, N>,
        max: usize,
    ) -> Result<usize> {
        self.check_queue(queue)?;
        // SAFETY: as in rx_burst_max.
        Ok(unsafe { tx_from(self.id(), queue, buf, max) })
    }

    /// Splits the port into one handle per queue pair, so each can be
    /// polled by its own thread; the port cannot be stopped meanwhile.
    pub fn queue_pairs(&mut self) -> Vec<QueuePair<'_>> {
        (0..self.queues())
            .map(|queue| QueuePair {
                port: self.id(),
                queue,
                _port: PhantomData,
            })
            .collect()
    }
}

/// Exclusive access to one receive/transmit queue pair of a started
/// [`Port`], for a polling thread (`Send`, not `Clone`).
#[derive(Debug)]
pub struct QueuePair<'a> {
    port: u16,
    queue: u16,
    _port: PhantomData<&'a mut Port>,
}

impl QueuePair<'_> {
    /// Returns the queue id.
    pub fn queue(&self) -> u16 {
        self.queue
    }

    /// Receives up to `max` packets into `buf` (see [`Port::rx_burst`]).
    pub fn rx_burst<const N: usize>(&mut self, buf: &mut ArrayVec<Mbuf, N>, max: usize) -> usize {
        // SAFETY: the queue was validated when the pair was made, the port
        // stays configured while the pair borrows it, and only this pair
        // uses this queue.
        unsafe { rx_into(self.port, self.queue, buf, max) }
    }

    /// Transmits up to `max` mbufs from the front of `buf` (see [`Port::tx_burst`]).
    pub fn tx_burst<const N: usize>(&mut self, buf: &mut ArrayVec<Mbuf, N>, max: usize) -> usize {
        // SAFETY: as in rx_burst.
        unsafe { tx_from(self.port, self.queue, buf, max) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mempool::{Mempool, DEFAULT_DATA_ROOM};
    use crate::port::PortConfig;
    use crate::test_eal::{eal, unique_name};

    fn frame(pool: &Mempool, seq: u32) -> Mbuf {
        let mut m = pool.alloc().unwrap();
        m.extend_from_slice(&seq.to_le_bytes()).unwrap();
        m
    }

    /// net_ring0 is a loopback: what is sent on a queue is received on it.
    #[test]
    fn ring_loopback_moves_ownership_and_keeps_unsent_mbufs() {
        let pool = Mempool::new(eal(), &unique_name("burst"), 4095, 0, DEFAULT_DATA_ROOM).unwrap();
        let mut port =
            Port::configure_by_name(eal(), "net_ring0", &PortConfig::default(), &pool).unwrap();
        port.start().unwrap();

        let mut tx = Burst::<BURST_MAX>::new();
        for seq in 0..10 {
            tx.push(frame(&pool, seq));
        }
        assert_eq!(port.tx_burst(0, &mut tx).unwrap(), 10);
        assert!(tx.is_empty());
        assert_eq!(pool.in_use(), 10, "sent mbufs are the driver's, not freed");

        let mut rx = Burst::<BURST_MAX>::new();
        assert_eq!(port.rx_burst_max(0, &mut rx, 4).unwrap(), 4);
        assert_eq!(port.rx_burst(0, &mut rx).unwrap(), 6);
        let seqs: Vec<u32> = rx
            .iter()
            .map(|m| u32::from_le_bytes(m.data().try_into().unwrap()))
            .collect();
        assert_eq!(seqs, (0..10).collect::<Vec<_>>());
        rx.clear();
        assert_eq!(pool.in_use(), 0);

        // Fill the ring until the driver refuses: the rest stays, in order.
        let mut queued = 0usize;
        let mut seq = 0;
        loop {
            while !tx.is_full() {
                tx.push(frame(&pool, seq));
                seq += 1;
            }
            let first_unsent_before = queued;
            let sent = port.tx_burst(0, &mut tx).unwrap();
            queued += sent;
            if sent < BURST_MAX {
                let expect = (first_unsent_before + sent) as u32;
                let first = u32::from_le_bytes(tx[0].data().try_into().unwrap());
                assert_eq!(first, expect, "unsent mbufs keep their order");
                break;
            }
        }
        assert_eq!(pool.in_use() as usize, queued + tx.len());
        let stats = port.stats().unwrap();
        assert_eq!(stats.opackets as usize, 10 + queued);
        tx.clear();
        let mut drained = 0;
        while port.rx_burst(0, &mut rx).unwrap() > 0 {
            drained += rx.len();
            rx.clear();
        }
        assert_eq!(drained, queued);
        assert_eq!(pool.in_use(), 0);
        assert!(matches!(
            port.rx_burst(1, &mut rx),
            Err(Error::NoSuchQueue { queue: 1, .. })
        ));
        assert!(matches!(
            port.tx_burst(3, &mut tx),
            Err(Error::NoSuchQueue { queue: 3, .. })
        ));
    }

    #[test]
    fn queue_pairs_poll_from_their_own_threads() {
        // net_null0 "receives" empty frames from the pool on every burst.
        let pool = Mempool::new(eal(), &unique_name("qp"), 4095, 0, DEFAULT_DATA_ROOM).unwrap();
        let config = PortConfig {
            queues: 2,
            ..PortConfig::default()
        };
        let mut port = Port::configure_by_name(eal(), "net_null0", &config, &pool).unwrap();
        port.start().unwrap();
        let counts: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = port
                .queue_pairs()
                .into_iter()
                .map(|mut qp| {
                    s.spawn(move || {
                        let mut buf = Burst::<32>::new();
                        let mut total = 0;
                        for _ in 0..100 {
                            total += qp.rx_burst(&mut buf, 32);
                            let _ = qp.tx_burst(&mut buf, 32);
                            buf.clear();
                        }
                        total
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(counts.iter().all(|&c| c > 0), "{counts:?}");
        drop(port);
        assert_eq!(pool.in_use(), 0);
    }
}

//! `ix-nic`'s traits implemented over DPDK: [`DpdkPool`] hands out mbufs,
//! [`DpdkNic`] bursts them through one queue pair of a [`Port`].
//!
//! | `ix-nic` kind | here | what it is |
//! | --- | --- | --- |
//! | `Rx` | [`DpdkRx`] | a received, single-segment, writable mbuf |
//! | `Mut` | [`DpdkMut`] | a direct mbuf being filled |
//! | `Shared` | [`DpdkShared`] | a frozen, refcounted direct mbuf: filled payload, or a received frame frozen in place (`rx_into_shared`) |
//! | `Frame` | [`DpdkFrame`] | a header mbuf with indirect mbufs chained behind it, one per attached payload range |
//!
//! Attaching payload never copies it: an indirect mbuf from the pool's
//! indirect mempool points into the shared buffer and holds a reference on
//! it until the driver has sent (and freed) the frame. Payload buffers carry
//! a handle to that indirect mempool, so frames stay a bare mbuf pointer
//! (`#[repr(transparent)]`) and a burst of them goes to the driver as is.

use std::ops::Range;
use std::sync::Arc;

use ix_nic::{Batch, BufPool, MutBuf, NoBuffers, RxBuf, SharedBuf, TxFrame};

use crate::burst::{rx_into, tx_from, MbufRepr};
use crate::eal::Eal;
use crate::error::{Error, Result};
use crate::mbuf::Mbuf;
use crate::mempool::{Mempool, HEADROOM};
use crate::port::Port;
use crate::shared::{attach_segment, SharedMbuf};

/// How many payload ranges one frame can carry after its header segment.
pub const MAX_ATTACHMENTS: usize = 8;

/// Mbuf pools for one or more queues: direct mbufs (received frames,
/// payload, headers) and indirect ones (attachments). Clones share them.
#[derive(Debug, Clone)]
pub struct DpdkPool {
    direct: Mempool,
    indirect: Mempool,
}

impl DpdkPool {
    /// Creates a pool of `n` direct mbufs of the default size (2048 bytes of
    /// data) named `name` and `n` indirect ones named `name` + `-i`, each with
    /// a per-lcore cache of `cache`; fails as [`Mempool::new`] does.
    pub fn new(eal: &Eal, name: &str, n: u32, cache: u32) -> Result<DpdkPool> {
        let direct = Mempool::new(eal, name, n, cache, crate::mempool::DEFAULT_DATA_ROOM)?;
        let indirect = Mempool::new(eal, &format!("{name}-i"), n, cache, 0)?;
        Ok(DpdkPool { direct, indirect })
    }

    /// As [`new`](Self::new), with the direct mbufs packed back to back
    /// ([`Mempool::new_packed`]: for `net_af_xdp`, which registers the receive
    /// pool's memory whole as its umem).
    pub fn new_packed(eal: &Eal, name: &str, n: u32, cache: u32) -> Result<DpdkPool> {
        let direct = Mempool::new_packed(eal, name, n, cache, crate::mempool::DEFAULT_DATA_ROOM)?;
        let indirect = Mempool::new(eal, &format!("{name}-i"), n, cache, 0)?;
        Ok(DpdkPool { direct, indirect })
    }

    /// Builds a pool from existing mempools; assumes `direct` has a data room
    /// larger than the headroom (the indirect one may have none).
    pub fn from_mempools(direct: Mempool, indirect: Mempool) -> DpdkPool {
        DpdkPool { direct, indirect }
    }

    /// Returns the mempool of direct mbufs (give it to [`Port::configure`]).
    pub fn direct(&self) -> &Mempool {
        &self.direct
    }

    /// Returns the mempool of indirect mbufs used for attachments.
    pub fn indirect(&self) -> &Mempool {
        &self.indirect
    }

    /// Returns a received frame holding a copy of `bytes` (as a NIC's DMA
    /// would write it); fails if the pool is empty or `bytes` does not fit.
    pub fn rx_from(&self, bytes: &[u8]) -> Result<DpdkRx, NoBuffers> {
        let mut m = self.direct.alloc().map_err(|_| NoBuffers)?;
        m.extend_from_slice(bytes).map_err(|_| NoBuffers)?;
        Ok(DpdkRx(m))
    }

    /// Returns a frozen buffer holding a copy of `bytes`; fails if the pool
    /// is empty or `bytes` does not fit one buffer.
    pub fn shared_from(&self, bytes: &[u8]) -> Result<DpdkShared, NoBuffers> {
        let mut m = self.alloc_mut()?;
        if m.extend_from_slice(bytes) != bytes.len() {
            return Err(NoBuffers);
        }
        Ok(m.freeze())
    }

    /// Makes a received frame of `m`: kept as is if it is one writable
    /// segment (the usual case), else copied into a fresh mbuf (a chained
    /// or shared receive buffer); `None` (dropped) if it does not fit one
    /// buffer or no buffer is left for the copy.
    fn rx_linear(&self, m: Mbuf) -> Option<DpdkRx> {
        if m.segment_count() == 1 && m.is_writable() {
            return Some(DpdkRx(m));
        }
        let mut copy = self.direct.alloc().ok()?;
        let total = m.segments().map(<[u8]>::len).sum();
        let dst = copy.append(total).ok()?;
        let mut at = 0;
        for segment in m.segments() {
            dst[at..at + segment.len()].copy_from_slice(segment);
            at += segment.len();
        }
        Some(DpdkRx(copy))
    }
}

impl BufPool for DpdkPool {
    type Rx = DpdkRx;
    type Mut = DpdkMut;
    type Shared = DpdkShared;
    type Frame = DpdkFrame;

    fn alloc_mut(&self) -> Result<DpdkMut, NoBuffers> {
        let m = self.direct.alloc().map_err(|_| NoBuffers)?;
        Ok(DpdkMut {
            m,
            indirect: self.indirect.clone(),
        })
    }

    fn alloc_frame(&self) -> Result<DpdkFrame, NoBuffers> {
        self.direct.alloc().map(DpdkFrame).map_err(|_| NoBuffers)
    }

    fn rx_into_frame(&self, rx: DpdkRx) -> DpdkFrame {
        DpdkFrame(rx.0)
    }

    /// The received mbuf itself becomes the shared one (refcounted, direct, data
    /// where the driver wrote it): frames attach ranges of it through indirect
    /// mbufs that start at its data offset, so its headroom needs no care. A
    /// `DpdkRx` is always one segment (`rx_burst` linearises chains), which
    /// `attach_range` requires.
    fn rx_into_shared(&self, rx: DpdkRx) -> DpdkShared {
        debug_assert_eq!(rx.0.segment_count(), 1);
        DpdkShared {
            m: rx.0.into_shared(),
            indirect: self.indirect.clone(),
        }
    }

    fn dup_rx(&self, rx: &DpdkRx) -> Result<DpdkRx, NoBuffers> {
        self.rx_from(rx.data())
    }

    fn dup_frame(&self, frame: &DpdkFrame) -> Result<DpdkFrame, NoBuffers> {
        let mut head = self.direct.alloc().map_err(|_| NoBuffers)?;
        head.extend_from_slice(frame.linear())
            .map_err(|_| NoBuffers)?;
        for seg in frame.0.raw_segments().skip(1) {
            // SAFETY: `seg` is an attached (indirect) segment of `frame`,
            // whose bytes are shared and never written.
            let indirect = unsafe { attach_segment(&self.indirect, seg) }.map_err(|_| NoBuffers)?;
            head.chain(indirect).map_err(|_| NoBuffers)?;
        }
        Ok(DpdkFrame(head))
    }

    fn buf_capacity(&self) -> usize {
        usize::from(self.direct.data_room().saturating_sub(HEADROOM))
    }
}

/// A received frame: one direct, writable mbuf segment.
#[derive(Debug)]
#[repr(transparent)]
pub struct DpdkRx(Mbuf);

// SAFETY: #[repr(transparent)] over Mbuf. Driver-returned mbufs may be
// chained or shared; DpdkNic::rx_burst checks each one (rx_linear) before
// the frame is used as a DpdkRx.
unsafe impl MbufRepr for DpdkRx {}

impl DpdkRx {
    /// Returns the underlying mbuf.
    pub fn into_mbuf(self) -> Mbuf {
        self.0
    }

    /// Returns the underlying mbuf, read-only.
    pub fn mbuf(&self) -> &Mbuf {
        &self.0
    }
}

impl RxBuf for DpdkRx {
    fn data(&self) -> &[u8] {
        self.0.data()
    }

    fn data_mut(&mut self) -> &mut [u8] {
        // Never empty by mistake: a DpdkRx is one writable segment.
        debug_assert!(self.0.is_writable());
        self.0.data_mut().unwrap_or_default()
    }
}

/// A direct mbuf being filled with payload.
#[derive(Debug)]
pub struct DpdkMut {
    m: Mbuf,
    /// Where frames attaching this buffer (once frozen) take indirect mbufs.
    indirect: Mempool,
}

impl MutBuf for DpdkMut {
    type Shared = DpdkShared;

    fn data(&self) -> &[u8] {
        self.m.data()
    }

    fn data_mut(&mut self) -> &mut [u8] {
        // A DpdkMut is a freshly allocated direct mbuf: always writable.
        debug_assert!(self.m.is_writable());
        self.m.data_mut().unwrap_or_default()
    }

    fn extend_from_slice(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(self.spare());
        match self.m.append(n) {
            Ok(dst) => {
                dst.copy_from_slice(&bytes[..n]);
                n
            }
            Err(_) => 0,
        }
    }

    fn spare(&self) -> usize {
        self.m.tailroom()
    }

    fn freeze(self) -> DpdkShared {
        DpdkShared {
            m: self.m.into_shared(),
            indirect: self.indirect,
        }
    }
}

/// A frozen payload buffer: a refcounted direct mbuf (`Send + Sync`).
#[derive(Debug, Clone)]
pub struct DpdkShared {
    m: SharedMbuf,
    /// Where frames attaching this buffer take their indirect mbufs.
    indirect: Mempool,
}

impl DpdkShared {
    /// Returns the mbuf's reference count (handles plus frames attached to it).
    pub fn ref_count(&self) -> u16 {
        self.m.refcnt()
    }

    /// Returns the underlying shared mbuf.
    pub fn mbuf(&self) -> &SharedMbuf {
        &self.m
    }
}

impl SharedBuf for DpdkShared {
    fn data(&self) -> &[u8] {
        self.m.data()
    }
}

/// A frame to transmit: a direct header mbuf (the linear part), then one
/// indirect mbuf per attached payload range, chained.
#[derive(Debug)]
#[repr(transparent)]
pub struct DpdkFrame(Mbuf);

// SAFETY: #[repr(transparent)] over Mbuf; frames are only ever handed to
// the driver (tx), never made from what it returns.
unsafe impl MbufRepr for DpdkFrame {}

impl DpdkFrame {
    /// Returns the underlying mbuf chain.
    pub fn into_mbuf(self) -> Mbuf {
        self.0
    }

    /// Returns the underlying mbuf chain, read-only.
    pub fn mbuf(&self) -> &Mbuf {
        &self.0
    }

    /// Returns the number of attached payload ranges.
    pub fn attachments(&self) -> usize {
        self.0.segment_count() - 1
    }
}

impl TxFrame for DpdkFrame {
    type Shared = DpdkShared;

    fn append(&mut self, len: usize) -> Option<&mut [u8]> {
        if self.attachments() > 0 {
            return None;
        }
        self.0.append(len).ok()
    }

    fn linear(&self) -> &[u8] {
        self.0.data()
    }

    fn linear_mut(&mut self) -> &mut [u8] {
        // The header segment is a direct mbuf only this frame refers to.
        debug_assert!(self.0.is_writable());
        self.0.data_mut().unwrap_or_default()
    }

    fn truncate(&mut self, len: usize) {
        let linear = self.0.len();
        // With payload attached, trimming would cut the last attachment.
        if self.attachments() == 0 && len < linear {
            let _ = self.0.trim(linear - len);
        }
    }

    fn attach(&mut self, shared: &DpdkShared, range: Range<usize>) -> Result<(), NoBuffers> {
        if self.attachments() >= MAX_ATTACHMENTS || range.start > range.end {
            return Err(NoBuffers);
        }
        let indirect = shared
            .m
            .attach_range(&shared.indirect, range.start, range.len())
            .map_err(|_| NoBuffers)?;
        self.0.chain(indirect).map_err(|_| NoBuffers)
    }

    fn len(&self) -> usize {
        self.0.pkt_len()
    }

    fn for_each_segment(&self, f: impl FnMut(&[u8])) {
        self.0.segments().for_each(f);
    }
}

/// One receive/transmit queue pair of a started [`Port`] as an `ix-nic` [`ix_nic::Nic`].
pub struct DpdkNic {
    port: Arc<Port>,
    queue: u16,
    pool: DpdkPool,
    mac: [u8; 6],
    rx_copied: u64,
    rx_dropped: u64,
}

impl DpdkNic {
    /// Wraps every queue pair of `port` (starting it if needed), one
    /// `DpdkNic` per queue, all using `pool` for their buffers; `pool.direct()`
    /// should be the pool the port receives into. Dropping the last one
    /// stops and closes the port.
    pub fn split(mut port: Port, pool: &DpdkPool) -> Result<Vec<DpdkNic>> {
        if !port.is_started() {
            port.start()?;
        }
        let mac = port.mac()?;
        let port = Arc::new(port);
        Ok((0..port.queues())
            .map(|queue| DpdkNic {
                port: Arc::clone(&port),
                queue,
                pool: pool.clone(),
                mac,
                rx_copied: 0,
                rx_dropped: 0,
            })
            .collect())
    }

    /// Wraps queue 0 of a single-queue `port`; see [`split`](Self::split).
    pub fn new(port: Port, pool: &DpdkPool) -> Result<DpdkNic> {
        if port.queues() != 1 {
            return Err(Error::PortLimit {
                port: port.id(),
                what: "queue pairs for DpdkNic::new (use split)",
                asked: u32::from(port.queues()),
                max: 1,
            });
        }
        let mut nics = Self::split(port, pool)?;
        nics.pop().ok_or(Error::NoSuchQueue {
            port: 0,
            queue: 0,
            configured: 0,
        })
    }

    /// Returns the port (for link state and statistics).
    pub fn port(&self) -> &Port {
        &self.port
    }

    /// Returns this NIC's queue id.
    pub fn queue(&self) -> u16 {
        self.queue
    }

    /// Returns how many received frames had to be copied (chained or shared
    /// receive buffers) and how many were dropped for lack of a buffer to copy into.
    pub fn rx_fixups(&self) -> (u64, u64) {
        (self.rx_copied, self.rx_dropped)
    }
}

impl ix_nic::Nic for DpdkNic {
    type Pool = DpdkPool;

    fn pool(&self) -> &DpdkPool {
        &self.pool
    }

    fn rx_burst(&mut self, out: &mut Batch<DpdkRx>) -> usize {
        let before = out.len();
        // SAFETY: the queue exists (made by split from the port's queue
        // count), the port stays configured and started while any DpdkNic
        // holds it (no `&mut Port` is reachable), and this DpdkNic is the
        // only user of its queue.
        let got = unsafe { rx_into(self.port.id(), self.queue, out, usize::MAX) };
        // Make sure each new frame is one writable segment (a DpdkRx's
        // invariant); drivers very rarely hand out anything else.
        let mut i = before;
        while i < out.len() {
            if out[i].0.segment_count() == 1 && out[i].0.is_writable() {
                i += 1;
                continue;
            }
            let odd = out.remove(i).0;
            match self.pool.rx_linear(odd) {
                Some(rx) => {
                    self.rx_copied += 1;
                    out.insert(i, rx);
                    i += 1;
                }
                None => self.rx_dropped += 1,
            }
        }
        debug_assert!(out.len() <= before + got);
        out.len() - before
    }

    fn tx_burst(&mut self, frames: &mut Batch<DpdkFrame>) -> usize {
        // SAFETY: as in rx_burst, for the tx queue.
        unsafe { tx_from(self.port.id(), self.queue, frames, usize::MAX) }
    }

    fn mac(&self) -> [u8; 6] {
        self.mac
    }
}

impl std::fmt::Debug for DpdkNic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpdkNic")
            .field("port", &self.port.id())
            .field("queue", &self.queue)
            .field("pool", &self.pool.direct.name())
            .finish()
    }
}

#[cfg(test)]
mod tests;

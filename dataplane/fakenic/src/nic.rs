//! [`FakeNic`]: one in-memory queue pair implementing [`Nic`].

use ix_nic::heap::{HeapFrame, HeapPool};
use ix_nic::{Batch, BufPool, Nic, NoBuffers, RxBuf, RxOf, TxFrame};

use crate::land::land;
use crate::ring::{Ring, DEFAULT_RING_DEPTH};
use crate::stats::FakeNicStats;
use crate::wire::{lock, shared_ring, Pending, SharedRing};

/// Where transmitted frames go.
#[derive(Debug)]
enum TxPath {
    /// Standalone: kept for the test to [`FakeNic::pop_sent`].
    Keep(Ring<HeapFrame>),
    /// Linked: straight into the peer's receive ring.
    Wire(SharedRing),
}

/// An in-memory NIC queue pair over a [`HeapPool`].
///
/// `Send`, never blocks, and allocates nothing per frame except in
/// [`FakeNic::pop_sent`], which is for tests. No MAC filtering: every frame on the
/// wire is received.
#[derive(Debug)]
pub struct FakeNic {
    mac: [u8; 6],
    pool: HeapPool,
    rx: SharedRing,
    tx: TxPath,
    /// Gathers a peer frame with attached payload before it lands in one block.
    scratch: Vec<u8>,
    stats: FakeNicStats,
}

impl FakeNic {
    /// A standalone NIC with [`DEFAULT_RING_DEPTH`]-deep rings: the test injects what
    /// it receives and collects what it sends.
    pub fn new(mac: [u8; 6], pool: HeapPool) -> FakeNic {
        Self::with_ring_depth(mac, pool, DEFAULT_RING_DEPTH)
    }

    /// A standalone NIC whose receive and transmit rings each hold `depth` frames
    /// (reserved now; 0 refuses everything).
    pub fn with_ring_depth(mac: [u8; 6], pool: HeapPool, depth: usize) -> FakeNic {
        Self::build(
            mac,
            pool,
            shared_ring(depth),
            TxPath::Keep(Ring::new(depth)),
        )
    }

    /// A linked NIC receiving from `rx` and transmitting into `peer_rx`.
    pub(crate) fn linked(
        mac: [u8; 6],
        pool: HeapPool,
        rx: SharedRing,
        peer_rx: SharedRing,
    ) -> FakeNic {
        Self::build(mac, pool, rx, TxPath::Wire(peer_rx))
    }

    fn build(mac: [u8; 6], pool: HeapPool, rx: SharedRing, tx: TxPath) -> FakeNic {
        let scratch = Vec::with_capacity(pool.buf_capacity());
        FakeNic {
            mac,
            pool,
            rx,
            tx,
            scratch,
            stats: FakeNicStats::default(),
        }
    }

    /// Queues `frame` to be received, copying it into a block of this NIC's pool as a
    /// NIC's DMA would. If the receive ring is full, or no block is free or big
    /// enough, the frame is dropped, counted in [`FakeNic::stats`], and `NoBuffers`
    /// returned so the test knows.
    pub fn inject(&mut self, frame: &[u8]) -> Result<(), NoBuffers> {
        let mut ring = lock(&self.rx);
        if ring.is_full() {
            self.stats.rx_dropped_ring_full += 1;
            return Err(NoBuffers);
        }
        let rx = match self.pool.rx_from(frame) {
            Ok(rx) => rx,
            Err(e) => {
                self.stats.rx_dropped_no_buffers += 1;
                return Err(e);
            }
        };
        // Cannot fail: the ring had a free slot and we hold its lock.
        let _ = ring.push(Pending::Landed(rx));
        Ok(())
    }

    /// The oldest transmitted frame not yet popped, flattened to the bytes the wire
    /// carries (its buffers are released). Always `None` on a link, where transmitted
    /// frames go to the peer.
    pub fn pop_sent(&mut self) -> Option<Vec<u8>> {
        let TxPath::Keep(sent) = &mut self.tx else {
            return None;
        };
        let frame = sent.pop()?;
        let mut bytes = Vec::with_capacity(frame.len());
        frame.write_to(&mut bytes);
        Some(bytes)
    }

    /// Transmitted frames waiting to be popped (0 on a link).
    pub fn sent_len(&self) -> usize {
        match &self.tx {
            TxPath::Keep(sent) => sent.len(),
            TxPath::Wire(_) => 0,
        }
    }

    /// Frames waiting in the receive ring (injected, or sent by the peer).
    pub fn rx_pending(&self) -> usize {
        lock(&self.rx).len()
    }

    /// Counts since this NIC was made.
    pub fn stats(&self) -> FakeNicStats {
        self.stats
    }
}

impl Nic for FakeNic {
    type Pool = HeapPool;

    fn pool(&self) -> &HeapPool {
        &self.pool
    }

    fn rx_burst(&mut self, out: &mut Batch<RxOf<HeapPool>>) -> usize {
        let mut ring = lock(&self.rx);
        let mut taken = 0;
        while out.remaining_capacity() > 0 {
            let Some(pending) = ring.pop() else {
                break;
            };
            match land(pending, &self.pool, &mut self.scratch) {
                Ok(rx) => {
                    self.stats.rx_frames += 1;
                    self.stats.rx_bytes += rx.data().len() as u64;
                    // Cannot fail: capacity checked at the top of the loop.
                    let _ = out.try_push(rx);
                    taken += 1;
                }
                // A NIC with no descriptor to fill drops the frame and goes on.
                Err(NoBuffers) => self.stats.rx_dropped_no_buffers += 1,
            }
        }
        taken
    }

    fn tx_burst(&mut self, frames: &mut Batch<HeapFrame>) -> usize {
        let taken = match &mut self.tx {
            TxPath::Keep(sent) => {
                let n = frames.len().min(sent.space());
                for frame in frames.drain(..n) {
                    count_tx(&mut self.stats, &frame);
                    // Cannot fail: at most `space` frames are pushed.
                    let _ = sent.push(frame);
                }
                n
            }
            TxPath::Wire(peer) => {
                let mut ring = lock(peer);
                let n = frames.len().min(ring.space());
                for frame in frames.drain(..n) {
                    count_tx(&mut self.stats, &frame);
                    // Cannot fail: at most `space` frames are pushed, under the lock.
                    let _ = ring.push(Pending::OnWire(frame));
                }
                n
            }
        };
        self.stats.tx_refused += frames.len() as u64;
        taken
    }

    fn mac(&self) -> [u8; 6] {
        self.mac
    }
}

fn count_tx(stats: &mut FakeNicStats, frame: &HeapFrame) {
    stats.tx_frames += 1;
    stats.tx_bytes += frame.len() as u64;
}

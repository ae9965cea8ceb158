//! [`MeteredNic`]: the elastic thread's view of its queue pair: receive bursts bounded
//! to the configured batch, and packets, bytes and burst sizes counted.

use ix_nic::{Batch, FrameOf, Nic, RxBuf, RxOf, TxFrame, BURST};

/// Burst-size histogram buckets: 1, 2-3, 4-7, 8-15, 16-31, 32-63, 64.
pub const HIST_BUCKETS: usize = 7;

/// The bucket of a non-empty burst of `n` frames.
pub fn bucket(n: usize) -> usize {
    (usize::BITS - 1 - n.max(1).leading_zeros()).min(HIST_BUCKETS as u32 - 1) as usize
}

/// What crossed the queue pair (plain counters: the thread is their only writer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NicMeter {
    /// Frames received.
    pub rx_packets: u64,
    /// Bytes received (whole frames).
    pub rx_bytes: u64,
    /// Frames the NIC took for transmission.
    pub tx_packets: u64,
    /// Bytes of those frames.
    pub tx_bytes: u64,
    /// Non-empty receive bursts.
    pub rx_batches: u64,
    /// Non-empty receive bursts by size (see [`bucket`]).
    pub rx_batch_hist: [u64; HIST_BUCKETS],
}

/// A NIC whose receive bursts are at most `batch` frames, and which counts.
pub struct MeteredNic<N: Nic> {
    inner: N,
    batch: usize,
    /// Frames taken from the NIC beyond the batch bound, handed out next time.
    stash: Batch<RxOf<N::Pool>>,
    meter: NicMeter,
}

impl<N: Nic + core::fmt::Debug> core::fmt::Debug for MeteredNic<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MeteredNic")
            .field("inner", &self.inner)
            .field("batch", &self.batch)
            .field("stashed", &self.stash.len())
            .field("meter", &self.meter)
            .finish()
    }
}

impl<N: Nic> MeteredNic<N> {
    /// Wraps `inner`, taking at most `batch` (1..=64, clamped) frames per burst.
    pub fn new(inner: N, batch: usize) -> Self {
        MeteredNic {
            inner,
            batch: batch.clamp(1, BURST),
            stash: Batch::new(),
            meter: NicMeter::default(),
        }
    }

    /// The counters.
    pub fn meter(&self) -> &NicMeter {
        &self.meter
    }

    /// The wrapped NIC.
    pub fn inner(&self) -> &N {
        &self.inner
    }

    /// The wrapped NIC, mutably.
    pub fn inner_mut(&mut self) -> &mut N {
        &mut self.inner
    }

    fn count_rx(&mut self, out: &Batch<RxOf<N::Pool>>, from: usize) {
        let n = out.len() - from;
        if n == 0 {
            return;
        }
        self.meter.rx_packets += n as u64;
        self.meter.rx_batches += 1;
        self.meter.rx_batch_hist[bucket(n)] += 1;
        for f in &out[from..] {
            self.meter.rx_bytes += f.data().len() as u64;
        }
    }
}

impl<N: Nic> Nic for MeteredNic<N> {
    type Pool = N::Pool;

    fn pool(&self) -> &N::Pool {
        self.inner.pool()
    }

    fn rx_burst(&mut self, out: &mut Batch<RxOf<N::Pool>>) -> usize {
        let before = out.len();
        if self.batch >= BURST && self.stash.is_empty() {
            self.inner.rx_burst(out);
        } else {
            if self.stash.is_empty() {
                self.inner.rx_burst(&mut self.stash);
            }
            let k = self
                .batch
                .min(out.remaining_capacity())
                .min(self.stash.len());
            for f in self.stash.drain(..k) {
                // Cannot fail: k is within out's spare capacity.
                let _ = out.try_push(f);
            }
        }
        self.count_rx(out, before);
        out.len() - before
    }

    fn tx_burst(&mut self, frames: &mut Batch<FrameOf<N::Pool>>) -> usize {
        let mut lens = [0u32; BURST];
        for (l, f) in lens.iter_mut().zip(frames.iter()) {
            *l = f.len() as u32;
        }
        let n = self.inner.tx_burst(frames);
        self.meter.tx_packets += n as u64;
        self.meter.tx_bytes += lens[..n.min(BURST)]
            .iter()
            .map(|&l| u64::from(l))
            .sum::<u64>();
        n
    }

    fn mac(&self) -> [u8; 6] {
        self.inner.mac()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ix_fakenic::FakeNic;
    use ix_nic::heap::HeapPool;

    #[test]
    fn bursts_are_bounded_counted_and_nothing_is_lost() {
        let mut nic = MeteredNic::new(FakeNic::new([2, 0, 0, 0, 0, 1], HeapPool::new(64, 256)), 4);
        for i in 0..10u8 {
            nic.inner_mut().inject(&[i; 60]).unwrap();
        }
        let mut got = Vec::new();
        loop {
            let mut out = Batch::new();
            let n = nic.rx_burst(&mut out);
            if n == 0 {
                break;
            }
            assert!(n <= 4);
            got.extend(out.iter().map(|f| f.data()[0]));
        }
        assert_eq!(got, (0..10).collect::<Vec<u8>>(), "in order");
        let m = nic.meter();
        assert_eq!((m.rx_packets, m.rx_bytes, m.rx_batches), (10, 600, 3));
        assert_eq!(m.rx_batch_hist[bucket(4)], 2);
        assert_eq!(m.rx_batch_hist[bucket(2)], 1);
        assert_eq!((bucket(1), bucket(3), bucket(64)), (0, 1, 6));
    }
}

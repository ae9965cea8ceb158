//! Packet capture for an instance. The kernel never sees a dataplane's packets, so
//! the dataplane mirrors them itself: [`CaptureNic`] wraps a queue pair and, only
//! while the shared [`CaptureRing`] is armed, copies each received and transmitted
//! frame (up to [`SNAP_LEN`] bytes) with a timestamp into a preallocated slot.
//!
//! The packet path never allocates, locks or blocks here: disarmed it costs one
//! Relaxed load per burst; armed, a slot is popped from a lock-free free queue,
//! filled, and pushed to a lock-free filled queue. With no free slot the frame is
//! counted as dropped. The agent (another thread) allocates the slots when a capture
//! starts, arms the ring, drains it and disarms it.

use crate::agent_proto::CapturedFrame;
use arrayvec::ArrayVec;
use crossbeam_queue::ArrayQueue;
use ix_nic::{Batch, FrameOf, Nic, RxBuf, RxOf, TxFrame, BURST};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Bytes kept of each frame: a whole standard frame (1514) fits.
pub const SNAP_LEN: usize = 2048;

/// Which way a captured frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Received from the wire.
    Rx,
    /// Handed to the NIC for transmission.
    Tx,
}

impl Direction {
    /// "rx" or "tx", as the agent protocol spells it.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Rx => "rx",
            Direction::Tx => "tx",
        }
    }
}

/// One preallocated capture buffer.
#[derive(Debug)]
pub struct Slot {
    ts_ns: u64,
    thread: usize,
    dir: Direction,
    orig_len: u32,
    len: u16,
    data: [u8; SNAP_LEN],
}

impl Slot {
    fn new() -> Box<Slot> {
        Box::new(Slot {
            ts_ns: 0,
            thread: 0,
            dir: Direction::Rx,
            orig_len: 0,
            len: 0,
            data: [0; SNAP_LEN],
        })
    }

    /// The captured bytes (at most [`SNAP_LEN`]).
    pub fn bytes(&self) -> &[u8] {
        &self.data[..usize::from(self.len)]
    }

    /// Copies `piece` after what the slot holds, up to the snap length.
    fn push(&mut self, piece: &[u8]) {
        let at = usize::from(self.len);
        let n = piece.len().min(SNAP_LEN - at);
        self.data[at..at + n].copy_from_slice(&piece[..n]);
        self.len += n as u16;
    }

    /// The frame in the agent protocol's terms.
    fn to_frame(&self) -> CapturedFrame {
        CapturedFrame {
            ts_ns: self.ts_ns,
            thread: self.thread,
            dir: self.dir.name().to_owned(),
            orig_len: self.orig_len,
            data_hex: hex(self.bytes()),
        }
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Parses lower- or upper-case hex (an even number of digits).
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The instance's capture buffers, shared by every elastic thread and the agent.
#[derive(Debug)]
pub struct CaptureRing {
    armed: AtomicBool,
    free: ArrayQueue<Box<Slot>>,
    filled: ArrayQueue<Box<Slot>>,
    /// Slots made so far (they are made on the first capture, off the packet path).
    made: Mutex<usize>,
    dropped: AtomicU64,
    captured: AtomicU64,
}

impl CaptureRing {
    /// A ring of `slots` buffers (at least 1); the buffers themselves are allocated
    /// by the first [`CaptureRing::capture`].
    pub fn new(slots: usize) -> Self {
        let slots = slots.max(1);
        CaptureRing {
            armed: AtomicBool::new(false),
            free: ArrayQueue::new(slots),
            filled: ArrayQueue::new(slots),
            made: Mutex::new(0),
            dropped: AtomicU64::new(0),
            captured: AtomicU64::new(0),
        }
    }

    /// How many frames one capture can hold.
    pub fn capacity(&self) -> usize {
        self.free.capacity()
    }

    /// Whether frames are being copied now.
    pub fn is_armed(&self) -> bool {
        self.armed.load(Ordering::Relaxed)
    }

    /// Frames missed so far because every slot was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Frames captured so far.
    pub fn captured(&self) -> u64 {
        self.captured.load(Ordering::Relaxed)
    }

    /// A free slot, if any (packet path: lock-free, no allocation).
    fn take_slot(&self) -> Option<Box<Slot>> {
        let slot = self.free.pop();
        if slot.is_none() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        slot
    }

    /// Returns a slot unused.
    fn give_back(&self, slot: Box<Slot>) {
        // Cannot fail: every slot came from `free`, which holds them all.
        let _ = self.free.push(slot);
    }

    /// Publishes a filled slot.
    fn commit(&self, slot: Box<Slot>) {
        self.captured.fetch_add(1, Ordering::Relaxed);
        if let Err(slot) = self.filled.push(slot) {
            let _ = self.free.push(slot);
        }
    }

    /// Makes every slot not made yet, and empties the filled queue.
    fn prepare(&self, made: &mut usize) {
        while let Some(s) = self.filled.pop() {
            self.give_back(s);
        }
        while *made < self.capacity() {
            if self.free.push(Slot::new()).is_err() {
                break;
            }
            *made += 1;
        }
    }

    /// Captures the next `count` frames in either direction (at most the ring's
    /// capacity), or what arrived within `timeout`; oldest first. Captures run one at
    /// a time (others wait); ends early when `cancel` is set. Runs on the agent's
    /// thread, never on the packet path.
    pub fn capture(
        &self,
        count: usize,
        timeout: Duration,
        cancel: &AtomicBool,
    ) -> Vec<CapturedFrame> {
        let mut made = self.made.lock().unwrap_or_else(|e| e.into_inner());
        self.prepare(&mut made);
        let want = count.min(self.capacity());
        if want == 0 {
            return Vec::new();
        }
        self.armed.store(true, Ordering::Relaxed);
        let until = Instant::now() + timeout;
        while self.filled.len() < want && Instant::now() < until && !cancel.load(Ordering::Relaxed)
        {
            std::thread::sleep(Duration::from_millis(2));
        }
        self.armed.store(false, Ordering::Relaxed);
        let mut frames = Vec::with_capacity(want);
        while let Some(s) = self.filled.pop() {
            if frames.len() < want {
                frames.push(s.to_frame());
            }
            self.give_back(s);
        }
        frames.sort_by_key(|f| f.ts_ns);
        frames
    }
}

/// Nanoseconds since the Unix epoch (a vDSO clock read, no system call).
fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A queue pair whose frames are mirrored into a [`CaptureRing`] while it is armed.
#[derive(Debug)]
pub struct CaptureNic<N: Nic> {
    inner: N,
    ring: Arc<CaptureRing>,
    thread: usize,
    /// Transmit copies waiting to learn whether the NIC took their frame.
    pending: ArrayVec<Box<Slot>, BURST>,
}

impl<N: Nic> CaptureNic<N> {
    /// Wraps `inner` (the queue pair of elastic thread `thread`).
    pub fn new(inner: N, ring: Arc<CaptureRing>, thread: usize) -> Self {
        CaptureNic {
            inner,
            ring,
            thread,
            pending: ArrayVec::new(),
        }
    }

    /// The wrapped NIC.
    pub fn inner(&self) -> &N {
        &self.inner
    }

    fn slot(&self, dir: Direction, ts_ns: u64, orig_len: usize) -> Option<Box<Slot>> {
        let mut s = self.ring.take_slot()?;
        s.ts_ns = ts_ns;
        s.thread = self.thread;
        s.dir = dir;
        s.orig_len = orig_len.min(u32::MAX as usize) as u32;
        s.len = 0;
        Some(s)
    }
}

impl<N: Nic> Nic for CaptureNic<N> {
    type Pool = N::Pool;

    fn pool(&self) -> &N::Pool {
        self.inner.pool()
    }

    fn rx_burst(&mut self, out: &mut Batch<RxOf<N::Pool>>) -> usize {
        let before = out.len();
        let n = self.inner.rx_burst(out);
        if n > 0 && self.ring.is_armed() {
            let ts = now_ns();
            for f in &out[before..] {
                let data = f.data();
                let Some(mut s) = self.slot(Direction::Rx, ts, data.len()) else {
                    break;
                };
                s.push(data);
                self.ring.commit(s);
            }
        }
        n
    }

    fn tx_burst(&mut self, frames: &mut Batch<FrameOf<N::Pool>>) -> usize {
        if frames.is_empty() || !self.ring.is_armed() {
            return self.inner.tx_burst(frames);
        }
        let ts = now_ns();
        for f in frames.iter() {
            let Some(mut s) = self.slot(Direction::Tx, ts, f.len()) else {
                break;
            };
            f.for_each_segment(|piece| s.push(piece));
            // Cannot fail: at most BURST frames in a batch.
            let _ = self.pending.try_push(s);
        }
        let n = self.inner.tx_burst(frames);
        // The NIC took the first `n` frames; the others stay queued and are copied
        // again when retried.
        for (i, s) in self.pending.drain(..).enumerate() {
            if i < n {
                self.ring.commit(s);
            } else {
                self.ring.give_back(s);
            }
        }
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
    use ix_nic::BufPool;

    fn nic(ring: &Arc<CaptureRing>) -> CaptureNic<FakeNic> {
        let fake = FakeNic::new([2, 0, 0, 0, 0, 1], HeapPool::new(64, 2048));
        CaptureNic::new(fake, Arc::clone(ring), 3)
    }

    #[test]
    fn hex_round_trips_and_refuses_nonsense() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(unhex("00AB10"), Some(vec![0, 0xab, 0x10]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }

    #[test]
    fn nothing_is_copied_while_disarmed() {
        let ring = Arc::new(CaptureRing::new(8));
        let mut n = nic(&ring);
        n.inner.inject(&[7u8; 60]).unwrap();
        let mut out = Batch::new();
        assert_eq!(n.rx_burst(&mut out), 1);
        assert_eq!(ring.captured(), 0);
        assert!(!ring.is_armed());
    }

    #[test]
    fn armed_capture_copies_both_directions_and_counts_overflow() {
        let ring = Arc::new(CaptureRing::new(4));
        let mut n = nic(&ring);
        let worker = {
            let ring = Arc::clone(&ring);
            std::thread::spawn(move || {
                ring.capture(4, Duration::from_secs(10), &AtomicBool::new(false))
            })
        };
        while !ring.is_armed() {
            std::thread::sleep(Duration::from_millis(1));
        }
        for i in 0..3u8 {
            n.inner.inject(&[i; 64]).unwrap();
        }
        let mut out = Batch::new();
        assert_eq!(n.rx_burst(&mut out), 3);
        let mut frames = Batch::new();
        for i in 0..2u8 {
            let mut f = n.pool().alloc_frame().unwrap();
            f.append(100).unwrap().fill(0xe0 + i);
            let _ = frames.try_push(f);
        }
        assert_eq!(n.tx_burst(&mut frames), 2);
        let got = worker.join().unwrap();
        assert_eq!(got.len(), 4, "the ring's capacity");
        assert_eq!(ring.dropped(), 1, "the fifth frame found no slot");
        let rx: Vec<_> = got.iter().filter(|f| f.dir == "rx").collect();
        assert_eq!(rx.len(), 3);
        assert_eq!(unhex(&rx[1].data_hex).unwrap(), vec![1u8; 64]);
        let tx: Vec<_> = got.iter().filter(|f| f.dir == "tx").collect();
        assert_eq!(tx.len(), 1);
        assert_eq!(tx[0].orig_len, 100);
        assert_eq!(unhex(&tx[0].data_hex).unwrap(), vec![0xe0; 100]);
        assert!(got.iter().all(|f| f.thread == 3 && f.ts_ns > 0));
        assert_eq!(n.inner.sent_len(), 2, "transmission is untouched");
    }
}

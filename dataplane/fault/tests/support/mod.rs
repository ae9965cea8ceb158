//! Shared test harness: numbered frames, a fake NIC under the injector, and an
//! observer that measures from the outside what the injector did.

#![allow(dead_code)] // each test binary uses a different part

use ix_fakenic::FakeNic;
use ix_fault::{FaultConfig, FaultPlan, FaultyNic};
use ix_nic::heap::{HeapFrame, HeapPool};
use ix_nic::{Batch, BufPool, Clock, Instant, Nic, RxBuf, TxFrame, VirtualClock};
use std::time::Duration;

/// The MAC the fake NIC answers to.
pub const MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
/// Copies of the sequence number in a frame: one flipped bit leaves a clear majority.
const COPIES: usize = 16;
/// Bytes in a numbered frame.
pub const FRAME_LEN: usize = 4 * COPIES;

/// The injector under test, over a standalone fake NIC and a virtual clock.
pub type Faulty = FaultyNic<FakeNic, VirtualClock>;

/// A frame carrying `seq` 16 times over.
pub fn numbered(seq: u32) -> [u8; FRAME_LEN] {
    let mut f = [0u8; FRAME_LEN];
    for chunk in f.chunks_exact_mut(4) {
        chunk.copy_from_slice(&seq.to_be_bytes());
    }
    f
}

/// The sequence number a frame carries (majority of its copies) and whether any copy
/// disagrees (it was corrupted).
pub fn decode(frame: &[u8]) -> (u32, bool) {
    assert_eq!(frame.len(), FRAME_LEN);
    let words: Vec<u32> = frame
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    // With at most one bad copy, the first or the second is the majority value.
    let agreeing = |v: u32| words.iter().filter(|w| **w == v).count();
    let seq = if agreeing(words[0]) > COPIES / 2 {
        words[0]
    } else {
        words[1]
    };
    let n = agreeing(seq);
    assert!(n > COPIES / 2, "frame damaged beyond one bit: {frame:?}");
    (seq, n != COPIES)
}

/// A transmit frame from `pool` holding `bytes` in its linear part.
pub fn tx_frame(pool: &HeapPool, bytes: &[u8]) -> HeapFrame {
    let mut f = pool.alloc_frame().unwrap();
    f.append(bytes.len()).unwrap().copy_from_slice(bytes);
    f
}

/// A fresh injector with `plan` over a fake NIC with a pool of `blocks` blocks.
pub fn faulty(plan: &FaultPlan, blocks: usize) -> (Faulty, VirtualClock, HeapPool) {
    let pool = HeapPool::new(blocks, 128);
    let clock = VirtualClock::new();
    let nic = FakeNic::new(MAC, pool.clone());
    let f = FaultyNic::new(nic, clock.clone(), plan).unwrap();
    (f, clock, pool)
}

/// A plan with `config` in one direction and nothing in the other.
pub fn plan(seed: u64, rx: FaultConfig, tx: FaultConfig) -> FaultPlan {
    FaultPlan { seed, rx, tx }
}

/// Every frame received now, as bytes.
pub fn receive_all(f: &mut Faulty) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    loop {
        let mut out = Batch::new();
        if f.rx_burst(&mut out) == 0 {
            return all;
        }
        all.extend(out.iter().map(|rx| rx.data().to_vec()));
    }
}

/// Every frame the fake NIC under the injector has transmitted so far, as bytes.
pub fn sent_all(f: &mut Faulty) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| f.inner_mut().pop_sent()).collect()
}

/// Transmits every frame of `frames` through the injector, retrying refused ones.
pub fn transmit(f: &mut Faulty, frames: &[&[u8]]) {
    let mut batch = Batch::new();
    for bytes in frames {
        batch.push(tx_frame(f.pool(), bytes));
    }
    while !batch.is_empty() {
        if f.tx_burst(&mut batch) == 0 {
            panic!("injector refused frames with an empty ring below it");
        }
    }
}

/// Which direction a run drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// Inject into the fake NIC, collect with `rx_burst`.
    Rx,
    /// Send with `tx_burst`, collect from the fake NIC.
    Tx,
}

/// A delivered frame: its bytes and the virtual time it came out.
pub type Delivery = (Vec<u8>, Instant);

/// Drives `frames` numbered frames through `f` in bursts of 64, advancing the clock
/// `step` per burst, then drains everything held. Returns what came out, in order,
/// with each frame's delivery time; the injection time of frame `seq` is
/// `(seq / 64) * step`.
pub fn run(
    f: &mut Faulty,
    clock: &VirtualClock,
    way: Way,
    frames: u32,
    step: Duration,
) -> Vec<Delivery> {
    let mut got = Vec::new();
    let mut seq = 0;
    let collect = |f: &mut Faulty, got: &mut Vec<Delivery>, now: Instant| {
        let frames = match way {
            Way::Rx => receive_all(f),
            Way::Tx => {
                f.poll();
                sent_all(f)
            }
        };
        got.extend(frames.into_iter().map(|b| (b, now)));
    };
    while seq < frames {
        let end = (seq + 64).min(frames);
        match way {
            Way::Rx => {
                for s in seq..end {
                    f.inner_mut().inject(&numbered(s)).unwrap();
                }
            }
            Way::Tx => {
                let bytes: Vec<_> = (seq..end).map(numbered).collect();
                let refs: Vec<&[u8]> = bytes.iter().map(|b| &b[..]).collect();
                transmit(f, &refs);
            }
        }
        seq = end;
        collect(f, &mut got, clock.now());
        clock.advance(step);
    }
    // Let every delay and reorder bound run out, then collect the stragglers.
    for _ in 0..3 {
        clock.advance(Duration::from_secs(1));
        collect(f, &mut got, clock.now());
    }
    assert_eq!(f.held(), 0, "everything released at the end");
    got
}

/// What an outside observer can tell about a run of numbered frames.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    /// Numbers never delivered.
    pub missing: u64,
    /// Deliveries beyond the first of a number.
    pub extra: u64,
    /// Numbers whose first delivery had a bit flipped.
    pub corrupted: u64,
    /// Numbers first delivered at least `delay` after they were injected.
    pub late: u64,
    /// Numbers overtaken by a later number and not late.
    pub overtaken: u64,
}

/// Measures `got` for a run of `frames` numbers injected at `(seq / 64) * step`.
pub fn observe(got: &[Delivery], frames: u32, step: Duration, delay: Duration) -> Observed {
    let mut first: Vec<Option<(bool, Instant)>> = vec![None; frames as usize];
    let mut o = Observed::default();
    let mut highest: Option<u32> = None;
    for (bytes, at) in got {
        let (seq, corrupted) = decode(bytes);
        let slot = &mut first[seq as usize];
        if slot.is_some() {
            o.extra += 1;
            continue;
        }
        *slot = Some((corrupted, *at));
        let injected = Instant::ZERO + step * (seq / 64);
        let late = at.saturating_since(injected) >= delay;
        o.corrupted += u64::from(corrupted);
        o.late += u64::from(late);
        if !late && highest.is_some_and(|h| h > seq) {
            o.overtaken += 1;
        }
        highest = highest.max(Some(seq));
    }
    o.missing = first.iter().filter(|s| s.is_none()).count() as u64;
    o
}

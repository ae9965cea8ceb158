//! The steady-state frame path allocates nothing: the allocation-counter crate's
//! counting global allocator watches a link carrying frames both ways (with and without
//! attached payload) and a standalone NIC receiving injected frames and transmitting.
//!
//! This file is its own test binary, so the allocator affects nothing else; counts
//! are per thread, so the test harness's own threads do not disturb them.

use ix_fakenic::{FakeLink, FakeNic};
use ix_nic::heap::{HeapFrame, HeapPool, HeapShared};
use ix_nic::{Batch, BufPool, Nic, RxBuf, SharedBuf, TxFrame};

fn frame(pool: &HeapPool, payload: Option<&HeapShared>) -> HeapFrame {
    let mut f = pool.alloc_frame().unwrap();
    f.append(42).unwrap().fill(0x45);
    if let Some(p) = payload {
        f.attach(p, 0..p.len()).unwrap();
    }
    f
}

/// Sends a full burst from `from` to `to` and receives it; returns bytes received.
fn burst(from: &mut FakeNic, to: &mut FakeNic, payload: Option<&HeapShared>) -> usize {
    let mut tx = Batch::new();
    while !tx.is_full() {
        tx.push(frame(from.pool(), payload));
    }
    assert_eq!(from.tx_burst(&mut tx), 64);
    let mut rx = Batch::new();
    assert_eq!(to.rx_burst(&mut rx), 64);
    rx.iter().map(|r| r.data().len()).sum()
}

#[test]
fn steady_state_allocates_nothing() {
    let (mut a, mut b) = FakeLink::pair([2, 0, 0, 0, 0, 0xa], [2, 0, 0, 0, 0, 0xb], 256, 2048);
    let value = a.pool().shared_from(&[7u8; 1000]).unwrap();
    let mut solo = FakeNic::new([2, 0, 0, 0, 0, 1], HeapPool::new(1024, 2048));
    let wire = [0x11u8; 60];

    let round = |a: &mut FakeNic, b: &mut FakeNic, solo: &mut FakeNic| {
        assert_eq!(burst(a, b, Some(&value)), 64 * 1042);
        assert_eq!(burst(b, a, None), 64 * 42);
        for _ in 0..64 {
            solo.inject(&wire).unwrap();
        }
        let mut rx = Batch::new();
        assert_eq!(solo.rx_burst(&mut rx), 64);
        let mut tx = Batch::new();
        tx.push(frame(solo.pool(), None));
        assert_eq!(solo.tx_burst(&mut tx), 1);
    };

    round(&mut a, &mut b, &mut solo); // warm up: first use of everything

    // The counter works: a deliberate allocation is seen.
    let probe = allocation_counter::measure(|| {
        drop(std::hint::black_box(Vec::<u8>::with_capacity(16)));
    });
    assert_eq!(probe.count_total, 1);

    let steady = allocation_counter::measure(|| {
        for _ in 0..500 {
            round(&mut a, &mut b, &mut solo);
        }
    });
    assert_eq!(steady.count_total, 0, "heap allocations on the frame path");
    assert_eq!(
        solo.sent_len(),
        501,
        "kept for the test, without allocating"
    );
}

//! The injector allocates nothing per frame: the allocation-counter crate's counting
//! global allocator watches a FaultyNic with every fault turned on, in both directions,
//! over a FakeLink.
//!
//! This file is its own test binary, so the allocator affects nothing else; counts
//! are per thread, so the test harness's own threads do not disturb them.

use ix_fakenic::{FakeLink, FakeNic};
use ix_fault::{FaultConfig, FaultPlan, FaultyNic};
use ix_nic::{Batch, BufPool, Nic, TxFrame, VirtualClock};
use std::time::Duration;

/// Sends one full burst from `from`, as far as it takes it.
fn send(from: &mut impl Nic<Pool = ix_nic::heap::HeapPool>) {
    let mut tx = Batch::new();
    while !tx.is_full() {
        let mut f = from.pool().alloc_frame().unwrap();
        f.append(60).unwrap().fill(0x45);
        tx.push(f);
    }
    from.tx_burst(&mut tx);
}

/// Receives everything waiting at `at`; returns how many frames.
fn receive(at: &mut impl Nic<Pool = ix_nic::heap::HeapPool>) -> usize {
    let mut n = 0;
    loop {
        let mut rx = Batch::new();
        match at.rx_burst(&mut rx) {
            0 => return n,
            k => n += k,
        }
    }
}

#[test]
fn every_fault_on_allocates_nothing_per_frame() {
    let all = FaultConfig {
        drop: 0.1,
        duplicate: 0.1,
        reorder: 0.1,
        corrupt: 0.1,
        delay: 0.1,
        delay_us: 300,
        reorder_wait_us: 500,
        ..FaultConfig::default()
    };
    let plan = FaultPlan {
        seed: 1,
        rx: all,
        tx: all,
    };
    let clock = VirtualClock::new();
    let (na, mut b): (FakeNic, FakeNic) =
        FakeLink::pair([2, 0, 0, 0, 0, 0xa], [2, 0, 0, 0, 0, 0xb], 2048, 256);
    let mut a = FaultyNic::new(na, clock.clone(), &plan).unwrap();

    let round = |a: &mut FaultyNic<FakeNic, VirtualClock>, b: &mut FakeNic| {
        send(a);
        send(b);
        let got = receive(a) + receive(b);
        clock.advance(Duration::from_micros(100));
        got
    };
    for _ in 0..20 {
        round(&mut a, &mut b); // warm up, and let the hold queues fill to their usual depth
    }

    // The counter works: a deliberate allocation is seen.
    let probe = allocation_counter::measure(|| {
        drop(std::hint::black_box(Vec::<u8>::with_capacity(16)));
    });
    assert_eq!(probe.count_total, 1);

    let mut delivered = 0;
    let steady = allocation_counter::measure(|| {
        for _ in 0..1000 {
            delivered += round(&mut a, &mut b);
        }
    });
    assert_eq!(
        steady.count_total, 0,
        "heap allocations on the injector's path"
    );
    assert!(delivered > 1000 * 64, "traffic flowed: {delivered}");
    let (rx, tx) = (a.rx_stats(), a.tx_stats());
    assert!(rx.delayed > 0 && rx.reordered > 0 && rx.duplicated > 0 && rx.corrupted > 0);
    assert!(tx.delayed > 0 && tx.reordered > 0 && tx.duplicated > 0 && tx.corrupted > 0);
}

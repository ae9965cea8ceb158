//! What each fault does to frames, exactly, in both directions.

mod support;

use ix_fakenic::FakeNic;
use ix_fault::{FaultConfig, FaultConfigError, FaultPlan, FaultyNic};
use ix_nic::heap::HeapPool;
use ix_nic::{Batch, BufPool, Nic, SharedBuf, TxFrame, VirtualClock};
use std::time::Duration;
use support::{faulty, numbered, plan, receive_all, run, sent_all, transmit, tx_frame, Way, MAC};

fn none() -> FaultConfig {
    FaultConfig::default()
}

fn frames(n: u32) -> Vec<Vec<u8>> {
    (0..n).map(|s| numbered(s).to_vec()).collect()
}

fn bits_differing(a: &[u8], b: &[u8]) -> u32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

#[test]
fn zero_config_passes_frames_unchanged_and_in_order() {
    let (mut f, clock, pool) = faulty(&FaultPlan::default(), 256);
    for way in [Way::Rx, Way::Tx] {
        let got = run(&mut f, &clock, way, 1000, Duration::from_micros(10));
        let bytes: Vec<_> = got.into_iter().map(|(b, _)| b).collect();
        assert_eq!(bytes, frames(1000), "{way:?}");
    }
    let (rx, tx) = (f.rx_stats(), f.tx_stats());
    assert_eq!((rx.seen, tx.seen), (1000, 1000));
    assert_eq!(
        rx,
        ix_fault::FaultStats {
            seen: 1000,
            ..Default::default()
        }
    );
    assert_eq!(
        tx,
        ix_fault::FaultStats {
            seen: 1000,
            ..Default::default()
        }
    );
    drop(f);
    assert_eq!(pool.stats().in_use(), 0);
}

#[test]
fn same_seed_same_faults_different_seed_different_faults() {
    let c = FaultConfig {
        drop: 0.1,
        duplicate: 0.1,
        reorder: 0.1,
        corrupt: 0.1,
        delay: 0.1,
        delay_us: 300,
        ..none()
    };
    let outcome = |seed, way| {
        let (mut f, clock, _pool) = faulty(&plan(seed, c, c), 1024);
        let got = run(&mut f, &clock, way, 3000, Duration::from_micros(100));
        (got, f.rx_stats(), f.tx_stats())
    };
    for way in [Way::Rx, Way::Tx] {
        let first = outcome(9, way);
        assert_eq!(
            first,
            outcome(9, way),
            "{way:?}: bytes, order, timing and counts"
        );
        assert_ne!(first.0, outcome(10, way).0, "{way:?}");
    }
}

#[test]
fn directions_have_independent_streams() {
    // The faults on received frames do not depend on what was transmitted.
    let c = FaultConfig {
        drop: 0.5,
        corrupt: 0.5,
        ..none()
    };
    let received = |transmit_first: bool| {
        let (mut f, _clock, _pool) = faulty(&plan(3, c, c), 256);
        if transmit_first {
            transmit(&mut f, &[b"one", b"two", b"three"]);
        }
        for s in 0..64 {
            f.inner_mut().inject(&numbered(s)).unwrap();
        }
        receive_all(&mut f)
    };
    assert_eq!(received(false), received(true));
}

#[test]
fn delays_follow_the_virtual_clock() {
    let delay = FaultConfig {
        delay: 1.0,
        delay_us: 10_000,
        ..none()
    };
    let (mut f, clock, pool) = faulty(&plan(1, delay, delay), 64);

    f.inner_mut().inject(b"late rx").unwrap();
    transmit(&mut f, &[b"late tx"]);
    assert!(receive_all(&mut f).is_empty());
    assert!(sent_all(&mut f).is_empty());
    assert_eq!(f.held(), 2);

    clock.advance(Duration::from_micros(9_999));
    assert!(receive_all(&mut f).is_empty(), "1 us early");
    assert!(sent_all(&mut f).is_empty(), "1 us early");

    clock.advance(Duration::from_micros(1));
    // Receiving also releases due transmissions: a stack that only polls still sends.
    assert_eq!(receive_all(&mut f), vec![b"late rx".to_vec()]);
    assert_eq!(sent_all(&mut f), vec![b"late tx".to_vec()]);
    assert_eq!((f.rx_stats().delayed, f.tx_stats().delayed), (1, 1));
    assert_eq!(f.held(), 0);
    drop(f);
    assert_eq!(pool.stats().in_use(), 0);
}

#[test]
fn reordered_frame_follows_the_next_one() {
    // Every frame is picked for reordering, but only one can be held: the next frame
    // finds the queue full, passes, and the held one follows it.
    let reorder = FaultConfig {
        reorder: 1.0,
        hold_capacity: 1,
        ..none()
    };
    for way in [Way::Rx, Way::Tx] {
        let (rx, tx) = if way == Way::Rx {
            (reorder, none())
        } else {
            (none(), reorder)
        };
        let (mut f, clock, pool) = faulty(&plan(5, rx, tx), 64);
        let got = run(&mut f, &clock, way, 6, Duration::ZERO);
        let order: Vec<u8> = got.iter().map(|(b, _)| b[3]).collect();
        assert_eq!(order, [1, 0, 3, 2, 5, 4], "{way:?}");
        let s = if way == Way::Rx {
            f.rx_stats()
        } else {
            f.tx_stats()
        };
        assert_eq!((s.reordered, s.skipped_queue_full), (3, 3), "{way:?}");
        drop(f);
        assert_eq!(pool.stats().in_use(), 0);
    }
}

#[test]
fn reordered_frame_is_not_held_forever() {
    let reorder = FaultConfig {
        reorder: 1.0,
        reorder_wait_us: 1_000,
        ..none()
    };
    let (mut f, clock, _pool) = faulty(&plan(5, reorder, none()), 64);
    f.inner_mut().inject(b"alone").unwrap();
    assert!(receive_all(&mut f).is_empty());
    clock.advance(Duration::from_micros(999));
    assert!(receive_all(&mut f).is_empty());
    clock.advance(Duration::from_micros(1));
    assert_eq!(receive_all(&mut f), vec![b"alone".to_vec()]);
}

#[test]
fn corrupt_flips_exactly_one_bit_of_received_frames() {
    let corrupt = FaultConfig {
        corrupt: 1.0,
        ..none()
    };
    let (mut f, _clock, pool) = faulty(&plan(11, corrupt, none()), 128);
    for s in 0..64 {
        f.inner_mut().inject(&numbered(s)).unwrap();
    }
    let got = receive_all(&mut f);
    assert_eq!(got.len(), 64);
    for (s, bytes) in got.iter().enumerate() {
        assert_eq!(bits_differing(bytes, &numbered(s as u32)), 1, "frame {s}");
    }
    assert_eq!(f.rx_stats().corrupted, 64);
    drop(f);
    assert_eq!(pool.stats().in_use(), 0);
}

#[test]
fn corrupt_on_transmit_hits_headers_never_shared_payload() {
    let corrupt = FaultConfig {
        corrupt: 1.0,
        ..none()
    };
    let (mut f, _clock, pool) = faulty(&plan(12, none(), corrupt), 128);
    let payload = pool.shared_from(&[0xAA; 32]).unwrap();
    let header = [0x55u8; 14];
    let mut batch = Batch::new();
    for _ in 0..32 {
        let mut fr = tx_frame(&pool, &header);
        fr.attach(&payload, 0..32).unwrap();
        batch.push(fr);
    }
    assert_eq!(f.tx_burst(&mut batch), 32);
    let sent = sent_all(&mut f);
    assert_eq!(sent.len(), 32);
    for wire in &sent {
        assert_eq!(bits_differing(&wire[..14], &header), 1);
        assert_eq!(
            &wire[14..],
            &[0xAA; 32][..],
            "payload untouched on the wire"
        );
    }
    assert_eq!(payload.data(), &[0xAA; 32][..], "shared buffer untouched");
    assert_eq!(f.tx_stats().corrupted, 32);
    drop((f, payload));
    assert_eq!(pool.stats().in_use(), 0);
}

#[test]
fn duplicates_follow_their_original() {
    let dup = FaultConfig {
        duplicate: 1.0,
        ..none()
    };
    let (mut f, clock, pool) = faulty(&plan(2, dup, dup), 256);
    for way in [Way::Rx, Way::Tx] {
        let got = run(&mut f, &clock, way, 100, Duration::ZERO);
        let bytes: Vec<_> = got.into_iter().map(|(b, _)| b).collect();
        let expected: Vec<_> = frames(100)
            .into_iter()
            .flat_map(|b| [b.clone(), b])
            .collect();
        assert_eq!(bytes, expected, "{way:?}");
    }
    assert_eq!(
        (f.rx_stats().duplicated, f.tx_stats().duplicated),
        (100, 100)
    );
    drop(f);
    assert_eq!(pool.stats().in_use(), 0);
}

#[test]
fn transmit_duplicate_references_payload_instead_of_copying() {
    let dup = FaultConfig {
        duplicate: 1.0,
        delay: 1.0,
        delay_us: 5,
        ..none()
    };
    let (mut f, clock, pool) = faulty(&plan(2, none(), dup), 16);
    let payload = pool.shared_from(b"payload").unwrap();
    let mut fr = tx_frame(&pool, b"hdr");
    fr.attach(&payload, 0..7).unwrap();
    let mut batch = Batch::new();
    batch.push(fr);
    assert_eq!(f.tx_burst(&mut batch), 1);
    assert_eq!(
        payload.ref_count(),
        3,
        "held original and copy both refer to it"
    );
    assert_eq!(
        pool.stats().in_use(),
        3,
        "payload, original and copy headers"
    );
    clock.advance(Duration::from_micros(5));
    f.poll();
    assert_eq!(
        sent_all(&mut f),
        vec![b"hdrpayload".to_vec(), b"hdrpayload".to_vec()]
    );
    assert_eq!(payload.ref_count(), 1);
}

#[test]
fn duplicate_without_buffers_is_skipped_and_counted() {
    let dup = FaultConfig {
        duplicate: 1.0,
        ..none()
    };
    let (mut f, _clock, pool) = faulty(&plan(2, dup, none()), 2);
    f.inner_mut().inject(b"a").unwrap();
    f.inner_mut().inject(b"b").unwrap();
    assert_eq!(receive_all(&mut f), vec![b"a".to_vec(), b"b".to_vec()]);
    let s = f.rx_stats();
    assert_eq!((s.duplicated, s.skipped_no_buffers), (0, 2));
    drop(f);
    assert_eq!(pool.stats().in_use(), 0);
}

#[test]
fn full_delay_queue_skips_the_fault_and_counts() {
    let delay = FaultConfig {
        delay: 1.0,
        delay_us: 100,
        hold_capacity: 2,
        ..none()
    };
    let (mut f, clock, _pool) = faulty(&plan(4, delay, none()), 64);
    for s in 0..5 {
        f.inner_mut().inject(&numbered(s)).unwrap();
    }
    let now: Vec<u8> = receive_all(&mut f).iter().map(|b| b[3]).collect();
    assert_eq!(now, [2, 3, 4]);
    clock.advance(Duration::from_micros(100));
    let later: Vec<u8> = receive_all(&mut f).iter().map(|b| b[3]).collect();
    assert_eq!(later, [0, 1]);
    let s = f.rx_stats();
    assert_eq!((s.delayed, s.skipped_queue_full), (2, 3));
}

#[test]
fn drop_everything_delivers_nothing_and_leaks_nothing() {
    let drop_all = FaultConfig {
        drop: 1.0,
        ..none()
    };
    let (mut f, clock, pool) = faulty(&plan(8, drop_all, drop_all), 256);
    for way in [Way::Rx, Way::Tx] {
        assert!(run(&mut f, &clock, way, 500, Duration::ZERO).is_empty());
        assert_eq!(pool.stats().in_use(), 0, "{way:?}");
    }
    assert_eq!((f.rx_stats().dropped, f.tx_stats().dropped), (500, 500));
}

#[test]
fn dropping_the_injector_releases_held_frames() {
    let hold = FaultConfig {
        delay: 1.0,
        delay_us: 1_000_000,
        duplicate: 0.5,
        ..none()
    };
    let (mut f, _clock, pool) = faulty(&plan(6, hold, hold), 512);
    for s in 0..100 {
        f.inner_mut().inject(&numbered(s)).unwrap();
    }
    let bytes = frames(100);
    let refs: Vec<&[u8]> = bytes.iter().map(|b| &b[..]).collect();
    for chunk in refs.chunks(64) {
        transmit(&mut f, chunk);
    }
    assert!(receive_all(&mut f).is_empty());
    assert!(f.held() >= 200);
    assert!(pool.stats().in_use() >= 200);
    drop(f);
    assert_eq!(pool.stats().in_use(), 0);
}

#[test]
fn transmit_respects_a_full_inner_ring() {
    let pool = HeapPool::new(64, 128);
    let nic = FakeNic::with_ring_depth(MAC, pool.clone(), 4);
    let mut f = FaultyNic::new(nic, VirtualClock::new(), &FaultPlan::default()).unwrap();
    let mut batch = Batch::new();
    for s in 0..10 {
        batch.push(tx_frame(&pool, &numbered(s)));
    }
    // The injector takes the burst but the ring below takes only 4: the rest wait in
    // the injector, which then refuses more until the ring drains.
    assert_eq!(f.tx_burst(&mut batch), 10);
    let mut more = Batch::new();
    more.push(tx_frame(&pool, &numbered(10)));
    assert_eq!(f.tx_burst(&mut more), 0);
    assert_eq!(more.len(), 1, "refused frame stays with the caller");
    assert_eq!(f.held(), 6);

    let mut order = Vec::new();
    while order.len() < 11 {
        order.extend(sent_all(&mut f).iter().map(|b| b[3]));
        f.poll();
        f.tx_burst(&mut more);
    }
    assert_eq!(order, (0..11).collect::<Vec<u8>>());
    assert!(more.is_empty());
    drop(f);
    assert_eq!(pool.stats().in_use(), 0);
}

#[test]
fn receive_respects_the_callers_spare_capacity() {
    let dup = FaultConfig {
        duplicate: 1.0,
        ..none()
    };
    let (mut f, _clock, pool) = faulty(&plan(1, dup, none()), 256);
    for s in 0..40 {
        f.inner_mut().inject(&numbered(s)).unwrap();
    }
    let mut out = Batch::new();
    for _ in 0..60 {
        out.push(pool.rx_from(b"stack's own").unwrap());
    }
    assert_eq!(f.rx_burst(&mut out), 4);
    assert!(out.is_full());
    drop(out);
    // 80 frames came out of 40 (duplicates): 4 delivered, 76 wait in order.
    let rest: Vec<u8> = receive_all(&mut f).iter().map(|b| b[3]).collect();
    let expected: Vec<u8> = (2..40).flat_map(|s| [s, s]).collect();
    assert_eq!(rest, expected);
    drop(f);
    assert_eq!(pool.stats().in_use(), 0);
}

#[test]
fn invalid_plan_is_refused_with_a_clear_error() {
    let plan = FaultPlan {
        seed: 0,
        rx: FaultConfig {
            drop: 1.5,
            ..none()
        },
        tx: none(),
    };
    let nic = FakeNic::new(MAC, HeapPool::new(1, 64));
    let err = FaultyNic::new(nic, VirtualClock::new(), &plan).unwrap_err();
    assert_eq!(
        err,
        FaultConfigError::Probability {
            direction: "rx",
            field: "drop",
            value: 1.5
        }
    );
    assert_eq!(
        err.to_string(),
        "fault.rx.drop = 1.5: a probability must be between 0.0 and 1.0"
    );
}

#[test]
fn the_wrapper_is_the_same_nic_to_the_stack() {
    let (f, _clock, pool) = faulty(&FaultPlan::default(), 4);
    assert_eq!(f.mac(), MAC);
    assert_eq!(f.pool().buf_capacity(), pool.buf_capacity());
    assert_eq!(f.inner().mac(), MAC);
    let nic = f.into_inner();
    assert_eq!(nic.mac(), MAC);
}

//! Tests of the heap pool: counts, sharing, attachments, received segments.

use super::*;
use crate::credit::CreditLedger;
use crate::rxseg::RxSeg;

#[test]
fn every_block_comes_back_once() {
    let pool = HeapPool::new(4, 128);
    {
        let rx = pool.rx_from(b"hello").unwrap();
        let f = pool.alloc_frame().unwrap();
        let m = pool.alloc_mut().unwrap();
        assert_eq!(pool.stats().in_use(), 3);
        drop((rx, f, m));
    }
    let s = pool.stats();
    assert_eq!((s.allocs, s.releases, s.free), (3, 3, 4));
}

#[test]
fn empty_pool_says_so() {
    let pool = HeapPool::new(1, 64);
    let _a = pool.alloc_mut().unwrap();
    assert_eq!(pool.alloc_frame().unwrap_err(), NoBuffers);
    assert!(pool.rx_from(&[0; 65]).is_err(), "too big for a block");
}

#[test]
fn shared_buffer_lives_while_any_frame_refers_to_it() {
    let pool = HeapPool::new(4, 64);
    let value = pool.shared_from(b"0123456789").unwrap();
    let mut f1 = pool.alloc_frame().unwrap();
    f1.append(2).unwrap().copy_from_slice(b"H1");
    f1.attach(&value, 2..6).unwrap();
    let f2 = pool.dup_frame(&f1).unwrap();
    drop(value);
    assert_eq!(pool.stats().in_use(), 3, "value kept alive by two frames");
    let mut wire = Vec::new();
    f2.write_to(&mut wire);
    assert_eq!(wire, b"H12345");
    assert_eq!(f1.len(), 6);
    drop(f1);
    drop(f2);
    assert_eq!(pool.stats().in_use(), 0);
}

#[test]
fn no_linear_growth_after_attach_and_bad_ranges_refused() {
    let pool = HeapPool::new(3, 16);
    let v = pool.shared_from(b"abc").unwrap();
    let mut f = pool.alloc_frame().unwrap();
    assert!(f.attach(&v, 2..4).is_err());
    f.attach(&v, 0..3).unwrap();
    assert!(f.append(1).is_none());
    assert!(pool.alloc_frame().unwrap().append(17).is_none());
}

#[test]
fn attachments_are_bounded() {
    let pool = HeapPool::new(2, 16);
    let v = pool.shared_from(b"x").unwrap();
    let mut f = pool.alloc_frame().unwrap();
    for _ in 0..MAX_ATTACHMENTS {
        f.attach(&v, 0..1).unwrap();
    }
    assert_eq!(f.attach(&v, 0..1), Err(NoBuffers));
    assert_eq!(v.ref_count(), MAX_ATTACHMENTS + 1);
}

#[test]
fn rx_frame_becomes_reply_in_place() {
    let pool = HeapPool::new(1, 32);
    let rx = pool.rx_from(b"ping").unwrap();
    let mut f = pool.rx_into_frame(rx);
    f.linear_mut()[1] = b'o';
    assert_eq!(f.linear(), b"pong");
    drop(f);
    assert_eq!(pool.stats().in_use(), 0);
}

#[test]
fn segment_returns_buffer_then_credit() {
    let pool = HeapPool::new(2, 64);
    let ledger = CreditLedger::new(1);
    let g = ledger.open(0);
    let rx = pool.rx_from(b"headerPAYLOAD").unwrap();
    let mut seg = RxSeg::new(rx, 6..13)
        .unwrap()
        .with_credit(ledger.credit(0, g, 7));
    assert_eq!(&*seg, b"PAYLOAD");
    seg.advance(3);
    assert_eq!(seg.data(), b"LOAD");
    seg.truncate(2);
    assert_eq!(seg.data(), b"LO");
    assert_eq!(seg.credit_bytes(), 7);
    assert_eq!(pool.stats().in_use(), 1);
    drop(seg);
    assert_eq!(pool.stats().in_use(), 0);
    let mut got = 0;
    ledger.drain(|_, _, b| got += b);
    assert_eq!(got, 7);
}

#[test]
fn segment_range_checked() {
    let pool = HeapPool::new(1, 16);
    let rx = pool.rx_from(b"abc").unwrap();
    assert!(RxSeg::new(rx, 1..4).is_none());
    assert_eq!(
        pool.stats().in_use(),
        0,
        "refused segment released its buffer"
    );
}

#[test]
fn received_frame_becomes_shared_payload_without_a_copy() {
    let pool = HeapPool::new(4, 64);
    let rx = pool.rx_from(b"HDRpayload").unwrap();
    let at = rx.data().as_ptr();
    let shared = pool.rx_into_shared(rx);
    assert_eq!(shared.data(), b"HDRpayload");
    assert_eq!(shared.data().as_ptr(), at, "same block, not a copy");
    assert_eq!(pool.stats().in_use(), 1);

    let mut f = pool.alloc_frame().unwrap();
    f.append(2).unwrap().copy_from_slice(b"h:");
    f.attach(&shared, 3..10).unwrap();
    assert_eq!(shared.ref_count(), 2);
    drop(shared);
    assert_eq!(
        pool.stats().in_use(),
        2,
        "the frame keeps the received block"
    );
    let mut wire = Vec::new();
    f.write_to(&mut wire);
    assert_eq!(wire, b"h:payload");
    drop(f);
    let s = pool.stats();
    assert_eq!((s.allocs, s.releases, s.free), (2, 2, 4));
}

#[test]
fn segment_into_shared_keeps_the_view_and_hands_over_the_credit() {
    let pool = HeapPool::new(2, 64);
    let ledger = CreditLedger::new(1);
    let g = ledger.open(0);
    let rx = pool.rx_from(b"headerPAYLOAD").unwrap();
    let mut seg = RxSeg::new(rx, 6..13)
        .unwrap()
        .with_credit(ledger.credit(0, g, 7));
    seg.advance(1);
    seg.truncate(5);
    let shared = seg.into_shared(&pool);
    assert_eq!(shared.range, 7..12);
    assert_eq!(shared.data(), b"AYLOA");
    assert_eq!(shared.buf.data(), b"headerPAYLOAD", "the whole frame");
    assert_eq!(shared.credit.as_ref().map(|c| c.bytes()), Some(7));
    assert_eq!(
        drained_bytes(&ledger),
        0,
        "window still closed by these bytes"
    );

    let crate::SharedSeg { buf, range, credit } = shared;
    let another_ref = buf.clone();
    drop(buf);
    assert_eq!(&another_ref.data()[range], b"AYLOA");
    drop(credit);
    assert_eq!(
        drained_bytes(&ledger),
        7,
        "the credit alone reopens the window"
    );
    assert_eq!(
        pool.stats().in_use(),
        1,
        "the buffer lives on its references"
    );
    drop(another_ref);
    assert_eq!(pool.stats().in_use(), 0);
}

#[test]
fn segment_without_credit_converts_too() {
    let pool = HeapPool::new(1, 16);
    let seg = RxSeg::new(pool.rx_from(b"abc").unwrap(), 0..3).unwrap();
    let shared = seg.into_shared(&pool);
    assert!(shared.credit.is_none());
    assert_eq!(shared.data(), b"abc");
    drop(shared);
    assert_eq!(pool.stats().in_use(), 0);
}

/// Bytes the ledger has had returned since the last drain.
fn drained_bytes(ledger: &CreditLedger) -> u32 {
    let mut got = 0;
    ledger.drain(|_, _, b| got += b);
    got
}

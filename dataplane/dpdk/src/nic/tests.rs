//! Tests of the DPDK buffer kinds and of a queue pair over `net_ring2`.

use super::*;
use crate::port::PortConfig;
use crate::test_eal::{eal, unique_name};
use ix_nic::{CreditLedger, Nic, RxSeg, SharedSeg};

fn pool(n: u32) -> DpdkPool {
    DpdkPool::new(eal(), &unique_name("nic"), n, 0).unwrap()
}

fn in_use(pool: &DpdkPool) -> (u32, u32) {
    (pool.direct().in_use(), pool.indirect().in_use())
}

#[test]
fn every_buffer_comes_back_once() {
    let pool = pool(15);
    let rx = pool.rx_from(b"hello").unwrap();
    let f = pool.alloc_frame().unwrap();
    let m = pool.alloc_mut().unwrap();
    assert_eq!(in_use(&pool), (3, 0));
    assert_eq!(pool.buf_capacity(), 2048);
    drop((rx, f, m));
    assert_eq!(in_use(&pool), (0, 0));
}

#[test]
fn mut_fills_up_and_freezes() {
    let pool = pool(7);
    let mut m = pool.alloc_mut().unwrap();
    assert_eq!(m.spare(), 2048);
    assert_eq!(m.extend_from_slice(&[7; 2000]), 2000);
    assert_eq!(m.extend_from_slice(&[8; 100]), 48, "only what fits");
    assert_eq!(m.spare(), 0);
    m.data_mut()[0] = 1;
    let shared = m.freeze();
    assert_eq!(shared.len(), 2048);
    assert_eq!(shared.data()[0], 1);
    let again = shared.clone();
    assert_eq!(again.ref_count(), 2);
    drop(shared);
    drop(again);
    assert_eq!(in_use(&pool), (0, 0));
}

#[test]
fn shared_buffer_lives_while_any_frame_refers_to_it() {
    let pool = pool(15);
    let value = pool.shared_from(b"0123456789").unwrap();
    let mut f1 = pool.alloc_frame().unwrap();
    f1.append(2).unwrap().copy_from_slice(b"H1");
    f1.attach(&value, 2..6).unwrap();
    let f2 = pool.dup_frame(&f1).unwrap();
    assert_eq!(value.ref_count(), 3);
    drop(value);
    assert_eq!(in_use(&pool), (3, 2), "value, two headers; two attachments");
    let mut wire = Vec::new();
    f2.for_each_segment(|s| wire.extend_from_slice(s));
    assert_eq!(wire, b"H12345");
    assert_eq!(f1.len(), 6);
    assert_eq!(f1.linear(), b"H1");
    // Same payload bytes, not copies.
    assert_eq!(f1.mbuf().to_vec(), f2.mbuf().to_vec());
    drop(f1);
    drop(f2);
    assert_eq!(in_use(&pool), (0, 0));
}

#[test]
fn no_linear_growth_after_attach_and_bad_ranges_refused() {
    let pool = pool(7);
    let v = pool.shared_from(b"abc").unwrap();
    let mut f = pool.alloc_frame().unwrap();
    assert!(f.attach(&v, 2..4).is_err());
    assert_eq!(f.attachments(), 0);
    f.attach(&v, 0..3).unwrap();
    assert!(f.append(1).is_none());
    assert!(pool.alloc_frame().unwrap().append(2049).is_none());
}

#[test]
fn attachments_are_bounded() {
    let pool = pool(31);
    let v = pool.shared_from(b"x").unwrap();
    let mut f = pool.alloc_frame().unwrap();
    for _ in 0..MAX_ATTACHMENTS {
        f.attach(&v, 0..1).unwrap();
    }
    assert_eq!(f.attach(&v, 0..1), Err(NoBuffers));
    assert_eq!(usize::from(v.ref_count()), MAX_ATTACHMENTS + 1);
    assert_eq!(f.len(), MAX_ATTACHMENTS);
}

#[test]
fn rx_frame_becomes_reply_in_place_and_truncates() {
    let pool = pool(7);
    let rx = pool.rx_from(b"ping!").unwrap();
    let mut f = pool.rx_into_frame(rx);
    f.linear_mut()[1] = b'o';
    f.truncate(4);
    assert_eq!(f.linear(), b"pong");
    let dup = pool.dup_rx(&pool.rx_from(b"abc").unwrap()).unwrap();
    assert_eq!(dup.data(), b"abc");
    drop((f, dup));
    assert_eq!(in_use(&pool), (0, 0));
}

#[test]
fn empty_pool_says_so() {
    let pool = pool(1);
    let _a = pool.alloc_mut().unwrap();
    assert_eq!(pool.alloc_frame().unwrap_err(), NoBuffers);
    assert!(pool.rx_from(&[0; 10]).is_err());
}

/// net_ring2 loops frames back: what is sent comes back as the same
/// mbuf chain, which DpdkNic must turn into one writable segment; those
/// received frames then go round again as shared payload.
#[test]
fn nic_sends_attached_payload_receives_it_linear_and_echoes_it_by_reference() {
    let pool = pool(1023);
    let port =
        Port::configure_by_name(eal(), "net_ring2", &PortConfig::default(), pool.direct()).unwrap();
    let mut nic = DpdkNic::new(port, &pool).unwrap();
    assert_eq!(nic.queue(), 0);
    assert_eq!(nic.mac(), nic.port().mac().unwrap());

    let payload = pool.shared_from(b"PAYLOAD-BYTES").unwrap();
    let mut frames: Batch<DpdkFrame> = Batch::new();
    for i in 0..10u8 {
        let mut f = pool.alloc_frame().unwrap();
        f.append(3)
            .unwrap()
            .copy_from_slice(&[b'H', b'0' + i, b':']);
        f.attach(&payload, 0..7).unwrap();
        f.attach(&payload, 8..13).unwrap();
        frames.push(f);
    }
    assert_eq!(nic.tx_burst(&mut frames), 10);
    assert!(frames.is_empty());

    let mut rx: Batch<DpdkRx> = Batch::new();
    assert_eq!(nic.rx_burst(&mut rx), 10);
    for (i, r) in rx.iter_mut().enumerate() {
        let want = format!("H{i}:PAYLOADBYTES");
        assert_eq!(r.data(), want.as_bytes());
        r.data_mut()[0] = b'h';
        assert_eq!(r.mbuf().segment_count(), 1);
    }
    assert_eq!(nic.rx_fixups(), (10, 0));
    drop(payload);

    // Echo the received payload back by reference: each received mbuf becomes
    // the shared payload of a new frame (no copy), goes round again, and every
    // buffer comes home once the frames and segments are gone.
    let ledger = CreditLedger::new(1);
    let gen = ledger.open(0);
    let mut credits = Vec::new();
    for (i, r) in rx.drain(..).enumerate() {
        let at = r.data()[3..].as_ptr();
        let seg = RxSeg::new(r, 3..15)
            .unwrap()
            .with_credit(ledger.credit(0, gen, 12));
        let SharedSeg { buf, range, credit } = seg.into_shared(&pool);
        assert_eq!(buf.data()[range.clone()].as_ptr(), at, "the received bytes");
        let mut f = pool.alloc_frame().unwrap();
        f.append(3)
            .unwrap()
            .copy_from_slice(&[b'E', b'0' + i as u8, b'>']);
        f.attach(&buf, range).unwrap();
        assert_eq!(buf.ref_count(), 2);
        frames.push(f);
        credits.push(credit);
    }
    let mut returned = 0;
    ledger.drain(|_, _, b| returned += b);
    assert_eq!(returned, 0, "the credits are held, not released");
    assert_eq!(nic.tx_burst(&mut frames), 10);
    assert_eq!(nic.rx_burst(&mut rx), 10);
    for (i, r) in rx.iter().enumerate() {
        assert_eq!(r.data(), format!("E{i}>PAYLOADBYTES").as_bytes());
    }
    rx.clear();
    drop(credits);
    ledger.drain(|_, _, b| returned += b);
    assert_eq!(returned, 120);
    drop(nic);
    assert_eq!(in_use(&pool), (0, 0));
}

#[test]
fn received_mbuf_becomes_shared_payload_in_place() {
    let pool = pool(15);
    // As a driver leaves it: data after the headroom, here moved on by 4 bytes.
    let mut m = pool.direct().alloc().unwrap();
    m.extend_from_slice(b"junkETH|IP|TCP|payload").unwrap();
    m.adj(4).unwrap();
    let rx = DpdkRx(m);
    let at = rx.data().as_ptr();
    let shared = pool.rx_into_shared(rx);
    assert_eq!(shared.data(), b"ETH|IP|TCP|payload");
    assert_eq!(shared.data().as_ptr(), at, "the same mbuf, not a copy");
    assert_eq!(shared.ref_count(), 1);
    assert_eq!(in_use(&pool), (1, 0));

    let mut f1 = pool.alloc_frame().unwrap();
    f1.append(2).unwrap().copy_from_slice(b"h:");
    f1.attach(&shared, 11..18).unwrap();
    f1.attach(&shared, 0..3).unwrap();
    let f2 = pool.dup_frame(&f1).unwrap();
    assert_eq!(shared.ref_count(), 5, "one handle, four attachments");
    drop(shared);
    let mut wire = Vec::new();
    f2.for_each_segment(|s| wire.extend_from_slice(s));
    assert_eq!(wire, b"h:payloadETH");
    assert_eq!(f1.mbuf().to_vec(), wire);
    assert_eq!(
        in_use(&pool),
        (3, 4),
        "the received mbuf lives on in the frames"
    );
    drop(f1);
    drop(f2);
    assert_eq!(in_use(&pool), (0, 0));
}

#[test]
fn shared_received_mbuf_crosses_threads_and_returns_once() {
    let pool = pool(15);
    let shared = pool.rx_into_shared(pool.rx_from(b"abcdef").unwrap());
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let s = shared.clone();
            std::thread::spawn(move || s.data().to_vec())
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), b"abcdef");
    }
    assert_eq!(shared.ref_count(), 1);
    drop(shared);
    assert_eq!(in_use(&pool), (0, 0));
}

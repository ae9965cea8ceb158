//! Two FakeNics cabled back to back by FakeLink.

use ix_fakenic::{FakeLink, FakeNic};
use ix_nic::heap::{HeapFrame, HeapPool};
use ix_nic::{Batch, BufPool, Nic, RxBuf, TxFrame};

const A: [u8; 6] = [2, 0, 0, 0, 0, 0xa];
const B: [u8; 6] = [2, 0, 0, 0, 0, 0xb];

fn frame(pool: &HeapPool, bytes: &[u8]) -> HeapFrame {
    let mut f = pool.alloc_frame().unwrap();
    f.append(bytes.len()).unwrap().copy_from_slice(bytes);
    f
}

fn send(nic: &mut FakeNic, frames: &[&[u8]]) -> usize {
    let mut batch = Batch::new();
    for bytes in frames {
        batch.push(frame(nic.pool(), bytes));
    }
    nic.tx_burst(&mut batch)
}

fn received(nic: &mut FakeNic) -> Vec<Vec<u8>> {
    let mut out = Batch::new();
    nic.rx_burst(&mut out);
    out.iter().map(|rx| rx.data().to_vec()).collect()
}

#[test]
fn both_directions_in_order() {
    let (mut a, mut b) = FakeLink::pair(A, B, 32, 128);
    let (pool_a, pool_b) = (a.pool().clone(), b.pool().clone());
    assert_eq!((a.mac(), b.mac()), (A, B));

    assert_eq!(send(&mut a, &[b"a1", b"a2", b"a3"]), 3);
    assert_eq!(send(&mut b, &[b"b1"]), 1);
    assert_eq!(
        received(&mut b),
        vec![b"a1".to_vec(), b"a2".to_vec(), b"a3".to_vec()]
    );
    assert_eq!(received(&mut a), vec![b"b1".to_vec()]);
    assert_eq!(received(&mut a), Vec::<Vec<u8>>::new());
    assert_eq!(
        (a.sent_len(), a.pop_sent()),
        (0, None),
        "sent frames went to b"
    );

    let (sa, sb) = (a.stats(), b.stats());
    assert_eq!((sa.tx_frames, sa.tx_bytes, sa.rx_frames), (3, 6, 1));
    assert_eq!((sb.tx_frames, sb.rx_frames, sb.rx_bytes), (1, 3, 6));
    assert_eq!(pool_a.stats().in_use(), 0);
    assert_eq!(pool_b.stats().in_use(), 0);
}

#[test]
fn sender_blocks_are_released_when_the_peer_receives() {
    let (mut a, mut b) = FakeLink::pair(A, B, 8, 128);
    let pool_a = a.pool().clone();
    let pool_b = b.pool().clone();
    let payload = pool_a.shared_from(b"-payload").unwrap();
    let mut f = frame(&pool_a, b"hdr");
    f.attach(&payload, 0..8).unwrap();
    let mut batch = Batch::new();
    batch.push(f);
    assert_eq!(a.tx_burst(&mut batch), 1);
    assert_eq!(
        payload.ref_count(),
        2,
        "the frame on the wire holds the payload"
    );
    assert_eq!(pool_a.stats().in_use(), 2);
    assert_eq!(pool_b.stats().in_use(), 0, "nothing copied before receive");
    assert_eq!(b.rx_pending(), 1);

    let mut out = Batch::new();
    assert_eq!(b.rx_burst(&mut out), 1);
    assert_eq!(out[0].data(), b"hdr-payload");
    assert_eq!(payload.ref_count(), 1, "original frame released at receive");
    assert_eq!(
        pool_a.stats().in_use(),
        1,
        "only the payload the test holds"
    );
    assert_eq!(pool_b.stats().in_use(), 1, "the received copy");
    drop((out, payload));
    assert_eq!(pool_a.stats().in_use() + pool_b.stats().in_use(), 0);
}

#[test]
fn full_link_ring_refuses_the_sender() {
    let (mut a, mut b) =
        FakeLink::pair_with_pools(A, HeapPool::new(16, 64), B, HeapPool::new(16, 64), 2);
    assert_eq!(send(&mut a, &[b"1", b"2", b"3"]), 2);
    assert_eq!(a.stats().tx_refused, 1);
    assert_eq!(received(&mut b), vec![b"1".to_vec(), b"2".to_vec()]);
    assert_eq!(send(&mut a, &[b"4"]), 1);
    assert_eq!(received(&mut b), vec![b"4".to_vec()]);
}

#[test]
fn receiver_without_buffers_drops_and_counts() {
    let pool_a = HeapPool::new(16, 256);
    let pool_b = HeapPool::new(2, 64);
    let (mut a, mut b) = FakeLink::pair_with_pools(A, pool_a.clone(), B, pool_b.clone(), 16);
    let big = [7u8; 100];
    assert_eq!(send(&mut a, &[b"x", &big, b"y", b"z"]), 4);
    // "x" and "y" land; the 100-byte frame exceeds b's 64-byte blocks; "z" finds the
    // pool empty because the stack still holds the first two.
    let mut out = Batch::new();
    assert_eq!(b.rx_burst(&mut out), 2);
    assert_eq!(out[0].data(), b"x");
    assert_eq!(out[1].data(), b"y");
    assert_eq!(b.stats().rx_dropped_no_buffers, 2);
    assert_eq!(pool_a.stats().in_use(), 0, "dropped frames were released");
    drop(out);
    assert_eq!(pool_b.stats().in_use(), 0);
}

#[test]
fn link_ends_can_inject_too_and_nothing_leaks() {
    let (mut a, mut b) = FakeLink::pair(A, B, 16, 64);
    let (pool_a, pool_b) = (a.pool().clone(), b.pool().clone());
    send(&mut a, &[b"from a"]);
    b.inject(b"from the test").unwrap();
    send(&mut b, &[b"unread"]);
    assert_eq!(b.rx_pending(), 2);
    assert_eq!(a.rx_pending(), 1);
    drop(a);
    // b still holds a's frame in its receive ring: a's pool lives until it is released.
    assert_eq!(pool_a.stats().in_use(), 1);
    assert_eq!(
        received(&mut b),
        vec![b"from a".to_vec(), b"from the test".to_vec()]
    );
    assert_eq!(
        send(&mut b, &[b"peer gone"]),
        1,
        "the cable still takes frames"
    );
    drop(b);
    assert_eq!(pool_a.stats().in_use(), 0);
    assert_eq!(pool_b.stats().in_use(), 0);
}

#[test]
fn ends_can_run_on_two_threads() {
    // A shallow ring so the sender meets back-pressure; a's pool covers the ring plus
    // one batch being built, so the sender never runs dry.
    const FRAMES: u32 = 1000;
    let (mut a, mut b) =
        FakeLink::pair_with_pools(A, HeapPool::new(128, 64), B, HeapPool::new(128, 64), 16);
    let pool_b = b.pool().clone();
    let sender = std::thread::spawn(move || {
        let mut sent = 0u32;
        while sent < FRAMES {
            let mut batch = Batch::new();
            for i in sent..(sent + 64).min(FRAMES) {
                batch.push(frame(a.pool(), &i.to_be_bytes()));
            }
            sent += a.tx_burst(&mut batch) as u32;
            std::thread::yield_now();
        }
        a
    });
    let mut next = 0u32;
    while next < FRAMES {
        let got = received(&mut b);
        for bytes in &got {
            assert_eq!(bytes[..], next.to_be_bytes());
            next += 1;
        }
        if got.is_empty() && sender.is_finished() && b.rx_pending() == 0 {
            break; // the sender stopped early (or panicked): report below, don't hang
        }
        std::thread::yield_now();
    }
    let a = sender.join().expect("sender thread");
    assert_eq!(next, FRAMES);
    assert!(
        a.stats().tx_refused > 0,
        "the ring pushed back at some point"
    );
    let pool_a = a.pool().clone();
    drop((a, b));
    assert_eq!(pool_a.stats().in_use() + pool_b.stats().in_use(), 0);
}

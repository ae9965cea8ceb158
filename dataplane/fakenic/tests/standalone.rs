//! A standalone FakeNic: the test injects what it receives and collects what it sends.

use ix_fakenic::{FakeNic, FakeNicStats};
use ix_nic::heap::{HeapFrame, HeapPool};
use ix_nic::{Batch, BufPool, Nic, RxBuf, TxFrame};

const MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];

fn frame(pool: &HeapPool, bytes: &[u8]) -> HeapFrame {
    let mut f = pool.alloc_frame().unwrap();
    f.append(bytes.len()).unwrap().copy_from_slice(bytes);
    f
}

fn received(nic: &mut FakeNic) -> Vec<Vec<u8>> {
    let mut out = Batch::new();
    nic.rx_burst(&mut out);
    out.iter().map(|rx| rx.data().to_vec()).collect()
}

#[test]
fn receives_injected_frames_in_order() {
    let pool = HeapPool::new(16, 256);
    let mut nic = FakeNic::new(MAC, pool.clone());
    for i in 0..5u8 {
        nic.inject(&[i; 60]).unwrap();
    }
    assert_eq!(nic.rx_pending(), 5);
    let got = received(&mut nic);
    assert_eq!(got, (0..5u8).map(|i| vec![i; 60]).collect::<Vec<_>>());
    assert_eq!(received(&mut nic), Vec::<Vec<u8>>::new(), "never waits");
    let s = nic.stats();
    assert_eq!((s.rx_frames, s.rx_bytes), (5, 300));
    assert_eq!(nic.mac(), MAC);
    drop(nic);
    assert_eq!(pool.stats().in_use(), 0);
}

#[test]
fn rx_burst_fills_only_spare_capacity() {
    let pool = HeapPool::new(80, 64);
    let mut nic = FakeNic::new(MAC, pool.clone());
    for i in 0..5u8 {
        nic.inject(&[i]).unwrap();
    }
    let mut out = Batch::new();
    for _ in 0..62 {
        out.push(pool.rx_from(b"stack's own").unwrap());
    }
    assert_eq!(nic.rx_burst(&mut out), 2);
    assert!(out.is_full());
    assert_eq!(out[62].data(), [0]);
    assert_eq!(out[63].data(), [1]);
    assert_eq!(nic.rx_pending(), 3, "the rest wait for the next burst");
    drop(out);
    drop(nic);
    assert_eq!(pool.stats().in_use(), 0);
}

#[test]
fn full_rx_ring_drops_and_counts() {
    let pool = HeapPool::new(16, 64);
    let mut nic = FakeNic::with_ring_depth(MAC, pool.clone(), 4);
    for i in 0..4u8 {
        nic.inject(&[i]).unwrap();
    }
    assert!(nic.inject(&[4]).is_err());
    assert!(nic.inject(&[5]).is_err());
    assert_eq!(nic.stats().rx_dropped_ring_full, 2);
    assert_eq!(pool.stats().in_use(), 4, "dropped frames took no block");
    assert_eq!(received(&mut nic).len(), 4);
    nic.inject(&[6]).unwrap();
    assert_eq!(received(&mut nic), vec![vec![6]]);
}

#[test]
fn empty_pool_or_oversized_frame_drops_and_counts() {
    let pool = HeapPool::new(2, 64);
    let mut nic = FakeNic::new(MAC, pool.clone());
    assert!(nic.inject(&[0; 65]).is_err(), "bigger than a block");
    nic.inject(b"a").unwrap();
    nic.inject(b"b").unwrap();
    assert!(nic.inject(b"c").is_err(), "pool empty");
    assert_eq!(nic.stats().rx_dropped_no_buffers, 2);
    assert_eq!(received(&mut nic), vec![b"a".to_vec(), b"b".to_vec()]);
}

#[test]
fn transmitted_frames_are_kept_in_order_and_flattened() {
    let pool = HeapPool::new(16, 64);
    let mut nic = FakeNic::new(MAC, pool.clone());
    let payload = pool.shared_from(b"PAYLOAD").unwrap();
    let mut batch = Batch::new();
    let mut with_payload = frame(&pool, b"hdr0:");
    with_payload.attach(&payload, 0..3).unwrap();
    with_payload.attach(&payload, 3..7).unwrap();
    batch.push(with_payload);
    batch.push(frame(&pool, b"hdr1"));
    assert_eq!(nic.tx_burst(&mut batch), 2);
    assert!(batch.is_empty());
    drop(payload);
    assert_eq!(nic.sent_len(), 2);
    assert_eq!(nic.pop_sent().unwrap(), b"hdr0:PAYLOAD");
    assert_eq!(nic.pop_sent().unwrap(), b"hdr1");
    assert_eq!(nic.pop_sent(), None);
    let s = nic.stats();
    assert_eq!((s.tx_frames, s.tx_bytes, s.tx_refused), (2, 16, 0));
    assert_eq!(
        pool.stats().in_use(),
        0,
        "popping released frame and payload"
    );
}

#[test]
fn full_tx_ring_leaves_the_rest_in_the_batch_in_order() {
    let pool = HeapPool::new(16, 64);
    let mut nic = FakeNic::with_ring_depth(MAC, pool.clone(), 3);
    let mut batch = Batch::new();
    for i in 0..5u8 {
        batch.push(frame(&pool, &[i]));
    }
    assert_eq!(nic.tx_burst(&mut batch), 3);
    let left: Vec<_> = batch.iter().map(|f| f.linear().to_vec()).collect();
    assert_eq!(left, vec![vec![3], vec![4]]);
    assert_eq!(nic.tx_burst(&mut batch), 0);
    assert_eq!(nic.stats().tx_refused, 4, "two frames refused twice");
    nic.pop_sent().unwrap();
    assert_eq!(nic.tx_burst(&mut batch), 1);
    assert_eq!(batch.len(), 1);
    let sent: Vec<_> = std::iter::from_fn(|| nic.pop_sent()).collect();
    assert_eq!(sent, vec![vec![1], vec![2], vec![3]]);
    assert_eq!(
        nic.stats(),
        FakeNicStats {
            tx_frames: 4,
            tx_bytes: 4,
            tx_refused: 5,
            ..FakeNicStats::default()
        }
    );
}

#[test]
fn nothing_leaks_when_dropped_with_frames_queued() {
    let pool = HeapPool::new(16, 64);
    {
        let mut nic = FakeNic::new(MAC, pool.clone());
        nic.inject(b"waiting").unwrap();
        let mut batch = Batch::new();
        batch.push(frame(&pool, b"sent"));
        nic.tx_burst(&mut batch);
        assert_eq!(pool.stats().in_use(), 2);
    }
    assert_eq!(pool.stats().in_use(), 0);
}

#[test]
fn fake_nic_can_move_to_another_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<FakeNic>();
}

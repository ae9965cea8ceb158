//! The receive window: a connection whose application holds a window of
//! unreleased segments is not read until it drops some.

use super::support::{drive, script, small, LOCAL};
use crate::kernel::{KernelConfig, KernelThread};
use crate::Event;
use ix_nic::RxSeg;
use std::cell::RefCell;
use std::io::Write;
use std::net::TcpStream;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// With the application holding a full window of segments the socket is not read
/// (TCP holds the sender back); dropping them reopens it and every byte arrives.
#[test]
fn a_full_window_stops_reading_until_segments_are_released() {
    // More than loopback's socket buffers hold (autotuned up to a few MiB each way).
    const TOTAL: usize = 32 << 20;
    let cfg = KernelConfig {
        recv_window: 64 * 1024,
        block_size: 16 * 1024,
        ..small()
    };
    let held: Rc<RefCell<Vec<RxSeg<ix_nic::heap::HeapRx>>>> = Rc::default();
    let got: Rc<RefCell<Vec<u8>>> = Rc::default();
    let release = Rc::new(RefCell::new(false));
    let (h2, g2, r2) = (Rc::clone(&held), Rc::clone(&got), Rc::clone(&release));
    let h = script(
        |c| c.listen(0).unwrap(),
        move |batch, calls| {
            for ev in batch.drain() {
                match ev {
                    Event::Knock { conn, .. } => calls.accept(conn, 0).unwrap(),
                    Event::Recv { seg, .. } => h2.borrow_mut().push(seg),
                    _ => {}
                }
            }
            if *r2.borrow() {
                for s in h2.borrow_mut().drain(..) {
                    g2.borrow_mut().extend_from_slice(&s);
                }
            }
        },
    );
    let mut th = KernelThread::new(&cfg, 0, h).unwrap();
    th.start();
    let port = th.transport().listening()[0];
    let client = std::thread::spawn(move || {
        let mut s = TcpStream::connect((LOCAL, port)).unwrap();
        let data: Vec<u8> = (0..TOTAL).map(|i| (i % 251) as u8).collect();
        s.write_all(&data).unwrap();
    });
    // Let the socket buffers fill: the application holds at most one window (plus a
    // block of slack), however long it waits.
    drive(&mut th, |_| !held.borrow().is_empty());
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(300) {
        th.turn(Duration::from_millis(5));
    }
    let holding: usize = held.borrow().iter().map(|s| s.len()).sum();
    assert!(holding > 0 && holding <= 64 * 1024 + 16 * 1024, "{holding}");
    assert!(th.stats().window_stalls > 0);
    assert!(!client.is_finished(), "the sender is held back by TCP");
    // Dropping the segments (here, outside the handler) reopens the window.
    *release.borrow_mut() = true;
    for s in held.borrow_mut().drain(..) {
        got.borrow_mut().extend_from_slice(&s);
    }
    drive(&mut th, |_| {
        got.borrow().len() + held.borrow().len() >= TOTAL && held.borrow().is_empty()
    });
    client.join().unwrap();
    let got = got.borrow();
    assert_eq!(got.len(), TOTAL);
    assert!(got.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
}

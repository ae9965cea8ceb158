//! A whole connection's life on the kernel transport: knock, accept, echo, the
//! peer's close, ours, `Dead { Closed }`; events in order, cookies carried, nothing
//! leaked.

use super::support::{drive, log, recorder, saw_dead, small, Seen, LOCAL};
use crate::kernel::KernelThread;
use crate::{CloseReason, Completion, Event, Transport};
use ix_nic::{BufPool, MutBuf};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};

/// An echo server's connection delivers knock, recvs/sents, `PeerClosed`, `Dead`
/// in that order with the accept cookie, and gives every pool block back.
#[test]
fn echo_life_cycle_in_order_with_cookies_and_no_leak() {
    let lg = log();
    let h = recorder(
        &lg,
        |c| c.listen(0).unwrap(),
        move |ev, calls| match ev {
            Event::Knock {
                conn,
                local_port,
                remote,
            } => {
                assert_eq!(*remote.ip(), LOCAL);
                assert_ne!(local_port, 0);
                calls.accept(conn, 77).unwrap();
            }
            Event::Recv { conn, seg, .. } => {
                let mut m = calls.pool().alloc_mut().unwrap();
                let n = m.extend_from_slice(&seg);
                calls.send(conn, &m.freeze(), 0..n).unwrap();
            }
            Event::PeerClosed { conn, .. } => calls.close(conn).unwrap(),
            _ => {}
        },
    );
    let mut th = KernelThread::new(&small(), 0, h).unwrap();
    th.start();
    let port = th.transport().listening()[0];
    let client = std::thread::spawn(move || {
        let mut s = TcpStream::connect((LOCAL, port)).unwrap();
        let msg: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        s.write_all(&msg).unwrap();
        let mut back = vec![0; msg.len()];
        s.read_exact(&mut back).unwrap();
        assert_eq!(back, msg);
        s.shutdown(Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
    });
    drive(&mut th, |_| saw_dead(&lg));
    client.join().unwrap();
    let (events, done) = lg.borrow().clone();
    let conn = match events[0] {
        Seen::Knock(c) => c,
        ref e => panic!("first event {e:?}"),
    };
    let mut got = Vec::new();
    let mut acked = 0;
    for e in &events[1..] {
        match e {
            Seen::Recv(c, 77, b) if *c == conn => got.extend_from_slice(b),
            Seen::Sent(c, 77, n) if *c == conn => acked += n,
            Seen::PeerClosed(c, 77) if *c == conn => {}
            Seen::Dead(c, 77, CloseReason::Closed) if *c == conn => {}
            e => panic!("unexpected {e:?} in {events:?}"),
        }
    }
    assert_eq!(got.len(), 10_000);
    assert_eq!(acked, 10_000, "every byte reported sent");
    let n = events.len();
    assert!(matches!(events[n - 2], Seen::PeerClosed(..)), "{events:?}");
    assert!(matches!(events[n - 1], Seen::Dead(..)), "{events:?}");
    assert!(matches!(
        done[0],
        Completion::Listen {
            port: 0,
            result: Ok(())
        }
    ));
    assert!(done.iter().all(|c| c.error().is_none()), "{done:?}");
    assert!(matches!(
        done.last(),
        Some(Completion::Close { result: Ok(()), .. })
    ));
    // Nothing leaked: every block not held as a spare is back in the pool.
    assert_eq!(th.transport().conn_count(), 0);
    let pool = th.transport().pool().stats();
    assert_eq!(pool.in_use(), th.transport().spare_blocks() as u64);
    let st = th.stats();
    assert_eq!(
        (st.accepted, st.closed, st.rx_bytes, st.tx_bytes),
        (1, 1, 10_000, 10_000)
    );
    assert_eq!(st.copied_bytes, 0, "the transport copies nothing itself");
}

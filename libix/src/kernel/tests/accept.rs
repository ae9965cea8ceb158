//! The accept path's refusals: `reject` and `abort` reset the peer, and a peer's
//! reset of an accepted connection is `Dead { Reset }`.

use super::support::{drive, log, recorder, saw_dead, small, Seen, LIMIT, LOCAL};
use crate::kernel::KernelThread;
use crate::{CloseReason, Completion, Event};
use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::time::Duration;

/// The first knock rejected and the second accepted then aborted both reach the
/// client as resets; the third, reset by its peer, ends `Dead { Reset }`.
#[test]
fn reject_and_abort_reset_and_a_peer_reset_is_dead_reset() {
    let lg = log();
    let mut knocks = 0;
    let h = recorder(
        &lg,
        |c| c.listen(0).unwrap(),
        move |ev, calls| {
            if let Event::Knock { conn, .. } = ev {
                knocks += 1;
                match knocks {
                    1 => calls.reject(conn).unwrap(),
                    2 => {
                        calls.accept(conn, 2).unwrap();
                        calls.abort(conn).unwrap();
                    }
                    _ => calls.accept(conn, 3).unwrap(),
                }
            }
        },
    );
    let mut th = KernelThread::new(&small(), 0, h).unwrap();
    th.start();
    let port = th.transport().listening()[0];
    for _ in 0..2 {
        let client = std::thread::spawn(move || {
            let mut s = TcpStream::connect((LOCAL, port)).unwrap();
            s.set_read_timeout(Some(LIMIT)).unwrap();
            let mut b = [0u8; 1];
            s.read(&mut b).map_err(|e| e.kind())
        });
        drive(&mut th, |_| client.is_finished());
        assert_eq!(client.join().unwrap(), Err(ErrorKind::ConnectionReset));
    }
    // The third connection is accepted, then the peer resets it.
    let s = TcpStream::connect((LOCAL, port)).unwrap();
    drive(&mut th, |_| lg.borrow().1.len() >= 5);
    socket2::SockRef::from(&s)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(s);
    drive(&mut th, |_| saw_dead(&lg));
    let (events, done) = lg.borrow().clone();
    assert_eq!(events.len(), 4, "3 knocks and one Dead: {events:?}");
    assert!(
        matches!(events[3], Seen::Dead(_, 3, CloseReason::Reset)),
        "{events:?}"
    );
    assert!(
        matches!(done[1], Completion::Reject { result: Ok(()), .. }),
        "{done:?}"
    );
    assert!(
        matches!(done[3], Completion::Abort { result: Ok(()), .. }),
        "{done:?}"
    );
    assert_eq!(th.transport().conn_count(), 0);
}

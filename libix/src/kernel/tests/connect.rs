//! Outgoing connections: `Connected`, data both ways and an orderly close; a
//! refused connect; closing one still connecting; stale ids refused.

use super::support::{
    drive, free_port, log, record, recorder, saw_dead, script, small, Seen, LOCAL,
};
use crate::kernel::KernelThread;
use crate::Event;
use crate::{CallError, CloseReason, Completion, ConnId};
use std::io::{Read, Write};
use std::net::{SocketAddrV4, TcpListener, TcpStream};
use std::rc::Rc;
use std::time::Duration;

/// A connect that succeeds delivers `Connected`, its data, `Sent`, `PeerClosed`,
/// `Dead { Closed }`; one to a closed port gets an id, then `ConnectFailed { Refused }`.
#[test]
fn connect_connected_send_close_and_refused_connect() {
    let peer = TcpListener::bind((LOCAL, 0)).unwrap();
    let peer_port = peer.local_addr().unwrap().port();
    let closed = free_port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = peer.accept().unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        s.write_all(b"bye").unwrap();
        got
    });
    let lg = log();
    let h = recorder(
        &lg,
        move |c| {
            c.connect(SocketAddrV4::new(LOCAL, peer_port), 5).unwrap();
            c.connect(SocketAddrV4::new(LOCAL, closed), 6).unwrap();
        },
        |ev, calls| {
            if let Event::Connected { conn, .. } = ev {
                let b = calls.pool().shared_from(b"ping").unwrap();
                calls.send(conn, &b, 0..4).unwrap();
                calls.close(conn).unwrap();
            }
        },
    );
    let mut th = KernelThread::new(&small(), 0, h).unwrap();
    drive(&mut th, |_| saw_dead(&lg));
    assert_eq!(server.join().unwrap(), b"ping");
    let (events, done) = lg.borrow().clone();
    let id = match done[0] {
        Completion::Connect {
            cookie: 5,
            result: Ok(id),
            ..
        } => id,
        ref c => panic!("{c:?}"),
    };
    assert!(
        matches!(
            done[1],
            Completion::Connect {
                cookie: 6,
                result: Ok(_),
                ..
            }
        ),
        "{done:?}"
    );
    assert!(
        events.contains(&Seen::ConnectFailed(6, CloseReason::Refused)),
        "{events:?}"
    );
    let mine: Vec<&Seen> = events
        .iter()
        .filter(|e| !matches!(e, Seen::ConnectFailed(..)))
        .collect();
    assert_eq!(mine[0], &Seen::Connected(id, 5));
    assert!(
        mine.contains(&&Seen::Recv(id, 5, b"bye".to_vec())),
        "{events:?}"
    );
    assert!(mine.contains(&&Seen::Sent(id, 5, 4)), "{events:?}");
    assert_eq!(mine[mine.len() - 2], &Seen::PeerClosed(id, 5));
    assert_eq!(
        mine[mine.len() - 1],
        &Seen::Dead(id, 5, CloseReason::Closed)
    );
    let st = th.stats();
    assert_eq!((st.connects, st.closed, st.failed), (2, 1, 1));
}

/// Data may be queued while connecting; `close` then drops the attempt
/// (`Dead { Aborted }`) and the id is refused from then on, as is an unknown id.
#[test]
fn close_while_connecting_is_dead_aborted_and_stale_ids_are_refused() {
    // A listener whose accept queue is full drops further SYNs: our connect hangs.
    let full = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    full.bind(&std::net::SocketAddr::from((LOCAL, 0)).into())
        .unwrap();
    full.listen(0).unwrap();
    let addr = full.local_addr().unwrap().as_socket_ipv4().unwrap();
    let _fill: Vec<TcpStream> = (0..2)
        .filter_map(|_| {
            let s =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).ok()?;
            s.set_nonblocking(true).ok()?;
            let _ = s.connect(&std::net::SocketAddr::V4(addr).into());
            Some(TcpStream::from(s))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    let lg = log();
    let l2 = Rc::clone(&lg);
    let h = script(
        move |c| c.connect(addr, 9).unwrap(),
        move |batch, calls| {
            let first = batch.completions().first().copied();
            record(&l2, batch);
            if let Some(Completion::Connect {
                result: Ok(conn), ..
            }) = first
            {
                let b = calls.pool().shared_from(b"early").unwrap();
                calls.send(conn, &b, 0..5).unwrap();
                calls.close(conn).unwrap();
                calls.close(conn).unwrap();
                calls.send(ConnId::new(40, 7), &b, 0..1).unwrap();
            }
            batch.clear_events();
        },
    );
    let mut th = KernelThread::new(&small(), 0, h).unwrap();
    drive(&mut th, |_| saw_dead(&lg));
    let (events, done) = lg.borrow().clone();
    let Completion::Connect { result: Ok(id), .. } = done[0] else {
        panic!("{done:?}");
    };
    assert_eq!(events, vec![Seen::Dead(id, 9, CloseReason::Aborted)]);
    assert!(
        matches!(done[1], Completion::Send { result: Ok(5), .. }),
        "data may be queued while connecting: {done:?}"
    );
    assert!(matches!(done[2], Completion::Close { result: Ok(()), .. }));
    assert!(matches!(
        done[3],
        Completion::Close {
            result: Err(CallError::NoSuchConnection),
            ..
        }
    ));
    assert!(matches!(
        done[4],
        Completion::Send {
            result: Err(CallError::NoSuchConnection),
            ..
        }
    ));
    assert_eq!(th.transport().conn_count(), 0);
}

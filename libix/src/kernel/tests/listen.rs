//! Listening: ports taken or ours already, `unlisten`, and (on the accepted
//! connection) `EarlierSendShort` after a short send.

use super::support::{drive, free_port, log, recorder, small, LOCAL};
use crate::kernel::{KernelConfig, KernelThread};
use crate::{CallError, Completion, Event};
use std::io::Read;
use std::net::{TcpListener, TcpStream};

/// A taken port and a second listen on ours are `PortInUse`; `unlisten` works once;
/// after a short send the next send in the batch is `EarlierSendShort`.
#[test]
fn listen_errors_unlisten_and_earlier_send_short() {
    let busy = TcpListener::bind((LOCAL, 0)).unwrap(); // no SO_REUSEPORT: the port is taken
    let busy_port = busy.local_addr().unwrap().port();
    let port = free_port();
    let lg = log();
    let h = recorder(
        &lg,
        move |c| {
            c.listen(busy_port).unwrap();
            c.listen(port).unwrap();
            c.listen(port).unwrap();
        },
        move |ev, calls| {
            if let Event::Knock { conn, .. } = ev {
                let b = calls.pool().shared_from(b"0123456789").unwrap();
                calls.accept(conn, 0).unwrap();
                calls.send(conn, &b, 0..10).unwrap();
                calls.send(conn, &b, 0..2).unwrap();
                calls.unlisten(port).unwrap();
                calls.unlisten(port).unwrap();
            }
        },
    );
    let cfg = KernelConfig {
        send_buf: 8,
        ..small()
    };
    let mut th = KernelThread::new(&cfg, 0, h).unwrap();
    th.start();
    assert_eq!(th.transport().listening(), vec![port]);
    let mut s = TcpStream::connect((LOCAL, port)).unwrap();
    drive(&mut th, |_| lg.borrow().1.len() >= 8);
    let done = lg.borrow().1.clone();
    assert_eq!(
        done[..3],
        [
            Completion::Listen {
                port: busy_port,
                result: Err(CallError::PortInUse)
            },
            Completion::Listen {
                port,
                result: Ok(())
            },
            Completion::Listen {
                port,
                result: Err(CallError::PortInUse)
            },
        ]
    );
    assert!(
        matches!(
            done[4],
            Completion::Send {
                requested: 10,
                result: Ok(8),
                ..
            }
        ),
        "{done:?}"
    );
    assert!(matches!(
        done[5],
        Completion::Send {
            result: Err(CallError::EarlierSendShort),
            ..
        }
    ));
    assert!(matches!(
        done[6],
        Completion::Unlisten { result: Ok(()), .. }
    ));
    assert!(matches!(
        done[7],
        Completion::Unlisten {
            result: Err(CallError::NotListening),
            ..
        }
    ));
    let mut got = [0u8; 8];
    s.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"01234567");
    assert!(th.transport().listening().is_empty());
    assert!(
        TcpStream::connect((LOCAL, port)).is_err(),
        "nobody listens any more"
    );
}

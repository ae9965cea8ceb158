//! Running handlers: panic containment in a [`KernelThread`], a
//! [`KernelRuntime`]'s threads sharing a port, stopping, and bad configurations.

use super::support::{drive, free_port, log, recorder, script, small, Seen, LOCAL};
use crate::ev::{App, ConnCx, Cx, Ev, EvConfig};
use crate::kernel::{KernelConfig, KernelError, KernelRuntime, KernelThread, StopHandle};
use crate::{CloseReason, Event};
use ix_nic::{BufPool, MutBuf, RxSeg};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddrV4, TcpStream};

/// A handler panic resets the connections of its batch (`Dead { Aborted }`, a RST
/// to the peer) and the loop serves the next connection.
#[test]
fn a_panicking_handler_resets_its_batch_and_the_loop_goes_on() {
    let lg = log();
    let h = recorder(
        &lg,
        |c| c.listen(0).unwrap(),
        |ev, calls| match ev {
            Event::Knock { conn, .. } => calls.accept(conn, 4).unwrap(),
            Event::Recv { seg, .. } if &seg[..] == b"boom" => {
                panic!("application bug (expected by the test)")
            }
            Event::Recv { conn, seg, .. } => {
                let b = calls.pool().shared_from(&seg).unwrap();
                calls.send(conn, &b, 0..seg.len()).unwrap();
            }
            _ => {}
        },
    );
    let mut th = KernelThread::new(&small(), 0, h).unwrap();
    th.start();
    let port = th.transport().listening()[0];
    let mut bad = TcpStream::connect((LOCAL, port)).unwrap();
    drive(&mut th, |_| lg.borrow().1.len() >= 2);
    bad.write_all(b"boom").unwrap();
    drive(&mut th, |_| {
        lg.borrow()
            .0
            .iter()
            .any(|s| matches!(s, Seen::Dead(_, 4, CloseReason::Aborted)))
    });
    let mut b = [0u8; 1];
    assert_eq!(
        bad.read(&mut b).map_err(|e| e.kind()),
        Err(ErrorKind::ConnectionReset)
    );
    let mut good = TcpStream::connect((LOCAL, port)).unwrap();
    good.write_all(b"fine").unwrap();
    let mut back = [0u8; 4];
    let reader = std::thread::spawn(move || {
        good.read_exact(&mut back).unwrap();
        back
    });
    drive(&mut th, |_| reader.is_finished());
    assert_eq!(&reader.join().unwrap(), b"fine");
    let st = th.stats();
    assert_eq!((st.handler_panics, st.panic_resets), (1, 1));
}

/// Echo on the per-connection layer, counting connections: the same code as on ix.
struct CountingEcho {
    port: u16,
    accepted: usize,
}

impl<P: BufPool> App<P> for CountingEcho {
    type Conn = ();
    /// Listens on the configured port.
    fn start(&mut self, cx: &mut Cx<'_, '_, P, ()>) {
        cx.listen(self.port).unwrap();
    }
    /// Accepts every connection, counting it.
    fn knock(&mut self, _: u16, _: SocketAddrV4) -> Option<()> {
        self.accepted += 1;
        Some(())
    }
    /// Sends the bytes back.
    fn recv(&mut self, c: &mut ConnCx<'_, '_, P>, _: &mut (), seg: RxSeg<P::Rx>) {
        let mut m = c.pool().alloc_mut().unwrap();
        let n = m.extend_from_slice(&seg);
        c.send(&m.freeze(), 0..n).unwrap();
    }
}

/// Two runtime threads listen on one port (`SO_REUSEPORT`), both get connections,
/// and `join` stops them with their reports.
#[test]
fn runtime_threads_share_a_port_and_stop_on_request() {
    let port = free_port();
    let cfg = KernelConfig {
        threads: 2,
        ..small()
    };
    let rt = KernelRuntime::spawn(
        cfg,
        move |_| {
            Ev::new(
                CountingEcho { port, accepted: 0 },
                EvConfig {
                    max_conns: 64,
                    ..EvConfig::default()
                },
            )
        },
        |_, h| h.app().accepted,
    )
    .unwrap();
    assert_eq!(rt.listening(), &[vec![port], vec![port]]);
    let mut socks: Vec<TcpStream> = (0..64)
        .map(|_| TcpStream::connect((LOCAL, port)).unwrap())
        .collect();
    for (i, s) in socks.iter_mut().enumerate() {
        s.write_all(format!("hello {i}").as_bytes()).unwrap();
    }
    for (i, s) in socks.iter_mut().enumerate() {
        let want = format!("hello {i}");
        let mut got = vec![0; want.len()];
        s.read_exact(&mut got).unwrap();
        assert_eq!(got, want.as_bytes());
    }
    drop(socks);
    assert!(rt.heartbeat(0) > 0 && rt.heartbeat(1) > 0);
    let reports = rt.join().unwrap();
    let per: Vec<usize> = reports.iter().map(|r| r.app).collect();
    assert_eq!(per.iter().sum::<usize>(), 64);
    assert!(
        per.iter().all(|&n| n > 0),
        "SO_REUSEPORT spread them: {per:?}"
    );
    assert_eq!(reports.iter().map(|r| r.stats.accepted).sum::<u64>(), 64);
}

/// A bad configuration is refused with the field named; a loop told to stop before
/// it ran returns at once.
#[test]
fn a_thread_that_cannot_listen_still_starts_and_bad_config_is_refused() {
    let cfg = KernelConfig {
        batch: 0,
        ..small()
    };
    assert!(matches!(
        KernelThread::new(&cfg, 0, script(|_| {}, |_, _| {})),
        Err(KernelError::Config(_))
    ));
    let stop = StopHandle::new();
    stop.stop();
    let mut th = KernelThread::new(&small(), 0, script(|_| {}, |_, _| {})).unwrap();
    let st = th.run(&stop);
    assert_eq!(st.iterations, 0, "stopped before the first iteration");
}

//! The kernel transport over loopback (127.0.0.1 only): raw handlers scripted per
//! test against plain `std` peers.

use super::*;
use crate::ev::{App, ConnCx, Cx, Ev, EvConfig};
use crate::{
    CallError, Calls, CloseReason, Completion, ConnId, Event, EventBatch, Handler, Transport,
};
use ix_nic::heap::HeapPool;
use ix_nic::{BufPool, MutBuf, RxSeg, SharedBuf};
use std::cell::RefCell;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddrV4, TcpListener, TcpStream};
use std::rc::Rc;
use std::time::{Duration, Instant};

const LOCAL: Ipv4Addr = Ipv4Addr::LOCALHOST;
const LIMIT: Duration = Duration::from_secs(20);

/// A handler made of two closures.
struct Script<S, E> {
    start: Option<S>,
    events: E,
}

impl<S, E> Handler<HeapPool> for Script<S, E>
where
    S: FnOnce(&mut Calls<'_, HeapPool>),
    E: FnMut(&mut EventBatch<HeapPool>, &mut Calls<'_, HeapPool>),
{
    fn start(&mut self, calls: &mut Calls<'_, HeapPool>) {
        if let Some(s) = self.start.take() {
            s(calls);
        }
    }
    fn events(&mut self, batch: &mut EventBatch<HeapPool>, calls: &mut Calls<'_, HeapPool>) {
        (self.events)(batch, calls);
    }
}

fn script<S, E>(start: S, events: E) -> Script<S, E>
where
    S: FnOnce(&mut Calls<'_, HeapPool>),
    E: FnMut(&mut EventBatch<HeapPool>, &mut Calls<'_, HeapPool>),
{
    Script {
        start: Some(start),
        events,
    }
}

/// Turns `th` until `done` holds; panics after [`LIMIT`].
fn drive<H: Handler<HeapPool>>(
    th: &mut KernelThread<H>,
    mut done: impl FnMut(&KernelThread<H>) -> bool,
) {
    let t0 = Instant::now();
    while !done(th) {
        assert!(t0.elapsed() < LIMIT, "timed out: {:?}", th.stats());
        th.turn(Duration::from_millis(5));
    }
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind((LOCAL, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn small() -> KernelConfig {
    KernelConfig {
        max_conns: 64,
        pool_blocks: 256,
        block_size: 4096,
        ..KernelConfig::default()
    }
}

/// What a raw test handler saw, as plain values.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Knock(ConnId),
    Connected(ConnId, u64),
    ConnectFailed(u64, CloseReason),
    Recv(ConnId, u64, Vec<u8>),
    Sent(ConnId, u64, usize),
    PeerClosed(ConnId, u64),
    Dead(ConnId, u64, CloseReason),
    Timer(u64),
}

fn seen(ev: &Event<HeapPool>) -> Seen {
    match ev {
        Event::Knock { conn, .. } => Seen::Knock(*conn),
        Event::Connected { conn, cookie } => Seen::Connected(*conn, *cookie),
        Event::ConnectFailed { cookie, reason, .. } => Seen::ConnectFailed(*cookie, *reason),
        Event::Recv { conn, cookie, seg } => Seen::Recv(*conn, *cookie, seg.to_vec()),
        Event::Sent {
            conn,
            cookie,
            acked,
        } => Seen::Sent(*conn, *cookie, *acked),
        Event::PeerClosed { conn, cookie } => Seen::PeerClosed(*conn, *cookie),
        Event::Dead {
            conn,
            cookie,
            reason,
        } => Seen::Dead(*conn, *cookie, *reason),
        Event::Timer { token, .. } => Seen::Timer(*token),
    }
}

type Log = Rc<RefCell<(Vec<Seen>, Vec<Completion>)>>;

fn log() -> Log {
    Rc::new(RefCell::new((Vec::new(), Vec::new())))
}

fn record(log: &Log, batch: &EventBatch<HeapPool>) {
    let mut l = log.borrow_mut();
    l.1.extend_from_slice(batch.completions());
    for ev in batch.events() {
        l.0.push(seen(ev));
    }
}

#[test]
fn echo_life_cycle_in_order_with_cookies_and_no_leak() {
    let lg = log();
    let l2 = Rc::clone(&lg);
    let h = script(
        |c| c.listen(0).unwrap(),
        move |batch, calls| {
            record(&l2, batch);
            for ev in batch.drain() {
                match ev {
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
                }
            }
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
    drive(&mut th, |_| {
        lg.borrow().0.iter().any(|s| matches!(s, Seen::Dead(..)))
    });
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

#[test]
fn reject_and_abort_reset_and_a_peer_reset_is_dead_reset() {
    let lg = log();
    let l2 = Rc::clone(&lg);
    let mut knocks = 0;
    let h = script(
        |c| c.listen(0).unwrap(),
        move |batch, calls| {
            record(&l2, batch);
            for ev in batch.drain() {
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
    drive(&mut th, |_| {
        lg.borrow().0.iter().any(|s| matches!(s, Seen::Dead(..)))
    });
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
    let l2 = Rc::clone(&lg);
    let h = script(
        move |c| {
            c.connect(SocketAddrV4::new(LOCAL, peer_port), 5).unwrap();
            c.connect(SocketAddrV4::new(LOCAL, closed), 6).unwrap();
        },
        move |batch, calls| {
            record(&l2, batch);
            for ev in batch.drain() {
                if let Event::Connected { conn, .. } = ev {
                    let b = calls.pool().shared_from(b"ping").unwrap();
                    calls.send(conn, &b, 0..4).unwrap();
                    calls.close(conn).unwrap();
                }
            }
        },
    );
    let mut th = KernelThread::new(&small(), 0, h).unwrap();
    drive(&mut th, |_| {
        lg.borrow().0.iter().any(|s| matches!(s, Seen::Dead(..)))
    });
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
    drive(&mut th, |_| {
        lg.borrow().0.iter().any(|s| matches!(s, Seen::Dead(..)))
    });
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

#[test]
fn short_sends_partial_writes_and_references_released_when_taken() {
    const TOTAL: usize = 4 << 20;
    let cfg = KernelConfig {
        send_buf: 64 * 1024,
        ..small()
    };
    let pool_probe: Rc<RefCell<Option<ix_nic::heap::HeapShared>>> = Rc::default();
    let stats: Rc<RefCell<(usize, usize, usize, bool)>> = Rc::default(); // taken, acked, short, closed
    let (p2, s2) = (Rc::clone(&pool_probe), Rc::clone(&stats));
    let mut conn_id = None;
    let mut blocked = false;
    let h = script(
        |c| c.listen(0).unwrap(),
        move |batch, calls| {
            let mut st = s2.borrow_mut();
            for c in batch.completions() {
                if let Completion::Send {
                    requested, result, ..
                } = *c
                {
                    match result {
                        Ok(n) => {
                            st.0 += n;
                            if n < requested {
                                st.2 += 1;
                                blocked = true;
                            }
                        }
                        Err(CallError::EarlierSendShort) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            for ev in batch.drain() {
                match ev {
                    Event::Knock { conn, .. } => {
                        calls.accept(conn, 1).unwrap();
                        conn_id = Some(conn);
                    }
                    Event::Sent { acked, .. } => {
                        st.1 += acked;
                        blocked = false;
                    }
                    _ => {}
                }
            }
            let Some(conn) = conn_id else { return };
            if p2.borrow().is_none() {
                let mut m = calls.pool().alloc_mut().unwrap();
                let mut pat = vec![0u8; m.spare() / 251 * 251];
                for (i, b) in pat.iter_mut().enumerate() {
                    *b = (i % 251) as u8;
                }
                m.extend_from_slice(&pat);
                *p2.borrow_mut() = Some(m.freeze());
            }
            let buf = p2.borrow().clone().unwrap();
            // Several sends per batch; after a short one the rest fail in order.
            let mut offered = st.0;
            while !blocked && offered < TOTAL && calls.room() > 1 {
                // The buffer holds whole pattern periods: stream offset `offered` is
                // buffer offset `offered % len` (a short send resumes mid-buffer).
                let off = offered % buf.len();
                let n = (buf.len() - off).min(TOTAL - offered);
                calls.send(conn, &buf, off..off + n).unwrap();
                offered += n;
                if offered - st.0 > 8 * buf.len() {
                    break;
                }
            }
            if st.0 >= TOTAL && !st.3 {
                calls.close(conn).unwrap();
                st.3 = true;
            }
        },
    );
    let mut th = KernelThread::new(&cfg, 0, h).unwrap();
    th.start();
    let port = th.transport().listening()[0];
    let client = std::thread::spawn(move || {
        let mut s = TcpStream::connect((LOCAL, port)).unwrap();
        std::thread::sleep(Duration::from_millis(300)); // a slow reader: writes go partial
        let mut got = Vec::with_capacity(TOTAL);
        s.read_to_end(&mut got).unwrap();
        got
    });
    drive(&mut th, |_| client.is_finished());
    let got = client.join().unwrap();
    assert_eq!(got.len(), TOTAL);
    assert!(
        got.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8),
        "byte-exact"
    );
    drive(&mut th, |t| t.transport().conn_count() == 0);
    let (taken, acked, short, closed) = *stats.borrow();
    assert!(closed);
    assert_eq!((taken, acked), (TOTAL, TOTAL));
    assert!(
        short > 0,
        "sends came up short against a 64 KiB send buffer"
    );
    assert!(
        th.stats().short_writes > 0,
        "the kernel took partial writes"
    );
    let buf = pool_probe.borrow_mut().take().unwrap();
    assert_eq!(buf.ref_count(), 1, "every queued reference released");
}

#[test]
fn timers_fire_once_and_cancelled_ones_do_not() {
    let lg = log();
    let l2 = Rc::clone(&lg);
    let h = script(
        |c| {
            c.set_timer(1, Duration::from_millis(20)).unwrap();
            c.set_timer(2, Duration::from_millis(30)).unwrap();
        },
        move |batch, calls| {
            record(&l2, batch);
            for c in batch.completions() {
                if let Completion::SetTimer {
                    token: 2,
                    result: Ok(id),
                } = *c
                {
                    calls.cancel_timer(id).unwrap();
                }
            }
        },
    );
    let t0 = Instant::now();
    let mut th = KernelThread::new(&small(), 0, h).unwrap();
    drive(&mut th, |_| lg.borrow().0.contains(&Seen::Timer(1)));
    assert!(t0.elapsed() >= Duration::from_millis(20));
    let until = Instant::now() + Duration::from_millis(60);
    while Instant::now() < until {
        th.turn(Duration::from_millis(5));
    }
    let (events, done) = lg.borrow().clone();
    assert_eq!(events, vec![Seen::Timer(1)]);
    assert!(done
        .iter()
        .any(|c| matches!(c, Completion::CancelTimer { result: Ok(()), .. })));
    assert_eq!(th.stats().timers, 0);
}

#[test]
fn listen_errors_unlisten_and_earlier_send_short() {
    let busy = TcpListener::bind((LOCAL, 0)).unwrap(); // no SO_REUSEPORT: the port is taken
    let busy_port = busy.local_addr().unwrap().port();
    let port = free_port();
    let lg = log();
    let l2 = Rc::clone(&lg);
    let h = script(
        move |c| {
            c.listen(busy_port).unwrap();
            c.listen(port).unwrap();
            c.listen(port).unwrap();
        },
        move |batch, calls| {
            record(&l2, batch);
            for ev in batch.drain() {
                if let Event::Knock { conn, .. } = ev {
                    let b = calls.pool().shared_from(b"0123456789").unwrap();
                    calls.accept(conn, 0).unwrap();
                    calls.send(conn, &b, 0..10).unwrap();
                    calls.send(conn, &b, 0..2).unwrap();
                    calls.unlisten(port).unwrap();
                    calls.unlisten(port).unwrap();
                }
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

#[test]
fn a_panicking_handler_resets_its_batch_and_the_loop_goes_on() {
    let lg = log();
    let l2 = Rc::clone(&lg);
    let h = script(
        |c| c.listen(0).unwrap(),
        move |batch, calls| {
            record(&l2, batch);
            for ev in batch.drain() {
                match ev {
                    Event::Knock { conn, .. } => calls.accept(conn, 4).unwrap(),
                    Event::Recv { seg, .. } if &seg[..] == b"boom" => {
                        panic!("application bug (expected by the test)")
                    }
                    Event::Recv { conn, seg, .. } => {
                        let b = calls.pool().shared_from(&seg).unwrap();
                        calls.send(conn, &b, 0..seg.len()).unwrap();
                    }
                    _ => {}
                }
            }
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
    fn start(&mut self, cx: &mut Cx<'_, '_, P, ()>) {
        cx.listen(self.port).unwrap();
    }
    fn knock(&mut self, _: u16, _: SocketAddrV4) -> Option<()> {
        self.accepted += 1;
        Some(())
    }
    fn recv(&mut self, c: &mut ConnCx<'_, '_, P>, _: &mut (), seg: RxSeg<P::Rx>) {
        let mut m = c.pool().alloc_mut().unwrap();
        let n = m.extend_from_slice(&seg);
        c.send(&m.freeze(), 0..n).unwrap();
    }
}

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

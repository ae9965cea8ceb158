//! The runtime controls the instance relies on, on two spawned elastic threads over
//! a fake link, through the capture mirror: `request_conns` lists connections with
//! their 4-tuple and state, `drain` closes listeners and connections gracefully (the
//! peer sees the FIN and the server's listener refuses new connections), and the
//! capture ring records the handshake.

use ix_fakenic::FakeLink;
use ix_instance::capture::{unhex, CaptureNic, CaptureRing};
use ix_nic::heap::HeapPool;
use ix_nic::MonotonicClock;
use ix_runtime::{spawn, ElasticHandle, Parts, RuntimeConfig};
use ix_tcp::{State, TcpConfig};
use libix::{Calls, Event, EventBatch, Handler};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PORT: u16 = 80;
const TICK: Duration = Duration::from_millis(1);

/// Listens and accepts everything.
struct Server;

impl Handler<HeapPool> for Server {
    fn start(&mut self, calls: &mut Calls<'_, HeapPool>) {
        calls.listen(PORT).expect("listen");
    }

    fn events(&mut self, batch: &mut EventBatch<HeapPool>, calls: &mut Calls<'_, HeapPool>) {
        for ev in batch.drain() {
            if let Event::Knock { conn, .. } = ev {
                calls.accept(conn, 0).expect("accept");
            }
        }
    }
}

/// Connects `n` times at start; counts what happens.
struct Client {
    n: usize,
    peer_closed: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    again: Arc<AtomicBool>,
}

impl Handler<HeapPool> for Client {
    fn start(&mut self, calls: &mut Calls<'_, HeapPool>) {
        // A tick, so `events` runs (and looks at `again`) even when nothing happens.
        calls.set_timer(0, TICK).expect("timer");
        for i in 0..self.n {
            calls
                .connect(SocketAddrV4::new(SERVER, PORT), i as u64)
                .expect("connect");
        }
    }

    fn events(&mut self, batch: &mut EventBatch<HeapPool>, calls: &mut Calls<'_, HeapPool>) {
        for ev in batch.drain() {
            match ev {
                Event::PeerClosed { conn, .. } => {
                    self.peer_closed.fetch_add(1, Ordering::Relaxed);
                    let _ = calls.close(conn);
                }
                Event::ConnectFailed { .. } => {
                    self.failed.fetch_add(1, Ordering::Relaxed);
                }
                Event::Timer { .. } => {
                    let _ = calls.set_timer(0, TICK);
                }
                _ => {}
            }
        }
        if self.again.swap(false, Ordering::Relaxed) {
            let _ = calls.connect(SocketAddrV4::new(SERVER, PORT), 99);
        }
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn states(h: &ElasticHandle) -> Vec<(SocketAddrV4, SocketAddrV4, State)> {
    h.request_conns(Duration::from_secs(5))
        .expect("conns")
        .into_iter()
        .map(|c| (c.local, c.remote, c.state))
        .collect()
}

#[test]
fn conns_are_listed_and_drain_closes_gracefully() {
    let (a, b) = FakeLink::pair([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], 1024, 2048);
    let ring = Arc::new(CaptureRing::new(64));
    let tcp = TcpConfig {
        max_conns: 16,
        time_wait_max: 16,
        ..TcpConfig::default()
    };
    let server = {
        let (ring, tcp) = (Arc::clone(&ring), tcp.clone());
        spawn(RuntimeConfig::default(), move || {
            let nic = CaptureNic::new(a, ring, 0);
            let net = ix_net::Config::new(SERVER, 24);
            Ok(Parts::new(nic, MonotonicClock::new(), net, tcp, Server))
        })
        .expect("server")
    };
    // Capture the handshakes from the start: armed before the client exists.
    let capture = {
        let ring = Arc::clone(&ring);
        std::thread::spawn(move || {
            ring.capture(64, Duration::from_secs(2), &AtomicBool::new(false))
        })
    };
    wait_for("the capture to be armed", || ring.is_armed());
    let peer_closed = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let again = Arc::new(AtomicBool::new(false));
    let client = {
        let (peer_closed, failed, again) = (
            Arc::clone(&peer_closed),
            Arc::clone(&failed),
            Arc::clone(&again),
        );
        spawn(RuntimeConfig::default(), move || {
            let handler = Client {
                n: 3,
                peer_closed,
                failed,
                again,
            };
            let net = ix_net::Config::new(CLIENT, 24);
            Ok(Parts::new(b, MonotonicClock::new(), net, tcp, handler))
        })
        .expect("client")
    };

    wait_for("three established connections", || {
        let s = states(&server);
        s.len() == 3 && s.iter().all(|c| c.2 == State::Established)
    });
    let listed = states(&server);
    assert!(listed
        .iter()
        .all(|(l, r, _)| *l == SocketAddrV4::new(SERVER, PORT) && *r.ip() == CLIENT));
    let client_side = states(&client);
    assert_eq!(client_side.len(), 3);
    for (l, r, _) in &client_side {
        assert!(
            listed.contains(&(*r, *l, State::Established)),
            "both ends agree"
        );
    }

    let frames = capture.join().expect("capture");
    // ARP, then 3 x (SYN in, SYN-ACK out, ACK in), all within the capture's 2 s.
    assert!(frames.len() >= 11, "{frames:?}");
    let tcp_flags = |dir: &str| -> Vec<u8> {
        frames
            .iter()
            .filter(|f| f.dir == dir)
            .filter_map(|f| unhex(&f.data_hex))
            .filter(|b| b.len() >= 54 && b[12..14] == [8, 0] && b[23] == 6)
            .map(|b| b[47])
            .collect()
    };
    assert_eq!(
        tcp_flags("rx").iter().filter(|&&f| f == 0x02).count(),
        3,
        "SYNs in"
    );
    assert_eq!(
        tcp_flags("rx").iter().filter(|&&f| f == 0x10).count(),
        3,
        "ACKs in"
    );
    assert_eq!(
        tcp_flags("tx").iter().filter(|&&f| f == 0x12).count(),
        3,
        "SYN-ACKs out"
    );
    assert!(frames
        .iter()
        .all(|f| f.thread == 0 && f.orig_len as usize * 2 == f.data_hex.len()));

    assert!(server.drain());
    wait_for("the client to see every FIN", || {
        peer_closed.load(Ordering::Relaxed) == 3
    });
    wait_for("the server's connections to close", || {
        states(&server)
            .iter()
            .all(|c| matches!(c.2, State::TimeWait | State::Closed | State::LastAck))
    });
    // The listener is gone: a new connection is refused.
    again.store(true, Ordering::Relaxed);
    wait_for("the new connection to be refused", || {
        failed.load(Ordering::Relaxed) == 1
    });
    assert!(!server.is_finished(), "draining does not stop the thread");
    let last = server.join().expect("server");
    assert_eq!(last.counters.handler_panics, 0);
    client.join().expect("client");
}

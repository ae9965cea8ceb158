//! The echo server and the echo client in one process, each on its own elastic
//! thread over a fake link on a virtual clock (no DPDK, no kernel): the echo sends
//! received buffers back by reference, so no payload byte is copied, every buffer
//! returns to its pool, and the receive-window credits the echo holds until its
//! bytes are acknowledged come back (a receive buffer smaller than what the client
//! keeps outstanding would stall for good otherwise).

use echo_ix::client::{ClientConfig, EchoClient};
use echo_ix::{EchoIx, Services};
use ix_fakenic::{FakeLink, FakeNic};
use ix_nic::heap::HeapPool;
use ix_nic::VirtualClock;
use ix_runtime::{ElasticThread, Parts, RuntimeConfig};
use ix_tcp::TcpConfig;
use libix::ev::{Ev, EvConfig};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::Ordering;
use std::time::Duration;

const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const SERVER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const CLIENT_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];

type Thread<A> = ElasticThread<FakeNic, VirtualClock, Ev<HeapPool, A>>;

fn tcp(recv_buf: u32) -> TcpConfig {
    TcpConfig {
        secret: Some([7; 16]),
        max_conns: 64,
        time_wait_max: 64,
        recv_buf,
        ..TcpConfig::default()
    }
}

/// Runs `cfg` from an echo client to echo-ix (both with receive buffers of
/// `recv_buf` bytes) until the client finishes; returns both threads and the
/// server's pool.
fn run(
    cfg: ClientConfig,
    recv_buf: u32,
) -> (Thread<EchoIx<HeapPool>>, Thread<EchoClient>, HeapPool) {
    let server_pool = HeapPool::new(2048, 2048);
    let (a, b) = FakeLink::pair_with_pools(
        SERVER_MAC,
        server_pool.clone(),
        CLIENT_MAC,
        HeapPool::new(2048, 2048),
        256,
    );
    let clock = VirtualClock::new();
    let ev = EvConfig {
        max_conns: 64,
        ..EvConfig::default()
    };
    let services = Services {
        echo: Some(7),
        sink: None,
        source: None,
        source_bytes: 0,
    };
    let mut server = ElasticThread::new(
        Parts::new(
            a,
            clock.clone(),
            ix_net::Config::new(SERVER, 24),
            tcp(recv_buf),
            Ev::new(EchoIx::new(services), ev),
        ),
        RuntimeConfig::default(),
    )
    .expect("server thread");
    let client_app = EchoClient::new(cfg).expect("client config");
    let finished = client_app.finished_flag();
    let mut client = ElasticThread::new(
        Parts::new(
            b,
            clock.clone(),
            ix_net::Config::new(CLIENT, 24),
            tcp(recv_buf),
            Ev::new(client_app, ev),
        ),
        RuntimeConfig::default(),
    )
    .expect("client thread");
    assert!(server
        .transport_mut()
        .iface_mut()
        .arp_insert_static(CLIENT, CLIENT_MAC));
    assert!(client
        .transport_mut()
        .iface_mut()
        .arp_insert_static(SERVER, SERVER_MAC));
    let mut steps = 0;
    while !finished.load(Ordering::Acquire) {
        server.iterate();
        client.iterate();
        clock.advance(Duration::from_micros(50));
        steps += 1;
        assert!(steps < 2_000_000, "the transfer stalled");
    }
    // Let the last acknowledgements and closes settle (TIME_WAIT included).
    for _ in 0..20_000 {
        server.iterate();
        client.iterate();
        clock.advance(Duration::from_millis(1));
    }
    (server, client, server_pool)
}

#[test]
fn echo_sends_received_buffers_back_without_a_copy() {
    let cfg = ClientConfig {
        server: SocketAddrV4::new(SERVER, 7),
        conns: 8,
        requests: 300,
        size: 1000,
        pipeline: 4,
        warmup: 0,
    };
    ix_nic::copy::reset();
    let (server, client, server_pool) = run(cfg, 256 * 1024);
    let report = client.handler().app().report();
    assert!(report.ok(), "{report}");
    assert_eq!(report.completed, 8 * 300);
    assert_eq!(report.byte_errors, 0);
    let stats = server.handler().app().stats();
    assert_eq!(stats.accepted, 8);
    assert_eq!(stats.ended, 8);
    assert_eq!(stats.echoed_bytes, 8 * 300 * 1000);
    // Both threads ran on this test thread, whose counter covers them both.
    assert_eq!(ix_nic::copy::copied_bytes(), 0, "payload bytes copied");
    assert_eq!(server.snapshot().copied_bytes, 0);
    let pool = server_pool.stats();
    assert_eq!(
        pool.in_use(),
        0,
        "every received buffer came back: {pool:?}"
    );
}

#[test]
fn held_credits_come_back_when_the_echo_is_acknowledged() {
    // 4 KiB receive windows while the client keeps 6 KiB outstanding: the echo's
    // window reopens only as its echoed bytes are acknowledged and their credits
    // dropped, so the transfer finishes only if that happens every time.
    let cfg = ClientConfig {
        server: SocketAddrV4::new(SERVER, 7),
        conns: 2,
        requests: 200,
        size: 1500,
        pipeline: 4,
        warmup: 0,
    };
    let (server, client, server_pool) = run(cfg, 4096);
    let report = client.handler().app().report();
    assert!(report.ok(), "{report}");
    assert_eq!(report.completed, 2 * 200);
    assert_eq!(server.handler().app().stats().echoed_bytes, 2 * 200 * 1500);
    assert_eq!(server_pool.stats().in_use(), 0);
}

//! The client on its own (request bytes, configuration checks) and against the
//! echo server over an in-memory link.

use super::{fill_request, request_mismatches, ClientConfig, EchoClient};
use crate::{EchoIx, Services};
use ix_fakenic::FakeLink;
use ix_net::Config as NetConfig;
use ix_nic::VirtualClock;
use ix_runtime::{ElasticThread, Parts, RuntimeConfig};
use ix_tcp::TcpConfig;
use libix::ev::{Ev, EvConfig};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Request bytes depend on both connection and request number, and the checker
/// counts exactly the bytes that are wrong (shifted, flipped, at any offset).
#[test]
fn requests_differ_by_connection_and_number_and_are_checked() {
    let mut a = [0u8; 100];
    let mut b = [0u8; 100];
    fill_request(1, 7, 0, &mut a);
    fill_request(1, 8, 0, &mut b);
    assert_ne!(a, b);
    fill_request(2, 7, 0, &mut b);
    assert_ne!(a, b);
    assert_eq!(request_mismatches(1, 7, 0, &a), 0);
    assert_eq!(request_mismatches(1, 7, 10, &a[10..]), 0);
    assert_eq!(request_mismatches(1, 7, 0, &a[1..]), 99, "shifted by one");
    let mut c = a;
    c[50] ^= 0x10;
    assert_eq!(request_mismatches(1, 7, 0, &c), 1);
    // Longer than the checker's block, checked from an odd offset.
    let mut big = vec![0u8; 1000];
    fill_request(3, 9, 0, &mut big);
    assert_eq!(request_mismatches(3, 9, 13, &big[13..]), 0);
    big[700] ^= 1;
    big[999] ^= 1;
    assert_eq!(request_mismatches(3, 9, 13, &big[13..]), 2);
}

/// One connection, one 64-byte request, to 10.0.0.1:7.
fn smallest_config() -> ClientConfig {
    ClientConfig {
        server: SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 7),
        conns: 1,
        requests: 1,
        size: 64,
        pipeline: 1,
        warmup: 0,
    }
}

/// A config with no connections, a pipeline deeper than the send queue or empty
/// requests is refused.
#[test]
fn config_validation_names_the_bad_flag() {
    let ok = smallest_config();
    assert!(ok.validate(64).is_ok());
    assert!(ClientConfig { conns: 0, ..ok }.validate(64).is_err());
    assert!(ClientConfig { pipeline: 65, ..ok }.validate(64).is_err());
    assert!(ClientConfig { size: 0, ..ok }.validate(64).is_err());
}

/// Client and echo server over an in-memory link on a virtual clock.
#[test]
fn client_and_echo_server_agree_over_a_fake_link() {
    let (a, b) = FakeLink::pair([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], 1024, 2048);
    let clock = VirtualClock::new();
    let net = |last| NetConfig::new(Ipv4Addr::new(10, 0, 0, last), 24);
    let rt = RuntimeConfig::default();
    let server = Ev::new(EchoIx::new(Services::default()), EvConfig::default());
    let cfg = ClientConfig {
        conns: 4,
        requests: 50,
        size: 100,
        pipeline: 3,
        warmup: 2,
        ..smallest_config()
    };
    let client = EchoClient::new(cfg).expect("client");
    let done = client.finished_flag();
    let client = Ev::new(client, EvConfig::default());
    let tcp = TcpConfig::default();
    let mut s = ElasticThread::new(
        Parts::new(a, clock.clone(), net(1), tcp.clone(), server),
        rt.clone(),
    )
    .expect("server");
    let mut c =
        ElasticThread::new(Parts::new(b, clock.clone(), net(2), tcp, client), rt).expect("client");
    for _ in 0..100_000 {
        s.iterate();
        c.iterate();
        clock.advance(Duration::from_micros(10));
        if done.load(Ordering::Acquire) {
            break;
        }
    }
    assert!(done.load(Ordering::Acquire), "the client finished");
    let r = c.handler().app().report();
    assert!(r.ok(), "{r}");
    assert_eq!(r.completed, 200);
    assert_eq!(r.rtt_samples, 4 * 48, "warm-up requests are not timed");
    assert!(r.rtt_p50_ns > 0 && r.rtt_p50_ns <= r.rtt_p99_ns);
    assert!(r.to_string().contains("completed=200 errors=0"));
    assert_eq!(s.handler().app().stats().echoed_bytes, 200 * 100);
}

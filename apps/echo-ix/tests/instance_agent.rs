//! End to end through `ix_instance::run`, the agent's view: the `echo-ix` binary
//! started as the control plane starts it, on a DPDK tap port whose kernel side is
//! in a network namespace this test creates. The test talks to the instance's agent
//! socket as `ixcp` does (JSON lines) and drives real TCP from the namespace: Status
//! turns ready, Stats counters move, Conns shows the open connection ESTABLISHED,
//! Capture returns the test's own TCP frames, and Stop closes the connection
//! gracefully, exits 0 and leaves no socket file, no tap interface and no DPDK
//! runtime directory behind.

mod support;

use ix_instance::agent_proto::{AgentRequest, AgentResponse, CapturedFrame};
use ix_instance::capture::unhex;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::Command;
use std::time::Duration;
use support::instance::{ask, Fixture, ECHO, IX};
use support::linux::{connect, local_v4};
use support::netns::in_ns;

/// A parsed Ethernet/IPv4/TCP frame: (src, dst, flags, payload).
fn tcp_of(frame: &[u8]) -> Option<(SocketAddrV4, SocketAddrV4, u8, Vec<u8>)> {
    if frame.len() < 14 + 20 + 20 || frame[12..14] != [0x08, 0x00] {
        return None;
    }
    let ip = &frame[14..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    if ip[0] >> 4 != 4 || ip[9] != 6 || ip.len() < ihl + 20 {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]])).min(ip.len());
    let src_ip = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let dst_ip = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    let tcp = &ip[ihl..total];
    let src_port = u16::from_be_bytes([tcp[0], tcp[1]]);
    let dst_port = u16::from_be_bytes([tcp[2], tcp[3]]);
    let off = usize::from(tcp[12] >> 4) * 4;
    let payload = tcp.get(off..)?.to_vec();
    Some((
        SocketAddrV4::new(src_ip, src_port),
        SocketAddrV4::new(dst_ip, dst_port),
        tcp[13],
        payload,
    ))
}

/// The TCP SYN flag.
const SYN: u8 = 0x02;

/// The agent reports the instance ready, lists the open connection, moves its
/// counters and captures the connection's frames; Stop closes the connection
/// gracefully and the instance exits 0 leaving nothing behind.
#[test]
fn instance_serves_reports_captures_and_stops_cleanly() {
    let _turn = support::one_at_a_time();
    let mut fx = Fixture::start("a");
    fx.wait_ready();
    let socket = fx.spec.agent_socket.clone();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&socket).expect("socket").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the agent socket is private");

    // Capture (on its own agent connection) while the client talks.
    let capture = {
        let socket = socket.clone();
        std::thread::spawn(move || {
            ask(
                &socket,
                &AgentRequest::Capture {
                    count: 12,
                    timeout_ms: 8000,
                },
            )
        })
    };
    std::thread::sleep(Duration::from_millis(500));

    let msg = b"hello through ix";
    let client = in_ns(&fx.ns_name(), move || {
        let mut s = connect(SocketAddrV4::new(IX, ECHO));
        s.write_all(msg).expect("send");
        let mut back = vec![0u8; msg.len()];
        s.read_exact(&mut back).expect("echo");
        (s, back)
    });
    let (mut stream, back) = client.join().expect("client");
    assert_eq!(back, msg, "echoed byte for byte");
    let local = local_v4(&stream);

    // The connection is open: the instance lists it.
    match ask(&socket, &AgentRequest::Conns).expect("conns") {
        AgentResponse::Conns { conns } => {
            let ours: Vec<_> = conns
                .iter()
                .filter(|c| c.remote == local.to_string())
                .collect();
            assert_eq!(ours.len(), 1, "{conns:?}");
            assert_eq!(ours[0].state, "ESTABLISHED");
            assert_eq!(ours[0].local, SocketAddrV4::new(IX, ECHO).to_string());
            assert_eq!(ours[0].thread, 0);
        }
        other => panic!("{other:?}"),
    }

    // Counters moved.
    match ask(&socket, &AgentRequest::Stats).expect("stats") {
        AgentResponse::Stats { threads } => {
            assert_eq!(threads.len(), 1);
            let get = |k: &str| {
                threads[0]
                    .iter()
                    .find(|(n, _)| n == k)
                    .map(|&(_, v)| v)
                    .unwrap_or(0)
            };
            assert!(get("rx_packets") >= 3, "{:?}", threads[0]);
            assert!(get("tx_packets") >= 2, "{:?}", threads[0]);
            assert!(get("rx_bytes") > msg.len() as u64);
            assert!(get("events") >= 2);
            assert_eq!(get("conns"), 1);
            assert_eq!(get("handler_panics"), 0);
        }
        other => panic!("{other:?}"),
    }

    // The capture holds this connection's frames, both ways, as sent on the wire.
    let frames: Vec<CapturedFrame> = match capture.join().expect("capture").expect("ask") {
        AgentResponse::Capture { frames } => frames,
        other => panic!("{other:?}"),
    };
    assert!(!frames.is_empty());
    let parsed: Vec<_> = frames
        .iter()
        .map(|f| {
            let bytes = unhex(&f.data_hex).expect("hex");
            assert_eq!(
                bytes.len(),
                f.orig_len as usize,
                "whole frames fit the snap length"
            );
            (f.dir.as_str(), tcp_of(&bytes))
        })
        .collect();
    let server = SocketAddrV4::new(IX, ECHO);
    assert!(
        parsed.iter().any(|(dir, t)| *dir == "rx"
            && matches!(t, Some((s, d, flags, _)) if *s == local && *d == server && flags & SYN != 0)),
        "our SYN was captured: {parsed:?}"
    );
    assert!(
        parsed.iter().any(|(dir, t)| *dir == "rx"
            && matches!(t, Some((s, d, _, p)) if *s == local && *d == server && p == msg)),
        "our request was captured"
    );
    assert!(
        parsed.iter().any(|(dir, t)| *dir == "tx"
            && matches!(t, Some((s, d, _, p)) if *s == server && *d == local && p == msg)),
        "the echo was captured"
    );
    assert!(
        frames.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns),
        "oldest first"
    );

    // Stop with the connection still open: the instance closes it (the client sees
    // end of stream), exits 0 and leaves nothing behind.
    let answer = ask(&socket, &AgentRequest::Stop { grace_ms: 3000 }).expect("stop");
    assert_eq!(answer, AgentResponse::Stopping);
    let mut rest = Vec::new();
    let eof = in_ns(&fx.ns_name(), move || {
        stream.read_to_end(&mut rest).map(|_| rest)
    })
    .join()
    .expect("reader");
    assert_eq!(eof.expect("graceful close, not a reset"), Vec::<u8>::new());
    let status = fx.wait_exit();
    assert!(status.success(), "echo-ix exit: {status}");
    fx.assert_left_nothing();
    let tap = Command::new("ip")
        .args(["-n", &fx.ns_name(), "link", "show", &fx.iface()])
        .output()
        .expect("ip");
    assert!(!tap.status.success(), "the tap interface is gone");
}

//! Engine-level behaviour over a fake link: handshake, data both ways, close orders.

mod support;

use ix_tcp::{CloseReason, Counter, State, TcpError};
use std::time::Duration;
use support::*;

const DT: Duration = Duration::from_micros(100);

/// Two engines connect, move data both ways byte-exact without copying payload,
/// close in order (active closer lingers in TIME_WAIT for 2*MSL), and the
/// application sees its events in order.
#[test]
fn handshake_data_both_ways_and_clean_close() {
    let mut n = pair();
    let (ca, cb) = n.open(80);
    assert_eq!(n.a.tcp.state(ca), Ok(State::Established));
    assert_eq!(n.b.tcp.state(cb), Ok(State::Established));
    let info = n.a.tcp.conn_info(ca).unwrap();
    assert_eq!(info.remote.port(), 80);
    assert_eq!(info.mss, 1460);
    assert!(info.sack);

    let to_b = pattern(300_000, 1);
    let to_a = pattern(123_457, 2);
    ix_nic::copy::reset();
    n.a.queue(ca, &to_b);
    n.b.queue(cb, &to_a);
    let ok = n.run_until(Duration::from_secs(10), DT, |n| {
        n.b.app
            .log
            .get(&cb)
            .is_some_and(|l| l.data.len() == to_b.len())
            && n.a
                .app
                .log
                .get(&ca)
                .is_some_and(|l| l.data.len() == to_a.len())
    });
    assert!(ok, "transfer incomplete");
    assert_eq!(ix_nic::copy::copied_bytes(), 0, "payload was copied");
    assert!(n.b.app.log[&cb].data == to_b, "A->B bytes differ");
    assert!(n.a.app.log[&ca].data == to_a, "B->A bytes differ");

    // A closes first; B closes when it sees A's FIN.
    n.b.app.close_on_peer_close = true;
    n.a.tcp.close(ca).unwrap();
    assert_eq!(n.a.tcp.close(ca), Err(TcpError::InvalidState));
    let ok = n.run_until(Duration::from_secs(5), DT, |n| {
        n.a.app.log[&ca].dead.is_some() && n.b.app.log[&cb].dead.is_some()
    });
    assert!(ok);
    assert_eq!(n.a.app.log[&ca].dead, Some(CloseReason::Closed));
    assert_eq!(n.b.app.log[&cb].dead, Some(CloseReason::Closed));
    assert_eq!(n.a.app.log[&ca].acked, to_b.len());
    assert_eq!(
        n.b.app.log[&cb].order,
        vec!["knock", "recv", "peer_closed", "dead"]
    );
    assert_eq!(n.a.tcp.time_wait_count(), 1, "active closer lingers");
    assert_eq!(n.b.tcp.time_wait_count(), 0);
    assert_eq!(
        n.a.tcp.state(ca),
        Err(TcpError::NoSuchConnection),
        "stale id refused"
    );
    assert_eq!(n.a.tcp.conn_count() + n.b.tcp.conn_count(), 0);
    assert_eq!(n.a.tcp.stats().get(Counter::Retransmits), 0);
    // TIME_WAIT ends after 2*MSL.
    n.run_for(Duration::from_secs(61), Duration::from_millis(500));
    assert_eq!(n.a.tcp.time_wait_count(), 0);
}

/// When the passive side sends and closes first, the active side receives the
/// data, then the close, and the passive closer is the one in TIME_WAIT.
#[test]
fn passive_side_closes_first() {
    let mut n = pair();
    let (ca, cb) = n.open(81);
    n.a.app.close_on_peer_close = true;
    n.b.queue(cb, b"bye");
    n.b.app.close_when_sent.insert(cb, true);
    n.b.pump();
    let ok = n.run_until(Duration::from_secs(5), DT, |n| n.both_dead(ca, cb));
    assert!(ok);
    assert_eq!(n.a.app.log[&ca].data, b"bye");
    assert_eq!(
        n.a.app.log[&ca].order,
        vec!["connected", "recv", "peer_closed", "dead"]
    );
    assert_eq!(n.b.tcp.time_wait_count(), 1);
    assert_eq!(n.a.tcp.time_wait_count(), 0);
}

/// Both sides closing at once both end cleanly, each through TIME_WAIT.
#[test]
fn simultaneous_close() {
    let mut n = pair();
    let (ca, cb) = n.open(82);
    n.a.tcp.close(ca).unwrap();
    n.b.tcp.close(cb).unwrap();
    assert_eq!(n.a.tcp.state(ca), Ok(State::FinWait1));
    let ok = n.run_until(Duration::from_secs(5), DT, |n| n.both_dead(ca, cb));
    assert!(ok);
    assert_eq!(n.a.app.log[&ca].dead, Some(CloseReason::Closed));
    assert_eq!(n.b.app.log[&cb].dead, Some(CloseReason::Closed));
    // Both went through CLOSING (or FIN_WAIT_2) to TIME_WAIT.
    assert_eq!(n.a.tcp.time_wait_count(), 1);
    assert_eq!(n.b.tcp.time_wait_count(), 1);
}

/// After one side closes, the other direction still carries data until it closes
/// too.
#[test]
fn half_close_keeps_the_other_direction_open() {
    let mut n = pair();
    let (ca, cb) = n.open(83);
    n.a.tcp.close(ca).unwrap();
    let ok = n.run_until(Duration::from_secs(2), DT, |n| {
        n.b.app.log.get(&cb).is_some_and(|l| l.peer_closed)
    });
    assert!(ok);
    n.step();
    assert_eq!(n.a.tcp.state(ca), Ok(State::FinWait2));
    assert_eq!(n.b.tcp.state(cb), Ok(State::CloseWait));
    assert_eq!(n.a.tcp.send_room(ca).map(|_| ()), Ok(()));
    let buf = n.a.pool().shared_from(b"x").unwrap();
    assert_eq!(
        n.a.tcp.send(ca, &buf, 0..1),
        Err(TcpError::InvalidState),
        "no send after close"
    );
    // B keeps sending for a while, then closes.
    let data = pattern(50_000, 7);
    n.b.queue(cb, &data);
    n.b.app.close_when_sent.insert(cb, true);
    let ok = n.run_until(Duration::from_secs(5), DT, |n| n.both_dead(ca, cb));
    assert!(ok);
    assert!(n.a.app.log[&ca].data == data);
    assert_eq!(
        n.a.app.log[&ca].order,
        vec!["connected", "recv", "peer_closed", "dead"]
    );
}

/// Initial sequence numbers just below 2^32 wrap during the transfer without
/// corrupting data or the close.
#[test]
fn isn_near_the_wrap() {
    let mut ca_cfg = cfg();
    ca_cfg.fixed_isn = Some(u32::MAX - 1000);
    let mut cb_cfg = cfg();
    cb_cfg.fixed_isn = Some(u32::MAX - 5);
    let mut n = pair_with(ca_cfg, cb_cfg);
    let (ca, cb) = n.open(84);
    let to_b = pattern(100_000, 3);
    let to_a = pattern(70_000, 4);
    n.a.queue(ca, &to_b);
    n.b.queue(cb, &to_a);
    n.a.app.close_when_sent.insert(ca, true);
    n.b.app.close_when_sent.insert(cb, true);
    let ok = n.run_until(Duration::from_secs(10), DT, |n| n.both_dead(ca, cb));
    assert!(ok);
    assert!(n.b.app.log[&cb].data == to_b);
    assert!(n.a.app.log[&ca].data == to_a);
    assert_eq!(n.a.app.log[&ca].dead, Some(CloseReason::Closed));
}

/// Twenty concurrent connections each deliver exactly their own bytes and all
/// close.
#[test]
fn many_connections_each_get_their_own_bytes() {
    let mut n = pair();
    n.b.tcp.listen(90).unwrap();
    let mut ids = Vec::new();
    for i in 0..20u64 {
        let c =
            n.a.tcp
                .connect(std::net::SocketAddrV4::new(B, 90), None)
                .unwrap();
        ids.push((c, pattern(5000 + i as usize * 300, i)));
    }
    n.run_until(Duration::from_secs(2), DT, |n| n.b.app.knocks.len() == 20);
    for (c, d) in &ids {
        n.a.queue(*c, d);
        n.a.app.close_when_sent.insert(*c, true);
    }
    n.b.app.close_on_peer_close = true;
    let ok = n.run_until(Duration::from_secs(10), DT, |n| {
        n.a.tcp.conn_count() == 0 && n.b.tcp.conn_count() == 0
    });
    assert!(
        ok,
        "a: {} b: {}",
        n.a.tcp.conn_count(),
        n.b.tcp.conn_count()
    );
    // Match B's connections to A's by content length and bytes.
    let mut got: Vec<Vec<u8>> = n.b.app.log.values().map(|l| l.data.clone()).collect();
    let mut want: Vec<Vec<u8>> = ids.iter().map(|(_, d)| d.clone()).collect();
    got.sort();
    want.sort();
    assert!(got == want);
}

/// The receive window is what the application has not released: held data stops
/// the sender by a closed window (not loss) and releasing it reopens the window.
#[test]
fn receive_window_is_what_the_application_has_not_released() {
    let mut cb_cfg = cfg();
    cb_cfg.recv_buf = 16 * 1024;
    let mut n = pair_with(cfg(), cb_cfg);
    let (ca, cb) = n.open(85);
    n.b.app.hold = true;
    let data = pattern(200_000, 5);
    n.a.queue(ca, &data);
    let mut stalls = 0;
    for _ in 0..200 {
        n.run_for(Duration::from_millis(5), DT);
        let info = n.b.tcp.conn_info(cb).unwrap();
        assert!(
            info.rcv_unreleased <= 16 * 1024 + 1460,
            "held {}",
            info.rcv_unreleased
        );
        let held: usize = n.b.app.held.iter().map(|s| s.len()).sum();
        if held >= 16 * 1024 - 1460 {
            // The sender is stopped by the closed window, not by loss.
            let a = n.a.tcp.conn_info(ca).unwrap();
            assert!(a.snd_wnd < 1460, "window still open: {}", a.snd_wnd);
            stalls += 1;
            n.b.app.held.clear();
        }
        if n.b.app.log[&cb].data.len() == data.len() {
            break;
        }
    }
    assert!(n.b.app.log[&cb].data == data);
    assert!(
        stalls >= 10,
        "the window closed and reopened ({stalls} times)"
    );
    assert!(n.b.tcp.stats().get(Counter::WindowUpdates) > 0);
    assert_eq!(n.a.tcp.stats().get(Counter::RtoFired), 0);
}

/// Two active opens that cross (RFC 9293 simultaneous open) connect both sides,
/// and data flows both ways.
#[test]
fn simultaneous_open() {
    let mut n = pair();
    let ca =
        n.a.tcp
            .connect(std::net::SocketAddrV4::new(B, 5000), Some(6000))
            .unwrap();
    let cb =
        n.b.tcp
            .connect(std::net::SocketAddrV4::new(A, 6000), Some(5000))
            .unwrap();
    let ok = n.run_until(Duration::from_secs(5), DT, |n| {
        n.a.app.log.get(&ca).is_some_and(|l| l.connected)
            && n.b.app.log.get(&cb).is_some_and(|l| l.connected)
    });
    assert!(ok);
    n.a.queue(ca, b"ping");
    n.b.queue(cb, b"pong");
    n.run_until(Duration::from_secs(1), DT, |n| {
        n.a.app.log[&ca].data == b"pong" && n.b.app.log[&cb].data == b"ping"
    });
    assert_eq!(n.a.app.log[&ca].data, b"pong");
    assert_eq!(n.b.app.log[&cb].data, b"ping");
}

/// Connecting to a port nobody listens on fails with `Refused` and leaves no
/// connection.
#[test]
fn connect_to_a_closed_port_is_refused_over_the_link() {
    let mut n = pair();
    let ca =
        n.a.tcp
            .connect(std::net::SocketAddrV4::new(B, 7), None)
            .unwrap();
    n.run_until(Duration::from_secs(1), DT, |n| {
        n.a.app.log.contains_key(&ca)
    });
    assert_eq!(n.a.app.log[&ca].connect_failed, Some(CloseReason::Refused));
    assert_eq!(n.a.tcp.conn_count(), 0);
}

//! Packet-level tests of the engine's timers: SYN and data retransmission with
//! back-off, zero-window probes, delayed ACKs, keepalive, FIN_WAIT_2 and the user
//! timeout. The test plays the peer and moves the virtual clock.

mod support;

use ix_tcp::header::Flags;
use ix_tcp::seq::Seq;
use ix_tcp::{CloseReason, Counter, KeepaliveConfig, State, TcpConfig};
use std::net::SocketAddrV4;
use std::time::Duration;
use support::*;

/// An unanswered SYN is resent after 1 s, doubling (RFC 6298), and the open fails
/// with a timeout after `syn_retries` retransmissions.
#[test]
fn syn_retries_back_off_then_fail() {
    let mut r = Raw::with(|c| c.syn_retries = 3);
    let c = r.host.tcp.connect(SocketAddrV4::new(B, 80), None).unwrap();
    let mut times = Vec::new();
    for _ in 0..2000 {
        for o in r.poll() {
            assert_eq!(o.hdr.flags, Flags::SYN);
            times.push(r.clock_ms());
        }
        if r.host.connect_failed(c).is_some() {
            break;
        }
        r.advance(ms(10));
    }
    // RFC 6298: 1 s initial, doubling.
    assert_eq!(times, vec![0, 1000, 3000, 7000]);
    assert_eq!(r.host.connect_failed(c), Some(CloseReason::Timeout));
    assert_eq!(r.clock_ms(), 15_000);
    assert_eq!(r.count(Counter::SynTimeouts), 1);
}

/// Unacknowledged data is resent from rto_min, doubling, and the connection dies
/// with a timeout after `max_retransmits` (R2).
#[test]
fn data_rto_backs_off_and_gives_up_after_r2() {
    let mut r = Raw::with(|c| c.max_retransmits = 3);
    let (iss1, c) = r.open_passive(OPEN);
    r.host.queue(c, b"hello");
    let out = r.poll();
    assert_eq!(out[0].payload, b"hello");
    assert_eq!(out[0].hdr.seq, Seq(iss1));
    let t0 = r.clock_ms();
    let mut times = Vec::new();
    r.tick_until(ms(10), 1000, |r, _, out| {
        for o in &out {
            if o.payload == b"hello" {
                times.push(r.clock_ms() - t0);
            }
        }
        r.host.dead(c).is_some()
    });
    // The handshake's RTT sample was ~0: RTO = rto_min (200 ms), doubling.
    assert_eq!(times, vec![200, 600, 1400]);
    assert_eq!(r.clock_ms() - t0, 3000);
    assert_eq!(r.host.dead(c), Some(CloseReason::Timeout));
    assert_eq!(r.count(Counter::RetransmitTimeouts), 1);
}

/// Against a zero window the engine sends window probes (old sequence, no new
/// data) with back-off; answered probes keep the connection alive, and the data
/// goes once the window opens.
#[test]
fn zero_window_persist_probes_then_resumes() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = r.open_passive(OPEN);
    // The peer closes its window.
    r.reply_to(PEER.ack(NXT, iss1).window(0));
    r.host.queue(c, b"0123456789");
    assert!(r.poll().is_empty(), "nothing fits a zero window");
    let t0 = r.clock_ms();
    let mut probes = Vec::new();
    r.tick_until(ms(10), 200, |r, _, out| {
        for o in out {
            assert!(o.payload.is_empty(), "a probe carries no new data");
            assert_eq!(
                o.hdr.seq,
                Seq(iss1 - 1),
                "old sequence: the peer must answer"
            );
            probes.push(r.clock_ms() - t0);
            r.inject(PEER.ack(NXT, iss1).window(0));
        }
        false
    });
    assert_eq!(probes, vec![200, 600, 1400], "backing off");
    assert_eq!(r.count(Counter::WindowProbes), 3);
    assert_eq!(
        r.host.tcp.state(c),
        Ok(State::Established),
        "answered probes keep it alive"
    );
    // The window opens: the data goes.
    let out = r.reply_to(PEER.ack(NXT, iss1).window(1000));
    assert_eq!(out[0].payload, b"0123456789");
}

/// One segment's ACK is delayed (at most 500 µs here); two in a burst, an
/// out-of-order segment, and the segment filling the gap are acknowledged at once.
#[test]
fn delayed_ack_bounds() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = r.open_passive(OPEN);
    let data = |seq: u32, byte: u8| PEER.ack(seq, iss1).data(&[byte; 100]);
    assert!(
        r.reply_to(data(NXT, 1)).is_empty(),
        "one segment: ACK delayed"
    );
    let out = r.tick(us(500));
    assert_eq!((out.len(), out[0].hdr.ack), (1, Seq(NXT + 100)));
    // Two segments in one burst: one immediate ACK for both.
    r.inject(data(NXT + 100, 2));
    let out = r.reply_to(data(NXT + 200, 3));
    assert_eq!((out.len(), out[0].hdr.ack), (1, Seq(NXT + 300)));
    // Out of order: immediate duplicate ACK.
    let out = r.reply_to(data(NXT + 400, 5));
    assert_eq!(out[0].hdr.ack, Seq(NXT + 300));
    // The gap fills: immediate ACK of everything.
    let out = r.reply_to(data(NXT + 300, 4));
    assert_eq!(out[0].hdr.ack, Seq(NXT + 500));
    assert_eq!(r.host.app.log[&c].data.len(), 500);
    assert_eq!(r.host.app.log[&c].data[300..400], [4; 100]);
}

/// After `idle` the engine probes every `interval`; an answered probe restarts
/// the idle time, and `probes` unanswered ones end the connection with a RST.
#[test]
fn keepalive_probes_then_gives_up() {
    let mut r = Raw::new(TcpConfig {
        keepalive: Some(KeepaliveConfig {
            idle: Duration::from_secs(1),
            interval: ms(100),
            probes: 3,
        }),
        ..cfg()
    });
    let (iss1, c) = r.open_passive(OPEN);
    let t0 = r.clock_ms();
    let mut probes = Vec::new();
    let mut rst = None;
    r.tick_until(ms(10), 300, |r, step, out| {
        for o in out {
            if o.hdr.flags.has(Flags::RST) {
                rst = Some(r.clock_ms() - t0);
            } else {
                assert_eq!(o.hdr.seq, Seq(iss1 - 1));
                probes.push(r.clock_ms() - t0);
                // Answer the first round only.
                if step <= 110 {
                    r.inject(PEER.ack(NXT, iss1));
                }
            }
        }
        r.host.dead(c).is_some()
    });
    // The answer to the first probe is processed on the next poll (10 ms later).
    assert_eq!(probes, vec![1000, 2010, 2110, 2210]);
    assert_eq!(rst, Some(2310));
    assert_eq!(r.host.dead(c), Some(CloseReason::KeepaliveTimeout));
}

/// A connection closed by us whose peer never sends its FIN is reset when
/// `fin_wait2_timeout` expires, and not a moment before.
#[test]
fn fin_wait_2_times_out() {
    let mut r = Raw::with(|c| c.fin_wait2_timeout = Duration::from_secs(5));
    let (iss1, c) = r.open_passive(OPEN);
    r.host.tcp.close(c).unwrap();
    r.poll();
    r.reply_to(PEER.ack(NXT, iss1 + 1));
    assert_eq!(r.host.tcp.state(c), Ok(State::FinWait2));
    r.tick(ms(4990));
    assert_eq!(r.host.tcp.state(c), Ok(State::FinWait2));
    let out = r.tick(ms(10));
    assert_eq!(out[0].hdr.flags, Flags::RST);
    assert_eq!(r.host.dead(c), Some(CloseReason::FinWait2Timeout));
}

/// Data left unacknowledged longer than the user timeout ends the connection
/// within an RTO of the bound.
#[test]
fn user_timeout_bounds_unacknowledged_data() {
    let mut r = Raw::with(|c| c.user_timeout = Some(Duration::from_secs(1)));
    let (_, c) = r.open_passive(OPEN);
    r.host.queue(c, b"x");
    r.poll();
    r.tick_until(ms(10), 300, |r, _, _| r.host.dead(c).is_some());
    assert_eq!(r.host.dead(c), Some(CloseReason::Timeout));
    assert!(
        r.clock_ms() <= 1600,
        "within an RTO of the bound: {}",
        r.clock_ms()
    );
    assert_eq!(r.count(Counter::UserTimeouts), 1);
}

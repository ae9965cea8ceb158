//! Packet-level tests: the test plays the peer, writing segments and reading what
//! the engine sends (RST rules, RFC 5961, timers, loss recovery, cookies, TIME_WAIT).

mod support;

use ix_tcp::header::Flags;
use ix_tcp::options::TcpOptions;
use ix_tcp::seq::Seq;
use ix_tcp::{CloseReason, ConnId, Counter, KeepaliveConfig, State, TcpConfig};
use std::net::SocketAddrV4;
use std::time::Duration;
use support::*;

const PEER_ISN: u32 = 1000;
const PORT: u16 = 80;
const SPORT: u16 = 4000;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn syn_opts(sack: bool, ws: Option<u8>) -> TcpOptions {
    TcpOptions {
        mss: Some(1460),
        sack_permitted: sack,
        wscale: ws,
        ..TcpOptions::default()
    }
}

fn none() -> TcpOptions {
    TcpOptions::default()
}

/// A passive handshake from the test's port `sport`; returns the engine's ISS + 1
/// (its next sequence) and the accepted connection.
fn open_passive(r: &mut Raw, sport: u16, sack: bool) -> (u32, ConnId) {
    let _ = r.host.tcp.listen(PORT);
    r.inject(
        sport,
        PORT,
        PEER_ISN,
        0,
        syn(),
        65535,
        syn_opts(sack, None),
        b"",
    );
    let out = r.poll();
    assert_eq!(out.len(), 1, "{out:?}");
    let sa = &out[0].hdr;
    assert_eq!(sa.flags, Flags::SYN.with(Flags::ACK));
    assert_eq!(sa.ack, Seq(PEER_ISN + 1));
    assert_eq!(sa.options.sack_permitted, sack);
    assert_eq!(sa.options.wscale, None, "not offered: not answered");
    let iss1 = sa.seq.0.wrapping_add(1);
    r.inject(sport, PORT, PEER_ISN + 1, iss1, ack(), 65535, none(), b"");
    assert!(r.poll().is_empty());
    let c = *r.host.app.knocks.last().unwrap();
    assert_eq!(r.host.tcp.state(c), Ok(State::Established));
    (iss1, c)
}

#[test]
fn no_listener_gets_rst_in_both_shapes() {
    let mut r = Raw::new(cfg());
    r.inject(SPORT, 99, 5, 0, syn(), 1000, none(), b"");
    let out = r.poll();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].hdr.flags, Flags::RST.with(Flags::ACK));
    assert_eq!((out[0].hdr.seq, out[0].hdr.ack), (Seq(0), Seq(6)));
    r.inject(SPORT, 99, 5, 777, ack(), 1000, none(), b"data");
    let out = r.poll();
    assert_eq!(out[0].hdr.flags, Flags::RST);
    assert_eq!(out[0].hdr.seq, Seq(777));
    r.inject(SPORT, 99, 5, 777, Flags::RST, 1000, none(), b"");
    assert!(r.poll().is_empty(), "never answer a RST");
    let s = r.host.tcp.stats();
    assert_eq!(
        (
            s.get(Counter::NoListenerRst),
            s.get(Counter::NoListenerDrop)
        ),
        (2, 1)
    );
}

#[test]
fn rst_and_syn_per_rfc5961() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open_passive(&mut r, SPORT, true);
    let nxt = PEER_ISN + 1;
    // In window but not exact: challenge ACK, connection lives.
    r.inject(SPORT, PORT, nxt + 10, 0, Flags::RST, 0, none(), b"");
    let out = r.poll();
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].hdr.flags, out[0].hdr.ack, out[0].hdr.seq),
        (Flags::ACK, Seq(nxt), Seq(iss1))
    );
    assert_eq!(r.host.tcp.state(c), Ok(State::Established));
    // Out of window: ignored silently.
    r.inject(
        SPORT,
        PORT,
        nxt.wrapping_sub(100_000),
        0,
        Flags::RST,
        0,
        none(),
        b"",
    );
    assert!(r.poll().is_empty());
    // SYN on an established connection: challenge ACK.
    r.inject(SPORT, PORT, 5, 0, syn(), 1000, none(), b"");
    let out = r.poll();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].hdr.flags, Flags::ACK);
    assert_eq!(r.host.tcp.stats().get(Counter::ChallengeAcks), 2);
    // ACK for data never sent: dropped with an ACK.
    r.inject(SPORT, PORT, nxt, iss1 + 5000, ack(), 1000, none(), b"");
    assert_eq!(r.poll().len(), 1);
    assert_eq!(r.host.tcp.stats().get(Counter::AckTooNew), 1);
    // Exact RST: reset.
    r.inject(SPORT, PORT, nxt, 0, Flags::RST, 0, none(), b"");
    assert!(r.poll().is_empty());
    assert_eq!(r.host.app.log[&c].dead, Some(CloseReason::Reset));
    assert_eq!(r.host.tcp.state(c), Err(ix_tcp::TcpError::NoSuchConnection));
}

#[test]
fn connect_refused_and_bad_synack() {
    let mut r = Raw::new(cfg());
    let c = r
        .host
        .tcp
        .connect(SocketAddrV4::new(B, 80), Some(5555))
        .unwrap();
    let out = r.poll();
    assert_eq!(out[0].hdr.flags, Flags::SYN);
    assert_eq!(out[0].hdr.options.mss, Some(1460));
    assert_eq!(out[0].hdr.options.wscale, Some(3));
    assert!(out[0].hdr.options.sack_permitted);
    let iss = out[0].hdr.seq.0;
    // SYN-ACK acknowledging the wrong thing: RST <SEQ=SEG.ACK>.
    r.inject(
        80,
        5555,
        7,
        iss + 9,
        Flags::SYN.with(Flags::ACK),
        1000,
        none(),
        b"",
    );
    let out = r.poll();
    assert_eq!(
        (out[0].hdr.flags, out[0].hdr.seq),
        (Flags::RST, Seq(iss + 9))
    );
    assert_eq!(r.host.tcp.state(c), Ok(State::SynSent));
    // RST without ACK: ignored. RST with the right ACK: refused.
    r.inject(80, 5555, 0, 0, Flags::RST, 0, none(), b"");
    r.poll();
    assert_eq!(r.host.tcp.state(c), Ok(State::SynSent));
    r.inject(
        80,
        5555,
        0,
        iss + 1,
        Flags::RST.with(Flags::ACK),
        0,
        none(),
        b"",
    );
    r.poll();
    assert_eq!(
        r.host.app.log[&c].connect_failed,
        Some(CloseReason::Refused)
    );
    assert_eq!(r.host.tcp.conn_count(), 0);
}

#[test]
fn syn_retries_back_off_then_fail() {
    let mut r = Raw::new(TcpConfig {
        syn_retries: 3,
        ..cfg()
    });
    let c = r.host.tcp.connect(SocketAddrV4::new(B, 80), None).unwrap();
    let mut times = Vec::new();
    for _ in 0..2000 {
        for o in r.poll() {
            assert_eq!(o.hdr.flags, Flags::SYN);
            times.push(r.clock_ms());
        }
        if r.host
            .app
            .log
            .get(&c)
            .is_some_and(|l| l.connect_failed.is_some())
        {
            break;
        }
        r.advance(ms(10));
    }
    // RFC 6298: 1 s initial, doubling.
    assert_eq!(times, vec![0, 1000, 3000, 7000]);
    assert_eq!(
        r.host.app.log[&c].connect_failed,
        Some(CloseReason::Timeout)
    );
    assert_eq!(r.clock_ms(), 15_000);
    assert_eq!(r.host.tcp.stats().get(Counter::SynTimeouts), 1);
}

impl Raw {
    fn clock_ms(&self) -> u64 {
        use ix_nic::Clock;
        self.clock.now().as_millis()
    }
}

#[test]
fn data_rto_backs_off_and_gives_up_after_r2() {
    let mut r = Raw::new(TcpConfig {
        max_retransmits: 3,
        ..cfg()
    });
    let (iss1, c) = open_passive(&mut r, SPORT, false);
    r.host.queue(c, b"hello");
    let out = r.poll();
    assert_eq!(out[0].payload, b"hello");
    assert_eq!(out[0].hdr.seq, Seq(iss1));
    let t0 = r.clock_ms();
    let mut times = Vec::new();
    for _ in 0..1000 {
        r.advance(ms(10));
        for o in r.poll() {
            if o.payload == b"hello" {
                times.push(r.clock_ms() - t0);
            }
        }
        if r.host.app.log.get(&c).is_some_and(|l| l.dead.is_some()) {
            break;
        }
    }
    // The handshake's RTT sample was ~0: RTO = rto_min (200 ms), doubling.
    assert_eq!(times, vec![200, 600, 1400]);
    assert_eq!(r.clock_ms() - t0, 3000);
    assert_eq!(r.host.app.log[&c].dead, Some(CloseReason::Timeout));
    assert_eq!(r.host.tcp.stats().get(Counter::RetransmitTimeouts), 1);
}

/// Sends `n` MSS-sized segments from the engine; returns them.
fn send_segments(r: &mut Raw, c: ConnId, n: usize) -> Vec<Out> {
    let data = pattern(1460 * n, 42);
    r.host.queue(c, &data);
    let out = r.poll();
    assert_eq!(out.len(), n, "initial window of 10 segments");
    out
}

#[test]
fn fast_retransmit_with_sack_before_any_timeout() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open_passive(&mut r, SPORT, true);
    let segs = send_segments(&mut r, c, 10);
    assert!(segs.iter().all(|s| s.payload.len() == 1460));
    // Segment 0 lost: three duplicate ACKs with growing SACK blocks.
    let nxt = PEER_ISN + 1;
    for k in 1..=3u32 {
        let mut o = none();
        o.sack.push((Seq(iss1 + 1460), Seq(iss1 + 1460 * (k + 1))));
        r.inject(SPORT, PORT, nxt, iss1, ack(), 65535, o, b"");
    }
    let out = r.poll();
    let re: Vec<_> = out.iter().filter(|o| !o.payload.is_empty()).collect();
    assert_eq!(re[0].hdr.seq, Seq(iss1), "hole retransmitted at once");
    assert_eq!(re[0].payload, segs[0].payload);
    let s = r.host.tcp.stats();
    assert_eq!(
        (
            s.get(Counter::FastRetransmits),
            s.get(Counter::SackRecoveries),
            s.get(Counter::RtoFired)
        ),
        (1, 1, 0)
    );
    // Everything acknowledged: recovery ends, the application hears all bytes sent.
    r.inject(SPORT, PORT, nxt, iss1 + 14600, ack(), 65535, none(), b"");
    r.poll();
    assert_eq!(r.host.app.log[&c].acked, 14600);
    let info = r.host.tcp.conn_info(c).unwrap();
    assert_eq!(info.bytes_in_flight, 0);
    assert!(
        info.cwnd < 14600 + 1460,
        "window was reduced: {}",
        info.cwnd
    );
}

#[test]
fn sack_recovery_resends_only_the_holes() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open_passive(&mut r, SPORT, true);
    send_segments(&mut r, c, 10);
    let nxt = PEER_ISN + 1;
    let seg = |k: u32| iss1 + 1460 * k;
    // Segments 2 and 5 lost: the peer holds 0-1 (cumulative), 3-4 and 6-9.
    r.inject(SPORT, PORT, nxt, seg(2), ack(), 65535, none(), b"");
    r.poll();
    for _ in 0..3 {
        let mut o = none();
        o.sack.push((Seq(seg(6)), Seq(seg(10))));
        o.sack.push((Seq(seg(3)), Seq(seg(5))));
        r.inject(SPORT, PORT, nxt, seg(2), ack(), 65535, o, b"");
    }
    let out = r.poll();
    let re: Vec<u32> = out
        .iter()
        .filter(|o| !o.payload.is_empty())
        .map(|o| o.hdr.seq.0)
        .collect();
    assert_eq!(re, vec![seg(2), seg(5)], "exactly the two holes");
}

#[test]
fn newreno_fast_retransmit_and_partial_acks() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open_passive(&mut r, SPORT, false);
    send_segments(&mut r, c, 10);
    let nxt = PEER_ISN + 1;
    let seg = |k: u32| iss1 + 1460 * k;
    for _ in 0..3 {
        r.inject(SPORT, PORT, nxt, seg(0), ack(), 65535, none(), b"");
    }
    let out = r.poll();
    let re: Vec<u32> = out
        .iter()
        .filter(|o| !o.payload.is_empty())
        .map(|o| o.hdr.seq.0)
        .collect();
    assert_eq!(re, vec![seg(0)]);
    assert_eq!(r.host.tcp.stats().get(Counter::NewRenoRecoveries), 1);
    // Partial ACK up to segment 4: segment 4 is resent at once.
    r.inject(SPORT, PORT, nxt, seg(4), ack(), 65535, none(), b"");
    let out = r.poll();
    let re: Vec<u32> = out
        .iter()
        .filter(|o| !o.payload.is_empty())
        .map(|o| o.hdr.seq.0)
        .collect();
    assert_eq!(re.first(), Some(&seg(4)));
    r.inject(SPORT, PORT, nxt, seg(10), ack(), 65535, none(), b"");
    r.poll();
    assert_eq!(r.host.tcp.conn_info(c).unwrap().bytes_in_flight, 0);
    assert_eq!(r.host.tcp.stats().get(Counter::RtoFired), 0);
}

#[test]
fn zero_window_persist_probes_then_resumes() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open_passive(&mut r, SPORT, false);
    let nxt = PEER_ISN + 1;
    // The peer closes its window.
    r.inject(SPORT, PORT, nxt, iss1, ack(), 0, none(), b"");
    r.poll();
    r.host.queue(c, b"0123456789");
    assert!(r.poll().is_empty(), "nothing fits a zero window");
    let t0 = r.clock_ms();
    let mut probes = Vec::new();
    for _ in 0..200 {
        r.advance(ms(10));
        for o in r.poll() {
            assert!(o.payload.is_empty(), "a probe carries no new data");
            assert_eq!(
                o.hdr.seq,
                Seq(iss1 - 1),
                "old sequence: the peer must answer"
            );
            probes.push(r.clock_ms() - t0);
            r.inject(SPORT, PORT, nxt, iss1, ack(), 0, none(), b"");
        }
    }
    assert_eq!(probes, vec![200, 600, 1400], "backing off");
    assert_eq!(r.host.tcp.stats().get(Counter::WindowProbes), 3);
    assert_eq!(
        r.host.tcp.state(c),
        Ok(State::Established),
        "answered probes keep it alive"
    );
    // The window opens: the data goes.
    r.inject(SPORT, PORT, nxt, iss1, ack(), 1000, none(), b"");
    let out = r.poll();
    assert_eq!(out[0].payload, b"0123456789");
}

#[test]
fn delayed_ack_bounds() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open_passive(&mut r, SPORT, false);
    let nxt = PEER_ISN + 1;
    r.inject(SPORT, PORT, nxt, iss1, ack(), 65535, none(), &[1; 100]);
    assert!(r.poll().is_empty(), "one segment: ACK delayed");
    r.advance(Duration::from_micros(500));
    let out = r.poll();
    assert_eq!((out.len(), out[0].hdr.ack), (1, Seq(nxt + 100)));
    // Two segments in one burst: one immediate ACK for both.
    r.inject(
        SPORT,
        PORT,
        nxt + 100,
        iss1,
        ack(),
        65535,
        none(),
        &[2; 100],
    );
    r.inject(
        SPORT,
        PORT,
        nxt + 200,
        iss1,
        ack(),
        65535,
        none(),
        &[3; 100],
    );
    let out = r.poll();
    assert_eq!((out.len(), out[0].hdr.ack), (1, Seq(nxt + 300)));
    // Out of order: immediate duplicate ACK.
    r.inject(
        SPORT,
        PORT,
        nxt + 400,
        iss1,
        ack(),
        65535,
        none(),
        &[5; 100],
    );
    let out = r.poll();
    assert_eq!(out[0].hdr.ack, Seq(nxt + 300));
    // The gap fills: immediate ACK of everything.
    r.inject(
        SPORT,
        PORT,
        nxt + 300,
        iss1,
        ack(),
        65535,
        none(),
        &[4; 100],
    );
    let out = r.poll();
    assert_eq!(out[0].hdr.ack, Seq(nxt + 500));
    assert_eq!(r.host.app.log[&c].data.len(), 500);
    assert_eq!(r.host.app.log[&c].data[300..400], [4; 100]);
}

#[test]
fn time_wait_absorbs_and_is_reused_by_a_later_syn() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open_passive(&mut r, SPORT, false);
    let nxt = PEER_ISN + 1;
    r.host.tcp.close(c).unwrap();
    let out = r.poll();
    assert_eq!(out[0].hdr.flags, Flags::FIN.with(Flags::ACK));
    r.inject(
        SPORT,
        PORT,
        nxt,
        iss1 + 1,
        Flags::FIN.with(Flags::ACK),
        65535,
        none(),
        b"",
    );
    let out = r.poll();
    assert_eq!(
        (out[0].hdr.flags, out[0].hdr.ack),
        (Flags::ACK, Seq(nxt + 1))
    );
    assert_eq!(r.host.app.log[&c].dead, Some(CloseReason::Closed));
    assert_eq!(r.host.tcp.time_wait_count(), 1);
    // A retransmitted FIN is acknowledged again; a RST is ignored (RFC 1337).
    r.inject(
        SPORT,
        PORT,
        nxt,
        iss1 + 1,
        Flags::FIN.with(Flags::ACK),
        65535,
        none(),
        b"",
    );
    assert_eq!(r.poll()[0].hdr.ack, Seq(nxt + 1));
    r.inject(SPORT, PORT, nxt + 1, 0, Flags::RST, 0, none(), b"");
    assert!(r.poll().is_empty());
    assert_eq!(r.host.tcp.time_wait_count(), 1);
    // An old SYN gets an ACK; a new one (higher sequence) opens a new connection
    // whose ISN lies past the old incarnation's.
    r.inject(SPORT, PORT, nxt - 10, 0, syn(), 65535, none(), b"");
    assert_eq!(r.poll()[0].hdr.flags, Flags::ACK);
    r.inject(SPORT, PORT, nxt + 100_000, 0, syn(), 65535, none(), b"");
    let out = r.poll();
    assert_eq!(out[0].hdr.flags, Flags::SYN.with(Flags::ACK));
    assert!(out[0].hdr.seq.gt(Seq(iss1 + 1 + 65535)));
    assert_eq!(r.host.tcp.time_wait_count(), 0);
    assert_eq!(r.host.tcp.stats().get(Counter::TimeWaitReused), 1);
}

#[test]
fn time_wait_table_recycles_oldest_when_full() {
    let mut r = Raw::new(TcpConfig {
        time_wait_max: 2,
        ..cfg()
    });
    for k in 0..3u16 {
        let (iss1, c) = open_passive(&mut r, SPORT + k, false);
        r.host.tcp.close(c).unwrap();
        r.poll();
        r.inject(
            SPORT + k,
            PORT,
            PEER_ISN + 1,
            iss1 + 1,
            Flags::FIN.with(Flags::ACK),
            65535,
            none(),
            b"",
        );
        r.poll();
    }
    assert_eq!(r.host.tcp.time_wait_count(), 2);
    assert_eq!(r.host.tcp.stats().get(Counter::TimeWaitRecycled), 1);
    r.advance(Duration::from_secs(61));
    r.poll();
    assert_eq!(r.host.tcp.time_wait_count(), 0);
}

#[test]
fn syn_queue_overflow_answers_with_cookies() {
    let mut r = Raw::new(TcpConfig {
        syn_backlog: 1,
        ..cfg()
    });
    r.host.tcp.listen(PORT).unwrap();
    r.inject(
        SPORT,
        PORT,
        PEER_ISN,
        0,
        syn(),
        65535,
        syn_opts(true, Some(7)),
        b"",
    );
    let out = r.poll();
    assert!(
        out[0].hdr.options.sack_permitted,
        "a queued SYN negotiates SACK"
    );
    assert_eq!(out[0].hdr.options.wscale, Some(3));
    // Queue full: a stateless cookie SYN-ACK (no SACK, no window scaling).
    r.inject(
        SPORT + 1,
        PORT,
        5000,
        0,
        syn(),
        65535,
        syn_opts(true, Some(7)),
        b"",
    );
    let out = r.poll();
    let sa = &out[0].hdr;
    assert_eq!(sa.flags, Flags::SYN.with(Flags::ACK));
    assert!(!sa.options.sack_permitted && sa.options.wscale.is_none());
    assert_eq!(r.host.tcp.conn_count(), 1, "no state kept");
    assert_eq!(r.host.tcp.stats().get(Counter::SynCookiesSent), 1);
    // A forged cookie: RST.
    r.inject(
        SPORT + 2,
        PORT,
        5001,
        sa.seq.0 + 1,
        ack(),
        65535,
        none(),
        b"",
    );
    assert_eq!(r.poll()[0].hdr.flags, Flags::RST);
    // The real ACK (with data): the connection exists, data delivered.
    r.inject(
        SPORT + 1,
        PORT,
        5001,
        sa.seq.0 + 1,
        ack(),
        65535,
        none(),
        b"hi",
    );
    let out = r.poll();
    assert_eq!(r.host.tcp.stats().get(Counter::SynCookiesOk), 1);
    let c = *r.host.app.knocks.last().unwrap();
    assert_eq!(r.host.app.log[&c].data, b"hi");
    assert!(out.is_empty() || out[0].hdr.ack == Seq(5003));
    let info = r.host.tcp.conn_info(c).unwrap();
    assert_eq!((info.mss, info.sack), (1460, false));
}

#[test]
fn accept_backlog_full_drops_the_final_ack() {
    let mut r = Raw::new(TcpConfig {
        accept_backlog: 1,
        syncookies: false,
        ..cfg()
    });
    r.host.app.auto_accept = false;
    r.host.tcp.listen(PORT).unwrap();
    let mut isss = Vec::new();
    for k in 0..2u16 {
        r.inject(SPORT + k, PORT, PEER_ISN, 0, syn(), 65535, none(), b"");
        isss.push(r.poll()[0].hdr.seq.0 + 1);
    }
    for k in 0..2u16 {
        r.inject(
            SPORT + k,
            PORT,
            PEER_ISN + 1,
            isss[k as usize],
            ack(),
            65535,
            none(),
            b"",
        );
        r.poll();
    }
    assert_eq!(r.host.app.knocks.len(), 1);
    assert_eq!(r.host.tcp.stats().get(Counter::AcceptBacklogFull), 1);
    // Accept the first: the second completes on its next ACK.
    let first = r.host.app.knocks[0];
    r.host.tcp.accept(first, 7).unwrap();
    r.inject(
        SPORT + 1,
        PORT,
        PEER_ISN + 1,
        isss[1],
        ack(),
        65535,
        none(),
        b"",
    );
    r.poll();
    assert_eq!(r.host.app.knocks.len(), 2);
    // Reject it: RST.
    let second = r.host.app.knocks[1];
    r.host.tcp.reject(second).unwrap();
    let out = r.poll();
    assert_eq!(out[0].hdr.flags, Flags::RST);
    assert_eq!(r.host.tcp.conn_count(), 1);
}

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
    let (iss1, c) = open_passive(&mut r, SPORT, false);
    let t0 = r.clock_ms();
    let mut probes = Vec::new();
    let mut rst = None;
    for i in 0..300 {
        r.advance(ms(10));
        for o in r.poll() {
            if o.hdr.flags.has(Flags::RST) {
                rst = Some(r.clock_ms() - t0);
            } else {
                assert_eq!(o.hdr.seq, Seq(iss1 - 1));
                probes.push(r.clock_ms() - t0);
                // Answer the first round only.
                if i < 110 {
                    r.inject(SPORT, PORT, PEER_ISN + 1, iss1, ack(), 65535, none(), b"");
                }
            }
        }
        if r.host.app.log.get(&c).is_some_and(|l| l.dead.is_some()) {
            break;
        }
    }
    // The answer to the first probe is processed on the next poll (10 ms later).
    assert_eq!(probes, vec![1000, 2010, 2110, 2210]);
    assert_eq!(rst, Some(2310));
    assert_eq!(r.host.app.log[&c].dead, Some(CloseReason::KeepaliveTimeout));
}

#[test]
fn fin_wait_2_times_out() {
    let mut r = Raw::new(TcpConfig {
        fin_wait2_timeout: Duration::from_secs(5),
        ..cfg()
    });
    let (iss1, c) = open_passive(&mut r, SPORT, false);
    r.host.tcp.close(c).unwrap();
    r.poll();
    r.inject(
        SPORT,
        PORT,
        PEER_ISN + 1,
        iss1 + 1,
        ack(),
        65535,
        none(),
        b"",
    );
    r.poll();
    assert_eq!(r.host.tcp.state(c), Ok(State::FinWait2));
    r.advance(Duration::from_millis(4990));
    r.poll();
    assert_eq!(r.host.tcp.state(c), Ok(State::FinWait2));
    r.advance(ms(10));
    let out = r.poll();
    assert_eq!(out[0].hdr.flags, Flags::RST);
    assert_eq!(r.host.app.log[&c].dead, Some(CloseReason::FinWait2Timeout));
}

#[test]
fn user_timeout_bounds_unacknowledged_data() {
    let mut r = Raw::new(TcpConfig {
        user_timeout: Some(Duration::from_secs(1)),
        ..cfg()
    });
    let (_, c) = open_passive(&mut r, SPORT, false);
    r.host.queue(c, b"x");
    r.poll();
    for _ in 0..300 {
        r.advance(ms(10));
        r.poll();
        if r.host.app.log.get(&c).is_some_and(|l| l.dead.is_some()) {
            break;
        }
    }
    assert_eq!(r.host.app.log[&c].dead, Some(CloseReason::Timeout));
    assert!(
        r.clock_ms() <= 1600,
        "within an RTO of the bound: {}",
        r.clock_ms()
    );
    assert_eq!(r.host.tcp.stats().get(Counter::UserTimeouts), 1);
}

#[test]
fn stale_ids_never_reach_the_next_occupant() {
    let mut r = Raw::new(TcpConfig {
        max_conns: 1,
        ..cfg()
    });
    let (_, c1) = open_passive(&mut r, SPORT, false);
    r.host.tcp.abort(c1).unwrap();
    assert_eq!(r.poll()[0].hdr.flags, Flags::RST);
    let (_, c2) = open_passive(&mut r, SPORT + 1, false);
    assert_eq!(c1.index(), c2.index(), "slot reused");
    assert_ne!(c1, c2);
    assert_eq!(
        r.host.tcp.state(c1),
        Err(ix_tcp::TcpError::NoSuchConnection)
    );
    assert_eq!(
        r.host.tcp.close(c1),
        Err(ix_tcp::TcpError::NoSuchConnection)
    );
    assert_eq!(r.host.tcp.state(c2), Ok(State::Established));
    // The table is full: a new active open is refused.
    assert_eq!(
        r.host.tcp.connect(SocketAddrV4::new(B, 1), None),
        Err(ix_tcp::TcpError::TooManyConnections)
    );
}

#[test]
fn bad_checksum_and_malformed_headers_are_counted_and_dropped() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open_passive(&mut r, SPORT, false);
    let hdr = ix_tcp::header::Header {
        src_port: SPORT,
        dst_port: PORT,
        seq: Seq(PEER_ISN + 1),
        ack: Seq(iss1),
        flags: ack(),
        window: 1000,
        header_len: 0,
        options: none(),
    };
    let mut f = tcp_frame(B, A, &hdr, b"data", MAC_B, MAC_A);
    let last = f.len() - 1;
    f[last] ^= 0x40;
    r.host.iface.nic_mut().inject(&f).unwrap();
    // Data offset 15 words in a 24-byte segment: malformed (checksum fixed up).
    let mut g = tcp_frame(B, A, &hdr, b"data", MAC_B, MAC_A);
    g[34 + 12] = 15 << 4;
    g[34 + 16] = 0;
    g[34 + 17] = 0;
    let mut sum = ix_net::checksum::Accumulator::new();
    sum.add_sum(ix_net::checksum::pseudo_header(B, A, 6, 24));
    sum.add(&g[34..]);
    let c16 = sum.finish();
    g[34 + 16..34 + 18].copy_from_slice(&c16.to_be_bytes());
    r.host.iface.nic_mut().inject(&g).unwrap();
    assert!(r.poll().is_empty());
    let s = r.host.tcp.stats();
    assert_eq!(
        (s.get(Counter::BadChecksum), s.get(Counter::Malformed)),
        (1, 1)
    );
    assert!(r.host.app.log.get(&c).is_none_or(|l| l.data.is_empty()));
}

#[test]
fn unlisten_resets_connections_not_yet_accepted() {
    let mut r = Raw::new(cfg());
    r.host.app.auto_accept = false;
    r.host.tcp.listen(PORT).unwrap();
    r.inject(SPORT, PORT, PEER_ISN, 0, syn(), 65535, none(), b"");
    let iss1 = r.poll()[0].hdr.seq.0 + 1;
    r.inject(SPORT, PORT, PEER_ISN + 1, iss1, ack(), 65535, none(), b"");
    r.poll();
    assert_eq!(r.host.app.knocks.len(), 1);
    assert_eq!(r.host.tcp.conns().count(), 1);
    let info = r.host.tcp.conns().next().unwrap();
    assert_eq!(
        (info.state, info.remote, info.local.port()),
        (State::Established, SocketAddrV4::new(B, SPORT), PORT)
    );
    r.host.tcp.unlisten(PORT).unwrap();
    assert_eq!(
        r.host.tcp.unlisten(PORT),
        Err(ix_tcp::TcpError::NotListening)
    );
    let out = r.poll();
    assert_eq!(out[0].hdr.flags, Flags::RST);
    assert_eq!(r.host.tcp.conn_count(), 0);
    // Now nobody listens: a SYN is refused.
    r.inject(SPORT + 1, PORT, PEER_ISN, 0, syn(), 65535, none(), b"");
    assert_eq!(r.poll()[0].hdr.flags, Flags::RST.with(Flags::ACK));
}

//! Regression tests for bugs the conformance scripts found, each at engine level
//! with the test playing the peer (see `support::Raw`). Every segment is injected
//! and answered at one virtual instant unless a test moves the clock.

mod support;

use ix_tcp::header::Flags;
use ix_tcp::options::TcpOptions;
use ix_tcp::seq::Seq;
use ix_tcp::{CloseReason, ConnId, Counter, State, TcpConfig};
use std::net::SocketAddrV4;
use std::time::Duration;
use support::*;

const PORT: u16 = 8080;
const SPORT: u16 = 4000;
const PEER_ISN: u32 = 1000;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn none() -> TcpOptions {
    TcpOptions::default()
}

fn fin_ack() -> Flags {
    Flags::FIN.with(Flags::ACK)
}

/// (flags, seq, ack) of each segment: what the assertions compare.
fn shape(out: &[Out]) -> Vec<(Flags, Seq, Seq)> {
    out.iter()
        .map(|o| (o.hdr.flags, o.hdr.seq, o.hdr.ack))
        .collect()
}

/// A passive handshake from `sport` (peer MSS `mss`, SACK offered if `sack`);
/// returns our next sequence number (ISS + 1) and the accepted connection.
fn open_passive(r: &mut Raw, sport: u16, mss: u16, sack: bool) -> (u32, ConnId) {
    let _ = r.host.tcp.listen(PORT);
    let opts = TcpOptions {
        mss: Some(mss),
        sack_permitted: sack,
        ..none()
    };
    r.inject(sport, PORT, PEER_ISN, 0, syn(), 65535, opts, b"");
    let out = r.poll();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].hdr.flags, Flags::SYN.with(Flags::ACK));
    let nxt = out[0].hdr.seq.0.wrapping_add(1);
    r.inject(sport, PORT, PEER_ISN + 1, nxt, ack(), 65535, none(), b"");
    assert!(r.poll().is_empty());
    let c = *r.host.app.knocks.last().unwrap();
    assert_eq!(r.host.tcp.state(c), Ok(State::Established));
    (nxt, c)
}

/// `tcp/out-of-order.pkt`: every out-of-order segment gets its duplicate ACK (with
/// SACK) at once, however many went out at the same instant before it, and the
/// segment filling the hole is acknowledged at once too. (The script's failure was
/// the runner's: it moved the clock 1 ms before collecting an answer already sent.)
#[test]
fn out_of_order_segments_are_each_answered_at_once_at_one_instant() {
    let mut r = Raw::new(cfg());
    r.host.app.hold = true;
    let (iss1, c) = open_passive(&mut r, SPORT, 1000, true);
    let nxt = PEER_ISN + 1;
    let data = pattern(3000, 7);
    r.inject(
        SPORT,
        PORT,
        nxt + 1000,
        iss1,
        ack(),
        65535,
        none(),
        &data[1000..2000],
    );
    let out = r.poll();
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss1), Seq(nxt))]);
    assert_eq!(
        out[0].hdr.options.sack.as_slice(),
        &[(Seq(nxt + 1000), Seq(nxt + 2000))]
    );
    // Same instant: the second duplicate ACK is not held back.
    r.inject(
        SPORT,
        PORT,
        nxt + 2000,
        iss1,
        ack(),
        65535,
        none(),
        &data[2000..],
    );
    let out = r.poll();
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss1), Seq(nxt))]);
    assert_eq!(
        out[0].hdr.options.sack.as_slice(),
        &[(Seq(nxt + 1000), Seq(nxt + 3000))]
    );
    // Same instant again: the hole fills, one cumulative ACK past everything.
    r.inject(SPORT, PORT, nxt, iss1, ack(), 65535, none(), &data[..1000]);
    let out = r.poll();
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss1), Seq(nxt + 3000))]);
    assert!(out[0].hdr.options.sack.is_empty());
    assert_eq!(r.host.app.log[&c].data, data);
    assert_eq!(r.host.tcp.stats().get(Counter::DelayedAcks), 0);
}

/// Without window scaling the window field says at most 65535: the engine must
/// not count a bigger buffer as advertised, or the application's release of
/// data it held looks like a window update worth a segment of its own, which
/// tells the peer nothing new (the second half of `tcp/out-of-order.pkt`).
#[test]
fn releasing_data_sends_no_update_for_a_window_the_field_cannot_show() {
    let mut r = Raw::new(cfg());
    assert!(r.host.tcp.config().recv_buf > 65535);
    r.host.app.hold = true;
    let (iss1, c) = open_passive(&mut r, SPORT, 1000, false);
    let nxt = PEER_ISN + 1;
    assert_eq!(r.host.tcp.conn_info(c).unwrap().rcv_wnd, 65535);
    let data = pattern(3000, 9);
    for k in 0..3u32 {
        let part = &data[k as usize * 1000..(k as usize + 1) * 1000];
        r.inject(
            SPORT,
            PORT,
            nxt + 1000 * k,
            iss1,
            ack(),
            65535,
            none(),
            part,
        );
    }
    let out = r.poll();
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss1), Seq(nxt + 3000))]);
    assert_eq!(
        out[0].hdr.window, 65535,
        "62536 bytes free, but the field caps"
    );
    assert_eq!(r.host.tcp.conn_info(c).unwrap().rcv_wnd, 65535);
    // The application releases what it held: the window the peer knows is as
    // open as the field allows already.
    r.host.app.held.clear();
    assert!(r.poll().is_empty(), "a window update saying nothing new");
    r.advance(ms(300));
    assert!(r.poll().is_empty());
    assert_eq!(r.host.tcp.stats().get(Counter::WindowUpdates), 0);
    // Data beyond the advertised edge is out of the window.
    r.inject(
        SPORT,
        PORT,
        nxt + 3000 + 65535,
        iss1,
        ack(),
        65535,
        none(),
        b"x",
    );
    let out = r.poll();
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss1), Seq(nxt + 3000))]);
    assert_eq!(r.host.tcp.stats().get(Counter::OutOfWindow), 1);
}

/// `tcp/fin-wait-2-timeout.pkt`: a SYN is answered at once even when a segment of
/// another connection went out at the same instant.
#[test]
fn a_syn_is_answered_at_once_after_another_segment_at_the_same_instant() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open_passive(&mut r, SPORT, 1460, false);
    r.host.tcp.close(c).unwrap();
    assert_eq!(
        shape(&r.poll()),
        vec![(fin_ack(), Seq(iss1), Seq(PEER_ISN + 1))]
    );
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
    assert!(r.poll().is_empty());
    assert_eq!(r.host.tcp.state(c), Ok(State::FinWait2));
    r.advance(ms(500));
    r.inject(
        SPORT,
        PORT,
        PEER_ISN + 1,
        iss1 + 1,
        fin_ack(),
        65535,
        none(),
        b"",
    );
    let out = r.poll();
    assert_eq!(
        shape(&out),
        vec![(Flags::ACK, Seq(iss1 + 1), Seq(PEER_ISN + 2))]
    );
    // Same instant: a new connection's SYN.
    let opts = TcpOptions {
        mss: Some(1460),
        ..none()
    };
    r.inject(SPORT + 1, PORT, 2000, 0, syn(), 65535, opts, b"");
    let out = r.poll();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(
        (out[0].hdr.flags, out[0].hdr.ack, out[0].hdr.dst_port),
        (Flags::SYN.with(Flags::ACK), Seq(2001), SPORT + 1)
    );
}

/// `tcp/simultaneous-close.pkt`: our FIN crosses the peer's. The peer's FIN (not
/// acknowledging ours) is acknowledged at once, in CLOSING; the peer's ACK of our
/// FIN then ends it (TIME_WAIT) and, being an acceptable ACK-only segment, gets no
/// answer. A retransmitted FIN in TIME_WAIT is acknowledged again.
#[test]
fn simultaneous_close_acknowledges_the_fin_at_once_and_not_the_final_ack() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open_passive(&mut r, SPORT, 1460, false);
    let nxt = PEER_ISN + 1;
    r.advance(ms(10));
    r.host.tcp.close(c).unwrap();
    assert_eq!(shape(&r.poll()), vec![(fin_ack(), Seq(iss1), Seq(nxt))]);
    // Same instant: the peer's FIN, acknowledging only our SYN.
    r.inject(SPORT, PORT, nxt, iss1, fin_ack(), 65535, none(), b"");
    let out = r.poll();
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss1 + 1), Seq(nxt + 1))]);
    assert_eq!(r.host.tcp.state(c), Ok(State::Closing));
    // Its ACK of our FIN: TIME_WAIT, silently.
    r.advance(ms(10));
    r.inject(SPORT, PORT, nxt + 1, iss1 + 1, ack(), 65535, none(), b"");
    let out = r.poll();
    assert!(out.is_empty(), "an acceptable ACK is not answered: {out:?}");
    assert_eq!(r.host.app.log[&c].dead, Some(CloseReason::Closed));
    assert_eq!(r.host.tcp.time_wait_count(), 1);
    r.advance(ms(100));
    assert!(r.poll().is_empty());
    r.inject(SPORT, PORT, nxt, iss1 + 1, fin_ack(), 65535, none(), b"");
    assert_eq!(
        shape(&r.poll()),
        vec![(Flags::ACK, Seq(iss1 + 1), Seq(nxt + 1))]
    );
}

/// The peer's FIN and its ACK of ours in one burst, before the engine could
/// answer the FIN: the ACK of the FIN still goes out (once).
#[test]
fn closing_still_acknowledges_a_fin_answered_in_the_same_burst() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open_passive(&mut r, SPORT, 1460, false);
    let nxt = PEER_ISN + 1;
    r.host.tcp.close(c).unwrap();
    r.poll();
    r.inject(SPORT, PORT, nxt, iss1, fin_ack(), 65535, none(), b"");
    r.inject(SPORT, PORT, nxt + 1, iss1 + 1, ack(), 65535, none(), b"");
    let out = r.poll();
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss1 + 1), Seq(nxt + 1))]);
    assert_eq!(r.host.tcp.time_wait_count(), 1);
}

/// `tcp/simultaneous-open.pkt` (RFC 9293 figure 8): our SYN crosses the peer's; we
/// answer its SYN with a SYN-ACK, and its SYN-ACK in SYN_RECEIVED completes the
/// handshake at once: ESTABLISHED, an ACK, and data flows without waiting for any
/// retransmission.
#[test]
fn simultaneous_open_synack_in_syn_received_establishes_at_once() {
    let mut r = Raw::new(TcpConfig {
        window_scaling: false,
        ..cfg()
    });
    let c = r
        .host
        .tcp
        .connect(SocketAddrV4::new(B, PORT), Some(5000))
        .unwrap();
    let out = r.poll();
    assert_eq!(out[0].hdr.flags, Flags::SYN);
    let iss = out[0].hdr.seq.0;
    r.advance(ms(10));
    let opts = TcpOptions {
        mss: Some(1460),
        ..none()
    };
    r.inject(PORT, 5000, 7000, 0, syn(), 65535, opts.clone(), b"");
    let out = r.poll();
    assert_eq!(
        shape(&out),
        vec![(Flags::SYN.with(Flags::ACK), Seq(iss), Seq(7001))]
    );
    assert_eq!(r.host.tcp.state(c), Ok(State::SynReceived));
    r.advance(ms(10));
    r.inject(
        PORT,
        5000,
        7000,
        iss + 1,
        Flags::SYN.with(Flags::ACK),
        40000,
        opts,
        b"",
    );
    let out = r.poll();
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss + 1), Seq(7001))]);
    assert_eq!(r.host.tcp.state(c), Ok(State::Established));
    assert!(r.host.app.log[&c].connected);
    let info = r.host.tcp.conn_info(c).unwrap();
    assert_eq!((info.snd_wnd, info.bytes_in_flight), (40000, 0));
    assert_eq!(r.host.tcp.stats().get(Counter::ActiveOpens), 1);
    r.advance(ms(100));
    assert!(r.poll().is_empty(), "no SYN-ACK retransmission");
    r.host.queue(c, b"hello");
    let out = r.poll();
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].hdr.seq, out[0].payload.as_slice()),
        (Seq(iss + 1), &b"hello"[..])
    );
    r.inject(PORT, 5000, 7001, iss + 6, ack(), 65535, none(), b"");
    assert!(r.poll().is_empty());
    assert_eq!(r.host.app.log[&c].acked, 5);
    assert_eq!(r.host.tcp.stats().get(Counter::Retransmits), 0);
}

/// In SYN_RECEIVED an unacceptable segment is answered with an ACK (RFC 9293
/// 3.10.7.4), and a SYN-ACK that does not acknowledge our SYN changes nothing.
#[test]
fn syn_received_answers_unacceptable_segments_with_an_ack() {
    let mut r = Raw::new(cfg());
    let c = r
        .host
        .tcp
        .connect(SocketAddrV4::new(B, PORT), Some(5000))
        .unwrap();
    let iss = r.poll()[0].hdr.seq.0;
    r.inject(PORT, 5000, 7000, 0, syn(), 65535, none(), b"");
    assert_eq!(r.poll().len(), 1);
    // Data far outside the window.
    r.inject(
        PORT,
        5000,
        7001 + 1_000_000,
        iss + 1,
        ack(),
        65535,
        none(),
        b"x",
    );
    let out = r.poll();
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss + 1), Seq(7001))]);
    // A SYN-ACK acknowledging something we never sent: a challenge ACK, no change.
    r.inject(
        PORT,
        5000,
        7000,
        iss + 9,
        Flags::SYN.with(Flags::ACK),
        65535,
        none(),
        b"",
    );
    let out = r.poll();
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss + 1), Seq(7001))]);
    assert_eq!(r.host.tcp.state(c), Ok(State::SynReceived));
}

/// The user timeout gives up when the data has waited that long, between
/// retransmissions, not at the first retransmission timeout after it.
#[test]
fn user_timeout_gives_up_at_the_configured_time() {
    let mut r = Raw::new(TcpConfig {
        user_timeout: Some(Duration::from_secs(1)),
        ..cfg()
    });
    let (iss1, c) = open_passive(&mut r, SPORT, 1460, false);
    r.advance(ms(10));
    r.host.queue(c, b"x");
    assert_eq!(r.poll().len(), 1);
    let t0 = r.clock_ms();
    let mut sent = Vec::new();
    let mut end = None;
    for _ in 0..300 {
        r.advance(ms(10));
        for o in r.poll() {
            sent.push((r.clock_ms() - t0, o.hdr.flags));
            if o.hdr.flags.has(Flags::RST) {
                assert_eq!(o.hdr.seq, Seq(iss1 + 1));
            }
        }
        if r.host.app.log[&c].dead.is_some() {
            end = Some(r.clock_ms() - t0);
            break;
        }
    }
    // Retransmissions at 200 and 600 ms; the next would be at 1400 ms.
    let psh = Flags::ACK.with(Flags::PSH);
    assert_eq!(sent, vec![(200, psh), (600, psh), (1000, Flags::RST)]);
    assert_eq!(end, Some(1000));
    assert_eq!(r.host.app.log[&c].dead, Some(CloseReason::Timeout));
    assert_eq!(r.host.tcp.stats().get(Counter::UserTimeouts), 1);
}

/// Progress restarts the user timeout: it counts from the last acknowledgment
/// that moved, not from the first transmission.
#[test]
fn user_timeout_counts_from_the_last_progress() {
    let mut r = Raw::new(TcpConfig {
        user_timeout: Some(Duration::from_secs(1)),
        ..cfg()
    });
    let (iss1, c) = open_passive(&mut r, SPORT, 1460, false);
    r.host.queue(c, b"ab");
    assert_eq!(r.poll().len(), 1);
    r.advance(ms(800));
    r.poll();
    // The first byte is acknowledged 800 ms in: a second more from here.
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
    r.advance(ms(990));
    r.poll();
    assert_eq!(r.host.tcp.state(c), Ok(State::Established));
    r.advance(ms(10));
    let out = r.poll();
    assert!(out.iter().any(|o| o.hdr.flags == Flags::RST), "{out:?}");
    assert_eq!(r.host.app.log[&c].dead, Some(CloseReason::Timeout));
}

/// Closes `sport`'s connection both ways (our FIN first): it is in TIME_WAIT.
fn into_time_wait(r: &mut Raw, sport: u16) -> u32 {
    let (iss1, c) = open_passive(r, sport, 1460, false);
    r.host.tcp.close(c).unwrap();
    r.poll();
    r.inject(
        sport,
        PORT,
        PEER_ISN + 1,
        iss1 + 1,
        fin_ack(),
        65535,
        none(),
        b"",
    );
    let out = r.poll();
    assert_eq!(
        shape(&out),
        vec![(Flags::ACK, Seq(iss1 + 1), Seq(PEER_ISN + 2))]
    );
    assert_eq!(r.host.app.log[&c].dead, Some(CloseReason::Closed));
    iss1
}

/// A retransmitted FIN in TIME_WAIT is acknowledged and restarts 2*MSL (RFC 9293
/// 3.10.7.4), whether its entry is the newest or not; other entries keep their
/// own end.
#[test]
fn a_retransmitted_fin_restarts_time_wait() {
    let mut r = Raw::new(cfg());
    let tw = r.host.tcp.config().time_wait();
    assert_eq!(tw, Duration::from_secs(60));
    let a = into_time_wait(&mut r, SPORT);
    r.advance(Duration::from_secs(1));
    let b = into_time_wait(&mut r, SPORT + 1);
    assert_eq!(r.host.tcp.time_wait_count(), 2);
    // 50 s in, A's FIN again (A is not the newest entry), then B's (it now is).
    r.advance(Duration::from_secs(49));
    r.inject(
        SPORT,
        PORT,
        PEER_ISN + 1,
        a + 1,
        fin_ack(),
        65535,
        none(),
        b"",
    );
    assert_eq!(
        shape(&r.poll()),
        vec![(Flags::ACK, Seq(a + 1), Seq(PEER_ISN + 2))]
    );
    r.advance(Duration::from_secs(5));
    r.inject(
        SPORT + 1,
        PORT,
        PEER_ISN + 1,
        b + 1,
        fin_ack(),
        65535,
        none(),
        b"",
    );
    assert_eq!(
        shape(&r.poll()),
        vec![(Flags::ACK, Seq(b + 1), Seq(PEER_ISN + 2))]
    );
    // Where the first 2*MSL would have ended (60 s and 61 s): both still there.
    r.advance(Duration::from_secs(7));
    r.poll();
    assert_eq!(r.host.tcp.time_wait_count(), 2);
    // A's FIN at 105 s: still answered from TIME_WAIT (not a RST), restarting A.
    r.advance(Duration::from_secs(44));
    r.inject(
        SPORT,
        PORT,
        PEER_ISN + 1,
        a + 1,
        fin_ack(),
        65535,
        none(),
        b"",
    );
    assert_eq!(
        shape(&r.poll()),
        vec![(Flags::ACK, Seq(a + 1), Seq(PEER_ISN + 2))]
    );
    // B ends 60 s after its restart at 55 s; A 60 s after 105 s.
    r.advance(Duration::from_secs(10));
    r.poll();
    assert_eq!(r.host.tcp.time_wait_count(), 1);
    r.advance(Duration::from_secs(50));
    r.poll();
    assert_eq!(r.host.tcp.time_wait_count(), 0);
    assert_eq!(r.host.tcp.stats().get(Counter::TimeWaitRecycled), 0);
    // Gone: a FIN now finds no connection.
    r.inject(
        SPORT,
        PORT,
        PEER_ISN + 1,
        a + 1,
        fin_ack(),
        65535,
        none(),
        b"",
    );
    assert_eq!(r.poll()[0].hdr.flags, Flags::RST);
}

/// Only the FIN we hold restarts TIME_WAIT: an ACK-only or an old segment is
/// answered but does not extend it.
#[test]
fn other_segments_do_not_restart_time_wait() {
    let mut r = Raw::new(cfg());
    let a = into_time_wait(&mut r, SPORT);
    r.advance(Duration::from_secs(30));
    r.inject(SPORT, PORT, PEER_ISN + 1, a + 1, ack(), 65535, none(), b"");
    assert!(r.poll().is_empty(), "an ACK in TIME_WAIT needs no answer");
    r.inject(
        SPORT,
        PORT,
        PEER_ISN - 5,
        a + 1,
        fin_ack(),
        65535,
        none(),
        b"",
    );
    assert_eq!(r.poll().len(), 1, "an old FIN is acknowledged");
    r.advance(Duration::from_secs(30));
    r.poll();
    assert_eq!(r.host.tcp.time_wait_count(), 0);
}

impl Raw {
    fn clock_ms(&self) -> u64 {
        use ix_nic::Clock;
        self.clock.now().as_millis()
    }
}

//! Regression tests for bugs the conformance scripts found, each at engine level
//! with the test playing the peer (see `support::Raw`). Every segment is injected
//! and answered at one virtual instant unless a test moves the clock.

mod support;

use ix_tcp::header::Flags;
use ix_tcp::seq::Seq;
use ix_tcp::{CloseReason, Counter, State};
use std::time::Duration;
use support::*;

// The conformance scripts' port, in place of the harness's usual 80.
const PORT: u16 = 8080;
const PEER: Peer = Peer::new(SPORT, PORT);
const OPEN: Handshake = Handshake::new(PEER, PEER_ISN);

/// `tcp/out-of-order.pkt`: every out-of-order segment gets its duplicate ACK (with
/// SACK) at once, however many went out at the same instant before it, and the
/// segment filling the hole is acknowledged at once too. (The script's failure was
/// the runner's: it moved the clock 1 ms before collecting an answer already sent.)
#[test]
fn out_of_order_segments_are_each_answered_at_once_at_one_instant() {
    let mut r = Raw::new(cfg());
    r.host.app.hold = true;
    let (iss1, c) = r.open_passive(OPEN.mss(1000).sack(true));
    let data = pattern(3000, 7);
    let out = r.reply_to(PEER.ack(NXT + 1000, iss1).data(&data[1000..2000]));
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss1), Seq(NXT))]);
    assert_eq!(
        out[0].hdr.options.sack.as_slice(),
        &[(Seq(NXT + 1000), Seq(NXT + 2000))]
    );
    // Same instant: the second duplicate ACK is not held back.
    let out = r.reply_to(PEER.ack(NXT + 2000, iss1).data(&data[2000..]));
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss1), Seq(NXT))]);
    assert_eq!(
        out[0].hdr.options.sack.as_slice(),
        &[(Seq(NXT + 1000), Seq(NXT + 3000))]
    );
    // Same instant again: the hole fills, one cumulative ACK past everything.
    let out = r.reply_to(PEER.ack(NXT, iss1).data(&data[..1000]));
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss1), Seq(NXT + 3000))]);
    assert!(out[0].hdr.options.sack.is_empty());
    assert_eq!(r.host.app.log[&c].data, data);
    assert_eq!(r.count(Counter::DelayedAcks), 0);
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
    let (iss1, c) = r.open_passive(OPEN.mss(1000));
    assert_eq!(r.host.tcp.conn_info(c).unwrap().rcv_wnd, 65535);
    let data = pattern(3000, 9);
    for (k, part) in (0u32..).zip(data.chunks(1000)) {
        r.inject(PEER.ack(NXT + 1000 * k, iss1).data(part));
    }
    let out = r.poll();
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss1), Seq(NXT + 3000))]);
    assert_eq!(
        out[0].hdr.window, 65535,
        "62536 bytes free, but the field caps"
    );
    assert_eq!(r.host.tcp.conn_info(c).unwrap().rcv_wnd, 65535);
    // The application releases what it held: the window the peer knows is as
    // open as the field allows already.
    r.host.app.held.clear();
    assert!(r.poll().is_empty(), "a window update saying nothing new");
    assert!(r.tick(ms(300)).is_empty());
    assert_eq!(r.count(Counter::WindowUpdates), 0);
    // Data beyond the advertised edge is out of the window.
    let out = r.reply_to(PEER.ack(NXT + 3000 + 65535, iss1).data(b"x"));
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss1), Seq(NXT + 3000))]);
    assert_eq!(r.count(Counter::OutOfWindow), 1);
}

/// `tcp/fin-wait-2-timeout.pkt`: a SYN is answered at once even when a segment of
/// another connection went out at the same instant.
#[test]
fn a_syn_is_answered_at_once_after_another_segment_at_the_same_instant() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = r.open_passive(OPEN);
    r.host.tcp.close(c).unwrap();
    assert_eq!(shape(&r.poll()), vec![(FIN_ACK, Seq(iss1), Seq(NXT))]);
    assert!(r.reply_to(PEER.ack(NXT, iss1 + 1)).is_empty());
    assert_eq!(r.host.tcp.state(c), Ok(State::FinWait2));
    r.advance(ms(500));
    let out = r.reply_to(PEER.fin_ack(NXT, iss1 + 1));
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss1 + 1), Seq(NXT + 1))]);
    // Same instant: a new connection's SYN.
    let out = r.reply_to(PEER.offset(1).syn(2000).opts(syn_opts(1460, false, None)));
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(
        (out[0].hdr.flags, out[0].hdr.ack, out[0].hdr.dst_port),
        (SYN_ACK, Seq(2001), SPORT + 1)
    );
}

/// `tcp/simultaneous-close.pkt`: our FIN crosses the peer's. The peer's FIN (not
/// acknowledging ours) is acknowledged at once, in CLOSING; the peer's ACK of our
/// FIN then ends it (TIME_WAIT) and, being an acceptable ACK-only segment, gets no
/// answer. A retransmitted FIN in TIME_WAIT is acknowledged again.
#[test]
fn simultaneous_close_acknowledges_the_fin_at_once_and_not_the_final_ack() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = r.open_passive(OPEN);
    r.advance(ms(10));
    r.host.tcp.close(c).unwrap();
    assert_eq!(shape(&r.poll()), vec![(FIN_ACK, Seq(iss1), Seq(NXT))]);
    // Same instant: the peer's FIN, acknowledging only our SYN.
    let out = r.reply_to(PEER.fin_ack(NXT, iss1));
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss1 + 1), Seq(NXT + 1))]);
    assert_eq!(r.host.tcp.state(c), Ok(State::Closing));
    // Its ACK of our FIN: TIME_WAIT, silently.
    r.advance(ms(10));
    let out = r.reply_to(PEER.ack(NXT + 1, iss1 + 1));
    assert!(out.is_empty(), "an acceptable ACK is not answered: {out:?}");
    assert_eq!(r.host.dead(c), Some(CloseReason::Closed));
    assert_eq!(r.host.tcp.time_wait_count(), 1);
    assert!(r.tick(ms(100)).is_empty());
    let out = r.reply_to(PEER.fin_ack(NXT, iss1 + 1));
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss1 + 1), Seq(NXT + 1))]);
}

/// The peer's FIN and its ACK of ours in one burst, before the engine could
/// answer the FIN: the ACK of the FIN still goes out (once).
#[test]
fn closing_still_acknowledges_a_fin_answered_in_the_same_burst() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = r.open_passive(OPEN);
    r.host.tcp.close(c).unwrap();
    r.poll();
    r.inject(PEER.fin_ack(NXT, iss1));
    let out = r.reply_to(PEER.ack(NXT + 1, iss1 + 1));
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss1 + 1), Seq(NXT + 1))]);
    assert_eq!(r.host.tcp.time_wait_count(), 1);
}

/// `tcp/simultaneous-open.pkt` (RFC 9293 figure 8): our SYN crosses the peer's; we
/// answer its SYN with a SYN-ACK, and its SYN-ACK in SYN_RECEIVED completes the
/// handshake at once: ESTABLISHED, an ACK, and data flows without waiting for any
/// retransmission.
#[test]
fn simultaneous_open_synack_in_syn_received_establishes_at_once() {
    let mut r = Raw::with(|c| c.window_scaling = false);
    let (c, server) = r.connect_from(5000, PORT);
    let out = r.poll();
    assert_eq!(out[0].hdr.flags, Flags::SYN);
    let iss = out[0].hdr.seq.0;
    r.advance(ms(10));
    let opts = syn_opts(1460, false, None);
    let out = r.reply_to(server.syn(7000).opts(opts.clone()));
    assert_eq!(shape(&out), vec![(SYN_ACK, Seq(iss), Seq(7001))]);
    assert_eq!(r.host.tcp.state(c), Ok(State::SynReceived));
    r.advance(ms(10));
    let synack = server.seg(SYN_ACK, 7000, iss + 1).window(40000).opts(opts);
    let out = r.reply_to(synack);
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss + 1), Seq(7001))]);
    assert_eq!(r.host.tcp.state(c), Ok(State::Established));
    assert!(r.host.app.log[&c].connected);
    let info = r.host.tcp.conn_info(c).unwrap();
    assert_eq!((info.snd_wnd, info.bytes_in_flight), (40000, 0));
    assert_eq!(r.count(Counter::ActiveOpens), 1);
    assert!(r.tick(ms(100)).is_empty(), "no SYN-ACK retransmission");
    r.host.queue(c, b"hello");
    let out = r.poll();
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].hdr.seq, out[0].payload.as_slice()),
        (Seq(iss + 1), &b"hello"[..])
    );
    assert!(r.reply_to(server.ack(7001, iss + 6)).is_empty());
    assert_eq!(r.host.app.log[&c].acked, 5);
    assert_eq!(r.count(Counter::Retransmits), 0);
}

/// In SYN_RECEIVED an unacceptable segment is answered with an ACK (RFC 9293
/// 3.10.7.4), and a SYN-ACK that does not acknowledge our SYN changes nothing.
#[test]
fn syn_received_answers_unacceptable_segments_with_an_ack() {
    let mut r = Raw::new(cfg());
    let (c, server) = r.connect_from(5000, PORT);
    let iss = r.poll()[0].hdr.seq.0;
    assert_eq!(r.reply_to(server.syn(7000)).len(), 1);
    // Data far outside the window.
    let out = r.reply_to(server.ack(7001 + 1_000_000, iss + 1).data(b"x"));
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss + 1), Seq(7001))]);
    // A SYN-ACK acknowledging something we never sent: a challenge ACK, no change.
    let out = r.reply_to(server.seg(SYN_ACK, 7000, iss + 9));
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss + 1), Seq(7001))]);
    assert_eq!(r.host.tcp.state(c), Ok(State::SynReceived));
}

/// The user timeout gives up when the data has waited that long, between
/// retransmissions, not at the first retransmission timeout after it.
#[test]
fn user_timeout_gives_up_at_the_configured_time() {
    let mut r = Raw::with(|c| c.user_timeout = Some(Duration::from_secs(1)));
    let (iss1, c) = r.open_passive(OPEN);
    r.advance(ms(10));
    r.host.queue(c, b"x");
    assert_eq!(r.poll().len(), 1);
    let t0 = r.clock_ms();
    let mut sent = Vec::new();
    let mut end = None;
    r.tick_until(ms(10), 300, |r, _, out| {
        for o in out {
            sent.push((r.clock_ms() - t0, o.hdr.flags));
            if o.hdr.flags.has(Flags::RST) {
                assert_eq!(o.hdr.seq, Seq(iss1 + 1));
            }
        }
        if r.host.app.log[&c].dead.is_some() {
            end = Some(r.clock_ms() - t0);
        }
        end.is_some()
    });
    // Retransmissions at 200 and 600 ms; the next would be at 1400 ms.
    assert_eq!(
        sent,
        vec![(200, PSH_ACK), (600, PSH_ACK), (1000, Flags::RST)]
    );
    assert_eq!(end, Some(1000));
    assert_eq!(r.host.dead(c), Some(CloseReason::Timeout));
    assert_eq!(r.count(Counter::UserTimeouts), 1);
}

/// Progress restarts the user timeout: it counts from the last acknowledgment
/// that moved, not from the first transmission.
#[test]
fn user_timeout_counts_from_the_last_progress() {
    let mut r = Raw::with(|c| c.user_timeout = Some(Duration::from_secs(1)));
    let (iss1, c) = r.open_passive(OPEN);
    r.host.queue(c, b"ab");
    assert_eq!(r.poll().len(), 1);
    r.tick(ms(800));
    // The first byte is acknowledged 800 ms in: a second more from here.
    r.reply_to(PEER.ack(NXT, iss1 + 1));
    r.tick(ms(990));
    assert_eq!(r.host.tcp.state(c), Ok(State::Established));
    let out = r.tick(ms(10));
    assert!(out.iter().any(|o| o.hdr.flags == Flags::RST), "{out:?}");
    assert_eq!(r.host.dead(c), Some(CloseReason::Timeout));
}

/// Closes `peer`'s connection both ways (our FIN first): it is in TIME_WAIT.
/// Returns the engine's ISS + 1.
fn into_time_wait(r: &mut Raw, peer: Peer) -> u32 {
    let (iss1, c) = r.open_passive(OPEN.from(peer));
    r.host.tcp.close(c).unwrap();
    r.poll();
    let out = r.reply_to(peer.fin_ack(NXT, iss1 + 1));
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss1 + 1), Seq(NXT + 1))]);
    assert_eq!(r.host.dead(c), Some(CloseReason::Closed));
    iss1
}

/// Sends `peer`'s FIN again (its connection being in TIME_WAIT after our ISS + 1
/// was `iss1`) and checks it is acknowledged from TIME_WAIT.
fn refin_is_acked(r: &mut Raw, peer: Peer, iss1: u32) {
    let out = r.reply_to(peer.fin_ack(NXT, iss1 + 1));
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss1 + 1), Seq(NXT + 1))]);
}

/// A retransmitted FIN in TIME_WAIT is acknowledged and restarts 2*MSL (RFC 9293
/// 3.10.7.4), whether its entry is the newest or not; other entries keep their
/// own end.
#[test]
fn a_retransmitted_fin_restarts_time_wait() {
    let mut r = Raw::new(cfg());
    let tw = r.host.tcp.config().time_wait();
    assert_eq!(tw, Duration::from_secs(60));
    let (pa, pb) = (PEER, PEER.offset(1));
    let a = into_time_wait(&mut r, pa);
    r.advance(Duration::from_secs(1));
    let b = into_time_wait(&mut r, pb);
    assert_eq!(r.host.tcp.time_wait_count(), 2);
    // 50 s in, A's FIN again (A is not the newest entry), then B's (it now is).
    r.advance(Duration::from_secs(49));
    refin_is_acked(&mut r, pa, a);
    r.advance(Duration::from_secs(5));
    refin_is_acked(&mut r, pb, b);
    // Where the first 2*MSL would have ended (60 s and 61 s): both still there.
    r.tick(Duration::from_secs(7));
    assert_eq!(r.host.tcp.time_wait_count(), 2);
    // A's FIN at 105 s: still answered from TIME_WAIT (not a RST), restarting A.
    r.advance(Duration::from_secs(44));
    refin_is_acked(&mut r, pa, a);
    // B ends 60 s after its restart at 55 s; A 60 s after 105 s.
    r.tick(Duration::from_secs(10));
    assert_eq!(r.host.tcp.time_wait_count(), 1);
    r.tick(Duration::from_secs(50));
    assert_eq!(r.host.tcp.time_wait_count(), 0);
    assert_eq!(r.count(Counter::TimeWaitRecycled), 0);
    // Gone: a FIN now finds no connection.
    let out = r.reply_to(pa.fin_ack(NXT, a + 1));
    assert_eq!(out[0].hdr.flags, Flags::RST);
}

/// Only the FIN we hold restarts TIME_WAIT: an ACK-only or an old segment is
/// answered but does not extend it.
#[test]
fn other_segments_do_not_restart_time_wait() {
    let mut r = Raw::new(cfg());
    let a = into_time_wait(&mut r, PEER);
    r.advance(Duration::from_secs(30));
    let out = r.reply_to(PEER.ack(NXT, a + 1));
    assert!(out.is_empty(), "an ACK in TIME_WAIT needs no answer");
    let out = r.reply_to(PEER.fin_ack(PEER_ISN - 5, a + 1));
    assert_eq!(out.len(), 1, "an old FIN is acknowledged");
    r.tick(Duration::from_secs(30));
    assert_eq!(r.host.tcp.time_wait_count(), 0);
}

//! Regression tests for defects the `tcp_segments` fuzzer (`dataplane/tcp/fuzz`)
//! found, each at engine level with the test playing the peer (`support::Raw`).
//! The fuzz crate replays the same scripts through its harness; these run with the
//! workspace's tests.

mod support;

use ix_tcp::seq::Seq;
use ix_tcp::{ConnId, Counter, State, TcpConfig};
use support::*;

// The fuzz harness's port, in place of the harness's usual 80.
const PORT: u16 = 8080;
const PEER: Peer = Peer::new(SPORT, PORT);

/// A passive connection from a peer offering SACK (MSS 1000, no window scaling:
/// its windows are bytes); returns the engine's next sequence number and the id.
fn open(r: &mut Raw) -> (u32, ConnId) {
    r.host.tcp.listen(PORT).unwrap();
    r.handshake(Handshake::new(PEER, PEER_ISN).mss(1000).sack(true))
}

/// The peer's bytes `[from, to)` of its stream (offsets from its first byte).
fn bytes(from: u32, to: u32) -> Vec<u8> {
    (from..to).map(|k| k as u8 ^ 0x5a).collect()
}

/// The peer's PSH-ACK carrying its bytes `[from, to)`, acknowledging `ack`.
fn push(from: u32, to: u32, ack: u32) -> Seg {
    PEER.psh_ack(NXT + from, ack).data(&bytes(from, to))
}

/// The one segment a step answered with: (ACK, SACK blocks).
fn answer(out: &[Out]) -> (Seq, Vec<(Seq, Seq)>) {
    assert_eq!(out.len(), 1, "{out:?}");
    (out[0].hdr.ack, out[0].hdr.options.sack.to_vec())
}

/// The peer's stream offset `off` as a sequence number.
fn at(off: u32) -> Seq {
    Seq(NXT + off)
}

/// The peer's bytes `[held_from, held_from + 20)` arrive out of order and are
/// held; then its bytes `[0, 8)` with a FIN at offset 8, below or right at the
/// held data. Checks the FIN is counted, nothing is SACKed, only the 8 bytes are
/// delivered, and the connection is in CLOSE_WAIT. Returns the engine.
fn fin_under_held_data(held_from: u32) -> (Raw, ConnId) {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open(&mut r);
    let out = r.reply_to(push(held_from, held_from + 20, iss1));
    assert_eq!(
        answer(&out),
        (at(0), vec![(at(held_from), at(held_from + 20))])
    );
    let out = r.reply_to(PEER.fin_ack(NXT, iss1).data(&bytes(0, 8)));
    assert_eq!(answer(&out), (at(9), vec![]), "FIN counted, nothing SACKed");
    assert_eq!(r.host.app.log[&c].data, bytes(0, 8));
    assert!(r.host.app.log[&c].peer_closed);
    assert_eq!(r.host.tcp.state(c), Ok(State::CloseWait));
    (r, c)
}

/// Held out-of-order data lay after a FIN that arrived below it: the FIN took
/// RCV.NXT to the held data's first byte, and every later ACK SACKed `[ACK,
/// ACK + 20)`, bytes that can never be delivered, held until the connection died.
#[test]
fn data_held_past_a_fin_is_released_and_never_sacked() {
    let (r, _) = fin_under_held_data(9);
    assert_eq!(r.count(Counter::DataPastFin), 1);
    assert_eq!(
        r.host.pool().stats().in_use(),
        0,
        "the held buffer went back"
    );
}

/// Held data starting right at the FIN's sequence number: the in-order data joins
/// up with it, yet it follows the FIN, so it is not delivered and the FIN is not
/// lost under it (RCV.NXT must not jump past the FIN).
#[test]
fn held_data_right_after_a_fin_is_not_delivered() {
    fin_under_held_data(8);
}

/// A FIN beyond a gap ends the stream there: data after it is refused (never held
/// or SACKed), and once the gap fills the connection closes at the FIN.
#[test]
fn data_past_a_fin_beyond_a_gap_is_refused() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open(&mut r);
    let out = r.reply_to(PEER.fin_ack(NXT + 10, iss1).data(&bytes(10, 20)));
    assert_eq!(answer(&out), (at(0), vec![(at(10), at(20))]));
    // Bytes 15..45: 15..20 held already, 20..45 past the FIN.
    let (a, sack) = answer(&r.reply_to(push(15, 45, iss1)));
    assert_eq!(a, at(0));
    assert!(sack.iter().all(|&(_, e)| e.le(at(20))), "{sack:?}");
    assert_eq!(r.count(Counter::DataPastFin), 1);
    let out = r.reply_to(push(0, 10, iss1));
    assert_eq!(answer(&out), (at(21), vec![]));
    assert_eq!(r.host.app.log[&c].data, bytes(0, 20));
    assert!(r.host.app.log[&c].peer_closed);
}

/// A window update was taken from an ACK below SND.UNA (RFC 9293 3.10.7.4 takes
/// one only if SND.UNA =< SEG.ACK =< SND.NXT) and counted from SND.UNA, past the
/// right edge the peer advertised (SEG.ACK + SEG.WND).
#[test]
fn an_ack_below_snd_una_updates_no_window() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open(&mut r);
    r.host.queue(c, &[7; 1000]);
    assert_eq!(payload_len(&r.poll()), 1000);
    r.reply_to(push(0, 10, iss1 + 1000));
    // New data (SEG.SEQ > SND.WL1) with an ACK 200 below SND.UNA and a 300-byte
    // window: the peer's edge is SND.UNA + 100, by this segment; ignored.
    r.reply_to(push(10, 20, iss1 + 800).window(300));
    assert_eq!(r.host.tcp.conn_info(c).unwrap().snd_wnd, 65535);
    r.host.queue(c, &[8; 1000]);
    let sent = payload_len(&r.poll());
    assert_eq!(sent, 1000, "the window of the last in-range ACK applies");
}

/// Data the peer sent ahead of a gap set SND.WL1 there, so segments filling the
/// gap (below SND.WL1) brought no window update though their ACKs advanced
/// SND.UNA: the older window counted from the newer SND.UNA, past every edge the
/// peer advertised. An ACK that advances SND.UNA carries the newest window.
#[test]
fn an_ack_advancing_snd_una_updates_the_window_below_snd_wl1() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open(&mut r);
    // Ahead of a gap: a 2,000-byte window at ACK ISS + 1.
    r.reply_to(push(100, 110, iss1).window(2000));
    r.host.queue(c, &[7; 1500]);
    assert_eq!(payload_len(&r.poll()), 1500);
    // Below SND.WL1, acknowledging all 1,500 with a 100-byte window.
    r.reply_to(push(0, 10, iss1 + 1500).window(100));
    assert_eq!(r.host.tcp.conn_info(c).unwrap().snd_wnd, 100);
    r.host.queue(c, &[8; 1500]);
    let sent = payload_len(&r.poll());
    assert!(sent <= 100, "{sent} bytes sent into a 100-byte window");
}

/// A D-SACK block named bytes before the peer's first: a segment from before its
/// ISN is old, not a duplicate of anything received.
#[test]
fn no_dsack_for_bytes_before_the_peers_first() {
    let mut r = Raw::with(|c| c.dsack = true);
    let (iss1, c) = open(&mut r);
    // Wholly before the stream: a plain ACK.
    let old = PEER.fin_ack(NXT.wrapping_sub(2472), iss1).data(&[1; 10]);
    assert_eq!(answer(&r.reply_to(old)), (at(0), vec![]));
    // Five bytes before the stream and five new: the five delivered, no D-SACK.
    let mut b = vec![1; 5];
    b.extend(bytes(0, 5));
    let out = r.reply_to(PEER.psh_ack(NXT - 5, iss1).data(&b)); // in order: the ACK may wait (delayed)
    assert!(out.iter().all(|o| o.hdr.options.sack.is_empty()), "{out:?}");
    assert_eq!(r.host.app.log[&c].data, bytes(0, 5));
    // Five before the stream, five duplicates, five new: D-SACK of the duplicates.
    let mut b = vec![1; 5];
    b.extend(bytes(0, 10));
    let (a, sack) = answer(&r.reply_to(PEER.psh_ack(NXT - 5, iss1).data(&b)));
    assert_eq!((a, sack), (at(10), vec![(at(0), at(5))]));
    assert_eq!(r.host.app.log[&c].data, bytes(0, 10));
}

/// Seed 6720: a scaled window field was rounded up, and the edge it gave kept: with
/// every segment whose length was not a multiple of 2^shift the advertised edge
/// crept a byte or more past the free space, so a peer filling the window exactly
/// overran the receive buffer (and with small segments the window never closed).
#[test]
fn a_scaled_window_never_promises_more_than_the_buffer() {
    let mut r = Raw::new(TcpConfig {
        recv_buf: 65536,
        delack_segments: 1, // an ACK (and a window) for every segment
        ..cfg()
    });
    r.host.app.hold = true;
    r.host.tcp.listen(PORT).unwrap();
    let out = r.reply_to(PEER.syn(PEER_ISN).opts(syn_opts(1460, false, Some(0))));
    assert_eq!(
        out[0].hdr.options.wscale,
        Some(1),
        "64 KiB needs a shift of 1"
    );
    let iss1 = out[0].hdr.seq.0.wrapping_add(1);
    r.reply_to(PEER.ack(NXT, iss1));
    let c = *r.host.app.knocks.last().unwrap();
    // The peer fills whatever window it was last told of, 1,503 bytes at a time.
    let (mut nxt, mut edge) = (Seq(NXT), Seq(NXT).add(65536));
    let mut furthest = edge;
    for _ in 0..200 {
        let n = edge.since(nxt).min(1503);
        if n == 0 {
            break;
        }
        let data = vec![3; n as usize];
        r.inject(PEER.psh_ack(nxt.0, iss1).data(&data));
        nxt = nxt.add(n);
        for o in r.tick(ms(1)) {
            edge = o.hdr.ack.add(u32::from(o.hdr.window) << 1);
            furthest = furthest.max(edge);
        }
    }
    let held = r.host.tcp.conn_info(c).unwrap().rcv_unreleased;
    assert_eq!(edge, nxt, "the window closed");
    assert!(furthest.le(Seq(NXT).add(65536)), "never past the buffer");
    // The SYN's window (unscaled) reached 65,535, and rounding down leaves less
    // than 2^shift of that unadvertised.
    assert!((65535 - 1..=65536).contains(&held), "{held} bytes held");
    assert_eq!(r.host.app.log[&c].data.len(), held as usize);
}

//! Regression tests for defects the `tcp_segments` fuzzer (`dataplane/tcp/fuzz`)
//! found, each at engine level with the test playing the peer (`support::Raw`).
//! The fuzz crate replays the same scripts through its harness; these run with the
//! workspace's tests.

mod support;

use ix_tcp::header::Flags;
use ix_tcp::options::TcpOptions;
use ix_tcp::seq::Seq;
use ix_tcp::{ConnId, Counter, State, TcpConfig};
use support::*;

const PORT: u16 = 8080;
const SPORT: u16 = 4000;
const PEER_ISN: u32 = 1000;
/// The peer's first data byte.
const NXT: u32 = PEER_ISN + 1;

fn none() -> TcpOptions {
    TcpOptions::default()
}

fn psh_ack() -> Flags {
    Flags::PSH.with(Flags::ACK)
}

fn fin_ack() -> Flags {
    Flags::FIN.with(Flags::ACK)
}

/// A passive connection from a peer offering SACK (MSS 1000, no window scaling:
/// its windows are bytes); returns the engine's next sequence number and the id.
fn open(r: &mut Raw) -> (u32, ConnId) {
    r.host.tcp.listen(PORT).unwrap();
    let opts = TcpOptions {
        mss: Some(1000),
        sack_permitted: true,
        ..none()
    };
    r.inject(SPORT, PORT, PEER_ISN, 0, syn(), 65535, opts, b"");
    let out = r.poll();
    assert_eq!(out.len(), 1, "{out:?}");
    let iss1 = out[0].hdr.seq.0.wrapping_add(1);
    r.inject(SPORT, PORT, NXT, iss1, ack(), 65535, none(), b"");
    assert!(r.poll().is_empty());
    let c = *r.host.app.knocks.last().unwrap();
    assert_eq!(r.host.tcp.state(c), Ok(State::Established));
    (iss1, c)
}

/// The peer's bytes `[from, to)` of its stream (offsets from its first byte).
fn bytes(from: u32, to: u32) -> Vec<u8> {
    (from..to).map(|k| k as u8 ^ 0x5a).collect()
}

/// The one segment a step answered with: (ACK, SACK blocks).
fn answer(out: &[Out]) -> (Seq, Vec<(Seq, Seq)>) {
    assert_eq!(out.len(), 1, "{out:?}");
    (out[0].hdr.ack, out[0].hdr.options.sack.to_vec())
}

fn at(off: u32) -> Seq {
    Seq(NXT + off)
}

/// Held out-of-order data lay after a FIN that arrived below it: the FIN took
/// RCV.NXT to the held data's first byte, and every later ACK SACKed `[ACK,
/// ACK + 20)`, bytes that can never be delivered, held until the connection died.
#[test]
fn data_held_past_a_fin_is_released_and_never_sacked() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open(&mut r);
    r.inject(
        SPORT,
        PORT,
        NXT + 9,
        iss1,
        psh_ack(),
        65535,
        none(),
        &bytes(9, 29),
    );
    assert_eq!(answer(&r.poll()), (at(0), vec![(at(9), at(29))]));
    r.inject(
        SPORT,
        PORT,
        NXT,
        iss1,
        fin_ack(),
        65535,
        none(),
        &bytes(0, 8),
    );
    assert_eq!(
        answer(&r.poll()),
        (at(9), vec![]),
        "FIN counted, nothing SACKed"
    );
    assert_eq!(r.host.app.log[&c].data, bytes(0, 8));
    assert!(r.host.app.log[&c].peer_closed);
    assert_eq!(r.host.tcp.state(c), Ok(State::CloseWait));
    assert_eq!(r.host.tcp.stats().get(Counter::DataPastFin), 1);
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
    let mut r = Raw::new(cfg());
    let (iss1, c) = open(&mut r);
    r.inject(
        SPORT,
        PORT,
        NXT + 8,
        iss1,
        psh_ack(),
        65535,
        none(),
        &bytes(8, 28),
    );
    assert_eq!(answer(&r.poll()), (at(0), vec![(at(8), at(28))]));
    r.inject(
        SPORT,
        PORT,
        NXT,
        iss1,
        fin_ack(),
        65535,
        none(),
        &bytes(0, 8),
    );
    assert_eq!(answer(&r.poll()), (at(9), vec![]));
    assert_eq!(r.host.app.log[&c].data, bytes(0, 8));
    assert!(r.host.app.log[&c].peer_closed);
    assert_eq!(r.host.tcp.state(c), Ok(State::CloseWait));
}

/// A FIN beyond a gap ends the stream there: data after it is refused (never held
/// or SACKed), and once the gap fills the connection closes at the FIN.
#[test]
fn data_past_a_fin_beyond_a_gap_is_refused() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open(&mut r);
    r.inject(
        SPORT,
        PORT,
        NXT + 10,
        iss1,
        fin_ack(),
        65535,
        none(),
        &bytes(10, 20),
    );
    assert_eq!(answer(&r.poll()), (at(0), vec![(at(10), at(20))]));
    // Bytes 15..45: 15..20 held already, 20..45 past the FIN.
    r.inject(
        SPORT,
        PORT,
        NXT + 15,
        iss1,
        psh_ack(),
        65535,
        none(),
        &bytes(15, 45),
    );
    let (a, sack) = answer(&r.poll());
    assert_eq!(a, at(0));
    assert!(sack.iter().all(|&(_, e)| e.le(at(20))), "{sack:?}");
    assert_eq!(r.host.tcp.stats().get(Counter::DataPastFin), 1);
    r.inject(
        SPORT,
        PORT,
        NXT,
        iss1,
        psh_ack(),
        65535,
        none(),
        &bytes(0, 10),
    );
    assert_eq!(answer(&r.poll()), (at(21), vec![]));
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
    let out = r.poll();
    assert_eq!(out.iter().map(|o| o.payload.len()).sum::<usize>(), 1000);
    r.inject(
        SPORT,
        PORT,
        NXT,
        iss1 + 1000,
        psh_ack(),
        65535,
        none(),
        &bytes(0, 10),
    );
    r.poll();
    // New data (SEG.SEQ > SND.WL1) with an ACK 200 below SND.UNA and a 300-byte
    // window: the peer's edge is SND.UNA + 100, by this segment; ignored.
    r.inject(
        SPORT,
        PORT,
        NXT + 10,
        iss1 + 800,
        psh_ack(),
        300,
        none(),
        &bytes(10, 20),
    );
    r.poll();
    assert_eq!(r.host.tcp.conn_info(c).unwrap().snd_wnd, 65535);
    r.host.queue(c, &[8; 1000]);
    let sent: usize = r.poll().iter().map(|o| o.payload.len()).sum();
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
    r.inject(
        SPORT,
        PORT,
        NXT + 100,
        iss1,
        psh_ack(),
        2000,
        none(),
        &bytes(100, 110),
    );
    r.poll();
    r.host.queue(c, &[7; 1500]);
    let sent: usize = r.poll().iter().map(|o| o.payload.len()).sum();
    assert_eq!(sent, 1500);
    // Below SND.WL1, acknowledging all 1,500 with a 100-byte window.
    r.inject(
        SPORT,
        PORT,
        NXT,
        iss1 + 1500,
        psh_ack(),
        100,
        none(),
        &bytes(0, 10),
    );
    r.poll();
    assert_eq!(r.host.tcp.conn_info(c).unwrap().snd_wnd, 100);
    r.host.queue(c, &[8; 1500]);
    let sent: usize = r.poll().iter().map(|o| o.payload.len()).sum();
    assert!(sent <= 100, "{sent} bytes sent into a 100-byte window");
}

/// A D-SACK block named bytes before the peer's first: a segment from before its
/// ISN is old, not a duplicate of anything received.
#[test]
fn no_dsack_for_bytes_before_the_peers_first() {
    let mut r = Raw::new(TcpConfig {
        dsack: true,
        ..cfg()
    });
    let (iss1, c) = open(&mut r);
    // Wholly before the stream: a plain ACK.
    r.inject(
        SPORT,
        PORT,
        NXT.wrapping_sub(2472),
        iss1,
        fin_ack(),
        65535,
        none(),
        &[1; 10],
    );
    assert_eq!(answer(&r.poll()), (at(0), vec![]));
    // Five bytes before the stream and five new: the five delivered, no D-SACK.
    let mut b = vec![1; 5];
    b.extend(bytes(0, 5));
    r.inject(SPORT, PORT, NXT - 5, iss1, psh_ack(), 65535, none(), &b);
    let out = r.poll(); // in order: the ACK may wait (delayed)
    assert!(out.iter().all(|o| o.hdr.options.sack.is_empty()), "{out:?}");
    assert_eq!(r.host.app.log[&c].data, bytes(0, 5));
    // Five before the stream, five duplicates, five new: D-SACK of the duplicates.
    let mut b = vec![1; 5];
    b.extend(bytes(0, 10));
    r.inject(SPORT, PORT, NXT - 5, iss1, psh_ack(), 65535, none(), &b);
    let (a, sack) = answer(&r.poll());
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
    let opts = TcpOptions {
        mss: Some(1460),
        wscale: Some(0),
        ..none()
    };
    r.inject(SPORT, PORT, PEER_ISN, 0, syn(), 65535, opts, b"");
    let out = r.poll();
    assert_eq!(
        out[0].hdr.options.wscale,
        Some(1),
        "64 KiB needs a shift of 1"
    );
    let iss1 = out[0].hdr.seq.0.wrapping_add(1);
    r.inject(SPORT, PORT, NXT, iss1, ack(), 65535, none(), b"");
    r.poll();
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
        r.inject(SPORT, PORT, nxt.0, iss1, psh_ack(), 65535, none(), &data);
        nxt = nxt.add(n);
        r.advance(std::time::Duration::from_millis(1));
        for o in r.poll() {
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

//! Packet-level tests of the segments the engine refuses: RSTs where nobody
//! listens, RFC 5961 challenge ACKs, a refused or botched active open, and
//! segments with a bad checksum or header. The test plays the peer.

mod support;

use ix_tcp::header::Flags;
use ix_tcp::seq::Seq;
use ix_tcp::{CloseReason, Counter, State, TcpError};
use support::*;

/// Where nobody listens, a SYN gets RST-ACK <SEQ=0><ACK=SEG.SEQ+SEG.LEN>, an ACK
/// gets RST <SEQ=SEG.ACK>, and a RST gets nothing (RFC 9293 3.10.7.1).
#[test]
fn no_listener_gets_rst_in_both_shapes() {
    let mut r = Raw::new(cfg());
    let closed = Peer::new(SPORT, 99);
    let out = r.reply_to(closed.syn(5).window(1000));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].hdr.flags, RST_ACK);
    assert_eq!((out[0].hdr.seq, out[0].hdr.ack), (Seq(0), Seq(6)));
    let out = r.reply_to(closed.ack(5, 777).window(1000).data(b"data"));
    assert_eq!(out[0].hdr.flags, Flags::RST);
    assert_eq!(out[0].hdr.seq, Seq(777));
    let out = r.reply_to(closed.seg(Flags::RST, 5, 777).window(1000));
    assert!(out.is_empty(), "never answer a RST");
    assert_eq!(
        (
            r.count(Counter::NoListenerRst),
            r.count(Counter::NoListenerDrop)
        ),
        (2, 1)
    );
}

/// RFC 5961 on an established connection: an in-window but inexact RST and a SYN
/// get a challenge ACK, an out-of-window RST is ignored, an ACK of unsent data is
/// dropped with an ACK, and only the exact RST resets.
#[test]
fn rst_and_syn_per_rfc5961() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = r.open_passive(OPEN.sack(true));
    // In window but not exact: challenge ACK, connection lives.
    let out = r.reply_to(PEER.rst(NXT + 10));
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].hdr.flags, out[0].hdr.ack, out[0].hdr.seq),
        (Flags::ACK, Seq(NXT), Seq(iss1))
    );
    assert_eq!(r.host.tcp.state(c), Ok(State::Established));
    // Out of window: ignored silently.
    assert!(r.reply_to(PEER.rst(NXT.wrapping_sub(100_000))).is_empty());
    // SYN on an established connection: challenge ACK.
    let out = r.reply_to(PEER.syn(5).window(1000));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].hdr.flags, Flags::ACK);
    assert_eq!(r.count(Counter::ChallengeAcks), 2);
    // ACK for data never sent: dropped with an ACK.
    assert_eq!(r.reply_to(PEER.ack(NXT, iss1 + 5000).window(1000)).len(), 1);
    assert_eq!(r.count(Counter::AckTooNew), 1);
    // Exact RST: reset.
    assert!(r.reply_to(PEER.rst(NXT)).is_empty());
    assert_eq!(r.host.dead(c), Some(CloseReason::Reset));
    assert_eq!(r.host.tcp.state(c), Err(TcpError::NoSuchConnection));
}

/// An active open announces MSS, window scaling and SACK; a SYN-ACK acknowledging
/// the wrong thing gets RST <SEQ=SEG.ACK>; a RST without ACK is ignored in
/// SYN_SENT, and one with the right ACK refuses the connection.
#[test]
fn connect_refused_and_bad_synack() {
    let mut r = Raw::new(cfg());
    let (c, server) = r.connect_from(5555, 80);
    let out = r.poll();
    assert_eq!(out[0].hdr.flags, Flags::SYN);
    assert_eq!(out[0].hdr.options.mss, Some(1460));
    assert_eq!(out[0].hdr.options.wscale, Some(3));
    assert!(out[0].hdr.options.sack_permitted);
    let iss = out[0].hdr.seq.0;
    // SYN-ACK acknowledging the wrong thing: RST <SEQ=SEG.ACK>.
    let out = r.reply_to(server.seg(SYN_ACK, 7, iss + 9).window(1000));
    assert_eq!(
        (out[0].hdr.flags, out[0].hdr.seq),
        (Flags::RST, Seq(iss + 9))
    );
    assert_eq!(r.host.tcp.state(c), Ok(State::SynSent));
    // RST without ACK: ignored. RST with the right ACK: refused.
    r.reply_to(server.rst(0));
    assert_eq!(r.host.tcp.state(c), Ok(State::SynSent));
    r.reply_to(server.seg(RST_ACK, 0, iss + 1).window(0));
    assert_eq!(r.host.connect_failed(c), Some(CloseReason::Refused));
    assert_eq!(r.host.tcp.conn_count(), 0);
}

/// A segment with a bad checksum and one whose data offset runs past its end are
/// counted and dropped, unanswered and undelivered.
#[test]
fn bad_checksum_and_malformed_headers_are_counted_and_dropped() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = r.open_passive(OPEN);
    let hdr = PEER.ack(NXT, iss1).window(1000).header();
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
    assert_eq!(
        (r.count(Counter::BadChecksum), r.count(Counter::Malformed)),
        (1, 1)
    );
    assert!(r.host.app.log.get(&c).is_none_or(|l| l.data.is_empty()));
}

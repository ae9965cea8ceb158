//! Packet-level tests of TIME_WAIT: what it answers, how a later SYN reuses it,
//! and how its table recycles entries when full. The test plays the peer;
//! `regressions.rs` covers the restart of 2*MSL.

mod support;

use ix_tcp::header::Flags;
use ix_tcp::seq::Seq;
use ix_tcp::{CloseReason, Counter};
use std::time::Duration;
use support::*;

/// TIME_WAIT acknowledges a retransmitted FIN again and ignores a RST (RFC 1337);
/// an old SYN gets an ACK, a new one reopens with an ISN past the old
/// incarnation's.
#[test]
fn time_wait_absorbs_and_is_reused_by_a_later_syn() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = r.open_passive(OPEN);
    r.host.tcp.close(c).unwrap();
    let out = r.poll();
    assert_eq!(out[0].hdr.flags, FIN_ACK);
    let out = r.reply_to(PEER.fin_ack(NXT, iss1 + 1));
    assert_eq!(
        (out[0].hdr.flags, out[0].hdr.ack),
        (Flags::ACK, Seq(NXT + 1))
    );
    assert_eq!(r.host.dead(c), Some(CloseReason::Closed));
    assert_eq!(r.host.tcp.time_wait_count(), 1);
    // A retransmitted FIN is acknowledged again; a RST is ignored (RFC 1337).
    let out = r.reply_to(PEER.fin_ack(NXT, iss1 + 1));
    assert_eq!(out[0].hdr.ack, Seq(NXT + 1));
    assert!(r.reply_to(PEER.rst(NXT + 1)).is_empty());
    assert_eq!(r.host.tcp.time_wait_count(), 1);
    // An old SYN gets an ACK; a new one (higher sequence) opens a new connection
    // whose ISN lies past the old incarnation's.
    assert_eq!(r.reply_to(PEER.syn(NXT - 10))[0].hdr.flags, Flags::ACK);
    let out = r.reply_to(PEER.syn(NXT + 100_000));
    assert_eq!(out[0].hdr.flags, SYN_ACK);
    assert!(out[0].hdr.seq.gt(Seq(iss1 + 1 + 65535)));
    assert_eq!(r.host.tcp.time_wait_count(), 0);
    assert_eq!(r.count(Counter::TimeWaitReused), 1);
}

/// With `time_wait_max` entries in use, a new TIME_WAIT recycles the oldest; all
/// expire after 2*MSL.
#[test]
fn time_wait_table_recycles_oldest_when_full() {
    let mut r = Raw::with(|c| c.time_wait_max = 2);
    for k in 0..3u16 {
        let peer = PEER.offset(k);
        let (iss1, c) = r.open_passive(OPEN.from(peer));
        r.host.tcp.close(c).unwrap();
        r.poll();
        r.reply_to(peer.fin_ack(NXT, iss1 + 1));
    }
    assert_eq!(r.host.tcp.time_wait_count(), 2);
    assert_eq!(r.count(Counter::TimeWaitRecycled), 1);
    r.tick(Duration::from_secs(61));
    assert_eq!(r.host.tcp.time_wait_count(), 0);
}

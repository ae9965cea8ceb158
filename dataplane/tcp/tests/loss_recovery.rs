//! Loss detection and recovery, packet by packet: the test plays the peer and
//! decides exactly which segments and ACKs "arrive" (RACK, tail loss probes, lost
//! retransmissions, timeouts that keep SACK information, duplicated ACKs, D-SACK in
//! both directions, undo of a spurious recovery, SACK options and the MTU).

mod support;

use ix_tcp::seq::Seq;
use ix_tcp::{ConnId, Counter};
use std::time::Duration;
use support::*;

const MSS: u32 = 1460;

/// A passive handshake whose round trip takes `rtt`; returns the engine's first data
/// sequence number and the connection.
fn open(r: &mut Raw, sack_ok: bool, rtt: Duration) -> (u32, ConnId) {
    r.host.tcp.listen(PORT).unwrap();
    let h = Handshake::new(PEER, PEER_ISN).mss(MSS as u16);
    r.handshake(h.sack(sack_ok).rtt(rtt))
}

/// The peer's ACK (its next sequence is fixed: it sends no data), SACKing `sack`.
fn peer_ack(r: &mut Raw, ack_no: u32, sack: &[(u32, u32)]) {
    r.inject(PEER.ack(NXT, ack_no).sack(sack));
}

/// The peer's ACK as [`peer_ack`], then a poll: the data segments sent in reply.
fn acked(r: &mut Raw, ack_no: u32, sack: &[(u32, u32)]) -> Vec<u32> {
    peer_ack(r, ack_no, sack);
    data_seqs(&r.poll())
}

/// Opens a connection (SACK if `sack_ok`, a 1 ms round trip), queues `queued` full
/// segments, checks the first window of ten went out, and lets 1 ms pass. Returns
/// the connection and its numbering: `seg(k)` is where segment `k` starts.
fn first_window_out(r: &mut Raw, sack_ok: bool, queued: usize) -> (ConnId, impl Fn(u32) -> u32) {
    let (iss1, c) = open(r, sack_ok, ms(1));
    assert_eq!(send(r, c, queued).len(), 10);
    r.advance(ms(1));
    (c, move |k: u32| iss1 + MSS * k)
}

/// Queues `n` full segments and returns what the first poll sent.
fn send(r: &mut Raw, c: ConnId, n: usize) -> Vec<Out> {
    r.host.queue(c, &pattern(MSS as usize * n, 3));
    r.poll()
}

/// RACK (RFC 8985): with a ~0 minimum RTT one SACKed later segment marks the hole
/// lost, and it is resent at once, without a timeout.
#[test]
fn rack_resends_a_hole_once_later_data_is_sacked() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open(&mut r, true, Duration::ZERO);
    let seg = |k: u32| iss1 + MSS * k;
    assert_eq!(send(&mut r, c, 10).len(), 10);
    // Segment 1 lost; 2 arrived. One SACKed segment is enough: the minimum RTT is
    // ~0, so the reordering window is too (RFC 8985), as on Linux.
    assert_eq!(acked(&mut r, seg(1), &[(seg(2), seg(3))]), vec![seg(1)]);
    assert_eq!(
        (
            r.count(Counter::FastRetransmits),
            r.count(Counter::RackLost),
            r.count(Counter::RtoFired)
        ),
        (1, 1, 0)
    );
}

/// A segment overtaken by a later one within the reordering window (a quarter of
/// the minimum RTT) is not resent; one that never comes is resent when the window
/// ends.
#[test]
fn reordering_within_the_reordering_window_is_not_loss() {
    let mut r = Raw::new(cfg());
    let (_, seg) = first_window_out(&mut r, true, 10);
    // Segment 2 overtook segment 1: a quarter of the minimum RTT (250 µs) is allowed
    // for 1 to arrive before it is deemed lost.
    assert!(
        acked(&mut r, seg(1), &[(seg(2), seg(3))]).is_empty(),
        "not yet lost"
    );
    r.advance(us(100));
    assert!(acked(&mut r, seg(3), &[]).is_empty());
    r.advance(ms(1));
    assert!(data_seqs(&r.poll()).is_empty());
    assert_eq!(r.count(Counter::Retransmits), 0);
    assert_eq!(r.count(Counter::FastRetransmits), 0);
    // The same reordering again, this time 1 never comes: lost when the window ends.
    assert!(acked(&mut r, seg(3), &[(seg(4), seg(5))]).is_empty());
    r.advance(ms(1));
    assert_eq!(data_seqs(&r.poll()), vec![seg(3)]);
    assert_eq!(r.count(Counter::RackTimeouts), 1);
    assert_eq!(r.count(Counter::RtoFired), 0);
}

/// A retransmission that is lost in turn (data sent after it is SACKed) is found
/// by RACK and resent at once, in the same recovery episode, without a timeout.
#[test]
fn a_lost_retransmission_is_found_and_resent_without_a_timeout() {
    let mut r = Raw::new(cfg());
    // Twenty segments queued, ten sent (initial window).
    let (_, seg) = first_window_out(&mut r, true, 20);
    // Segment 1 lost, 2-9 SACKed: 1 is resent, and new data follows it.
    let out = acked(&mut r, seg(1), &[(seg(2), seg(10))]);
    assert_eq!(out[0], seg(1));
    assert!(
        out.len() > 1 && out[1..].iter().all(|&s| s >= seg(10)),
        "{out:?}"
    );
    let newest = *out.last().unwrap();
    r.advance(ms(1));
    // The new data arrives, the retransmission of 1 does not: sent before data that
    // was delivered, it is lost in turn, and resent at once.
    let out = acked(&mut r, seg(1), &[(seg(2), newest + MSS)]);
    assert_eq!(out.first(), Some(&seg(1)), "{out:?}");
    assert_eq!(r.count(Counter::LostRetransmits), 1);
    assert_eq!(r.count(Counter::FastRetransmits), 1, "one episode");
    assert_eq!(r.count(Counter::RtoFired), 0);
}

/// Losing the last segments (nothing left to be SACKed) brings a tail loss probe
/// of the last segment within a few RTTs, long before the RTO; its SACK lets RACK
/// repair the rest.
#[test]
fn a_tail_loss_probe_comes_long_before_the_timeout() {
    let mut r = Raw::new(cfg());
    let (c, seg) = first_window_out(&mut r, true, 10);
    // The last two segments are lost: nothing later will be SACKed.
    peer_ack(&mut r, seg(8), &[]);
    assert!(r.poll().is_empty());
    let probe = r.wait_for_data(ms(1), 250);
    // PTO: two smoothed RTTs (~1 ms each) plus timer granularity, far from the
    // 200 ms RTO; the probe resends the last segment.
    let (t, out) = probe.expect("a probe");
    assert!(t <= 5, "probe after {t} ms");
    assert_eq!(out, vec![seg(9)]);
    assert_eq!(r.count(Counter::TlpProbes), 1);
    // Its SACK, a round trip later, shows 8 missing: RACK resends it.
    r.advance(ms(1));
    assert_eq!(acked(&mut r, seg(8), &[(seg(9), seg(10))]), vec![seg(8)]);
    peer_ack(&mut r, seg(10), &[]);
    r.poll();
    assert_eq!(r.host.tcp.conn_info(c).unwrap().bytes_in_flight, 0);
    assert_eq!(r.count(Counter::RtoFired), 0);
}

/// A lost retransmission with nothing sent after it is found by a recovery probe,
/// not by the retransmission timer.
#[test]
fn a_probe_during_recovery_finds_a_lost_retransmission_at_the_tail() {
    let mut r = Raw::new(cfg());
    let (c, seg) = first_window_out(&mut r, true, 10);
    // 0 lost, 1-9 SACKed: 0 is resent, and nothing is left to send after it.
    assert_eq!(acked(&mut r, seg(0), &[(seg(1), seg(10))]), vec![seg(0)]);
    // That retransmission is lost too, and no ACK comes: a probe, not the timer.
    let probe = r.wait_for_data(ms(1), 250);
    let (t, out) = probe.expect("a probe");
    assert!(t <= 10, "probe after {t} ms");
    assert_eq!(out, vec![seg(0)]);
    assert_eq!(
        (r.count(Counter::RecoveryProbes), r.count(Counter::RtoFired)),
        (1, 0)
    );
    peer_ack(&mut r, seg(10), &[]);
    r.poll();
    assert_eq!(r.host.tcp.conn_info(c).unwrap().bytes_in_flight, 0);
}

/// After a retransmission timeout the engine keeps the SACK scoreboard: slow start
/// resends one segment, then only the other holes, never what the peer SACKed.
#[test]
fn a_timeout_keeps_the_sack_marks_and_resends_only_the_holes() {
    let mut r = Raw::with(|c| c.tlp = false);
    let (c, seg) = first_window_out(&mut r, true, 10);
    assert_eq!(
        acked(&mut r, seg(0), &[(seg(3), seg(10))]),
        vec![seg(0), seg(1), seg(2)]
    );
    // Every retransmission is lost and the peer is silent: the timer fires.
    let after = r.wait_for_data(ms(1), 300).map(|(_, seqs)| seqs);
    let after = after.unwrap_or_default();
    assert_eq!(r.count(Counter::RtoFired), 1);
    assert_eq!(
        after,
        vec![seg(0)],
        "one segment: the window after a timeout"
    );
    // Slow start resends the other holes, never what the peer SACKed.
    assert_eq!(
        acked(&mut r, seg(1), &[(seg(3), seg(10))]),
        vec![seg(1), seg(2)]
    );
    assert!(acked(&mut r, seg(10), &[]).is_empty());
    assert_eq!(r.host.tcp.conn_info(c).unwrap().bytes_in_flight, 0);
    assert_eq!(r.count(Counter::Retransmits), 6);
}

/// ACKs the network duplicated (nothing new, or only a D-SACK) are not counted as
/// duplicate ACKs and cause no retransmission.
#[test]
fn duplicated_acks_are_not_duplicate_acks() {
    let mut r = Raw::new(cfg());
    let (_, seg) = first_window_out(&mut r, true, 10);
    // The network duplicates one ACK five times (and it says nothing new).
    for _ in 0..5 {
        peer_ack(&mut r, seg(4), &[]);
    }
    // And duplicates of data make the peer send D-SACKs.
    for _ in 0..3 {
        peer_ack(&mut r, seg(4), &[(seg(2), seg(3))]);
    }
    assert!(data_seqs(&r.poll()).iter().all(|&s| s >= seg(10)));
    assert_eq!(r.count(Counter::DupAcks), 0);
    assert_eq!(r.count(Counter::DsacksIn), 3);
    assert_eq!(r.count(Counter::Retransmits), 0);
    assert_eq!(r.count(Counter::FastRetransmits), 0);
}

/// Without SACK, the first two duplicate ACKs each release one new segment
/// (limited transmit, RFC 3042) and the third brings the fast retransmit.
#[test]
fn newreno_counts_duplicate_acks_and_sends_new_data_on_the_first_two() {
    let mut r = Raw::new(cfg());
    let (_, seg) = first_window_out(&mut r, false, 14);
    // Segment 0 lost: the first two duplicate ACKs each let one new segment out
    // (limited transmit, RFC 3042), the third brings the fast retransmit.
    assert_eq!(acked(&mut r, seg(0), &[]), vec![seg(10)]);
    assert_eq!(acked(&mut r, seg(0), &[]), vec![seg(11)]);
    assert_eq!(acked(&mut r, seg(0), &[]).first(), Some(&seg(0)));
    assert_eq!(r.count(Counter::NewRenoRecoveries), 1);
}

/// A recovery caused by mere reordering is undone when the peer's D-SACK shows the
/// retransmission was needless: the window comes back.
#[test]
fn a_recovery_caused_by_reordering_is_undone_by_dsack() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open(&mut r, true, Duration::ZERO);
    let seg = |k: u32| iss1 + MSS * k;
    send(&mut r, c, 10);
    peer_ack(&mut r, seg(1), &[]);
    r.poll();
    let before = r.host.tcp.conn_info(c).unwrap().cwnd;
    // Segment 1 is only late, but it looks lost: resent, window halved.
    assert_eq!(acked(&mut r, seg(1), &[(seg(2), seg(5))]), vec![seg(1)]);
    assert!(r.host.tcp.conn_info(c).unwrap().cwnd < before);
    // It arrives (everything is acknowledged), then the retransmission: the peer
    // reports that with a D-SACK.
    peer_ack(&mut r, seg(10), &[]);
    r.poll();
    assert_eq!(r.count(Counter::RecoveriesUndone), 0);
    peer_ack(&mut r, seg(10), &[(seg(1), seg(2))]);
    r.poll();
    assert_eq!(r.count(Counter::RecoveriesUndone), 1);
    assert!(r.host.tcp.conn_info(c).unwrap().cwnd >= before);
}

/// With D-SACK on, a duplicate segment is answered at once with a D-SACK block,
/// and a duplicated out-of-order segment with the D-SACK before its SACK block.
#[test]
fn a_duplicate_segment_is_reported_at_once_with_a_dsack_block() {
    let mut r = Raw::with(|c| c.dsack = true);
    r.host.app.hold = true;
    let (iss1, _c) = open(&mut r, true, Duration::ZERO);
    let data = pattern(200, 5);
    r.reply_to(PEER.ack(NXT, iss1).data(&data[..100]));
    r.advance(ms(1));
    // The same segment again, and one beyond a gap twice.
    let out = r.reply_to(PEER.ack(NXT, iss1).data(&data[..100]));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].hdr.ack, Seq(NXT + 100));
    assert_eq!(
        out[0].hdr.options.sack.as_slice(),
        &[(Seq(NXT), Seq(NXT + 100))]
    );
    for _ in 0..2 {
        r.inject(PEER.ack(NXT + 150, iss1).data(&data[150..]));
    }
    let out = r.poll();
    assert_eq!(
        out.len(),
        2,
        "each out-of-order segment is answered at once"
    );
    let ooo = (Seq(NXT + 150), Seq(NXT + 200));
    assert_eq!(out[0].hdr.options.sack.as_slice(), &[ooo]);
    assert_eq!(
        out[1].hdr.options.sack.as_slice(),
        &[ooo, ooo],
        "D-SACK, then its block"
    );
    assert_eq!(r.count(Counter::DsacksOut), 2);
}

/// Data segments that carry a SACK block shrink their payload by the option's 12
/// bytes, so every frame stays within the MTU and no byte is skipped.
#[test]
fn data_segments_carrying_sack_blocks_stay_within_the_mtu() {
    let mut r = Raw::new(cfg());
    r.host.app.hold = true;
    let (iss1, c) = open(&mut r, true, Duration::ZERO);
    // Out-of-order data from the peer: every segment we send now carries a SACK
    // block (12 bytes of options), which must come out of the payload.
    r.reply_to(PEER.ack(NXT + 1000, iss1).data(&[7; 100]));
    let out = send(&mut r, c, 4);
    assert!(!out.is_empty());
    for o in &out {
        assert_eq!(o.hdr.options.sack.len(), 1);
        assert!(
            20 + o.hdr.header_len + o.payload.len() <= 1500,
            "{:?}",
            o.hdr
        );
    }
    let lens: Vec<usize> = out.iter().map(|o| o.payload.len()).collect();
    assert_eq!(
        lens,
        vec![1448, 1448, 1448, 1448, 48],
        "4 x 1460 bytes, 12 less per segment"
    );
    assert_eq!(r.count(Counter::TxFailed), 0);
    // The bytes still go in order, nothing skipped.
    let mut at = iss1;
    for o in &out {
        assert_eq!(o.hdr.seq, Seq(at));
        at = at.wrapping_add(o.payload.len() as u32);
    }
    assert_eq!(out.last().unwrap().hdr.flags, PSH_ACK);
}

/// With D-SACK off (the default) a duplicate segment gets a plain ACK, no SACK
/// block.
#[test]
fn without_dsack_configured_a_duplicate_gets_a_plain_ack() {
    let mut r = Raw::new(cfg());
    assert!(!r.host.tcp.config().dsack, "off by default");
    r.host.app.hold = true;
    let (iss1, _c) = open(&mut r, true, Duration::ZERO);
    let data = pattern(100, 5);
    r.reply_to(PEER.ack(NXT, iss1).data(&data));
    r.advance(ms(1));
    let out = r.reply_to(PEER.ack(NXT, iss1).data(&data));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].hdr.ack, Seq(NXT + 100));
    assert!(out[0].hdr.options.sack.is_empty());
    assert_eq!(r.count(Counter::DsacksOut), 0);
}

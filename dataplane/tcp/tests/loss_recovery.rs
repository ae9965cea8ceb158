//! Loss detection and recovery, packet by packet: the test plays the peer and
//! decides exactly which segments and ACKs "arrive" (RACK, tail loss probes, lost
//! retransmissions, timeouts that keep SACK information, duplicated ACKs, D-SACK in
//! both directions, undo of a spurious recovery, SACK options and the MTU).

mod support;

use ix_tcp::header::Flags;
use ix_tcp::options::TcpOptions;
use ix_tcp::seq::Seq;
use ix_tcp::{ConnId, Counter, State, TcpConfig};
use std::time::Duration;
use support::*;

const PEER_ISN: u32 = 1000;
const PORT: u16 = 80;
const SPORT: u16 = 4000;
const MSS: u32 = 1460;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

fn none() -> TcpOptions {
    TcpOptions::default()
}

fn sack(blocks: &[(u32, u32)]) -> TcpOptions {
    let mut o = none();
    for &(l, r) in blocks {
        o.sack.push((Seq(l), Seq(r)));
    }
    o
}

/// A passive handshake whose round trip takes `rtt`; returns the engine's first data
/// sequence number and the connection.
fn open(r: &mut Raw, sack_ok: bool, rtt: Duration) -> (u32, ConnId) {
    r.host.tcp.listen(PORT).unwrap();
    let opts = TcpOptions {
        mss: Some(MSS as u16),
        sack_permitted: sack_ok,
        ..TcpOptions::default()
    };
    r.inject(SPORT, PORT, PEER_ISN, 0, syn(), 65535, opts, b"");
    let out = r.poll();
    assert_eq!(out.len(), 1);
    let iss1 = out[0].hdr.seq.0.wrapping_add(1);
    r.advance(rtt);
    r.inject(SPORT, PORT, PEER_ISN + 1, iss1, ack(), 65535, none(), b"");
    assert!(r.poll().is_empty());
    let c = *r.host.app.knocks.last().unwrap();
    assert_eq!(r.host.tcp.state(c), Ok(State::Established));
    (iss1, c)
}

/// The peer's ACK (its next sequence is fixed: it sends no data).
fn peer_ack(r: &mut Raw, ack_no: u32, opts: TcpOptions) {
    r.inject(SPORT, PORT, PEER_ISN + 1, ack_no, ack(), 65535, opts, b"");
}

/// Sequence numbers of the data segments in `out`.
fn data_seqs(out: &[Out]) -> Vec<u32> {
    out.iter()
        .filter(|o| !o.payload.is_empty())
        .map(|o| o.hdr.seq.0)
        .collect()
}

fn count(r: &Raw, c: Counter) -> u64 {
    r.host.tcp.stats().get(c)
}

/// Queues `n` full segments and returns what the first poll sent.
fn send(r: &mut Raw, c: ConnId, n: usize) -> Vec<Out> {
    r.host.queue(c, &pattern(MSS as usize * n, 3));
    r.poll()
}

#[test]
fn rack_resends_a_hole_once_later_data_is_sacked() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open(&mut r, true, Duration::ZERO);
    let seg = |k: u32| iss1 + MSS * k;
    assert_eq!(send(&mut r, c, 10).len(), 10);
    // Segment 1 lost; 2 arrived. One SACKed segment is enough: the minimum RTT is
    // ~0, so the reordering window is too (RFC 8985), as on Linux.
    peer_ack(&mut r, seg(1), sack(&[(seg(2), seg(3))]));
    assert_eq!(data_seqs(&r.poll()), vec![seg(1)]);
    assert_eq!(
        (
            count(&r, Counter::FastRetransmits),
            count(&r, Counter::RackLost),
            count(&r, Counter::RtoFired)
        ),
        (1, 1, 0)
    );
}

#[test]
fn reordering_within_the_reordering_window_is_not_loss() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open(&mut r, true, ms(1));
    let seg = |k: u32| iss1 + MSS * k;
    send(&mut r, c, 10);
    r.advance(ms(1));
    // Segment 2 overtook segment 1: a quarter of the minimum RTT (250 µs) is allowed
    // for 1 to arrive before it is deemed lost.
    peer_ack(&mut r, seg(1), sack(&[(seg(2), seg(3))]));
    assert!(data_seqs(&r.poll()).is_empty(), "not yet lost");
    r.advance(us(100));
    peer_ack(&mut r, seg(3), none());
    assert!(data_seqs(&r.poll()).is_empty());
    r.advance(ms(1));
    assert!(data_seqs(&r.poll()).is_empty());
    assert_eq!(count(&r, Counter::Retransmits), 0);
    assert_eq!(count(&r, Counter::FastRetransmits), 0);
    // The same reordering again, this time 1 never comes: lost when the window ends.
    peer_ack(&mut r, seg(3), sack(&[(seg(4), seg(5))]));
    assert!(data_seqs(&r.poll()).is_empty());
    r.advance(ms(1));
    assert_eq!(data_seqs(&r.poll()), vec![seg(3)]);
    assert_eq!(count(&r, Counter::RackTimeouts), 1);
    assert_eq!(count(&r, Counter::RtoFired), 0);
}

#[test]
fn a_lost_retransmission_is_found_and_resent_without_a_timeout() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open(&mut r, true, ms(1));
    let seg = |k: u32| iss1 + MSS * k;
    // Twenty segments queued, ten sent (initial window).
    assert_eq!(send(&mut r, c, 20).len(), 10);
    r.advance(ms(1));
    // Segment 1 lost, 2-9 SACKed: 1 is resent, and new data follows it.
    peer_ack(&mut r, seg(1), sack(&[(seg(2), seg(10))]));
    let out = data_seqs(&r.poll());
    assert_eq!(out[0], seg(1));
    assert!(
        out.len() > 1 && out[1..].iter().all(|&s| s >= seg(10)),
        "{out:?}"
    );
    let newest = *out.last().unwrap();
    r.advance(ms(1));
    // The new data arrives, the retransmission of 1 does not: sent before data that
    // was delivered, it is lost in turn, and resent at once.
    peer_ack(&mut r, seg(1), sack(&[(seg(2), newest + MSS)]));
    let out = data_seqs(&r.poll());
    assert_eq!(out.first(), Some(&seg(1)), "{out:?}");
    assert_eq!(count(&r, Counter::LostRetransmits), 1);
    assert_eq!(count(&r, Counter::FastRetransmits), 1, "one episode");
    assert_eq!(count(&r, Counter::RtoFired), 0);
}

#[test]
fn a_tail_loss_probe_comes_long_before_the_timeout() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open(&mut r, true, ms(1));
    let seg = |k: u32| iss1 + MSS * k;
    send(&mut r, c, 10);
    r.advance(ms(1));
    // The last two segments are lost: nothing later will be SACKed.
    peer_ack(&mut r, seg(8), none());
    assert!(r.poll().is_empty());
    let mut probe = None;
    for t in 1..=250 {
        r.advance(ms(1));
        let out = data_seqs(&r.poll());
        if !out.is_empty() {
            probe = Some((t, out));
            break;
        }
    }
    // PTO: two smoothed RTTs (~1 ms each) plus timer granularity, far from the
    // 200 ms RTO; the probe resends the last segment.
    let (t, out) = probe.expect("a probe");
    assert!(t <= 5, "probe after {t} ms");
    assert_eq!(out, vec![seg(9)]);
    assert_eq!(count(&r, Counter::TlpProbes), 1);
    // Its SACK, a round trip later, shows 8 missing: RACK resends it.
    r.advance(ms(1));
    peer_ack(&mut r, seg(8), sack(&[(seg(9), seg(10))]));
    assert_eq!(data_seqs(&r.poll()), vec![seg(8)]);
    peer_ack(&mut r, seg(10), none());
    r.poll();
    assert_eq!(r.host.tcp.conn_info(c).unwrap().bytes_in_flight, 0);
    assert_eq!(count(&r, Counter::RtoFired), 0);
}

#[test]
fn a_probe_during_recovery_finds_a_lost_retransmission_at_the_tail() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open(&mut r, true, ms(1));
    let seg = |k: u32| iss1 + MSS * k;
    send(&mut r, c, 10);
    r.advance(ms(1));
    // 0 lost, 1-9 SACKed: 0 is resent, and nothing is left to send after it.
    peer_ack(&mut r, seg(0), sack(&[(seg(1), seg(10))]));
    assert_eq!(data_seqs(&r.poll()), vec![seg(0)]);
    // That retransmission is lost too, and no ACK comes: a probe, not the timer.
    let mut probe = None;
    for t in 1..=250 {
        r.advance(ms(1));
        let out = data_seqs(&r.poll());
        if !out.is_empty() {
            probe = Some((t, out));
            break;
        }
    }
    let (t, out) = probe.expect("a probe");
    assert!(t <= 10, "probe after {t} ms");
    assert_eq!(out, vec![seg(0)]);
    assert_eq!(
        (
            count(&r, Counter::RecoveryProbes),
            count(&r, Counter::RtoFired)
        ),
        (1, 0)
    );
    peer_ack(&mut r, seg(10), none());
    r.poll();
    assert_eq!(r.host.tcp.conn_info(c).unwrap().bytes_in_flight, 0);
}

#[test]
fn a_timeout_keeps_the_sack_marks_and_resends_only_the_holes() {
    let mut r = Raw::new(TcpConfig {
        tlp: false,
        ..cfg()
    });
    let (iss1, c) = open(&mut r, true, ms(1));
    let seg = |k: u32| iss1 + MSS * k;
    send(&mut r, c, 10);
    r.advance(ms(1));
    peer_ack(&mut r, seg(0), sack(&[(seg(3), seg(10))]));
    assert_eq!(data_seqs(&r.poll()), vec![seg(0), seg(1), seg(2)]);
    // Every retransmission is lost and the peer is silent: the timer fires.
    let mut after = Vec::new();
    for _ in 0..300 {
        r.advance(ms(1));
        after = data_seqs(&r.poll());
        if !after.is_empty() {
            break;
        }
    }
    assert_eq!(count(&r, Counter::RtoFired), 1);
    assert_eq!(
        after,
        vec![seg(0)],
        "one segment: the window after a timeout"
    );
    // Slow start resends the other holes, never what the peer SACKed.
    peer_ack(&mut r, seg(1), sack(&[(seg(3), seg(10))]));
    assert_eq!(data_seqs(&r.poll()), vec![seg(1), seg(2)]);
    peer_ack(&mut r, seg(10), none());
    assert!(data_seqs(&r.poll()).is_empty());
    assert_eq!(r.host.tcp.conn_info(c).unwrap().bytes_in_flight, 0);
    assert_eq!(count(&r, Counter::Retransmits), 6);
}

#[test]
fn duplicated_acks_are_not_duplicate_acks() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open(&mut r, true, ms(1));
    let seg = |k: u32| iss1 + MSS * k;
    send(&mut r, c, 10);
    r.advance(ms(1));
    // The network duplicates one ACK five times (and it says nothing new).
    for _ in 0..5 {
        peer_ack(&mut r, seg(4), none());
    }
    // And duplicates of data make the peer send D-SACKs.
    for _ in 0..3 {
        peer_ack(&mut r, seg(4), sack(&[(seg(2), seg(3))]));
    }
    assert!(data_seqs(&r.poll()).iter().all(|&s| s >= seg(10)));
    assert_eq!(count(&r, Counter::DupAcks), 0);
    assert_eq!(count(&r, Counter::DsacksIn), 3);
    assert_eq!(count(&r, Counter::Retransmits), 0);
    assert_eq!(count(&r, Counter::FastRetransmits), 0);
}

#[test]
fn newreno_counts_duplicate_acks_and_sends_new_data_on_the_first_two() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open(&mut r, false, ms(1));
    let seg = |k: u32| iss1 + MSS * k;
    assert_eq!(send(&mut r, c, 14).len(), 10);
    r.advance(ms(1));
    // Segment 0 lost: the first two duplicate ACKs each let one new segment out
    // (limited transmit, RFC 3042), the third brings the fast retransmit.
    peer_ack(&mut r, seg(0), none());
    assert_eq!(data_seqs(&r.poll()), vec![seg(10)]);
    peer_ack(&mut r, seg(0), none());
    assert_eq!(data_seqs(&r.poll()), vec![seg(11)]);
    peer_ack(&mut r, seg(0), none());
    assert_eq!(data_seqs(&r.poll()).first(), Some(&seg(0)));
    assert_eq!(count(&r, Counter::NewRenoRecoveries), 1);
}

#[test]
fn a_recovery_caused_by_reordering_is_undone_by_dsack() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = open(&mut r, true, Duration::ZERO);
    let seg = |k: u32| iss1 + MSS * k;
    send(&mut r, c, 10);
    peer_ack(&mut r, seg(1), none());
    r.poll();
    let before = r.host.tcp.conn_info(c).unwrap().cwnd;
    // Segment 1 is only late, but it looks lost: resent, window halved.
    peer_ack(&mut r, seg(1), sack(&[(seg(2), seg(5))]));
    assert_eq!(data_seqs(&r.poll()), vec![seg(1)]);
    assert!(r.host.tcp.conn_info(c).unwrap().cwnd < before);
    // It arrives (everything is acknowledged), then the retransmission: the peer
    // reports that with a D-SACK.
    peer_ack(&mut r, seg(10), none());
    r.poll();
    assert_eq!(count(&r, Counter::RecoveriesUndone), 0);
    peer_ack(&mut r, seg(10), sack(&[(seg(1), seg(2))]));
    r.poll();
    assert_eq!(count(&r, Counter::RecoveriesUndone), 1);
    assert!(r.host.tcp.conn_info(c).unwrap().cwnd >= before);
}

#[test]
fn a_duplicate_segment_is_reported_at_once_with_a_dsack_block() {
    let mut r = Raw::new(TcpConfig {
        dsack: true,
        ..cfg()
    });
    r.host.app.hold = true;
    let (iss1, _c) = open(&mut r, true, Duration::ZERO);
    let nxt = PEER_ISN + 1;
    let data = pattern(200, 5);
    r.inject(SPORT, PORT, nxt, iss1, ack(), 65535, none(), &data[..100]);
    r.poll();
    r.advance(ms(1));
    // The same segment again, and one beyond a gap twice.
    r.inject(SPORT, PORT, nxt, iss1, ack(), 65535, none(), &data[..100]);
    let out = r.poll();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].hdr.ack, Seq(nxt + 100));
    assert_eq!(
        out[0].hdr.options.sack.as_slice(),
        &[(Seq(nxt), Seq(nxt + 100))]
    );
    for _ in 0..2 {
        r.inject(
            SPORT,
            PORT,
            nxt + 150,
            iss1,
            ack(),
            65535,
            none(),
            &data[150..],
        );
    }
    let out = r.poll();
    assert_eq!(
        out.len(),
        2,
        "each out-of-order segment is answered at once"
    );
    let ooo = (Seq(nxt + 150), Seq(nxt + 200));
    assert_eq!(out[0].hdr.options.sack.as_slice(), &[ooo]);
    assert_eq!(
        out[1].hdr.options.sack.as_slice(),
        &[ooo, ooo],
        "D-SACK, then its block"
    );
    assert_eq!(count(&r, Counter::DsacksOut), 2);
}

#[test]
fn data_segments_carrying_sack_blocks_stay_within_the_mtu() {
    let mut r = Raw::new(cfg());
    r.host.app.hold = true;
    let (iss1, c) = open(&mut r, true, Duration::ZERO);
    let nxt = PEER_ISN + 1;
    // Out-of-order data from the peer: every segment we send now carries a SACK
    // block (12 bytes of options), which must come out of the payload.
    r.inject(
        SPORT,
        PORT,
        nxt + 1000,
        iss1,
        ack(),
        65535,
        none(),
        &[7; 100],
    );
    r.poll();
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
    assert_eq!(count(&r, Counter::TxFailed), 0);
    // The bytes still go in order, nothing skipped.
    let mut at = iss1;
    for o in &out {
        assert_eq!(o.hdr.seq, Seq(at));
        at = at.wrapping_add(o.payload.len() as u32);
    }
    assert_eq!(out.last().unwrap().hdr.flags, Flags::ACK.with(Flags::PSH));
}

#[test]
fn without_dsack_configured_a_duplicate_gets_a_plain_ack() {
    let mut r = Raw::new(cfg());
    assert!(!r.host.tcp.config().dsack, "off by default");
    r.host.app.hold = true;
    let (iss1, _c) = open(&mut r, true, Duration::ZERO);
    let nxt = PEER_ISN + 1;
    let data = pattern(100, 5);
    r.inject(SPORT, PORT, nxt, iss1, ack(), 65535, none(), &data);
    r.poll();
    r.advance(ms(1));
    r.inject(SPORT, PORT, nxt, iss1, ack(), 65535, none(), &data);
    let out = r.poll();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].hdr.ack, Seq(nxt + 100));
    assert!(out[0].hdr.options.sack.is_empty());
    assert_eq!(count(&r, Counter::DsacksOut), 0);
}

//! Packet-level tests of fast retransmit on three duplicate ACKs: with SACK (only
//! the holes are resent) and without (NewReno and its partial ACKs). The test plays
//! the peer; `loss_recovery.rs` covers RACK, probes and undo.

mod support;

use ix_tcp::seq::Seq;
use ix_tcp::{ConnId, Counter};
use support::*;

/// Sends `n` MSS-sized segments from the engine; returns them.
fn send_segments(r: &mut Raw, c: ConnId, n: usize) -> Vec<Out> {
    let data = pattern(1460 * n, 42);
    r.host.queue(c, &data);
    let out = r.poll();
    assert_eq!(out.len(), n, "initial window of 10 segments");
    out
}

/// With SACK, three duplicate ACKs resend the hole at once (no timeout), and the
/// recovery ends with every byte acknowledged and a reduced window.
#[test]
fn fast_retransmit_with_sack_before_any_timeout() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = r.open_passive(OPEN.sack(true));
    let segs = send_segments(&mut r, c, 10);
    assert!(segs.iter().all(|s| s.payload.len() == 1460));
    // Segment 0 lost: three duplicate ACKs with growing SACK blocks.
    for k in 1..=3u32 {
        r.inject(
            PEER.ack(NXT, iss1)
                .sack(&[(iss1 + 1460, iss1 + 1460 * (k + 1))]),
        );
    }
    let out = r.poll();
    let re: Vec<_> = out.iter().filter(|o| !o.payload.is_empty()).collect();
    assert_eq!(re[0].hdr.seq, Seq(iss1), "hole retransmitted at once");
    assert_eq!(re[0].payload, segs[0].payload);
    assert_eq!(
        (
            r.count(Counter::FastRetransmits),
            r.count(Counter::SackRecoveries),
            r.count(Counter::RtoFired)
        ),
        (1, 1, 0)
    );
    // Everything acknowledged: recovery ends, the application hears all bytes sent.
    r.reply_to(PEER.ack(NXT, iss1 + 14600));
    assert_eq!(r.host.app.log[&c].acked, 14600);
    let info = r.host.tcp.conn_info(c).unwrap();
    assert_eq!(info.bytes_in_flight, 0);
    assert!(
        info.cwnd < 14600 + 1460,
        "window was reduced: {}",
        info.cwnd
    );
}

/// SACK recovery with two holes resends exactly the two holes, nothing SACKed.
#[test]
fn sack_recovery_resends_only_the_holes() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = r.open_passive(OPEN.sack(true));
    send_segments(&mut r, c, 10);
    let seg = |k: u32| iss1 + 1460 * k;
    // Segments 2 and 5 lost: the peer holds 0-1 (cumulative), 3-4 and 6-9.
    r.reply_to(PEER.ack(NXT, seg(2)));
    for _ in 0..3 {
        r.inject(
            PEER.ack(NXT, seg(2))
                .sack(&[(seg(6), seg(10)), (seg(3), seg(5))]),
        );
    }
    let re = data_seqs(&r.poll());
    assert_eq!(re, vec![seg(2), seg(5)], "exactly the two holes");
}

/// Without SACK, three duplicate ACKs start NewReno recovery; a partial ACK
/// resends the next hole at once, and the full ACK ends it without a timeout.
#[test]
fn newreno_fast_retransmit_and_partial_acks() {
    let mut r = Raw::new(cfg());
    let (iss1, c) = r.open_passive(OPEN);
    send_segments(&mut r, c, 10);
    let seg = |k: u32| iss1 + 1460 * k;
    for _ in 0..3 {
        r.inject(PEER.ack(NXT, seg(0)));
    }
    assert_eq!(data_seqs(&r.poll()), vec![seg(0)]);
    assert_eq!(r.count(Counter::NewRenoRecoveries), 1);
    // Partial ACK up to segment 4: segment 4 is resent at once.
    let re = data_seqs(&r.reply_to(PEER.ack(NXT, seg(4))));
    assert_eq!(re.first(), Some(&seg(4)));
    r.reply_to(PEER.ack(NXT, seg(10)));
    assert_eq!(r.host.tcp.conn_info(c).unwrap().bytes_in_flight, 0);
    assert_eq!(r.count(Counter::RtoFired), 0);
}

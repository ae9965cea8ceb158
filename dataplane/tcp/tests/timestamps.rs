//! Packet-level tests of RFC 7323 timestamps (`TcpConfig::timestamps`): negotiation
//! both ways, TSopt on every segment, TS.Recent by the Last.ACK.sent rule, PAWS,
//! RTT samples from TSecr, SYN cookies and TIME_WAIT. The test plays the peer.

mod support;

use ix_tcp::header::Flags;
use ix_tcp::options::TcpOptions;
use ix_tcp::seq::Seq;
use ix_tcp::{ConnId, Counter, State, TcpConfig};
use std::time::Duration;
use support::*;

/// SYN or data options with timestamps `(tsval, tsecr)` (and MSS 1460 if `syn`).
fn ts(tsval: u32, tsecr: u32, syn: bool) -> TcpOptions {
    TcpOptions {
        mss: syn.then_some(1460),
        timestamps: Some((tsval, tsecr)),
        ..TcpOptions::default()
    }
}

/// Timestamps on, window scaling off (so windows read plainly).
fn ts_cfg() -> TcpConfig {
    TcpConfig {
        timestamps: true,
        window_scaling: false,
        ..cfg()
    }
}

/// A passive open from `PEER` offering timestamps (TSval 100 in the SYN, 110 in
/// the ACK): the connection, the engine's next sequence number, and the TSval its
/// SYN-ACK carried.
fn open_with_ts(r: &mut Raw) -> (ConnId, u32, u32) {
    r.host.tcp.listen(PORT).unwrap();
    let out = r.reply_to(PEER.syn(PEER_ISN).opts(ts(100, 0, true)));
    assert_eq!(out.len(), 1, "{out:?}");
    let sa = &out[0].hdr;
    assert_eq!(sa.flags, SYN_ACK);
    let (tsv, ecr) = sa.options.timestamps.expect("SYN-ACK answers TSopt");
    assert_eq!(ecr, 100, "the SYN-ACK echoes the SYN's TSval");
    let iss1 = sa.seq.0 + 1;
    r.advance(ms(10));
    assert!(r
        .reply_to(PEER.ack(NXT, iss1).opts(ts(110, tsv, false)))
        .is_empty());
    let c = *r.host.app.knocks.last().unwrap();
    assert_eq!(r.host.tcp.state(c), Ok(State::Established));
    (c, iss1, tsv)
}

/// Offered by the peer and on here: negotiated, the MSS 12 bytes smaller, and
/// every segment after carries TSopt, its TSval from a ms clock, its TSecr the
/// peer's latest.
#[test]
fn passive_open_negotiates_when_offered() {
    let mut r = Raw::new(ts_cfg());
    let (c, iss1, tsv) = open_with_ts(&mut r);
    let info = r.host.tcp.conn_info(c).unwrap();
    assert!(info.timestamps);
    assert_eq!(
        info.mss,
        1460 - 12,
        "TSopt comes off every segment's payload"
    );
    r.advance(ms(25));
    r.host.queue(c, &pattern(3000, 1));
    let out = r.poll();
    assert_eq!(data_seqs(&out), vec![iss1, iss1 + 1448, iss1 + 2896]);
    for o in &out {
        let (v, e) = o
            .hdr
            .options
            .timestamps
            .expect("every segment carries TSopt");
        assert_eq!(e, 110, "TSecr is TS.Recent");
        assert_eq!(v.wrapping_sub(tsv), 35, "TSval: a 1 ms clock");
    }
}

/// Timestamps on here but not offered by the peer (or offered but off here): not
/// negotiated, no TSopt anywhere, the full MSS.
#[test]
fn not_negotiated_unless_both_sides_want_them() {
    let mut r = Raw::new(ts_cfg());
    let (_, c) = r.open_passive(OPEN);
    let info = r.host.tcp.conn_info(c).unwrap();
    assert!(!info.timestamps);
    assert_eq!(info.mss, 1460);
    r.host.queue(c, b"hello");
    let out = r.poll();
    assert_eq!(out[0].hdr.options.timestamps, None);

    let mut r = Raw::new(TcpConfig {
        window_scaling: false,
        ..cfg()
    });
    r.host.tcp.listen(PORT).unwrap();
    let out = r.reply_to(PEER.syn(PEER_ISN).opts(ts(100, 0, true)));
    assert_eq!(out[0].hdr.options.timestamps, None, "off by default");
}

/// Active open: our SYN offers TSopt (TSecr 0); a SYN-ACK answering it negotiates
/// them, one without does not.
#[test]
fn active_open_offers_and_follows_the_answer() {
    for answered in [true, false] {
        let mut r = Raw::new(ts_cfg());
        let (c, server) = r.connect_from(5000, PORT);
        let out = r.poll();
        assert_eq!(out[0].hdr.flags, Flags::SYN);
        let (v, e) = out[0].hdr.options.timestamps.expect("our SYN offers TSopt");
        assert_eq!(e, 0);
        let iss = out[0].hdr.seq.0;
        r.advance(ms(10));
        let opts = if answered {
            ts(500, v, true)
        } else {
            syn_opts(1460, false, None)
        };
        let out = r.reply_to(server.seg(SYN_ACK, 7000, iss + 1).opts(opts));
        assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss + 1), Seq(7001))]);
        let info = r.host.tcp.conn_info(c).unwrap();
        assert_eq!(info.timestamps, answered);
        if answered {
            let (v2, e2) = out[0].hdr.options.timestamps.unwrap();
            assert_eq!((v2.wrapping_sub(v), e2), (10, 500));
            assert_eq!(info.mss, 1448);
        } else {
            assert_eq!(out[0].hdr.options.timestamps, None);
            assert_eq!(info.mss, 1460);
        }
    }
}

/// RFC 7323 4.3: TS.Recent takes a segment's TSval only if the segment starts at or
/// before the ACK we last sent: a segment beyond a gap does not move it, the one
/// filling the gap does.
#[test]
fn ts_recent_follows_last_ack_sent() {
    let mut r = Raw::new(ts_cfg());
    let (_, iss1, _) = open_with_ts(&mut r);
    // In order: acknowledged (delayed ACK) with its TSval echoed.
    let mut out = r.reply_to(
        PEER.psh_ack(NXT, iss1)
            .data(&[1; 10])
            .opts(ts(120, 0, false)),
    );
    out.extend(r.tick(ms(1)));
    let acks: Vec<_> = out.iter().filter(|o| o.hdr.ack == Seq(NXT + 10)).collect();
    assert_eq!(acks[0].hdr.options.timestamps.unwrap().1, 120);
    // Beyond a gap (NXT+10..NXT+20 missing): the duplicate ACK still echoes 120.
    let out = r.reply_to(
        PEER.psh_ack(NXT + 20, iss1)
            .data(&[3; 10])
            .opts(ts(130, 0, false)),
    );
    assert_eq!(out[0].hdr.ack, Seq(NXT + 10));
    assert_eq!(out[0].hdr.options.timestamps.unwrap().1, 120);
    // The gap filled: TS.Recent is the filler's.
    let out = r.reply_to(
        PEER.psh_ack(NXT + 10, iss1)
            .data(&[2; 10])
            .opts(ts(140, 0, false)),
    );
    assert_eq!(out[0].hdr.ack, Seq(NXT + 30));
    assert_eq!(out[0].hdr.options.timestamps.unwrap().1, 140);
}

/// PAWS (RFC 7323 5): a data segment whose TSval is older than TS.Recent is
/// dropped, counted and answered with an ACK; a RST is not subject to it; a
/// segment without TSopt is accepted and counted.
#[test]
fn paws_drops_old_duplicates_and_acks() {
    let mut r = Raw::new(ts_cfg());
    let (c, iss1, _) = open_with_ts(&mut r);
    let out = r.reply_to(
        PEER.psh_ack(NXT, iss1)
            .data(b"stale")
            .opts(ts(105, 0, false)),
    );
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss1), Seq(NXT))]);
    assert_eq!(out[0].hdr.options.timestamps.unwrap().1, 110);
    assert_eq!(r.count(Counter::PawsDropped), 1);
    assert!(r.host.app.log.get(&c).is_none_or(|l| l.data.is_empty()));
    // Without TSopt: accepted (as Linux does), counted.
    r.inject(PEER.psh_ack(NXT, iss1).data(b"fresh"));
    r.tick(ms(1));
    assert_eq!(r.host.app.log[&c].data, b"fresh");
    assert_eq!(r.count(Counter::TsMissing), 1);
    // A RST with an old TSval still resets.
    r.inject(PEER.seg(Flags::RST, NXT + 5, 0).opts(ts(1, 0, false)));
    r.poll();
    assert_eq!(r.count(Counter::RstsIn), 1);
    assert_eq!(r.count(Counter::PawsDropped), 1);
}

/// RTT from TSecr: a retransmitted segment gives Karn's rule no sample, but the
/// echo of the retransmission's TSval measures it exactly.
#[test]
fn rtt_sampled_from_tsecr_after_a_retransmission() {
    for on in [true, false] {
        let mut r = Raw::new(TcpConfig {
            timestamps: on,
            ..ts_cfg()
        });
        let (c, iss1) = if on {
            let (c, iss1, _) = open_with_ts(&mut r);
            (c, iss1)
        } else {
            let (iss1, c) = r.open_passive(OPEN.rtt(ms(10)));
            (c, iss1)
        };
        let srtt0 = r.host.tcp.conn_info(c).unwrap().srtt;
        assert_eq!(srtt0, Some(ms(10)), "the handshake's sample");
        r.host.queue(c, b"0123456789");
        r.poll();
        // Lost: the retransmission timer (rto_min, 200 ms) resends it.
        let mut rtx = None;
        r.tick_until(ms(10), 200, |_, _, out| {
            rtx = out.into_iter().find(|o| !o.payload.is_empty());
            rtx.is_some()
        });
        let rtx = rtx.expect("retransmission").hdr;
        assert_eq!(rtx.seq, Seq(iss1));
        assert_eq!(rtx.options.timestamps.is_some(), on);
        r.advance(ms(30));
        let opts = if on {
            ts(200, rtx.options.timestamps.unwrap().0, false)
        } else {
            TcpOptions::default()
        };
        assert!(r.reply_to(PEER.ack(NXT, iss1 + 10).opts(opts)).is_empty());
        let srtt = r.host.tcp.conn_info(c).unwrap().srtt;
        if on {
            assert_eq!(r.count(Counter::TsRttSamples), 1);
            // RFC 6298: 7/8 * 10 ms + 1/8 * 30 ms.
            assert_eq!(srtt, Some(Duration::from_micros(12_500)));
        } else {
            assert_eq!(srtt, srtt0, "Karn: no sample from a retransmission");
        }
    }
}

/// SYN cookies stay option-less with timestamps on: a peer offering TSopt gets a
/// cookie SYN-ACK without it, and the connection runs without timestamps.
#[test]
fn syn_cookies_do_not_negotiate_timestamps() {
    let mut r = Raw::new(TcpConfig {
        syn_backlog: 1,
        ..ts_cfg()
    });
    r.host.tcp.listen(PORT).unwrap();
    let out = r.reply_to(PEER.syn(PEER_ISN).opts(ts(100, 0, true)));
    assert!(
        out[0].hdr.options.timestamps.is_some(),
        "a queued SYN negotiates"
    );
    let second = PEER.offset(1);
    let out = r.reply_to(second.syn(5000).opts(ts(100, 0, true)));
    assert_eq!(r.count(Counter::SynCookiesSent), 1);
    let sa = &out[0].hdr;
    assert_eq!(
        sa.options.timestamps, None,
        "cookie SYN-ACKs carry only the MSS"
    );
    let out = r.reply_to(second.ack(5001, sa.seq.0 + 1).data(b"hi"));
    assert_eq!(r.count(Counter::SynCookiesOk), 1);
    let c = *r.host.app.knocks.last().unwrap();
    let info = r.host.tcp.conn_info(c).unwrap();
    assert_eq!((info.timestamps, info.mss), (false, 1460));
    assert!(out.iter().all(|o| o.hdr.options.timestamps.is_none()));
    r.host.queue(c, b"reply");
    let out = r.poll();
    assert_eq!(out[0].payload, b"reply");
    assert_eq!(out[0].hdr.options.timestamps, None);
    assert_eq!(r.count(Counter::TsMissing), 0);
}

/// The ACKs of TIME_WAIT carry TSopt too (the peer's FIN retransmitted).
#[test]
fn time_wait_acks_carry_timestamps() {
    let mut r = Raw::new(ts_cfg());
    let (c, iss1, _) = open_with_ts(&mut r);
    r.host.tcp.close(c).unwrap();
    let out = r.poll();
    assert_eq!(shape(&out), vec![(FIN_ACK, Seq(iss1), Seq(NXT))]);
    let fin = PEER.fin_ack(NXT, iss1 + 1).opts(ts(150, 0, false));
    let out = r.reply_to(fin.clone());
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss1 + 1), Seq(NXT + 1))]);
    assert_eq!(out[0].hdr.options.timestamps.unwrap().1, 150);
    assert_eq!(r.host.tcp.time_wait_count(), 1);
    r.advance(ms(10));
    let out = r.reply_to(fin.opts(ts(160, 0, false)));
    assert_eq!(shape(&out), vec![(Flags::ACK, Seq(iss1 + 1), Seq(NXT + 1))]);
    assert_eq!(out[0].hdr.options.timestamps.unwrap().1, 150);
}

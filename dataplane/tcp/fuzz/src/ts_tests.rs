//! Scripts with RFC 7323 timestamps on, through the harness with every check on:
//! negotiation (and its absence), PAWS, a segment without TSopt, RTT samples
//! from TSecr, TS.Recent's 24-day validity, SYN cookies without TSopt; and that
//! the TSopt checks refuse what the engine must not send.

use crate::app::Phase;
use crate::check::Out;
use crate::grammar::{
    AckChoice, Action, FlagChoice, OffsetChoice, Options, PayloadLen, PortChoice, SegSpec, SendLen,
    SeqChoice, Target, Time, TsChoice, TsEcr, TsVal, WindowChoice,
};
use crate::peer::ACK;
use crate::setup::{Features, PeerMss, PeerSyn, Setup, Sizes};
use crate::wire::Checksum;
use crate::world::World;
use ix_tcp::Counter;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

/// Two passive and one active connection, timestamps as `on` says.
fn ts_setup(on: bool) -> Setup {
    Setup {
        sizes: Sizes::Roomy,
        passive: 1,
        active: 1,
        features: Features {
            sack: true,
            dsack: true,
            window_scaling: true,
            syncookies: true,
            keepalive: false,
            user_timeout: false,
            quick_ack: true,
            timestamps: on,
        },
        peer: PeerSyn {
            mss: Some(PeerMss::Ethernet),
            wscale: Some(7),
            sack: true,
        },
        small_mss: false,
        peer_isn: u32::MAX - 100,
        engine_isn: None,
    }
}

/// TSopt with this TSval choice, echoing the engine's latest TSval.
fn put(val: TsVal) -> TsChoice {
    TsChoice::Put {
        val,
        ecr: TsEcr::Echo,
    }
}

/// `len` bytes of in-order data on flow `flow` with TSopt `ts`.
fn data(flow: u8, len: u8, ts: TsChoice) -> SegSpec {
    SegSpec {
        target: Target::Flow(flow),
        flags: FlagChoice::PshAck,
        seq: SeqChoice::Next,
        ack: AckChoice::All,
        window: WindowChoice::Full,
        options: Options::default(),
        payload: if len == 0 {
            PayloadLen::Empty
        } else {
            PayloadLen::Small(len)
        },
        offset: OffsetChoice::Exact,
        checksum: Checksum::Valid,
        ts,
    }
}

/// Bytes connection `i` has delivered so far (its next expected sequence number).
fn rx(w: &World, i: usize) -> Option<u32> {
    w.app.conns[i].rx_next.map(|s| s.0)
}

#[test]
fn negotiated_connections_carry_tsopt_and_paws_drops_old_segments() {
    let mut w = World::new(&ts_setup(true));
    for c in &w.app.conns {
        assert!(w.tcp.conn_info(c.id).expect("open").timestamps, "{c:?}");
    }
    w.step(&Action::Seg(data(0, 10, put(TsVal::Tick(3)))));
    let delivered = rx(&w, 0);
    // An old TSval: dropped, answered with an ACK (which the checks check).
    let segs = w.tcp.stats().get(Counter::SegsOut);
    w.step(&Action::Seg(data(0, 10, put(TsVal::Old(5)))));
    assert_eq!(w.tcp.stats().get(Counter::PawsDropped), 1);
    assert_eq!(rx(&w, 0), delivered, "nothing delivered");
    assert_eq!(w.tcp.stats().get(Counter::SegsOut), segs + 1, "an ACK");
    // No TSopt: counted, accepted (the bytes PAWS dropped are resent first).
    w.step(&Action::Seg(SegSpec {
        seq: SeqChoice::Rcv(0),
        ..data(0, 20, TsChoice::Absent)
    }));
    assert_eq!(w.tcp.stats().get(Counter::TsMissing), 1);
    assert_eq!(rx(&w, 0), delivered.map(|s| s.wrapping_add(20)));
    // The engine sends, and retransmits on timeout (Karn's rule then times
    // nothing): the peer's echo of the retransmission's TSval times the round trip.
    w.step(&Action::Send {
        conn: 0,
        len: SendLen::Large(1000),
    });
    let rtx = w.tcp.stats().get(Counter::SegsOut);
    w.step(&Action::Advance(Time(Duration::from_secs(2))));
    assert!(w.tcp.stats().get(Counter::SegsOut) > rtx, "retransmitted");
    w.step(&Action::Advance(Time(Duration::from_millis(30))));
    w.step(&Action::Seg(data(0, 0, put(TsVal::Tick(30)))));
    assert_eq!(w.app.conns[0].acked, 1000);
    assert!(w.tcp.stats().get(Counter::TsRttSamples) >= 1);
    // A RST with an old TSval is not PAWS's to drop: it ends the connection.
    w.step(&Action::Seg(SegSpec {
        flags: FlagChoice::Rst,
        ..data(0, 0, put(TsVal::Old(1000)))
    }));
    assert_eq!(w.app.conns[0].phase, Phase::Gone);
    w.finish();
}

#[test]
fn ts_recent_expires_after_24_idle_days() {
    let mut w = World::new(&ts_setup(true));
    w.step(&Action::Seg(data(1, 10, put(TsVal::Tick(1)))));
    let delivered = rx(&w, 1).expect("data");
    w.step(&Action::Advance(Time(Duration::from_secs(25 * 86_400))));
    // 5.5: TS.Recent is no longer valid, so an older TSval passes (and the
    // engine's TSval clock has run on 25 days: past 2^31 ms, which the
    // harness's clock check must tell from going back).
    w.step(&Action::Seg(data(1, 10, put(TsVal::Old(1000)))));
    assert_eq!(w.tcp.stats().get(Counter::PawsDropped), 0);
    assert_eq!(rx(&w, 1), Some(delivered.wrapping_add(10)));
    w.finish();
}

#[test]
fn cookie_syn_acks_and_peers_without_tsopt_get_none() {
    let mut s = ts_setup(true);
    s.sizes = Sizes::Tight; // a SYN queue of 2
    let mut w = World::new(&s);
    let syn = |port: u16, ts| SegSpec {
        target: Target::Fresh {
            peer: 1,
            sport: PortChoice::Raw(port),
            dport: PortChoice::Listen,
        },
        flags: FlagChoice::Syn,
        ..data(0, 0, ts)
    };
    // A SYN without TSopt: a SYN-ACK without it (the checks say so).
    w.step(&Action::Seg(syn(5000, TsChoice::Absent)));
    // Two offering it: the first fills the queue; the second gets a cookie.
    for port in [5001, 5002] {
        w.step(&Action::Seg(syn(port, put(TsVal::Tick(1)))));
    }
    assert_eq!(w.tcp.stats().get(Counter::SynCookiesSent), 1);
    assert_eq!(w.seen.cookie_like, 1);
    // The cookie's ACK completes a connection without timestamps.
    let flows = w.flows.iter().count() as u8;
    w.step(&Action::Seg(SegSpec {
        flags: FlagChoice::Ack,
        ..data(flows - 1, 0, put(TsVal::Tick(1)))
    }));
    assert_eq!(w.tcp.stats().get(Counter::SynCookiesOk), 1);
    let c = w.app.conns.last().expect("the cookie's connection");
    assert_eq!(c.tuple.remote_port, 5002);
    assert!(!w.tcp.conn_info(c.id).expect("knocked").timestamps);
    w.finish();
}

#[test]
fn an_engine_without_timestamps_ignores_offers() {
    let mut s = ts_setup(false);
    s.features.timestamps = false;
    let mut w = World::new(&s);
    // The peer offers anyway (a SYN's own TSopt item) and puts TSopt on data.
    w.step(&Action::Seg(SegSpec {
        target: Target::Fresh {
            peer: 0,
            sport: PortChoice::Raw(6000),
            dport: PortChoice::Listen,
        },
        flags: FlagChoice::Syn,
        options: Options(vec![crate::grammar::OptItem::Timestamps(5, 0)]),
        ..data(0, 0, TsChoice::Absent)
    }));
    w.step(&Action::Seg(data(0, 10, put(TsVal::Tick(1)))));
    w.step(&Action::Seg(data(0, 10, put(TsVal::Old(9)))));
    assert_eq!(w.tcp.stats().get(Counter::PawsDropped), 0);
    for c in &w.app.conns {
        assert!(!w.tcp.conn_info(c.id).expect("open").timestamps);
    }
    w.finish();
}

/// The checks refuse TSopt the engine must not send: checked with forged
/// segments on connection 0's tuple (negotiated) and a fresh engine's (not).
#[test]
fn the_tsopt_checks_refuse_bad_echoes_and_missing_options() {
    let w = World::new(&ts_setup(true));
    let tuple = w.app.conns[0].tuple;
    let eng_last = w.flows.get(tuple).and_then(|f| f.ts.eng_last);
    let peer_sent: Vec<u32> = w
        .flows
        .get(tuple)
        .expect("flow")
        .ts
        .sent
        .iter()
        .copied()
        .collect();
    let val = eng_last.expect("TSopt seen");
    let out = |ts| Out {
        dst: crate::addrs::PEER_IPS[tuple.peer],
        sport: tuple.local_port,
        dport: tuple.remote_port,
        seq: 1,
        ack: 1,
        flags: ACK,
        window: 100,
        mss: None,
        wscale: None,
        sack_permitted: false,
        sack: Vec::new(),
        ts,
        payload: Vec::new(),
    };
    let refused = |w: &mut World, o: Out| {
        catch_unwind(AssertUnwindSafe(|| w.check_tsopt(tuple, &o))).is_err()
    };
    let never_sent = (0..).find(|v| !peer_sent.contains(v)).expect("a value");
    let mut w = w;
    assert!(
        refused(&mut w, out(Some((val, never_sent)))),
        "TSecr not sent"
    );
    assert!(refused(&mut w, out(None)), "TSopt missing");
    assert!(
        refused(&mut w, out(Some((val.wrapping_sub(1), peer_sent[0])))),
        "TSval back"
    );
    assert!(
        !refused(&mut w, out(Some((val, peer_sent[0])))),
        "a right one passes"
    );
    let mut off = World::new(&ts_setup(false));
    let tuple = off.app.conns[0].tuple;
    let o = Out {
        dport: tuple.remote_port,
        ..out(Some((1, 0)))
    };
    assert!(
        catch_unwind(AssertUnwindSafe(|| off.check_tsopt(tuple, &o))).is_err(),
        "TSopt, not configured"
    );
}

/// Half the pseudo-random inputs (the first bit) turn timestamps on, and among
/// the first 300 some drop segments by PAWS, count segments without TSopt and
/// time round trips by TSecr: the fuzzer's seeds reach the timestamp code.
#[test]
fn pseudo_random_scripts_reach_the_timestamp_code() {
    use arbitrary::{Arbitrary, Unstructured};
    let (mut on, mut paws, mut missing, mut rtt) = (0, 0, 0, 0);
    for seed in 0..300 {
        let b = crate::random::bytes(seed, 1000);
        let script =
            crate::grammar::Script::arbitrary_take_rest(Unstructured::new(&b)).expect("decodes");
        assert_eq!(script.setup.features.timestamps, b[0] & 1 == 1);
        let mut w = World::new(&script.setup);
        for a in script.actions.iter().take(crate::grammar::MAX_ACTIONS) {
            w.step(a);
        }
        let s = w.tcp.stats();
        on += usize::from(script.setup.features.timestamps);
        paws += usize::from(s.get(Counter::PawsDropped) > 0);
        missing += usize::from(s.get(Counter::TsMissing) > 0);
        rtt += usize::from(s.get(Counter::TsRttSamples) > 0);
        w.finish();
    }
    assert!((100..=200).contains(&on), "{on} of 300 with timestamps");
    assert!(
        paws > 30 && missing > 30 && rtt > 30,
        "{paws} {missing} {rtt}"
    );
}

//! Checks of the harness itself, without libFuzzer: every set-up opens its
//! connections and tears down clean, scripted exchanges pass the checks, and
//! pseudo-random inputs run (a smoke test of the grammar and the checks together).

use crate::grammar::{
    AckChoice, Action, FlagChoice, OffsetChoice, Options, PayloadLen, Script, SegSpec, SendLen,
    SeqChoice, Target, Time, TsChoice, WindowChoice,
};
use crate::setup::{Features, PeerMss, PeerSyn, Setup, Sizes};
use crate::wire::Checksum;
use crate::world::World;
use arbitrary::{Arbitrary, Unstructured};
use ix_tcp::Counter;
use std::time::Duration;

fn setup(sizes: Sizes, sack: bool) -> Setup {
    Setup {
        sizes,
        passive: 3,
        active: 2,
        features: Features {
            sack,
            dsack: sack,
            window_scaling: true,
            syncookies: true,
            keepalive: false,
            user_timeout: false,
            quick_ack: false,
            timestamps: false,
        },
        peer: PeerSyn {
            mss: Some(PeerMss::Ethernet),
            wscale: Some(7),
            sack,
        },
        small_mss: false,
        peer_isn: u32::MAX - 3000,
        engine_isn: None,
    }
}

fn seg(
    flow: u8,
    flags: FlagChoice,
    seq: SeqChoice,
    ack: AckChoice,
    payload: PayloadLen,
) -> SegSpec {
    SegSpec {
        target: Target::Flow(flow),
        flags,
        seq,
        ack,
        window: WindowChoice::Full,
        options: Options::default(),
        payload,
        offset: OffsetChoice::Exact,
        checksum: Checksum::Valid,
        ts: TsChoice::Absent,
    }
}

fn data(flow: u8, seq: SeqChoice, n: u8) -> Action {
    Action::Seg(seg(
        flow,
        FlagChoice::PshAck,
        seq,
        AckChoice::All,
        PayloadLen::Small(n),
    ))
}

fn ack(flow: u8, a: AckChoice) -> Action {
    Action::Seg(seg(
        flow,
        FlagChoice::Ack,
        SeqChoice::Next,
        a,
        PayloadLen::Empty,
    ))
}

#[test]
fn every_setup_opens_and_tears_down_clean() {
    for sizes in [Sizes::Roomy, Sizes::Tight, Sizes::Starved] {
        for sack in [false, true] {
            let mut s = setup(sizes, sack);
            for (passive, active) in [(0, 0), (3, 2)] {
                s.passive = passive;
                s.active = active;
                let w = World::new(&s);
                let n = s.passive_count() + s.active_count();
                assert_eq!(w.tcp.conn_count(), n, "{s:?}");
                w.finish();
            }
        }
    }
}

#[test]
fn data_both_ways_then_orderly_close() {
    let s = setup(Sizes::Roomy, true);
    let mut w = World::new(&s);
    // Peer -> engine on flow 0, in order, with a gap filled later.
    w.step(&data(0, SeqChoice::Next, 40));
    w.step(&data(0, SeqChoice::Ahead(100), 30));
    w.step(&data(0, SeqChoice::Next, 100));
    w.step(&data(0, SeqChoice::Next, 5));
    let c0 = w.app.conns[0].clone();
    assert_eq!(
        c0.rx_next.map(|n| n.since(ix_tcp::seq::Seq(s.isn(0)))),
        Some(1 + 175),
        "every byte delivered, once, in order"
    );
    // Engine -> peer on flow 0: the application sends, the peer acknowledges.
    w.step(&Action::Send {
        conn: 0,
        len: SendLen::Large(1400),
    });
    w.step(&Action::Send {
        conn: 0,
        len: SendLen::Large(1400),
    });
    w.step(&ack(0, AckChoice::All));
    assert_eq!(w.app.conns[0].acked, w.app.conns[0].queued);
    assert!(w.app.conns[0].queued >= 1400);
    // Both close: TIME_WAIT on our side.
    w.step(&Action::Close(0));
    w.step(&Action::Seg(seg(
        0,
        FlagChoice::FinAck,
        SeqChoice::Next,
        AckChoice::All,
        PayloadLen::Empty,
    )));
    assert_eq!(w.app.conns[0].phase, crate::app::Phase::Gone);
    assert_eq!(w.tcp.time_wait_count(), 1);
    w.step(&Action::Advance(Time(Duration::from_secs(5))));
    assert_eq!(w.tcp.time_wait_count(), 0);
    w.finish();
}

#[test]
fn duplicate_acks_bring_fast_retransmit() {
    let mut w = World::new(&setup(Sizes::Roomy, false));
    for _ in 0..4 {
        w.step(&Action::Send {
            conn: 0,
            len: SendLen::Large(1460),
        });
    }
    w.step(&ack(0, AckChoice::Same));
    w.step(&Action::Burst {
        seg: seg(
            0,
            FlagChoice::Ack,
            SeqChoice::Next,
            AckChoice::Same,
            PayloadLen::Empty,
        ),
        count: 3,
    });
    assert_eq!(w.tcp.stats().get(Counter::FastRetransmits), 1);
    w.step(&ack(0, AckChoice::All));
    w.finish();
}

#[test]
fn held_segments_close_the_window_and_release_reopens_it() {
    let mut s = setup(Sizes::Tight, true);
    s.peer.mss = Some(PeerMss::Minimum);
    let mut w = World::new(&s);
    w.step(&Action::Hold(true));
    w.step(&Action::Burst {
        seg: seg(
            0,
            FlagChoice::PshAck,
            SeqChoice::Next,
            AckChoice::All,
            PayloadLen::Full,
        ),
        count: 12,
    });
    let info = w.tcp.conn_info(w.app.conns[0].id).unwrap();
    assert_eq!(
        info.rcv_unreleased, 4096,
        "the 4 KiB buffer filled and stays full"
    );
    assert!(
        w.tcp.stats().get(Counter::WindowOverrun) > 0
            || w.tcp.stats().get(Counter::OutOfWindow) > 0
    );
    w.step(&Action::Release(255));
    let info = w.tcp.conn_info(w.app.conns[0].id).unwrap();
    assert_eq!(info.rcv_unreleased, 0);
    w.finish();
}

#[test]
fn sack_blocks_drive_recovery_and_time_wait_answers() {
    use crate::grammar::{OptItem, SackBlock};
    let mut w = World::new(&setup(Sizes::Roomy, true));
    w.step(&Action::Send {
        conn: 0,
        len: SendLen::Bulk(4),
    });
    w.step(&ack(0, AckChoice::Same));
    let mut dup = seg(
        0,
        FlagChoice::Ack,
        SeqChoice::Next,
        AckChoice::Same,
        PayloadLen::Empty,
    );
    for (from, to) in [(40, 80), (100, 140), (160, 200)] {
        dup.options = Options(vec![OptItem::Sack(vec![SackBlock::Span { from, to }])]);
        w.step(&Action::Seg(dup.clone()));
    }
    assert_eq!(w.tcp.stats().get(Counter::SackRecoveries), 1);
    w.step(&ack(0, AckChoice::All));
    w.step(&Action::Close(0));
    let fin = seg(
        0,
        FlagChoice::FinAck,
        SeqChoice::Next,
        AckChoice::All,
        PayloadLen::Empty,
    );
    w.step(&Action::Seg(fin.clone()));
    assert_eq!(w.tcp.time_wait_count(), 1);
    let segs = w.tcp.stats().get(Counter::SegsOut);
    w.step(&Action::Seg(SegSpec {
        seq: SeqChoice::Behind(1),
        ..fin
    }));
    assert_eq!(
        w.tcp.stats().get(Counter::SegsOut),
        segs + 1,
        "TIME_WAIT re-ACKs the FIN"
    );
    w.finish();
}

#[test]
fn sending_on_every_connection_at_once_fills_the_transmit_queue() {
    let mut s = setup(Sizes::Tight, true);
    s.peer.mss = Some(PeerMss::Tiny);
    let mut w = World::new(&s);
    // Six connections' initial windows go out (over a few polls: the ring is short)...
    w.step(&Action::SendAll(SendLen::Bulk(4)));
    for _ in 0..4 {
        w.step(&Action::Poll);
    }
    // ...and every peer acknowledges them in one burst, in two ACKs (each opens the
    // congestion window by an MSS): more to send at once than the queue has room.
    for f in 0..6 {
        for a in [AckChoice::Part(128), AckChoice::All] {
            w.step(&Action::Queue(seg(
                f,
                FlagChoice::Ack,
                SeqChoice::Next,
                a,
                PayloadLen::Empty,
            )));
        }
    }
    w.step(&Action::Poll);
    assert!(w.tcp.stats().get(Counter::TxDeferred) > 0);
    w.step(&Action::Poll);
    w.finish();
}

/// Pseudo-random inputs through the real decoder: `IX_TCP_FUZZ_SEEDS=N` runs N of
/// them (default 300), `IX_TCP_FUZZ_SEED=S` only seed S (with
/// `IX_TCP_FUZZ_TRACE=1 ... -- --nocapture` to see it play).
#[test]
fn pseudo_random_scripts_run_clean() {
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let seeds = match var("IX_TCP_FUZZ_SEED") {
        Some(s) => s..s + 1,
        None => 0..var("IX_TCP_FUZZ_SEEDS").unwrap_or(300),
    };
    for seed in seeds {
        let b = crate::random::bytes(seed, 1000);
        let script = Script::arbitrary_take_rest(Unstructured::new(&b)).unwrap();
        let run = std::panic::catch_unwind(|| World::run(&script.setup, &script.actions));
        assert!(run.is_ok(), "seed {seed} failed: IX_TCP_FUZZ_SEED={seed}");
    }
}

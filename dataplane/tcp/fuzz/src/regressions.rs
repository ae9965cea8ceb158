//! Defects this harness found, in ix-tcp and in the harness itself, each replayed
//! as the script that showed it with every check on: a fixed ix-tcp defect must
//! stay fixed, and the harness must keep telling right behaviour from wrong. (The
//! pseudo-random seeds named below decode to other scripts once the grammar or
//! set-up changes, so each is written out here.)

use crate::app::Phase;
use crate::grammar::{
    AckChoice, Action, FlagChoice, OffsetChoice, OptItem, Options, PayloadLen, PortChoice, SegSpec,
    SendLen, SeqChoice, Target, TsChoice, WindowChoice,
};
use crate::peer::Tuple;
use crate::setup::{Features, PeerMss, PeerSyn, Setup, Sizes};
use crate::wire::Checksum;
use crate::world::World;
use ix_tcp::Counter;

/// One passive connection with SACK (and D-SACK) negotiated.
fn sack_setup() -> Setup {
    Setup {
        sizes: Sizes::Roomy,
        passive: 0,
        active: 0,
        features: Features {
            sack: true,
            dsack: true,
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
            sack: true,
        },
        small_mss: false,
        peer_isn: 1000,
        engine_isn: None,
    }
}

/// A segment on flow `flow`: `len` bytes (with these flags) at `seq`, `ack`, `window`.
fn seg(
    flow: u8,
    flags: FlagChoice,
    seq: SeqChoice,
    ack: AckChoice,
    window: WindowChoice,
    len: u8,
) -> Action {
    Action::Seg(SegSpec {
        target: Target::Flow(flow),
        flags,
        seq,
        ack,
        window,
        options: Options::default(),
        payload: PayloadLen::Small(len),
        offset: OffsetChoice::Exact,
        checksum: Checksum::Valid,
        ts: TsChoice::Absent,
    })
}

/// A data segment on the set-up connection, acknowledging everything.
fn data(flags: FlagChoice, seq: SeqChoice, len: u8) -> Action {
    seg(0, flags, seq, AckChoice::All, WindowChoice::Full, len)
}

/// The bytes connection `i` has received, in order, so far.
fn received(w: &World, i: usize) -> u32 {
    let c = &w.app.conns[i];
    let start = w
        .flows
        .get(c.tuple)
        .and_then(|f| f.synack_ack)
        .expect("handshake seen");
    c.rx_next.expect("data seen").since(start)
}

/// ix-tcp kept out-of-order data held beyond a gap, and reported it in SACK
/// blocks, after a FIN below it was processed: the peer sends 20 bytes at
/// RCV.NXT+9 (held, SACKed as `[RCV.NXT+9, RCV.NXT+29)`), then 8 bytes at RCV.NXT with
/// FIN. The FIN took RCV.NXT to the held data's first byte, and every later ACK
/// carried ACK = N with the block `[N, N+20)`, not above the cumulative ACK, for
/// bytes that can never be delivered (they lie after the FIN); the held buffers
/// stayed until the connection died.
#[test]
fn no_sack_block_at_the_ack_after_a_fin_below_held_data() {
    let mut w = World::new(&sack_setup());
    // 20 bytes at RCV.NXT + 9: held out of order, SACKed.
    w.step(&data(FlagChoice::PshAck, SeqChoice::Rcv(9), 20));
    // 8 bytes at RCV.NXT, then FIN: RCV.NXT becomes the held data's first byte.
    // The engine's ACK must not SACK [ACK, ACK + 20).
    w.step(&data(FlagChoice::FinAck, SeqChoice::Next, 8));
    assert_eq!(received(&w, 0), 8);
    assert_eq!(w.app.conns[0].phase, Phase::Open);
    assert!(w.app.conns[0].peer_closed);
    assert_eq!(
        w.tcp.stats().get(Counter::DataPastFin),
        1,
        "held data released"
    );
    w.finish();
}

/// The same with the held data starting right at the FIN's sequence number: the
/// in-order data joins up with it, yet it must not be delivered (it follows the
/// FIN), and the FIN must not be lost under it.
#[test]
fn held_data_right_after_a_fin_is_not_delivered() {
    let mut w = World::new(&sack_setup());
    w.step(&data(FlagChoice::PshAck, SeqChoice::Rcv(8), 20));
    w.step(&data(FlagChoice::FinAck, SeqChoice::Next, 8));
    assert_eq!(received(&w, 0), 8, "only the bytes before the FIN");
    assert!(w.app.conns[0].peer_closed, "the FIN counted");
    w.finish();
}

/// A FIN beyond a gap, then data past it: refused, never held or SACKed; the gap
/// fills and the connection closes where the FIN said.
#[test]
fn data_past_a_fin_beyond_a_gap_is_refused() {
    let mut w = World::new(&sack_setup());
    // 10 bytes and FIN at RCV.NXT + 10: held, the FIN remembered.
    w.step(&data(FlagChoice::FinAck, SeqChoice::Rcv(10), 10));
    // 30 bytes at RCV.NXT + 25: 15 before the FIN... already held; 15 past it.
    w.step(&data(FlagChoice::PshAck, SeqChoice::Rcv(25), 30));
    assert!(w.tcp.stats().get(Counter::DataPastFin) > 0);
    // The gap fills: 20 bytes delivered, then the FIN.
    w.step(&data(FlagChoice::PshAck, SeqChoice::Rcv(0), 10));
    assert_eq!(received(&w, 0), 20);
    assert!(w.app.conns[0].peer_closed);
    w.finish();
}

/// ix-tcp took a window update from an ACK below SND.UNA and applied it from
/// SND.UNA (RFC 9293 3.10.7.4 updates the window only if SND.UNA =< SEG.ACK =<
/// SND.NXT): the peer sends new data with an ACK 200 below SND.UNA and a 255-byte
/// window, and the engine sent 255 bytes from SND.UNA, 200 past the peer's edge.
#[test]
fn no_window_update_from_an_ack_below_snd_una() {
    let mut s = sack_setup();
    s.peer.wscale = None; // windows in bytes, as the peer writes them
    let mut w = World::new(&s);
    // An active open (flow 1, connection 1) answered with a zero window.
    w.step(&Action::Connect {
        peer: 0,
        port: PortChoice::Raw(7777),
    });
    w.step(&seg(
        1,
        FlagChoice::SynAck,
        SeqChoice::Next,
        AckChoice::All,
        WindowChoice::Zero,
        0,
    ));
    // New data (SND.WL1 < SEG.SEQ) with an ACK 200 below SND.UNA and a 255-byte
    // window: the peer's right edge is SND.UNA + 55.
    let old = seg(
        1,
        FlagChoice::PshAck,
        SeqChoice::Next,
        AckChoice::Before(200),
        WindowChoice::Small(255),
        10,
    );
    w.step(&old);
    // 255 bytes to send, all the window allows counted from SND.UNA: the engine must
    // send at most 55 of them (or ignore the old ACK's window).
    w.step(&Action::Send {
        conn: 1,
        len: SendLen::Large(255),
    });
    w.finish();
}

/// Seed 32512 (before the D-SACK set-up bit): ix-tcp kept a window taken at an
/// older ACK and counted it from a newer SND.UNA. Data the peer sent ahead of a gap
/// sets SND.WL1 there; segments filling the gap lie below SND.WL1, so the WL1/WL2
/// rule took no window from them, though their ACKs advanced SND.UNA: the engine
/// sent up to SND.UNA + (the older window), past every edge the peer advertised.
#[test]
fn a_window_is_taken_from_an_ack_that_advances_snd_una_below_snd_wl1() {
    let mut s = sack_setup();
    s.peer.wscale = None;
    let mut w = World::new(&s);
    // Ahead of a gap, acknowledging all (nothing sent yet): a 2,000-byte window.
    let ahead = seg(
        0,
        FlagChoice::PshAck,
        SeqChoice::Ahead(100),
        AckChoice::All,
        WindowChoice::Small(2000),
        10,
    );
    w.step(&ahead);
    let send = Action::Send {
        conn: 0,
        len: SendLen::Large(1499),
    };
    w.step(&send);
    let id = w.app.conns[0].id;
    assert_eq!(w.tcp.conn_info(id).expect("open").bytes_in_flight, 1499);
    // In order (below SND.WL1), acknowledging the 1,499 with a 100-byte window:
    // the edge is 100 bytes on, whatever the window before.
    let fill = seg(
        0,
        FlagChoice::PshAck,
        SeqChoice::Next,
        AckChoice::All,
        WindowChoice::Small(100),
        10,
    );
    w.step(&fill);
    assert_eq!(w.tcp.conn_info(id).expect("open").snd_wnd, 100);
    // 1,499 more to send: at most 100 go (the harness checks the edge too).
    w.step(&send);
    assert!(w.tcp.conn_info(id).expect("open").bytes_in_flight <= 100);
    w.finish();
}

/// Seed 11788 (a harness defect): a `BadLength { kind: 3, len: 3 }` option item
/// writes a well-formed window scale option (shift 0x55, used as 14), which the
/// engine rightly took as an offer; the harness read offers from the items and
/// called the SYN-ACK's window scale unoffered. Offers are read from the bytes now.
#[test]
fn a_window_scale_offer_is_read_from_the_option_bytes() {
    let mut w = World::new(&sack_setup());
    let (sport, dport) = (PortChoice::Raw(5555), PortChoice::Listen);
    w.step(&Action::Seg(SegSpec {
        target: Target::Fresh {
            peer: 0,
            sport,
            dport,
        },
        flags: FlagChoice::Syn,
        seq: SeqChoice::Next,
        ack: AckChoice::All,
        window: WindowChoice::Full,
        options: Options(vec![OptItem::BadLength { kind: 3, len: 3 }]),
        payload: PayloadLen::Empty,
        offset: OffsetChoice::Exact,
        checksum: Checksum::Valid,
        ts: TsChoice::Absent,
    }));
    let tuple = Tuple {
        peer: 0,
        remote_port: sport.resolve(),
        local_port: dport.resolve(),
    };
    let f = w.flows.get(tuple).expect("the flow");
    assert!(f.eng_iss.is_some(), "the engine answered the SYN");
    assert_eq!((f.offered_ws, f.ws_max), (true, 14));
    w.finish();
}

/// Seed 26610 (a harness defect): with the transmit queue full, an active
/// connection's data waited in the interface, unseen by the peer, which then sent
/// an ACK "beyond" what it saw, covering that data. The engine had sent it, so it
/// took the ACK and reported the bytes acknowledged, rightly; the harness said the
/// peer acknowledged none. An ACK up to the frames still queued counts now.
#[test]
fn an_ack_covering_data_still_queued_in_the_interface_counts() {
    let mut s = sack_setup();
    s.sizes = Sizes::Tight;
    s.passive = 3;
    s.active = 1;
    s.peer.mss = Some(PeerMss::Minimum);
    let mut w = World::new(&s);
    w.step(&Action::SendAll(SendLen::Bulk(9)));
    assert!(w.iface.tx_queued() > 0, "frames wait in the interface");
    // The active connection's flow: its engine's SND.MAX is past what the wire showed.
    let (i, c) = (4, w.app.conns[4].clone());
    assert!(c.active);
    let flow = w.flows.get(c.tuple).expect("the flow").clone();
    let info = w.tcp.conn_info(c.id).expect("open");
    let snd_max = flow
        .eng_iss
        .expect("SYN seen")
        .add(1 + info.bytes_in_flight);
    let unseen = snd_max.since(flow.eng_max.expect("sent"));
    assert!(unseen > 0, "some of it is still in the interface");
    let ack = seg(
        i as u8,
        FlagChoice::Ack,
        SeqChoice::Next,
        AckChoice::Beyond(unseen as u16),
        WindowChoice::Full,
        0,
    );
    w.step(&ack);
    assert_eq!(w.app.conns[i].acked, u64::from(info.bytes_in_flight));
    w.finish();
}

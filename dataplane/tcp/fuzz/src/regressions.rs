//! The defects listed in [`crate::known`], each as a test asserting the right
//! behaviour with every tolerance off. Ignored while the defect stands: run them
//! with `cargo test -- --ignored`; when one passes, un-ignore it and clear its flag.

use crate::grammar::{
    AckChoice, Action, FlagChoice, OffsetChoice, Options, PayloadLen, SegSpec, SeqChoice, Target,
    WindowChoice,
};
use crate::setup::{Features, PeerMss, PeerSyn, Setup, Sizes};
use crate::wire::Checksum;
use crate::world::World;

/// One passive connection with SACK negotiated.
fn sack_setup() -> Setup {
    Setup {
        sizes: Sizes::Roomy,
        passive: 0,
        active: 0,
        features: Features {
            sack: true,
            window_scaling: true,
            syncookies: true,
            keepalive: false,
            user_timeout: false,
            quick_ack: false,
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

/// A data segment on the set-up connection.
fn data(flags: FlagChoice, seq: SeqChoice, len: u8) -> Action {
    Action::Seg(SegSpec {
        target: Target::Flow(0),
        flags,
        seq,
        ack: AckChoice::All,
        window: WindowChoice::Full,
        options: Options::default(),
        payload: PayloadLen::Small(len),
        offset: OffsetChoice::Exact,
        checksum: Checksum::Valid,
    })
}

/// [`crate::known::SACKS_DATA_PAST_FIN`].
#[test]
#[ignore = "ix-tcp defect: known::SACKS_DATA_PAST_FIN"]
fn no_sack_block_at_the_ack_after_a_fin_below_held_data() {
    let mut w = World::new(&sack_setup());
    w.strict = true;
    // 20 bytes at RCV.NXT + 9: held out of order, SACKed.
    w.step(&data(FlagChoice::PshAck, SeqChoice::Rcv(9), 20));
    // 8 bytes at RCV.NXT, then FIN: RCV.NXT becomes the held data's first byte.
    // The engine's ACK must not SACK [ACK, ACK + 20).
    w.step(&data(FlagChoice::FinAck, SeqChoice::Next, 8));
    w.finish();
}

/// [`crate::known::WINDOW_FROM_OLD_ACK`].
#[test]
#[ignore = "ix-tcp defect: known::WINDOW_FROM_OLD_ACK"]
fn no_window_update_from_an_ack_below_snd_una() {
    use crate::grammar::{PortChoice, SendLen};
    let mut s = sack_setup();
    s.peer.wscale = None; // windows in bytes, as the peer writes them
    let mut w = World::new(&s);
    w.strict = true;
    // An active open (flow 1, connection 1) answered with a zero window.
    w.step(&Action::Connect {
        peer: 0,
        port: PortChoice::Raw(7777),
    });
    let seg = |flags, ack, window, len| {
        Action::Seg(SegSpec {
            target: Target::Flow(1),
            flags,
            seq: SeqChoice::Next,
            ack,
            window,
            options: Options::default(),
            payload: PayloadLen::Small(len),
            offset: OffsetChoice::Exact,
            checksum: Checksum::Valid,
        })
    };
    w.step(&seg(
        FlagChoice::SynAck,
        AckChoice::All,
        WindowChoice::Zero,
        0,
    ));
    // New data (SND.WL1 < SEG.SEQ) with an ACK 200 below SND.UNA and a 255-byte
    // window: the peer's right edge is SND.UNA + 55.
    w.step(&seg(
        FlagChoice::PshAck,
        AckChoice::Before(200),
        WindowChoice::Small(255),
        10,
    ));
    // 255 bytes to send, all the window allows counted from SND.UNA: the engine must
    // send at most 55 of them (or ignore the old ACK's window).
    w.step(&Action::Send {
        conn: 1,
        len: SendLen::Large(255),
    });
    w.finish();
}
